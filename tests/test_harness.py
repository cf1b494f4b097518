"""End to end through the compose harness: real processes, the fault proxy, and the hub
converging to the union of its peers whatever is broken on the way."""

import sqlite3

import pytest

from harness.runner import Federation, _alive
from conftest import wait_for
from harness.seed import entries_for
from node.api import serde
from node.proto import catalog_pb2

SMALL = "configs/federation-small.yaml"


def publish(fed, node, entries):
    chunks = [catalog_pb2.PublishEntriesRequest(entries=[serde.entry_to_proto(e) for e in entries[i:i + 500]])
              for i in range(0, len(entries), 500)]
    return fed.catalog(node).PublishEntries(iter(chunks), timeout=120)


def hub_total(fed):
    """Live entries the hub holds of its peers (its own departments' entries left out)."""
    return sum(p.entries_at_hub for p in fed.status(fed.hub_id).peers)


def assert_union(fed):
    """The hub holds exactly the union of its peers: each peer's copy equal by digest and count."""
    verdicts = fed.verify()
    assert all(v.equal for v in verdicts.values()), {p: v for p, v in verdicts.items() if not v.equal}
    states = {p.node_id: p for p in fed.status(fed.hub_id).peers}
    for peer in fed.peer_ids:
        assert states[peer].entries_at_hub == fed.status(peer).live_entries, peer


def peers_total(fed):
    return sum(fed.status(p).live_entries for p in fed.peer_ids)


def peer_state(fed, peer):
    return {p.node_id: p for p in fed.status(fed.hub_id).peers}[peer]


def test_small_federation_end_to_end(federation):
    fed = federation(SMALL)
    assert fed.seed() == 660
    fed.wait_converged(timeout=60)
    assert_union(fed)
    assert hub_total(fed) == 620 and fed.status(fed.hub_id).live_entries == 660

    # publish at Hebei, partition Guangdong, kill the hub, heal: the hub ends equal to the union
    publish(fed, "hebei", list(entries_for("130000001", "河北省公安厅", 5, seed="e2e", start=900)))
    fed.partition("guangdong")
    publish(fed, "guangdong", list(entries_for("440000001", "广东省公安厅", 5, seed="e2e", start=900)))
    fed.kill(fed.hub_id)
    publish(fed, "xpcc", list(entries_for("660000001", "兵团公安局", 5, seed="e2e", start=900)))
    fed.start(fed.hub_id)
    assert wait_for(lambda: peer_state(fed, "guangdong").state == "failing", timeout=30)
    assert "UNAVAILABLE" in peer_state(fed, "guangdong").last_error
    fed.heal("guangdong")
    fed.wait_converged(timeout=60)
    entry = fed.catalog(fed.hub_id).GetEntry(catalog_pb2.GetEntryRequest(resource_code="440000001/000900"))
    assert entry.origin == "guangdong" and entry.version == 1
    assert_union(fed)
    assert all(r["health"] == "serving" for r in fed.ps())


def test_hub_killed_during_initial_sync(federation):
    fed = federation(SMALL, sync={"batch_size": 100})
    fed.stop(fed.hub_id)
    for peer, dept, name in (("hebei", "130000001", "河北省公安厅"), ("guangdong", "440000001", "广东省公安厅")):
        publish(fed, peer, list(entries_for(dept, name, 6000, seed="kill")))
    expected = peers_total(fed)
    fed.start(fed.hub_id)
    hub_db = fed.node(fed.hub_id)["database"]

    def mid_sync():
        with sqlite3.connect(f"file:{hub_db}?mode=ro", uri=True, timeout=5) as db:
            count = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        return 500 < count < expected - 1000

    assert wait_for(mid_sync, timeout=60, poll=0.01), "did not catch the hub in the middle of its initial sync"
    fed.kill(fed.hub_id)
    fed.start(fed.hub_id)
    fed.wait_converged(timeout=120)
    assert hub_total(fed) == expected
    assert_union(fed)
    with sqlite3.connect(hub_db) as db:  # nothing applied twice: every copy has its origin's version
        assert db.execute("SELECT count(*) FROM entries WHERE version != 1").fetchone()[0] == 0


def test_paused_node_longer_than_the_pull_deadline(federation):
    fed = federation(SMALL, interval=0.5, sync={"call_deadline": 2, "backoff_max": 2})
    fed.seed(5)
    fed.wait_converged(timeout=60)
    fed.pause("hebei")
    publish(fed, "guangdong", list(entries_for("440000002", "广东省民政厅", 3, seed="pause", start=500)))
    assert wait_for(lambda: "DEADLINE_EXCEEDED" in peer_state(fed, "hebei").last_error, timeout=20)
    assert peer_state(fed, "hebei").state == "failing" and peer_state(fed, "guangdong").state == "ok"
    assert fed.catalog(fed.hub_id).GetEntry(catalog_pb2.GetEntryRequest(resource_code="440000002/000500")).name
    rows = {r["node"]: r for r in fed.ps()}
    assert rows["hebei"]["health"] == "paused"
    fed.resume("hebei")
    publish(fed, "hebei", list(entries_for("130000002", "河北省民政厅", 3, seed="pause", start=500)))
    fed.wait_converged(timeout=60)
    assert wait_for(lambda: peer_state(fed, "hebei").state == "ok", timeout=20)


