"""The exchange's tables in the node's SQLite file: mounts (never in the change log: a mount
stays at its node), the record of every exchange this node took part in, and the counts of
query and verify calls per request and hour.

`ExchangeWrites` is mixed into `Transaction`, `ExchangeReads` into `Store`.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Sequence

from node.model.exchange import COUNTED, CallCount, ExchangeRecord, Mount
from node.times import format_time, parse_time

_MOUNT = ("resource_code", "kind", "location", "table_name", "columns", "credential", "mounted_at", "mounted_by",
          "keys", "personal")
_RECORD = ("request_id", "role", "consumer_code", "owner_code", "resource_code", "start_offset", "rows", "bytes",
           "sha256", "started", "finished", "outcome", "detail")


def _mount(row: tuple) -> Mount:
    code, kind, location, table, columns, credential, at, by, keys, personal = row
    return Mount(code, kind, location, table, tuple(tuple(pair) for pair in json.loads(columns)), credential,
                 parse_time(at), by, keys=tuple(json.loads(keys)),
                 personal=tuple(tuple(pair) for pair in json.loads(personal)))


def _record(row: tuple) -> ExchangeRecord:
    (request_id, role, consumer, owner, resource, offset, rows, size, sha256, started, finished, outcome,
     detail) = row
    return ExchangeRecord(request_id, role, consumer, owner, resource, offset, parse_time(started), rows, size, sha256,
                          parse_time(finished), outcome, detail)


def mount_detail(mount: Mount) -> str:
    """What a mount's audit record says of it: the department, the kind, where and which table
    (a URL without its query, which may hold a key; a credential by name only)."""
    location = mount.location
    if mount.kind == "http":
        location = urllib.parse.urlunsplit(urllib.parse.urlsplit(location)._replace(query="", fragment=""))
    parts = [f"department {mount.resource_code[:9]}", f"kind {mount.kind}", f"location {location}"]
    if mount.table:
        parts.append(f"table {mount.table}")
    if mount.credential:
        parts.append(f"credential {mount.credential}")
    if mount.keys:
        parts.append(f"keys {'+'.join(mount.keys)}")
    if mount.personal:
        parts.append(f"personal {', '.join(f'{item} ({rule})' for item, rule in mount.personal)}")
    return ", ".join(parts)


class ExchangeWrites:
    def put_mount(self, mount: Mount) -> None:
        self.conn.execute(f"INSERT OR REPLACE INTO mounts ({', '.join(_MOUNT)}) VALUES ({', '.join('?' * len(_MOUNT))})",
                          (mount.resource_code, mount.kind, mount.location, mount.table,
                           json.dumps([list(pair) for pair in mount.columns], ensure_ascii=False), mount.credential,
                           format_time(mount.mounted_at), mount.mounted_by,
                           json.dumps(list(mount.keys), ensure_ascii=False),
                           json.dumps([list(pair) for pair in mount.personal], ensure_ascii=False)))
        self.record("mount", [mount.resource_code], mount_detail(mount))

    def count_calls(self, counts: list[CallCount]) -> None:
        """Adds the counts to their (request, part, mode, hour) rows."""
        names = ("request_id", "role", "mode", "hour", *COUNTED)
        self.conn.executemany(
            f"INSERT INTO calls ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT (request_id, role, mode, hour) DO UPDATE SET "
            + ", ".join(f"{c} = {c} + excluded.{c}" for c in COUNTED),
            [tuple(getattr(c, n) for n in names) for c in counts])

    def grant_calls(self, request_id: str, day: str, call_ids: Sequence[str]) -> tuple[int, set[str]]:
        """The calls counted against the grant on `day`, and which of `call_ids` are among them."""
        (used,) = self.conn.execute("SELECT COALESCE(SUM(calls), 0) FROM grant_calls WHERE request_id = ? AND day = ?",
                                    (request_id, day)).fetchone()
        seen = {call_id for call_id in call_ids if call_id and self.conn.execute(
            "SELECT 1 FROM grant_calls WHERE request_id = ? AND call_id = ?", (request_id, call_id)).fetchone()}
        return used, seen

    def charge_grant(self, request_id: str, day: str, charges: Sequence[tuple[str, int]]) -> None:
        """Counts each (call id, calls) against the grant on `day`."""
        self.conn.executemany("INSERT INTO grant_calls (request_id, call_id, day, calls) VALUES (?, ?, ?, ?)",
                              [(request_id, call_id, day, calls) for call_id, calls in charges])

    def prune_grant_calls(self, before_day: str) -> None:
        self.conn.execute("DELETE FROM grant_calls WHERE day < ?", (before_day,))

    def prune_calls(self, before_hour: str) -> int:
        """Drops the counts of hours before `before_hour` (the retention); returns how many rows."""
        return self.conn.execute("DELETE FROM calls WHERE hour < ?", (before_hour,)).rowcount

    def add_exchange(self, r: ExchangeRecord) -> None:
        self.conn.execute(f"INSERT INTO exchanges ({', '.join(_RECORD)}) VALUES ({', '.join('?' * len(_RECORD))})",
                          (r.request_id, r.role, r.consumer_code, r.owner_code, r.resource_code, r.offset, r.rows,
                           r.bytes, r.sha256, format_time(r.started), format_time(r.finished), r.outcome, r.detail))


class ExchangeReads:
    def get_mount(self, resource_code: str) -> Mount | None:
        with self.reading() as conn:
            row = conn.execute(f"SELECT {', '.join(_MOUNT)} FROM mounts WHERE resource_code = ?",
                               (resource_code,)).fetchone()
        return None if row is None else _mount(row)

    def exchanges(self, request_id: str = "", role: str = "", limit: int = -1) -> list[ExchangeRecord]:
        clauses, params = [], []
        for column, value in (("request_id", request_id), ("role", role)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(_RECORD)} FROM exchanges {where} ORDER BY id DESC LIMIT ?",
                                [*params, limit]).fetchall()
        return [_record(r) for r in reversed(rows)]

    def call_counts(self, request_id: str = "", limit: int = -1) -> list[CallCount]:
        """The newest `limit` rows of call counts (of one request, or all), oldest first."""
        names = ("request_id", "role", "mode", "hour", *COUNTED)
        where, params = ("WHERE request_id = ?", [request_id]) if request_id else ("", [])
        with self.reading() as conn:
            rows = conn.execute(f"SELECT {', '.join(names)} FROM calls {where} ORDER BY hour DESC, request_id, role, "
                                f"mode LIMIT ?", [*params, limit]).fetchall()
        return [CallCount(*r) for r in reversed(rows)]

    def exchange_totals(self, role: str, since: str = "", until: str = "") -> list[tuple[str, str, int, int]]:
        """(consumer_code, owner_code, rows delivered, fetches completed) over this node's records in
        that role, started at or after `since` and before `until` (stored times; empty: unbounded)."""
        with self.reading() as conn:
            return conn.execute("SELECT consumer_code, owner_code, sum(rows), sum(outcome = 'ok') FROM exchanges "
                                "WHERE role = ? AND started >= ? AND (? = '' OR started < ?) "
                                "GROUP BY consumer_code, owner_code", (role, since, until, until)).fetchall()

    def call_totals(self, role: str, since: str = "", until: str = "", *, local: bool = False
                    ) -> list[tuple[str, str, int]]:
        """(consumer_code, owner_code, calls answered) of the query and verify
        calls this node counted in that role, in the hours from `since` to before `until` (stored
        times; empty: unbounded), by the request's parties. `local`: only requests whose consumer
        and owner are of one node (calls that never reach the hub)."""
        with self.reading() as conn:
            return conn.execute(
                "SELECT r.consumer_code, r.owner_code, sum(c.calls - c.refusals) FROM calls c "
                "JOIN requests r ON r.request_id = c.request_id "
                "WHERE c.role = ? AND c.hour >= substr(?, 1, 13) AND (? = '' OR c.hour < substr(?, 1, 13)) "
                + ("AND r.consumer_node = r.owner_node " if local else "")
                + "GROUP BY r.consumer_code, r.owner_code", (role, since, until, until)).fetchall()

    def all_mounts(self) -> list[Mount]:
        """Every mount made here by MountResource (the config's are the config's)."""
        with self.reading() as conn:
            return [_mount(row) for row in conn.execute(f"SELECT {', '.join(_MOUNT)} FROM mounts "
                                                        "ORDER BY resource_code")]
