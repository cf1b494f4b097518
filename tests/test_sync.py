"""Cascade sync with real nodes on loopback: the hub converges to the union of its peers."""

import dataclasses
import socket

from conftest import PEERS, make_entry, wait_until
from node import wire
from node.proto import catalog_pb2
from node.store import backup, restore


def publish(client, *entries):
    return client.catalog.PublishEntries(
        iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in entries))


def seed(cluster, per_department=5):
    for peer_id, client in cluster.peers.items():
        for dept in PEERS[peer_id][2]:
            publish(client, *(make_entry(dept, seq=i, name=f"{peer_id}资源{i}") for i in range(1, per_department + 1)))


def assert_converged(cluster):
    verdicts = cluster.verify()
    assert set(verdicts) == set(cluster.peers)
    for peer_id, verdict in verdicts.items():
        assert verdict.equal, f"{peer_id}: peer {verdict.at_peer} hub {verdict.at_hub} {verdict.error}"


def hub_entry(cluster, code):
    return cluster.hub.node.store.get_entry(code)


def test_hub_converges_to_the_union_of_its_peers(cluster):
    c = cluster()
    seed(c)
    c.sync()
    assert_converged(c)
    total = sum(client.node.store.count_entries()[1] for client in c.peers.values())
    assert c.hub.node.store.count_entries()[1] == total == 30
    entry = hub_entry(c, "440300002/000003")
    at_peer = c.peers["guangdong"].node.store.get_entry("440300002/000003")
    assert entry == at_peer  # every field, node-set ones included
    status = c.status()
    for peer_id, peer in status.items():
        assert peer.state == "ok" and peer.behind == 0 and peer.last_error == ""
        assert peer.entries_at_hub == peer.entries_at_peer == len(PEERS[peer_id][2]) * 5


def test_updates_and_withdrawals_arrive(cluster):
    c = cluster()
    seed(c)
    c.sync()
    publish(c.peers["hebei"], make_entry("130100005", seq=2, name="更新后的名称"))
    c.peers["hebei"].catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000003"))
    c.sync("hebei")
    assert hub_entry(c, "130100005/000002").name == "更新后的名称"
    assert hub_entry(c, "130100005/000002").version == 2
    tomb = hub_entry(c, "130100005/000003")
    assert tomb.withdrawn and tomb.version == 2
    assert_converged(c)


def test_nationwide_search_and_filters_cover_every_peer(cluster):
    c = cluster()
    seed(c)
    publish(c.hub, make_entry("100000001", seq=1, name="国家部门资源"))
    c.sync()
    reply = c.hub.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="资源", page_size=100))
    assert {e.origin for e in reply.entries} == {"hebei", "guangdong", "xpcc", "mps", "national"}
    only = c.hub.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(origin="guangdong"), page_size=100))
    assert len(only.entries) == 10 and {e.region_code[:2] for e in only.entries} == {"44"}
    region = c.hub.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(
        query="资源", filter=catalog_pb2.EntryFilter(region_code="660000")))
    assert {e.origin for e in region.entries} == {"xpcc"}


def test_replayed_batches_change_nothing(cluster):
    c = cluster()
    seed(c)
    c.sync()
    store = c.hub.node.store
    before = store.digest()
    with store.transaction() as tx:  # forget the cursor: the next pull replays everything
        tx.update_peer("hebei", seq=0)
    c.sync("hebei")
    assert store.digest() == before
    assert c.status()["hebei"].cursor.seq == c.peers["hebei"].node.store.head_seq()


def test_a_peer_that_is_down_does_not_hold_up_the_others(cluster):
    c = cluster()
    seed(c)
    c.sync()
    c.stop_peer("guangdong")
    publish(c.peers["hebei"], make_entry("130100005", seq=99))
    c.sync()
    assert hub_entry(c, "130100005/000099") is not None
    # SyncNow answers once the failed pull is counted; its error is stored a moment after.
    status = wait_until(c.status, 30, "status to show why the pull of the stopped Guangdong failed",
                        until=lambda peers: peers["guangdong"].last_error)
    assert status["guangdong"].state == "failing" and "UNAVAILABLE" in status["guangdong"].last_error
    assert status["guangdong"].backoff_seconds > 0 and status["guangdong"].failures >= 1
    assert status["hebei"].state == "ok"
    c.peers["guangdong"] = c.start_peer("guangdong", port=int(status["guangdong"].address.rsplit(":", 1)[1]))

    def pulled():  # the hub's channel reconnects on its own backoff: pull until a pull gets through
        c.sync("guangdong")
        return c.status()["guangdong"]

    wait_until(pulled, 60, "a pull of the restarted Guangdong to succeed", until=lambda state: state.state == "ok")
    assert_converged(c)


