"""Cascade sync under faults that need real processes: the hub killed with SIGKILL mid-pull."""

import sqlite3
import threading

import grpc

import node.source.changes
from conftest import PEERS, make_entry, node_config, wait_until
from node import wire
from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2
from processes import NodeProcess

HELD_AFTER_BATCHES = 21
# Entries enough for a pull of 100 batches of 50: held after the 21st, so the kill lands with
# most of the pull still to come (the hold, not the catalog's size, puts the kill in the middle).
ENTRIES = 5_000


def hub_cursor(db_path, peer):
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT seq FROM peers WHERE node_id = ?", (peer,)).fetchone()
            return row[0] if row else 0
    except sqlite3.OperationalError:
        return 0


def test_hub_killed_mid_pull_resumes_from_its_cursor(tmp_path, start_node, monkeypatch):
    role, region, departments = PEERS["hebei"]
    hebei = start_node(node_config(tmp_path, "hebei", role, region, departments=departments))
    entries = [make_entry("130100005", seq=i, name=f"资源{i}") for i in range(1, ENTRIES + 1)]
    for start in range(0, len(entries), 5000):
        hebei.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(
            entries=[wire.entry_to_proto(e) for e in entries[start:start + 5000]])]))
    head = hebei.node.store.head_seq()

    # Hebei serves the first batches of every pull, then holds the stream until the hub has
    # been killed: the kill lands mid-pull however slow or fast the machine is. The hub applies
    # each batch once it holds the next (node/hub/puller.py decodes one batch while it applies
    # the one before), so it applies all but the last batch sent before the hold.
    pull = node.source.changes.pull
    held, released = threading.Event(), threading.Event()
    sent_up_to = []  # the cursor of each batch sent before the hold

    def held_pull(store, cursor, max_batch):
        for number, batch in enumerate(pull(store, cursor, max_batch), start=1):
            if number > HELD_AFTER_BATCHES and not released.is_set():
                held.set()
                released.wait()
            yield batch
            if not released.is_set():
                sent_up_to.append(batch.next.seq)

    monkeypatch.setattr(node.source.changes, "pull", held_pull)

    hub_db = tmp_path / "national.db"
    hub = NodeProcess(tmp_path, {
        "node": {"id": "national", "role": "national", "region_code": "100000"},
        "database": str(hub_db),
        "peers": [{"id": "hebei", "role": role, "address": hebei.node.address, "region_code": region, "interval": 0.5}],
        "sync": {"batch_size": 50, "backoff_initial": 0.1},
        "log": {"format": "json"},
    })
    try:
        hub.start()
        wait_until(held.is_set, 60, f"Hebei to send {HELD_AFTER_BATCHES} batches and hold the pull")
        wait_until(lambda: hub_cursor(hub_db, "hebei"), 60,
                   "the hub to apply the batches sent before the hold but the last, and store their cursor",
                   until=lambda seq: seq == sent_up_to[-2])
        hub.kill()
        stored = hub_cursor(hub_db, "hebei")
        assert 0 < stored < head, "the kill did not land in the middle of the pull"
        with sqlite3.connect(hub_db) as db:
            applied = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        assert applied >= stored  # each batch's entries were committed with its cursor

        released.set()
        hub.start()
        with grpc.insecure_channel(hub.address) as channel:
            admin = admin_pb2_grpc.AdminStub(channel)
            admin.SyncNow(admin_pb2.SyncNowRequest(peer="hebei", wait=True), timeout=120)
            (verdict,) = admin.Verify(admin_pb2.VerifyRequest(), timeout=60).peers
            assert verdict.equal and verdict.at_hub.count == len(entries)
            (peer,) = admin.Status(admin_pb2.StatusRequest()).peers
            assert peer.cursor.seq == head and peer.resyncs == 0  # resumed, no resync needed
    finally:
        released.set()  # frees the serving threads still held
        hub.stop()
    with sqlite3.connect(hub_db) as db:
        assert db.execute("SELECT count(*), min(version), max(version) FROM entries").fetchone() == (len(entries), 1, 1)
