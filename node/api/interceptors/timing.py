"""Timing: every call counted by its status code and timed, from the chain taking it to its last
message; refusals by the interceptors after this one are counted too (node/metrics/rpc.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from node.api.interceptors.interceptor import Interceptor


class Timing(Interceptor):
    """Tells `observe(method, status code name, seconds)` of every call; first in the chain."""

    def __init__(self, observe: Callable[[str, str, float], None]):
        super().__init__()
        self.observe = observe

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        observe = self.observe
        if streams_out:
            def observed_stream(request, context):
                started = time.perf_counter()
                failure = None
                try:
                    yield from behaviour(request, context)
                except BaseException as exc:
                    failure = exc
                    raise
                finally:
                    observe(method, _status(context, failure), time.perf_counter() - started)
                    failure = None  # see observed()
            return observed_stream

        def observed(request, context):
            started = time.perf_counter()
            failure = None
            try:
                return behaviour(request, context)
            except BaseException as exc:
                failure = exc
                raise
            finally:
                observe(method, _status(context, failure), time.perf_counter() - started)
                # The exception's traceback holds this frame; this frame holding the exception
                # made a cycle, which kept the call's context and every frame under it, on each
                # refused call, until the cycle collector found them (tests/test_metrics.py).
                failure = None
        return observed


def _status(context, failure: BaseException | None) -> str:
    code = context.code()  # set by abort() or set_code()
    if code is not None:
        return code.name
    if failure is None:
        return "OK"
    if isinstance(failure, GeneratorExit) or not context.is_active():
        return "CANCELLED"  # the caller went away, or the idle watchdog cancelled the stream
    return "UNKNOWN"  # what gRPC answers for an exception that is not a domain error
