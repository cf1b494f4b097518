"""A node's outgoing channels (the hub's to its peers, a node's to its hub) make no stub once
closed: grpc registers a stub's methods on its channel, and on a closed channel that crashes the
process (a pull starting as the hub stopped did, once, under load). Each check runs in its own
interpreter, so that a regression fails this test instead of killing the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT

CHECK = textwrap.dedent("""
    import grpc
    from node.config import Peer, Uplink
    from node.errors import Unavailable
    from node.hub.channels import PeerChannels
    from node.proto import cascade_pb2_grpc, catalog_pb2_grpc
    from node.security.client import ChannelClosed
    from node.source.uplink import HubLink

    peer = Peer(id="hebei", address="127.0.0.1:1", region_code="130000", role="provincial")
    channels = PeerChannels((peer,), lambda p: grpc.insecure_channel(p.address))
    stub = channels.stub(peer, cascade_pb2_grpc.CascadeStub)  # before close: a stub
    channels.close()
    try:
        channels.stub(peer, cascade_pb2_grpc.CascadeStub)
        raise SystemExit("a stub was made on a closed peer channel")
    except ChannelClosed as exc:
        assert exc.code() == grpc.StatusCode.UNAVAILABLE and "stopping" in exc.details()
    try:  # a stub made before close fails cleanly
        stub.GetDigest(__import__("node.proto.cascade_pb2", fromlist=["x"]).DigestRequest(), timeout=1)
    except (ValueError, grpc.RpcError):
        pass

    link = HubLink(Uplink(address="127.0.0.1:1"), grpc.insecure_channel)
    link.stub(catalog_pb2_grpc.CatalogStub)
    link.close()
    try:
        link.lookup_entry("130100005/000001")
        raise SystemExit("a stub was made on the closed channel to the hub")
    except Unavailable as exc:  # what a caller sees: the hub cannot be asked
        assert "UNAVAILABLE" in str(exc)
    print("ok")
""")


def test_no_stub_is_made_on_a_closed_channel():
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stdout, done.stderr[-2000:])
