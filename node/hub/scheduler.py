"""The hub's pull schedule: each peer on its own interval with jitter, exponential backoff
on failure, a bounded pool of pulls at once, Notify to pull a peer sooner, never the same peer
twice at once; and the operator's view of every peer."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from concurrent import futures
from datetime import datetime

import grpc

from node.catalog import rules
from node.source.changes import Cursor
from node.errors import NotFound
from node.config import Peer
from node.proto import cascade_pb2, cascade_pb2_grpc
from node.times import format_time, parse_time
from node.hub.puller import Puller

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]


@dataclasses.dataclass(frozen=True)
class PeerState:
    """What the operator sees of one peer."""

    node_id: str
    role: str
    address: str
    cursor: Cursor
    head_seq: int
    behind: int
    seconds_since_success: float
    last_error: str
    failures: int
    backoff_seconds: float
    next_pull_in: float
    entries_at_hub: int
    entries_at_peer: int
    conflicts: int
    refused: int
    pulling: bool
    state: str
    resyncs: int
    pulling_seconds: float = 0.0
    deliveries_waiting: int = 0
    delivery_error: str = ""


@dataclasses.dataclass(frozen=True)
class Verdict:
    peer: str
    equal: bool
    at_peer: "Digest | None" = None
    at_hub: "Digest | None" = None
    error: str = ""


@dataclasses.dataclass(frozen=True)
class Digest:
    count: int
    hash: str
    epoch: str = ""
    seq: int = 0


class Hub:
    """The national role's background job: schedules pulls of every configured peer."""

    def __init__(self, node, *, rng: random.Random | None = None):
        self.node = node
        self.config = node.config
        self.settings = node.config.sync
        self.peers: dict[str, Peer] = {p.id: p for p in node.config.peers}
        self.log = node.log
        self.puller = Puller(node.store, node.config.node_id, self.settings, log=self.log, sharing=node.sharing)
        self.rng = rng or random.Random()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        now = time.monotonic()
        # Start staggered over a fraction of each interval so that 40 peers do not all hit at once.
        self._due = {p.id: now + self.rng.uniform(0, min(p.interval, 1.0) * self.settings.jitter) for p in self.peers.values()}
        self._running: set[str] = set()
        self._started: dict[str, float] = {}
        self._again: set[str] = set()
        self._failures = {p: 0 for p in self.peers}
        self._backoff = {p: 0.0 for p in self.peers}
        self._completed = {p: 0 for p in self.peers}
        self._channels: dict[str, grpc.Channel] = {}
        self._pool = futures.ThreadPoolExecutor(max_workers=self.settings.max_concurrent, thread_name_prefix="pull")
        self._thread = threading.Thread(target=self._loop, name="hub-scheduler", daemon=True)
        node.attach_hub(self)

    # -- job -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join()
        for channel in self._channels.values():
            channel.close()  # cancels pulls in flight; their batches so far are committed
        self._pool.shutdown(wait=True, cancel_futures=True)

    def channel(self, peer: Peer) -> grpc.Channel:
        if peer.id not in self._channels:
            self._channels[peer.id] = grpc.insecure_channel(peer.address, options=CHANNEL_OPTIONS)
        return self._channels[peer.id]

    # -- scheduling ------------------------------------------------------------------------

    def _loop(self) -> None:
        with self._cond:
            while not self._stop.is_set():
                now = time.monotonic()
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
                if waiting and len(self._running) < self.settings.max_concurrent:
                    self._cond.wait(min(max(0.0, min(waiting) - now), 5.0))
                else:
                    self._cond.wait(5.0)

    def _pull(self, peer: Peer) -> None:
        started = time.monotonic()
        error = ""
        try:
            result = self.puller.pull(peer, self.channel(peer))
            if result.requests:
                self.node.changed()  # new request versions: the courier has deliveries to make
            if result.applied or result.resynced or result.refused or result.conflicts or result.requests:
                self.log.info("sync.pulled", peer=peer.id, applied=result.applied, requests=result.requests,
                              batches=result.batches,
                              refused=result.refused, conflicts=result.conflicts, resynced=result.resynced,
                              tombstoned=result.tombstoned, seconds=round(time.monotonic() - started, 3))
        except Exception as exc:  # any failure backs off; the cursor keeps what was applied
            error = describe(exc)
        with self._cond:
            self._running.discard(peer.id)
            self._completed[peer.id] += 1
            now = time.monotonic()
            if error:
                self._failures[peer.id] += 1
                backoff = min(self.settings.backoff_max,
                              self.settings.backoff_initial * 2 ** (self._failures[peer.id] - 1))
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
            with self.node.store.transaction() as tx:
                tx.update_peer(peer.id, last_error=error, failures=failures,
                               last_attempt=format_time(rules.utcnow()))
        except Exception:  # the store is closing; the error is in the log
            pass

    def poke(self, peer_id: str, epoch: str = "", head_seq: int = 0) -> bool:
        """Pull this peer soon (Notify, or an operator). A peer that is being pulled is pulled
        again right after, so that changes made during the pull are not left waiting; a peer in
        backoff keeps its backoff. A Notify's head (same epoch as the cursor) is noted, so that
        status shows how far behind the hub is even while pulls fail."""
        if peer_id not in self.peers:
            return False
        if head_seq:
            self._note_head(peer_id, epoch, head_seq)
        with self._cond:
            if peer_id in self._running:
                self._again.add(peer_id)
            elif self._failures[peer_id] == 0:
                self._due[peer_id] = time.monotonic()
            self._cond.notify_all()
            return True

    def _note_head(self, peer_id: str, epoch: str, head_seq: int) -> None:
        try:
            with self.node.store.transaction() as tx:
                row = tx.peer(peer_id) or {}
                if row.get("epoch") == epoch and head_seq > (row.get("head_seq") or 0):
                    tx.update_peer(peer_id, head_seq=head_seq)
        except Exception as exc:  # a hint only: never fail the caller's Notify
            self.log.debug("notify.head_not_noted", peer=peer_id, error=str(exc))

    def sync_now(self, peer_id: str, *, wait: bool = False, timeout: float | None = None) -> list[str]:
        """Starts a pull of one peer or of all now (backoff or not); with wait, returns once
        each has finished a pull that started after this call."""
        targets = [peer_id] if peer_id else list(self.peers)
        for target in targets:
            if target not in self.peers:
                raise NotFound(f"peer: no peer {target!r} (known: {', '.join(sorted(self.peers))})")
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
        return targets

    # -- operator view ---------------------------------------------------------------------

    def peer_states(self) -> list[PeerState]:
        store = self.node.store
        rows = store.peers()
        counts = store.conflict_counts()
        outbox = store.outbox_summary()
        now_wall = rules.utcnow()
        now = time.monotonic()
        states = []
        with self._cond:
            for peer in self.peers.values():
                row = rows.get(peer.id, {})
                cursor = Cursor(row.get("epoch", ""), row.get("seq", 0))
                success = parse_time(row.get("last_success"))
                since = (now_wall - success).total_seconds() if success else -1.0
                failures = self._failures[peer.id]
                conflicts, refused = counts.get(peer.id, (0, 0))
                head = max(row.get("head_seq", 0), cursor.seq)
                states.append(PeerState(
                    node_id=peer.id, role=peer.role, address=peer.address, cursor=cursor,
                    head_seq=head, behind=head - cursor.seq, seconds_since_success=since,
                    last_error=row.get("last_error", "") if failures else "",
                    failures=failures, backoff_seconds=self._backoff[peer.id],
                    next_pull_in=max(0.0, self._due[peer.id] - now) if peer.id not in self._running else 0.0,
                    entries_at_hub=store.count_entries(peer.id)[1], entries_at_peer=row.get("entries_at_peer", -1),
                    conflicts=conflicts, refused=refused, pulling=peer.id in self._running,
                    state=_state_word(row, failures, success, peer.id in self._running), resyncs=row.get("resyncs", 0),
                    pulling_seconds=now - self._started[peer.id] if peer.id in self._running else 0.0,
                    deliveries_waiting=outbox.get(peer.id, (0, ""))[0], delivery_error=outbox.get(peer.id, (0, ""))[1],
                ))
        return states

    def verify(self, peer_id: str = "") -> list[Verdict]:
        """Compares each peer's digest of its own entries with the hub's copy of them."""
        targets = [self.peers[peer_id]] if peer_id in self.peers else list(self.peers.values())
        if peer_id and peer_id not in self.peers:
            raise NotFound(f"peer: no peer {peer_id!r}")
        verdicts = []
        for peer in targets:
            count, digest = self.node.store.digest(origin=peer.id)
            at_hub = Digest(count, digest, self.node.store.epoch, self.node.store.head_seq())
            try:
                reply = cascade_pb2_grpc.CascadeStub(self.channel(peer)).GetDigest(
                    cascade_pb2.DigestRequest(origin=peer.id), timeout=self.settings.call_deadline
                )
            except grpc.RpcError as exc:
                verdicts.append(Verdict(peer.id, False, None, at_hub, describe(exc)))
                continue
            at_peer = Digest(reply.count, reply.hash, reply.epoch, reply.seq)
            verdicts.append(Verdict(peer.id, (at_peer.count, at_peer.hash) == (count, digest), at_peer, at_hub))
        return verdicts


def _state_word(row: dict, failures: int, success: datetime | None, pulling: bool) -> str:
    if row.get("resync_after") is not None:
        return "resyncing"
    if pulling and failures == 0 and success is None:
        return "first-pull"
    if failures:
        return "failing"
    return "ok" if success else "never"


def describe(exc: Exception) -> str:
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
