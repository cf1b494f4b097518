"""The interceptors in front of every call, each doing its one job, on a real gRPC server with a
servicer of a few lines: who is calling reaches the servicer and the actor of what it writes,
a stream gone idle is cancelled and a slow unary call is not, refusals are timed and on the trail."""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
import pytest

from node.api.interceptors import call
from node.api.interceptors.authorization import Authorization
from node.api.interceptors.denials import DenialAudit, Denials
from node.api.interceptors.identity import Identity
from node.api.interceptors.timing import Timing
from node.api.interceptors.watchdog import IdleStreams, IdleWatchdog
from node.logs import logger
from node.security import audit

WHO, WHO_STREAM = "/test.Echo/Who", "/test.Echo/WhoStream"
HOLD, HOLD_STREAM = "/test.Echo/Hold", "/test.Echo/HoldStream"
HOLD_AFTER_MESSAGES = "/test.Echo/HoldAfterMessages"
DEADLINE = 30  # generous: the machine is shared and loaded
LOG = logger("test", "provincial")


class Echo:
    """Says who it was told is calling; holds calls open until the test lets them go."""

    def __init__(self):
        self.holding = threading.Event()
        self.release = threading.Event()

    def who(self, request: bytes, context) -> bytes:
        actor, method = audit.acting()
        return f"{call.caller().kind}|{actor}|{method}".encode()

    def who_stream(self, request: bytes, context):
        for _ in range(3):
            yield self.who(request, context)

    def hold(self, request: bytes, context) -> bytes:
        self.holding.set()
        assert self.release.wait(DEADLINE), "the test never let the call go"
        return b"done"

    def hold_after_messages(self, requests, context) -> bytes:
        """A client stream that works on after its last message (as a bulk publish writes)."""
        for _ in requests:
            pass
        return self.hold(b"", context)

    def hold_stream(self, request: bytes, context):
        ended = threading.Event()
        context.add_callback(ended.set)  # called as the call ends, by a cancel too
        yield b"first"
        ended.wait(DEADLINE)  # sends nothing more: the idle watchdog's cancel ends the wait

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler("test.Echo", {
            "Who": grpc.unary_unary_rpc_method_handler(self.who),
            "WhoStream": grpc.unary_stream_rpc_method_handler(self.who_stream),
            "Hold": grpc.unary_unary_rpc_method_handler(self.hold),
            "HoldStream": grpc.unary_stream_rpc_method_handler(self.hold_stream),
            "HoldAfterMessages": grpc.stream_unary_rpc_method_handler(self.hold_after_messages),
        })


@pytest.fixture
def serve():
    """serve(interceptors) -> (channel, echo): an insecure server on localhost:0 with only those."""
    started = []

    def start(interceptors):
        echo = Echo()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), interceptors=interceptors)
        server.add_generic_rpc_handlers((echo.handler(),))
        port = server.add_insecure_port("localhost:0")
        server.start()
        channel = grpc.insecure_channel(f"localhost:{port}")
        started.append((server, channel, echo))
        return channel, echo

    yield start
    for server, channel, echo in started:
        echo.release.set()
        channel.close()
        server.stop(0).wait()


def test_who_is_calling_reaches_the_servicer_and_the_actor_the_store_records(serve, store):
    denials = Denials(store, LOG)
    channel, _ = serve([Identity(False, store, denials), Authorization(None, denials), DenialAudit(denials)])
    kind, actor, method = channel.unary_unary(WHO)(b"", timeout=DEADLINE).decode().split("|")
    # An insecure node names each caller by its address.
    assert (kind, method) == ("insecure", WHO) and actor.startswith("insecure:ipv"), actor
    # And keeps naming it for every reply of a stream.
    replies = [r.decode() for r in channel.unary_stream(WHO_STREAM)(b"", timeout=DEADLINE)]
    assert len(replies) == 3 and all(r.endswith(f"|{WHO_STREAM}") and r.startswith("insecure|insecure:")
                                     for r in replies), replies


def test_a_stream_gone_idle_is_cancelled_and_a_slow_unary_call_is_not(serve):
    watchdog = IdleWatchdog(0.2, LOG)
    watchdog.start()
    try:
        channel, echo = serve([IdleStreams(watchdog)])
        slow = channel.unary_unary(HOLD).future(b"", timeout=DEADLINE)
        assert echo.holding.wait(DEADLINE), "the unary call never reached the servicer"
        stream = channel.unary_stream(HOLD_STREAM)(b"", timeout=DEADLINE)
        with pytest.raises(grpc.RpcError) as ended:
            for _ in stream:  # no message either way after the first: the watchdog cancels it
                pass
        assert ended.value.code() == grpc.StatusCode.CANCELLED, ended.value
        # The unary call was under way all along, for longer than a stream may idle.
        assert not slow.done(), "the unary call ended before it was let go"
        echo.release.set()
        assert slow.result(timeout=DEADLINE) == b"done"
    finally:
        watchdog.stop()


def test_a_client_stream_whose_messages_are_all_in_is_not_cancelled_while_it_works(serve):
    watchdog = IdleWatchdog(0.2, LOG)
    watchdog.start()
    try:
        channel, echo = serve([IdleStreams(watchdog)])
        working = channel.stream_unary(HOLD_AFTER_MESSAGES).future(iter([b"entries"]), timeout=DEADLINE)
        assert echo.holding.wait(DEADLINE), "the client stream's messages never all reached the servicer"
        with pytest.raises(grpc.RpcError) as ended:  # proof that the watchdog has looked since
            for _ in channel.unary_stream(HOLD_STREAM)(b"", timeout=DEADLINE):
                pass
        assert ended.value.code() == grpc.StatusCode.CANCELLED, ended.value
        echo.release.set()
        assert working.result(timeout=DEADLINE) == b"done"
    finally:
        watchdog.stop()


def test_a_refusal_is_timed_by_its_code_and_on_the_audit_trail(serve, store):
    seen = []
    denials = Denials(store, LOG)
    # A secure identity on an insecure port: no client certificate comes with any call.
    channel, _ = serve([Timing(lambda method, code, seconds: seen.append((method, code))),
                        Identity(True, store, denials), DenialAudit(denials)])
    with pytest.raises(grpc.RpcError) as refused:
        channel.unary_unary(WHO)(b"", timeout=DEADLINE)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused.value.details() == "a client certificate from the federation CA is required"
    assert seen == [(WHO, "UNAUTHENTICATED")]
    with store.reading() as conn:
        records = audit.tail(conn, 10)
    assert [(r.actor, r.method, r.outcome, r.detail) for r in records] == [
        ("anonymous", WHO, "denied", "a client certificate from the federation CA is required")]
