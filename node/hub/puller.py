"""The hub side of the cascade: pulling a peer's changes and applying them exactly once.

`Puller.pull(peer)` streams `PullChanges` from the stored cursor and applies each batch in
one transaction together with the new cursor, so a crash leaves the hub at the last applied
batch. When the peer answers FAILED_PRECONDITION it runs a full resync from a `Snapshot`,
slice by slice, each slice also in one transaction with its progress, so a resync resumes
where it stopped. Scheduling lives in node/scheduler.py.
"""

from __future__ import annotations

import dataclasses

import grpc

from node.catalog import rules
from node.catalog import regions
from node.api import serde
from node.config import Peer, SyncSettings
from node.catalog.rules import Entry, InvalidEntry
from node.proto import cascade_pb2, cascade_pb2_grpc
from node.store import Store, Transaction, prepare
from node.times import format_time


@dataclasses.dataclass
class PullResult:
    applied: int = 0
    unchanged: int = 0
    refused: int = 0
    conflicts: int = 0
    batches: int = 0
    resynced: bool = False
    tombstoned: int = 0
    requests: int = 0

    def add(self, other: "PullResult") -> None:
        for field in dataclasses.fields(self):
            if field.name != "resynced":
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        self.resynced = self.resynced or other.resynced


def refusal(peer: Peer, entry: Entry) -> str | None:
    """Why the hub refuses an entry a peer sent, or None: one source per datum means a peer
    speaks only for entries it owns, of providers in its own region (or, for a ministry, the
    centre), and only for valid entries."""
    if entry.origin != peer.id:
        return f"origin {entry.origin!r} is not the peer {peer.id!r}"
    if not regions.within(entry.region_code, peer.region_code):
        return f"region {entry.region_code} lies outside the peer's region {peer.region_code}"
    try:
        rules.validate_entry(entry)
    except InvalidEntry as exc:
        return f"invalid entry: {exc}"
    if entry.version < 1:
        return "version must be at least 1"
    return None


class ResyncRestart(Exception):
    """The peer changed epoch during a resync; the next pull starts the resync over."""


