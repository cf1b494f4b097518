"""Sources per department, at a real node over mutual TLS: a department mounts only its own
directories, URL prefixes and credentials; a file swapped after mounting is refused at the
next fetch; a redirect or a `next` link is checked like the first URL and the credential never
leaves its prefix; the audit record of a mount says what was mounted, and by whom."""

from __future__ import annotations

import http.server
import json
import os
import pathlib
import sqlite3
import threading

import grpc
import pytest

from harness import data
from node.proto import catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc, sharing_pb2, sharing_pb2_grpc
from node.server import Node
from security_support import A, B, DEADLINE, Site, Who, entry_proto, tls_config
from security_support import ca, dial  # noqa: F401 (fixtures)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
FAILED = grpc.StatusCode.FAILED_PRECONDITION
ITEMS = ("统一社会信用代码", "企业名称")
OBJECTS = [{"统一社会信用代码": f"91130100MA0000{i:04d}", "企业名称": f"石家庄市企业{i}"} for i in range(3)]
# What a department would see of the node's own tokens table, were its path to lead there.
TOKEN_COLUMNS = {"统一社会信用代码": "token_id", "企业名称": "secret_hash"}


class Api(http.server.ThreadingHTTPServer):
    """A JSON API on 127.0.0.1:0 that records every path called and the Authorization it carried.
    /a/... is department A's, /b/... B's, /elsewhere/... nobody's."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"

    def called(self, prefix: str) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0].startswith(prefix)]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        api: Api = self.server
        api.calls.append((self.path, self.headers.get("Authorization") or ""))
        routes = {
            "/a/out": (302, api.base + "/elsewhere/rows"),  # a redirect out of A's prefix
            "/a/in": (302, "/a/rows"),  # one inside it
            "/a/paged-out": (200, {"data": OBJECTS[:1], "next": api.base + "/elsewhere/rows"}),
            "/a/paged-in": (200, {"data": OBJECTS[:1], "next": "/a/rows"}),
        }
        status, body = routes.get(self.path, (200, OBJECTS))
        self.send_response(status)
        if status == 302:
            self.send_header("Location", body)
            self.end_headers()
            return
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def api():
    server = Api()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def site(ca, api, tmp_path_factory) -> Site:
    """Hebei's node with departments A and B, each with its own directory, URL prefix and credential."""
    directory = tmp_path_factory.mktemp("hebei")
    resources = {
        "allow": {A: [str(directory / "sources" / A), api.base + "/a/"],
                  B: [str(directory / "sources" / B), api.base + "/b/"]},
        "credentials": {
            "a-key": {"department": A, "prefix": api.base + "/a/", "headers": {"Authorization": "Bearer a-secret"}},
            "b-key": {"department": B, "prefix": api.base + "/b/", "headers": {"Authorization": "Bearer b-secret"}}},
    }
    node = Node(tls_config(ca, directory, "hebei", "provincial", "130000", departments=(A, B), resources=resources))
    site = Site(node.start())
    site.issue("A", A)
    site.issue("B", B)
    yield site
    node.stop(0)


# --- acting as the departments ------------------------------------------------------------------

def sources(site: Site, department: str) -> pathlib.Path:
    place = pathlib.Path(site.node.config.database).parent / "sources" / department
    place.mkdir(parents=True, exist_ok=True)
    return place


