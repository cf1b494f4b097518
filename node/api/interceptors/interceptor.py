"""The shape every interceptor of the chain shares: it is handed a call's behaviour (the next
interceptor's, or at the end the servicer's) and returns it wrapped with its one concern."""

from __future__ import annotations

import grpc


class Interceptor(grpc.ServerInterceptor):
    """Subclasses write `wrap`; a stream's reply side (`streams_out`) must be wrapped by a
    generator, so that what the interceptor holds lasts as long as the stream does."""

    def __init__(self):
        # method -> (the next handler, it wrapped): gRPC asks on every call, and the handler
        # behind a method stays the same, so each is wrapped once (a race wraps it twice, harmlessly).
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:
            return None  # no such method: gRPC answers UNIMPLEMENTED
        known = self._wrapped.get(details.method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap_handler(details.method, handler)
        self._wrapped[details.method] = (handler, wrapped)
        return wrapped

    def _wrap_handler(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(
                self.wrap(method, handler.stream_stream, streams_in=True, streams_out=True),
                handler.request_deserializer, handler.response_serializer)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(
                self.wrap(method, handler.stream_unary, streams_in=True, streams_out=False),
                handler.request_deserializer, handler.response_serializer)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(
                self.wrap(method, handler.unary_stream, streams_in=False, streams_out=True),
                handler.request_deserializer, handler.response_serializer)
        return grpc.unary_unary_rpc_method_handler(
            self.wrap(method, handler.unary_unary, streams_in=False, streams_out=False),
            handler.request_deserializer, handler.response_serializer)

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        """`behaviour(request, context)` with this interceptor's concern around it; `request` is an
        iterator of messages when `streams_in`, and the result one when `streams_out`."""
        raise NotImplementedError
