"""Opening the node's SQLite file, the one writer and the many readers, the epoch and the change
log; and `Store` and `Transaction`, composed of this core and each concern's reads and writes.

One writer at a time (a lock around `BEGIN IMMEDIATE` transactions on one connection);
readers use their own connection per thread, so a read never sees an uncommitted write and
a multi-statement read inside `reading()` sees one consistent snapshot (WAL).
The store holds no domain rules: callers decide what to write, the store makes it durable
and appends to the change log in the same transaction.
"""

from __future__ import annotations

import contextlib
import pathlib
import secrets
import sqlite3
import threading
from concurrent import futures
from typing import Callable, Iterable, Iterator

from node.errors import Unavailable
from node.model.sync import Change
from node.security import audit
from node.store.entries import EntryReads, EntryWrites
from node.store.exchanges import ExchangeReads, ExchangeWrites
from node.store.migrations import migrate
from node.store.peers import PeerReads, PeerWrites
from node.store.private import create_file
from node.store.corrections import CorrectionReads, CorrectionWrites
from node.store.requests import RequestReads, RequestWrites



def new_epoch() -> str:
    return secrets.token_hex(8)


# Page cache of each reader connection, in KiB. A node keeps one reader per thread that reads, and
# its RPC pool has 64 threads: at SQLite's default (2 MiB) a hub that has served a while holds
# about 3 MiB per thread, nearly 200 MiB in all, growing with the number of threads that happened
# to read (measured: 64 threads of searches at 1,000,000 entries, 226 MiB against 112 at 256 KiB).
# The file's pages stay in the operating system's cache, shared; a reader's own cache saves a
# copy of a page it reads again within a query, which 512 KiB holds.
READER_CACHE_KIB = 512
# Reader connections a database opens at most, shared by the threads that read: a read takes an
# idle one or waits for one. One per thread, a hub's 64 RPC threads (pulls run on them too, in
# Notify calls) each kept one for its life, about 0.8 MiB apiece (measured: 32 threads of
# searches and listings at 40,000 entries, 813 KiB a connection; more at 1,000,000). Two cores
# run no more than a few reads at once: the rest waited for a core, now they wait for a reader.
MAX_READERS = 8

class Written:
    """What one transaction wrote, summed up for its audit record: per kind of object, how many
    and the first and last key."""

    def __init__(self):
        self.kinds: dict[str, list] = {}  # kind -> [count, first key, last key]
        self.details: list[str] = []  # what the keys alone do not say (a mount's source), for the record's detail

    def add(self, kind: str, keys: Iterable[str]) -> None:
        # counted at once, not key by key: a hub's batch and a bulk publish note thousands
        keys = keys if isinstance(keys, (list, tuple)) else list(keys)
        if not keys:
            return
        seen = self.kinds.get(kind)
        if seen is None:
            self.kinds[kind] = [len(keys), keys[0], keys[-1]]
        else:
            seen[0] += len(keys)
            seen[2] = keys[-1]

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def describe(self) -> str:
        plural = {"entry": "entries"}
        return "; ".join(f"{kind} {first}" if count == 1 else f"{count} {plural.get(kind, kind + 's')} {first}..{last}"
                         for kind, (count, first, last) in self.kinds.items())


class DatabaseTransaction:
    """The writer's view inside one `BEGIN IMMEDIATE` transaction: the change log and meta.
    `writer` is the thread that runs bulk inserts while the caller prepares the next rows."""

    def __init__(self, conn: sqlite3.Connection, writer: futures.ThreadPoolExecutor):
        self.conn = conn
        self.writer = writer
        self.written = Written()
        # Whether this transaction wrote what a job acts on (the change log, the outbox): once it
        # commits, the store's commit listeners are called.
        self.wakes = False

    def record(self, kind: str, keys: Iterable[str], detail: str = "") -> None:
        """Notes a write that the change log does not carry (the hub's copies, a mount), for the
        audit trail; `detail` goes into the record's detail."""
        self.written.add(kind, keys)
        if detail:
            self.written.details.append(detail)

    def log_changes(self, changes: list[tuple]) -> list[int]:
        """Appends (kind, key, version, op, at) rows; returns their seqs. This transaction is the
        only writer, so AUTOINCREMENT hands out the seqs right after the current head."""
        rows = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchall()
        head = rows[0][0] if rows else 0
        self.conn.executemany("INSERT INTO changes(kind, key, version, op, at) VALUES (?, ?, ?, ?, ?)", changes)
        self.wakes = self.wakes or bool(changes)
        for kind in dict.fromkeys(change[0] for change in changes):
            self.written.add(kind, [change[1] for change in changes if change[0] == kind])
        return list(range(head + 1, head + 1 + len(changes)))

    def deny(self, actor: str, method: str, object: str, detail: str) -> None:
        """Puts a refusal on the audit trail in this transaction (what was refused is not written)."""
        audit.append(self.conn, actor, method, object, "denied", detail)

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))


