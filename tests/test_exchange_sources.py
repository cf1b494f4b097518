"""Each kind of source read the same way: columns, rows projected onto the wanted columns in the
wanted order, a prefix filter, every value as text; HTTP JSON with pages and a credential."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import sqlite3
import threading

import pytest

from node.exchange.access import SourceAccess, SourceRefused
from node.model.exchange import Credential, Mount
from node.exchange.sources import CsvSource, HttpSource, SourceError, SqliteSource, XlsxSource, open_source

HEADER = ["统一社会信用代码", "企业名称", "注册资本", "成立日期"]
ROWS = [("91440300MA5F000001", "深圳市华信科技有限公司", "100.5", "2019-01-02"),
        ("91440100MA5F000002", "广州市恒通商贸有限公司", "2000", "2020-03-04"),
        ("91440300MA5F000003", "深圳市鑫源物流有限公司", "", "2021-05-06")]
WANTED = ["企业名称", "统一社会信用代码"]
SHENZHEN = [(r[1], r[0]) for r in ROWS if r[0].startswith("914403")]


def read(source, columns=WANTED, column="", prefix="", size=2):
    return [row for batch in source.batches(columns, column, prefix, size) for row in batch]


def test_sqlite_table_in_rowid_order_values_as_text(tmp_path):
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (统一社会信用代码, 企业名称, 注册资本 REAL, 成立日期, 照片 BLOB)")
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
                       [(a, b, float(c) if c else None, d, b"\x01\xff") for a, b, c, d in ROWS])
        db.execute("CREATE VIEW shenzhen AS SELECT * FROM t WHERE 统一社会信用代码 LIKE '914403%'")
    source = SqliteSource(str(path), "t")
    assert source.columns() == HEADER + ["照片"]
    assert read(source) == [(r[1], r[0]) for r in ROWS]
    assert read(source, ["注册资本", "照片"]) == [("100.5", "01FF"), ("2000.0", "01FF"), ("", "01FF")]
    assert read(source, column="统一社会信用代码", prefix="914403") == SHENZHEN
    assert source.count("统一社会信用代码", "914403") == 2 and source.count() == 3
    source.close()
    view = SqliteSource(str(path), "shenzhen")
    assert read(view) == SHENZHEN
    view.close()
    with pytest.raises(SourceError, match="no table or view"):
        SqliteSource(str(path), "missing")


def test_csv_with_a_bom_and_short_lines(tmp_path):
    path = tmp_path / "s.csv"
    lines = [",".join(HEADER)] + [",".join(r) for r in ROWS[:2]] + [",".join(ROWS[2][:2])]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    source = CsvSource(str(path))
    assert source.columns() == HEADER
    assert read(source) == [(r[1], r[0]) for r in ROWS]
    assert read(source, ["成立日期"]) == [("2019-01-02",), ("2020-03-04",), ("",)]
    assert read(source, column="统一社会信用代码", prefix="914403") == SHENZHEN


def test_xlsx_first_sheet_or_named_dates_and_whole_numbers(tmp_path):
    import openpyxl

    path = tmp_path / "s.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表为示例"])
    sheet = book.create_sheet("企业")
    sheet.append(HEADER)
    for a, b, c, d in ROWS:
        sheet.append([a, b, float(c) if c else None, dt.date.fromisoformat(d)])
    book.save(path)
    source = XlsxSource(str(path), "企业")
    assert source.columns() == HEADER
    assert read(source, ["企业名称", "注册资本", "成立日期"]) == [(r[1], r[2], r[3]) for r in ROWS]
    assert read(source, column="统一社会信用代码", prefix="914403") == SHENZHEN
    with pytest.raises(SourceError, match="no sheet"):
        XlsxSource(str(path), "人口")


@pytest.fixture
def api():
    """A JSON API on 127.0.0.1:0: /all (one array), /page/N (pages with `next`), a bearer token required."""
    objects = [dict(zip(HEADER, r)) for r in ROWS]
    seen_headers = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen_headers.append(self.headers.get("Authorization"))
            if self.headers.get("Authorization") != "Bearer s3cret":
                self.send_response(401)
                self.end_headers()
                return
            if self.path == "/all":
                body = objects
            else:
                page = int(self.path.rsplit("/", 1)[1])
                body = {"data": objects[page:page + 1], "next": f"/page/{page + 1}" if page + 1 < len(objects) else None}
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen_headers
    server.shutdown()
    server.server_close()


def test_http_json_array_and_pages_with_the_credential_from_the_config(api):
    base, seen = api
    access = SourceAccess(None, {"market-api": Credential("440300002", base + "/", (("Authorization", "Bearer s3cret"),))},
                          "guangdong")
    for path in ("/all", "/page/0"):
        mount = Mount("440300002/000001", "http", base + path, credential="market-api")
        source = open_source(mount, access.gate("440300002", "market-api"))
        assert source.columns() == HEADER
        assert read(source) == [(r[1], r[0]) for r in ROWS]
        assert read(source, column="统一社会信用代码", prefix="914403") == SHENZHEN
    assert set(seen) == {"Bearer s3cret"}
    with pytest.raises(SourceError, match="HTTP 401"):
        HttpSource(base + "/all").columns()
    with pytest.raises(SourceRefused, match="not a credential of department 440300002"):
        HttpSource(base + "/all", access.gate("440300002", "other")).columns()


def test_the_node_config_mounts_sources_and_keeps_credentials(tmp_path):
    from node import config as config_mod
    from node.errors import ConfigError

    base = {"node": {"id": "guangdong", "role": "provincial", "region_code": "440000"}, "listen": "127.0.0.1:0",
            "database": "gd.db", "insecure": True, "departments": [{"code": "440300002", "name": "深圳市市场监督管理局"}]}
    resources = {"credentials": {"market-api": {"department": "440300002", "prefix": "https://api.example/",
                                                "headers": {"Authorization": "Bearer s3cret"}}},
                 "mounts": [{"resource_code": "440300002/000001", "kind": "sqlite", "location": "data/m.db",
                             "table": "enterprises", "columns": {"注册资本": "capital"}},
                            {"resource_code": "440300002/000002", "kind": "http", "location": "https://api.example/x",
                             "credential": "market-api"}]}
    cfg = config_mod.parse({**base, "resources": resources}, "gd.yaml", base_dir=tmp_path)
    first, second = cfg.resources.mounts
    assert first.location == str(tmp_path / "data" / "m.db") and first.column_of("注册资本") == "capital"
    assert first.origin == "config" and second.credential == "market-api"
    assert cfg.resources.credentials["market-api"] == Credential("440300002", "https://api.example/",
                                                                 (("Authorization", "Bearer s3cret"),))
    bad = {**resources, "mounts": [{**resources["mounts"][1], "credential": "other"}]}
    with pytest.raises(ConfigError, match=r"gd.yaml: resources.mounts\[0\].credential: names no block"):
        config_mod.parse({**base, "resources": bad}, "gd.yaml")
    with pytest.raises(ConfigError, match=r"resources.mounts\[0\].kind: must be one of"):
        config_mod.parse({**base, "resources": {"mounts": [{"resource_code": "440300002/000001", "kind": "ftp",
                                                            "location": "x"}]}}, "gd.yaml")


def test_the_config_gives_each_department_its_own_places_and_credentials(tmp_path):
    from node import config as config_mod
    from node.errors import ConfigError

    base = {"node": {"id": "guangdong", "role": "provincial", "region_code": "440000"}, "listen": "127.0.0.1:0",
            "database": "gd.db", "insecure": True,
            "departments": [{"code": "440300002", "name": "深圳市市场监督管理局"}, {"code": "440000001", "name": "广东省公安厅"}]}
    key = {"department": "440300002", "prefix": "https://api.example/market/", "headers": {"Authorization": "Bearer k"}}
    cfg = config_mod.parse({**base, "resources": {"allow": {"440300002": ["sources/market", "https://api.example/market/"]},
                                                  "credentials": {"market-api": key}}}, "gd.yaml", base_dir=tmp_path)
    assert cfg.resources.allow == {"440300002": (str(tmp_path / "sources" / "market"), "https://api.example/market/")}
    assert "Bearer k" not in repr(cfg.resources.credentials)  # the secret stays out of logs
    for resources, where, rule in (
            ({"allow": ["sources"]}, "resources.allow", "must map each department code"),
            ({"allow": {"440300009": ["sources"]}}, "resources.allow.440300009", "one of this node's departments"),
            ({"allow": {"440300002": ["https://user:pw@api.example/"]}}, r"resources.allow.440300002\[0\]",
             "user name or password"),
            ({"credentials": {"old": {"Authorization": "Bearer k"}}}, "resources.credentials.old",
             "belongs to one department"),
            ({"credentials": {"k": {**key, "department": "440300009"}}}, "resources.credentials.k.department",
             "one of this node's departments"),
            ({"credentials": {"k": key}, "mounts": [{"resource_code": "440000001/000001", "kind": "http",
                                                     "location": "https://api.example/market/x", "credential": "k"}]},
             r"resources.mounts\[0\].credential", "belongs to department 440300002, not to 440000001"),
            ({"credentials": {"k": key}, "mounts": [{"resource_code": "440300002/000001", "kind": "http",
                                                     "location": "https://api.example/police/x", "credential": "k"}]},
             r"resources.mounts\[0\].credential", "sent only under its prefix")):
        with pytest.raises(ConfigError, match=rf"gd.yaml: {where}: .*{rule}"):
            config_mod.parse({**base, "resources": resources}, "gd.yaml", base_dir=tmp_path)
    # On a node that checks its callers, a mount in the config lies in its department's places too.
    secure = {**base, "insecure": False, "tls": {"cert": __file__, "key": __file__, "ca": __file__}}
    with pytest.raises(ConfigError, match=r"resources.mounts\[0\].location: must lie under one of resources.allow.440300002"):
        config_mod.parse({**secure, "resources": {"allow": {"440300002": ["sources/market"]}, "mounts": [
            {"resource_code": "440300002/000001", "kind": "sqlite", "location": "sources/police/p.db", "table": "t"}]}},
            "gd.yaml", base_dir=tmp_path)


@pytest.mark.parametrize("url, under", [
    ("https://api.example/market/x?page=2", True),
    ("https://api.example/market", False),  # the prefix ends with a slash: only what lies below it
    ("https://api.example/market-admin/x", False),
    ("https://api.example.evil/market/x", False),
    ("https://api.example:8443/market/x", False),
    ("http://api.example/market/x", False),
    ("https://api.example/market/../admin", False),
    ("https://api.example/market/%2e%2e/admin", False),
    ("https://api.example@evil.example/market/x", False),
])
def test_a_url_lies_under_a_prefix_segment_by_segment(url, under):
    from node.model.exchange import url_under

    assert url_under(url, "https://api.example/market/") is under
    # Without the trailing slash the prefix still ends at a segment: /market covers /market/x, not /market-admin.
    assert url_under("https://api.example/market/x", "https://api.example/market")
    assert not url_under("https://api.example/market-admin/x", "https://api.example/market")
