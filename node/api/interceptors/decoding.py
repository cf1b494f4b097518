"""Decoding: request bytes that are not the method's message end the call as INVALID_ARGUMENT.

gRPC decodes a request before any handler runs, and a deserializer that raises makes it answer
INTERNAL ("Exception deserializing request!"), which says the node is broken when the caller
is. So this interceptor hands gRPC a deserializer that never raises: bytes that do not decode
become an `Undecodable` marker, and the call (or the stream, at that message) ends here with
INVALID_ARGUMENT before anyone reads the request."""

from __future__ import annotations

import grpc

from node.api.interceptors.interceptor import Interceptor


class Undecodable:
    """What arrived in place of a request message: `size` bytes that did not decode."""

    def __init__(self, size: int, reason: str):
        self.size = size
        self.reason = reason


def tolerant(deserialize):
    """`deserialize`, but returning an Undecodable instead of raising."""
    if deserialize is None:
        return None

    def decode(data: bytes):
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, or bad UTF-8 in a string field: the caller's fault either way
            return Undecodable(len(data), type(exc).__name__)
    return decode


def _refuse(context, method: str, undecodable: Undecodable):
    context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                  f"{method}: the request ({undecodable.size} bytes) is not a valid message for this method "
                  f"({undecodable.reason})")


class Decoding(Interceptor):
    """Before identity and authorization, which read the request."""

    def _wrap_handler(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        wrapped = super()._wrap_handler(method, handler)
        return wrapped._replace(request_deserializer=tolerant(handler.request_deserializer))

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        if streams_in:
            def decoded(messages, context):
                for message in messages:
                    if isinstance(message, Undecodable):
                        _refuse(context, method, message)
                    yield message

            if streams_out:
                def checked_stream_stream(request, context):
                    yield from behaviour(decoded(request, context), context)
                return checked_stream_stream

            def checked_stream(request, context):
                return behaviour(decoded(request, context), context)
            return checked_stream

        if streams_out:
            def checked_unary_stream(request, context):
                if isinstance(request, Undecodable):
                    _refuse(context, method, request)
                yield from behaviour(request, context)
            return checked_unary_stream

        def checked(request, context):
            if isinstance(request, Undecodable):
                _refuse(context, method, request)
            return behaviour(request, context)
        return checked
