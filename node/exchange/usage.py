"""Records of use of Query and Verify: at each node a call passes (consumer, hub, owner), per
request, part, mode and hour, the calls, keys asked, hits, not found, mismatches, refusals and
time taken; and at the owner's node, on its audit trail, each call's grant and a keyed hash of
each key asked (never the key itself).

Calls come by the thousand a second: they are summed in memory and written together, every
FLUSH_CALLS calls or FLUSH_SECONDS, and whenever the counts are read or the node stops, so the
tables grow by one row per request and hour and the audit trail by one record per flush, not
one per call. Hours older than the retention are dropped as the hour turns."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Mapping

from node.model.exchange import CallCount

FLUSH_CALLS = 500
FLUSH_SECONDS = 2.0
RETENTION_HOURS = 24 * 90


def hour_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}"  # strftime's, cheaper


KeyHash = Callable[[str, Mapping[str, str]], str]  # (request id, key) -> what the trail keeps of the key


class CallBook:
    """`key_hash(request_id, key)` is the node's keyed hash of a key (node/security/audit_key.py):
    an HMAC under a secret of the node's, so that the trail's hashes cannot be reversed by
    hashing every ID number."""

    def __init__(self, store, clock: Callable[[], datetime], log, key_hash: KeyHash,
                 retention_hours: int = RETENTION_HOURS, flush_calls: int = FLUSH_CALLS,
                 flush_seconds: float = FLUSH_SECONDS):
        self.store, self.clock, self.log = store, clock, log
        self.key_hash = key_hash
        self.retention_hours = retention_hours
        self.flush_calls, self.flush_seconds = flush_calls, flush_seconds
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str, str], CallCount] = {}
        # (role, mode) -> what was flushed since the node started, for its metrics (`totals`)
        self._totals: dict[tuple[str, str], CallCount] = {}
        self._audit: dict[tuple[str, str, str], list[str]] = {}  # (request, consumer, mode) -> key hashes
        self._pending = 0
        self._last_flush = time.monotonic()
        self._pruned_hour = ""

    def count(self, request_id: str, role: str, mode: str, *, calls: int = 1, keys: int = 0, hits: int = 0,
              not_found: int = 0, mismatches: int = 0, refused: bool = False, seconds: float = 0.0) -> None:
        hour = hour_of(self.clock())
        with self._lock:
            slot = (request_id, role, mode, hour)
            c = self._counts.get(slot)
            if c is None:
                c = self._counts[slot] = CallCount(request_id, role, mode, hour)
            c.calls += calls
            c.keys += keys
            c.hits += hits
            c.not_found += not_found
            c.mismatches += mismatches
            c.refusals += calls if refused else 0
            c.millis += round(seconds * 1000)
            self._pending += calls
            due = self._pending >= self.flush_calls or time.monotonic() - self._last_flush >= self.flush_seconds
        if due:
            self.flush()

    def totals(self) -> list[CallCount]:
        """Per part and mode, what this node counted since it started (request and hour empty):
        what its metrics export (cascade_keyed_calls_total, cascade_keyed_call_keys_total). Made
        when read, from what was flushed and what waits to be: a call adds nothing here."""
        with self._lock:
            totals = {key: dataclasses.replace(c) for key, c in self._totals.items()}
            _sum_into(totals, self._counts.values())
        return [c for _, c in sorted(totals.items())]

    def audit(self, request_id: str, consumer_code: str, mode: str, hashes: list[str]) -> None:
        """The owner's part: the keys a served call asked, for the audit trail, as their key_hash()."""
        with self._lock:
            self._audit.setdefault((request_id, consumer_code, mode), []).extend(hashes)

    def flush(self) -> None:
        """Writes what was counted since the last flush in one transaction, with one audit record."""
        with self._lock:
            counts, self._counts = list(self._counts.values()), {}
            _sum_into(self._totals, counts)
            audit, self._audit = self._audit, {}
            self._pending, self._last_flush = 0, time.monotonic()
        if not counts and not audit:
            return
        hour = hour_of(self.clock())
        try:
            with self.store.transaction() as tx:
                if hour != self._pruned_hour:  # the hour turned: drop what is past the retention first
                    tx.prune_calls(hour_of(self.clock() - timedelta(hours=self.retention_hours)))
                    self._pruned_hour = hour
                tx.count_calls(counts)
                if audit:
                    tx.record("call", sorted({request_id for request_id, _, _ in audit}),
                              "; ".join(f"{mode} by {consumer} under request {request_id}: {len(hashes)} keys, "
                                        f"hmac-sha256 {' '.join(hashes)}"
                                        for (request_id, consumer, mode), hashes in sorted(audit.items())))
        except Exception as failure:  # the store is closing: the counts of the last moments are lost, not the calls
            self.log.warning("calls.flush_failed", error=str(failure), counts=len(counts))


def _sum_into(totals: dict[tuple[str, str], CallCount], counts) -> None:
    """Adds each count to its part and mode's total."""
    for c in counts:
        total = totals.get((c.role, c.mode))
        if total is None:
            total = totals[c.role, c.mode] = CallCount("", c.role, c.mode, "")
        total.add(c)
