"""Entries pulled as stored rows (node/wire/rows.py): the hub reads the same entries from rows as
from messages, refuses rows that no message could have carried, and a source sends rows only to
a reader that asks for them; and the staging workers yield the cores to their node's writer."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from conftest import make_entry
from node import wire
from node.config import Peer
from node.hub.apply import refusal
from node.model.quality import ItemQuality, Quality
from node.model.rules import DataItem
from node.model.sync import Batch, Cursor, Slice
from node.proto import cascade_pb2, catalog_pb2
from node.store import stage
from node.store.rows import ENTRY_COLUMNS, StoredEntry, code_id, entry_row
from node.wire.rows import ROW_COLUMNS, UnreadableRows, entries_from_rows
from node.workers import MIN_ITEMS, WORKER_NICENESS, WorkerPool

HEBEI = Peer(id="hebei", role="provincial", address="unused:1", region_code="130000")
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
items = st.lists(st.builds(DataItem, name=text, type=st.sampled_from(["string", "date"]), length=st.integers(0, 99),
                           description=text, element=st.sampled_from(["", "DE0001"]), key=st.booleans(),
                           personal=st.sampled_from(["", "id_number", "name"])), max_size=4)
qualities = st.none() | st.builds(Quality, score=st.floats(0, 100), checked_at=st.just(T0), rows=st.integers(0, 10**6),
                                  items=st.lists(st.builds(ItemQuality, text, text, text, st.integers(0, 9),
                                                           st.integers(0, 9)), max_size=2).map(tuple))


@st.composite
def stored_entries(draw, seq: int):
    entry = make_entry(seq=seq, name=draw(text), summary=draw(text), data_items=tuple(draw(items)),
                       keywords=tuple(draw(st.lists(text, max_size=3))), withdrawn=draw(st.booleans()),
                       version=draw(st.integers(0, 2**40)), origin="hebei", quality=draw(qualities),
                       derived_from=draw(st.sampled_from(["", "130100005/999999"])),
                       published_at=draw(st.sampled_from([None, T0])),
                       updated_at=T0 + timedelta(microseconds=draw(st.integers(0, 10**9))))
    return StoredEntry._make(entry_row(entry, code_id(entry.resource_code)))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 4).flatmap(lambda n: st.tuples(*[stored_entries(i + 1) for i in range(n)])))
def test_entries_sent_as_rows_are_read_as_their_messages_are(rows):
    """Whatever an entry holds (valid or not: the rules are the hub's to apply), the hub reads
    the same entry from its row as from its message, in a batch and in a snapshot slice."""
    batch = Batch([], list(rows), Cursor("e1", 9), 9, True, 3)
    as_rows = wire.batch_to_proto(batch, entry_rows=True, changes=False)
    assert not as_rows.entries and (as_rows.entry_rows != b"") == bool(rows)
    as_messages = wire.batch_to_proto(batch)
    assert wire.batch_from_proto(as_rows).entries == wire.batch_from_proto(as_messages).entries
    part = Slice(list(rows), "", "", True, Cursor("e1", 9))
    assert (wire.slice_from_proto(wire.slice_to_proto(part, entry_rows=True)).entries
            == wire.slice_from_proto(wire.slice_to_proto(part)).entries)


json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False) | text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                           max_leaves=8)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ROW_COLUMNS), json_values, st.sampled_from(["value", "json inside"]))
def test_a_row_no_message_could_carry_is_refused_or_read_as_a_message_would_be(column, value, where):
    """Any JSON value put in any column (or inside a JSON column) is either refused with the row
    named, or read into an entry with the types a message gives, which the hub checks and stages."""
    row = list(entry_row(make_entry(origin="hebei", version=1, updated_at=T0), 130100005000001))
    place = ROW_COLUMNS.index(column)
    row[place] = orjson.dumps(value).decode() if where == "json inside" else value
    try:
        (entry,) = entries_from_rows(orjson.dumps([row]))
    except UnreadableRows as exc:
        assert str(exc).startswith("entry_rows[0]")
        return
    for field in dataclasses.fields(entry):
        if field.type == "str":
            assert type(getattr(entry, field.name)) is str, field.name
    assert type(entry.version) is int and 0 <= entry.version < 2**63
    assert all(type(k) is str for k in entry.keywords)
    assert all(type(i.name) is str and type(i.length) is int and type(i.key) is bool and type(i.personal) is str
               for i in entry.data_items)
    assert entry.updated_at is None or entry.updated_at.tzinfo is not None
    stage(entry, valid=refusal(HEBEI, entry) is None)  # as the hub stages it: rows only for an entry it takes


def test_the_rows_on_the_wire_are_the_stored_rows():
    """The wire's columns are the protocol's; if the stored ones change, the hub must ask for the
    new rows with a new request field (an older peer still sends the old ones)."""
    assert ROW_COLUMNS == ENTRY_COLUMNS


@pytest.mark.parametrize("data, says", [
    (b"{", "not JSON"), (b"{}", "JSON array of rows"), (b"[[1, 2]]", "entry_rows[0]: must be an array"),
])
def test_rows_that_are_not_rows_are_refused_saying_so(data, says):
    with pytest.raises(UnreadableRows, match=says.replace("[", r"\[").replace("]", r"\]")):
        entries_from_rows(data)


def test_a_node_sends_rows_and_drops_change_records_only_for_a_reader_that_asks(node):
    """An older hub, which asks for neither, still gets messages and change records."""
    entries = [make_entry(seq=i) for i in range(1, 4)]
    node.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in entries])]))
    (old,) = node.cascade.PullChanges(cascade_pb2.PullChangesRequest())
    (new,) = node.cascade.PullChanges(cascade_pb2.PullChangesRequest(entry_rows=True, without_changes=True))
    assert len(old.changes) == 3 and len(old.entries) == 3 and not old.entry_rows
    assert not new.changes and not new.entries and new.next == old.next
    assert wire.batch_from_proto(new).entries == wire.batch_from_proto(old).entries
    old_slices = list(node.cascade.Snapshot(cascade_pb2.SnapshotRequest()))
    new_slices = list(node.cascade.Snapshot(cascade_pb2.SnapshotRequest(entry_rows=True)))
    assert [len(s.entries) for s in old_slices] == [3, 0] and not any(s.entries for s in new_slices)
    assert ([wire.slice_from_proto(s).entries for s in new_slices]
            == [wire.slice_from_proto(s).entries for s in old_slices])


def test_staging_workers_run_below_their_nodes_priority():
    pool = WorkerPool(1)
    try:
        assert pool.run(os.nice, 0, items=MIN_ITEMS).result(timeout=60) == os.nice(0) + WORKER_NICENESS
    finally:
        pool.close()
