"""The source side of the cascade: a node's change log served as batches after a cursor,
consistent snapshots for a full resync, and digests."""

from __future__ import annotations

from typing import Iterator

from node.errors import FailedPrecondition, Invalid
from node.model.sync import Batch, Cursor, Slice
from node.store import Store

DEFAULT_BATCH = 500
MAX_BATCH = 5000


def batch_size(requested: int) -> int:
    if requested == 0:
        return DEFAULT_BATCH
    if not 1 <= requested <= MAX_BATCH:
        raise Invalid("max_batch", f"must be from 1 to {MAX_BATCH}")
    return requested


def check_cursor(store: Store, cursor: Cursor) -> int:
    """The seq to read after, or FailedPrecondition when the reader must resync: another
    epoch (the database was re-created or restored), a seq the log no longer keeps, or a seq
    beyond the log's head (the reader saw changes this database has lost)."""
    epoch, floor, head = store.epoch, store.log_floor(), store.head_seq()
    if cursor.epoch and cursor.epoch != epoch:
        raise FailedPrecondition("epoch_changed", f"cursor epoch {cursor.epoch} is not this node's epoch {epoch}")
    if cursor.seq < 0:
        raise Invalid("cursor.seq", "must not be negative")
    if not cursor.epoch and cursor.seq:
        raise Invalid("cursor.epoch", "must be given with a seq")
    if cursor.seq < floor:
        raise FailedPrecondition("cursor_expired", f"changes up to seq {floor} were compacted; cursor is at {cursor.seq}")
    if cursor.seq > head:
        raise FailedPrecondition("cursor_ahead", f"cursor seq {cursor.seq} is past this node's head {head}")
    return cursor.seq


def pull(store: Store, cursor: Cursor, max_batch: int) -> Iterator[Batch]:
    """Batches of the changes after the cursor, oldest first, up to the head at the time of
    the call. Each batch holds the current state of every entry it names, read in the same
    transaction as the changes, and the cursor after its last change."""
    size = batch_size(max_batch)
    seq = check_cursor(store, cursor)
    epoch = store.epoch
    stop_at = store.head_seq()
    while True:
        with store.reading():
            changes = store.changes_after(seq, size)
            if changes and changes[0].seq <= store.log_floor():
                raise FailedPrecondition("cursor_expired", "the change log was compacted during the pull")
            codes = list(dict.fromkeys(c.key for c in changes if c.kind == "entry"))
            entries = store.get_stored(codes)
            ids = list(dict.fromkeys(c.key for c in changes if c.kind == "request"))
            requests = store.get_requests(ids)
            corrected = list(dict.fromkeys(c.key for c in changes if c.kind == "correction"))
            corrections = store.get_corrections(corrected)
            head = store.head_seq()
            if changes:
                seq = changes[-1].seq
            last = len(changes) < size or seq >= stop_at
            live = store.count_entries()[1] if last else 0
        # A request between two departments of this node never leaves it.
        travelling = [requests[i] for i in ids if i in requests and requests[i].owner_node != requests[i].consumer_node]
        # A correction filed and answered at its owner's node never leaves it either.
        notices = [corrections[i] for i in corrected
                   if i in corrections and corrections[i].owner_node != corrections[i].filer_node]
        yield Batch(changes, [entries[c] for c in codes if c in entries], Cursor(epoch, seq), head, last, live,
                    travelling, corrections=notices)
        if last:
            return


def snapshot(store: Store, after_code: str, max_batch: int) -> Iterator[Slice]:
    """Every entry after after_code (tombstones included) in code order, from one consistent
    read, with the cursor from which pulling continues after the last slice."""
    size = batch_size(max_batch)
    epoch = store.epoch
    lower = after_code
    for entries, head in store.snapshot_slices(after_code, size):
        if not entries:
            yield Slice([], lower, "", True, Cursor(epoch, head))
            return
        yield Slice(entries, lower, entries[-1].resource_code, False, Cursor(epoch, head))
        lower = entries[-1].resource_code
