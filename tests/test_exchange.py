"""The data exchange across real nodes: exactly the granted columns and rows, resumption, each node's records."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from conftest import make_entry, wait_until
from exchange_support import CONSUMER, OWNER, ROWS, digest, exchange, fetch, granted, mount, source_rows
from exchange_support import fed  # noqa: F401 (fixture)
from harness import data
from node.model.rules import DataItem
from node.proto import admin_pb2, exchange_pb2, sharing_pb2
from test_sharing import publish, sharing, submit, wait_state


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

    from cli import main

    request_id = granted(fed)
    _, _, total, sha256 = fetch(fed.peers["hebei"], request_id)
    fetch(fed.peers["hebei"], request_id, offset=200)
    listed = exchange(fed.hub).ListExchanges(exchange_pb2.ListExchangesRequest(request_id=request_id)).exchanges
    assert [(r.role, r.offset, r.rows, r.sha256, r.outcome) for r in listed] == [
        ("hub", 0, ROWS, sha256, "ok"), ("hub", 200, ROWS - 200, sha256, "ok")]
    shown = CliRunner().invoke(main, ["data", "exchanges", "--request", request_id,
                                      "--target", fed.peers["guangdong"].node.address])
    fetches = shown.output.split("\n\n")[0].splitlines()[2:]  # after its title and its header
    lines = [line.split() for line in fetches]
    assert shown.exit_code == 0 and [(cells[3], cells[6]) for cells in lines] == [("owner", "0"), ("owner", "200")]
