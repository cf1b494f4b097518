"""The hub's courier: delivers sharing requests and their decisions, and correction notices and
their answers, to the nodes they concern, from a persistent outbox, retried with backoff until
the node acknowledges. Each outbox row names its kind of document; `DOCUMENTS` says, per kind,
how to read it from the store and how to hand it over.

Every request version the hub stores (pulled from a peer, or made at the hub) is queued in the
outbox for each party node other than the hub and the node it came from (node/sharing/workflow.py,
by the rule `recipients`), in the same transaction as the version itself, so a hub killed between
pulling a request and delivering it delivers it after restart. The courier drains the outbox; the
store wakes it after each commit that queued something. Delivery is idempotent at the receiver
(by id and version)."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, NamedTuple

import grpc

from node import wire
from node.background import BackgroundLoop
from node.hub.channels import PeerChannels, describe
from node.proto import corrections_pb2, corrections_pb2_grpc, sharing_pb2, sharing_pb2_grpc
from node.store import Store



class Document(NamedTuple):
    """One kind of document the courier carries: how to read it, and the call that delivers it."""

    read: Callable[[Store, str], Any]  # (store, id) -> the version held, or None
    deliver: Callable[[grpc.Channel, Any, str], Any]  # (channel, version, hub id) -> the reply (has .applied)


def _deliver_request(channel, request, hub_id: str):
    return sharing_pb2_grpc.SharingStub(channel).DeliverRequest(sharing_pb2.DeliverRequestRequest(
        request=wire.request_to_proto(request), from_node=hub_id), timeout=DELIVERY_DEADLINE)


def _deliver_correction(channel, correction, hub_id: str):
    return corrections_pb2_grpc.CorrectionsStub(channel).DeliverCorrection(corrections_pb2.DeliverCorrectionRequest(
        correction=wire.correction_to_proto(correction), from_node=hub_id), timeout=DELIVERY_DEADLINE)


DOCUMENTS = {
    "request": Document(lambda store, key: store.get_requests([key]).get(key), _deliver_request),
    "correction": Document(lambda store, key: store.get_corrections([key]).get(key), _deliver_correction),
}

POLL = 0.5
BACKOFF_MAX = 30.0
DELIVERY_DEADLINE = 5.0


class Courier(BackgroundLoop):
    """The delivery loop (a background job of the hub)."""

    def __init__(self, store: Store, channels: PeerChannels, hub_id: str, log):
        self.store = store
        self.channels = channels
        self.hub_id = hub_id
        self.log = log
        self._wake = threading.Event()
        super().__init__("courier")

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            self._wake.wait(POLL)
            self._wake.clear()
            try:
                while self._deliver_due() and not self.stopping.is_set():
                    pass
            except Exception as exc:  # the store is closing, or a bug: logged, retried next round
                self.log.warning("courier.round_failed", error=describe(exc))

    def _deliver_due(self) -> int:
        due = self.store.due_documents(time.time())
        for request_id, target, version, attempts, kind in due:
            if self.stopping.is_set():
                break
            self._deliver(request_id, target, attempts, kind)
        return len(due)

    def _deliver(self, request_id: str, target: str, attempts: int, kind: str = "request") -> None:
        document = DOCUMENTS.get(kind)
        request = document.read(self.store, request_id) if document else None
        peer = self.channels.peers.get(target)
        error = ""
        if request is None:
            error = f"{kind} vanished from the hub"
        elif peer is None:
            error = f"node {target!r} is not a peer of this hub"
        else:
            try:
                reply = document.deliver(self.channels.stub(peer, lambda channel: channel), request, self.hub_id)
                with self.store.transaction() as tx:
                    tx.delivered(request_id, target, request.version)
                self.log.info("courier.delivered", request_id=request_id, kind=kind, target=target,
                              version=request.version, state=request.state, applied=reply.applied)
                return
            except grpc.RpcError as exc:
                error = describe(exc)
        backoff = min(BACKOFF_MAX, 0.25 * 2 ** attempts)
        with self.store.transaction() as tx:
            tx.delivery_failed(request_id, target, time.time() + backoff, error)
        self.log.warning("courier.delivery_failed", request_id=request_id, target=target, error=error,
                         attempts=attempts + 1, retry_in=backoff)

