"""Catalog rules at a node: who may publish what, versions, tombstones, listing and search."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Callable, Iterator

from node import paging
from node.catalog import rules
from node.catalog import regions
from node.catalog import search
from node.catalog.rules import Entry, EntryFilter, Matches
from node.errors import Invalid, InvalidEntry, NotFound, PermissionDenied
from node.store import Store, code_id

MAX_QUERY = 200


@dataclasses.dataclass(frozen=True)
class Published:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _where(i: int, entries: list) -> str:
    return f"entries[{i}]." if len(entries) > 1 else ""


def wants_code(entry: Entry) -> bool:
    """Whether a published entry asks the node for its code: none, or its provider's code and a slash."""
    return entry.resource_code in ("", entry.provider_code + "/")


def _validate(entry: Entry, where: str) -> None:
    try:
        rules.validate_entry(entry)
    except InvalidEntry as exc:
        raise InvalidEntry(where + exc.field, exc.rule) from None


class Catalog:
    """The catalog of one node. Departments publish here; every write is logged for peers."""

    def __init__(self, store: Store, node_id: str, department_codes: set[str], max_page_size: int = 1000,
                 clock: Callable[[], datetime] = rules.utcnow, on_change: Callable[[], None] | None = None):
        self.store = store
        self.node_id = node_id
        self.department_codes = department_codes
        self.max_page_size = max_page_size
        self.clock = clock
        self.on_change = on_change or (lambda: None)

    # -- writes ----------------------------------------------------------------------------

    def publish(self, entries: list[Entry]) -> tuple[list[Entry], Published]:
        """Creates or updates entries, all or nothing. Returns the stored entries and counts.
        An entry whose content is unchanged keeps its version and logs nothing. An entry with no
        resource_code ("" or "<provider_code>/") is new: the node gives it its provider's next
        free code. The entries are taken over: the node sets their code, origin, version and
        times in place."""
        if not entries:
            raise InvalidEntry("entries", "must hold at least one entry")
        for i, entry in enumerate(entries):  # codes first: they are the keys of everything below
            if not rules.RESOURCE_CODE.match(entry.resource_code) and not wants_code(entry):
                _validate(entry, _where(i, entries))
                raise InvalidEntry(_where(i, entries) + "resource_code", rules.RESOURCE_CODE_RULE)
        stored: list[Entry] = []
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with self.store.transaction() as tx:
            self._assign_codes(tx, entries)
            existing = tx.entries(e.resource_code for e in entries)
            tx.put_entries(self._versions(entries, existing, counts, stored), log=True)
        if counts["created"] or counts["updated"]:
            self.on_change()
        return stored, Published(**counts)

    def _assign_codes(self, tx, entries: list[Entry]) -> None:
        """Gives each entry that wants a code the next free sequence of its provider. Inside the
        write transaction, so two publishers never get the same code; past the highest sequence
        the node holds, tombstones included, so a code is never given twice, even once withdrawn."""
        wanting = [(i, e) for i, e in enumerate(entries) if wants_code(e)]
        if not wanting:
            return
        taken: dict[str, int] = {}  # provider -> highest sequence, at the node or named in this call
        asked: set[str] = set()  # providers whose highest sequence at the node has been read
        for entry in entries:
            match = rules.RESOURCE_CODE.match(entry.resource_code)
            if match:
                taken[match.group(1)] = max(taken.get(match.group(1), 0), int(match.group(2)))
        for i, entry in wanting:
            where, provider = _where(i, entries), entry.provider_code
            if not rules.PROVIDER_CODE.match(provider):
                _validate(entry, where)  # names the provider_code (or an earlier field)
            if provider not in self.department_codes:
                raise PermissionDenied(f"{where}provider_code: {provider} is not a department of node {self.node_id}")
            if provider not in asked:
                asked.add(provider)
                taken[provider] = max(taken.get(provider, 0), tx.highest_sequence(provider))
            seq = taken[provider] + 1
            if seq > rules.MAX_SEQUENCE:
                raise InvalidEntry(f"{where}resource_code", f"no free sequence left for provider {provider}")
            taken[provider] = seq
            entry.resource_code = f"{provider}/{seq:06d}"

    def _versions(self, entries: list[Entry], existing: dict[str, Entry], counts: dict, stored: list) -> Iterator[Entry]:
        """Checks each entry and yields the new version of those that change. Raising stops
        the write and rolls back the whole call."""
        now = self.clock()
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            where = _where(i, entries)
            _validate(entry, where)
            if entry.provider_code not in self.department_codes:
                raise PermissionDenied(
                    f"{where}provider_code: {entry.provider_code} is not a department of node {self.node_id}"
                )
            if entry.resource_code in seen:
                raise InvalidEntry(f"{where}resource_code", f"repeats entries[{seen[entry.resource_code]}] in the same call")
            seen[entry.resource_code] = i
            old = existing.get(entry.resource_code)
            if old is not None and old.origin != self.node_id:
                raise PermissionDenied(f"{where}resource_code: {entry.resource_code} belongs to node {old.origin}")
            if old is not None and not old.withdrawn and rules.same_content(old, entry):
                counts["unchanged"] += 1
                stored.append(old)
                continue
            entry.origin = self.node_id
            entry.withdrawn = False
            entry.updated_at = now
            entry.version = 1 if old is None else old.version + 1
            entry.published_at = now if old is None else old.published_at
            counts["created" if old is None else "updated"] += 1
            stored.append(entry)
            yield entry

    def withdraw(self, resource_code: str) -> Entry:
        """Turns an entry into a tombstone (a new version). Withdrawing a tombstone changes nothing."""
        self._check_code(resource_code)
        with self.store.transaction() as tx:
            old = tx.entries([resource_code]).get(resource_code)
            if old is None:
                raise NotFound(f"resource_code: no entry {resource_code}")
            if old.origin != self.node_id:
                raise PermissionDenied(f"resource_code: {resource_code} belongs to node {old.origin}")
            if old.provider_code not in self.department_codes:
                raise PermissionDenied(f"provider_code: {old.provider_code} is not a department of node {self.node_id}")
            if old.withdrawn:
                return old
            tomb = dataclasses.replace(old, withdrawn=True, version=old.version + 1, updated_at=self.clock())
            tx.put_entries([tomb], log=True)
        self.on_change()
        return tomb

    # -- reads -----------------------------------------------------------------------------

    def get(self, resource_code: str) -> Entry:
        self._check_code(resource_code)
        entry = self.store.get_entry(resource_code)
        if entry is None:
            raise NotFound(f"resource_code: no entry {resource_code}")
        return entry

    def list(self, where: EntryFilter, page_size: int, page_token: str) -> tuple[list[Entry], str]:
        """Live entries in code order; the page token is the position after the page."""
        size = paging.page_size(page_size, self.max_page_size)
        after = paging.token_number(page_token, default=-1)
        self._check_filter(where)
        entries = self.store.list_entries(where, after, size + 1)
        more = len(entries) > size
        entries = entries[:size]
        return entries, str(code_id(entries[-1].resource_code)) if more else ""

    def count(self, where: EntryFilter) -> int:
        """Live entries under the filter (a listing's total)."""
        self._check_filter(where)
        return self.store.count_live(where)

    def search(self, query: str, where: EntryFilter, page_size: int, page_token: str) -> tuple[Matches, str]:
        """Ranked matches of the query over name, summary, keywords, data item names and
        provider name, and the next page's token: an offset into the ranking. A broad query's
        total is a lower bound, and its pages end there (see `Store.search`)."""
        if len(query) > MAX_QUERY:
            raise Invalid("query", f"must be at most {MAX_QUERY} characters")
        match = search.query_phrase(query)
        if match is None:
            raise Invalid("query", "must hold at least one letter, digit or Chinese character")
        size = paging.page_size(page_size, self.max_page_size)
        offset = paging.token_number(page_token, default=0, limit=paging.MAX_OFFSET)
        self._check_filter(where)
        found = self.store.search(match, where, offset, size)
        nxt = offset + len(found.entries)
        return found, str(nxt) if nxt < found.total else ""

    # -- checks ----------------------------------------------------------------------------

    @staticmethod
    def _check_code(resource_code: str) -> None:
        if not rules.RESOURCE_CODE.match(resource_code):
            raise InvalidEntry("resource_code", rules.RESOURCE_CODE_RULE)

    @staticmethod
    def _check_filter(where: EntryFilter) -> None:
        """The filter's values, checked before the store turns them into SQL."""
        if where.provider_code and not rules.PROVIDER_CODE.match(where.provider_code):
            raise Invalid("filter.provider_code", "must be 9 digits")
        if where.region_code and not regions.is_known(where.region_code):
            raise Invalid("filter.region_code", "must be a known 6-digit GB/T 2260 code")
        for name, choices in (("category", rules.CATEGORIES), ("share_type", rules.SHARE_TYPES),
                              ("update_cycle", rules.UPDATE_CYCLES), ("open_type", rules.OPEN_TYPES)):
            value = getattr(where, name)
            if value and value not in choices:
                raise Invalid(f"filter.{name}", f"must be one of {', '.join(choices)}")
