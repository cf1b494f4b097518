"""Correction notices in the node's SQLite file: the row codec, reads by id and by party, writes
that log one change per version, and, at the owner's node only, the opened record keys (kept
apart: no change log names them, so they never leave the node).

`CorrectionWrites` is mixed into `Transaction`, `CorrectionReads` into `Store`.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Iterable

from node.model.correction import Correction
from node.model.request import Event
from node.store.requests import listing_where
from node.times import format_time, parse_time

_COLUMNS = ("correction_id", "filer_code", "filer_node", "owner_code", "owner_node", "resource_code", "state",
            "version", "created_at", "updated_at", "deadline", "body")
UPSERT = f"INSERT OR REPLACE INTO corrections ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def correction_row(c: Correction) -> tuple:
    body = {
        "data_items": list(c.data_items), "kind": c.kind, "evidence": c.evidence, "key_items": list(c.key_items),
        "sealed_key": _b64(c.sealed_key), "reason": c.reason,
        "history": [[e.version, e.state, e.actor, format_time(e.at), e.note] for e in c.history],
        "seal": {"signer": c.signer, "signature": _b64(c.signature), "signer_cert": _b64(c.signer_cert)},
    }
    return (c.correction_id, c.filer_code, c.filer_node, c.owner_code, c.owner_node, c.resource_code, c.state,
            c.version, format_time(c.created_at), format_time(c.updated_at), c.deadline,
            json.dumps(body, ensure_ascii=False))


def row_correction(row: tuple) -> Correction:
    (correction_id, filer_code, filer_node, owner_code, owner_node, resource_code, state, version,
     created_at, updated_at, deadline, body) = row
    data = json.loads(body)
    seal = data["seal"]
    return Correction(
        correction_id=correction_id, filer_code=filer_code, filer_node=filer_node, resource_code=resource_code,
        owner_code=owner_code, owner_node=owner_node, data_items=tuple(data["data_items"]), kind=data["kind"],
        evidence=data["evidence"], key_items=tuple(data["key_items"]),
        sealed_key=base64.b64decode(data["sealed_key"]), state=state, reason=data["reason"], version=version,
        created_at=parse_time(created_at), updated_at=parse_time(updated_at), deadline=deadline,
        history=tuple(Event(v, s, a, parse_time(at), n) for v, s, a, at, n in data["history"]),
        signer=seal["signer"], signature=base64.b64decode(seal["signature"]),
        signer_cert=base64.b64decode(seal["signer_cert"]))


def corrections_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Correction]:
    ids = list(ids)
    found: dict[str, Correction] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM corrections WHERE correction_id IN "
                            f"({', '.join('?' * len(chunk))})", chunk)
        for row in rows:
            found[row[0]] = row_correction(row)
    return found


def select_corrections(conn: sqlite3.Connection, filer_code: str, owner_code: str, state: str, due_before: str,
                       offset: int, limit: int) -> list[Correction]:
    where, params = listing_where({"filer_code": filer_code, "owner_code": owner_code}, (state,) if state else (),
                                  due_before)
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM corrections {where} "
                        "ORDER BY created_at, correction_id LIMIT ? OFFSET ?", [*params, limit, offset])
    return [row_correction(r) for r in rows]


class CorrectionWrites:
    """Correction writes inside a transaction."""

    def corrections(self, ids: Iterable[str]) -> dict[str, Correction]:
        return corrections_by_id(self.conn, ids)

    def put_corrections(self, corrections: list[Correction], *, log: bool) -> list[int]:
        """Stores correction versions; with log=True appends one change each (kind "correction")."""
        self.conn.executemany(UPSERT, [correction_row(c) for c in corrections])
        if not log:
            return []
        return self.log_changes([("correction", c.correction_id, c.version, c.state, format_time(c.updated_at))
                                 for c in corrections])

    def keep_correction_key(self, correction_id: str, key: dict[str, str]) -> None:
        """The opened key of a correction this node owns (never logged, never sent)."""
        self.conn.execute("INSERT OR REPLACE INTO correction_keys(correction_id, key) VALUES (?, ?)",
                          (correction_id, json.dumps(key, ensure_ascii=False)))


    def new_findings(self, digests: list[str]) -> list[str]:
        """Of these discrepancy digests, those the cross-check has not filed yet."""
        known = set()
        for start in range(0, len(digests), 500):
            chunk = digests[start:start + 500]
            known |= {row[0] for row in self.conn.execute(
                f"SELECT digest FROM crosscheck_findings WHERE digest IN ({', '.join('?' * len(chunk))})", chunk)}
        return [d for d in digests if d not in known]

    def add_finding(self, digest: str, correction_id: str, at: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO crosscheck_findings(digest, correction_id, found_at) VALUES (?, ?, ?)",
                          (digest, correction_id, at))

    def add_crosscheck_run(self, check_name: str, resource_code: str, at: str, checked: int, mismatches: int,
                           not_found: int, filed: int, seconds: float, detail: str) -> None:
        self.conn.execute("INSERT INTO crosscheck_runs(check_name, resource_code, at, checked, mismatches, not_found, "
                          "filed, seconds, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (check_name, resource_code, at, checked, mismatches, not_found, filed, seconds, detail))


class CorrectionReads:
    """Correction reads of the store, each in one read transaction."""

    def get_corrections(self, ids: Iterable[str]) -> dict[str, Correction]:
        with self.reading() as conn:
            return corrections_by_id(conn, ids)

    def list_corrections(self, filer_code: str, owner_code: str, state: str, due_before: str, offset: int,
                         limit: int) -> list[Correction]:
        with self.reading() as conn:
            return select_corrections(conn, filer_code, owner_code, state, due_before, offset, limit)

    def all_corrections(self) -> list[Correction]:
        with self.reading() as conn:
            return select_corrections(conn, "", "", "", "", 0, -1)

    def corrections_of_node(self, node_id: str) -> list[Correction]:
        with self.reading() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT correction_id FROM corrections WHERE filer_node = ? OR owner_node = ?", (node_id, node_id))]
            return list(corrections_by_id(conn, ids).values())

    def correction_key(self, correction_id: str) -> dict[str, str] | None:
        rows = self._all("SELECT key FROM correction_keys WHERE correction_id = ?", (correction_id,))
        return json.loads(rows[0][0]) if rows else None

    def crosscheck_runs(self, limit: int = 100) -> list[tuple]:
        """(check, resource_code, at, checked, mismatches, not_found, filed, seconds, detail), newest first."""
        return self._all("SELECT check_name, resource_code, at, checked, mismatches, not_found, filed, seconds, detail "
                         "FROM crosscheck_runs ORDER BY id DESC LIMIT ?", (limit,))

    def count_corrections(self, today: str) -> tuple[dict[str, int], int]:
        """Corrections held here by state, and how many are open past their deadline."""
        with self.reading() as conn:
            by_state = dict(conn.execute("SELECT state, count(*) FROM corrections GROUP BY state").fetchall())
            ((overdue,),) = conn.execute("SELECT count(*) FROM corrections WHERE state = 'open' AND deadline != '' "
                                         "AND deadline < ?", (today,)).fetchall()
        return by_state, overdue
