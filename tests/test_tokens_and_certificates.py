"""Tokens and certificates as a caller meets them at a node: refused tokens, untrusted certificates, rotation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import socket
import ssl

import pytest
from cryptography import x509

from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security import pki, tokens
from node.security.client import Credentials
from security_support import (A, ADM, CAT, DEADLINE, HOSTS, PERMISSION_DENIED, UNAUTHENTICATED, UNAVAILABLE, Who,
                              entry_proto, eventually, invoke, outcome)
from security_support import ca, dial, hebei, hub, world  # noqa: F401 (fixtures)


# --- 3. tokens -------------------------------------------------------------------------------------

def test_a_revoked_token_is_refused(hebei, dial, world):
    hebei.issue("revoked", A)
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "revoked")))
    read = catalog_pb2.GetEntryRequest(resource_code=world.entry)
    assert catalog.GetEntry(read, timeout=DEADLINE).resource_code == world.entry
    with hebei.node.store.transaction() as tx:
        assert tokens.revoke(tx.conn, hebei.grants["revoked"].token_id)

    def refused() -> tuple[bool, str]:
        code, details = outcome(lambda: catalog.GetEntry(read, timeout=DEADLINE))
        return code == UNAUTHENTICATED, f"{code.name}: {details}"
    eventually(refused, 15, "the revoked token is still accepted")
    before = hebei.state()
    code, details = outcome(lambda: catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 200)),
                                                         timeout=DEADLINE))
    assert (code, "revoked" in details) == (UNAUTHENTICATED, True), details
    assert hebei.state() == before


def test_an_expired_token_is_refused(hebei, dial, world):
    hebei.issue("expired", A, expires_days=1, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2))
    channel = dial.channel(hebei, Who("tool", "expired"))
    before = hebei.state()
    for method, request in ((CAT + "GetEntry", catalog_pb2.GetEntryRequest(resource_code=world.entry)),
                            (CAT + "PublishEntry", catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 201)))):
        code, details = outcome(lambda: invoke(channel, method, request))
        assert (code, "expired" in details) == (UNAUTHENTICATED, True), (method, details)
    assert hebei.state() == before


def test_a_token_without_the_scope_reads_but_cannot_publish(hebei, dial, world):
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "A-read")))
    assert catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=world.entry), timeout=DEADLINE).name
    before = hebei.state()
    code, details = outcome(lambda: catalog.PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 202)), timeout=DEADLINE))
    assert (code, "publish" in details) == (PERMISSION_DENIED, True), details
    assert hebei.state() == before


def test_a_token_of_another_node_or_made_up_is_unknown(hebei, hub, dial, world):
    made_up = "cct_0badf00d_" + "x" * 43
    for token in (hub.secrets["op"], made_up, "not a token"):
        channel = dial.channel(hebei, Who("tool", token))
        code, details = outcome(lambda: invoke(channel, ADM + "Status", admin_pb2.StatusRequest()))
        assert code == UNAUTHENTICATED, (token, code, details)


def test_a_refused_token_is_recorded_under_the_certificate_that_brought_it(hebei, dial):
    since = hebei.audit_seq()
    channel = dial.channel(hebei, Who("tool", "cct_0badf00d_" + "y" * 43))
    code, _ = outcome(lambda: invoke(channel, CAT + "ListEntries", catalog_pb2.ListEntriesRequest()))
    assert code == UNAUTHENTICATED
    records = hebei.audit_since(since)
    assert any(r.outcome == "denied" and r.actor.endswith("tool") for r in records), records


# --- 4. certificates -------------------------------------------------------------------------------

@pytest.mark.parametrize("cert", ["elsewhere/tool", "expired", "future"],
                         ids=["another-CA", "expired", "not-yet-valid"])
def test_a_certificate_the_federation_does_not_vouch_for_is_refused_in_the_handshake(hebei, dial, ca, cert):
    credentials = Credentials(str(ca / f"{cert}.pem"), str(ca / f"{cert}.key"), str(ca / pki.CA_CERT),
                              hebei.secrets["A"])
    catalog = catalog_pb2_grpc.CatalogStub(dial.fresh(hebei.node.address, credentials))
    before, since = hebei.state(), hebei.audit_seq()
    code, details = outcome(lambda: catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 400)),
                                                         timeout=DEADLINE))
    assert code == UNAVAILABLE, details
    assert hebei.state() == before, "a call refused in the handshake stored something"
    assert hebei.audit_seq() == since, "no handler should have run"


def test_a_client_expecting_the_hub_refuses_hebeis_certificate(hebei, dial, world):
    credentials = dial.credentials(hebei, Who("operator"))
    before = hebei.state()
    wrong = dial.fresh(hebei.node.address, dataclasses.replace(credentials, token=hebei.secrets["A"]),
                       server_name="national")
    code, details = outcome(lambda: catalog_pb2_grpc.CatalogStub(wrong).PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 401)), timeout=DEADLINE))
    assert code == UNAVAILABLE, details
    assert hebei.state() == before
    right = dial.fresh(hebei.node.address, credentials, server_name="hebei")
    assert admin_pb2_grpc.AdminStub(right).Status(admin_pb2.StatusRequest(), timeout=DEADLINE).node_id == "hebei"


# --- 9. certificate rotation -----------------------------------------------------------------------

def _presented_serial(port: int, ca: pathlib.Path) -> int:
    """The serial of the certificate the node shows a new connection (read with the standard ssl module)."""
    context = ssl.create_default_context(cafile=str(ca / pki.CA_CERT))
    context.load_cert_chain(ca / "tool.pem", ca / "tool.key")
    context.check_hostname = False
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw, context.wrap_socket(raw) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_a_reissued_certificate_is_served_after_reload_and_the_data_stays(hebei, dial, ca, world):
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "A")))
    catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 300)), timeout=DEADLINE)
    old = _presented_serial(hebei.node.port, ca)
    cert_path, _ = pki.issue(ca, "hebei", kind="node", hosts=HOSTS)
    new = x509.load_pem_x509_certificate(cert_path.read_bytes()).serial_number
    hebei.node.reload_tls()
    assert _presented_serial(hebei.node.port, ca) == new != old
    fresh = dial.fresh(hebei.node.address, dial.credentials(hebei, Who("tool", "B")), server_name="hebei")
    for code in (f"{A}/000300", world.entry):
        got = catalog_pb2_grpc.CatalogStub(fresh).GetEntry(catalog_pb2.GetEntryRequest(resource_code=code),
                                                           timeout=DEADLINE)
        assert got.resource_code == code and not got.withdrawn
