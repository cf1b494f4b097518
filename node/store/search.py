"""The SQL of searches and filtered listings: which index answers which filter, so that a page
costs about as much as the page, not as the matches before and behind it.

- The provider and region filters are a range of the integer key (`key_range`): FTS5 is given
  the range and reads only that span of its index; the entries table reads that span of its key.
- Category, share type, update cycle and open type are tokens in the index's `tags` column
  (node/model/search.py `entry_filter_tokens`), one for each combination of values, so that any
  of them is one list no longer than its answer: it joins the query's MATCH, FTS5 intersects the
  two itself, skipping through them in key order, and never looks at the entries table.
- Only `updated_since` and `origin` (no search page offers them) are checked on the entries table.

Both read in key order, so SQLite stops after the page; counts stop at a cap (entries.py
`TOTAL_CAP`).
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3

from node.model import regions, search
from node.model.rules import EntryFilter
from node.times import format_time

# Score of a match: bm25 over the name and body columns; the tags column weighs nothing, so a
# filter never changes the order of what it keeps.
BM25 = "bm25(entry_fts, 1.0, 1.0, 0.0)"


def key_range(where: EntryFilter) -> tuple[int, int] | None:
    """The integer keys [lo, hi) the filter's provider and region keep, or None when it names
    neither. A resource code starts with its provider code, which starts with its region: a
    province-level region code (xx0000) covers its whole province, a prefecture-level one
    (xxyy00) its prefecture."""
    spans = []
    if where.provider_code:
        spans.append((where.provider_code, 10**6))
    if where.region_code:
        prefix = regions.prefix(where.region_code)
        spans.append((prefix, 10 ** (15 - len(prefix))))
    if not spans:
        return None
    return max(int(p) * span for p, span in spans), min((int(p) + 1) * span for p, span in spans)


def keys_after(where: EntryFilter, after: int) -> tuple[int, int]:
    """The keys [lo, hi) of the filter's provider and region that lie after `after`: one range, so
    that SQLite seeks to its start (given `id > after` and `id >= lo` apart, it seeks by one of
    them and walks from there to the other: seconds, from the start of the catalog to a province
    at its end)."""
    lo, hi = key_range(where) or (0, 10**15)
    return max(lo, after + 1), hi


def filter_sql(where: EntryFilter, table: str = "", after: int = -1) -> tuple[str, list]:
    """SQL conditions on the entries table (each after " AND ") for a filter whose values the
    catalog has checked, and keys after `after`. Provider and region filters become a range of the
    integer key."""
    clauses: list[str] = []
    params: list = []
    keys = keys_after(where, after) if after >= 0 or key_range(where) is not None else None
    if keys is not None:
        clauses.append(f"{table}id >= ? AND {table}id < ?")
        params += keys
    for name in search.FILTER_TAGS:
        value = getattr(where, name)
        if value:
            clauses.append(f"{table}{name} = ?")
            params.append(value)
    if where.updated_since is not None:
        clauses.append(f"{table}updated_at >= ?")
        params.append(format_time(where.updated_since))
    if where.origin:
        clauses.append(f"{table}origin = ?")
        params.append(where.origin)
    return "".join(f" AND {c}" for c in clauses), params


def tags_match(where: EntryFilter) -> str:
    """The MATCH expression of the filter's tagged values ("" when it names none)."""
    token = search.filter_token({name: getattr(where, name) for name in search.FILTER_TAGS})
    return f"tags : {token}" if token else ""


def _untagged(where: EntryFilter) -> EntryFilter:
    """What of the filter only the entries table can check."""
    return EntryFilter(updated_since=where.updated_since, origin=where.origin)


def hits(match: str, where: EntryFilter, *, score: str = "0", after: int = -1) -> tuple[str, list]:
    """SQL for the (hit, score) rows of the index's matches of `match` (a MATCH expression over
    name and body, or "" for every entry) under the filter, with a key after `after`, and its
    parameters. Needs a query or a tagged value (`indexed`): the index holds nothing else."""
    expr = " AND ".join(f"({m})" for m in (match, tags_match(where)) if m)
    sql, params = f"SELECT rowid AS hit, {score} AS score FROM entry_fts WHERE entry_fts MATCH ?", [expr]
    if after >= 0 or key_range(where) is not None:
        sql += " AND rowid >= ? AND rowid < ?"
        params += keys_after(where, after)
    rest, rest_params = filter_sql(_untagged(where), table="entries.")
    if rest:
        sql = (f"SELECT f.hit, f.score FROM ({sql}) AS f JOIN entries ON entries.id = f.hit "
               f"WHERE entries.withdrawn = 0 {rest}")
    return sql, params + rest_params


