"""The counts a search page shows beside each facet choice (地区, 共享类型, 更新周期, 资源分类),
asked of the node with the page and kept for a while per query and filter: paging through one
search or listing asks for them once, as the listing's total is (portal/paging.py). With a query
they come with its first page, where a search lands; a later page opened first shows none.

The node counts each value up to a cap (FacetCount.count_is_lower_bound): "100+".
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable

from node.model.search import FACETS

SECONDS = 30.0  # counts are asked for again after this, as totals are
REMEMBER = 2000  # queries and filters whose counts are kept


def label(count: int, lower: bool) -> str:
    """How a count reads beside its choice."""
    return f"{count:,}+" if lower else f"{count:,}"


class FacetCounts:
    """Facet counts by (query, filter), each kept for SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._kept: collections.OrderedDict[tuple[str, bytes], tuple[float, dict]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str, where) -> dict[str, dict[str, str]] | None:
        """field -> value -> label, or None when they must be asked for (with the page)."""
        key = (query, where.SerializeToString(deterministic=True))
        with self._lock:
            kept = self._kept.get(key)
        return kept[1] if kept is not None and self.clock() - kept[0] < SECONDS else None

    @staticmethod
    def none() -> dict[str, dict[str, str]]:
        """No counts: the choices are shown without them."""
        return {field: {} for field in FACETS}

    def keep(self, query: str, where, facets) -> dict[str, dict[str, str]]:
        """The counts of a reply's `facets`, kept; as `get` gives them."""
        counts = self.none()
        for f in facets:
            counts.setdefault(f.field, {})[f.value] = label(f.count, f.count_is_lower_bound)
        key = (query, where.SerializeToString(deterministic=True))
        with self._lock:
            self._kept[key] = (self.clock(), counts)
            self._kept.move_to_end(key)
            while len(self._kept) > REMEMBER:
                self._kept.popitem(last=False)
        return counts