class Transaction(EntryWrites, PeerWrites, RequestWrites, CorrectionWrites, ExchangeWrites, DatabaseTransaction):
    """The writer's view inside one `BEGIN IMMEDIATE` transaction."""


class StreamedRead:
    """One read transaction on a connection of its own, for a reply streamed across the yields
    of a generator (a snapshot): `execute()` opens its queries, `step()` wraps each part of the
    read."""

    def __init__(self, database: Database, conn: sqlite3.Connection):
        self.database = database
        self.conn = conn
        self.cursors: list[sqlite3.Cursor] = []

    def execute(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        """A query of this read, inside a `step()`; its cursor ends with the stream."""
        cursor = self.conn.execute(sql, tuple(params))
        self.cursors.append(cursor)
        return cursor

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """One part of the read: close() waits for it to finish, and after close() (which ends
        the stream) it raises Unavailable instead of touching a closed connection."""
        with self.database._active_lock:
            if self.database._closed or self not in self.database._streams:
                raise Unavailable("the node is shutting down")
            self.database._active += 1
        try:
            yield
        finally:
            self.database._read_done()

    def end(self) -> None:
        """Closes the cursors, then the connection: one closed while a cursor still holds its
        statement is only marked closed, and keeps the database's files open."""
        for cursor in self.cursors:
            cursor.close()
        self.conn.close()


class Database:
    """The connections to one SQLite file: `transaction()` for the one writer, `reading()` for
    readers, `streaming()` for a read that lasts as long as a streamed reply; meta, the epoch
    and the change log."""

    def __init__(self, path: str | pathlib.Path, *, synchronous: str = "full", read_only: bool = False):
        """`read_only`: a view of a node's file from another process (node/api/readers.py), which
        neither creates nor migrates it and cannot write; its `generation` is set by its node."""
        self.path = str(path)
        self.synchronous = synchronous
        if self.path != ":memory:" and not read_only:
            create_file(self.path)  # owner-only, before SQLite would create it with the umask's mode
        self._write_lock = threading.RLock()
        self._readers = threading.local()  # the thread's reader while it reads, and how deep
        self._all_readers: list[sqlite3.Connection] = []
        self._idle_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Condition()
        self._streams: set[StreamedRead] = set()
        self._closed = False
        self._commit_listeners: list[Callable[[], None]] = []
        # Counts commits: a value read under this count is current while the count stands.
        self.generation = 0
        self._active = 0  # reads under way
        self._active_lock = threading.Condition()
        # The thread that runs SQLite inserts while the caller's thread prepares the next rows.
        self._writer = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        if read_only:
            if not pathlib.Path(self.path).is_file():  # SQLite would create an empty one
                raise FileNotFoundError(f"no database at {self.path}")
            self.conn = self.read_only_connection()
            return
        self.conn = self._connect()
        migrate(self.conn)
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

    def read_only_connection(self) -> sqlite3.Connection:
        """A connection of the caller's own that cannot write; the caller closes it."""
        conn = self._connect()
        conn.execute("PRAGMA query_only = ON")
        return conn

    # -- writing ---------------------------------------------------------------------------

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Calls `listener()` after every commit that appended to the change log or the outbox:
        the one way a write wakes the jobs that act on it (the Notify hint, the courier). A
        listener only sets an event; it runs on the committing thread, after the write lock is released."""
        self._commit_listeners.append(listener)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """The one write transaction at a time; commits on success, rolls back on any error.
        What it wrote gets its audit record, naming the actor, in the same transaction."""
        with self._write_lock:
            if self._closed:
                raise Unavailable("the node is shutting down")
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                tx = Transaction(self.conn, self._writer)
                yield tx
                if tx.written:
                    actor, method = audit.acting()
                    audit.append(self.conn, actor, method, tx.written.describe(), "ok", "; ".join(tx.written.details))
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            self.generation += 1
        if tx.wakes:
            for listener in self._commit_listeners:
                listener()

    def audit_head(self) -> tuple[int, str]:
        """(seq, hash) of the newest audit record."""
        with self.reading() as conn:
            return audit.head(conn)

    def count_denied(self, method: str) -> int:
        """How many refusals of `method` the audit trail holds."""
        with self.reading() as conn:
            ((count,),) = conn.execute("SELECT count(*) FROM audit WHERE method = ? AND outcome = 'denied'",
                                       (method,)).fetchall()
        return count

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

    def _take_reader(self) -> sqlite3.Connection:
        """An idle reader, a new one while fewer than MAX_READERS are open, or else the first
        given back."""
        with self._readers_lock:
            while not self._idle_readers and len(self._all_readers) >= MAX_READERS:
                self._readers_lock.wait()
            if self._idle_readers:
                return self._idle_readers.pop()
            conn = self._connect()
            self._all_readers.append(conn)
        conn.execute("PRAGMA query_only = ON")
        conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        return conn

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._readers_lock:
            self._idle_readers.append(conn)
            self._readers_lock.notify()

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state. While any
        read is under way, close() waits: a connection must never close under a query."""
        with self._active_lock:
            if self._closed:
                raise Unavailable("the node is shutting down")
            self._active += 1
        try:
            if getattr(self._readers, "depth", 0):
                yield self._readers.conn  # nested: the outer read's snapshot
                return
            conn = self._take_reader()
            try:
                if conn.in_transaction:  # a read that leaked its transaction: never read its old snapshot
                    conn.execute("ROLLBACK")
                conn.execute("BEGIN")
                self._readers.conn, self._readers.depth = conn, 1
                try:
                    yield conn
                finally:
                    self._readers.conn, self._readers.depth = None, 0
                    conn.execute("COMMIT")
            finally:
                self._give_back(conn)
        finally:
            self._read_done()

    def _read_done(self) -> None:
        with self._active_lock:
            self._active -= 1
            self._active_lock.notify_all()

    @contextlib.contextmanager
    def streaming(self) -> Iterator[StreamedRead]:
        """A read on a connection of its own that lives as long as a streamed reply, so that it
        neither holds up this thread's reader nor leaves it looking at an old snapshot.
        close() ends it even while its generator is suspended: a call whose client went away
        may leave the generator unfinished until it is collected, and a connection left open
        past close() keeps the file's old WAL index mapped, so that a database restored in its
        place fails with "disk I/O error"."""
        conn = self.read_only_connection()
        stream = StreamedRead(self, conn)
        with self._active_lock:
            if self._closed:
                conn.close()
                raise Unavailable("the node is shutting down")
            self._streams.add(stream)
        try:
            yield stream
        finally:
            with self._active_lock:
                ended_here = stream in self._streams
                self._streams.discard(stream)
            if ended_here:
                stream.end()

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

    def changes_after(self, seq: int, limit: int) -> list[Change]:
        rows = self._all(
            "SELECT seq, kind, key, version, op, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [Change(r) for r in rows]

    # -- lifecycle -------------------------------------------------------------------------

    def close(self, wait: float = 10.0) -> None:
        """Closes the database once reads under way have finished (at most `wait` seconds),
        streamed reads included, whether or not their generators were finished."""
        with self._write_lock:
            with self._active_lock:
                self._closed = True
                self._active_lock.wait_for(lambda: self._active == 0, timeout=wait)
                streams, self._streams = list(self._streams), set()
            for stream in streams:
                stream.end()
            with self._readers_lock:
                for conn in self._all_readers:
                    conn.close()
                self._all_readers.clear()
                self._idle_readers.clear()
            self._writer.shutdown(wait=True)
            self.conn.close()


class Store(EntryReads, PeerReads, RequestReads, CorrectionReads, ExchangeReads, Database):
    """One node's SQLite database."""
