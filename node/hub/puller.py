"""Pulling one peer: the stream handling of the hub side. `Puller.pull(peer)` streams
`PullChanges` from the stored cursor, decodes each batch (node/wire.py, in a worker process when large)
and applies it with node/hub/apply.py in one transaction together with the new cursor. When the
peer answers FAILED_PRECONDITION (a stale cursor) it runs a full resync from a `Snapshot`, slice
by slice, each slice also in one transaction with its progress, so a resync resumes where it
stopped. A pull has one deadline (`sync.call_deadline` from its start): each of its calls, and
each wait for a worker's result, gets what remains of it.
Scheduling lives in node/hub/scheduler.py.
"""

from __future__ import annotations

import time
from concurrent import futures
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterator, TypeVar

import grpc

from node import wire
from node.model import rules
from node.config import Peer, SyncSettings
from node.hub import apply
from node.hub.apply import PullResult
from node.hub.channels import PeerChannels
from node.model.sync import PeerRow
from node.proto import cascade_pb2
from node.security import audit
from node.store import Store
from node.workers import WorkerPool

T = TypeVar("T")

if TYPE_CHECKING:
    from node.sharing.corrections import Corrections
    from node.sharing.workflow import Sharing


def stage_batch(peer: Peer, message: bytes, ca_pem: bytes | None = None) -> apply.PreparedBatch:
    """A `PullChanges` message as the hub applies it (runs in a worker process); with the
    federation CA, its request versions' signatures checked."""
    return apply.prepare_batch(peer, wire.batch_from_proto(cascade_pb2.ChangeBatch.FromString(message),
                                                       with_changes=False), ca_pem)


def stage_slice(peer: Peer, message: bytes) -> apply.PreparedSlice:
    """A `Snapshot` message as the hub applies it (runs in a worker process)."""
    return apply.prepare_slice(peer, wire.slice_from_proto(cascade_pb2.SnapshotBatch.FromString(message)))


# A pulled message is handed to a worker as the bytes that came off the wire, undecoded: the hub's
# own process only counts them. An entry with its data items takes 300 to 2,000 bytes: the count
# this gives errs towards a worker.
BYTES_PER_ENTRY = 300


_CASCADE = cascade_pb2.DESCRIPTOR.services_by_name["Cascade"].full_name


def _undecoded(method: str, request_type) -> Callable[[grpc.Channel], Callable]:
    """A streaming method of the Cascade service whose replies come as bytes, not messages."""
    return lambda channel: channel.unary_stream(f"/{_CASCADE}/{method}",
                                                request_serializer=request_type.SerializeToString,
                                                response_deserializer=None)


def _one_ahead(items: Iterator[T]) -> Iterator[T]:
    """The items, each drawn before the one before it is handed on. If drawing fails, the item
    drawn before is still handed on first."""
    previous = None
    while True:
        try:
            item = next(items)
        except StopIteration:
            break
        except Exception:
            if previous is not None:
                yield previous
            raise
        if previous is not None:
            yield previous
        previous = item
    if previous is not None:
        yield previous


class PullOverdue(Exception):
    """The pull's deadline passed while it waited for a worker's result."""


class ResyncRestart(Exception):
    """The peer changed epoch during a resync; the next pull starts the resync over."""


