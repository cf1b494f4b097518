"""Catalog entries in the node's SQLite file: the pipelined writer, reads by code, listing and
two-tier search under an `EntryFilter`, counts, digests and snapshot slices (the rows
themselves: node/store/rows.py).

`EntryWrites` is mixed into `Transaction` (it writes with `self.conn`, `self.writer` and
`self.log_changes`), `EntryReads` into `Store` (it reads with `self.reading()` and `self._all`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import sqlite3
from typing import Callable, Iterable, Iterator, TypeVar

from node.model.rules import Entry, EntryFilter, Matches
from node.model.search import FACET_CAP, FACETS
from node.store import search as sql
from node.store.kept import UntilCommit
from node.store.tiers import KEPT_TIERS, whole_tier
from node.store.rows import (CODE, ENTRY_COLUMNS, INSERT_FTS, SELECT_ENTRY, UPDATED_AT, UPSERT_ENTRY, VERSION,
                             WITHDRAWN, StoredEntry, code_id, prepare, row_entry)

T = TypeVar("T")

WRITE_CHUNK = 250
# Characters of rows past which a chunk is written anyway: a chunk of large entries (500 data
# items with long descriptions each) would otherwise hold hundreds of megabytes, twice over.
WRITE_CHUNK_CHARS = 4 * 1024 * 1024
# Matches a search counts, and places of its order it serves; the total past it is a lower bound.
# Elasticsearch counts as far by default (track_total_hits), for the same reason: cost.
TOTAL_CAP = 10_000
# Name matches a search ranks by bm25; a larger name tier comes in code order. Ranking scores and
# sorts every match before the first is known, about 8 us a match at 1,000,000 entries: 60-90 ms
# for a tier of 8,000 (a common query under two filters), 8 ms at this cap.
RANK_CAP = 1_000
# Entries a facet's values are tallied from, read from their rows; past it each value is counted.
TALLY = 1_000


def digest_of(rows: Iterable[tuple[str, int, str]]) -> tuple[int, str]:
    """Count and hash of (resource_code, version, content_hash) rows given in code order."""
    h = hashlib.sha256()
    count = 0
    for code, version, chash in rows:
        h.update(f"{code}\t{version}\t{chash}\n".encode())
        count += 1
    return count, h.hexdigest()


def entries_by_code(conn: sqlite3.Connection, codes: Iterable[str],
                    make: Callable[[tuple], T] = row_entry) -> dict[str, T]:
    """The stored entries of these codes, each made from its row (an `Entry` by default)."""
    ids = [code_id(c) for c in codes]
    found: dict[str, T] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(f"{SELECT_ENTRY} WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        for row in rows:
            found[row[1]] = make(row)
    return found


# -- writes ----------------------------------------------------------------------------------

class EntryWrites:
    """Entry writes inside a transaction."""

    def entries(self, codes: Iterable[str]) -> dict[str, Entry]:
        # Read on the writer thread, after the writes handed to it: while it inserts a chunk, a
        # read from this thread would wait for the connection's mutex in sqlite3_bind, holding
        # the GIL the writer needs for its next row (seen in a bulk publish: 2-3 ms a part of
        # 500 entries, both threads stalled).
        return self.writer.submit(entries_by_code, self.conn, list(codes)).result()

    def put_entries(self, entries: Iterable[Entry], *, log: bool) -> list[int]:
        """Stores the entries (replacing any with the same code) and their search rows; with
        log=True appends one change each and returns the new seqs."""
        return self.put_rows(map(prepare, entries), log=log)

    def put_rows(self, prepared: Iterable[tuple], *, log: bool, chunk_size: int = WRITE_CHUNK) -> list[int]:
        """`put_entries` for rows built by `prepare`. They are consumed lazily, in chunks, and
        pipelined: while SQLite inserts one chunk (it releases the GIL while it works), this
        thread draws the next. If drawing raises, nothing more is written and the caller's
        transaction rolls back. Rows built already (a list) gain nothing from pipelining: they
        are better written in chunks as large as they come (`chunk_size`), still bounded by
        WRITE_CHUNK_CHARS (measured on a hub's batches of 1,000: 57 us of CPU an entry in one
        chunk against 65 in chunks of 250, the raw insert's 55)."""
        seqs: list[int] = []
        pending = None
        source = iter(prepared)
        try:
            for chunk in _chunks(source, chunk_size):
                changes = [("entry", row[CODE], row[VERSION], "withdraw" if row[WITHDRAWN] else "upsert",
                            row[UPDATED_AT]) for _, row, _ in chunk] if log else []
                if pending is not None:
                    seqs += pending.result()
                pending = self.writer.submit(self._write, chunk, changes)
        finally:
            if pending is not None:
                seqs += pending.result()
        return seqs if log else []

    def _write(self, prepared: list[tuple], changes: list[tuple]) -> list[int]:
        self.conn.executemany(UPSERT_ENTRY, [p[1] for p in prepared])
        # The last write of a key decides its search row (a chunk may hold a code twice: a
        # tombstone, then the entry live again); the index answers filtered listings, so it
        # must hold exactly the live entries.
        last = {p[0]: p[2] for p in prepared}
        fts_rows = [fts for fts in last.values() if fts is not None]
        gone = [(key,) for key, fts in last.items() if fts is None]
        if fts_rows:
            self.conn.executemany(INSERT_FTS, fts_rows)
        if gone:
            self.conn.executemany("DELETE FROM entry_fts WHERE rowid = ?", gone)
        return self.log_changes(changes) if changes else []

    def highest_sequence(self, provider_code: str) -> int:
        """The highest sequence of the provider's codes in the file, tombstones included (0: none)."""
        lo = int(provider_code) * 10**6
        ((top,),) = self.conn.execute("SELECT max(id) FROM entries WHERE id >= ? AND id < ?", (lo, lo + 10**6)).fetchall()
        return 0 if top is None else top - lo

    def free_sequence(self, provider_code: str, after: int) -> int:
        """The lowest sequence above `after` that none of the provider's codes in the file holds,
        tombstones included (0: every one up to 999999 is held)."""
        if after >= 999_999:
            return 0
        lo = int(provider_code) * 10**6
        # The free sequence right after `after`, or else the end of the run of held ones that
        # starts there: the first held id above `after` whose next id is free.
        ((free,),) = self.conn.execute(
            "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM entries WHERE id = :first) THEN :first"
            " ELSE (SELECT min(e.id) + 1 FROM entries e WHERE e.id >= :first AND e.id < :top"
            " AND NOT EXISTS (SELECT 1 FROM entries f WHERE f.id = e.id + 1)) END",
            {"first": lo + after + 1, "top": lo + 999_999}).fetchall()
        return 0 if free is None else free - lo

    def codes_in_range(self, origin: str, after_code: str, through_code: str | None) -> list[str]:
        lo = code_id(after_code) if after_code else -1
        if through_code is None:
            rows = self.conn.execute(
                "SELECT resource_code FROM entries WHERE origin = ? AND id > ? ORDER BY id",
                (origin, lo),
            )
        else:
            rows = self.conn.execute(
                "SELECT resource_code FROM entries WHERE origin = ? AND id > ? AND id <= ? ORDER BY id",
                (origin, lo, code_id(through_code)),
            )
        return [r[0] for r in rows]


# -- reads -----------------------------------------------------------------------------------

class EntryReads:
    """Entry reads of the store, each in one read transaction."""

    def __init__(self, *args, **kwargs):
        self.name_tiers: UntilCommit[list[tuple] | None] = UntilCommit(KEPT_TIERS)
        super().__init__(*args, **kwargs)

    def get_entry(self, code: str) -> Entry | None:
        return self.get_entries([code]).get(code)

    def get_entries(self, codes: Iterable[str]) -> dict[str, Entry]:
        with self.reading() as conn:
            return entries_by_code(conn, codes)

    def get_stored(self, codes: Iterable[str]) -> dict[str, StoredEntry]:
        """`get_entries` as stored rows, for passing them on (the source side of a pull)."""
        with self.reading() as conn:
            return entries_by_code(conn, codes, StoredEntry._make)

    def list_entries(self, filter: EntryFilter, after_id: int, limit: int,
                     make: Callable[[tuple], T] = row_entry) -> list[T]:
        """Live entries under the filter with an id after `after_id`, in code order, each made
        from its row (an `Entry` by default; `StoredEntry._make` for a reply that only encodes
        them): read from the search index when the filter names a value it holds, so that a page
        under a rare value costs the page, not a walk over every entry it passes by."""
        if sql.indexed(filter):
            # One walk: the index's hits in key order, each joined to its row, so that a page of
            # 1,000 needs no list of ids bound as parameters and no reordering in Python.
            hits, params = sql.hits("", filter, after=after_id)
            rows = self._all(f"{SELECT_HIT_ENTRY} FROM ({hits}) AS h JOIN entries ON entries.id = h.hit "
                             "ORDER BY h.hit LIMIT ?", [*params, limit])
            return [make(r) for r in rows]
        where, params = sql.filter_sql(filter, after=after_id)
        rows = self._all(f"{SELECT_ENTRY} WHERE withdrawn = 0 {where} ORDER BY id LIMIT ?", [*params, limit])
        return [make(r) for r in rows]

    def governed_rows(self, filter: EntryFilter, after_id: int, limit: int) -> list[tuple]:
        """(id, resource_code, provider_code, provider_name, region_code, data items JSON,
        derived_from, quality JSON) of live entries under the filter after `after_id`, in code
        order: what governance reads of every entry, without decoding whole entries."""
        where, params = sql.filter_sql(filter, after=after_id)
        return self._all(
            "SELECT id, resource_code, provider_code, provider_name, region_code, data_items, derived_from, quality "
            f"FROM entries WHERE withdrawn = 0 {where} ORDER BY id LIMIT ?", [*params, limit])

    def count_live(self, filter: EntryFilter) -> tuple[int, bool]:
        """Live entries under the filter, and whether that is a lower bound: exact from the kept
        counts when it names at most an origin, else counted up to TOTAL_CAP (as a search is)."""
        if sql.unfiltered(filter):
            return self.count_entries(filter.origin or None)[1], False
        with self.reading() as conn:
            counted = sql.count_listed(conn, filter, TOTAL_CAP + 1)
        return min(counted, TOTAL_CAP), counted > TOTAL_CAP

    def facet_counts(self, match: str | None, filter: EntryFilter) -> list[tuple[str, str, int, bool]]:
        """(facet, value, count, whether a lower bound) for each value of each facet (node/model/
        search.py `FACETS`): the live entries, or the matches of `match`, under the filter with
        that facet set to that value, counted up to FACET_CAP.

        Each facet's values share what the filter keeps without that facet: when that is at most
        TALLY entries, their values are tallied (a region from the key, the rest from their rows:
        a few milliseconds); else each value is counted, one list of the index over a span of keys
        (a combination of values is one token), which stops at the cap where values are common.
        (Counting each value of a rare answer read its whole list each time.)"""
        counted = []
        kept: dict[EntryFilter, list[int]] = {}  # facets the filter leaves open share what it keeps
        with self.reading() as conn:
            for facet, values in FACETS.items():
                base = dataclasses.replace(filter, **{facet: ""})
                if base not in kept:
                    kept[base] = sql.kept_ids(conn, match, base, TALLY + 1)
                ids = kept[base]
                tallied = sql.tally(conn, facet, ids) if len(ids) <= TALLY else None
                for value in values:
                    if tallied is not None:
                        n = tallied.get(value, 0)
                    else:
                        where = dataclasses.replace(filter, **{facet: value})
                        if match:
                            n = sql.count_matches(conn, f"{{name body}} : {match}", where, FACET_CAP + 1)
                        else:
                            n = sql.count_listed(conn, where, FACET_CAP + 1)
                    counted.append((facet, value, min(n, FACET_CAP), n > FACET_CAP))
        return counted

    def search(self, match: str, filter: EntryFilter, offset: int, limit: int,
               make: Callable[[tuple], T] = row_entry) -> Matches:
        """Full-text matches under the filter, in two tiers: entries whose name matches, then
        those that match elsewhere only, in code order; each made from its row as
        `list_entries` makes them. Withdrawn entries are not in the search index.

        The cost is bounded by TOTAL_CAP, not by the catalog: a two-character query can match
        every entry of the hub, and counting them all cost more than the page. So each tier is
        counted up to the cap, past it the total is a lower bound, and only the first TOTAL_CAP
        places of the order can be read.

        A name tier of at most RANK_CAP matches is ranked by bm25, which scores and sorts every
        match before it knows the first: a few microseconds a match, so about 8 ms at that cap
        (ranking up to TOTAL_CAP cost 60-90 ms, most of a filtered search). A bigger tier comes
        in code order, read lazily as far as the page: ranking all of it costs as much as
        counting it, and ranking a bounded sample (say the first RANK_CAP in code order) would
        pass off one corner of the catalog as the best matches.
        Code order is stable from page to page and honest about a query too broad to rank; the
        reply's lower-bound total tells the searcher to narrow it."""
        cap = TOTAL_CAP
        limit = max(0, min(limit, cap - offset))
        in_name = f"name : {match}"
        generation = self.generation  # read before the read: a commit in between makes what it keeps stale
        with self.reading() as conn:
            whole = self.name_tiers.get(match, generation, lambda: whole_tier(conn, match))
            if whole is not None:  # the query's whole name tier is kept: filtered and ranked here
                kept = sql.keeps(filter)
                scored = [(score, key) for key, values, score in whole if kept(key, values)]
                named_ids = [key for _, key in scored]
            else:
                # The name tier's ids as far as they decide the page: whether it is ranked, where
                # the page leaves it, and (when it ends before that) every one of them.
                named_ids = sql.match_ids(conn, in_name, filter, max(RANK_CAP, offset + limit) + 1)
            named = len(named_ids)
            ids: list[int] = []
            if limit and offset < named:
                if named <= min(cap, RANK_CAP):
                    ranked = ([key for _, key in sorted(scored)] if whole is not None
                              else sql.ranked(conn, match, named_ids))
                    ids = ranked[offset : offset + limit]
                else:
                    ids = named_ids[offset : offset + limit]
            if len(ids) < limit:
                # The page reaches past the name tier, which was read whole: the other tier is
                # every match less those, in code order, and the same walk counts them. Only the
                # first `cap` places are served, so the first cap + 1 matches hold the page.
                every = sql.match_ids(conn, f"{{name body}} : {match}", filter, cap + 1)
                total = len(every)
                in_tier = set(named_ids)
                elsewhere = [i for i in every if i not in in_tier]
                start = max(0, offset - named)
                ids += elsewhere[start : start + limit - len(ids)]
            else:  # a page within the name tier needs only the count of the rest
                total = sql.count_matches(conn, f"{{name body}} : {match}", filter, cap + 1)
            found = _in_order(conn, ids, make)
        return Matches(found, min(total, cap), total > cap)

    def snapshot_slices(self, after_code: str, size: int) -> Iterator[tuple[list[StoredEntry], int]]:
        """Every entry with a code after after_code, in code order, in slices of `size`, all read
        in one transaction, then an empty slice to mark the end; each comes with the head seq
        of that snapshot."""
        with self.streaming() as stream:  # the read transaction lives as long as the stream
            with stream.step():
                stream.execute("BEGIN")
                rows = stream.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchall()
                head = rows[0][0] if rows else 0
                lo = code_id(after_code) if after_code else -1
                cur = stream.execute(f"{SELECT_ENTRY} WHERE id > ? ORDER BY id", (lo,))
            while True:
                with stream.step():
                    rows = cur.fetchmany(size)
                yield [StoredEntry._make(r) for r in rows], head
                if not rows:
                    return

    def digest(self, origin: str = "", code_from: str = "", code_to: str = "") -> tuple[int, str]:
        """(count, hash) over live entries, optionally of one origin and a code range."""
        clauses, params = ["withdrawn = 0"], []
        if origin:
            clauses.append("origin = ?")
            params.append(origin)
        if code_from:
            clauses.append("resource_code >= ?")
            params.append(code_from)
        if code_to:
            clauses.append("resource_code < ?")
            params.append(code_to)
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT resource_code, version, content_hash FROM entries WHERE {' AND '.join(clauses)} ORDER BY id",
                params,
            )
            return digest_of(rows)

    def count_entries(self, origin: str | None = None) -> tuple[int, int]:
        """(all, live) entries, of one origin when given (kept by triggers: no scan)."""
        sql = "SELECT coalesce(sum(total), 0), coalesce(sum(live), 0) FROM entry_counts"
        params: tuple = ()
        if origin is not None:
            sql += " WHERE origin = ?"
            params = (origin,)
        ((count, live),) = self._all(sql, params)
        return count, live

    def live_by_origin(self) -> dict[str, int]:
        """Each origin's count of live entries (kept by triggers: no scan)."""
        return dict(self._all("SELECT origin, live FROM entry_counts"))

    def update_cycles(self, origin: str) -> dict[str, str]:
        """resource_code -> update cycle of the live entries published at node `origin`."""
        return dict(self._all("SELECT resource_code, update_cycle FROM entries WHERE withdrawn = 0 AND origin = ?",
                              (origin,)))

    def entry_mix(self) -> list[tuple]:
        """(origin, provider_code, provider_name, share_type, live entries) for the scorecard (kept by
        triggers: no scan)."""
        return self._all("SELECT origin, provider_code, provider_name, share_type, live FROM entry_mix WHERE live > 0")


