"""The book of query and verify calls on a real store: one row per request, part, mode and hour,
written every so many calls (not one transaction per call), hours past the retention dropped,
and one audit record per write holding hashes of the keys, never the keys."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import structlog
from hypothesis import given, strategies as st

from clock_support import Clock
from node.exchange.usage import CallBook
from node.security import audit
from node.security.audit_key import KeyHasher, key_hash
from node.store import Store


SECRET = bytes(range(32))


def book(tmp_path, **options):
    store = Store(tmp_path / "node.db")
    clock = Clock(datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc))
    return store, clock, CallBook(store, clock, structlog.get_logger(), functools.partial(key_hash, SECRET), **options)


def test_calls_are_summed_per_hour_and_written_every_so_many_calls(tmp_path):
    store, clock, calls = book(tmp_path, flush_calls=3, flush_seconds=3600)
    calls.count("r1", "owner", "query", keys=1, hits=1, seconds=0.004)
    calls.count("r1", "owner", "query", keys=1, not_found=1, seconds=0.002)
    assert store.call_counts() == []  # not yet: two calls
    calls.count("r1", "owner", "query", refused=True)
    [row] = store.call_counts()
    assert (row.hour, row.calls, row.keys, row.hits, row.not_found, row.refusals, row.millis) == (
        "2026-03-02T09", 3, 2, 1, 1, 1, 6)
    clock.at += timedelta(hours=1)
    calls.count("r1", "owner", "verify", keys=2, mismatches=1)
    calls.flush()
    assert [(c.hour, c.mode, c.calls) for c in store.call_counts("r1")] == [
        ("2026-03-02T09", "query", 3), ("2026-03-02T10", "verify", 1)]
    store.close()


def test_hours_past_the_retention_are_dropped_as_the_hour_turns(tmp_path):
    store, clock, calls = book(tmp_path, retention_hours=48)
    calls.count("r1", "consumer", "query", keys=1, hits=1)
    calls.flush()
    clock.at += timedelta(hours=47)
    calls.count("r1", "consumer", "query", keys=1, hits=1)
    calls.flush()
    assert len(store.call_counts()) == 2
    clock.at += timedelta(hours=2)
    calls.count("r1", "consumer", "query", keys=1, hits=1)
    calls.flush()
    assert [c.hour for c in store.call_counts()] == ["2026-03-04T08", "2026-03-04T10"]
    store.close()


def test_one_audit_record_per_write_with_hashes_of_the_keys(tmp_path):
    store, clock, calls = book(tmp_path)
    keys = [{"公民身份号码": f"44030519800101{i:03d}X"} for i in range(5)]
    calls.audit("r1", "130100005", "query", [calls.key_hash("r1", k) for k in keys[:3]])
    calls.audit("r1", "130100005", "verify", [calls.key_hash("r1", k) for k in keys[3:]])
    seq = store.audit_head()[0]
    calls.flush()
    with store.reading() as conn:
        records = [r for r in audit.tail(conn, 10) if r.seq > seq]
    assert len(records) == 1
    detail = records[0].detail
    assert "query by 130100005 under request r1: 3 keys" in detail and "verify by 130100005" in detail
    assert all(key_hash(SECRET, "r1", k) in detail and k["公民身份号码"] not in detail for k in keys)
    store.close()


@given(st.text(), st.dictionaries(st.text(), st.text(), max_size=4))
def test_a_key_s_hash_is_the_hmac_of_its_json_text(request_id, key):
    """The trail's hashes stay comparable across releases: the HMAC of the request and the sorted
    items as json.dumps writes them, for any text (quotes, controls, CJK) and any composite key."""
    text = json.dumps([request_id, sorted(key.items())], ensure_ascii=False, separators=(",", ":"))
    expected = hmac.new(SECRET, text.encode(), hashlib.sha256).hexdigest()[:16]
    assert KeyHasher(SECRET)(request_id, key) == expected == key_hash(SECRET, request_id, key)


def test_the_totals_since_start_hold_what_was_written_and_what_waits(tmp_path):
    store, clock, calls = book(tmp_path, flush_calls=3, flush_seconds=3600)
    for _ in range(3):  # written at the third
        calls.count("r1", "owner", "query", keys=2, hits=1, not_found=1)
    clock.at += timedelta(hours=2)
    calls.count("r2", "owner", "query", refused=True)  # waiting to be written, another request and hour
    calls.count("r1", "hub", "verify", keys=1, mismatches=1)
    assert [(t.role, t.mode, t.calls, t.keys, t.hits, t.not_found, t.mismatches, t.refusals)
            for t in calls.totals()] == [("hub", "verify", 1, 1, 0, 0, 1, 0), ("owner", "query", 4, 6, 3, 3, 0, 1)]
    calls.flush()
    assert [(t.role, t.mode, t.calls) for t in calls.totals()] == [("hub", "verify", 1), ("owner", "query", 4)]
