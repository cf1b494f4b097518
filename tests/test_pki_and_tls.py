"""The federation PKI and mutual TLS over real gRPC servers: issuing, trusting, refusing and rotating certificates."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import stat
from concurrent import futures
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from node.security import pki, tls


# --- PKI ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    """One CA with a hub, a province, an operator, an expired and a not-yet-valid certificate; and a stranger CA."""
    ours, theirs = tmp_path_factory.mktemp("pki"), tmp_path_factory.mktemp("stranger")
    pki.init_ca(ours)
    pki.init_ca(theirs, name="somebody else's CA")
    for name in ("national", "national_2", "hebei"):
        pki.issue(ours, name)
    pki.issue(ours, "duty", kind="operator")
    now = datetime.now(timezone.utc)
    pki.issue(ours, "expired", not_before=now - timedelta(days=2), not_after=now - timedelta(days=1))
    pki.issue(ours, "future", not_before=now + timedelta(days=1), not_after=now + timedelta(days=2))
    pki.issue(theirs, "hebei")  # the same name, from the wrong CA
    return ours, theirs


def test_init_ca_writes_a_private_key_and_refuses_a_second_ca(tmp_path):
    cert_path = pki.init_ca(tmp_path)
    assert cert_path == tmp_path / "ca.pem"
    assert stat.S_IMODE(os.stat(tmp_path / "ca.key").st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(pki.PkiError, match="already exists"):
        pki.init_ca(tmp_path)


def test_a_new_pki_directory_is_the_owners_alone(tmp_path):
    old = os.umask(0o022)
    try:
        pki.init_ca(tmp_path / "pki")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "pki").st_mode) == 0o700


def test_issued_certificate_names_the_node_and_its_kind(federation):
    ours, _ = federation
    cert_pem = (ours / "duty.pem").read_bytes()
    assert pki.identity_of(cert_pem) == ("duty", "operator")
    assert pki.identity_of((ours / "hebei.pem").read_bytes()) == ("hebei", "node")
    assert stat.S_IMODE(os.stat(ours / "hebei.key").st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_pem)
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_describe_shows_what_an_operator_checks(federation):
    ours, _ = federation
    shown = pki.describe(ours / "hebei.pem")
    assert shown["name"] == "hebei" and shown["kind"] == "node"
    assert shown["issuer"] == "catalog cascade federation CA"
    assert shown["not_before"] < datetime.now(timezone.utc) < shown["not_after"]
    cert = x509.load_pem_x509_certificate((ours / "hebei.pem").read_bytes())
    assert int(shown["serial"], 16) == cert.serial_number
    assert len(shown["sha256"].split(":")) == 32
    assert pki.describe(ours / "ca.pem")["kind"] == "ca"


@pytest.mark.parametrize("name", ["Hebei", "1hebei", "he.bei", "he bei", "hebei\n", "", "a" * 41, "河北", "ca"])
def test_issue_refuses_a_name_that_is_not_a_node_id(federation, name):
    with pytest.raises(pki.PkiError):
        pki.issue(federation[0], name)


def test_issue_refuses_without_a_ca_or_beyond_its_life(tmp_path, federation):
    with pytest.raises(pki.PkiError, match="no CA"):
        pki.issue(tmp_path, "hebei")
    with pytest.raises(pki.PkiError, match="outlive the CA"):
        pki.issue(federation[0], "hebei-long", days=20 * 365)
    with pytest.raises(pki.PkiError, match="kind"):
        pki.issue(federation[0], "hebei-x", kind="admin")


# --- mutual TLS over gRPC ----------------------------------------------------------------------

class RecordingHealth(health.HealthServicer):
    """The health service, noting who each caller was as the server sees it."""

    def __init__(self):
        super().__init__()
        self.callers = []

    def Check(self, request, context):
        self.callers.append(dict(identity=tls.caller_identity(context), key=context.peer_identity_key(),
                                 identities=context.peer_identities(), auth=context.auth_context()))
        return super().Check(request, context)


@pytest.fixture
def serve():
    """serve(credentials) -> (port, servicer) on a free loopback port; servers stop at the end."""
    servers = []

    def start(credentials):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        servicer = RecordingHealth()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_secure_port("127.0.0.1:0", credentials)
        server.start()
        servers.append(server)
        return port, servicer

    yield start
    for server in servers:
        server.stop(None)


def call(port, directory, name, expect, ca=None):
    """Health check over a fresh connection as certificate `name`; 'SERVING' or the failure's (code, details)."""
    credentials = tls.channel_credentials(directory / f"{name}.pem", directory / f"{name}.key", ca or directory / "ca.pem")
    # A local subchannel pool, so that no connection is shared with an earlier channel.
    options = tls.peer_options(expect) + [("grpc.use_local_subchannel_pool", 1)]
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        except grpc.RpcError as error:
            return error.code(), error.details()
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def presented_serial(port, directory, name, expect, ca=None) -> int:
    """Serial of the certificate the server presents to a new connection (read with the standard ssl module)."""
    context = ssl.create_default_context(cafile=str(ca or directory / "ca.pem"))
    context.load_cert_chain(directory / f"{name}.pem", directory / f"{name}.key")
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=expect) as connection:
        return x509.load_der_x509_certificate(connection.getpeercert(binary_form=True)).serial_number


