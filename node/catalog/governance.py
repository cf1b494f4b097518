"""Governance over the entries a node holds (at the hub: the nation's): the duplicate
collections (不得重复收集) the registry of data elements reveals, each department's count of them
and its quality score, and the quality an entry's format check found, written as a new version
of the entry so that it travels to the hub."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from datetime import datetime
from typing import Callable, Iterator

from node.catalog.elements import ElementRegistry
from node.errors import FailedPrecondition, NotFound, PermissionDenied
from node.model import elements, rules
from node.model.elements import Duplicate
from node.model.quality import Quality
from node.model.rules import Entry, EntryFilter
from node.store import Store
from node.store.rows import items_from_json, quality_from_json

PAGE = 1000
# Seconds a department count is kept: a metrics scrape or a scorecard reads it often, and it
# costs a pass over every entry the hub holds.
COUNTS_TTL = 30.0


@dataclasses.dataclass(frozen=True)
class DepartmentGovernance:
    """Per department code: its duplicate collections, and the mean quality score of its checked entries."""

    duplicates: dict[str, int]
    quality: dict[str, float]


class Governance:
    def __init__(self, store: Store, registry: ElementRegistry, node_id: str,
                 clock: Callable[[], datetime] = rules.utcnow):
        self.store = store
        self.registry = registry
        self.node_id = node_id
        self.clock = clock
        self._counts: tuple[float, int, DepartmentGovernance] | None = None
        self._lock = threading.Lock()

    def _rows(self, provider_code: str = "") -> Iterator[tuple]:
        """`Store.governed_rows` of every live entry (of one department), a page at a time."""
        after = -1
        where = EntryFilter(provider_code=provider_code)
        while True:
            page = self.store.governed_rows(where, after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1][0]

    def _found(self, provider_code: str = "") -> Iterator[tuple[tuple, list[tuple[str, str, str, str]]]]:
        """Each live entry's row and its re-collected elements. A national catalog repeats its
        standard lists in every province: the elements of a list are found once per list,
        region and department, not once per entry."""
        registry = self.registry.current()

        @functools.lru_cache(maxsize=8192)
        def found(items: str, region_code: str, provider: str) -> list[tuple[str, str, str, str]]:
            return elements.re_collected(items_from_json(items), region_code, provider, registry)

        for row in self._rows(provider_code):
            _, _, provider, _, region_code, items, derived_from, _ = row
            yield row, ([] if derived_from else found(items, region_code, provider))

    def duplicates(self, provider_code: str = "", resource_code: str = "") -> list[Duplicate]:
        """The duplicate collections among the node's entries (of one department, or one entry)."""
        if resource_code:
            entry = self.store.get_entry(resource_code)
            return list(elements.duplicates(entry, self.registry.current())) if entry is not None else []
        return [Duplicate(code, provider, provider_name, *one)
                for (_, code, provider, provider_name, *_), found in self._found(provider_code) for one in found]

    def by_department(self) -> DepartmentGovernance:
        """Each department's duplicate collections and mean quality score, kept COUNTS_TTL
        seconds (and until the registry changes)."""
        with self._lock:
            version = self.registry.version()
            kept = self._counts
            if kept is not None and kept[1] == version and time.monotonic() - kept[0] < COUNTS_TTL:
                return kept[2]
            duplicates: dict[str, int] = {}
            scores: dict[str, list[float]] = {}
            for (_, _, provider, _, _, _, _, quality), found in self._found():
                if found:
                    duplicates[provider] = duplicates.get(provider, 0) + len(found)
                if quality:
                    scores.setdefault(provider, []).append(quality_from_json(quality).score)
            counts = DepartmentGovernance(duplicates, {code: round(sum(s) / len(s), 2) for code, s in scores.items()})
            self._counts = (time.monotonic(), version, counts)
            return counts

    def own_entry(self, resource_code: str) -> Entry:
        """The live entry of this node a check is about."""
        if not rules.RESOURCE_CODE.match(resource_code):
            raise NotFound(f"resource_code: {rules.RESOURCE_CODE_RULE}")
        entry = self.store.get_entry(resource_code)
        if entry is None or entry.withdrawn:
            raise NotFound(f"resource_code: no entry {resource_code}")
        if entry.origin != self.node_id:
            raise PermissionDenied(f"resource_code: {resource_code} belongs to node {entry.origin}; "
                                   "its quality is checked at its own node")
        return entry

    def rule_items(self, entry: Entry) -> list[tuple[str, str, str]]:
        """(item, element, rule) of each item of the entry that refers to an element."""
        registry = self.registry.current()
        found = []
        for item in entry.data_items:
            element = elements.element_of(item, registry)
            if element is not None:
                found.append((item.name, element.name, element.rule))
        return found

    def set_quality(self, resource_code: str, quality: Quality) -> Entry:
        """The entry's new version with this quality, logged so that it travels to the hub."""
        with self.store.transaction() as tx:
            old = tx.entries([resource_code]).get(resource_code)
            if old is None or old.withdrawn:
                raise FailedPrecondition("withdrawn", f"resource_code: {resource_code} was withdrawn meanwhile")
            entry = dataclasses.replace(old, quality=quality, version=old.version + 1, updated_at=self.clock())
            tx.put_entries([entry], log=True)
        return entry
