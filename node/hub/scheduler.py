"""The hub's pull schedule: each peer on its own interval with jitter, exponential backoff on
failure, a bounded pool of pulls at once, Notify to pull a peer sooner, never the same peer
twice at once; a watchdog for a pull that runs past its deadline; and the operator's view of every
peer (schedule state joined with the store's)."""

from __future__ import annotations

import random
import sys
import threading
import time
import traceback
from concurrent import futures

from node.config import Peer, SyncSettings
from node.hub import apply
from node.hub.channels import PeerChannels, describe, unreachable
from node.hub.puller import Puller
from node.model import rules
from node.model.sync import PeerRow, PeerState, state_word
from node.store import Store
from node.times import parse_time


class PullScheduler:
    """The national role's background job: schedules pulls of every configured peer."""

    def __init__(self, store: Store, channels: PeerChannels, puller: Puller, settings: SyncSettings, log,
                 rng: random.Random | None = None):
        self.store = store
        self.channels = channels
        self.peers: dict[str, Peer] = channels.peers
        self.puller = puller
        self.settings = settings
        self.log = log
        self.rng = rng or random.Random()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        now = time.monotonic()
        # Start staggered over a fraction of each interval so that 40 peers do not all hit at once.
        self._due = {p.id: now + self.rng.uniform(0, min(p.interval, 1.0) * settings.jitter) for p in self.peers.values()}
        self._running: set[str] = set()
        self._started: dict[str, float] = {}
        self._threads: dict[str, int] = {}  # the thread running each pull under way (for the watchdog)
        self._overdue: set[str] = set()  # pulls under way already reported past their deadline
        self._again: set[str] = set()
        self._failures = {p: 0 for p in self.peers}
        self._backoff = {p: 0.0 for p in self.peers}
        self._notified: dict[str, float] = {}  # when each peer last sent a Notify
        self._failed_at: dict[str, float] = {}  # when a pull of each peer last failed
        self._completed = {p: 0 for p in self.peers}
        self._pool = futures.ThreadPoolExecutor(max_workers=settings.max_concurrent, thread_name_prefix="pull")
        self._thread = threading.Thread(target=self._loop, name="pull-scheduler", daemon=True)

    # -- job -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join()
        self.channels.close()  # cancels pulls in flight; their batches so far are committed
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- scheduling ------------------------------------------------------------------------

    def _loop(self) -> None:
        with self._cond:
            while not self._stop.is_set():
                now = time.monotonic()
                self._watch(now)
                for peer_id in sorted(self._due, key=self._due.get):
                    if len(self._running) >= self.settings.max_concurrent:
                        break
                    if peer_id not in self._running and self._due[peer_id] <= now:
                        self._running.add(peer_id)
                        self._started[peer_id] = now
                        self._pool.submit(self._pull, self.peers[peer_id])
                # With every pull slot taken, only a finished pull (which notifies) frees one:
                # waiting on a due time here would spin.
                waiting = [d for p, d in self._due.items() if p not in self._running]
                if not (waiting and len(self._running) < self.settings.max_concurrent):
                    waiting = []
                # wake also when a pull under way reaches its deadline, for the watchdog
                waiting += [self._started[p] + self.settings.call_deadline for p in self._running - self._overdue]
                self._cond.wait(min(max(0.01, min(waiting, default=now + 5.0) - now), 5.0))

    def _watch(self, now: float) -> None:
        """Reports, once per pull, a pull still running past its deadline: each of its calls has
        what remains of the deadline, so such a pull waits outside a call (the store's writer,
        a worker's result). Where it waits is in the log line; Status shows it as `overdue`."""
        for peer_id in self._running - self._overdue:
            past = now - self._started[peer_id] - self.settings.call_deadline
            if past < 0:
                continue
            self._overdue.add(peer_id)
            frame = sys._current_frames().get(self._threads.get(peer_id, 0))
            where = " < ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
                               for f in reversed(traceback.extract_stack(frame)[-6:])) if frame else "not started"
            self.log.warning("sync.pull_overdue", peer=peer_id, deadline_seconds=self.settings.call_deadline,
                             seconds_past=round(past, 1), waiting_in=where)

    def _pull(self, peer: Peer) -> None:
        started = time.monotonic()
        with self._cond:
            self._threads[peer.id] = threading.get_ident()
        error, link_down = "", False
        try:
            result = self.puller.pull(peer)
            if result.applied or result.resynced or result.refused or result.conflicts or result.requests:
                self.log.info("sync.pulled", peer=peer.id, applied=result.applied, requests=result.requests,
                              batches=result.batches, refused=result.refused, conflicts=result.conflicts,
                              resynced=result.resynced, tombstoned=result.tombstoned,
                              seconds=round(time.monotonic() - started, 3))
        except Exception as exc:  # any failure backs off; the cursor keeps what was applied
            error, link_down = describe(exc), unreachable(exc)
            # gRPC raises a failed stream as the call itself, and its traceback holds the frame
            # that raised it: a cycle, left to the collector with every frame of the pull, on each
            # failed pull of a peer that is down (tests/test_pull_unreachable.py).
            exc.__traceback__ = None
        with self._cond:
            self._running.discard(peer.id)
            self._overdue.discard(peer.id)
            self._completed[peer.id] += 1
            now = time.monotonic()
            if error:
                self._failures[peer.id] += 1
                backoff = min(self.settings.backoff_max,
                              self.settings.backoff_initial * 2 ** (self._failures[peer.id] - 1))
                if link_down or self._notified.get(peer.id, -1.0) >= self._failed_at.get(peer.id, float("-inf")):
                    # Backoff spares a peer that answers badly or slowly. A peer the channel
                    # cannot reach is not spared anything by it: while the channel has no
                    # connection a pull fails inside the hub at once, and the channel retries its
                    # connection every second by itself (channels.py). So such a peer, and one
                    # that told us it is alive (a link cut one way), is tried every interval:
                    # a link that heals is used within an interval whatever the peer does.
                    backoff = min(backoff, peer.interval)
                self._failed_at[peer.id] = now
                self._backoff[peer.id] = backoff
                self._due[peer.id] = now + backoff * (1 + self.rng.uniform(0, self.settings.jitter))
            else:
                self._failures[peer.id] = 0
                self._backoff[peer.id] = 0.0
                spread = peer.interval * self.settings.jitter
                self._due[peer.id] = now + peer.interval + self.rng.uniform(-spread, spread)
            if peer.id in self._again and not error:
                self._due[peer.id] = now
            self._again.discard(peer.id)
            self._cond.notify_all()
        if error:
            self._record_error(peer, error)

    def _record_error(self, peer: Peer, error: str) -> None:
        failures = self._failures[peer.id]
        self.log.warning("sync.pull_failed", peer=peer.id, error=error, failures=failures,
                         backoff_seconds=round(self._backoff[peer.id], 2))
        try:
            with self.store.transaction() as tx:
                apply.record_failure(tx, peer, error, failures, rules.utcnow())
        except Exception:  # the store is closing; the error is in the log
            pass

    def poke(self, peer_id: str, epoch: str = "", head_seq: int = 0) -> bool:
        """Pull this peer soon (Notify, or an operator). A peer that is being pulled is pulled
        again right after, so that changes made during the pull are not left waiting. A peer in
        backoff that notifies is alive, and the link may be back: it is tried again one interval
        after its last attempt rather than when a long backoff ends (a partition that heals is
        noticed within an interval or two), yet a peer that notifies on every write while cut
        off is still tried no more than once an interval. A Notify's head is noted for status."""
        if peer_id not in self.peers:
            return False
        if head_seq:
            try:
                with self.store.transaction() as tx:
                    apply.note_head(tx, peer_id, epoch, head_seq)
            except Exception as exc:  # a hint only: never fail the caller's Notify
                self.log.debug("notify.head_not_noted", peer=peer_id, error=str(exc))
        with self._cond:
            now = time.monotonic()
            self._notified[peer_id] = now
            if peer_id in self._running:
                self._again.add(peer_id)
            elif self._failures[peer_id] == 0:
                self._due[peer_id] = now
            else:
                last = self._started.get(peer_id, now)
                self._due[peer_id] = min(self._due[peer_id], max(now, last + self.peers[peer_id].interval))
            self._cond.notify_all()
            return True

    def sync_now(self, peer_id: str, *, wait: bool = False, timeout: float | None = None) -> tuple[list[str], bool]:
        """Starts a pull of one peer or of all now (backoff or not); with wait, returns once
        each has finished a pull that started after this call, or the timeout has passed.
        Returns the peers and whether every one of their pulls has finished."""
        targets = [self.channels.peer(peer_id).id] if peer_id else list(self.peers)
        with self._cond:
            marks = {}
            for target in targets:
                # A pull already running may have read before this call: count the one after it.
                marks[target] = self._completed[target] + (1 if target in self._running else 0)
                if target in self._running:
                    self._again.add(target)
                else:
                    self._due[target] = time.monotonic()
            self._cond.notify_all()
            if wait:
                deadline = None if timeout is None else time.monotonic() + timeout
                while not all(self._completed[t] > marks[t] for t in targets) and not self._stop.is_set():
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    self._cond.wait(left if left is not None else 1.0)
            finished = all(self._completed[t] > marks[t] for t in targets)
        return targets, finished

    # -- operator view ---------------------------------------------------------------------

    def peer_states(self) -> list[PeerState]:
        rows = self.store.peers()
        counts = self.store.conflict_counts()
        outbox = self.store.outbox_summary()
        live = self.store.live_by_origin()
        now_wall = rules.utcnow()
        now = time.monotonic()
        states = []
        with self._cond:
            for peer in self.peers.values():
                row = rows.get(peer.id) or PeerRow(peer.id)
                cursor = row.cursor
                success = parse_time(row.last_success)
                failures = self._failures[peer.id]
                conflicts, refused = counts.get(peer.id, (0, 0))
                head = max(row.head_seq, cursor.seq)
                pulling = peer.id in self._running
                pulling_seconds = now - self._started[peer.id] if pulling else 0.0
                overdue = max(0.0, pulling_seconds - self.settings.call_deadline) if pulling else 0.0
                waiting, delivery_error = outbox.get(peer.id, (0, ""))
                states.append(PeerState(
                    node_id=peer.id, role=peer.role, address=peer.address, cursor=cursor,
                    head_seq=head, behind=head - cursor.seq,
                    seconds_since_success=(now_wall - success).total_seconds() if success else -1.0,
                    last_error=row.last_error if failures else "",
                    failures=failures, backoff_seconds=self._backoff[peer.id],
                    next_pull_in=0.0 if pulling else max(0.0, self._due[peer.id] - now),
                    entries_at_hub=live.get(peer.id, 0), entries_at_peer=row.entries_at_peer,
                    conflicts=conflicts, refused=refused, pulling=pulling,
                    state="overdue" if overdue else state_word(row, failures, success, pulling),
                    resyncs=row.resyncs, pulling_seconds=pulling_seconds, overdue_seconds=overdue,
                    deliveries_waiting=waiting, delivery_error=delivery_error, name=peer.name,
                ))
        return states
