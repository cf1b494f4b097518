"""Gauges read at scrape time: the node's entries, change log, requests and file size, and at
the hub each peer's pull state, the courier's outbox and the last digest verdicts. Nothing here
runs on the write path; a scrape costs a few reads of the store."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from node.metrics.names import METRICS
from node.model.calendar import CHINA
from node.model.correction import STATES as CORRECTION_STATES
from node.model.lifecycle import escalation_bound
from node.model.request import STATES
from node.times import parse_time

if TYPE_CHECKING:
    from node.config import Config
    from node.hub.scheduler import PullScheduler
    from node.model.sync import Verdict
    from node.store import Store


def family(name: str) -> Metric:
    kind, labels, help_text = METRICS[name]
    cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
    return cls(name, help_text, labels=labels)


class Verdicts:
    """The last conclusive digest verdict per peer, noted by the hub's Verify calls.

    Copies differ for a while after every write at a peer, until the hub pulls it; that is lag,
    not a mismatch. A verdict of "differs" counts only when the hub's cursor, read before the
    digests were taken, had reached the head the peer reported with its digest: then the hub
    held everything the peer had, and the copies still differ. Other verdicts of "differs", and
    peers that did not answer, leave the last conclusive verdict as it was."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[str, tuple[bool, float]] = {}

    def note(self, verdicts: Iterable["Verdict"], cursors: dict[str, tuple[str, int]]) -> None:
        """cursors: peer -> (epoch, seq) of the hub's cursor, read before the digests."""
        now = time.time()
        with self._lock:
            for verdict in verdicts:
                if verdict.error or verdict.at_peer is None:
                    continue
                epoch, seq = cursors.get(verdict.peer, ("", -1))
                caught_up = epoch == verdict.at_peer.epoch and verdict.at_peer.seq <= seq
                if verdict.equal or caught_up:
                    self._last[verdict.peer] = (verdict.equal, now)

    def last(self) -> dict[str, tuple[bool, float]]:
        with self._lock:
            return dict(self._last)


