"""The Exchange service: FetchData (a granted request's data, streamed from the owner's node
through the hub), Query and Verify (one record by its key, the same path), MountResource and
GetMount (a source on an entry, at its own node), ListExchanges and ListCalls (the records).

FetchData's chunks are built once, at the owner's node, and passed on as bytes by every hop:
node/api/handlers.py sends a reply that is bytes as it is."""

from __future__ import annotations

from node import wire
from node.api.status_codes import rpc
from node.exchange.calls import Calls
from node.exchange.mounts import Mounts
from node.exchange.relay import Exchange
from node.proto import exchange_pb2, exchange_pb2_grpc


class ExchangeServicer(exchange_pb2_grpc.ExchangeServicer):
    def __init__(self, exchange: Exchange, mounts: Mounts, calls: Calls):
        self.exchange = exchange
        self.mounts = mounts
        self.calls = calls

    @rpc
    def FetchData(self, request, context):
        yield from self.exchange.fetch(request.request_id, request.consumer_code, request.offset,
                                       request.from_node, timeout=_onward_timeout(context))

    def _keyed(self, mode: str, request, context):
        return self.calls.call(mode, request, timeout=_onward_timeout(context))

    @rpc
    def Query(self, request, context):
        return self._keyed("query", request, context)

    @rpc
    def Verify(self, request, context):
        return self._keyed("verify", request, context)

    @rpc
    def ListCalls(self, request, context):
        if request.department_code:
            self.calls.check_party(request.request_id, request.department_code)
        self.calls.book.flush()  # what was counted a moment ago shows
        reply = exchange_pb2.ListCallsResponse()
        for count in self.exchange.store.call_counts(request.request_id, limit=min(request.limit or 100, 10_000)):
            wire.call_count_to_proto(count, reply.counts.add())
        return reply

    @rpc
    def MountResource(self, request, context):
        mount, columns = self.mounts.mount(request.resource_code, request.kind, request.location, request.table,
                                           dict(request.columns), request.credential,
                                           department=request.resource_code[:9], keys=tuple(request.keys),
                                           index=request.index, personal=dict(request.personal))
        return wire.mount_to_proto(mount, columns)

    @rpc
    def GetMount(self, request, context):
        return wire.mount_to_proto(*self.mounts.describe(request.resource_code))

    @rpc
    def ListExchanges(self, request, context):
        reply = exchange_pb2.ListExchangesResponse()
        for record in self.exchange.store.exchanges(request.request_id, limit=min(request.limit or 100, 10_000)):
            wire.exchange_record_to_proto(record, reply.exchanges.add())
        return reply


def _onward_timeout(context) -> float | None:
    """The caller's deadline, for the next hop: the seconds it has left, or None when it set none
    (gRPC then reports a remaining time of centuries)."""
    remaining = context.time_remaining()
    return remaining if remaining < 10**8 else None
