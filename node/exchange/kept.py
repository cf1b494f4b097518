"""SQLite sources of keyed mounts kept open between look-ups: a Query or a Verify reads a few
pages of an index, and opening the file, reading its schema and checking it again took more
than the look-up itself. A kept source is handed out again only after the mount's path passes
its department's rules anew and still leads to the very file it holds open (device and inode),
so a file swapped, moved or now out of bounds is opened afresh, or refused, as at every open."""

from __future__ import annotations

import os
import threading

from node.exchange.access import Gate
from node.exchange.sources import SourceError, SqliteSource
from node.model.exchange import Mount

KEEP = 8  # idle sources kept per mount: about the look-ups one mount has under way at once


class KeptSqliteSource(SqliteSource):
    """A source whose close() gives it back to its keeper, in a fresh state, for the next look-up."""

    def __init__(self, keeper: "KeptSources", slot: tuple, path: str, table: str, gate: Gate):
        super().__init__(path, table, gate)
        self.keeper, self.slot = keeper, slot

    def reopen(self) -> None:
        """A new read transaction: the look-up sees what is committed now."""
        self.conn.execute("BEGIN")

    def close(self) -> None:
        try:
            if self.conn is not None and self.conn.in_transaction:
                self.conn.execute("COMMIT")
        except Exception:  # a connection that broke is not kept
            self.discard()
            return
        self.keeper.give_back(self)

    def discard(self) -> None:
        SqliteSource.close(self)
        self.conn = None


class KeptSources:
    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._lock = threading.Lock()
        self._idle: dict[tuple, list[KeptSqliteSource]] = {}

    def open(self, mount: Mount, gate: Gate) -> SqliteSource:
        """The mount's SQLite source: a kept one that still holds the file the rules allow now,
        or a new one (SourceError, SourceRefused as SqliteSource raises them)."""
        real = gate.access.check_path(gate.department, mount.location)
        try:
            st = os.stat(real)
        except OSError:
            raise SourceError(f"no file at {mount.location}") from None
        slot = (mount.resource_code, mount.location, mount.table, gate.department)
        with self._lock:
            idle = self._idle.get(slot, [])
            found = None
            while idle and found is None:
                source = idle.pop()
                if source.identity == (real, st.st_dev, st.st_ino):
                    found = source
                else:
                    source.discard()
        if found is not None:
            try:
                found.reopen()
                return found
            except Exception:
                found.discard()
        return KeptSqliteSource(self, slot, mount.location, mount.table, gate)

    def give_back(self, source: KeptSqliteSource) -> None:
        with self._lock:
            idle = self._idle.setdefault(source.slot, [])
            if len(idle) < self.keep:
                idle.append(source)
                return
        source.discard()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for sources in idle.values():
            for source in sources:
                source.discard()
