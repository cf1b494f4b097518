"""A service's gRPC method handlers, made from its descriptor: what the generated
`add_*Servicer_to_server` does, except that a handler's reply may be a message or its bytes
already, passed on as they are (a reader process's page, node/api/readers.py; a relayed chunk of
data, node/exchange/relay.py)."""

from __future__ import annotations

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

KINDS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def reply_bytes(reply) -> bytes:
    return reply if isinstance(reply, bytes) else reply.SerializeToString()


def add(server: grpc.Server, service: ServiceDescriptor, servicer) -> None:
    """Registers every method of `service` on `server`, each answered by the servicer's method of
    the same name."""
    handlers = {
        method.name: KINDS[method.client_streaming, method.server_streaming](
            getattr(servicer, method.name),
            request_deserializer=message_factory.GetMessageClass(method.input_type).FromString,
            response_serializer=reply_bytes)
        for method in service.methods
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_registered_method_handlers(service.full_name, handlers)
