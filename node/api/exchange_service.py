"""The Exchange service: FetchData (a granted request's data, streamed from the owner's node
through the hub), MountResource and GetMount (a source on an entry, at its own node).

FetchData's chunks are built once, at the owner's node, and passed on as bytes by every hop:
the service is registered with a serializer that sends bytes as they are."""

from __future__ import annotations

import grpc

from node import wire
from node.api.status_codes import abort_with_status, rpc
from node.exchange.mounts import Mounts
from node.exchange.relay import Exchange, Upstream
from node.proto import exchange_pb2, exchange_pb2_grpc

SERVICE = "node.proto.Exchange"



class ExchangeServicer(exchange_pb2_grpc.ExchangeServicer):
    def __init__(self, exchange: Exchange, mounts: Mounts):
        self.exchange = exchange
        self.mounts = mounts

    def FetchData(self, request, context):
        remaining = context.time_remaining()  # the caller's deadline goes on to the next hop; none stays none
        try:
            chunks = self.exchange.fetch(request.request_id, request.consumer_code, request.offset,
                                         request.from_node, timeout=remaining if remaining < 10**8 else None)
            yield from chunks
        except Upstream as exc:
            context.abort(exc.code, exc.details)
        except Exception as exc:
            abort_with_status(context, exc)

    @rpc
    def MountResource(self, request, context):
        mount, columns = self.mounts.mount(request.resource_code, request.kind, request.location, request.table,
                                           dict(request.columns), request.credential,
                                           department=request.resource_code[:9])
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


def _chunk_bytes(chunk) -> bytes:
    return chunk if isinstance(chunk, bytes) else chunk.SerializeToString()


def add_to_server(servicer: ExchangeServicer, server: grpc.Server) -> None:
    handlers = {
        "FetchData": grpc.unary_stream_rpc_method_handler(
            servicer.FetchData, request_deserializer=exchange_pb2.FetchDataRequest.FromString,
            response_serializer=_chunk_bytes),
        "MountResource": grpc.unary_unary_rpc_method_handler(
            servicer.MountResource, request_deserializer=exchange_pb2.MountResourceRequest.FromString,
            response_serializer=exchange_pb2.Mount.SerializeToString),
        "GetMount": grpc.unary_unary_rpc_method_handler(
            servicer.GetMount, request_deserializer=exchange_pb2.GetMountRequest.FromString,
            response_serializer=exchange_pb2.Mount.SerializeToString),
        "ListExchanges": grpc.unary_unary_rpc_method_handler(
            servicer.ListExchanges, request_deserializer=exchange_pb2.ListExchangesRequest.FromString,
            response_serializer=exchange_pb2.ListExchangesResponse.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
