"""Bytes that are no request, sent to any method the node serves, are the caller's error
(INVALID_ARGUMENT), not the node's (INTERNAL), and nothing is stored."""

from __future__ import annotations

import grpc
import pytest

from security_support import DEADLINE, SERVED, SERVICES, Who, outcome
from security_support import ca, dial, hebei  # noqa: F401 (fixtures)

GARBAGE = b"\xff\xff\xff\xff\xff\xff\xff\xff"


def _shape(method: str) -> tuple[bool, bool]:
    service, name = method.strip("/").split("/")
    descriptor = SERVICES[service][0].methods_by_name[name]
    return descriptor.client_streaming, descriptor.server_streaming


def send_raw(channel: grpc.Channel, method: str, payload: bytes):
    """The call with `payload` as the request's bytes, as a client with a broken encoder would make it."""
    streams_in, streams_out = _shape(method)
    if streams_in and streams_out:
        return list(channel.stream_stream(method)(iter([payload]), timeout=DEADLINE))
    if streams_in:
        return channel.stream_unary(method)(iter([payload]), timeout=DEADLINE)
    if streams_out:
        return list(channel.unary_stream(method)(payload, timeout=DEADLINE))
    return channel.unary_unary(method)(payload, timeout=DEADLINE)


@pytest.mark.parametrize("method", SERVED)
def test_undecodable_request_bytes_are_invalid_argument(hebei, dial, method):
    channel = dial.channel(hebei, Who("tool", "A"))
    before = hebei.state()
    code, details = outcome(lambda: send_raw(channel, method, GARBAGE))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{method}: {code.name}: {details}"
    assert "not a valid message" in details
    assert hebei.state() == before


def test_a_stream_that_turns_to_garbage_midway_stores_none_of_it(hebei, dial):
    from security_support import A, entry_proto
    from node.proto import catalog_pb2

    good = catalog_pb2.PublishEntriesRequest(entry=entry_proto(A, 700)).SerializeToString()
    channel = dial.channel(hebei, Who("tool", "A"))
    before = hebei.state()
    code, details = outcome(lambda: channel.stream_unary("/node.proto.Catalog/PublishEntries")(
        iter([good, GARBAGE]), timeout=DEADLINE))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert hebei.state() == before
