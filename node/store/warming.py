"""Warming the search tables into the operating system's cache after start, in the background.

A hub's searches read its search index and entries at random: at 3,000,000 entries the file is
7 GB, and after a restart (or once other files pushed it out of the cache) every read of an
uncached page waits on the disk. Ranking a name tier from its rows took 2-15 ms cached and up to
258 ms uncached, and the first minutes of searching ran at p99 271 ms against 52 ms warm. So the
node reads the tables its searches read, the small ones every search needs first, then the big
ones two at a time (`FIRST`, `LANES`), on threads of its own at the lowest CPU priority (on Linux
the disk's best-effort priority follows it), logging each table as it goes and showing where it
is in `cascade status`: on a 2-core machine whose disk reads 165 MB/s the whole set (6.3 GB)
took 48 s one table after the other and 38 s with two walks at once, where searches alone would
have read it page by page over many minutes. It stops once it has read half of the memory the
system had available when it began (a file bigger than memory would only push out its own pages;
then the big tables are walked one after the other, the budget looked at before each), and when
the node stops. A file under `SMALL` is left alone, without a word: its first
reads cost little, and a node that logs nothing at start keeps its output to what matters.
`store.warm_cache: false` turns it off.

Reading is SQLite's `dbstat` walk of each table's pages (every page, overflow pages included,
without decoding rows); where SQLite is built without it the node says so and does not warm.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

from node.background import BackgroundLoop
from node.store.database import READER_CACHE_KIB

# Read first, one after the other: small, and read by every search first (the index's directory,
# the row sizes that rank, the live entries' index that listings and open-data pages walk).
FIRST = ("entry_fts_idx", "entry_fts_docsize", "entries_live")
# Then two walks at once: the index's lists and rows on one, the entries a page serves on the other.
# The entries' b-tree is read page by page out of the file's order, so a walk waits on each read;
# two at once kept the disk busier (on this machine, after the cache was dropped, the entries and
# the lists took 20 s together against 31 s one after the other).
LANES = (("entry_fts_data", "entry_fts_content"), ("entries",))
TABLES = FIRST + tuple(table for lane in LANES for table in lane)
SMALL = 64 * 2**20  # bytes: a file this small is read in well under a second when it is first needed


def available_bytes() -> int | None:
    """The memory the system could give without swapping (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@dataclasses.dataclass(frozen=True)
class Warming:
    """Where the warmer is, for the node's status: `state` is "off", "warming", "warm" or
    "stopped" (the node stopped it, or the memory budget did, or SQLite could not walk a table)."""
    state: str = "off"
    tables_done: int = 0
    tables: int = 0
    bytes_read: int = 0
    began: float | None = None  # time.monotonic()
    took: float | None = None  # seconds, once it ended

    @property
    def mib_read(self) -> int:
        return self.bytes_read // 2**20

    def seconds(self) -> float:
        if self.took is not None:
            return self.took
        return 0.0 if self.began is None else time.monotonic() - self.began


class CacheWarmer(BackgroundLoop):
    """Reads `TABLES` once, at low priority, after the node starts (see the module's docstring)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], path: str, log, *, enabled: bool = True,
                 small: int = SMALL):
        # connect: Database.read_only_connection
        self.connect = connect
        self.path = path
        self.log = log
        self.on = enabled
        self.small = small
        self._progress_lock = threading.Lock()  # two walks count into it
        self.progress = Warming()  # replaced whole as it goes: a reader sees one consistent state
        super().__init__("cache-warmer")

    def enabled(self) -> bool:
        if not self.on or self.path == ":memory:":
            return False
        return _size(self.path) >= self.small

    def run(self) -> None:
        available = available_bytes()
        budget = available // 2 if available is not None else None
        started, tables, left = time.monotonic(), [], []
        try:
            with self._walker() as conn:
                (page_size,), = conn.execute("PRAGMA page_size").fetchall()
                present = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
                first = [t for t in FIRST if t in present]
                lanes = [[t for t in lane if t in present] for lane in LANES]
                tables = first + [t for lane in lanes for t in lane]
                self.progress = Warming("warming", 0, len(tables), 0, started)
                self.log.info("store.warming", tables=len(tables), budget_mib=budget // 2**20 if budget else None)
                left = self._walk(conn, first, page_size, budget)
            if left:  # stopped, or the budget spent, before the big tables
                left += [t for lane in lanes for t in lane]
            elif budget is not None and _size(self.path) > budget:
                with self._walker() as conn:  # one lane after the other: the budget is looked at before each table
                    for lane in lanes:
                        left += self._walk(conn, lane, page_size, budget)
            else:
                other = _Lane(self, lanes[1], page_size, budget)
                other.start()
                try:
                    with self._walker() as conn:
                        left = self._walk(conn, lanes[0], page_size, budget)
                finally:
                    other.join()
                if other.error is not None:
                    raise other.error
                left += other.left
            self.progress = dataclasses.replace(self.progress, state="stopped" if left else "warm",
                                                took=time.monotonic() - started)
            self.log.info("store.warmed", mib=self.progress.mib_read, seconds=round(time.monotonic() - started, 1),
                          left=[t for t in tables if t in left])
        except sqlite3.Error as exc:
            self.progress = dataclasses.replace(self.progress, state="stopped", took=time.monotonic() - started)
            if not self.stopping.is_set():  # else: interrupted by stop()
                self.log.warning("store.warm_unavailable", error=str(exc))

    @contextlib.contextmanager
    def _walker(self) -> Iterator[sqlite3.Connection]:
        """A connection of this thread's, at the lowest priority, whose walk ends once the node stops."""
        try:  # Linux sets a thread's priority by its own id; elsewhere the whole process would be lowered
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        conn = self.connect()
        conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")  # the pages go to the system's cache
        # A table's walk takes tens of seconds: it looks at `stopping` as it goes, and ends with
        # "interrupted" once the node stops (an interrupt() sent between two statements is lost).
        conn.set_progress_handler(self.stopping.is_set, 10_000)
        try:
            yield conn
        finally:
            conn.close()

    def _walk(self, conn: sqlite3.Connection, tables: list[str], page_size: int, budget: int | None) -> list[str]:
        """Reads `tables` in turn; the tables left unread when the node stops or the budget is spent."""
        for n, table in enumerate(tables):
            if self.stopping.is_set() or (budget is not None and self.progress.bytes_read >= budget):
                return tables[n:]
            began = time.monotonic()
            (pages,), = conn.execute("SELECT count(*) FROM dbstat WHERE name = ?", (table,)).fetchall()
            with self._progress_lock:
                done = self.progress.tables_done + 1
                self.progress = dataclasses.replace(self.progress, tables_done=done,
                                                    bytes_read=self.progress.bytes_read + pages * page_size)
            self.log.info("store.warmed_table", table=table, done=f"{done}/{self.progress.tables}",
                          mib=pages * page_size // 2**20, seconds=round(time.monotonic() - began, 1))
        return []


def _size(path: str) -> int:
    """The file's size, -1 when it cannot be read (then it is neither warmed nor weighed)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


class _Lane(threading.Thread):
    """The second walk of CacheWarmer.run, on a thread of its own; what it left, or why it failed."""

    def __init__(self, warmer: CacheWarmer, tables: list[str], page_size: int, budget: int | None):
        super().__init__(name="cache-warmer-2", daemon=True)
        self.warmer, self.tables, self.page_size, self.budget = warmer, tables, page_size, budget
        self.left: list[str] = []
        self.error: sqlite3.Error | None = None

    def run(self) -> None:
        try:
            with self.warmer._walker() as conn:
                self.left = self.warmer._walk(conn, self.tables, self.page_size, self.budget)
        except sqlite3.Error as exc:
            self.error = exc