def write_tokens_like(path: pathlib.Path, rows: int) -> None:
    """An SQLite file with a table shaped like the node's own `tokens` (the attack's bait)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tokens (token_id, secret_hash)")
        db.executemany("INSERT INTO tokens VALUES (?, ?)", [(f"bait{i}", f"hash{i}") for i in range(rows)])
    db.close()


def publish(dial, site: Site, seq: int, share_method: str) -> str:
    catalog_pb2_grpc.CatalogStub(dial.channel(site, Who("tool", "A"))).PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=entry_proto(A, seq, share_method=share_method)), timeout=DEADLINE)
    return f"{A}/{seq:06d}"


def mount(dial, site: Site, code: str, kind: str, location, table: str = "", credential: str = "", columns=None):
    return exchange_pb2_grpc.ExchangeStub(dial.channel(site, Who("tool", "A"))).MountResource(
        exchange_pb2.MountResourceRequest(resource_code=code, kind=kind, location=str(location), table=table,
                                          credential=credential, columns=columns or {}), timeout=DEADLINE)


def granted_to_b(dial, site: Site, code: str) -> str:
    made = sharing_pb2_grpc.SharingStub(dial.channel(site, Who("tool", "B"))).SubmitRequest(
        sharing_pb2.SubmitRequestRequest(consumer_code=B, resource_code=code, purpose="办理企业开办",
                                         basis="《优化营商环境条例》", data_items=list(ITEMS)), timeout=DEADLINE)
    assert made.state == "granted", made
    return made.request_id


def fetch(dial, site: Site, request_id: str) -> list[tuple[str, ...]]:
    chunks = exchange_pb2_grpc.ExchangeStub(dial.channel(site, Who("tool", "B"))).FetchData(
        exchange_pb2.FetchDataRequest(request_id=request_id, consumer_code=B), timeout=DEADLINE)
    return [tuple(row.values) for chunk in chunks for row in chunk.rows]


def refused(attempt) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        attempt()
    return caught.value.code(), caught.value.details()


def swap(path: pathlib.Path, target) -> None:
    """Replaces the file at `path` by a symbolic link to `target`, in one rename (as an attacker would)."""
    link = path.with_name(path.name + ".swap")
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    os.replace(link, path)


# --- files --------------------------------------------------------------------------------------

def test_a_department_mounting_another_departments_file_or_url_is_refused(site, dial, api):
    police = sources(site, B) / "police.db"
    write_tokens_like(police, 5)
    code = publish(dial, site, 1, "database")
    through_link = sources(site, A) / "police-link.db"
    through_link.symlink_to(police)
    for location in (police, through_link):
        status, details = refused(lambda: mount(dial, site, code, "sqlite", location, "tokens", columns=TOKEN_COLUMNS))
        assert status == INVALID and details.startswith("location") and f"department {A}" in details, details
        # Which rule failed, for this department only: no directory set aside for anyone is listed.
        assert str(sources(site, A).parent) not in details and api.base not in details
    api_code = publish(dial, site, 2, "api")
    status, details = refused(lambda: mount(dial, site, api_code, "http", api.base + "/b/rows"))
    assert status == INVALID and details.startswith("location") and f"department {A}" in details
    assert not api.called("/b/")
    # A's own file mounts.
    own = sources(site, A) / "market.db"
    write_tokens_like(own, 3)
    assert mount(dial, site, code, "sqlite", own, "tokens", columns=TOKEN_COLUMNS).kind == "sqlite"


def test_the_audit_record_of_a_mount_names_department_kind_location_and_table(site, dial):
    own = sources(site, A) / "audited.db"
    write_tokens_like(own, 2)
    code = publish(dial, site, 3, "database")
    since = site.audit_seq()
    mount(dial, site, code, "sqlite", own, "tokens", columns=TOKEN_COLUMNS)
    [record] = [r for r in site.audit_since(since) if r.object == f"mount {code}"]
    assert record.actor == f"{A}@tool" and record.outcome == "ok"
    assert record.detail == f"department {A}, kind sqlite, location {own}, table tokens"


def test_a_file_swapped_for_a_symlink_after_mounting_is_refused_at_the_next_fetch(site, dial):
    own, kept = sources(site, A) / "swapped.db", sources(site, A) / "kept.db"
    write_tokens_like(own, 4)
    write_tokens_like(kept, 4)
    police = sources(site, B) / "police-swap.db"
    write_tokens_like(police, 9)
    code = publish(dial, site, 4, "database")
    mount(dial, site, code, "sqlite", own, "tokens", columns=TOKEN_COLUMNS)
    request_id = granted_to_b(dial, site, code)
    assert len(fetch(dial, site, request_id)) == 4

    database = site.node.config.database
    for target, rule in ((database, "own database"), (police, f"outside the directories node hebei sets aside "
                                                               f"for department {A}")):
        swap(own, target)
        status, details = refused(lambda: fetch(dial, site, request_id))
        assert status == FAILED and details.startswith("source_refused") and rule in details, details
    # A hard link is no link at all to a path check: the file itself is recognised.
    own.unlink()
    os.link(database, own)
    status, details = refused(lambda: fetch(dial, site, request_id))
    assert status == FAILED and "own database" in details, details
    # A file of its own again: served again.
    os.replace(kept, own)
    assert len(fetch(dial, site, request_id)) == 4

    # The same at every read of a CSV file.
    listed = sources(site, A) / "list.csv"
    data.write_csv(listed, [(item, "string") for item in ITEMS], 6)
    file_code = publish(dial, site, 5, "file")
    mount(dial, site, file_code, "csv", listed)
    file_request = granted_to_b(dial, site, file_code)
    assert len(fetch(dial, site, file_request)) == 6
    elsewhere = sources(site, B) / "list.csv"
    data.write_csv(elsewhere, [(item, "string") for item in ITEMS], 8)
    swap(listed, elsewhere)
    status, details = refused(lambda: fetch(dial, site, file_request))
    assert status == FAILED and details.startswith("source_refused"), details


# --- HTTP ---------------------------------------------------------------------------------------

def test_a_credential_of_another_department_is_refused_and_never_sent(site, dial, api):
    code = publish(dial, site, 6, "api")
    for credential in ("b-key", "no-such-key"):
        status, details = refused(lambda: mount(dial, site, code, "http", api.base + "/a/rows", credential=credential))
        assert status == INVALID and details.startswith("credential") and f"department {A}" in details, details
        assert "a-key" not in details  # the credentials of the node are not listed
    assert not [call for call in api.calls if call[1] == "Bearer b-secret"]
    made = mount(dial, site, code, "http", api.base + "/a/rows", credential="a-key")
    assert list(made.source_columns) == list(ITEMS) and ("/a/rows", "Bearer a-secret") in api.calls


def test_a_redirect_or_next_link_outside_the_prefix_is_refused_and_the_credential_not_sent(site, dial, api):
    status, details = refused(lambda: mount(dial, site, publish(dial, site, 7, "api"), "http", api.base + "/a/out",
                                            credential="a-key"))
    assert status == INVALID and details.startswith("location") and "/elsewhere/rows" in details, details
    # Inside the prefix a redirect is followed, the credential going along.
    assert mount(dial, site, publish(dial, site, 8, "api"), "http", api.base + "/a/in", credential="a-key")
    assert ("/a/rows", "Bearer a-secret") in api.calls

    inside = publish(dial, site, 9, "api")
    mount(dial, site, inside, "http", api.base + "/a/paged-in", credential="a-key")
    assert len(fetch(dial, site, granted_to_b(dial, site, inside))) == 1 + len(OBJECTS)
    outside = publish(dial, site, 10, "api")
    mount(dial, site, outside, "http", api.base + "/a/paged-out", credential="a-key")  # its first page is A's
    status, details = refused(lambda: fetch(dial, site, granted_to_b(dial, site, outside)))
    assert status == FAILED and details.startswith("source_refused") and "/elsewhere/rows" in details, details
    assert not api.called("/elsewhere/"), "a URL outside the prefix was called"
