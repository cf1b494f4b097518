"""Reader processes: a big catalog's searches and listings answered in processes of their own, so
that they use every core.

Why: at 3,000,000 entries a hub's searches under 16 clients used 1.3 of 2 cores. SQLite runs
outside the interpreter's lock, but the Python half of a search (the rows made into entry
messages, the facets) runs one at a time under it: a py-spy profile put 39% of the lock's time in
building entry messages alone. A reader process runs the same code (node/api/reads.py) on a
read-only view of the node's file (`Store(read_only=True)`) and hands back the reply's bytes,
which the node passes on as they are.

- One call at a time per reader: a call takes an idle reader for its search turn
  (node/api/turns.py), and the node runs as many turns as it has readers (at least one per
  core: with fewer readers, the calls beyond them are answered in the node's process).
- What readers keep until the next commit (the name tiers, node/store/kept.py) is kept under the
  node's commit count, sent with every read.
- `store.readers` in the config: 0 turns them off; a number starts that many at the first search;
  by default (`auto`), one per usable core (at most `MOST`) on more than one core, once it holds
  `MIN_ENTRIES` entries (below that a search is cheap: a process hop would cost more than it saves).
- A reader that dies (killed, out of memory): its call is read in the node's process, and a new
  reader starts in its place. A reader whose node died ends itself.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import signal
import threading
import time
from multiprocessing.connection import Connection
from typing import Callable

import grpc

from node.api.reads import READS
from node.api.status_codes import code_of
from node.catalog.publishing import Catalog
from node.errors import Passed
from node.store import Store
from node.workers import tune_gc, usable_cores, watch_parent

MIN_ENTRIES = 100_000
MOST = 4  # readers by default, however many cores: each holds about 50 MiB
RECOUNT_SECONDS = 60.0  # how often `auto` looks at the catalog's size again, until it is big enough
RETRY_SECONDS = 60.0  # after readers failed to start: meanwhile every call reads in the node's process
OPEN_SECONDS = 60.0  # a reader that has not opened the file by then is given up
OK, FAILED = b"+", b"!"


@dataclasses.dataclass(frozen=True)
class Opening:
    """What a reader process opens: the node's file, and the catalog's settings its reads use."""
    database: str
    node_id: str
    max_page_size: int


@dataclasses.dataclass(frozen=True)
class Status:
    """For `cascade status`: readers wanted and serving, whether `auto` waits for the catalog to
    reach `min_entries`, and the reads they answered."""
    wanted: int
    serving: int
    waiting_for_size: bool
    min_entries: int
    answered: int


def wanted(configured: int | None, database: str) -> int:
    """Readers the config asks for: `configured` when given, else one per usable core, at most
    `MOST` (none on one core); none for a database only in memory, which another process cannot
    open."""
    if database == ":memory:":
        return 0
    if configured is not None:
        return configured
    cores = usable_cores()
    return 0 if cores == 1 else min(MOST, cores)


class Readers:
    """`read(method, request, generation)` is the reply's bytes from an idle reader process, or
    None when none is serving (the caller reads in its own process)."""

    def __init__(self, opening: Opening, processes: int, *, automatic: bool, live_entries: Callable[[], int],
                 log=None):
        self.opening = opening
        self.processes = processes
        self.automatic = automatic  # started only once the catalog is big enough
        self.live_entries = live_entries
        self.log = log
        self._lock = threading.Lock()
        self._idle: list[_Reader] = []
        self._all: list[_Reader] = []
        self._starting = False
        self._closed = False
        self._counted_at = -RECOUNT_SECONDS
        self._big = False  # auto: the catalog was seen big enough (it stays so for the node's life)
        self._retry_at = 0.0
        self.answered = 0  # reads the reader processes answered

    def read(self, method: str, request, generation: int) -> bytes | None:
        reader = self._take()
        if reader is None:
            return None
        try:
            reply = reader.read(method, request.SerializeToString(), generation)
        except (EOFError, OSError):  # the reader died under the call: read here, and replace it
            self._lost(reader)
            return None
        except Exception:  # a refusal (its status, as the node's own would be), or a bug: the reader serves on
            self._give_back(reader, answered=1)
            raise
        self._give_back(reader, answered=1)
        return reply

    def serving(self) -> int:
        """Readers up and serving."""
        with self._lock:
            return len(self._all)

    def status(self) -> Status:
        with self._lock:
            waiting = self.automatic and not self._big and self.processes > 0
            return Status(self.processes, len(self._all), waiting, MIN_ENTRIES, self.answered)

    def close(self) -> None:
        """Ends the idle readers now, and each busy one once its call has its answer."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._all = [r for r in self._all if r not in idle]
        for reader in idle:
            reader.end()

    # -- the pool --------------------------------------------------------------------------

    def _take(self) -> _Reader | None:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            if len(self._all) < self.processes and not self._starting and not self._closed and self._due():
                self._starting = True
                threading.Thread(target=self._start, args=(self.processes - len(self._all),),
                                 name="readers-start", daemon=True).start()
        return None

    def _due(self) -> bool:
        """Whether readers should start now (under the lock)."""
        now = time.monotonic()
        if now < self._retry_at:
            return False
        if not self.automatic or self._big:
            return True
        if now - self._counted_at < RECOUNT_SECONDS:
            return False
        self._counted_at = now
        self._big = self.live_entries() >= MIN_ENTRIES
        return self._big

    def _start(self, count: int) -> None:
        """Starts `count` readers, each serving as soon as it has opened the file (a spawned
        interpreter takes about a second: calls meanwhile read in the node's process)."""
        try:
            for _ in range(count):
                reader = _Reader.spawn(self.opening)
                with self._lock:
                    if self._closed:
                        reader.end()
                        return
                    self._all.append(reader)
                    self._idle.append(reader)
            if self.log is not None:
                self.log.info("readers.started", readers=self.serving(), pids=[r.process.pid for r in self._all])
        except Exception as exc:  # the calls read in the node's process, as before, and a retry waits
            with self._lock:
                self._retry_at = time.monotonic() + RETRY_SECONDS
            if self.log is not None:
                self.log.error("readers.failed", error=f"{type(exc).__name__}: {exc}", retry_seconds=RETRY_SECONDS)
        finally:
            with self._lock:
                self._starting = False

    def _give_back(self, reader: _Reader, answered: int = 0) -> None:
        with self._lock:
            self.answered += answered
            if not self._closed:
                self._idle.append(reader)
                return
            self._all.remove(reader)
        reader.end()

    def _lost(self, reader: _Reader) -> None:
        with self._lock:
            if reader in self._all:
                self._all.remove(reader)
        if self.log is not None:
            self.log.warning("readers.lost", pid=reader.process.pid, exitcode=reader.process.exitcode)
        reader.end()


