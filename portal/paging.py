"""Offsets into a code-ordered listing. ListEntries pages by position (the code after which a
page starts), not by offset; the portal remembers where pages it has served began, so that the
next page, or page N of a listing read in order (a harvester), costs one call."""

from __future__ import annotations

import collections
import threading
import time
from typing import NamedTuple

WALK = 1000  # entries per call when skipping to an offset never seen
TOTAL_SECONDS = 30.0  # a listing's total is counted again after this (counting scans the filter's rows)


class Listing(NamedTuple):
    """One page of a listing: its entries, the listing's total (or -1: not asked), whether more
    follow, and whether the total is a lower bound (the node counts a filtered listing only as
    far as its cap)."""

    entries: list
    total: int
    more: bool
    total_is_lower_bound: bool = False
    facets: list = []  # FacetCount of the listing, when asked for


class ListingCursors:
    def __init__(self, client, remember: int = 5000):
        self.client = client
        self.remember = remember
        self._tokens: collections.OrderedDict[tuple[bytes, int], str] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._totals: dict[bytes, tuple[float, int, bool]] = {}

    def _known(self, key: bytes, offset: int) -> tuple[int, str]:
        """The nearest remembered position at or before offset."""
        best = (0, "")
        with self._lock:
            for (k, at), token in self._tokens.items():
                if k == key and best[0] < at <= offset:
                    best = (at, token)
        return best

    def _keep(self, key: bytes, offset: int, token: str) -> None:
        with self._lock:
            self._tokens[(key, offset)] = token
            self._tokens.move_to_end((key, offset))
            while len(self._tokens) > self.remember:
                self._tokens.popitem(last=False)

    def page(self, where, offset: int, size: int, with_total: bool = False, with_facets: bool = False) -> Listing:
        """Entries offset..offset+size of the listing."""
        key = where.SerializeToString(deterministic=True)
        at, token = self._known(key, offset)
        while at < offset:
            reply = self.client.list_entries(where, min(WALK, offset - at), token)
            if not reply.next_page_token:
                return Listing([], *self._total(where, with_facets), False) if with_total else Listing([], -1, False)
            at, token = at + len(reply.entries), reply.next_page_token
            self._keep(key, at, token)
        counted = self._totals.get(key)
        fresh = counted is not None and time.monotonic() - counted[0] < TOTAL_SECONDS
        reply = self.client.list_entries(where, size, token, with_total=with_total and not fresh, with_facets=with_facets)
        if reply.next_page_token:
            self._keep(key, offset + len(reply.entries), reply.next_page_token)
        total, lower = -1, False
        if with_total:
            total, lower = counted[1:] if fresh else (reply.total, reply.total_is_lower_bound)
            if not fresh:
                self._totals[key] = (time.monotonic(), total, lower)
        return Listing(list(reply.entries), total, bool(reply.next_page_token), lower, list(reply.facets))

    def _total(self, where, with_facets: bool = False) -> tuple[int, bool, list]:
        reply = self.client.list_entries(where, 1, with_total=True, with_facets=with_facets)
        return reply.total, reply.total_is_lower_bound, list(reply.facets)
