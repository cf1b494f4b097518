"""Entries carried in the cascade as the rows a source stores them in (`ChangeBatch.entry_rows`,
`SnapshotBatch.entry_rows`): part of the one codec, node/wire.

A source reads its entries as rows and, asked for rows, sends them as one JSON array (orjson,
in C) instead of building a message for every entry and every data item; the hub decodes them
into `Entry`s. Measured on 20,000 generated entries (2-core machine, CPU per entry): the source's
encoding 2 us instead of 12, the hub's decoding 13 us instead of 19. The hub trusts nothing a
row says that a message would have enforced: every column's type, the shapes inside its JSON
columns and aware times are checked here, and everything else (the rules, the id, the content
hash, the search tokens) the hub computes from the entry itself as before.
"""

from __future__ import annotations

import operator
from datetime import datetime
from sys import intern
from typing import Sequence

import orjson

from node.model.rules import DataItem, Entry, derived
from node.store.rows import StoredEntry, row_entry

# A row on the wire: the stored row's columns, in this order, fixed by the protocol whatever the
# store's schema becomes (a peer and its hub may run different versions). Today they are the
# stored columns (tests/test_entry_rows.py holds them equal); a change of those needs a new
# request field, not a change here. The reader recomputes `id` and `content_hash`.
ROW_COLUMNS = (
    "id", "resource_code", "origin", "version", "withdrawn", "content_hash", "name", "summary",
    "provider_code", "provider_name", "region_code", "category", "share_type", "share_condition",
    "not_shared_basis", "share_method", "open_type", "update_cycle", "source_system",
    "data_items", "keywords", "published_at", "updated_at", "derived_from", "quality",
)
_TEXT, _TIME = (str,), (str, type(None))
_TYPES = {"id": (int,), "version": (int,), "withdrawn": (int,), "published_at": _TIME, "updated_at": _TIME}
COLUMN_TYPES = tuple(_TYPES.get(column, _TEXT) for column in ROW_COLUMNS)
_MAX_INT64 = 2**63 - 1
_KEYWORDS = ROW_COLUMNS.index("keywords")
# Columns whose values repeat across a catalog, interned as node/wire.py `entry_from_proto` does:
# one string each, which a worker process then pickles once per batch.
_REPEATING = [ROW_COLUMNS.index(c) for c in ("origin", "provider_code", "provider_name", "region_code", "category",
                                             "share_type", "share_method", "open_type", "update_cycle",
                                             "source_system")]
_repeating = operator.itemgetter(*_REPEATING)


class UnreadableRows(ValueError):
    """Rows that no entry message could have carried: the batch is not applied (as a message
    that does not parse is not), and the pull fails naming the row and the column."""


def rows_json(entries: Sequence[StoredEntry]) -> bytes:
    """The source side: the stored rows as sent (nothing for none: an empty batch stays empty)."""
    return orjson.dumps([tuple(e) for e in entries]) if entries else b""  # orjson takes tuples, not named tuples


def entries_from_rows(data: bytes) -> list[Entry]:
    """The hub side: the entries the rows hold; UnreadableRows for the first row that a message
    could not have carried."""
    try:
        rows = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UnreadableRows(f"entry_rows: not JSON ({exc})") from None
    if type(rows) is not list:
        raise UnreadableRows("entry_rows: must be a JSON array of rows")
    return [_entry(row, i) for i, row in enumerate(rows)]


def _entry(row, i: int) -> Entry:
    if type(row) is not list or len(row) != len(ROW_COLUMNS):
        raise UnreadableRows(f"entry_rows[{i}]: must be an array of the {len(ROW_COLUMNS)} stored columns")
    if not all(map(isinstance, row, COLUMN_TYPES)) or not row[_KEYWORDS].startswith("["):
        column = next((c for c, value, types in zip(ROW_COLUMNS, row, COLUMN_TYPES) if not isinstance(value, types)),
                      "keywords")
        kinds = " or ".join(t.__name__ for t in _TYPES.get(column, _TEXT))
        raise UnreadableRows(f"entry_rows[{i}].{column}: must be {kinds if column != 'keywords' else 'a JSON array'}")
    for place, value in zip(_REPEATING, map(intern, _repeating(row))):
        row[place] = value
    try:
        entry = row_entry(row)
        _check(entry)
    except (TypeError, ValueError, LookupError, AttributeError) as exc:  # JSONDecodeError is a ValueError
        raise UnreadableRows(f"entry_rows[{i}] ({row[1]!r}): {exc or type(exc).__name__}") from None
    return entry


def _check(entry: Entry) -> None:
    """What a message's types would have guaranteed of the decoded entry."""
    if type(entry.version) is bool or not 0 <= entry.version <= _MAX_INT64:
        raise ValueError("version must be a 64-bit count")
    if not all(type(k) is str for k in entry.keywords):
        raise ValueError("keywords must be a JSON array of strings")
    derived(entry.data_items, "typed", _items_typed)
    for moment in (entry.published_at, entry.updated_at):
        if moment is not None and moment.tzinfo is None:
            raise ValueError("times must name their offset")
    quality = entry.quality
    if quality is not None and not (
            type(quality.score) in (int, float) and type(quality.rows) is int
            and isinstance(quality.checked_at, datetime) and quality.checked_at.tzinfo is not None
            and all(type(q.item) is str and type(q.element) is str and type(q.rule) is str
                    and type(q.failed) is int and type(q.empty) is int for q in quality.items)):
        raise ValueError("quality does not hold a score, a time, rows and items")


def _items_typed(items: tuple[DataItem, ...]) -> bool:
    # kept on a shared list (rules.derived): checked once per list, however many entries hold it
    if all(type(i.name) is str and type(i.type) is str and type(i.length) is int and type(i.description) is str
           and type(i.element) is str and type(i.key) is bool and type(i.personal) is str
           and -_MAX_INT64 <= i.length <= _MAX_INT64 for i in items):
        return True
    raise ValueError("data_items must be arrays of a name, a type, a length, a description, an element, "
                     "a key mark (true or false) and a personal mark")
