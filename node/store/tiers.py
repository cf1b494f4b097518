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

import sqlite3

from node.store import search as sql

# Queries whose names match at most KEPT_TIER entries; the KEPT_TIERS asked most recently are
# kept (some 150 KB each at most), each until the next commit (node/store/kept.py).
KEPT_TIER = 1_000
KEPT_TIERS = 64


def whole_tier(conn: sqlite3.Connection, match: str) -> list[tuple] | None:
    """(key, values of sql.TIER_COLUMNS, score) of every entry whose name matches `match`, in
    code order; None when more than KEPT_TIER match."""
    rows = sql.name_tier(conn, match, KEPT_TIER + 1)
    if len(rows) > KEPT_TIER:
        return None
    score = {key: s for s, key in sql.scores(conn, match, [key for key, _ in rows])}
    return [(key, values, score[key]) for key, values in rows]
