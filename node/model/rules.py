"""The catalog entry and the rules every entry obeys (docs/domain.md), free of gRPC and SQLite."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import operator
import re
from datetime import datetime, timezone
from typing import Callable, TypeVar

from node.model import regions
from node.model.masking import RULES as MASKING_RULES
from node.model.quality import Quality
from node.errors import InvalidEntry

T = TypeVar("T")

CATEGORIES = ("base", "theme", "department")
SHARE_TYPES = ("unconditional", "conditional", "not_shared")
SHARE_METHODS = ("api", "file", "database")
OPEN_TYPES = ("open", "conditional_open", "not_open")
UPDATE_CYCLES = ("realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "irregular")
ITEM_TYPES = ("string", "integer", "decimal", "date", "datetime", "boolean", "binary")

MAX_NAME = 200
MAX_SUMMARY = 2000
MAX_TEXT = 500
MAX_DATA_ITEMS = 500
MAX_KEYWORDS = 50
MAX_KEYWORD = 50
MAX_ITEM_LENGTH = 1_000_000

# ASCII digits only and no trailing newline: \d alone takes any script's digits and $ a final "\n".
PROVIDER_CODE = re.compile(r"^\d{9}\Z", re.ASCII)
RESOURCE_CODE = re.compile(r"^(\d{9})/(\d{6})\Z", re.ASCII)
RESOURCE_CODE_RULE = "must be <provider_code>/<6-digit sequence>, e.g. 130100005/000123"
MAX_SEQUENCE = 999_999

# What a name (of an entry, its provider, a data item, a source system, a keyword) must not hold:
# control characters (C0 and C1: NUL, ESC, a line break...), which terminals and logs obey, and
# the bidirectional controls, which make a name read differently from what it is (after U+202E
# the rest shows backwards). Nor may a name be only invisible characters: it would look blank.
NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NAME_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*")
NAME_RULE = "must not hold control or bidirectional control characters"
NAME_BLANK_RULE = "must not be blank or only invisible characters"



# Plain (not frozen) slotted dataclasses: a hub builds hundreds of thousands of these during a
# sync, and frozen ones cost several times more to create. Code treats them as values.
@dataclasses.dataclass(slots=True)
class DataItem:
    name: str
    type: str
    length: int = 0
    description: str = ""
    element: str = ""  # the data element (数据元, node/model/elements.py) the item holds, "" for none named
    key: bool = False  # a record is looked up by it (Query and Verify ask by the entry's key items)
    personal: str = ""  # personal data: the masking rule its values leave under (node/model/masking.py), "" for none


class DataItems(tuple):
    """A list of data items decoded once and shared by every entry that holds the same list (see
    data_items); what is derived from it (its JSON, its part of the content hash, its search
    tokens, its message) is kept on it, computed on first use. A plain tuple works everywhere
    too, deriving each time."""


def derived(items: tuple[DataItem, ...], name: str, make: Callable[[tuple[DataItem, ...]], T]) -> T:
    """make(items), kept on a shared DataItems list under `name` (computed once per list)."""
    if type(items) is not DataItems:
        return make(items)
    kept = items.__dict__
    value = kept.get(name)
    if value is None:
        value = kept[name] = make(items)
    return value


# Characters of names and descriptions past which a list is not shared: a standard list holds a
# few hundred; the cache below counts lists, and would otherwise keep 8192 of the largest a caller
# can send (up to 350,000 characters each, and what is derived from them) for ever.
SHARED_ITEMS_CHARS = 2048


def item_fields(item) -> tuple:
    """The fields of a data item (a DataItem or its message) as they are stored and shared
    (data_items): the element, key and personal marks only when it has them, so that the lists
    stored before the marks stay as they were."""
    if item.key or item.personal:
        return item.name, item.type, item.length, item.description, item.element, item.key, item.personal
    if item.element:
        return item.name, item.type, item.length, item.description, item.element
    return item.name, item.type, item.length, item.description


def data_items(fields: tuple[tuple[str, str, int, str], ...]) -> DataItems:
    """The shared list of data items for these (name, type, length, description) fields. A
    national catalog repeats its standard lists (the same resource's columns in every province)
    across millions of entries; a list seen for the first time costs a cache insert (keyed by
    plain tuples, hashed in C), one seen before costs nothing further downstream. Bounded: the
    hub's memory must not grow with the catalog, so a list longer than any standard one is
    decoded for its entry alone."""
    if sum(len(f[0]) + len(f[3]) for f in fields) > SHARED_ITEMS_CHARS:
        return DataItems(DataItem(*f) for f in fields)
    return _shared_items(fields)


@functools.lru_cache(maxsize=8192)
def _shared_items(fields: tuple[tuple[str, str, int, str], ...]) -> DataItems:
    return DataItems(DataItem(*f) for f in fields)


# A plain (not frozen) slotted dataclass: a hub builds hundreds of thousands of these during a
# sync, and frozen ones cost several times more to create. Code treats them as values.
@dataclasses.dataclass(slots=True)
class Entry:
    resource_code: str
    name: str
    provider_code: str
    provider_name: str
    region_code: str
    category: str
    data_items: tuple[DataItem, ...]
    share_type: str
    share_method: str
    open_type: str
    update_cycle: str
    summary: str = ""
    share_condition: str = ""
    not_shared_basis: str = ""
    source_system: str = ""
    keywords: tuple[str, ...] = ()
    # The authoritative entry this one is a copy of (一数一源): then it re-collects nothing.
    derived_from: str = ""
    # Set by the node that owns the entry, never by a caller.
    quality: Quality | None = None  # the last format check of its source (`cascade data check`)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    origin: str = ""
    version: int = 0
    withdrawn: bool = False

    def content_hash(self) -> str:
        """A hash of everything a caller publishes plus the tombstone flag: two copies with the
        same version and hash hold the same entry. Not the quality, which the node sets: a
        publish that changes nothing else keeps it and the version."""
        return content_hash(self)


@dataclasses.dataclass(frozen=True)
class EntryFilter:
    """What a listing or search keeps: every field set must match ("" and None match all). A
    region code covers its sub-regions, a provider code the provider's entries."""

    provider_code: str = ""
    region_code: str = ""
    category: str = ""
    share_type: str = ""
    update_cycle: str = ""
    updated_since: datetime | None = None
    origin: str = ""
    open_type: str = ""


@dataclasses.dataclass(frozen=True)
class Matches:
    """One page of search matches and how many there are in all. Counting stops at a cap, so
    that a broad query costs no more than a narrow one: past it `total` is the cap and
    `total_is_lower_bound` is set ("10,000+")."""

    entries: list[Entry]
    total: int
    total_is_lower_bound: bool = False


CONTENT_FIELDS = (
    "resource_code", "name", "summary", "provider_code", "provider_name", "region_code",
    "category", "share_type", "share_condition", "not_shared_basis", "share_method",
    "open_type", "update_cycle", "source_system",
)


_content_fields = operator.attrgetter(*CONTENT_FIELDS)  # one call for all of them


def content_hash(entry: Entry) -> str:
    parts = list(_content_fields(entry))
    if entry.data_items:
        parts.append(derived(entry.data_items, "hash_part", _items_part))
    parts.append("\x1e".join(entry.keywords))
    parts.append("1" if entry.withdrawn else "0")
    if entry.derived_from:  # absent, the hash stays what it always was
        parts.append(entry.derived_from)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _items_part(items: tuple[DataItem, ...]) -> str:
    # What an item adds to the hash only when it says it: the hashes of entries before stay.
    return "\x1f".join(f"{i.name}\x1e{i.type}\x1e{i.length}\x1e{i.description}"
                       + (f"\x1e{i.element}" if i.element or i.key or i.personal else "")
                       + (f"\x1e{int(i.key)}\x1e{i.personal}" if i.key or i.personal else "") for i in items)


def same_content(a: Entry, b: Entry) -> bool:
    """Whether a publish of b over a would change nothing a reader sees."""
    return content_hash(a) == content_hash(dataclasses.replace(b, withdrawn=a.withdrawn))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _require_text(value: str, field: str, max_len: int, *, required: bool) -> None:
    if required and not value.strip():
        raise InvalidEntry(field, "must not be blank")
    if len(value) > max_len:
        raise InvalidEntry(field, f"must be at most {max_len} characters (got {len(value)})")


def _names_shown(names: list[str] | tuple[str, ...]) -> bool:
    """Whether every one of the names shows what it is: one search over them all, as most do."""
    return NAME_FORBIDDEN.search(" ".join(names)) is None and not any(map(NAME_INVISIBLE.fullmatch, names))


def _require_name(value: str, field: str) -> None:
    """A name (see NAME_FORBIDDEN); its length is checked by _require_text."""
    bad = NAME_FORBIDDEN.search(value)
    if bad:
        raise InvalidEntry(field, f"{NAME_RULE} (U+{ord(bad.group()):04X} at {bad.start()})")
    if NAME_INVISIBLE.fullmatch(value):
        raise InvalidEntry(field, NAME_BLANK_RULE)


def _require_choice(value: str, field: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        shown = value if value else "(empty)"
        raise InvalidEntry(field, f"must be one of {', '.join(choices)} (got {shown!r})")


def validate_entry(entry: Entry) -> None:
    """Raises InvalidEntry for the first rule of docs/domain.md the entry breaks."""
    if not PROVIDER_CODE.match(entry.provider_code):
        raise InvalidEntry("provider_code", "must be a 6-digit region code and a 3-digit department number")
    match = RESOURCE_CODE.match(entry.resource_code)
    if not match:
        raise InvalidEntry("resource_code", RESOURCE_CODE_RULE)
    if match.group(1) != entry.provider_code:
        raise InvalidEntry("resource_code", f"must start with the provider_code {entry.provider_code}")
    if not regions.is_known(entry.region_code):
        raise InvalidEntry("region_code", "must be a known 6-digit GB/T 2260 code")
    if entry.provider_code[:6] != entry.region_code:
        raise InvalidEntry("provider_code", f"must start with the region_code {entry.region_code}")
    _require_text(entry.name, "name", MAX_NAME, required=True)
    _require_text(entry.summary, "summary", MAX_SUMMARY, required=False)
    _require_text(entry.provider_name, "provider_name", MAX_NAME, required=True)
    _require_choice(entry.category, "category", CATEGORIES)
    _require_choice(entry.share_type, "share_type", SHARE_TYPES)
    _require_choice(entry.share_method, "share_method", SHARE_METHODS)
    _require_choice(entry.open_type, "open_type", OPEN_TYPES)
    _require_choice(entry.update_cycle, "update_cycle", UPDATE_CYCLES)
    _require_text(entry.share_condition, "share_condition", MAX_SUMMARY, required=entry.share_type == "conditional")
    _require_text(entry.not_shared_basis, "not_shared_basis", MAX_SUMMARY, required=entry.share_type == "not_shared")
    _require_text(entry.source_system, "source_system", MAX_NAME, required=False)
    derived(entry.data_items, "valid", _validate_items)  # a bad list raises each time
    if entry.derived_from and not RESOURCE_CODE.match(entry.derived_from):
        raise InvalidEntry("derived_from", "must be the authoritative entry's resource code: " + RESOURCE_CODE_RULE)
    if entry.derived_from and entry.derived_from == entry.resource_code:
        raise InvalidEntry("derived_from", "must name another entry than this one")
    if len(entry.keywords) > MAX_KEYWORDS:
        raise InvalidEntry("keywords", f"must hold at most {MAX_KEYWORDS} keywords")
    for i, keyword in enumerate(entry.keywords):
        _require_text(keyword, f"keywords[{i}]", MAX_KEYWORD, required=True)
    names = (entry.name, entry.provider_name, *entry.keywords) + ((entry.source_system,) if entry.source_system else ())
    if not _names_shown(names):  # then name the first that does not show
        fields = ("name", "provider_name", *(f"keywords[{k}]" for k in range(len(entry.keywords))), "source_system")
        for field, value in zip(fields, names):
            _require_name(value, field)


def _validate_items(items: tuple[DataItem, ...]) -> bool:
    # Most lists break no rule: one pass over them in comprehensions, and the item by item
    # checks below (which name the first broken rule) only for a list that fails it.
    names = [i.name for i in items]
    if (0 < len(items) <= MAX_DATA_ITEMS and len(set(names)) == len(names)
            and all(0 < len(n) <= MAX_NAME for n in names) and _names_shown(names)
            and all(i.type in ITEM_TYPES and 0 <= i.length <= MAX_ITEM_LENGTH and len(i.description) <= MAX_TEXT
                    and len(i.element) <= MAX_NAME and (not i.personal or i.personal in MASKING_RULES)
                    and i.key in (False, True) for i in items)):
        return True
    if not items:
        raise InvalidEntry("data_items", "must hold at least one data item")
    if len(items) > MAX_DATA_ITEMS:
        raise InvalidEntry("data_items", f"must hold at most {MAX_DATA_ITEMS} data items")
    seen: set[str] = set()
    for i, item in enumerate(items):
        _require_text(item.name, f"data_items[{i}].name", MAX_NAME, required=True)
        _require_name(item.name, f"data_items[{i}].name")
        if item.name in seen:
            raise InvalidEntry(f"data_items[{i}].name", f"must be unique within the entry ({item.name!r} repeats)")
        seen.add(item.name)
        _require_choice(item.type, f"data_items[{i}].type", ITEM_TYPES)
        if not 0 <= item.length <= MAX_ITEM_LENGTH:
            raise InvalidEntry(f"data_items[{i}].length", f"must be between 0 and {MAX_ITEM_LENGTH}")
        _require_text(item.description, f"data_items[{i}].description", MAX_TEXT, required=False)
        _require_text(item.element, f"data_items[{i}].element", MAX_NAME, required=False)
        if item.key not in (False, True):
            raise InvalidEntry(f"data_items[{i}].key", "must be true or false")
        if item.personal and item.personal not in MASKING_RULES:
            raise InvalidEntry(f"data_items[{i}].personal", f"must be a masking rule: {', '.join(MASKING_RULES)}")
    return True
