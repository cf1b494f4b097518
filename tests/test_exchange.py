"""The data exchange across real nodes: a source mounted at the owner's node, a granted request
fetched at the consumer's node through the hub, exactly the granted columns and rows, every
refusal, resumption by offset with the same hash, and the record at every node it passed."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import grpc
import pytest

from conftest import make_entry, wait_until
from harness import data
from node.catalog import rules
from node.catalog.rules import DataItem
from node.exchange.digest import RowsHash
from node.exchange.relay import fetch_call
from node.proto import admin_pb2, catalog_pb2, exchange_pb2, exchange_pb2_grpc, sharing_pb2
from test_sharing import publish, sharing, submit, wait_state

OWNER = "440300002"  # Shenzhen's department at Guangdong's node
CONSUMER = "130100005"  # Shijiazhuang's, at Hebei's
ITEMS = (("统一社会信用代码", "string"), ("企业名称", "string"), ("法定代表人", "string"), ("公民身份号码", "string"),
         ("注册资本", "decimal"))
SOURCE_ITEMS = ITEMS + (("内部备注", "string"),)  # a column the entry does not share: it never leaves
ROWS = 240


def entry(seq: int, **fields):
    fields = dict(name=f"深圳市企业法人登记信息{seq}", share_method="database",
                  data_items=tuple(DataItem(name, kind, 0) for name, kind in ITEMS)) | fields
    return make_entry(OWNER, seq, **fields)


ENTRIES = [
    entry(1, share_type="unconditional"),
    entry(2, share_type="conditional", share_condition="须说明办理事项"),
    entry(3, share_type="unconditional"),  # never mounted
    entry(4, share_type="unconditional"),  # withdrawn after mounting
]


def exchange(client):
    return exchange_pb2_grpc.ExchangeStub(client.channel)


def mount(client, code, location, table="enterprises", kind="sqlite", **columns):
    return exchange(client).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=code, kind=kind, location=str(location), table=table, columns=columns), timeout=30)


def fetch(client, request_id, consumer=CONSUMER, offset=0):
    """(columns, rows, total_rows, sha256) of one FetchData call at the node."""
    columns, rows, tail = [], [], None
    for chunk in exchange(client).FetchData(exchange_pb2.FetchDataRequest(
            request_id=request_id, consumer_code=consumer, offset=offset), timeout=60):
        columns = columns or list(chunk.columns)
        rows.extend(tuple(r.values) for r in chunk.rows)
        if chunk.last:
            tail = chunk
    assert tail is not None, "the stream ended without its last chunk"
    return columns, rows, tail.total_rows, tail.sha256


def refusal(client, request_id, consumer=CONSUMER):
    with pytest.raises(grpc.RpcError) as caught:
        fetch(client, request_id, consumer)
    return caught.value.code(), caught.value.details()


def source_rows(path, columns, where=""):
    with sqlite3.connect(path) as db:
        names = ", ".join(f'"{c}"' for c in columns)
        return [tuple(r) for r in db.execute(f"SELECT {names} FROM enterprises {where} ORDER BY rowid")]


def digest(rows):
    h = RowsHash()
    h.add_rows(rows)
    return h.hexdigest()


@pytest.fixture
def fed(cluster, tmp_path):
    c = cluster(interval=3600, notify=True)
    publish(c.peers["guangdong"], *ENTRIES)
    c.source = str(tmp_path / "shenzhen-market.db")
    data.write_sqlite(c.source, "enterprises", SOURCE_ITEMS, ROWS, seed="exchange", province="440000")
    for code in ("440300002/000001", "440300002/000002", "440300002/000004"):
        mount(c.peers["guangdong"], code, c.source)
    c.sync()
    return c


def granted(fed, code="440300002/000001", items=("企业名称", "统一社会信用代码")):
    filed = submit(fed.peers["hebei"], CONSUMER, code, items=items)
    return wait_state(fed.peers["hebei"], filed.request_id, {"granted"}).request_id


def test_unconditional_grant_fetches_exactly_the_granted_columns_and_the_sources_rows(fed):
    request_id = granted(fed, items=("企业名称", "统一社会信用代码"))
    columns, rows, total, sha256 = fetch(fed.peers["hebei"], request_id)
    assert columns == ["企业名称", "统一社会信用代码"]  # the request's order, not the source's
    expected = source_rows(fed.source, columns)
    assert len(rows) == total == ROWS
    for i, (got, want) in enumerate(zip(rows, expected)):
        assert got == want, f"row {i}"
    assert sha256 == digest(expected)
    # Recorded at the consumer's node, the hub and the owner's node, with the same count and hash.
    for node in (fed.peers["hebei"], fed.hub, fed.peers["guangdong"]):
        records = wait_until(lambda: node.node.store.exchanges(request_id), 10,
                             f"the exchange recorded at {node.node.config.node_id}")
        assert [(r.rows, r.sha256, r.outcome) for r in records] == [(ROWS, sha256, "ok")], records
        assert records[0].bytes > 0 and records[0].finished >= records[0].started
    roles = {node.node.config.node_id: node.node.store.exchanges(request_id)[0].role
             for node in (fed.peers["hebei"], fed.hub, fed.peers["guangdong"])}
    assert roles == {"hebei": "consumer", "national": "hub", "guangdong": "owner"}


def test_a_conditional_grant_with_a_row_filter_delivers_only_matching_rows(fed):
    filed = submit(fed.peers["hebei"], CONSUMER, "440300002/000002", items=("公民身份号码", "注册资本"))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    decided = sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code=OWNER, approve=True, reason="限深圳市户籍人员",
        row_filter=sharing_pb2.RowFilter(column="公民身份号码", prefix="4403"), valid_until="2099-12-31"))
    assert (decided.row_filter.column, decided.row_filter.prefix, decided.valid_until) == ("公民身份号码", "4403",
                                                                                         "2099-12-31")
    at_consumer = wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    assert at_consumer.row_filter.prefix == "4403" and at_consumer.valid_until == "2099-12-31"  # it travelled
    columns, rows, total, sha256 = fetch(fed.peers["hebei"], filed.request_id)
    expected = source_rows(fed.source, columns, "WHERE 公民身份号码 LIKE '4403%'")
    assert 0 < len(expected) < ROWS
    assert rows == expected and total == len(expected) and sha256 == digest(expected)


def test_a_filter_must_name_a_granted_item(fed):
    filed = submit(fed.peers["hebei"], CONSUMER, "440300002/000002", items=("注册资本",))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    with pytest.raises(grpc.RpcError) as caught:
        sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
            request_id=filed.request_id, department_code=OWNER, approve=True,
            row_filter=sharing_pb2.RowFilter(column="公民身份号码", prefix="4403")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("row_filter.column")


def test_a_resumed_fetch_gets_the_rest_and_the_same_hash(fed):
    request_id = granted(fed)
    columns, rows, total, sha256 = fetch(fed.peers["hebei"], request_id)
    _, rest, total_again, sha_again = fetch(fed.peers["hebei"], request_id, offset=97)
    assert rest == rows[97:] and (total_again, sha_again) == (total, sha256)
    code, details = refusal_at_offset(fed, request_id, ROWS + 1)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "offset" in details


def refusal_at_offset(fed, request_id, offset):
    with pytest.raises(grpc.RpcError) as caught:
        fetch(fed.peers["hebei"], request_id, offset=offset)
    return caught.value.code(), caught.value.details()


def test_a_request_between_departments_of_one_node_is_served_there(fed, tmp_path):
    owner = fed.peers["guangdong"]
    publish(owner, make_entry("440000001", 7, share_method="database",
                              data_items=(DataItem("姓名", "string", 20), DataItem("性别", "string", 2))))
    path = tmp_path / "gd-people.db"
    data.write_sqlite(path, "enterprises", (("姓名", "string"), ("性别", "string")), 30, province="440000")
    mount(owner, "440000001/000007", path)
    filed = submit(owner, OWNER, "440000001/000007", items=("性别",))
    assert filed.state == "granted"
    columns, rows, total, _ = fetch(owner, filed.request_id, consumer=OWNER)
    assert columns == ["性别"] and total == 30 and rows == source_rows(str(path), columns)
    assert {r.role for r in owner.node.store.exchanges(filed.request_id)} == {"consumer", "owner"}
    assert fed.hub.node.store.exchanges(filed.request_id) == []


# --- refusals: each a clear status, nothing delivered ---------------------------------------------

def test_no_such_request(fed):
    code, details = refusal(fed.peers["hebei"], "hebei-nosuchrequest")
    assert code == grpc.StatusCode.NOT_FOUND and "hebei-nosuchrequest" in details


def test_consumer_code_not_the_requests_consumer(fed):
    request_id = granted(fed)
    code, details = refusal(fed.peers["hebei"], request_id, consumer="130000001")
    assert code == grpc.StatusCode.PERMISSION_DENIED and details.startswith("consumer_code")


def test_not_granted_rejected_and_withdrawn(fed):
    hebei, guangdong = fed.peers["hebei"], fed.peers["guangdong"]
    pending = submit(hebei, CONSUMER, "440300002/000002", items=("注册资本",)).request_id
    wait_state(hebei, pending, {"pending"})
    code, details = refusal(hebei, pending)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not_granted" in details

    sharing(guangdong).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=pending, department_code=OWNER, approve=False, reason="用途不明确"))
    wait_state(hebei, pending, {"rejected"})
    code, details = refusal(hebei, pending)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "rejected" in details and "用途不明确" in details

    withdrawn = submit(hebei, CONSUMER, "440300002/000002", items=("注册资本",)).request_id
    wait_state(guangdong, withdrawn, {"pending"})
    sharing(hebei).WithdrawRequest(sharing_pb2.WithdrawRequestRequest(request_id=withdrawn, consumer_code=CONSUMER))
    wait_state(guangdong, withdrawn, {"withdrawn"})
    code, details = refusal(hebei, withdrawn)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "withdrawn" in details


def test_a_fetch_after_valid_until_is_refused(fed):
    filed = submit(fed.peers["hebei"], CONSUMER, "440300002/000002", items=("注册资本",))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    today = rules.utcnow().date()
    sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code=OWNER, approve=True,
        valid_until=(today + timedelta(days=30)).isoformat()))
    wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    assert fetch(fed.peers["hebei"], filed.request_id)[2] == ROWS  # valid today
    fed.peers["guangdong"].node.sharing.clock = lambda: rules.utcnow() + timedelta(days=32)
    code, details = refusal(fed.peers["hebei"], filed.request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "expired" in details


def test_entry_withdrawn_or_not_mounted(fed):
    unmounted = granted(fed, "440300002/000003")
    code, details = refusal(fed.peers["hebei"], unmounted)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not_mounted" in details
    request_id = granted(fed, "440300002/000004")
    fed.peers["guangdong"].catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="440300002/000004"))
    code, details = refusal(fed.peers["hebei"], request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "entry_withdrawn" in details


def test_owners_node_unreachable_is_unavailable(fed):
    request_id = granted(fed)
    fed.stop_peer("guangdong")
    code, details = refusal(fed.peers["hebei"], request_id)
    assert code == grpc.StatusCode.UNAVAILABLE and "guangdong" in details
    records = fed.hub.node.store.exchanges(request_id)
    assert [r.outcome for r in records] == ["refused"] and "guangdong" in records[0].detail


def test_a_source_that_no_longer_covers_the_items_names_them(fed):
    request_id = granted(fed, items=("企业名称", "法定代表人", "注册资本"))
    with sqlite3.connect(fed.source) as db:
        db.execute("ALTER TABLE enterprises DROP COLUMN 法定代表人")
        db.execute("ALTER TABLE enterprises RENAME COLUMN 注册资本 TO registered_capital")
    code, details = refusal(fed.peers["hebei"], request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "source_columns" in details
    assert "法定代表人" in details and "注册资本" in details and "企业名称" not in details


def test_a_relayed_call_must_come_from_the_requests_consumer_node(fed):
    request_id = granted(fed)
    hub = fetch_call(fed.hub.channel)
    with pytest.raises(grpc.RpcError) as caught:
        list(hub(exchange_pb2.FetchDataRequest(request_id=request_id, consumer_code=CONSUMER, from_node="xpcc"),
                 timeout=30))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


# --- mounting ----------------------------------------------------------------------------------

def test_a_mount_whose_source_lacks_data_items_is_refused_naming_them(fed, tmp_path):
    path = tmp_path / "thin.db"
    data.write_sqlite(path, "enterprises", (("统一社会信用代码", "string"), ("企业名称", "string")), 5)
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.peers["guangdong"], "440300002/000003", path)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "法定代表人" in caught.value.details() and "注册资本" in caught.value.details()
    # Named otherwise in the source: the mount says which column holds which item.
    with sqlite3.connect(path) as db:
        for column in ("legal_person", "id_no", "capital"):
            db.execute(f"ALTER TABLE enterprises ADD COLUMN {column}")
    made = mount(fed.peers["guangdong"], "440300002/000003", path, 法定代表人="legal_person", 公民身份号码="id_no",
                 注册资本="capital")
    assert made.kind == "sqlite" and "legal_person" in made.source_columns


def test_the_nodes_own_database_is_never_a_source(fed):
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.peers["guangdong"], "440300002/000003", fed.peers["guangdong"].node.config.database, table="tokens")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "own database" in caught.value.details()


@pytest.mark.parametrize("kind, location, field", [
    ("csv", "/tmp/x.csv", "kind"),  # the entry is shared by database
    ("sqlite", "relative/path.db", "location"),
    ("sqlite", "/nonexistent/file.db", "location"),
])
def test_bad_mounts_name_the_field(fed, kind, location, field):
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.peers["guangdong"], "440300002/000003", location, kind=kind)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and caught.value.details().startswith(field)


def test_only_the_entrys_own_node_mounts_it(fed):
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.hub, "440300002/000001", fed.source)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED and "guangdong" in caught.value.details()


def test_mounts_never_travel(fed):
    """Neither the path nor any mount reaches the change log, the hub or the consumer."""
    fed.sync()
    for node in (fed.hub, fed.peers["hebei"], fed.peers["guangdong"]):
        with node.node.store.reading() as conn:
            assert not conn.execute("SELECT count(*) FROM changes WHERE kind NOT IN ('entry', 'request')").fetchone()[0]
    assert fed.hub.node.store.get_mount("440300002/000001") is None


# --- the scorecard ------------------------------------------------------------------------------

def test_scorecard_counts_rows_and_exchanges_per_department(fed):
    request_id = granted(fed)
    fetch(fed.peers["hebei"], request_id)
    fetch(fed.peers["hebei"], request_id, offset=200)
    card = fed.hub.admin.Scorecard(admin_pb2.ScorecardRequest())
    owner = next(r for r in card.departments if r.department_code == OWNER)
    consumer = next(r for r in card.departments if r.department_code == CONSUMER)
    assert (owner.rows_provided, owner.exchanges_provided) == (ROWS + 40, 2)
    assert (consumer.rows_received, consumer.exchanges_received) == (ROWS + 40, 2)


# --- the command line ------------------------------------------------------------------------------

def test_cascade_data_fetch_writes_the_rows_and_resumes_a_file_cut_short(fed, tmp_path):
    from click.testing import CliRunner

    from node.cli import main

    request_id = granted(fed, items=("统一社会信用代码", "企业名称"))
    target = ["--target", fed.peers["hebei"].node.address]
    out = tmp_path / "enterprises.csv"
    first = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out), *target])
    assert first.exit_code == 0, first.output
    expected = source_rows(fed.source, ["统一社会信用代码", "企业名称"])
    assert f"{ROWS:,} rows" in first.output and digest(expected) in first.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "统一社会信用代码,企业名称" and len(lines) == ROWS + 1
    # A fetch that broke off: 100 rows and half a line in the file. --resume keeps them, adds the rest.
    out.write_text("\n".join(lines[:101]) + "\n" + lines[101][:7], encoding="utf-8")
    again = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out),
                                      "--resume", *target])
    assert again.exit_code == 0, again.output
    assert "140 received now" in again.output and "resumed at 100" in again.output
    assert out.read_text(encoding="utf-8").splitlines() == lines
    refused = CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(out), *target])
    assert refused.exit_code == 2 and "--resume" in refused.output
    jsonl = tmp_path / "enterprises.jsonl"
    assert CliRunner().invoke(main, ["data", "fetch", request_id, "--consumer", CONSUMER, "--out", str(jsonl),
                                     *target]).exit_code == 0
    import json

    assert [tuple(json.loads(line).values()) for line in jsonl.read_text(encoding="utf-8").splitlines()] == expected


def test_cascade_data_mount_and_show(fed, tmp_path):
    from click.testing import CliRunner

    from node.cli import main

    target = ["--target", fed.peers["guangdong"].node.address]
    path = tmp_path / "market.csv"
    data.write_csv(path, ITEMS, 12, province="440000")
    publish(fed.peers["guangdong"], entry(9, share_method="file"))
    made = CliRunner().invoke(main, ["data", "mount", "--resource", "440300002/000009", "--kind", "csv",
                                     "--location", str(path), *target])
    assert made.exit_code == 0, made.output
    assert "440300002/000009  csv" in made.output and "统一社会信用代码" in made.output
    shown = CliRunner().invoke(main, ["data", "show", "440300002/000009", *target])
    assert shown.exit_code == 0 and "source columns" in shown.output
    wrong = CliRunner().invoke(main, ["data", "mount", "--resource", "440300002/000009", "--kind", "sqlite",
                                      "--location", str(path), *target])
    assert wrong.exit_code == 1 and "INVALID_ARGUMENT: kind" in wrong.output


# --- the hub as a party, and mounts from the node config ------------------------------------------

def test_the_hubs_own_department_fetches_through_the_hub_and_serves_its_own_data(fed, tmp_path):
    hub, hebei = fed.hub, fed.peers["hebei"]
    request_id = submit(hub, "100000001", "440300002/000001", items=("企业名称",)).request_id
    wait_state(hub, request_id, {"granted"})
    columns, rows, total, _ = fetch(hub, request_id, consumer="100000001")
    assert columns == ["企业名称"] and total == ROWS and rows == source_rows(fed.source, columns)
    assert {r.role for r in hub.node.store.exchanges(request_id)} == {"consumer"}  # the hub: consumer and channel
    assert [r.role for r in fed.peers["guangdong"].node.store.exchanges(request_id)] == ["owner"]

    publish(hub, make_entry("100000001", 5, share_method="file",
                            data_items=(DataItem("姓名", "string", 20), DataItem("民族", "string", 20))))
    path = tmp_path / "central.csv"
    data.write_csv(path, (("民族", "string"), ("姓名", "string")), 25, province="100000")
    mount(hub, "100000001/000005", path, table="", kind="csv")
    filed = submit(hebei, CONSUMER, "100000001/000005", items=("姓名",))
    wait_state(hebei, filed.request_id, {"granted"})
    columns, rows, total, _ = fetch(hebei, filed.request_id)
    with open(path, encoding="utf-8") as f:
        expected = [(line.rstrip("\n").split(",")[1],) for line in list(f)[1:]]
    assert columns == ["姓名"] and rows == expected and total == 25
    assert {r.role for r in hub.node.store.exchanges(filed.request_id)} == {"hub", "owner"}


def test_a_source_mounted_in_the_node_config(cluster, tmp_path):
    path = tmp_path / "configured.db"
    data.write_sqlite(path, "people", (("name", "string"), ("性别", "string")), 40, province="440000")
    resources = {"mounts": [{"resource_code": "440300002/000008", "kind": "sqlite", "location": str(path),
                             "table": "people", "columns": {"姓名": "name"}}]}
    c = cluster(interval=3600, notify=True, peer_extra={"guangdong": {"resources": resources}})
    publish(c.peers["guangdong"], make_entry(OWNER, 8, share_method="database",
                                             data_items=(DataItem("姓名", "string", 20), DataItem("性别", "string", 2))))
    c.sync()
    shown = exchange(c.peers["guangdong"]).GetMount(exchange_pb2.GetMountRequest(resource_code="440300002/000008"))
    assert shown.origin == "config" and list(shown.source_columns) == ["name", "性别"]
    request_id = granted(c, "440300002/000008", items=("性别", "姓名"))
    columns, rows, total, _ = fetch(c.peers["hebei"], request_id)
    with sqlite3.connect(path) as db:
        assert rows == [tuple(r) for r in db.execute("SELECT 性别, name FROM people ORDER BY rowid")]
    assert columns == ["性别", "姓名"] and total == 40


def test_each_node_lists_its_records(fed):
    from click.testing import CliRunner

    from node.cli import main

    request_id = granted(fed)
    _, _, total, sha256 = fetch(fed.peers["hebei"], request_id)
    fetch(fed.peers["hebei"], request_id, offset=200)
    listed = exchange(fed.hub).ListExchanges(exchange_pb2.ListExchangesRequest(request_id=request_id)).exchanges
    assert [(r.role, r.offset, r.rows, r.sha256, r.outcome) for r in listed] == [
        ("hub", 0, ROWS, sha256, "ok"), ("hub", 200, ROWS - 200, sha256, "ok")]
    shown = CliRunner().invoke(main, ["data", "exchanges", "--request", request_id,
                                      "--target", fed.peers["guangdong"].node.address])
    lines = [line.split() for line in shown.output.splitlines()[1:]]
    assert shown.exit_code == 0 and [(cells[3], cells[6]) for cells in lines] == [("owner", "0"), ("owner", "200")]
