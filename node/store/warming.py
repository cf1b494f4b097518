"""Warming the search tables into the operating system's cache after start, in the background.

A hub's searches read its search index and entries at random: at 3,000,000 entries the file is
7 GB, and after a restart (or once other files pushed it out of the cache) every read of an
uncached page waits on the disk. Ranking a name tier from its rows took 2-15 ms cached and up to
258 ms uncached, and the first minutes of searching ran at p99 271 ms against 52 ms warm. So the
node reads the tables its searches read, one after the other, on a thread of its own at the lowest
CPU priority (on Linux the disk's best-effort priority follows it), logging each table as it goes:
a sequential read of the whole set took about 25 s on a 2-core machine, where searches alone
would have read it page by page over many minutes. It stops once it has read half of the memory
the system had available when it began (a file bigger than memory would only push out its own
pages), and when the node stops. A file under `SMALL` is left alone, without a word: its first
reads cost little, and a node that logs nothing at start keeps its output to what matters.
`store.warm_cache: false` turns it off.

Reading is SQLite's `dbstat` walk of each table's pages (every page, overflow pages included,
without decoding rows); where SQLite is built without it the node says so and does not warm.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
import time
from collections.abc import Callable

from node.background import BackgroundLoop
from node.store.database import READER_CACHE_KIB

# Small and read by every search first: the index's directory, the row sizes that rank, and the
# live entries' index that listings and open-data pages walk; then the index's lists, the entries
# a page serves, and the rest of the index's rows.
TABLES = ("entry_fts_idx", "entry_fts_docsize", "entries_live", "entry_fts_data", "entries", "entry_fts_content")
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
    mib_read: int = 0
    began: float | None = None  # time.monotonic()
    took: float | None = None  # seconds, once it ended

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
        self._conn: sqlite3.Connection | None = None
        self._conn_lock = threading.Lock()
        self.progress = Warming()  # replaced whole as it goes: a reader sees one consistent state
        super().__init__("cache-warmer")

    def enabled(self) -> bool:
        if not self.on or self.path == ":memory:":
            return False
        try:
            return os.path.getsize(self.path) >= self.small
        except OSError:
            return False

    def wake(self) -> None:
        with self._conn_lock:  # a walk under way ends at once: the node is stopping
            if self._conn is not None:
                self._conn.interrupt()

    def run(self) -> None:
        try:  # Linux sets a thread's priority by its own id; elsewhere the whole process would be lowered
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        available = available_bytes()
        budget = available // 2 if available is not None else None
        conn = self.connect()
        with self._conn_lock:
            self._conn = conn
        started, read, left = time.monotonic(), 0, []
        try:
            conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")  # the pages go to the system's cache
            (page_size,), = conn.execute("PRAGMA page_size").fetchall()
            present = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
            tables = [t for t in TABLES if t in present]
            self.progress = Warming("warming", 0, len(tables), 0, started)
            self.log.info("store.warming", tables=len(tables), budget_mib=budget // 2**20 if budget else None)
            for n, table in enumerate(tables, 1):
                if self.stopping.is_set() or (budget is not None and read >= budget):
                    left = tables[n - 1:]
                    break
                began = time.monotonic()
                (pages,), = conn.execute("SELECT count(*) FROM dbstat WHERE name = ?", (table,)).fetchall()
                read += pages * page_size
                self.progress = dataclasses.replace(self.progress, tables_done=n, mib_read=read // 2**20)
                self.log.info("store.warmed_table", table=table, done=f"{n}/{len(tables)}",
                              mib=pages * page_size // 2**20, seconds=round(time.monotonic() - began, 1))
            self.progress = dataclasses.replace(self.progress, state="stopped" if left else "warm",
                                                took=time.monotonic() - started)
            self.log.info("store.warmed", mib=read // 2**20, seconds=round(time.monotonic() - started, 1),
                          left=left)
        except sqlite3.OperationalError as exc:
            self.progress = dataclasses.replace(self.progress, state="stopped", took=time.monotonic() - started)
            if not self.stopping.is_set():  # else: interrupted by stop()
                self.log.warning("store.warm_unavailable", error=str(exc))
        finally:
            with self._conn_lock:
                self._conn = None
            conn.close()