class Puller:
    """Pulls peers into the hub's store."""

    def __init__(self, store: Store, channels: PeerChannels, settings: SyncSettings, sharing: "Sharing", log,
                 clock: Callable[[], datetime] = rules.utcnow, workers: WorkerPool | None = None,
                 ca_pem: bytes | None = None, corrections: "Corrections | None" = None,
                 elements_version: Callable[[], int] = lambda: 0):
        self.store = store
        self.corrections = corrections
        # The hub's registry of data elements: each pull tells the peer its version.
        self.elements_version = elements_version
        # A secure hub's federation CA: pulled request versions' signatures are checked with it
        # while the batch is staged, not on the applying thread (about 80 us a version).
        self.ca_pem = ca_pem
        self.workers = workers or WorkerPool(0)
        self.channels = channels
        self.settings = settings
        self.sharing = sharing
        self.log = log
        self.clock = clock

    def pull(self, peer: Peer) -> PullResult:
        """One pull: resumes an unfinished resync, then streams changes after the cursor;
        resyncs once if the peer says the cursor is stale. What it writes is on the audit trail
        in the peer's name."""
        with audit.acting_as(f"node:{peer.id}", "sync.pull"):
            return self._pull(peer, time.monotonic() + self.settings.call_deadline)

    @staticmethod
    def _left(deadline: float) -> float:
        # Before, each call had the whole deadline: a pull that resynced made up to four calls and
        # could run four deadlines (a pull of a restarted peer was seen running 120 s of 20 s).
        return max(0.001, deadline - time.monotonic())

    def _result(self, pending, deadline: float):
        try:
            return pending.result(timeout=self._left(deadline))
        except futures.TimeoutError:
            raise PullOverdue(f"a worker did not stage a batch within the pull's deadline "
                              f"({self.settings.call_deadline:g}s)") from None

    def _pull(self, peer: Peer, deadline: float) -> PullResult:
        result = PullResult()
        state = self.store.peer(peer.id) or PeerRow(peer.id)
        # An unfinished resync resumes; a cursor that names no epoch while the hub holds entries of
        # the peer (its cursor row lost or never written) cannot say what the hub has seen: resync.
        if state.resyncing or (not state.epoch and self.store.count_entries(peer.id)[0]):
            result.add(self.resync(peer, deadline))
        try:
            result.add(self._stream_changes(peer, deadline))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            self.log.warning("sync.cursor_stale", peer=peer.id, reason=exc.details())
            result.add(self.resync(peer, deadline))
            result.add(self._stream_changes(peer, deadline))
        if result.first_problem:
            self.log.warning("sync.entries_refused", peer=peer.id, refused=result.refused,
                             conflicts=result.conflicts, first=result.first_problem)
        return result

    def _stream_changes(self, peer: Peer, deadline: float) -> PullResult:
        state = self.store.peer(peer.id) or PeerRow(peer.id)
        cursor = wire.cursor_to_proto(state.cursor)
        # Entries as rows and no change records (node/wire/rows.py): a source that does not know
        # these fields sends messages as before, and the batch decodes either way.
        request = cascade_pb2.PullChangesRequest(cursor=cursor, max_batch=self.settings.batch_size,
                                                 elements_version=self.elements_version(), entry_rows=True,
                                                 without_changes=True)
        result = PullResult()
        # Each batch is decoded, checked and turned into rows (in a worker process when large)
        # while the one before it is applied.
        pull_changes = self.channels.stub(peer, _undecoded("PullChanges", cascade_pb2.PullChangesRequest))
        # Signatures are checked only for a sharing that checks them (one with a seal).
        ca_pem = self.ca_pem if self.sharing is not None and self.sharing.seal is not None else None
        staging = (self.workers.run(stage_batch, peer, message, ca_pem, items=len(message) // BYTES_PER_ENTRY)
                   for message in pull_changes(request, timeout=self._left(deadline)))
        for pending in _one_ahead(staging):
            prepared = self._result(pending, deadline)
            with self.store.transaction() as tx:
                result.add(apply.apply_batch(tx, peer, prepared, self.clock(), self.sharing, self.corrections))
        return result

    def resync(self, peer: Peer, deadline: float | None = None) -> PullResult:
        """A full resync from a consistent snapshot, resuming an unfinished one. The snapshot is
        the truth: the hub takes each entry as the peer holds it, and turns the peer's entries
        that the snapshot no longer holds into tombstones."""
        deadline = deadline or time.monotonic() + self.settings.call_deadline
        state = self.store.peer(peer.id) or PeerRow(peer.id)
        after = state.resync_after or ""
        result = PullResult(resynced=True)
        self.log.info("sync.resync_started", peer=peer.id, after_code=after)
        request = cascade_pb2.SnapshotRequest(after_code=after, max_batch=self.settings.batch_size, entry_rows=True)
        snapshot = self.channels.stub(peer, _undecoded("Snapshot", cascade_pb2.SnapshotRequest))
        staging = (self.workers.run(stage_slice, peer, message, items=len(message) // BYTES_PER_ENTRY)
                   for message in snapshot(request, timeout=self._left(deadline)))
        for pending in _one_ahead(staging):
            prepared = self._result(pending, deadline)
            part = prepared.part
            if after and part.cursor.epoch != state.resync_epoch:
                with self.store.transaction() as tx:
                    apply.restart_resync(tx, peer, part)
                raise ResyncRestart(f"peer {peer.id} changed epoch during a resync; restarting it")
            redeliver = self.store.requests_of_node(peer.id) if part.done else []
            notices = self.store.corrections_of_node(peer.id) if part.done else []
            with self.store.transaction() as tx:
                result.add(apply.apply_slice(tx, peer, prepared, self.clock(), redeliver, notices))
        self.log.info("sync.resync_finished", peer=peer.id, applied=result.applied, tombstoned=result.tombstoned)
        return result
