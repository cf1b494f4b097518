"""The Cascade service: the source side of the pull protocol (PullChanges, Snapshot, GetDigest)
and the Notify hint a peer sends its hub."""

from __future__ import annotations

from typing import Callable

from node import wire
from node.api.status_codes import rpc
from node.proto import cascade_pb2, cascade_pb2_grpc
from node.source import changes
from node.store import Store


class CascadeServicer(cascade_pb2_grpc.CascadeServicer):
    def __init__(self, store: Store, notified: Callable[[str, str, int], bool],
                 elements_announced: Callable[[int], None] = lambda version: None):
        self.store = store
        self.notified = notified
        self.elements_announced = elements_announced  # the hub's registry version, as its pull says

    @rpc
    def PullChanges(self, request, context):
        self.elements_announced(request.elements_version)
        for batch in changes.pull(self.store, wire.cursor_from_proto(request.cursor), request.max_batch):
            yield wire.batch_to_proto(batch, entry_rows=request.entry_rows, changes=not request.without_changes)

    @rpc
    def Snapshot(self, request, context):
        for part in changes.snapshot(self.store, request.after_code, request.max_batch):
            yield wire.slice_to_proto(part, entry_rows=request.entry_rows)

    @rpc
    def GetDigest(self, request, context):
        count, digest = self.store.digest(request.origin, request.code_from, request.code_to)
        return cascade_pb2.Digest(count=count, hash=digest, epoch=self.store.epoch, seq=self.store.head_seq())

    @rpc
    def Notify(self, request, context):
        accepted = self.notified(request.node_id, request.head.epoch, request.head.seq)
        return cascade_pb2.NotifyResponse(accepted=accepted)
