"""The national hub pulls Hebei's node over mutual TLS and converges; both report themselves secure."""

from __future__ import annotations

from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from security_support import DEADLINE, Who
from security_support import ca, dial, hebei, hub, world  # noqa: F401 (fixtures)


# --- 7. the hub pulls over TLS ---------------------------------------------------------------------

def test_the_hub_pulls_hebei_over_tls_and_converges(hub, hebei, dial, world):
    admin = admin_pb2_grpc.AdminStub(dial.channel(hub, Who("operator")))
    admin.SyncNow(admin_pb2.SyncNowRequest(wait=True), timeout=60)
    verdict = {v.peer: v for v in admin.Verify(admin_pb2.VerifyRequest(), timeout=60).peers}["hebei"]
    assert verdict.equal and not verdict.error, verdict
    assert verdict.at_peer.count == hebei.node.store.count_entries()[1] > 0
    status = admin.Status(admin_pb2.StatusRequest(), timeout=DEADLINE)
    peer = {p.node_id: p for p in status.peers}["hebei"]
    assert (peer.state, peer.last_error) == ("ok", ""), peer
    assert status.secure and status.audit_seq > 0, status
    at_hub = catalog_pb2_grpc.CatalogStub(dial.channel(hub, Who("operator"))).GetEntry(
        catalog_pb2.GetEntryRequest(resource_code=world.entry), timeout=DEADLINE)
    assert at_hub.origin == "hebei"
    own = admin_pb2_grpc.AdminStub(dial.channel(hebei, Who("operator"))).Status(admin_pb2.StatusRequest(),
                                                                                timeout=DEADLINE)
    assert own.secure and own.audit_seq > 0 and (own.audit_seq, own.audit_hash) == hebei.node.store.audit_head()