def indexed(where: EntryFilter) -> bool:
    """Whether a listing under the filter is read from the search index: it names a tagged value,
    and no `updated_since` (a harvester's "changed since", which the index of update times on the
    entries table may answer from far fewer rows: SQLite chooses)."""
    return bool(tags_match(where)) and where.updated_since is None


def count_matches(conn: sqlite3.Connection, match: str, where: EntryFilter, most: int) -> int:
    """Matches, counted up to `most`: the LIMIT stops FTS5 reading its index there."""
    sql, params = hits(match, where)
    return conn.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, most]).fetchall()[0][0]


# FTS5's bm25 constants (fts5_aux.c).
K1, B = 1.2, 0.75


def _varints(blob: bytes) -> list[int]:
    """The SQLite varints of a blob (FTS5's records of token counts)."""
    out, value, n = [], 0, 0
    for byte in blob:
        n += 1
        if n == 9:
            out.append((value << 8) | byte)
            value, n = 0, 0
        elif byte & 0x80:
            value = (value << 7) | (byte & 0x7F)
        else:
            out.append((value << 7) | byte)
            value, n = 0, 0
    return out


def ranked(conn: sqlite3.Connection, match: str, ids: list[int]) -> list[int]:
    """The name tier's ids (all of them), best first as `BM25` ranks them, ties in code order.
    The query is one phrase, so its IDF is one positive factor of every score and the order is
    that of bm25's other factor alone: the phrase's instances in the name (the tier's MATCH names
    that column) against the row's size in tokens, computed here from the row as fts5_aux.c
    computes it, because bm25() first counts every row of the catalog holding the phrase, filters
    or not: 50-150 ms a page at 3,000,000 entries. tests/test_search_filters.py holds the order
    to bm25's."""
    return [key for _, key in sorted(scores(conn, match, ids))]


def scores(conn: sqlite3.Connection, match: str, ids: list[int]) -> list[tuple[float, int]]:
    """(score, id) of each of these name matches, lower first as `ranked` orders them; a score
    depends on its row and the catalog's average row size alone, so the scores of a name tier
    order any part of it."""
    if not ids:
        return []
    tokens, prefix = search.phrase_tokens(match)
    phrase = re.compile("(?=(?<![^ ])" + re.escape(" ".join(tokens)) + ("" if prefix else "(?![^ ])") + ")")
    ((averages,),) = conn.execute("SELECT block FROM entry_fts_data WHERE id = 1").fetchall()
    rows, *columns = _varints(averages)
    avgdl = float(sum(columns)) / float(rows)
    scored = []
    for key, name, size in conn.execute(
            "SELECT c.id, c.c0, d.sz FROM entry_fts_content c JOIN entry_fts_docsize d ON d.id = c.id "
            f"WHERE c.id IN ({', '.join('?' * len(ids))})", ids):
        freq = float(len(phrase.findall(name)))  # the tier's MATCH names the name column: its instances
        length = float(sum(_varints(size)))
        scored.append((-((freq * (K1 + 1.0)) / (freq + K1 * (1 - B + B * length / avgdl))), key))
    return scored


# What a name tier keeps of each match besides its key, so that any filter can be told from it
# (`keeps`): the tagged values, the origin and the update time.
TIER_COLUMNS = (*search.FILTER_TAGS, "origin", "updated_at")


def name_tier(conn: sqlite3.Connection, match: str, most: int) -> list[tuple[int, tuple]]:
    """(key, values of TIER_COLUMNS) of the first `most` entries whose name matches, unfiltered,
    in code order."""
    sql, params = hits(f"name : {match}", EntryFilter())
    columns = ", ".join(f"entries.{c}" for c in TIER_COLUMNS)
    return [(r[0], r[1:]) for r in conn.execute(
        f"SELECT h.hit, {columns} FROM ({sql}) AS h JOIN entries ON entries.id = h.hit ORDER BY h.hit LIMIT ?",
        [*params, most])]