class Puller:
    """Pulls peers into the hub's store."""

    def __init__(self, store: Store, hub_id: str, settings: SyncSettings, clock=rules.utcnow, log=None,
                 sharing=None):
        self.store = store
        self.sharing = sharing
        self.hub_id = hub_id
        self.settings = settings
        self.clock = clock
        self.log = log

    def pull(self, peer: Peer, channel: grpc.Channel) -> PullResult:
        """One pull: resumes an unfinished resync, then streams changes after the cursor;
        resyncs once if the peer says the cursor is stale."""
        stub = cascade_pb2_grpc.CascadeStub(channel)
        result = PullResult()
        state = self.store.peer(peer.id) or {}
        if state.get("resync_after") is not None:
            result.add(self.resync(peer, stub))
        try:
            result.add(self._stream_changes(peer, stub))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            if self.log:
                self.log.warning("sync.cursor_stale", peer=peer.id, reason=exc.details())
            result.add(self.resync(peer, stub))
            result.add(self._stream_changes(peer, stub))
        return result

    def _stream_changes(self, peer: Peer, stub) -> PullResult:
        state = self.store.peer(peer.id) or {}
        cursor = cascade_pb2.Cursor(epoch=state.get("epoch", ""), seq=state.get("seq", 0))
        request = cascade_pb2.PullChangesRequest(cursor=cursor, max_batch=self.settings.batch_size)
        result = PullResult()
        for batch in stub.PullChanges(request, timeout=self.settings.call_deadline):
            result.add(self.apply_batch(peer, batch))
        return result

    def apply_batch(self, peer: Peer, batch: cascade_pb2.ChangeBatch) -> PullResult:
        """Applies one batch and its cursor in one transaction; a replayed batch changes nothing."""
        # Decoding, checking and building rows need no lock: done here, they overlap with the
        # SQLite work of other pulls, which runs without the GIL.
        entries = [serde.entry_from_proto(m) for m in batch.entries]
        reasons = [refusal(peer, e) for e in entries]
        rows = {e.resource_code: prepare(e) for e, reason in zip(entries, reasons) if reason is None}
        now = format_time(self.clock())
        with self.store.transaction() as tx:
            result, accepted, existing = self._screen(tx, peer, entries, reasons, now)
            writes = [e for e in accepted if e.resource_code not in existing
                      or e.version > existing[e.resource_code].version]
            tx.put_prepared([rows[e.resource_code] for e in writes])
            result.applied, result.unchanged, result.batches = len(writes), len(accepted) - len(writes), 1
            self._apply_requests(tx, peer, batch, now, result)
            fields = dict(epoch=batch.next.epoch, seq=batch.next.seq, head_seq=batch.head_seq,
                          last_success=now, last_error="", failures=0)
            if batch.last:
                fields["entries_at_peer"] = batch.live_entries
            tx.update_peer(peer.id, **fields)
        return result

    def _apply_requests(self, tx: Transaction, peer: Peer, batch: cascade_pb2.ChangeBatch, now: str,
                        result: PullResult) -> None:
        """Takes the peer's request versions (a peer speaks only for requests it is a party to)
        and hands them to the hub's sharing, whose router queues their delivery."""
        taken, problems = [], []
        for message in batch.requests:
            try:
                request = serde.request_from_proto(message)
            except InvalidEntry as exc:
                problems.append((peer.id, message.request_id or "?", "", f"invalid request: {exc}", now))
                continue
            if peer.id not in (request.consumer_node, request.owner_node):
                problems.append((peer.id, request.request_id, "", f"request does not involve {peer.id}", now))
                continue
            taken.append(request)
        if problems:
            tx.add_conflicts(problems)
            result.refused += len(problems)
        if taken and self.sharing is not None:
            result.requests = sum(applied for applied, _ in self.sharing.receive_in(tx, taken, source=peer.id))

    def resync(self, peer: Peer, stub) -> PullResult:
        """A full resync from a consistent snapshot, resuming an unfinished one. The snapshot is
        the truth: the hub takes each entry as the peer holds it, and turns the peer's entries
        that the snapshot no longer holds into tombstones (version 0, so that any later
        version of the peer's replaces them)."""
        state = self.store.peer(peer.id) or {}
        after = state.get("resync_after") or ""
        result = PullResult(resynced=True)
        if self.log:
            self.log.info("sync.resync_started", peer=peer.id, after_code=after)
        request = cascade_pb2.SnapshotRequest(after_code=after, max_batch=self.settings.batch_size)
        for part in stub.Snapshot(request, timeout=self.settings.call_deadline):
            if after and part.cursor.epoch != state.get("resync_epoch"):
                # The peer changed epoch again mid-resync: what was applied may be stale.
                with self.store.transaction() as tx:
                    tx.update_peer(peer.id, resync_after="", resync_epoch=part.cursor.epoch, resync_seq=part.cursor.seq)
                raise ResyncRestart(f"peer {peer.id} changed epoch during a resync; restarting it")
            result.add(self._apply_slice(peer, part))
        if self.log:
            self.log.info("sync.resync_finished", peer=peer.id, applied=result.applied, tombstoned=result.tombstoned)
        return result

    def _apply_slice(self, peer: Peer, part: cascade_pb2.SnapshotBatch) -> PullResult:
        entries = [serde.entry_from_proto(m) for m in part.entries]
        now = format_time(self.clock())
        with self.store.transaction() as tx:
            state = tx.peer(peer.id) or {}
            if state.get("resync_after") is None or not part.after_code:
                state = dict(state, resync_seq=part.cursor.seq)
            result, accepted, existing = self._screen(tx, peer, entries, [refusal(peer, e) for e in entries], now)
            writes = []
            for entry in accepted:
                old = existing.get(entry.resource_code)
                if old is None or (old.version, old.content_hash()) != (entry.version, entry.content_hash()):
                    writes.append(entry)
            held = tx.codes_in_range(peer.id, part.after_code, part.range_end if not part.done else None)
            sent = {e.resource_code for e in entries}
            gone = [c for c in held if c not in sent]
            tombs = [dataclasses.replace(e, withdrawn=True, version=0, updated_at=self.clock())
                     for e in tx.entries(gone).values() if not (e.withdrawn and e.version == 0)]
            tx.put_entries(writes + tombs, log=False)
            result.applied, result.unchanged, result.tombstoned = len(writes), len(accepted) - len(writes), len(tombs)
            resync_seq = min(state.get("resync_seq") or part.cursor.seq, part.cursor.seq)
            if part.done:
                self._redeliver(tx, peer)
                tx.update_peer(peer.id, epoch=part.cursor.epoch, seq=resync_seq, resync_after=None,
                             resync_epoch="", resync_seq=None, resyncs=(state.get("resyncs") or 0) + 1,
                             last_success=now, last_error="", failures=0)
            else:
                tx.update_peer(peer.id, resync_after=part.range_end, resync_epoch=part.cursor.epoch,
                             resync_seq=resync_seq)
        return result

    def _redeliver(self, tx: Transaction, peer: Peer) -> None:
        """A resynced peer may have lost request versions (a restored database): queue the hub's
        copy of every request it is a party to; a version it already has changes nothing there."""
        if self.sharing is None:
            return
        for request in self.store.requests_of_node(peer.id):
            tx.enqueue(request.request_id, peer.id, request.version)

    def _screen(self, tx: Transaction, peer: Peer, entries: list[Entry], reasons: list[str | None],
                now: str) -> tuple[PullResult, list[Entry], dict[str, Entry]]:
        """Splits the entries into those the hub takes and those it refuses, recording refusals
        and conflicts (an entry code another origin already holds keeps its first holder).
        Also returns the hub's current copies of the entries it takes."""
        result = PullResult()
        accepted: list[Entry] = []
        problems: list[tuple[str, str, str, str, str]] = []
        for entry, reason in zip(entries, reasons):
            if reason:
                problems.append((peer.id, entry.resource_code, "", reason, now))
                result.refused += 1
            else:
                accepted.append(entry)
        held = tx.entries(e.resource_code for e in accepted)
        taken = []
        for entry in accepted:
            old = held.get(entry.resource_code)
            if old is not None and old.origin != peer.id:
                problems.append((peer.id, entry.resource_code, old.origin, f"code already held by {old.origin}", now))
                result.conflicts += 1
            else:
                taken.append(entry)
        if problems:
            tx.add_conflicts(problems)
            if self.log:
                self.log.warning("sync.entries_refused", peer=peer.id, refused=result.refused,
                                 conflicts=result.conflicts, first=problems[0][3])
        return result, taken, held



