"""The audit trail's hash chain on its own: records verify, and tampering is found at the record it touched."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings, strategies as st

from node.security import audit
from security_support import NOW
from security_support import db  # noqa: F401 (fixtures)


# --- audit trail -------------------------------------------------------------------------------

def fill(conn, n=5):
    return [audit.append(conn, f"13010000{i}", "PublishEntries", f"130100005/{i:06d}", "ok", at=NOW + timedelta(seconds=i))
            for i in range(n)]


def tamper(conn, sql, *params):
    """Change the trail as an operator with the file could: drop the append-only triggers first."""
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    conn.execute(sql, params)


def test_appended_records_form_a_chain_that_verifies(db):
    records = fill(db)
    assert records[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert audit.head(db) == (5, records[-1].hash)
    assert audit.tail(db, 2) == records[3:]
    verdict = audit.verify(db)
    assert verdict.ok and (verdict.count, verdict.last_seq, verdict.last_hash) == (5, 5, records[-1].hash)


def test_an_empty_trail_verifies(db):
    assert audit.head(db) == (0, audit.GENESIS)
    assert audit.verify(db).ok


def test_append_many_chains_like_single_appends(db):
    events = [audit.Event("130100005", "Decide", f"request/{i}", "approved", at=NOW) for i in range(3)]
    many = audit.append_many(db, events)
    other = sqlite3.connect(":memory:")
    audit.create_tables(other)
    single = [audit.append(other, e.actor, e.method, e.object, e.outcome, at=e.at) for e in events]
    assert many == single
    assert audit.append_many(db, []) == []


def test_the_node_cannot_change_or_remove_a_record(db):
    fill(db, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET outcome = 'denied' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 2")


def test_create_tables_keeps_the_callers_transaction_open():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    audit.create_tables(conn)
    assert conn.in_transaction
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


SWAP = """UPDATE audit SET at = o.at, actor = o.actor, method = o.method, object = o.object, outcome = o.outcome,
          detail = o.detail, prev_hash = o.prev_hash, hash = o.hash
          FROM (SELECT seq, at, actor, method, object, outcome, detail, prev_hash, hash FROM audit) AS o
          WHERE (audit.seq = 2 AND o.seq = 4) OR (audit.seq = 4 AND o.seq = 2)"""


@pytest.mark.parametrize("change, seq", [
    (("UPDATE audit SET outcome = 'denied' WHERE seq = 3",), 3),
    (("UPDATE audit SET at = '2025-03-01T08:00:00.000000Z' WHERE seq = 3",), 3),
    (("UPDATE audit SET actor = '130100009' WHERE seq = 1",), 1),
    (("UPDATE audit SET prev_hash = ? WHERE seq = 3", "f" * 64), 3),
    (("UPDATE audit SET hash = ? WHERE seq = 5", "f" * 64), 5),
    ((SWAP,), 2),
    (("DELETE FROM audit WHERE seq = 3",), 3),
    (("DELETE FROM audit WHERE seq = 1",), 1),
    (("DELETE FROM audit WHERE seq IN (2, 3)",), 2),
    (("UPDATE audit SET seq = 9 WHERE seq = 3",), 3),
    (("UPDATE audit SET seq = 0 WHERE seq = 1",), 0),
], ids=["outcome", "at", "actor", "prev_hash", "hash", "swap 2 and 4", "delete middle", "delete first",
        "delete two", "move", "renumber first"])
def test_tampering_is_found_at_the_record_it_touched(db, change, seq):
    fill(db)
    tamper(db, *change)
    verdict = audit.verify(db)
    assert not verdict.ok
    assert verdict.problem_seq == seq, verdict.message
    assert f"record {seq}" in verdict.message or f"records {seq}" in verdict.message or repr(seq) in verdict.message


def test_an_edited_and_rehashed_record_is_named_by_its_successor(db):
    records = fill(db)
    forged = audit.seal(3, records[2].at, records[2].actor, records[2].method, records[2].object, "denied",
                        "", records[2].prev_hash)
    tamper(db, "UPDATE audit SET outcome = ?, hash = ? WHERE seq = 3", forged.outcome, forged.hash)
    verdict = audit.verify(db)
    assert (verdict.ok, verdict.problem_seq) == (False, 3)
    assert "re-hashed" in verdict.message


def test_losing_the_newest_record_shows_only_against_a_head_seen_before(db):
    fill(db)
    published = audit.head(db)
    tamper(db, "DELETE FROM audit WHERE seq = 5")
    assert audit.verify(db).ok
    assert audit.head(db) != published


FIELDS = ["seq", "at", "actor", "method", "object", "outcome", "detail", "prev_hash", "hash"]
EVENTS = st.builds(audit.Event, st.text(max_size=12), st.text(max_size=12), st.text(max_size=12),
                   st.sampled_from(["ok", "denied", "invalid"]), st.text(max_size=20),
                   st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(timezone.utc)))


@settings(max_examples=100, deadline=None)
@given(events=st.lists(EVENTS, min_size=1, max_size=15), data=st.data())
def test_random_trails_verify_and_any_single_edit_is_found_where_it_was_made(events, data):
    conn = sqlite3.connect(":memory:")
    audit.create_tables(conn)
    for event in events:
        audit.append(conn, **dataclasses.asdict(event))
    assert audit.verify(conn).ok
    position = data.draw(st.integers(1, len(events)), label="position")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    if field == "seq":
        value = data.draw(st.integers(len(events) + 1, 10**6), label="value")  # the record moved past the end
    else:
        value = data.draw(st.text(max_size=64), label="value")
        old = conn.execute(f"SELECT {field} FROM audit WHERE seq = ?", (position,)).fetchone()[0]
        assume(value != old)
    tamper(conn, f"UPDATE audit SET {field} = ? WHERE seq = ?", value, position)
    verdict = audit.verify(conn)
    assert (verdict.ok, verdict.problem_seq) == (False, position), verdict.message