def keeps(where: EntryFilter):
    """A test of (key, values of TIER_COLUMNS): whether the filter keeps that entry, as `hits`
    would (the same range of keys, the same values, `updated_since` on the stored time)."""
    lo, hi = key_range(where) or (0, 10**15)
    wanted = [(i, getattr(where, name)) for i, name in enumerate(TIER_COLUMNS[:-1]) if getattr(where, name)]
    since = format_time(where.updated_since) if where.updated_since is not None else None

    def kept(key: int, values: tuple) -> bool:
        return (lo <= key < hi and all(values[i] == value for i, value in wanted)
                and (since is None or values[-1] >= since))
    return kept


def match_ids(conn: sqlite3.Connection, match: str, where: EntryFilter, most: int) -> list[int]:
    """Ids of the first `most` matches in code order (the order FTS5 reads its index in: no sort).
    A tier's ids in one walk serve its count, its unranked pages and what the other tier must
    leave out; a walk costs about what the lists it reads cost, and reading them once rather than
    three times is most of a selective search's time."""
    sql, params = hits(match, where)
    return [r[0] for r in conn.execute(f"{sql} LIMIT ?", [*params, most])]


def page_of_matches(conn: sqlite3.Connection, match: str, where: EntryFilter, limit: int, offset: int,
                    *, ranked: bool) -> list[int]:
    """Ids of one page of matches, best first by bm25 or in code order. Code order is the order
    FTS5 reads its index in, so SQLite needs no sort and stops at the page's end."""
    sql, params = hits(match, where, score=BM25 if ranked else "0")
    order = "score, hit" if ranked else "hit"
    rows = conn.execute(f"{sql} ORDER BY {order} LIMIT ? OFFSET ?", [*params, limit, offset])
    return [r[0] for r in rows]


def listed_ids(conn: sqlite3.Connection, where: EntryFilter, after_id: int, limit: int) -> list[int]:
    """Ids of live entries under a filter that names a tagged value, after `after_id`, in code
    order (a keyset page: as cheap at the millionth entry as at the first)."""
    sql, params = hits("", where, after=after_id)
    return [r[0] for r in conn.execute(f"{sql} ORDER BY hit LIMIT ?", [*params, limit])]


def count_listed(conn: sqlite3.Connection, where: EntryFilter, most: int) -> int:
    """Live entries under the filter, counted up to `most`."""
    if indexed(where):
        return count_matches(conn, "", where, most)
    rest, params = filter_sql(where)
    sql = f"SELECT count(*) FROM (SELECT 1 FROM entries WHERE withdrawn = 0 {rest} LIMIT ?)"
    return conn.execute(sql, [*params, most]).fetchall()[0][0]


def kept_ids(conn: sqlite3.Connection, match: str | None, where: EntryFilter, most: int) -> list[int]:
    """Ids of the first `most` matches of `match` (or live entries, without one) under the
    filter, in code order."""
    if match:
        return match_ids(conn, f"{{name body}} : {match}", where, most)
    if indexed(where):
        return listed_ids(conn, where, -1, most)
    rest, params = filter_sql(where)
    return [r[0] for r in conn.execute(f"SELECT id FROM entries WHERE withdrawn = 0 {rest} ORDER BY id LIMIT ?",
                                       [*params, most])]


def tally(conn: sqlite3.Connection, facet: str, ids: list[int]) -> dict[str, int]:
    """How many of these entries hold each value of `facet`: a region (province or centre) is told
    by the key itself, the other facets by the entries' rows."""
    if facet == "region_code":
        counted: dict[str, int] = {}
        for key in ids:
            province = str(key)[:2]
            region = regions.CENTRAL if province == regions.CENTRAL[:2] else province + "0000"
            counted[region] = counted.get(region, 0) + 1
        return counted
    assert facet in search.FILTER_TAGS  # a column name, never the caller's text
    return dict(conn.execute(f"SELECT {facet}, count(*) FROM entries WHERE id IN ({', '.join('?' * len(ids))}) "
                             f"GROUP BY {facet}", ids).fetchall())


def unfiltered(where: EntryFilter) -> bool:
    """Whether the filter names at most an origin (its count is kept by triggers)."""
    return where == dataclasses.replace(EntryFilter(), origin=where.origin)