def test_link_that_drops_the_stream_mid_batch(federation):
    fed = federation(SMALL, interval=0.5, sync={"batch_size": 200, "backoff_initial": 0.1, "backoff_max": 0.5})
    fed.drop("hebei", after_bytes=150_000)  # a batch of 200 entries is ~100 KB: each stream dies a batch or two in
    publish(fed, "hebei", list(entries_for("130000003", "河北省人力资源和社会保障厅", 4000, seed="drop")))
    assert wait_for(lambda: peer_state(fed, "hebei").failures > 0, timeout=30)
    error = peer_state(fed, "hebei").last_error
    assert "UNAVAILABLE" in error or "INTERNAL" in error or "CANCELLED" in error, error
    fed.wait_converged(timeout=180)  # progress survives the drops: each batch came with its cursor
    assert fed.proxy("status")["links"]["hebei"]["dropped"] > 1
    fed.heal("hebei")
    assert_union(fed)


def test_down_leaves_no_process_or_directory(federation, tmp_path):
    fed = federation(SMALL)
    pids = [n["pid"] for n in fed.state["nodes"].values()] + [fed.state["proxy"]["pid"]]
    fed.pause("mps")  # even a stopped process goes
    fed.down(purge=True)
    assert not any(_alive(pid) for pid in pids)
    assert not fed.dir.exists()


def test_bad_compose_file_names_file_key_and_rule(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nhub: {id: national}\nnodes:\n  - {id: hebei, role: provincial, region_code: '130000', "
                    "departments: [{code: '440000001', name: 广东}]}\n")
    with pytest.raises(Exception) as caught:
        Federation.up(path, tmp_path / "state")
    assert str(path) in str(caught.value) and "departments[0].code" in str(caught.value)
    assert "region" in str(caught.value)


def test_request_round_trip_through_the_cli(federation):
    import subprocess
    import sys

    from conftest import ROOT

    fed = federation(SMALL)
    fed.seed()
    fed.wait_converged(timeout=60)
    hub = fed.address(fed.hub_id)
    found = fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="unconditional"), page_size=1)).entries[0]

    def cascade(*args):
        result = subprocess.run([sys.executable, "-m", "node.cli", *args], capture_output=True, text=True, cwd=ROOT,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    out = cascade("requests", "submit", "--consumer", "130000001", "--resource", found.resource_code,
                  "--purpose", "企业开办一网通办", "--basis", "《优化营商环境条例》", "--item", found.data_items[0].name,
                  "--target", fed.address("hebei"))
    request_id = out.split()[0]
    assert wait_for(lambda: "granted" in cascade("requests", "get", request_id, "--target", fed.address("hebei")))
    shown = cascade("requests", "get", request_id, "--target", fed.address("hebei"))
    assert "submitted" in shown and "granted" in shown  # the history
    card = cascade("scorecard", "--target", hub)
    assert found.provider_code in card
    assert "guangdong" in cascade("scorecard", "--nodes", "--target", hub)


def test_hub_killed_between_pulling_a_request_and_delivering_it(federation):
    from node.proto import sharing_pb2, sharing_pb2_grpc

    fed = federation(SMALL, sync={"backoff_max": 1})
    fed.seed()
    fed.wait_converged(timeout=60)
    found = fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong", share_type="unconditional"), page_size=1)).entries[0]
    fed.partition("guangdong")  # the hub can pull the request but not deliver it
    consumer = sharing_pb2_grpc.SharingStub(fed.channel("hebei"))
    filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130000001", resource_code=found.resource_code, purpose="跨省通办", basis="《政务服务条例》",
        data_items=[found.data_items[0].name]))
    hub = sharing_pb2_grpc.SharingStub(fed.channel(fed.hub_id))

    def queued():
        state = peer_state(fed, "guangdong")
        return state.deliveries_waiting == 1 and state.delivery_error

    assert wait_for(queued, timeout=30)  # status shows the delivery waiting, and why
    assert hub.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).state == "submitted"
    fed.kill(fed.hub_id)
    fed.heal("guangdong")
    fed.start(fed.hub_id)

    def granted():
        return consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).state == "granted"

    assert wait_for(granted, timeout=60)
    owner = sharing_pb2_grpc.SharingStub(fed.channel("guangdong"))
    at_owner = owner.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id))
    assert [e.state for e in at_owner.history] == ["submitted", "granted"]  # delivered exactly once
    assert wait_for(lambda: peer_state(fed, "guangdong").deliveries_waiting == 0, timeout=30)


@pytest.mark.parametrize("path, nodes, provinces, ministries", [
    ("configs/federation-small.yaml", 6, 3, 2), ("configs/federation-full.yaml", 43, 32, 10),
])
def test_bundled_compose_files(path, nodes, provinces, ministries):
    from conftest import ROOT
    from harness import compose
    from node.catalog import regions

    fed = compose.load(ROOT / path)
    assert len(fed.all) == nodes
    assert sum(n.role == "provincial" for n in fed.nodes) == provinces
    assert sum(n.role == "ministry" for n in fed.nodes) == ministries
    if provinces == 32:
        assert {n.region_code for n in fed.nodes if n.role == "provincial"} == set(regions.PROVINCES)
    codes = [code for n in fed.all for code, _ in n.departments]
    assert len(codes) == len(set(codes))  # one source per datum: no department on two nodes
