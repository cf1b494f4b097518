"""One FetchData at any node, in its part of the path: the consumer's node (a department asks
for its own request's data), the hub (a peer relays its consumer's call), the owner's node (the
hub relays). Each hop passes the owner's chunks on as they come, without parsing more than a
count or buffering, and records the exchange when the stream ends or breaks.

    consumer department -> its node -> hub -> owner's node -> source
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterator

import grpc

from node.errors import FailedPrecondition, NotFound, Passed, PermissionDenied, Unavailable
from node.model.exchange import ExchangeRecord
from node.exchange.provider import Provider
from node.exchange.records import Recorder
from node.proto import exchange_pb2
from node.model.request import Request

FETCH = "/node.proto.Exchange/FetchData"
# Upstream ends that mean "the path broke": the consumer resumes from the rows it has.
BROKEN = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.INTERNAL,
          grpc.StatusCode.DEADLINE_EXCEEDED)


class Upstream(Passed):
    """The next node refused or failed: its status goes back to our caller as it was."""


def fetch_call(channel: grpc.Channel):
    """FetchData on a channel, answering the chunks as bytes: a relay does not parse them."""
    return channel.unary_stream(FETCH, request_serializer=exchange_pb2.FetchDataRequest.SerializeToString,
                                response_deserializer=None)


class Exchange:
    """FetchData at this node. `hub_stub(make)` makes a callable on the channel to this node's
    hub (a provincial or ministry node), `peer_stub(node_id, make)` on one of the hub's peers
    (at the hub); see node.security.client.ChannelClosed for why they are made there."""

    def __init__(self, store, node_id: str, hub_id: str, provider: Provider, clock: Callable[[], datetime], log,
                 hub_stub: Callable[[Callable], Any] | None = None,
                 peer_stub: Callable[[str, Callable], Any] | None = None):
        self.store = store
        self.node_id = node_id
        self.hub_id = hub_id
        self.provider = provider
        self.clock = clock
        self.log = log
        self.hub_stub = hub_stub
        self.peer_stub = peer_stub

    @property
    def is_hub(self) -> bool:
        return self.peer_stub is not None

    def fetch(self, request_id: str, consumer_code: str, offset: int, from_node: str = "",
              timeout: float | None = None) -> Iterator[bytes]:
        """The serialized chunks of the request's data from `offset`; a refusal is raised before the
        first chunk (and recorded)."""
        request = self.store.get_requests([request_id]).get(request_id)
        role = "consumer" if not from_node else "hub" if self.is_hub else "owner"
        recorder = self._recorder(request, request_id, consumer_code, role, offset)
        try:
            if role == "consumer":
                chunks = self._as_consumer(request, request_id, consumer_code, offset, timeout)
            elif role == "hub":
                chunks = self._as_hub(request, request_id, consumer_code, offset, from_node, timeout)
            else:
                if from_node != self.hub_id:
                    raise PermissionDenied(f"from_node: only this node's hub ({self.hub_id}) relays a fetch here")
                chunks = self._as_owner(request_id, consumer_code, offset, recorder)
                return recorder.passing(chunks, count_rows=False)
        except Exception as exc:
            recorder.refused(exc)
            raise
        return recorder.passing(chunks)

    # -- the three parts -----------------------------------------------------------------------

    def _as_consumer(self, request: Request | None, request_id, consumer_code, offset, timeout):
        if request is None or request.consumer_node != self.node_id:
            raise NotFound(f"request_id: no request {request_id} of a department of node {self.node_id}")
        if consumer_code != request.consumer_code:
            raise PermissionDenied(f"consumer_code: {consumer_code or '(none)'} is not the consumer of request "
                                   f"{request_id}")
        if request.owner_node == self.node_id:  # between two departments of this node: it never leaves
            return self._local(request, request_id, consumer_code, offset)
        if self.is_hub:
            return self._upstream(self.peer_stub(request.owner_node, fetch_call), request, consumer_code, offset, timeout)
        if self.hub_stub is None:
            raise Unavailable(f"node {self.node_id} has no link to its hub (`hub:` in its config)")
        return self._upstream(self.hub_stub(fetch_call), request, consumer_code, offset, timeout)

    def _as_hub(self, request: Request | None, request_id, consumer_code, offset, from_node, timeout):
        if request is None:
            raise NotFound(f"request_id: the hub has no request {request_id} (yet)")
        if from_node != request.consumer_node:
            raise PermissionDenied(f"from_node: request {request_id} is not one of node {from_node}'s")
        if consumer_code != request.consumer_code:
            raise PermissionDenied(f"consumer_code: {consumer_code or '(none)'} is not the consumer of request "
                                   f"{request_id}")
        if request.owner_node == self.node_id:
            return self._local(request, request_id, consumer_code, offset)
        if not request.owner_node:
            raise FailedPrecondition("no_owner", f"request {request_id} has no owner's node")
        return self._upstream(self.peer_stub(request.owner_node, fetch_call), request, consumer_code, offset, timeout)

    def _as_owner(self, request_id, consumer_code, offset, recorder: Recorder):
        _, grant, source = self.provider.open(request_id, consumer_code, offset)
        record = recorder.record

        def counted(rows: int, size: int) -> None:
            record.rows += rows

        def chunks():
            for data in self.provider.stream(grant, source, offset, counted):
                yield data
            record.sha256 = exchange_pb2.DataChunk.FromString(data).sha256  # the tail

        return chunks()

    def _local(self, request: Request, request_id, consumer_code, offset):
        """The owner is this node: the owner's part is recorded too."""
        owner = self._recorder(request, request_id, consumer_code, "owner", offset)
        try:
            chunks = self._as_owner(request_id, consumer_code, offset, owner)
        except Exception as exc:
            owner.refused(exc)
            raise
        return owner.passing(chunks, count_rows=False)

    def _upstream(self, fetch, request: Request, consumer_code, offset, timeout) -> Iterator[bytes]:
        """The next node's chunks as they come. The call is made now, so that a refusal comes
        before our first chunk; a path that breaks later is UNAVAILABLE, to resume."""
        hop = "the hub" if not self.is_hub else f"the owner's node {request.owner_node}"
        call = fetch(exchange_pb2.FetchDataRequest(
            request_id=request.request_id, consumer_code=consumer_code, offset=offset, from_node=self.node_id),
            timeout=timeout)
        try:
            first = next(call)
        except StopIteration:
            raise Unavailable(f"{hop} ended the stream without a chunk") from None
        except grpc.RpcError as exc:
            raise self._upstream_error(exc, hop) from None

        def chunks():
            try:
                yield first
                for data in call:
                    yield data
            except grpc.RpcError as exc:
                raise self._upstream_error(exc, hop) from None
            finally:
                call.cancel()  # the consumer went away: so does the call upstream

        return chunks()

    @staticmethod
    def _upstream_error(exc: grpc.RpcError, hop: str) -> Exception:
        if exc.code() in BROKEN:
            return Unavailable(f"{hop} cannot be reached or broke off ({exc.code().name}: {exc.details()})")
        return Upstream(exc.code(), exc.details() or exc.code().name)

    def _recorder(self, request: Request | None, request_id, consumer_code, role, offset) -> Recorder:
        record = ExchangeRecord(request_id, role, consumer_code, request.owner_code if request else "",
                                request.resource_code if request else "", offset, self.clock())
        return Recorder(self.store, record, self.clock, self.log)