def serial_of(path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def server_tls(directory, name="national", **options):
    return tls.server_credentials(directory / f"{name}.pem", directory / f"{name}.key", directory / "ca.pem", **options)


def test_a_node_of_the_federation_connects_and_the_server_knows_who_it_is(federation, serve):
    ours, _ = federation
    port, servicer = serve(server_tls(ours).credentials)
    assert call(port, ours, "hebei", "national") == "SERVING"
    assert call(port, ours, "duty", "national") == "SERVING"
    hebei, duty = servicer.callers
    assert hebei["identity"] == ("hebei", "node")
    assert duty["identity"] == ("duty", "operator")
    # What pki.py's docstring records about grpcio's auth context.
    assert hebei["key"] == "x509_subject_alternative_name"
    assert hebei["identities"] == [b"hebei"]
    assert hebei["auth"]["x509_subject_alternative_name"] == [b"hebei"]
    assert hebei["auth"]["x509_common_name"] == [b"hebei"]
    assert hebei["auth"]["ssl_requested_server_name"] == [b"national"]
    assert b"OU=node" in hebei["auth"]["x509_subject"][0]
    assert "x509_pem_cert" in hebei["auth"]
    assert [b"node"] not in hebei["auth"].values()  # the OU has no entry of its own


def test_a_name_with_underscore_serves_and_is_checked(federation, serve):
    ours, _ = federation
    port, _ = serve(server_tls(ours, "national_2").credentials)
    assert call(port, ours, "hebei", "national_2") == "SERVING"
    assert call(port, ours, "hebei", "national")[0] == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("directory, name", [("theirs", "hebei"), ("ours", "expired"), ("ours", "future")],
                         ids=["another CA", "expired", "not yet valid"])
def test_the_server_refuses_a_client_certificate_it_cannot_trust(federation, serve, directory, name):
    ours, theirs = federation
    port, servicer = serve(server_tls(ours).credentials)
    outcome = call(port, theirs if directory == "theirs" else ours, name, "national", ca=ours / "ca.pem")
    assert outcome[0] == grpc.StatusCode.UNAVAILABLE
    assert servicer.callers == []


def test_the_client_refuses_a_server_that_is_not_the_node_it_expects(federation, serve):
    ours, _ = federation
    port, servicer = serve(server_tls(ours, "hebei").credentials)  # hebei's server, where national was expected
    code, details = call(port, ours, "duty", "national")
    assert code == grpc.StatusCode.UNAVAILABLE
    assert "Hostname Verification" in details
    assert servicer.callers == []


def test_fixed_credentials_serve_too(federation, serve):
    ours, _ = federation
    port, _ = serve(server_tls(ours, reload=False).credentials)
    assert call(port, ours, "hebei", "national") == "SERVING"


@pytest.fixture
def rotating(tmp_path):
    directory = tmp_path / "pki"
    pki.init_ca(directory)
    pki.issue(directory, "national")
    pki.issue(directory, "hebei")
    return directory


def test_a_reissued_certificate_is_presented_to_new_connections_without_restart(rotating, serve):
    server = server_tls(rotating)
    port, _ = serve(server.credentials)
    assert presented_serial(port, rotating, "hebei", "national") == serial_of(rotating / "national.pem")
    old = serial_of(rotating / "national.pem")

    pki.issue(rotating, "national")  # noticed on its own at the next handshake
    assert presented_serial(port, rotating, "hebei", "national") == serial_of(rotating / "national.pem") != old
    assert call(port, rotating, "hebei", "national") == "SERVING"


def test_reload_applies_new_files_at_once_when_not_watching(rotating, serve):
    server = server_tls(rotating, reload=False)
    port, _ = serve(server.credentials)
    old = serial_of(rotating / "national.pem")
    pki.issue(rotating, "national")
    assert presented_serial(port, rotating, "hebei", "national") == old
    server.reload()
    assert presented_serial(port, rotating, "hebei", "national") == serial_of(rotating / "national.pem") != old


def test_a_new_ca_is_trusted_after_rotating_the_ca_file(rotating, tmp_path, serve):
    server = server_tls(rotating)
    port, _ = serve(server.credentials)
    renewed = tmp_path / "renewed"
    pki.init_ca(renewed, name="catalog cascade federation CA 2")
    pki.issue(renewed, "national")
    pki.issue(renewed, "hebei")
    assert call(port, renewed, "hebei", "national", ca=rotating / "ca.pem")[0] == grpc.StatusCode.UNAVAILABLE

    for name in ("national.key", "national.pem", "ca.pem"):
        shutil.copy(renewed / name, rotating / name)
    server.reload()
    assert call(port, renewed, "hebei", "national") == "SERVING"
    assert call(port, rotating, "hebei", "national", ca=renewed / "ca.pem")[0] == grpc.StatusCode.UNAVAILABLE


def test_unusable_files_leave_the_old_certificate_serving(rotating, tmp_path, serve):
    server = server_tls(rotating)
    port, _ = serve(server.credentials)
    old = serial_of(rotating / "national.pem")
    other = tmp_path / "other"
    pki.init_ca(other)
    pki.issue(other, "national")
    shutil.copy(other / "national.key", rotating / "national.key")  # half a rotation: the key without its certificate
    with pytest.raises(tls.TlsError, match="does not belong"):
        server.reload()
    assert presented_serial(port, rotating, "hebei", "national") == old
    assert isinstance(server.last_error, tls.TlsError)
    assert call(port, rotating, "hebei", "national") == "SERVING"
