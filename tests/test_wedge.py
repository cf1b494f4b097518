"""No caller can wedge a node: streams beyond the limits are refused or ended, and everyone else is served."""

from __future__ import annotations

import threading
from collections import Counter

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.proto import cascade_pb2, cascade_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security.client import open_channel
from node.server import WORKERS, Node
from security_support import A, B, DEADLINE, FRESH, OK, Site, Who, entry_proto, eventually, outcome, tls_config, tool
from security_support import ca, dial  # noqa: F401 (fixtures)


# --- 8. no caller can wedge a node -----------------------------------------------------------------

def _never_sends(release: threading.Event):
    """A request stream that sends nothing until the test lets it end."""
    release.wait()
    return
    yield


@pytest.fixture
def limited(ca, tmp_path):
    """Hebei's node again, with small limits, in a file of its own."""
    config = tls_config(ca, tmp_path, "hebei", "provincial", "130000", departments=(A, B),
                        limits={"max_calls_per_caller": 8, "idle_stream_seconds": 2})
    site = Site(Node(config).start())
    site.issue("A", A)
    site.issue("B", B)
    yield site
    if not site.node.store._closed:
        site.node.stop(0)


def _leftover_threads(before: set[threading.Thread]) -> list[str]:
    # The server's pool threads ("rpc_N") are the node's to keep; every other thread must have ended.
    return [t.name for t in threading.enumerate() if t not in before and not t.name.startswith("rpc_")]


def test_no_caller_can_wedge_the_node(limited, dial):
    release, done = threading.Event(), threading.Condition()
    finished: list[grpc.Future] = []
    before_threads = set(threading.enumerate())
    channels: list[grpc.Channel] = []

    def channel(who: Who) -> grpc.Channel:
        channels.append(open_channel(limited.node.address, dial.credentials(limited, who), options=FRESH))
        return channels[-1]

    def on_done(call):
        with done:
            finished.append(call)
            done.notify_all()

    def wait_for(predicate, what: str) -> None:
        with done:
            if not done.wait_for(predicate, timeout=90):
                pytest.fail(f"{what}; ended so far: {Counter(c.code().name for c in finished)}")

    calls = []
    try:
        flood = catalog_pb2_grpc.CatalogStub(channel(Who("tool", "A")))
        for _ in range(200):
            calls.append(flood.PublishEntries.future(_never_sends(release), timeout=120))
            calls[-1].add_done_callback(on_done)
        wait_for(lambda: any(c.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for c in finished),
                 "no stream beyond the limit was refused")

        # Meanwhile everyone else is served.
        other = catalog_pb2_grpc.CatalogStub(channel(Who("tool", "B")))
        assert other.SearchEntries(catalog_pb2.SearchEntriesRequest(query="企业"), timeout=5).total == 0
        health = health_pb2_grpc.HealthStub(channel(tool)).Check(health_pb2.HealthCheckRequest(), timeout=DEADLINE)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        batches = list(cascade_pb2_grpc.CascadeStub(channel(Who("national"))).PullChanges(
            cascade_pb2.PullChangesRequest(), timeout=DEADLINE))
        assert batches and batches[-1].last

        # The streams taken in end once idle; the rest were refused, naming the limit.
        wait_for(lambda: len(finished) == len(calls), "the idle streams were never ended")
        codes = Counter(call.code() for call in calls)
        assert set(codes) == {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED}, codes
        # At least the 8 first taken in; more only if the idle ones ended before the flood was over.
        assert codes[grpc.StatusCode.CANCELLED] >= 8, codes
        refusals = {call.details() for call in calls if call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert all("limits.max_calls_per_caller" in details for details in refusals), refusals

        def a_can_publish_again() -> tuple[bool, str]:
            code, details = outcome(lambda: flood.PublishEntry(
                catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 1)), timeout=DEADLINE))
            return code == OK, f"{code.name}: {details}"
        eventually(a_can_publish_again, 30, "department A still cannot call after its idle streams ended")
    finally:
        release.set()
        for call in calls:
            call.cancel()
        for open_ in channels:
            open_.close()
        limited.node.stop(0)
    eventually(lambda: (not _leftover_threads(before_threads), str(_leftover_threads(before_threads))), 30,
               "threads started by the test are still running")


def test_streams_open_to_anyone_cannot_take_every_thread(ca, tmp_path, dial):
    config = tls_config(ca, tmp_path, "hebei", "provincial", "130000", departments=(A,),
                        limits={"max_calls_per_caller": 8, "idle_stream_seconds": 30})
    site = Site(Node(config).start())
    channels = [open_channel(site.node.address, dial.credentials(site, who), options=FRESH)
                for who in (tool, Who("national"))]
    watches = []
    try:
        health = health_pb2_grpc.HealthStub(channels[0])
        watches = [health.Watch(health_pb2.HealthCheckRequest(), timeout=60) for _ in range(WORKERS)]
        for watch in watches:  # each is being served (it holds a thread) or was refused
            outcome(lambda: next(watch))
        pull = cascade_pb2_grpc.CascadeStub(channels[1]).PullChanges
        code, details = outcome(lambda: list(pull(cascade_pb2.PullChangesRequest(), timeout=5)))
        assert code == OK, f"the hub's pull was starved: {code.name}: {details}"
    finally:
        for watch in watches:
            watch.cancel()
        for channel in channels:
            channel.close()
        site.node.stop(0)
