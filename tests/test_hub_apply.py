"""The hub's rules for what a peer sends, with no gRPC at all: batches and snapshot slices as the
peer side produces them, applied to a store transaction."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from conftest import make_entry
from node import wire
from node.config import Peer
from node.hub import apply
from node.source import changes
from node.model.sync import Batch, Cursor, Slice

HEBEI = Peer(id="hebei", role="provincial", address="unused:1", region_code="130000")
NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)


def published(n: int, provider: str = "130100005", **fields):
    """Entries as Hebei would send them: its own, version 1."""
    return [make_entry(provider, seq=i, origin="hebei", version=1, updated_at=NOW, **fields) for i in range(1, n + 1)]


def batch(entries, seq: int, last: bool = True) -> Batch:
    return Batch(changes=[], entries=entries, next=Cursor("e1", seq), head_seq=seq, last=last,
                 live_entries=sum(not e.withdrawn for e in entries))


def apply_batch(store, entries, seq: int):
    with store.transaction() as tx:
        return apply.apply_batch(tx, HEBEI, apply.prepare_batch(HEBEI, batch(entries, seq)), NOW, None)


def test_a_batch_is_applied_with_its_cursor_and_the_peer_count(store):
    result = apply_batch(store, published(3), seq=3)
    assert (result.applied, result.refused, result.conflicts) == (3, 0, 0)
    peer = store.peer("hebei")
    assert (peer.epoch, peer.seq, peer.entries_at_peer) == ("e1", 3, 3)
    assert store.count_entries("hebei") == (3, 3)
    assert store.get_entry("130100005/000002").origin == "hebei"


def test_a_replayed_batch_changes_nothing(store):
    apply_batch(store, published(3), seq=3)
    audit_before = store.audit_head()
    result = apply_batch(store, published(3), seq=3)
    assert (result.applied, result.unchanged) == (0, 3)
    assert store.count_entries("hebei") == (3, 3)
    assert store.audit_head() == audit_before  # nothing written, nothing recorded


def test_only_a_higher_version_replaces_the_hubs_copy(store):
    apply_batch(store, published(1, name="旧名称"), seq=1)
    apply_batch(store, [dataclasses.replace(published(1)[0], name="新名称", version=2)], seq=2)
    apply_batch(store, [dataclasses.replace(published(1)[0], name="更旧的", version=1)], seq=3)
    assert store.get_entry("130100005/000001").name == "新名称"


def test_a_peer_speaks_only_for_its_own_region_and_entries(store):
    foreign = make_entry("440000001", seq=1, origin="hebei", version=1)  # Guangdong's provider
    not_own = make_entry("130100005", seq=9, origin="guangdong", version=1)
    invalid = make_entry("130100005", seq=8, origin="hebei", version=1, name=" ")
    result = apply_batch(store, [foreign, not_own, invalid, *published(1)], seq=4)
    assert (result.applied, result.refused) == (1, 3)
    reasons = sorted(reason for _, _, _, reason, _ in store.conflicts())
    assert any("outside the peer's region" in r for r in reasons)
    assert any("is not the peer" in r for r in reasons)
    assert any("invalid entry: name" in r for r in reasons)
    assert store.get_entry("440000001/000001") is None


def test_a_code_held_by_another_origin_keeps_its_first_holder(store):
    with store.transaction() as tx:
        tx.put_entries([make_entry("130100005", seq=1, origin="national", version=5)], log=False)
    result = apply_batch(store, published(1), seq=1)
    assert (result.applied, result.conflicts) == (0, 1)
    assert store.get_entry("130100005/000001").origin == "national"


def test_a_withdrawal_travels_as_a_tombstone_and_lowers_the_live_count(store):
    apply_batch(store, published(2), seq=2)
    tomb = dataclasses.replace(published(1)[0], withdrawn=True, version=2)
    apply_batch(store, [tomb], seq=3)
    assert store.get_entry("130100005/000001").withdrawn
    assert store.count_entries("hebei") == (2, 1)


def test_a_snapshot_is_the_truth_for_its_range(store):
    apply_batch(store, published(4), seq=4)
    kept = published(4)[::2]  # the peer lost entries 2 and 4 (a restored database)
    with store.transaction() as tx:
        result = apply.apply_slice(tx, HEBEI, apply.prepare_slice(HEBEI, Slice(kept, "", "", True, Cursor("e2", 2))), NOW)
    assert result.tombstoned == 2
    assert [store.get_entry(f"130100005/00000{i}").withdrawn for i in range(1, 5)] == [False, True, False, True]
    peer = store.peer("hebei")
    assert (peer.epoch, peer.seq, peer.resyncs) == ("e2", 2, 1)
    assert store.count_entries("hebei") == (4, 2)


def test_what_a_peer_sends_is_what_the_hub_applies(tmp_path, store):
    """What changes.pull reads at a peer, encoded as PullChanges sends it and decoded as the hub
    reads it, applies to the same entries, without a network."""
    from node.catalog.publishing import Catalog
    from node.store import Store

    source = Store(tmp_path / "hebei.db", synchronous="normal")
    try:
        Catalog(source, "hebei", {"130100005"}).publish([make_entry("130100005", seq=i) for i in range(1, 6)])
        pulled = list(changes.pull(source, Cursor(), max_batch=2))
        codes = [f"130100005/{i:06d}" for i in range(1, 6)]
        for part in pulled:
            with store.transaction() as tx:
                sent = wire.batch_from_proto(wire.batch_to_proto(part))
                apply.apply_batch(tx, HEBEI, apply.prepare_batch(HEBEI, sent), NOW, None)
        assert store.digest(origin="hebei") == source.digest()
        assert store.get_entries(codes) == source.get_entries(codes)
        assert store.peer("hebei").seq == source.head_seq()
    finally:
        source.close()
