"""Name tiers kept whole: for a query whose names match few entries, every such entry with what
any filter asks of it and its score, kept while no commit follows.

Reading a name tier walks every instance of the query's first token in the catalog, names and
bodies alike, to find the few in names: 12-30 ms at 3,000,000 entries for a query common in
summaries and rare in names (社保, 交通), the same again under each filter and on each page, and
ranking it read its rows again (2-15 ms, up to 258 ms where they were not in the system's cache).
Kept, any filter and page of a query people repeat is told from memory (node/store/search.py
`keeps`, the scores of `scores`).
"""

from __future__ import annotations

import collections
import sqlite3
import threading

from node.store import search as sql

# Queries whose names match at most KEPT_TIER entries; the KEPT_TIERS asked most recently are
# kept (some 150 KB each at most).
KEPT_TIER = 1_000
KEPT_TIERS = 64


class NameTiers:
    def __init__(self):
        # query -> (the commit count it was read at, its whole name tier or None)
        self._kept: collections.OrderedDict[str, tuple[int, list | None]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, match: str, generation: int) -> list[tuple] | None:
        """(key, values of sql.TIER_COLUMNS, score) of every entry whose name matches `match`, in
        code order, as read at commit count `generation` (read before the read transaction
        began); None when more than KEPT_TIER match."""
        with self._lock:
            found = self._kept.get(match)
            if found is not None and found[0] == generation:
                self._kept.move_to_end(match)
                return found[1]
        rows = sql.name_tier(conn, match, KEPT_TIER + 1)
        whole = None
        if len(rows) <= KEPT_TIER:
            score = {key: s for s, key in sql.scores(conn, match, [key for key, _ in rows])}
            whole = [(key, values, score[key]) for key, values in rows]
        with self._lock:
            self._kept[match] = (generation, whole)
            self._kept.move_to_end(match)
            while len(self._kept) > KEPT_TIERS:
                self._kept.popitem(last=False)
        return whole
