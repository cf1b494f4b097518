"""PullChanges, Snapshot and GetDigest: the source side of the cascade."""

import contextlib
import tempfile

import grpc
import pytest
from hypothesis import given, settings, strategies as st

from conftest import make_entry
from node.source import changes
from node.store.rows import row_entry
from node.catalog.publishing import Catalog
from node.model.sync import Cursor
from node.errors import FailedPrecondition
from node.proto import cascade_pb2
from node.store import Store


def catalog_of(store):
    return Catalog(store, "hebei", {"130100005", "130000001"})


def pulled(store, cursor, max_batch=3):
    return list(changes.pull(store, cursor, max_batch))


@contextlib.contextmanager
def fresh_store():
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"{folder}/node.db", synchronous="off")
        try:
            yield store
        finally:
            store.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["publish", "update", "withdraw"]), st.integers(1, 8)), min_size=1, max_size=40),
       st.data())
def test_pull_from_any_cursor_returns_exactly_the_changes_after_it(ops, data):
    with fresh_store() as store:
        check_pull_after_writes(store, ops, data)


def check_pull_after_writes(store, ops, data):
    catalog = catalog_of(store)
    start = store.head_seq()
    for op, seq in ops:
        code = f"130100005/{seq:06d}"
        current = store.get_entry(code)
        if op == "withdraw":
            if current is not None and not current.withdrawn:
                catalog.withdraw(code)
        else:
            catalog.publish([make_entry(seq=seq, name=f"名称{op}{len(ops)}{store.head_seq()}")])
    head = store.head_seq()
    after = data.draw(st.integers(start, head))
    size = data.draw(st.integers(1, 5))
    batches = pulled(store, Cursor(store.epoch, after), size)
    seqs = [c.seq for b in batches for c in b.changes]
    assert seqs == list(range(after + 1, head + 1))  # in order, no gap, nothing before the cursor
    assert batches[-1].next == Cursor(store.epoch, head) and batches[-1].last
    for batch in batches:
        assert all(len(batch.changes) <= size for batch in batches)
        if batch.changes:
            assert batch.next.seq == batch.changes[-1].seq
        # the full current state of every entry the batch names
        assert {e.resource_code for e in batch.entries} == {c.key for c in batch.changes}
        for entry in batch.entries:  # as stored
            assert row_entry(entry) == store.get_entry(entry.resource_code)


def test_empty_cursor_starts_at_the_beginning(store):
    catalog_of(store).publish([make_entry(seq=i) for i in range(1, 4)])
    batches = pulled(store, Cursor())
    assert [c.seq for b in batches for c in b.changes] == [1, 2, 3]


def test_caught_up_pull_answers_one_empty_last_batch(store):
    catalog_of(store).publish([make_entry()])
    (batch,) = pulled(store, Cursor(store.epoch, 1))
    assert batch.changes == [] and batch.last and batch.next.seq == 1 and batch.live_entries == 1


def test_stale_epoch_is_failed_precondition(node):
    from conftest import make_entry as entry
    from node import wire
    from node.proto import catalog_pb2

    node.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry())))
    request = cascade_pb2.PullChangesRequest(cursor=cascade_pb2.Cursor(epoch="0123456789abcdef", seq=1))
    with pytest.raises(grpc.RpcError) as caught:
        list(node.cascade.PullChanges(request))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "epoch" in caught.value.details()


def test_compacted_log_expires_old_cursors(store):
    catalog = catalog_of(store)
    catalog.publish([make_entry(seq=i) for i in range(1, 11)])
    assert store.compact(keep=4) == 6
    with pytest.raises(FailedPrecondition) as caught:
        pulled(store, Cursor(store.epoch, 5))
    assert caught.value.reason == "cursor_expired"
    with pytest.raises(FailedPrecondition):
        pulled(store, Cursor())
    assert [c.seq for b in pulled(store, Cursor(store.epoch, 6)) for c in b.changes] == [7, 8, 9, 10]
    catalog.publish([make_entry(seq=11)])
    assert store.head_seq() == 11  # seqs are never reused after compaction


def test_cursor_past_head_means_the_source_lost_history(store):
    catalog_of(store).publish([make_entry()])
    with pytest.raises(FailedPrecondition) as caught:
        pulled(store, Cursor(store.epoch, 5))
    assert caught.value.reason == "cursor_ahead"


def test_snapshot_is_consistent_and_resumable(store):
    catalog = catalog_of(store)
    catalog.publish([make_entry(seq=i) for i in range(1, 8)])
    catalog.withdraw("130100005/000003")
    parts = list(changes.snapshot(store, "", 3))
    assert [len(p.entries) for p in parts] == [3, 3, 1, 0]
    assert parts[-1].done and all(not p.done for p in parts[:-1])
    assert [e.resource_code for p in parts for e in p.entries] == [f"130100005/{i:06d}" for i in range(1, 8)]
    assert [p.after_code for p in parts[1:]] == [p.range_end for p in parts[:-2]] + [parts[-2].range_end]
    assert all(p.cursor == Cursor(store.epoch, 8) for p in parts)
    resumed = list(changes.snapshot(store, "130100005/000005", 10))
    assert [e.resource_code for p in resumed for e in p.entries] == ["130100005/000006", "130100005/000007"]


def test_digest_tracks_versions_and_withdrawals(store):
    catalog = catalog_of(store)
    catalog.publish([make_entry(seq=i) for i in range(1, 4)])
    count, first = store.digest()
    assert count == 3
    catalog.publish([make_entry(seq=2, name="改名")])
    assert store.digest()[1] != first
    catalog.withdraw("130100005/000002")
    assert store.digest()[0] == 2
    assert store.digest(code_from="130100005/000002")[0] == 1
