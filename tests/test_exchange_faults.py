"""The exchange through real processes over mutual TLS (the compose harness): a large fetch held
in the middle by the fault proxy, the hub and then the owner's node killed (SIGKILL) there, the
consumer's client resuming to the same row count and sha256 as an uninterrupted fetch."""

from __future__ import annotations

import sqlite3
import threading

import grpc
import pytest

from conftest import make_entry, wait_until
from node.model.rules import DataItem
from node.exchange.client import fetch_to_file
from node.exchange.digest import RowsHash
from node.proto import catalog_pb2, exchange_pb2, sharing_pb2

SMALL = "configs/federation-small.yaml"
OWNER, CONSUMER = "440000005", "130000001"  # 广东省市场监督管理局 at Guangdong; 河北省公安厅 at Hebei
ITEMS = (("统一社会信用代码", "string"), ("企业名称", "string"), ("法定代表人", "string"), ("成立日期", "date"),
         ("注册资本", "decimal"))
ROWS = 60_000
HOLD = 1_000_000  # bytes a link passes before it stalls: a quarter of the whole (4.1 MB as CSV)


def rows_in(path) -> int:
    """Rows written so far (lines after the header), counted in bytes: the file is being written,
    and its last character may be cut in the middle (it failed once so, under load)."""
    try:
        with open(path, "rb") as f:
            return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b"")) - 1)
    except FileNotFoundError:
        return 0


def published_everywhere(fed, node: str, entry) -> None:
    """Publishes the entry at its node and waits until the hub holds it: a request for an entry
    the hub does not know yet is rejected at once at the consumer's node (as it should be), and
    under load the hub's pull can come after the test's request (it did once)."""
    fed.publish(node, [entry])
    hub = fed.catalog(fed.hub_id)
    wait_until(lambda: hub.GetEntry(catalog_pb2.GetEntryRequest(resource_code=entry.resource_code), timeout=10), 60,
               f"the hub to hold {entry.resource_code}", ignoring=(grpc.RpcError,))


def holding(fed, node) -> int:
    links = fed.proxy("status")["links"]
    return sum(links[link]["holding"] for link in fed.links_into(node))


