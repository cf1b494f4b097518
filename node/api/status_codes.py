"""Domain errors mapped to gRPC status codes, in one place, for every servicer."""

from __future__ import annotations

import functools
import inspect

import grpc

from node import errors

CODES = (
    (errors.Invalid, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def code_of(exc: BaseException) -> grpc.StatusCode | None:
    """The status code of a domain error, or the one a passed-on status came with; None for
    anything else (a bug: gRPC answers UNKNOWN)."""
    if isinstance(exc, errors.Passed):
        return exc.code
    for kind, code in CODES:
        if isinstance(exc, kind):
            return code
    return None


def abort_with_status(context, exc: Exception) -> None:
    """Ends the call with the status of a domain error; anything else goes on up (a bug)."""
    code = code_of(exc)
    if code is None:
        raise exc
    context.abort(code, str(exc))


def rpc(method):
    """Maps domain errors raised by a unary or server-streaming handler to gRPC statuses."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def streaming(self, request, context):
            try:
                yield from method(self, request, context)
            except Exception as exc:
                abort_with_status(context, exc)
        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except Exception as exc:
            abort_with_status(context, exc)
    return unary
