"""The hub's tables in the node's SQLite file: peers (pull cursors and health), conflicts (entries
refused from a peer) and the outbox (request versions the courier still has to deliver).

`PeerWrites` is mixed into `Transaction`, `PeerReads` into `Store`.
"""

from __future__ import annotations

import sqlite3

from node.model.sync import PEER_COLUMNS, PeerRow

SELECT_PEER = f"SELECT {', '.join(PEER_COLUMNS)} FROM peers"


def peer_row(conn: sqlite3.Connection, node_id: str) -> PeerRow | None:
    # fetchall, always to the end: a statement left open pins the connection to an old snapshot
    rows = conn.execute(f"{SELECT_PEER} WHERE node_id = ?", (node_id,)).fetchall()
    return PeerRow(*rows[0]) if rows else None


class PeerWrites:
    """Peers, conflicts and outbox writes inside a transaction."""

    def peer(self, node_id: str) -> PeerRow:
        """The peer's row; a peer never pulled has an empty one."""
        return peer_row(self.conn, node_id) or PeerRow(node_id)

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

    def enqueue(self, request_id: str, target: str, version: int, kind: str = "request") -> None:
        """Asks the courier to deliver at least this version of the document (a request, or a
        correction: `kind`; ids of either are unique across both) to target."""
        self.wakes = True
        self.conn.execute(
            "INSERT INTO outbox(request_id, target, version, kind) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(request_id, target) DO UPDATE SET version = max(version, excluded.version), next_at = 0",
            (request_id, target, version, kind))

    def delivered(self, request_id: str, target: str, version: int) -> None:
        self.conn.execute("DELETE FROM outbox WHERE request_id = ? AND target = ? AND version <= ?",
                          (request_id, target, version))

    def delivery_failed(self, request_id: str, target: str, next_at: float, error: str) -> None:
        self.conn.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                          "WHERE request_id = ? AND target = ?", (next_at, error, request_id, target))


class PeerReads:
    """Peers, conflicts and outbox reads of the store."""

    def peers(self) -> dict[str, PeerRow]:
        return {row[0]: PeerRow(*row) for row in self._all(SELECT_PEER)}

    def peer(self, node_id: str) -> PeerRow | None:
        with self.reading() as conn:
            return peer_row(conn, node_id)

    def conflicts(self, limit: int = 100) -> list[tuple]:
        return self._all(
            "SELECT peer, resource_code, held_by, reason, at FROM conflicts ORDER BY at DESC LIMIT ?", (limit,)
        )

    def conflict_counts(self) -> dict[str, tuple[int, int]]:
        """Per peer: (conflicts with another origin, entries refused for their origin, region or rules)."""
        rows = self._all("SELECT peer, sum(held_by != ''), sum(held_by = '') FROM conflicts GROUP BY peer")
        return {peer: (conflicts, refused) for peer, conflicts, refused in rows}

    def due_deliveries(self, now: float, limit: int = 100) -> list[tuple]:
        """(document id, target, version, attempts) the courier should send now, oldest first."""
        return [row[:4] for row in self.due_documents(now, limit)]

    def due_documents(self, now: float, limit: int = 100) -> list[tuple]:
        """`due_deliveries` with each row's kind of document (request or correction) last."""
        return self._all("SELECT request_id, target, version, attempts, kind FROM outbox WHERE next_at <= ? "
                         "ORDER BY next_at, rowid LIMIT ?", (now, limit))

    def outbox_summary(self) -> dict[str, tuple[int, str]]:
        """Per target: (deliveries waiting, last error)."""
        rows = self._all("SELECT target, count(*), max(last_error) FROM outbox GROUP BY target")
        return {target: (count, error) for target, count, error in rows}

    def outbox_oldest(self) -> dict[str, str]:
        """Per target: when the oldest request version still waiting for it was made (its
        `updated_at`), for the age of what the courier has not delivered yet."""
        rows = self._all("SELECT target, min(made) FROM ("
                         "SELECT o.target, r.updated_at AS made FROM outbox AS o "
                         "JOIN requests AS r ON r.request_id = o.request_id UNION ALL "
                         "SELECT o.target, c.updated_at FROM outbox AS o "
                         "JOIN corrections AS c ON c.correction_id = o.request_id) GROUP BY target")
        return {target: oldest for target, oldest in rows if oldest}