def test_peer_restored_from_older_copy_is_resynced_exactly(cluster, tmp_path):
    c = cluster()
    seed(c)
    c.sync()
    hebei = c.peers["hebei"]
    backup(hebei.node.config.database, str(tmp_path / "hebei-backup.db"))
    publish(hebei, make_entry("130100005", seq=50, name="备份之后发布"))
    publish(hebei, make_entry("130100005", seq=1, name="备份之后修改"))
    c.sync("hebei")
    assert hub_entry(c, "130100005/000050") is not None
    old_epoch = hebei.node.store.epoch
    c.stop_peer("hebei")
    restore(str(tmp_path / "hebei-backup.db"), hebei.node.config.database)
    hebei = c.peers["hebei"] = c.start_peer("hebei", port=hebei.node.port)
    assert hebei.node.store.epoch != old_epoch
    publish(hebei, make_entry("130100005", seq=2, name="恢复之后修改"))
    c.sync("hebei")
    assert_converged(c)
    assert hub_entry(c, "130100005/000050").withdrawn  # gone at the peer: a tombstone at the hub
    assert hub_entry(c, "130100005/000001").name == "hebei资源1"
    assert hub_entry(c, "130100005/000002").name == "恢复之后修改"
    assert c.status()["hebei"].resyncs == 1
    # The peer may create the code again later: its new version replaces the hub's tombstone.
    publish(hebei, make_entry("130100005", seq=50, name="重新发布"))
    c.sync("hebei")
    assert hub_entry(c, "130100005/000050").name == "重新发布" and not hub_entry(c, "130100005/000050").withdrawn
    assert_converged(c)


def test_compacted_peer_log_forces_resync_and_hub_converges(cluster):
    c = cluster()
    seed(c)
    c.sync()
    xpcc = c.peers["xpcc"]
    publish(xpcc, *(make_entry("660000001", seq=i, name=f"新资源{i}") for i in range(10, 30)))
    xpcc.catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="660000001/000001"))
    xpcc.node.store.compact(keep=2)
    c.sync("xpcc")
    assert c.status()["xpcc"].resyncs == 1
    assert hub_entry(c, "660000001/000001").withdrawn
    assert_converged(c)


def test_entries_of_another_origin_or_region_are_refused(cluster):
    c = cluster()
    seed(c)
    rogue = c.peers["hebei"].node.store
    forged = [
        make_entry("440300002", seq=77, origin="hebei", version=1),  # Guangdong's provider, sent by Hebei
        make_entry("130100005", seq=78, origin="guangdong", version=1),  # claims another origin
    ]
    with rogue.transaction() as tx:
        tx.put_entries(forged, log=True)
    c.sync()
    assert hub_entry(c, "440300002/000077") is None and hub_entry(c, "130100005/000078") is None
    status = c.status()
    assert status["hebei"].refused == 2 and status["guangdong"].refused == 0
    assert hub_entry(c, "130100005/000001") is not None  # the rest of the batch still arrived


def test_a_code_claimed_by_two_origins_keeps_the_first(cluster):
    specs = dict(PEERS, mca=("ministry", "100000", ["100000011"]))  # the same department as mps
    c = cluster(peers=specs)
    publish(c.peers["mps"], make_entry("100000011", seq=1, name="公安部的资源"))
    c.sync("mps")
    publish(c.peers["mca"], make_entry("100000011", seq=1, name="民政部的资源"))
    c.sync("mca")
    assert hub_entry(c, "100000011/000001").origin == "mps"
    assert hub_entry(c, "100000011/000001").name == "公安部的资源"
    assert c.status()["mca"].conflicts == 1
    conflicts = c.hub.admin.Status(__import__("node.proto.admin_pb2", fromlist=["x"]).StatusRequest()).conflicts
    assert [(x.peer, x.resource_code, x.held_by) for x in conflicts] == [("mca", "100000011/000001", "mps")]


