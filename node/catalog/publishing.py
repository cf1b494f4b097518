"""Catalog rules at a node: who may publish what, versions, tombstones, listing and search."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Callable, Iterable, Iterator

from node import paging
from node.model import elements, regions, rules, search
from node.model.elements import Registry
from node.model.rules import Entry, EntryFilter, Matches
from node.errors import Invalid, InvalidEntry, NotFound, PermissionDenied
from node.store import Staged, Store, code_id, restamp, stage
from node.store.rows import quality_json, row_entry
from node.times import format_time

MAX_QUERY = 200


@dataclasses.dataclass(frozen=True)
class Published:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def wants_code(entry: Entry | Staged) -> bool:
    """Whether a published entry asks the node for its code: none, or its provider's code and a slash."""
    return entry.resource_code in ("", entry.provider_code + "/")


# What `offered` makes of entries: each entry staged, and the rule each broken one breaks first,
# as (field, rule) by its place.
Offered = tuple[list[Staged], dict[int, tuple[str, str]]]


def offered(entries: Iterable[Entry], registry: Registry | None = None) -> Offered:
    """The entries a caller offers, checked against the rules (and the data elements their
    items name, with the node's `registry`) and turned into rows before the node gives them
    their code (when they want one), origin, version and times. Needs no lock and no store: a
    bulk load runs it in worker processes. The entries are taken over: one that wants a code
    gets a stand-in until it gets its own."""
    staged: list[Staged] = []
    problems: dict[int, tuple[str, str]] = {}
    for i, entry in enumerate(entries):
        code = entry.resource_code
        if wants_code(entry):
            entry.resource_code = f"{entry.provider_code}/000001"
        try:
            rules.validate_entry(entry)
            if registry is not None:
                elements.check_entry(entry, registry)
        except Invalid as exc:
            problems[i] = (exc.field, exc.rule)
        staged.append(stage(entry, valid=i not in problems)._replace(resource_code=code))
    return staged, problems


@dataclasses.dataclass
class _Call:
    """One publish call while it is checked and written."""

    total: int
    stamp: str
    keep: bool = True  # whether `stored` keeps what each entry became (a bulk load wants only counts)
    counts: dict = dataclasses.field(default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0})
    stored: list = dataclasses.field(default_factory=list)
    seen: dict = dataclasses.field(default_factory=dict)  # code -> the place of the entry that named it

    def where(self, i: int) -> str:
        return f"entries[{i}]." if self.total > 1 else ""


