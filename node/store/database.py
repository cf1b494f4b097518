"""The node's SQLite file: entries, the change log, the epoch, the search index and peer cursors.

One writer at a time (a lock around `BEGIN IMMEDIATE` transactions on one connection);
readers use their own connection per thread, so a read never sees an uncommitted write and
a multi-statement read inside `reading()` sees one consistent snapshot (WAL).
The store holds no domain rules: callers decide what to write, the store makes it durable
and appends to the change log in the same transaction.
"""

from __future__ import annotations

import contextlib
import itertools
import hashlib
import json
import pathlib
import secrets
import sqlite3
import threading
from concurrent import futures
from typing import Iterable, Iterator

import sqlite_utils

from node.catalog import search
from node.catalog.rules import DataItem, Entry
from node.errors import Unavailable
from node.store.migrations import migrate
from node.store import requests as requests_store
from node.times import format_time, parse_time

ENTRY_COLUMNS = (
    "id", "resource_code", "origin", "version", "withdrawn", "content_hash", "name", "summary",
    "provider_code", "provider_name", "region_code", "category", "share_type", "share_condition",
    "not_shared_basis", "share_method", "open_type", "update_cycle", "source_system",
    "data_items", "keywords", "published_at", "updated_at",
)
_SELECT_ENTRY = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
_UPSERT_ENTRY = (
    f"INSERT OR REPLACE INTO entries ({', '.join(ENTRY_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
)


def code_id(resource_code: str) -> int:
    """The integer key of a resource code: its 15 digits ("130100005/000123" -> 130100005000123).
    Integer order is code order, and the search index shares the key."""
    return int(resource_code[:9] + resource_code[10:16])


def entry_row(entry: Entry) -> tuple:
    items = [[i.name, i.type, i.length, i.description] for i in entry.data_items]
    return (
        code_id(entry.resource_code), entry.resource_code, entry.origin, entry.version,
        int(entry.withdrawn), entry.content_hash(), entry.name, entry.summary,
        entry.provider_code, entry.provider_name, entry.region_code, entry.category,
        entry.share_type, entry.share_condition, entry.not_shared_basis, entry.share_method,
        entry.open_type, entry.update_cycle, entry.source_system,
        json.dumps(items, ensure_ascii=False), json.dumps(list(entry.keywords), ensure_ascii=False),
        format_time(entry.published_at), format_time(entry.updated_at),
    )


def row_entry(row: sqlite3.Row | tuple) -> Entry:
    (_, code, origin, version, withdrawn, _, name, summary, provider_code, provider_name,
     region_code, category, share_type, share_condition, not_shared_basis, share_method,
     open_type, update_cycle, source_system, items, keywords, published_at, updated_at) = row
    return Entry(
        resource_code=code, name=name, summary=summary, provider_code=provider_code,
        provider_name=provider_name, region_code=region_code, category=category,
        data_items=tuple(DataItem(*item) for item in json.loads(items)),
        share_type=share_type, share_condition=share_condition, not_shared_basis=not_shared_basis,
        share_method=share_method, open_type=open_type, update_cycle=update_cycle,
        source_system=source_system, keywords=tuple(json.loads(keywords)),
        published_at=parse_time(published_at), updated_at=parse_time(updated_at),
        origin=origin, version=version, withdrawn=bool(withdrawn),
    )


def fts_row(entry: Entry) -> tuple[int, str, str]:
    body = search.index_tokens(
        entry.summary, entry.provider_name, *entry.keywords, *(i.name for i in entry.data_items),
    )
    return code_id(entry.resource_code), search.text_tokens(entry.name), body


def digest_of(rows: Iterable[tuple[str, int, str]]) -> tuple[int, str]:
    """Count and hash of (resource_code, version, content_hash) rows given in code order."""
    h = hashlib.sha256()
    count = 0
    for code, version, chash in rows:
        h.update(f"{code}\t{version}\t{chash}\n".encode())
        count += 1
    return count, h.hexdigest()


class Change(tuple):
    """A change-log row: (seq, kind, key, version, op, at)."""

    __slots__ = ()
    seq = property(lambda self: self[0])
    kind = property(lambda self: self[1])
    key = property(lambda self: self[2])
    version = property(lambda self: self[3])
    op = property(lambda self: self[4])
    at = property(lambda self: self[5])


