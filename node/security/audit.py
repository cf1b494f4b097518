"""The node's audit trail: one record per call that changed or disclosed something, each chained to the one before by its hash.

Record n stores prev_hash = hash of record n-1 (64 zeros for record 1) and hash = sha256 of its
own fields and prev_hash. Editing, removing, swapping or re-hashing a record breaks the chain at
that record, and `verify` names it. What the chain cannot show on its own is the loss of the
newest records or a rewrite of everything from some record on: that needs a head (seq, hash) seen
earlier elsewhere, which is why Status reports `head`.

Triggers refuse UPDATE and DELETE, so the node's own code cannot change the past by mistake;
anyone with the file can drop them, and that is what the chain is for.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone

from node.times import format_time

GENESIS = "0" * 64

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        method TEXT NOT NULL,
        object TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
)

COLUMNS = "seq, at, actor, method, object, outcome, detail, prev_hash, hash"

# Who is acting in this thread and through which call: the API's guard sets it for each call, the
# hub's puller for each pull, so that the store can name them in the record of what a
# transaction wrote without every domain function passing the caller along.
_ACTING = contextvars.ContextVar("audit_acting", default=("node", "internal"))


@contextlib.contextmanager
def acting_as(actor: str, method: str):
    token = _ACTING.set((actor, method))
    try:
        yield
    finally:
        _ACTING.reset(token)


# The departments the call acts for besides the caller's own (the data authority compiling the
# node's catalog, node/security/authz.py): the guard fills the set as it checks each message, and
# the record of the write names them after the actor.
_FOR: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("audit_for", default=None)


@contextlib.contextmanager
def acting_for(departments: set[str]):
    token = _FOR.set(departments)
    try:
        yield
    finally:
        _FOR.reset(token)


def acting() -> tuple[str, str]:
    """(actor, method) of the call under way in this thread; the actor names the departments it
    acts for, if any."""
    actor, method = _ACTING.get()
    on_behalf = _FOR.get()
    return (f"{actor} for {', '.join(sorted(on_behalf))}" if on_behalf else actor), method


@dataclasses.dataclass(frozen=True)
class Event:
    """Something to record: who (actor) did what (method) to what (object), and how it ended (outcome)."""

    actor: str
    method: str
    object: str
    outcome: str
    detail: str = ""
    at: datetime | None = None  # None: the moment it is appended


@dataclasses.dataclass(frozen=True)
class Record:
    """A stored record; `at` is kept as the exact text that was hashed."""

    seq: int
    at: str
    actor: str
    method: str
    object: str
    outcome: str
    detail: str
    prev_hash: str
    hash: str


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What verify found: the trail's head when intact, else the first broken record and why."""

    ok: bool
    count: int  # records checked before stopping
    last_seq: int
    last_hash: str
    problem_seq: int | None = None
    message: str = ""


def create_tables(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript would commit the caller's open transaction first.
    for statement in SCHEMA:
        conn.execute(statement)


def append(conn: sqlite3.Connection, actor: str, method: str, object: str, outcome: str, detail: str = "",
           at: datetime | None = None) -> Record:
    """Add one record after the current head.

    Call it inside the write transaction whose change it records, so the two commit together
    and no other writer can slip a record in between reading the head and inserting.
    """
    return append_many(conn, [Event(actor, method, object, outcome, detail, at)])[0]


def append_many(conn: sqlite3.Connection, events: Iterable[Event]) -> list[Record]:
    """Add several records in order with one read of the head and one insert statement."""
    seq, prev_hash = head(conn)
    now = None
    records = []
    for event in events:
        if event.at is None and now is None:
            now = datetime.now(timezone.utc)
        seq += 1
        record = seal(seq, format_time(event.at or now), event.actor, event.method, event.object, event.outcome,
                      event.detail, prev_hash)
        records.append(record)
        prev_hash = record.hash
    conn.executemany(f"INSERT INTO audit ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [dataclasses.astuple(record) for record in records])
    return records


def seal(seq: int, at: str, actor: str, method: str, object: str, outcome: str, detail: str,
         prev_hash: str) -> Record:
    """The record with these fields, its hash computed."""
    return Record(seq, at, actor, method, object, outcome, detail, prev_hash,
                  record_hash(seq, at, actor, method, object, outcome, detail, prev_hash))


def record_hash(seq, at, actor, method, object, outcome, detail, prev_hash) -> str:
    # A JSON array quotes and escapes every field, so no two different records share an encoding
    # (joining with a separator would let "a|b","c" collide with "a","b|c"). Types are kept too:
    # seq 7 and seq "7" hash differently.
    canonical = json.dumps([seq, at, actor, method, object, outcome, detail, prev_hash],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest record; (0, 64 zeros) for an empty trail."""
    row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def tail(conn: sqlite3.Connection, n: int) -> list[Record]:
    """The newest n records, oldest first."""
    rows = conn.execute(f"SELECT {COLUMNS} FROM audit ORDER BY seq DESC LIMIT ?", (n,)).fetchall()
    return [Record(*row) for row in reversed(rows)]


def verify(conn: sqlite3.Connection) -> Verdict:
    """Walk the trail in seq order and report the first record that breaks it, or its head."""
    count, previous = 0, None
    for row in conn.execute(f"SELECT {COLUMNS} FROM audit ORDER BY seq"):
        record = Record(*row)
        problem = _first_problem(record, previous)
        if problem is not None:
            return Verdict(False, count, *_head_of(previous), *problem)
        count, previous = count + 1, record
    message = f"{count} records intact; head is record {previous.seq}" if previous else "the trail is empty"
    return Verdict(True, count, *_head_of(previous), None, message)


def _first_problem(record: Record, previous: Record | None) -> tuple[int, str] | None:
    """(seq, sentence) of what is wrong where `record` follows `previous`, or None."""
    last_seq, last_hash = _head_of(previous)
    expected = last_seq + 1
    if record.seq != expected:
        if record.seq < expected:
            return record.seq, f"record numbered {record.seq!r} is out of place: seqs start at 1 and rise by 1"
        missing = f"record {expected}" if record.seq == expected + 1 else f"records {expected} to {record.seq - 1}"
        after = f"record {last_seq}" if previous else "the start of the trail"
        return expected, f"{missing} removed (or renumbered): record {record.seq} follows {after}"
    if record.hash != record_hash(*dataclasses.astuple(record)[:8]):
        return record.seq, f"record {record.seq} was edited: its content does not match its hash"
    if record.prev_hash != last_hash:
        if previous is None:
            return record.seq, f"record {record.seq} does not start the chain: its prev_hash is not 64 zeros"
        # This record's hash is intact and covers its prev_hash, so the link it names is genuine:
        # the record before it is the one that changed.
        return previous.seq, (f"record {previous.seq} was replaced, or edited and re-hashed: record {record.seq} "
                              f"still points at its old hash")
    return None


def _head_of(record: Record | None) -> tuple[int, str]:
    return (record.seq, record.hash) if record else (0, GENESIS)