class _Reader:
    """One reader process and the node's end of its pipe."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection):
        self.process, self.conn = process, conn

    @classmethod
    def spawn(cls, opening: Opening) -> _Reader:
        # spawn, not fork: the node's process holds gRPC threads, which a fork does not survive.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=serve, args=(theirs, opening, os.getpid()), name="reader", daemon=True)
        process.start()
        theirs.close()
        reader = cls(process, ours)
        try:  # it serves from its first word: OK, the file is open; else why it could not open it
            if not ours.poll(OPEN_SECONDS):
                raise RuntimeError(f"a reader process did not open the database within {OPEN_SECONDS:g} s")
            if ours.recv_bytes() != OK:
                raise RuntimeError(f"a reader process could not open the database: {ours.recv_bytes().decode()}")
        except BaseException:
            reader.end()
            raise
        return reader

    def read(self, method: str, request: bytes, generation: int) -> bytes:
        self.conn.send((method, generation, request))
        if self.conn.recv_bytes() == OK:
            return self.conn.recv_bytes()
        code, message = pickle.loads(self.conn.recv_bytes())
        raise _failure(code, message)

    def end(self) -> None:
        self.conn.close()  # the reader reads the end of its pipe and exits
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)


def _failure(code: str | None, message: str) -> Exception:
    """The reader's error, raised again in the node: a domain error's status passed on as it was
    (the call ends as it would have here), anything else as a bug."""
    if code is None:
        return RuntimeError(f"a reader process failed: {message}")
    return Passed(grpc.StatusCode[code], message)


def serve(conn: Connection, opening: Opening, parent: int) -> None:
    """A reader process: opens the node's file read-only, then answers reads until its pipe
    closes."""
    tune_gc()
    watch_parent(parent)
    # Ctrl-C at a terminal reaches the node's whole process group: the node ends its readers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        store = Store(opening.database, read_only=True)
    except Exception as exc:
        conn.send_bytes(FAILED)
        conn.send_bytes(f"{type(exc).__name__}: {exc}".encode())
        return
    catalog = Catalog(store, opening.node_id, set(), opening.max_page_size)
    conn.send_bytes(OK)
    try:
        while True:
            method, generation, request = conn.recv()
            store.generation = generation
            try:
                kind, answer = READS[method]
                reply = answer(catalog, kind.FromString(request)).SerializeToString()
            except Exception as exc:
                code = code_of(exc)
                conn.send_bytes(FAILED)
                conn.send_bytes(pickle.dumps((code.name if code is not None else None,
                                              str(exc) if code is not None else f"{type(exc).__name__}: {exc}")))
            else:
                conn.send_bytes(OK)
                conn.send_bytes(reply)
    except (EOFError, OSError):  # the node closed its end, or went away
        pass
    finally:
        store.close(wait=0)