def test_notify_makes_the_hub_pull_without_waiting_for_the_interval(cluster):
    c = cluster(interval=3600, notify=True)
    # The first scheduled pulls pass; the next are an hour away, so only Notify can bring the entry.
    wait_until(c.status, 60, "the hub's first pull of every peer",
               until=lambda peers: all(p.seconds_since_success >= 0 and not p.pulling for p in peers.values()))
    publish(c.peers["guangdong"], make_entry("440300002", seq=5))
    wait_until(lambda: hub_entry(c, "440300002/000005"), 30, "Guangdong's new entry at the hub, after its Notify",
               until=lambda entry: entry is not None)


def test_a_peer_back_from_a_partition_is_pulled_within_an_interval_not_after_its_backoff(cluster):
    slow_backoff = {"sync": {"backoff_initial": 120, "backoff_max": 600, "call_deadline": 20, "batch_size": 100}}
    c = cluster(interval=0.5, notify=True, hub_extra=slow_backoff)
    port = c.peers["guangdong"].node.port
    c.stop_peer("guangdong")
    cut = wait_until(lambda: c.status()["guangdong"], 60, "failed pulls of Guangdong",
                     until=lambda peer: peer.failures >= 2)
    # The hub cannot reach it (UNAVAILABLE): backing off would spare it nothing, so it is tried
    # every interval instead of after a two-minute backoff.
    assert cut.backoff_seconds <= 0.5, cut
    c.peers["guangdong"] = c.start_peer("guangdong", port)  # the link is back
    publish(c.peers["guangdong"], make_entry("440300002", seq=6))
    wait_until(lambda: hub_entry(c, "440300002/000006"), 60, "Guangdong's entry at the hub before the backoff ends",
               until=lambda entry: entry is not None)


def test_a_peer_that_notifies_while_the_hub_cannot_reach_it_is_tried_every_interval(cluster):
    # call_deadline: how long each pull of the silent Guangdong takes to fail; the others answer
    # on loopback in milliseconds.
    c = cluster(interval=1.0, notify=True, hub_extra={"sync": {"backoff_initial": 30, "backoff_max": 600,
                                                               "call_deadline": 2}})
    # The hub's way to Guangdong goes nowhere: a socket that takes connections and never answers
    # (so pulls fail by their deadline, a failure that backs off); Guangdong's way to the hub works.
    silent = socket.create_server(("127.0.0.1", 0))
    config = c.hub_config()
    cut = tuple(dataclasses.replace(p, address=f"127.0.0.1:{silent.getsockname()[1]}") if p.id == "guangdong" else p
                for p in config.peers)
    c.hub.channel.close()
    c.hub.node.stop(0)
    c.hub = c.start_node(dataclasses.replace(config, peers=cut))
    before = wait_until(lambda: c.status()["guangdong"], 90, "failed pulls of Guangdong and a long backoff, with "
                        "no notice since the last", until=lambda peer: peer.failures >= 1 and peer.backoff_seconds >= 30)
    publish(c.peers["guangdong"], make_entry("440300002", seq=7))  # its Notify: it is alive
    peer = wait_until(lambda: c.status()["guangdong"], 60, "another failed pull, after the Notify",
                      until=lambda peer: peer.failures > before.failures)
    # Exponential backoff would now wait a minute; a peer that notifies is tried every interval.
    assert peer.backoff_seconds == 1.0 and "DEADLINE_EXCEEDED" in peer.last_error, peer
    silent.close()


def test_schedule_pulls_on_its_own(cluster):
    c = cluster(interval=0.2)
    publish(c.peers["mps"], make_entry("100000011", seq=3))
    wait_until(lambda: hub_entry(c, "100000011/000003"), 30, "MPS's new entry at the hub, pulled on schedule",
               until=lambda entry: entry is not None)


def test_hub_restart_resumes_from_its_stored_cursor(cluster):
    c = cluster()
    seed(c)
    c.sync()
    cursors = {p: s.cursor.seq for p, s in c.status().items()}
    c.restart_hub()
    assert {p: s.cursor.seq for p, s in c.status().items()} == cursors
    publish(c.peers["hebei"], make_entry("130000001", seq=40))
    c.sync()
    assert_converged(c)