class StateCollector(Collector):
    """Reads the node's state on every scrape; a part it cannot read (the store closing) is left
    out of that scrape and counted in cascade_metrics_collect_errors_total."""

    def __init__(self, config: "Config", store: "Store", scheduler: "PullScheduler | None",
                 clock: Callable[[], datetime], verdicts: Verdicts, errors, log,
                 readers: Callable[[], Any] | None = None, calls: Callable[[], list[Any]] | None = None):
        self.config = config
        self.readers = readers  # the reader processes' state (node/api/readers.py Status)
        self.calls = calls  # the query and verify counts since the start (node/exchange/usage.py CallBook.totals)
        self.store = store
        self.scheduler = scheduler
        self.clock = clock
        self.verdicts = verdicts
        self.errors = errors
        self.log = log
        self.intervals = {p.id: p.interval for p in config.peers}
        self.started = time.monotonic()

    def collect(self) -> Iterable[Metric]:
        info = family("cascade_node_info")
        info.add_metric([self.config.node_id, self.config.role, self.config.region_code], 1)
        yield info
        sections: list[tuple[str, Callable[[], list[Metric]]]] = [("node", self._node), ("requests", self._requests)]
        if self.readers is not None:
            sections.append(("readers", self._readers))
        if self.calls is not None:
            sections.append(("calls", self._calls))
        if self.scheduler is not None:
            sections += [("peers", self._peers), ("outbox", self._outbox), ("digest", self._digest)]
        for section, read in sections:
            try:
                families = read()
            except Exception as exc:
                self.errors.labels(section).inc()
                self.log.warning("metrics.collect_failed", section=section, error=f"{type(exc).__name__}: {exc}")
                continue
            yield from families

    # -- every node ------------------------------------------------------------------------

    def _node(self) -> list[Metric]:
        count, live = self.store.count_entries()
        entries = family("cascade_entries")
        entries.add_metric(["live"], live)
        entries.add_metric(["withdrawn"], count - live)
        head = family("cascade_change_log_head_seq")
        head.add_metric([], self.store.head_seq())
        size = family("cascade_store_size_bytes")
        size.add_metric([], _file_size(self.store.path) + _file_size(self.store.path + "-wal"))
        return [entries, head, size]

    def _readers(self) -> list[Metric]:
        status = self.readers()
        readers = family("cascade_readers")
        readers.add_metric(["wanted"], status.wanted)
        readers.add_metric(["serving"], status.serving)
        answers = family("cascade_reader_answers")
        answers.add_metric([], status.answered)
        return [readers, answers]

    def _calls(self) -> list[Metric]:
        calls, keys = family("cascade_keyed_calls"), family("cascade_keyed_call_keys")
        for c in self.calls():
            calls.add_metric([c.role, c.mode, "answered"], c.calls - c.refusals)
            calls.add_metric([c.role, c.mode, "refused"], c.refusals)
            keys.add_metric([c.role, c.mode, "hit"], c.hits)
            keys.add_metric([c.role, c.mode, "not_found"], c.not_found)
            if c.mode == "verify":
                keys.add_metric([c.role, c.mode, "mismatch"], c.mismatches)
        return [calls, keys]

    def _requests(self) -> list[Metric]:
        today = self.clock().astimezone(CHINA).date()
        bound = escalation_bound(self.config.calendar, today, self.config.lifecycle.escalation_days)
        by_state, overdue, escalated = self.store.count_requests(today.isoformat(), bound)
        requests = family("cascade_requests")
        for state in STATES:
            requests.add_metric([state], by_state.get(state, 0))
        late = family("cascade_requests_overdue")
        late.add_metric([], overdue)
        escalations = family("cascade_requests_escalated")
        escalations.add_metric([], escalated)
        by_state, overdue = self.store.count_corrections(today.isoformat())
        corrections = family("cascade_corrections")
        for state in CORRECTION_STATES:
            corrections.add_metric([state], by_state.get(state, 0))
        late_corrections = family("cascade_corrections_overdue")
        late_corrections.add_metric([], overdue)
        return [requests, late, escalations, corrections, late_corrections]

    # -- the hub ---------------------------------------------------------------------------

    def _peers(self) -> list[Metric]:
        names = ("cascade_peer_cursor_seq", "cascade_peer_head_seq", "cascade_peer_changes_behind",
                 "cascade_peer_last_success_age_seconds", "cascade_peer_pull_interval_seconds",
                 "cascade_peer_consecutive_failures", "cascade_peer_backoff_seconds", "cascade_peer_resyncs",
                 "cascade_peer_refused_entries", "cascade_peer_conflicts", "cascade_peer_entries", "cascade_peer_up")
        families = {name: family(name) for name in names}
        uptime = time.monotonic() - self.started
        for s in self.scheduler.peer_states():
            never = s.seconds_since_success < 0
            values = (s.cursor.seq, s.head_seq, s.behind, uptime if never else s.seconds_since_success,
                      self.intervals.get(s.node_id, 0.0), s.failures, s.backoff_seconds, s.resyncs, s.refused,
                      s.conflicts, s.entries_at_hub, 0 if never or s.failures else 1)
            for name, value in zip(names, values):
                families[name].add_metric([s.node_id], value)
        return list(families.values())

    def _outbox(self) -> list[Metric]:
        waiting = family("cascade_outbox_deliveries")
        for target, (count, _error) in sorted(self.store.outbox_summary().items()):
            waiting.add_metric([target], count)
        oldest = family("cascade_outbox_oldest_age_seconds")
        now = datetime.now(timezone.utc)
        for target, made in sorted(self.store.outbox_oldest().items()):
            oldest.add_metric([target], max(0.0, (now - parse_time(made)).total_seconds()))
        return [waiting, oldest]

    def _digest(self) -> list[Metric]:
        equal = family("cascade_peer_digest_equal")
        checked = family("cascade_peer_digest_verified_timestamp_seconds")
        for peer, (same, at) in sorted(self.verdicts.last().items()):
            equal.add_metric([peer], 1 if same else 0)
            checked.add_metric([peer], at)
        return [equal, checked]


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:  # ":memory:", or no write-ahead log right now
        return 0