def test_fetch_resumes_after_the_hub_and_then_the_owner_are_killed_mid_stream(federation, tmp_path):
    fed = federation(SMALL, interval=1)
    entry = make_entry(OWNER, 900, name="广东省企业法人登记信息", provider_name="广东省市场监督管理局",
                       share_method="database", data_items=tuple(DataItem(n, t, 0) for n, t in ITEMS))
    published_everywhere(fed, "guangdong", entry)
    location = fed.mount_data("guangdong", entry, ROWS, seed="faults")
    wanted = ["企业名称", "统一社会信用代码", "成立日期"]
    with sqlite3.connect(location) as db:
        names = ", ".join(wanted)
        source = [tuple(r) for r in db.execute(f"SELECT {names} FROM t440000005_000900 ORDER BY rowid")]
    expected = RowsHash()
    expected.add_rows(source)

    consumer = fed.sharing("hebei", CONSUMER)
    filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=CONSUMER, resource_code=entry.resource_code, purpose="市场主体监管", basis="《市场主体登记管理条例》",
        data_items=wanted), timeout=30)
    wait_until(lambda: consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id), timeout=10).state,
               60, "the request granted at Hebei", until=lambda state: state == "granted")
    channel = fed.channel("hebei", CONSUMER)  # the operator's certificate and the consumer's token

    whole = fetch_to_file(channel, filed.request_id, CONSUMER, tmp_path / "whole.csv")
    assert (whole.rows, whole.sha256, whole.resumed_from) == (ROWS, expected.hexdigest(), [0])

    for victim in (fed.hub_id, "guangdong"):
        # The link from the victim (towards the consumer) passes HOLD bytes, then stalls: the
        # fetch is held in the middle, whatever the speed of the machine.
        out = tmp_path / f"{victim}.csv"
        for link in fed.links_into(victim):  # the hub's: its own and every peer's uplink
            fed.proxy("set", link, hold_after_bytes=HOLD)
        outcome = {}

        def run():
            try:
                outcome["result"] = fetch_to_file(channel, filed.request_id, CONSUMER, out, retry_for=120)
            except Exception as exc:  # reported by the assertion below
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        held = wait_until(lambda: (holding(fed, victim), rows_in(out)), 60,
                          f"the fetch to stall in the middle with the link from {victim} held",
                          until=lambda seen: seen[0] > 0 and seen[1] > 0)
        fed.kill(victim)
        fed.heal(victim)  # the held connection now finds the victim gone
        fed.start(victim)
        thread.join(240)
        assert not thread.is_alive(), "the fetch did not finish"
        assert "error" not in outcome, outcome.get("error")
        result = outcome["result"]
        assert 0 < held[1] < ROWS and result.resumed_from[0] == 0 and result.resumed_from[-1] >= held[1]
        assert (result.rows, result.sha256, result.verified) == (ROWS, whole.sha256, True)
        assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()  # no row twice, none missing

    # Every hop recorded the fetches it saw; the owner's node names the offsets it resumed from.
    # A record is written as its stream ends, a moment after the client has the last chunk.
    def finished_offsets():
        with sqlite3.connect(f"file:{fed.node('guangdong')['database']}?mode=ro", uri=True) as db:
            return [r[0] for r in db.execute("SELECT start_offset FROM exchanges WHERE request_id = ? AND outcome = 'ok' "
                                             "ORDER BY rowid", (filed.request_id,))]

    offsets = wait_until(finished_offsets, 60, "the owner's records of the whole fetch and of both resumed ones",
                         until=lambda found: sum(o > 0 for o in found) >= 2)
    assert offsets[0] == 0  # the uninterrupted fetch; the resumed ones name where they started


def test_only_the_consumer_departments_token_at_its_own_node_fetches(federation):
    fed = federation(SMALL)
    entry = make_entry(OWNER, 901, share_method="database", data_items=tuple(DataItem(n, t, 0) for n, t in ITEMS))
    published_everywhere(fed, "guangdong", entry)
    fed.mount_data("guangdong", entry, 50)
    consumer = fed.sharing("hebei", CONSUMER)
    filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=CONSUMER, resource_code=entry.resource_code, purpose="市场主体监管", basis="《市场主体登记管理条例》",
        data_items=["企业名称"]), timeout=30)
    wait_until(lambda: consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id), timeout=10).state,
               60, "the request granted at Hebei", until=lambda state: state == "granted")
    request = exchange_pb2.FetchDataRequest(request_id=filed.request_id, consumer_code=CONSUMER)
    assert sum(len(c.rows) for c in fed.exchange("hebei", CONSUMER).FetchData(request, timeout=30)) == 50
    for node, department, code in (
            ("hebei", "130000002", grpc.StatusCode.PERMISSION_DENIED),  # another department of Hebei
            ("hebei", "", grpc.StatusCode.UNAUTHENTICATED),  # the operator without a token
            ("national", "", grpc.StatusCode.UNAUTHENTICATED),  # straight to the hub
            ("guangdong", OWNER, grpc.StatusCode.PERMISSION_DENIED)):  # straight to the owner's node
        with pytest.raises(grpc.RpcError) as caught:
            list(fed.exchange(node, department).FetchData(request, timeout=30))
        assert caught.value.code() == code, (node, department, caught.value.details())
    # A department mounts only what the operator set aside (resources.allow), never the node's own file.
    for location in (fed.node("guangdong")["database"], str(fed.dir / "pki" / "ca.key"), "/etc/passwd"):
        with pytest.raises(grpc.RpcError) as caught:
            fed.exchange("guangdong", OWNER).MountResource(exchange_pb2.MountResourceRequest(
                resource_code=entry.resource_code, kind="sqlite", location=location, table="tokens"), timeout=30)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "location" in caught.value.details()
