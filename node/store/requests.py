"""Sharing requests in the node's SQLite file: the row codec, reads by id and by party, and
request writes that log one change per version.

`RequestWrites` is mixed into `Transaction`, `RequestReads` into `Store`.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Iterable

from node.model.request import MODES, Event, Request
from node.store.kept import UntilCommit
from node.times import format_time, parse_time

KEPT_REQUESTS = 10_000  # requests kept until the next commit, the ones asked for least recently dropped first

_COLUMNS = ("request_id", "consumer_code", "consumer_node", "owner_code", "owner_node", "resource_code", "state",
            "version", "created_at", "updated_at", "deadline", "body")
UPSERT = f"INSERT OR REPLACE INTO requests ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def request_row(r: Request) -> tuple:
    body = {
        "purpose": r.purpose, "basis": r.basis, "data_items": list(r.data_items), "share_type": r.share_type,
        "reason": r.reason,
        "history": [[e.version, e.state, e.actor, format_time(e.at), e.note] + ([e.maker] if e.maker else [])
                    for e in r.history],
    }
    if r.maker:
        body["maker"] = r.maker
    if r.filter_column or r.valid_until:
        body["scope"] = {"filter_column": r.filter_column, "filter_prefix": r.filter_prefix,
                         "valid_until": r.valid_until}
    if r.modes != MODES or r.daily_quota or r.rate or r.plain or r.granted_items:
        body["grant"] = {"modes": list(r.modes), "daily_quota": r.daily_quota, "rate": r.rate}
        for name in ("plain", "granted_items"):
            if getattr(r, name):
                body["grant"][name] = list(getattr(r, name))
    if r.signer:
        # In the body, not columns of their own: nothing selects by them, and rows from before
        # signing read back as unsigned without a migration.
        body["seal"] = {"signer": r.signer, "signature": base64.b64encode(r.signature).decode(),
                        "signer_cert": base64.b64encode(r.signer_cert).decode()}
    return (r.request_id, r.consumer_code, r.consumer_node, r.owner_code, r.owner_node, r.resource_code, r.state,
            r.version, format_time(r.created_at), format_time(r.updated_at), r.deadline,
            json.dumps(body, ensure_ascii=False))


def row_request(row: tuple) -> Request:
    (request_id, consumer_code, consumer_node, owner_code, owner_node, resource_code, state, version,
     created_at, updated_at, deadline, body) = row
    data = json.loads(body)
    seal = data.get("seal")
    grant = data.get("grant")
    allowed = dict(modes=tuple(grant["modes"]), daily_quota=grant["daily_quota"], rate=grant["rate"],
                   plain=tuple(grant.get("plain", ())), granted_items=tuple(grant.get("granted_items", ()))
                   ) if grant else {}
    signed = dict(signer=seal["signer"], signature=base64.b64decode(seal["signature"]),
                  signer_cert=base64.b64decode(seal["signer_cert"])) if seal else {}
    return Request(
        request_id=request_id, consumer_code=consumer_code, consumer_node=consumer_node,
        resource_code=resource_code, owner_code=owner_code, owner_node=owner_node, purpose=data["purpose"],
        basis=data["basis"], data_items=tuple(data["data_items"]), share_type=data["share_type"], state=state,
        reason=data["reason"], version=version, created_at=parse_time(created_at), updated_at=parse_time(updated_at),
        deadline=deadline,
        # an event's sixth element, its maker, only on versions made since makers were named
        history=tuple(Event(v, s, a, parse_time(at), n, *maker) for v, s, a, at, n, *maker in data["history"]),
        maker=data.get("maker", ""),
        **data.get("scope", {}), **allowed, **signed,
    )


def requests_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, Request]:
    ids = list(ids)
    found: dict[str, Request] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM requests WHERE request_id IN "
                            f"({', '.join('?' * len(chunk))})", chunk)
        for row in rows:
            found[row[0]] = row_request(row)
    return found


def listing_where(equal: dict[str, str], states: tuple[str, ...], due_before: str) -> tuple[str, list]:
    """The WHERE clause of a listing of requests or corrections: columns equal to the values given
    (empty: any), a state among `states` (none: any), a deadline before `due_before` (empty: any)."""
    clauses, params = [], []
    for column, value in equal.items():
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if states:
        clauses.append(f"state IN ({', '.join('?' * len(states))})")
        params.extend(states)
    if due_before:
        clauses.append("deadline != '' AND deadline < ?")
        params.append(due_before)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def select_requests(conn: sqlite3.Connection, consumer_code: str, owner_code: str, states: tuple[str, ...],
                    due_before: str, offset: int, limit: int) -> list[Request]:
    where, params = listing_where({"consumer_code": consumer_code, "owner_code": owner_code}, states, due_before)
    rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM requests {where} ORDER BY created_at, request_id "
                        "LIMIT ? OFFSET ?", [*params, limit, offset])
    return [row_request(r) for r in rows]


class RequestWrites:
    """Request writes inside a transaction."""

    def requests(self, ids: Iterable[str]) -> dict[str, Request]:
        return requests_by_id(self.conn, ids)

    def put_requests(self, requests: list[Request], *, log: bool) -> list[int]:
        """Stores request versions; with log=True appends one change each (kind "request")."""
        self.conn.executemany(UPSERT, [request_row(r) for r in requests])
        if not log:
            return []
        return self.log_changes([("request", r.request_id, r.version, r.state, format_time(r.updated_at))
                                 for r in requests])


class RequestReads:
    """Request reads of the store, each in one read transaction."""

    def __init__(self, *args, **kwargs):
        self.kept_requests: UntilCommit[Request | None] = UntilCommit(KEPT_REQUESTS)
        super().__init__(*args, **kwargs)

    def get_requests(self, ids: Iterable[str]) -> dict[str, Request]:
        with self.reading() as conn:
            return requests_by_id(conn, ids)

    def get_request(self, request_id: str) -> Request | None:
        """One request, as the last commit left it: kept between commits, since Query and
        Verify read the same request at every call, hundreds of times a second, at every hop."""
        return self.kept_requests.get(request_id, self.generation,
                                      lambda: self.get_requests([request_id]).get(request_id))

    def list_requests(self, consumer_code: str, owner_code: str, states: tuple[str, ...], due_before: str,
                      offset: int, limit: int) -> list[Request]:
        with self.reading() as conn:
            return select_requests(conn, consumer_code, owner_code, states, due_before, offset, limit)

    def all_requests(self) -> list[Request]:
        with self.reading() as conn:
            return select_requests(conn, "", "", (), "", 0, -1)

    def requests_of_node(self, node_id: str) -> list[Request]:
        with self.reading() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT request_id FROM requests WHERE consumer_node = ? OR owner_node = ?", (node_id, node_id))]
            return list(requests_by_id(conn, ids).values())

    def count_requests(self, today: str, escalated_by: str = "") -> tuple[dict[str, int], int, int]:
        """Requests held here by state, how many wait past their deadline (a deadline before
        `today`, YYYY-MM-DD in the deadline's calendar: a review, an owner's answer, a
        coordination), and how many of the owner's answers and coordinations are escalated (a
        deadline before `escalated_by`; 0 without it), in one read."""
        waiting = "state IN ('review', 'pending', 'objected') AND deadline != ''"
        with self.reading() as conn:
            by_state = dict(conn.execute("SELECT state, count(*) FROM requests GROUP BY state").fetchall())
            ((overdue,),) = conn.execute(f"SELECT count(*) FROM requests WHERE {waiting} AND deadline < ?",
                                         (today,)).fetchall()
            ((escalated,),) = conn.execute(
                "SELECT count(*) FROM requests WHERE state IN ('pending', 'objected') AND deadline != '' "
                "AND deadline < ?", (escalated_by,)).fetchall() if escalated_by else ((0,),)
        return by_state, overdue, escalated