class Catalog:
    """The catalog of one node. Departments publish here; every write is logged for peers."""

    def __init__(self, store: Store, node_id: str, department_codes: set[str], max_page_size: int = 1000,
                 clock: Callable[[], datetime] = rules.utcnow, elements: Callable[[], Registry] = Registry):
        self.store = store
        self.elements = elements  # the node's registry of data elements as it stands
        self.node_id = node_id
        self.department_codes = department_codes
        self.max_page_size = max_page_size
        self.clock = clock

    # -- writes ----------------------------------------------------------------------------

    def publish(self, entries: list[Entry]) -> tuple[list[Entry], Published]:
        """Creates or updates entries, all or nothing. Returns the stored entries and counts.
        An entry whose content is unchanged keeps its version and logs nothing. An entry with no
        resource_code ("" or "<provider_code>/") is new: the node gives it its provider's next
        free code. The entries are taken over (see `offered`)."""
        stored, counts = self.publish_staged([offered(entries, self.elements())], len(entries))
        return [e if isinstance(e, Entry) else row_entry(e[1]) for e in stored], counts

    def publish_staged(self, parts: Iterable[Offered], total: int, *, keep: bool = True,
                       ) -> tuple[list[Entry | tuple], Published]:
        """`publish` for entries already checked and turned into rows by `offered` (a bulk load
        does that in worker processes), given as consecutive parts of the call, each drawn
        only when the write has come to it: the parts still being built overlap with writing
        the ones before. Returns, for each entry in order, the stored copy of an unchanged
        entry or the rows written for a new version; raising rolls back the whole call. `total`:
        how many entries the parts hold (errors name an entry's place when there are several).
        keep=False returns no entries, only the counts: a part is let go once written, except
        the entries that want a code, which wait for theirs until the end of the call."""
        if not total:
            raise InvalidEntry("entries", "must hold at least one entry")
        call = _Call(total, format_time(self.clock()), keep)
        with self.store.transaction() as tx:
            tx.put_rows(self._versions(tx, parts, call), log=True)
        return call.stored, Published(**call.counts)

    def _versions(self, tx, parts: Iterable[Offered], call: "_Call") -> Iterator[tuple]:
        """Checks each entry in order and yields the rows of the new version of those that
        change; entries that want a code get theirs last, once every code the call names is
        known. Raising stops the write and rolls back the whole call."""
        wanting: list[tuple[int, Staged]] = []
        highest: dict[str, int] = {}  # provider -> the highest sequence named (later: given) in this call
        first = 0
        for staged, problems in parts:
            existing = tx.entries(s.resource_code for s in staged if rules.RESOURCE_CODE.match(s.resource_code))
            for i, s in enumerate(staged, start=first):
                if i - first in problems:
                    field, rule = problems[i - first]
                    raise InvalidEntry(call.where(i) + field, rule)
                if s.provider_code not in self.department_codes:
                    raise PermissionDenied(f"{call.where(i)}provider_code: {s.provider_code} is not a department "
                                           f"of node {self.node_id}")
                if wants_code(s):
                    wanting.append((i, s))
                    if call.keep:
                        call.stored.append(None)
                    continue
                provider, sequence = s.resource_code.split("/")
                highest[provider] = max(highest.get(provider, 0), int(sequence))
                yield from self._version(s, existing.get(s.resource_code), i, call)
            first += len(staged)
        asked: set[str] = set()
        gaps: dict[str, int] = {}  # provider -> the last sequence given from a gap in this call
        for i, s in wanting:
            # Inside the write transaction, so two publishers never get the same code.
            provider = s.provider_code
            if provider not in asked:
                asked.add(provider)
                highest[provider] = max(tx.highest_sequence(provider), highest.get(provider, 0))
            sequence = self._next_sequence(tx, provider, highest, gaps, call)
            if not sequence:
                raise InvalidEntry(f"{call.where(i)}resource_code", f"no free sequence left for provider {provider}")
            at = len(call.stored)
            yield from self._version(s._replace(resource_code=f"{provider}/{sequence:06d}"), None, i, call)
            if call.keep:
                call.stored[i] = call.stored.pop(at)

    @staticmethod
    def _next_sequence(tx, provider: str, highest: dict[str, int], gaps: dict[str, int], call: "_Call") -> int:
        """The sequence after the highest the department holds, so that codes follow the order
        they were given in; once that would pass 999999 (someone named a code far ahead, such as
        /999999), the lowest free one, so that no code named out of order stops the department's
        publishing; 0 when every sequence is held. Never one the file holds, tombstones included
        (a code is never given twice, even once withdrawn), nor one the call names."""
        if highest[provider] < rules.MAX_SEQUENCE:
            highest[provider] += 1
            return highest[provider]
        sequence = gaps.get(provider, 0)
        while sequence := tx.free_sequence(provider, sequence):
            if f"{provider}/{sequence:06d}" not in call.seen:  # named in the call, maybe not yet written
                break
        gaps[provider] = sequence
        return sequence

    def _version(self, s: Staged, old: Entry | None, i: int, call: "_Call") -> Iterator[tuple]:
        """The rows of the entry's next version, unless it repeats a code of the call, belongs
        to another node, or changes nothing."""
        if s.resource_code in call.seen:
            raise InvalidEntry(f"{call.where(i)}resource_code",
                               f"repeats entries[{call.seen[s.resource_code]}] in the same call")
        call.seen[s.resource_code] = i
        if old is not None and old.origin != self.node_id:
            raise PermissionDenied(f"{call.where(i)}resource_code: {s.resource_code} belongs to node {old.origin}")
        if old is not None and not old.withdrawn and old.content_hash() == s.content_hash:
            call.counts["unchanged"] += 1
            if call.keep:
                call.stored.append(old)
            return
        call.counts["created" if old is None else "updated"] += 1
        rows = restamp(s.rows, code=s.resource_code, origin=self.node_id, version=1 if old is None else old.version + 1,
                       published_at=call.stamp if old is None else format_time(old.published_at),
                       updated_at=call.stamp, quality=quality_json(old.quality) if old is not None else "")
        if call.keep:
            call.stored.append(rows)
        yield rows

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
        return tomb

    # -- reads -----------------------------------------------------------------------------

    def get(self, resource_code: str) -> Entry:
        self._check_code(resource_code)
        entry = self.store.get_entry(resource_code)
        if entry is None:
            raise NotFound(f"resource_code: no entry {resource_code}")
        return entry

    def list(self, where: EntryFilter, page_size: int, page_token: str,
             make: Callable[[tuple], object] = row_entry) -> tuple[list, str]:
        """Live entries in code order, each made from its row (`Store.list_entries`); the page
        token is the position after the page."""
        size = paging.page_size(page_size, self.max_page_size)
        after = paging.token_number(page_token, default=-1)
        self._check_filter(where)
        entries = self.store.list_entries(where, after, size + 1, make)
        more = len(entries) > size
        entries = entries[:size]
        return entries, str(code_id(entries[-1].resource_code)) if more else ""

    def count(self, where: EntryFilter) -> tuple[int, bool]:
        """Live entries under the filter (a listing's total), and whether that is a lower bound:
        past the store's cap a filtered listing is not counted further (see `Store.count_live`)."""
        self._check_filter(where)
        return self.store.count_live(where)

    def search(self, query: str, where: EntryFilter, page_size: int, page_token: str,
               make: Callable[[tuple], object] = row_entry) -> tuple[Matches, str]:
        """Ranked matches of the query over name, summary, keywords, data item names and
        provider name, and the next page's token: an offset into the ranking. A broad query's
        total is a lower bound, and its pages end there (see `Store.search`)."""
        match = self._match(query)
        size = paging.page_size(page_size, self.max_page_size)
        offset = paging.token_number(page_token, default=0, limit=paging.MAX_OFFSET)
        self._check_filter(where)
        found = self.store.search(match, where, offset, size, make)
        nxt = offset + len(found.entries)
        return found, str(nxt) if nxt < found.total else ""

    def facets(self, query: str, where: EntryFilter) -> list[tuple[str, str, int, bool]]:
        """For each value of each facet, the entries (the query's matches, when there is a query)
        under the filter with that facet set to that value, counted up to a cap (see
        `Store.facet_counts`)."""
        match = self._match(query) if query else None
        self._check_filter(where)
        return self.store.facet_counts(match, where)

    # -- checks ----------------------------------------------------------------------------

    @staticmethod
    def _match(query: str) -> str:
        """The query's MATCH expression, checked."""
        if len(query) > MAX_QUERY:
            raise Invalid("query", f"must be at most {MAX_QUERY} characters")
        match = search.query_phrase(query)
        if match is None:
            raise Invalid("query", "must hold at least one letter, digit or Chinese character")
        return match

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