WRITE_CHUNK = 250


def prepare(entry: Entry) -> tuple:
    """The rows of one entry: (id, entry row, search row, or None for a tombstone, which leaves
    the search index)."""
    return code_id(entry.resource_code), entry_row(entry), None if entry.withdrawn else fts_row(entry)


class Transaction:
    """The writer's view inside one `BEGIN IMMEDIATE` transaction."""

    def __init__(self, conn: sqlite3.Connection, writer: futures.ThreadPoolExecutor):
        self.conn = conn
        self.writer = writer

    def entries(self, codes: Iterable[str]) -> dict[str, Entry]:
        return _entries_by_code(self.conn, codes)

    def put_entries(self, entries: Iterable[Entry], *, log: bool, op: str = "upsert") -> list[int]:
        """Stores the entries (replacing any with the same code) and their search rows; with
        log=True appends one change each and returns the new seqs.

        `entries` is consumed lazily, in chunks, and pipelined: while SQLite inserts one chunk
        (it releases the GIL while it works), this thread draws and prepares the next. If
        drawing raises, nothing more is written and the caller's transaction rolls back."""
        seqs: list[int] = []
        pending = None
        source = iter(entries)
        try:
            while chunk := list(itertools.islice(source, WRITE_CHUNK)):
                prepared = [prepare(e) for e in chunk]
                changes = [("entry", e.resource_code, e.version, "withdraw" if e.withdrawn else op,
                            format_time(e.updated_at)) for e in chunk] if log else []
                if pending is not None:
                    seqs += pending.result()
                pending = self.writer.submit(self._write, prepared, changes)
        finally:
            if pending is not None:
                seqs += pending.result()
        return seqs if log else []

    def put_prepared(self, prepared: list[tuple]) -> None:
        """Stores entries whose rows were built beforehand by `prepare` (outside the write lock,
        so that other threads' SQLite work overlaps with building them). Logs nothing."""
        self._write(prepared, [])

    def _write(self, prepared: list[tuple], changes: list[tuple]) -> list[int]:
        self.conn.executemany(_UPSERT_ENTRY, [p[1] for p in prepared])
        fts_rows = [p[2] for p in prepared if p[2] is not None]
        gone = [(p[0],) for p in prepared if p[2] is None]
        if fts_rows:
            self.conn.executemany("INSERT OR REPLACE INTO entry_fts(rowid, name, body) VALUES (?, ?, ?)", fts_rows)
        if gone:
            self.conn.executemany("DELETE FROM entry_fts WHERE rowid = ?", gone)
        return self.log_changes(changes) if changes else []

    def log_changes(self, changes: list[tuple]) -> list[int]:
        """Appends (kind, key, version, op, at) rows; returns their seqs. This transaction is the
        only writer, so AUTOINCREMENT hands out the seqs right after the current head."""
        rows = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchall()
        head = rows[0][0] if rows else 0
        self.conn.executemany("INSERT INTO changes(kind, key, version, op, at) VALUES (?, ?, ?, ?, ?)", changes)
        return list(range(head + 1, head + 1 + len(changes)))

    def requests(self, ids: Iterable[str]) -> dict:
        return requests_store.requests_by_id(self.conn, ids)

    def put_requests(self, requests: list, *, log: bool) -> list[int]:
        """Stores request versions; with log=True appends one change each (kind "request")."""
        self.conn.executemany(requests_store.UPSERT, [requests_store.request_row(r) for r in requests])
        if not log:
            return []
        return self.log_changes([("request", r.request_id, r.version, r.state, format_time(r.updated_at))
                                 for r in requests])

    def enqueue(self, request_id: str, target: str, version: int) -> None:
        """Asks the courier to deliver at least this version of the request to target."""
        self.conn.execute(
            "INSERT INTO outbox(request_id, target, version) VALUES (?, ?, ?) "
            "ON CONFLICT(request_id, target) DO UPDATE SET version = max(version, excluded.version), next_at = 0",
            (request_id, target, version))

    def delivered(self, request_id: str, target: str, version: int) -> None:
        self.conn.execute("DELETE FROM outbox WHERE request_id = ? AND target = ? AND version <= ?",
                          (request_id, target, version))

    def delivery_failed(self, request_id: str, target: str, next_at: float, error: str) -> None:
        self.conn.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                          "WHERE request_id = ? AND target = ?", (next_at, error, request_id, target))

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

    def peer(self, node_id: str) -> dict | None:
        return _peer(self.conn, node_id)

    def update_peer(self, node_id: str, **fields) -> None:
        self.conn.execute("INSERT OR IGNORE INTO peers(node_id) VALUES (?)", (node_id,))
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE peers SET {assignments} WHERE node_id = ?", (*fields.values(), node_id))

    def add_conflicts(self, rows: list[tuple[str, str, str, str, str]]) -> None:
        """Rows of (peer, resource_code, held_by, reason, at); a repeat keeps the first."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO conflicts(peer, resource_code, held_by, reason, at) VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


def _entries_by_code(conn: sqlite3.Connection, codes: Iterable[str]) -> dict[str, Entry]:
    ids = [code_id(c) for c in codes]
    found: dict[str, Entry] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(f"{_SELECT_ENTRY} WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
        for row in rows:
            found[row[1]] = row_entry(row)
    return found


def _peer(conn: sqlite3.Connection, node_id: str) -> dict | None:
    cur = conn.execute("SELECT * FROM peers WHERE node_id = ?", (node_id,))
    rows = cur.fetchall()  # always to the end: a statement left open pins the connection to an old snapshot
    if not rows:
        return None
    return dict(zip([d[0] for d in cur.description], rows[0]))


class Store:
    """One node's SQLite database."""

    def __init__(self, path: str | pathlib.Path, *, synchronous: str = "full"):
        self.path = str(path)
        self.synchronous = synchronous
        if self.path != ":memory:":
            pathlib.Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._readers = threading.local()
        self._all_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self._active = 0  # reads under way
        self._active_lock = threading.Condition()
        # The thread that runs SQLite inserts while the caller's thread prepares the next rows.
        self._writer = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self.db = sqlite_utils.Database(self._connect())
        self.conn = self.db.conn
        migrate(self.db)
        if self.meta("epoch") is None:
            with self.transaction() as tx:
                tx.set_meta("epoch", new_epoch())

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    # -- writing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """The one write transaction at a time; commits on success, rolls back on any error."""
        with self._write_lock:
            if self._closed:
                raise Unavailable("the node is shutting down")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self.conn, self._writer)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def new_epoch(self) -> str:
        """Gives the database a new epoch, as after a restore: peers' cursors become stale."""
        epoch = new_epoch()
        with self.transaction() as tx:
            tx.set_meta("epoch", epoch)
        return epoch

    def compact(self, keep: int) -> int:
        """Drops all but the newest `keep` changes; returns the new floor (the last seq dropped).
        A reader whose cursor is below the floor must resync from a snapshot."""
        with self.transaction() as tx:
            floor = max(self.head_seq() - keep, self.log_floor())
            tx.conn.execute("DELETE FROM changes WHERE seq <= ?", (floor,))
            tx.set_meta("log_floor", str(floor))
        return floor

    # -- reading ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._readers.conn = conn
            with self._readers_lock:
                self._all_readers.append(conn)
        return conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state. While any
        read is under way, close() waits: a connection must never close under a query."""
        with self._active_lock:
            if self._closed:
                raise Unavailable("the node is shutting down")
            self._active += 1
        try:
            conn = self._reader()
            depth = getattr(self._readers, "depth", 0)
            if depth:
                yield conn  # nested: the outer read's snapshot
            else:
                if conn.in_transaction:  # a read that leaked its transaction: never read its old snapshot
                    conn.execute("ROLLBACK")
                conn.execute("BEGIN")
                self._readers.depth = 1
                try:
                    yield conn
                finally:
                    self._readers.depth = 0
                    conn.execute("COMMIT")
        finally:
            with self._active_lock:
                self._active -= 1
                self._active_lock.notify_all()

    def _all(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self.reading() as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    @property
    def epoch(self) -> str:
        return self.meta("epoch") or ""

    def head_seq(self) -> int:
        rows = self._all("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
        return rows[0][0] if rows else 0

    def log_floor(self) -> int:
        return int(self.meta("log_floor") or 0)

    def get_entry(self, code: str) -> Entry | None:
        return self.get_entries([code]).get(code)

    def get_entries(self, codes: Iterable[str]) -> dict[str, Entry]:
        with self.reading() as conn:
            return _entries_by_code(conn, codes)

    def changes_after(self, seq: int, limit: int) -> list[Change]:
        rows = self._all(
            "SELECT seq, kind, key, version, op, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [Change(r) for r in rows]

    def list_entries(self, where: str, params: list, after_id: int, limit: int) -> list[Entry]:
        rows = self._all(
            f"{_SELECT_ENTRY} WHERE id > ? AND withdrawn = 0 {where} ORDER BY id LIMIT ?",
            [after_id, *params, limit],
        )
        return [row_entry(r) for r in rows]

    def search(self, match: str, where: str, params: list, offset: int, limit: int) -> tuple[list[Entry], int]:
        """Full-text matches and their total, in two tiers: entries whose name matches, ranked
        by bm25, then those that match elsewhere only, in code order. Ranking every match of a
        broad two-character query costs tens of milliseconds at 100,000 entries; ranking only
        the name matches keeps it to a few, and a name match is what a searcher looks for first.
        Withdrawn entries are not in the search index."""
        in_name, elsewhere = f"name : {match}", f"body : {match} NOT name : {match}"
        with self.reading() as conn:
            named = self._count_matches(conn, in_name, where, params)
            total = named + self._count_matches(conn, elsewhere, where, params)
            ids: list[int] = []
            if offset < named:
                ids = self._matches(conn, in_name, where, params, limit, offset, ranked=True)
            if len(ids) < limit:
                ids += self._matches(conn, elsewhere, where, params, limit - len(ids), max(0, offset - named), ranked=False)
            rows = {r[0]: r for r in conn.execute(f"{_SELECT_ENTRY} WHERE id IN ({', '.join('?' * len(ids))})", ids)}
        return [row_entry(rows[i]) for i in ids if i in rows], total

    @staticmethod
    def _count_matches(conn: sqlite3.Connection, match: str, where: str, params: list) -> int:
        if not where:
            return conn.execute("SELECT count(*) FROM entry_fts WHERE entry_fts MATCH ?", (match,)).fetchall()[0][0]
        return conn.execute(
            "SELECT count(*) FROM (SELECT rowid AS hit FROM entry_fts WHERE entry_fts MATCH ?) AS f "
            f"JOIN entries ON entries.id = f.hit WHERE entries.withdrawn = 0 {where}", [match, *params],
        ).fetchall()[0][0]

    @staticmethod
    def _matches(conn: sqlite3.Connection, match: str, where: str, params: list, limit: int, offset: int,
                 *, ranked: bool) -> list[int]:
        score = "bm25(entry_fts)" if ranked else "0"
        sql = f"SELECT rowid AS hit, {score} AS score FROM entry_fts WHERE entry_fts MATCH ?"
        if where:
            sql = f"SELECT f.hit, f.score FROM ({sql}) AS f JOIN entries ON entries.id = f.hit WHERE entries.withdrawn = 0 {where}"
        rows = conn.execute(f"{sql} ORDER BY score, hit LIMIT ? OFFSET ?", [match, *params, limit, offset])
        return [r[0] for r in rows]

    def snapshot_slices(self, after_code: str, size: int) -> Iterator[tuple[list[Entry], int]]:
        """Every entry with a code after after_code, in code order, in slices of `size`, all read
        in one transaction, then an empty slice to mark the end; each comes with the head seq
        of that snapshot."""
        # Its own connection: the read transaction lives as long as the stream, and must not
        # leave this thread's reader looking at an old snapshot.
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            rows = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchall()
            head = rows[0][0] if rows else 0
            lo = code_id(after_code) if after_code else -1
            cur = conn.execute(f"{_SELECT_ENTRY} WHERE id > ? ORDER BY id", (lo,))
            while True:
                rows = cur.fetchmany(size)
                yield [row_entry(r) for r in rows], head
                if not rows:
                    return
        finally:
            conn.close()

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
        """(all, live) entries, of one origin when given."""
        sql = "SELECT count(*), coalesce(sum(withdrawn = 0), 0) FROM entries"
        params: tuple = ()
        if origin is not None:
            sql += " WHERE origin = ?"
            params = (origin,)
        ((count, live),) = self._all(sql, params)
        return count, live

    def peers(self) -> dict[str, dict]:
        with self.reading() as conn:
            cur = conn.execute("SELECT * FROM peers")
            names = [d[0] for d in cur.description]
            return {row[0]: dict(zip(names, row)) for row in cur}

    def peer(self, node_id: str) -> dict | None:
        with self.reading() as conn:
            return _peer(conn, node_id)

    def get_requests(self, ids: Iterable[str]) -> dict:
        with self.reading() as conn:
            return requests_store.requests_by_id(conn, ids)

    def list_requests(self, consumer_code: str, owner_code: str, state: str, due_before: str, offset: int,
                      limit: int) -> list:
        with self.reading() as conn:
            return requests_store.list_requests(conn, consumer_code, owner_code, state, due_before, offset, limit)

    def all_requests(self) -> list:
        with self.reading() as conn:
            return requests_store.list_requests(conn, "", "", "", "", 0, -1)

    def entry_mix(self) -> list[tuple]:
        """(origin, provider_code, provider_name, share_type, live entries) for the scorecard."""
        return self._all("SELECT origin, provider_code, max(provider_name), share_type, count(*) FROM entries "
                         "WHERE withdrawn = 0 GROUP BY origin, provider_code, share_type")

    def requests_of_node(self, node_id: str) -> list:
        with self.reading() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT request_id FROM requests WHERE consumer_node = ? OR owner_node = ?", (node_id, node_id))]
            return list(requests_store.requests_by_id(conn, ids).values())

    def due_deliveries(self, now: float, limit: int = 100) -> list[tuple]:
        """(request_id, target, version, attempts) the courier should send now, oldest first."""
        return self._all("SELECT request_id, target, version, attempts FROM outbox WHERE next_at <= ? "
                         "ORDER BY next_at, rowid LIMIT ?", (now, limit))

    def outbox_summary(self) -> dict[str, tuple[int, str]]:
        """Per target: (deliveries waiting, last error)."""
        rows = self._all("SELECT target, count(*), max(last_error) FROM outbox GROUP BY target")
        return {target: (count, error) for target, count, error in rows}

    def conflicts(self, limit: int = 100) -> list[tuple]:
        return self._all(
            "SELECT peer, resource_code, held_by, reason, at FROM conflicts ORDER BY at DESC LIMIT ?", (limit,)
        )

    def conflict_counts(self) -> dict[str, tuple[int, int]]:
        """Per peer: (conflicts with another origin, entries refused for their origin, region or rules)."""
        rows = self._all("SELECT peer, sum(held_by != ''), sum(held_by = '') FROM conflicts GROUP BY peer")
        return {peer: (conflicts, refused) for peer, conflicts, refused in rows}

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, wait: float = 10.0) -> None:
        """Closes the database once reads under way have finished (at most `wait` seconds)."""
        with self._write_lock:
            with self._active_lock:
                self._closed = True
                self._active_lock.wait_for(lambda: self._active == 0, timeout=wait)
            with self._readers_lock:
                for conn in self._all_readers:
                    conn.close()
                self._all_readers.clear()
            self._writer.shutdown(wait=True)
            self.conn.close()


def new_epoch() -> str:
    return secrets.token_hex(8)


def backup(source: str, dest: str) -> None:
    """A consistent copy of a live database (SQLite's online backup)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(dest)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def restore(backup_path: str, database: str) -> str:
    """Replaces a stopped node's database by a backup and gives it a new epoch; returns it."""
    for suffix in ("-wal", "-shm"):
        pathlib.Path(database + suffix).unlink(missing_ok=True)
    pathlib.Path(database).parent.mkdir(parents=True, exist_ok=True)
    backup(backup_path, database)
    store = Store(database)
    try:
        return store.new_epoch()
    finally:
        store.close()
