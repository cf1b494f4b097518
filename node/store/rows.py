"""An entry's rows in the node's SQLite file: the entries table's row, the search row, and the
staged form in which a worker process hands both to the writer (`Staged`, `restamp`)."""

from __future__ import annotations

import collections
import dataclasses
import functools
import sqlite3
from typing import NamedTuple

import orjson

from node.model import search
from node.model.quality import ItemQuality, Quality
from node.model.rules import DataItem, Entry, data_items, derived, item_fields
from node.times import format_time, parse_time

ENTRY_COLUMNS = (
    "id", "resource_code", "origin", "version", "withdrawn", "content_hash", "name", "summary",
    "provider_code", "provider_name", "region_code", "category", "share_type", "share_condition",
    "not_shared_basis", "share_method", "open_type", "update_cycle", "source_system",
    "data_items", "keywords", "published_at", "updated_at", "derived_from", "quality",
)
SELECT_ENTRY = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
# An upsert, not INSERT OR REPLACE: the triggers that keep entry_counts (node/store/migrations.py)
# see an update as one, where a replace fires its delete trigger only with recursive triggers on.
UPSERT_ENTRY = (
    f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in ENTRY_COLUMNS[1:])}"
)
# Places in an entry row that code outside `entry_row` reads.
CODE, VERSION, WITHDRAWN, HASH, PUBLISHED_AT, UPDATED_AT, QUALITY = map(ENTRY_COLUMNS.index, (
    "resource_code", "version", "withdrawn", "content_hash", "published_at", "updated_at", "quality"))


def code_id(resource_code: str) -> int:
    """The integer key of a resource code: its 15 digits ("130100005/000123" -> 130100005000123).
    Integer order is code order, and the search index shares the key."""
    return int(resource_code[:9] + resource_code[10:16])


def _to_json(value: list | tuple) -> str:
    # orjson (compiled): an eighth of the standard encoder's time, for two columns of every row
    # a hub or a bulk publish builds
    return orjson.dumps(value).decode()


def items_json(items: tuple[DataItem, ...]) -> str:
    return _to_json([item_fields(i) for i in items])


def quality_json(quality: Quality | None) -> str:
    if quality is None:
        return ""
    return _to_json({"score": quality.score, "checked_at": format_time(quality.checked_at), "rows": quality.rows,
                     "items": [dataclasses.astuple(i) for i in quality.items]})


@functools.lru_cache(maxsize=1024)
def quality_from_json(text: str) -> Quality | None:
    if not text:
        return None
    raw = orjson.loads(text)
    return Quality(raw["score"], parse_time(raw["checked_at"]), raw["rows"],
                   tuple(ItemQuality(*i) for i in raw["items"]))


@functools.lru_cache(maxsize=8192)  # bounded like rules.data_items, and for the same reason
def items_from_json(text: str) -> tuple[DataItem, ...]:
    return data_items(tuple(tuple(item) for item in orjson.loads(text)))


def items_tokens(items: tuple[DataItem, ...]) -> str:
    return search.index_tokens(*(i.name for i in items))


def entry_row(entry: Entry, key: int) -> tuple:
    return (
        key, entry.resource_code, entry.origin, entry.version,
        int(entry.withdrawn), entry.content_hash(), entry.name, entry.summary,
        entry.provider_code, entry.provider_name, entry.region_code, entry.category,
        entry.share_type, entry.share_condition, entry.not_shared_basis, entry.share_method,
        entry.open_type, entry.update_cycle, entry.source_system,
        derived(entry.data_items, "json", items_json), _to_json(entry.keywords),
        format_time(entry.published_at), format_time(entry.updated_at),
        entry.derived_from, quality_json(entry.quality),
    )


def row_entry(row: sqlite3.Row | tuple) -> Entry:
    (_, code, origin, version, withdrawn, _, name, summary, provider_code, provider_name,
     region_code, category, share_type, share_condition, not_shared_basis, share_method,
     open_type, update_cycle, source_system, items, keywords, published_at, updated_at, derived_from, quality) = row
    return Entry(
        resource_code=code, name=name, summary=summary, provider_code=provider_code,
        provider_name=provider_name, region_code=region_code, category=category,
        data_items=items_from_json(items),
        share_type=share_type, share_condition=share_condition, not_shared_basis=not_shared_basis,
        share_method=share_method, open_type=open_type, update_cycle=update_cycle,
        source_system=source_system, keywords=tuple(orjson.loads(keywords)),
        published_at=parse_time(published_at), updated_at=parse_time(updated_at),
        origin=origin, version=version, withdrawn=bool(withdrawn),
        derived_from=derived_from, quality=quality_from_json(quality),
    )


# An entry's row as read back, by column, for a node that passes the entry on without using it:
# the source side of a pull encodes it as it is (node/wire.py `stored_entry_to_proto`), at
# half the cost of decoding it into an `Entry` first. `data_items` and `keywords` are their JSON.
StoredEntry = collections.namedtuple("StoredEntry", ENTRY_COLUMNS)


# The search row: tokens of the name, of the rest of the text, and of the filter values.
INSERT_FTS = "INSERT OR REPLACE INTO entry_fts(rowid, name, body, tags) VALUES (?, ?, ?, ?)"


def fts_row(entry: Entry, key: int) -> tuple[int, str, str, str]:
    body = " ".join(filter(None, (search.index_tokens(entry.summary, entry.provider_name, *entry.keywords),
                                  derived(entry.data_items, "tokens", items_tokens))))
    tags = search.entry_filter_tokens(entry.category, entry.share_type, entry.update_cycle, entry.open_type)
    return key, search.text_tokens(entry.name), body, tags


def prepare(entry: Entry) -> tuple:
    """The rows of one entry: (id, entry row, search row, or None for a tombstone, which leaves
    the search index)."""
    key = code_id(entry.resource_code)
    return key, entry_row(entry, key), None if entry.withdrawn else fts_row(entry, key)


class Staged(NamedTuple):
    """An entry reduced to what the write paths compare (code, provider, origin, version,
    tombstone flag, content hash) and its rows, built by `prepare` (None when the entry broke a
    rule). Plain tuples: a worker process builds them and they cross to the node cheaply."""

    resource_code: str
    provider_code: str
    origin: str
    version: int
    withdrawn: bool
    content_hash: str
    rows: tuple | None

    def __reduce__(self):
        # Unpickled by tuple.__new__ itself, in C: a named tuple's own way (and `_make`) calls
        # Python per entry, on the applying node, whose one writer every entry waits for.
        return tuple.__new__, (Staged, tuple(self))


def stage(entry: Entry, *, valid: bool = True) -> Staged:
    """The entry staged; one that is not `valid` gets no rows (nor a hash)."""
    rows = prepare(entry) if valid else None
    return Staged(entry.resource_code, entry.provider_code, entry.origin, entry.version, entry.withdrawn,
                  rows[1][HASH] if rows else "", rows)


def restamp(rows: tuple, *, code: str, origin: str, version: int, published_at: str, updated_at: str,
            quality: str = "") -> tuple:
    """The rows of a live entry prepared before the node gave it its code, origin, version,
    times and quality (the content hash does not cover them)."""
    key, row, fts = rows
    if code != row[CODE]:
        key = code_id(code)
        fts = (key, *fts[1:])
    return key, ((key, code, origin, version, 0) + row[HASH:PUBLISHED_AT] + (published_at, updated_at)
                 + row[UPDATED_AT + 1:QUALITY] + (quality,)), fts