# An entry row, read through a join with the search index's hits (every column named by table).
SELECT_HIT_ENTRY = "SELECT " + ", ".join(f"entries.{c}" for c in ENTRY_COLUMNS)


def _in_order(conn: sqlite3.Connection, ids: list[int], make: Callable[[tuple], T] = row_entry) -> list[T]:
    """The entries of these ids, in the ids' order, each made from its row."""
    rows = {r[0]: r for r in conn.execute(f"{SELECT_ENTRY} WHERE id IN ({', '.join('?' * len(ids))})", ids)}
    return [make(rows[i]) for i in ids if i in rows]


# The columns that can be long (the rest are codes, choices and times, a few dozen characters in
# all): summing these alone costs half as much per row on the hub's applying thread.
_LONG_TEXT = operator.itemgetter(*map(ENTRY_COLUMNS.index, (
    "name", "summary", "share_condition", "not_shared_basis", "data_items", "keywords", "quality")))


def _chunks(prepared: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    """Consecutive chunks of prepared rows, each of at most `size` entries and not much over
    WRITE_CHUNK_CHARS of text."""
    chunk: list[tuple] = []
    chars = 0
    for rows in prepared:
        chunk.append(rows)
        _, row, fts = rows
        chars += sum(map(len, _LONG_TEXT(row))) + (len(fts[2]) if fts is not None else 0)
        if len(chunk) >= size or chars >= WRITE_CHUNK_CHARS:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk
