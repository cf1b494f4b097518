"""The security parts on their own: the federation PKI and mutual TLS over real gRPC servers, department tokens, the audit trail."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import sqlite3
import ssl
import stat
import string
import threading
from concurrent import futures
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from node.security import audit, pki, tls, tokens

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


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


# --- department tokens -------------------------------------------------------------------------

@pytest.fixture
def db():
    conn = sqlite3.connect(":memory:")
    tokens.create_tables(conn)
    audit.create_tables(conn)
    yield conn
    conn.close()


def test_an_issued_token_checks_out_with_its_grant(db):
    token, info = tokens.issue(db, "130100005", now=NOW, note="市场监管局 publishing system")
    assert token.startswith(f"cct_{info.token_id}_")
    assert info.scopes == tokens.DEPARTMENT_SCOPES
    assert tokens.check(db, token, now=NOW) == info
    assert tokens.list_tokens(db) == [info]


def test_the_store_never_holds_the_secret(db):
    token, _ = tokens.issue(db, "130100005", now=NOW)
    secret = token.split("_", 2)[2]
    for row in db.execute("SELECT * FROM tokens"):
        assert not any(secret in str(value) for value in row)


def test_a_revoked_token_is_refused(db):
    token, info = tokens.issue(db, "130100005", now=NOW)
    assert tokens.revoke(db, info.token_id, now=NOW)
    assert not tokens.revoke(db, info.token_id, now=NOW)
    assert not tokens.revoke(db, "00000000", now=NOW)
    with pytest.raises(tokens.InvalidToken) as refusal:
        tokens.check(db, token, now=NOW)
    assert refusal.value.reason == "revoked"
    assert tokens.list_tokens(db)[0].revoked_at == NOW


def test_an_expired_token_is_refused(db):
    token, info = tokens.issue(db, "130100005", expires_days=30, now=NOW)
    assert tokens.check(db, token, now=NOW + timedelta(days=29)) == info
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.check(db, token, now=NOW + timedelta(days=30))


def test_malformed_and_unknown_tokens_are_refused(db):
    token, info = tokens.issue(db, "130100005", now=NOW)
    other_secret = tokens.issue(db, "130100006", now=NOW)[0].split("_", 2)[2]
    cases = {
        "": "malformed", "cct_": "malformed", f"Bearer {token}": "malformed", token + "\n": "malformed",
        token[:-1]: "malformed", token.upper(): "malformed",
        f"cct_{info.token_id}_{other_secret}": "unknown",  # right id, wrong secret
        f"cct_ffffffff_{token.split('_', 2)[2]}": "unknown",
    }
    for candidate, reason in cases.items():
        with pytest.raises(tokens.InvalidToken) as refusal:
            tokens.check(db, candidate, now=NOW)
        assert refusal.value.reason == reason, candidate


@pytest.mark.parametrize("code, scopes", [
    ("13010000", tokens.DEPARTMENT_SCOPES), ("1301000050", tokens.DEPARTMENT_SCOPES),
    ("١٣٠١٠٠٠٠٥", tokens.DEPARTMENT_SCOPES),  # nine digits, but not ASCII ones
    ("130100005", {"publish", "operator"}), ("130100005", {"admin"}), ("130100005", set()),
    ("", {"operator", "read"}), ("", tokens.DEPARTMENT_SCOPES),
])
def test_a_grant_that_breaks_the_rules_is_not_issued(db, code, scopes):
    with pytest.raises(ValueError):
        tokens.issue(db, code, scopes, now=NOW)
    assert tokens.list_tokens(db) == []


def test_an_operator_token_has_no_department(db):
    token, info = tokens.issue(db, tokens.OPERATOR, {"operator"}, now=NOW)
    assert tokens.check(db, token, now=NOW).is_operator


_ISSUED_DB = sqlite3.connect(":memory:")
tokens.create_tables(_ISSUED_DB)
_ISSUED = [tokens.issue(_ISSUED_DB, f"13010000{i}", now=NOW)[0] for i in range(3)]
_TOKEN_CHARS = string.ascii_letters + string.digits + "_-"


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.text(),
    st.from_regex(tokens.TOKEN, fullmatch=True),
    st.builds(lambda token, at, char: token[:at] + char + token[at + 1:],
              st.sampled_from(_ISSUED), st.integers(0, 55), st.sampled_from(_TOKEN_CHARS)),
))
def test_anything_but_an_issued_token_is_refused(candidate):
    assume(candidate not in _ISSUED)
    with pytest.raises(tokens.InvalidToken):
        tokens.check(_ISSUED_DB, candidate, now=NOW)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_cache_spares_sqlite_yet_a_revocation_lands_within_its_ttl(db):
    token, info = tokens.issue(db, "130100005")
    lookups = []

    def check(candidate):
        lookups.append(candidate)
        return tokens.check(db, candidate)

    clock = FakeClock()
    cache = tokens.TokenCache(check, ttl=2.0, clock=clock)
    assert cache.check(token) == info
    tokens.revoke(db, info.token_id)
    clock.now += 1.9
    assert cache.check(token) == info
    assert len(lookups) == 1
    clock.now += 0.2
    with pytest.raises(tokens.InvalidToken, match="revoked"):
        cache.check(token)
    with pytest.raises(tokens.InvalidToken, match="malformed"):
        cache.check("nonsense")
    with pytest.raises(tokens.InvalidToken, match="malformed"):
        cache.check("nonsense")
    assert lookups.count("nonsense") == 1


def test_the_cache_checks_expiry_on_every_hit():
    expiring = tokens.TokenInfo("0badc0de", "130100005", tokens.DEPARTMENT_SCOPES, created_at=NOW,
                                expires_at=datetime.now(timezone.utc) + timedelta(seconds=0.05))
    cache = tokens.TokenCache(lambda candidate: expiring, ttl=60)
    assert cache.check("t") == expiring
    threading.Event().wait(0.1)
    with pytest.raises(tokens.InvalidToken, match="expired"):
        cache.check("t")


def test_the_cache_serves_many_threads():
    info = tokens.TokenInfo("0badc0de", "130100005", tokens.DEPARTMENT_SCOPES, created_at=NOW)
    lookups = []
    cache = tokens.TokenCache(lambda candidate: lookups.append(candidate) or info, ttl=60, max_entries=50)
    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(cache.check, [f"t{i % 40}" for i in range(2000)]))
    assert set(results) == {info}
    assert len(lookups) < 2000


# --- audit trail -------------------------------------------------------------------------------

def fill(conn, n=5):
    return [audit.append(conn, f"13010000{i}", "PublishEntries", f"130100005/{i:06d}", "ok", at=NOW + timedelta(seconds=i))
            for i in range(n)]


def tamper(conn, sql, *params):
    """Change the trail as an operator with the file could: drop the append-only triggers first."""
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    conn.execute(sql, params)


def test_appended_records_form_a_chain_that_verifies(db):
    records = fill(db)
    assert records[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert audit.head(db) == (5, records[-1].hash)
    assert audit.tail(db, 2) == records[3:]
    verdict = audit.verify(db)
    assert verdict.ok and (verdict.count, verdict.last_seq, verdict.last_hash) == (5, 5, records[-1].hash)


def test_an_empty_trail_verifies(db):
    assert audit.head(db) == (0, audit.GENESIS)
    assert audit.verify(db).ok


def test_append_many_chains_like_single_appends(db):
    events = [audit.Event("130100005", "Decide", f"request/{i}", "approved", at=NOW) for i in range(3)]
    many = audit.append_many(db, events)
    other = sqlite3.connect(":memory:")
    audit.create_tables(other)
    single = [audit.append(other, e.actor, e.method, e.object, e.outcome, at=e.at) for e in events]
    assert many == single
    assert audit.append_many(db, []) == []


def test_the_node_cannot_change_or_remove_a_record(db):
    fill(db, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit SET outcome = 'denied' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 2")


def test_create_tables_keeps_the_callers_transaction_open():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    audit.create_tables(conn)
    assert conn.in_transaction
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


SWAP = """UPDATE audit SET at = o.at, actor = o.actor, method = o.method, object = o.object, outcome = o.outcome,
          detail = o.detail, prev_hash = o.prev_hash, hash = o.hash
          FROM (SELECT seq, at, actor, method, object, outcome, detail, prev_hash, hash FROM audit) AS o
          WHERE (audit.seq = 2 AND o.seq = 4) OR (audit.seq = 4 AND o.seq = 2)"""


@pytest.mark.parametrize("change, seq", [
    (("UPDATE audit SET outcome = 'denied' WHERE seq = 3",), 3),
    (("UPDATE audit SET at = '2025-03-01T08:00:00.000000Z' WHERE seq = 3",), 3),
    (("UPDATE audit SET actor = '130100009' WHERE seq = 1",), 1),
    (("UPDATE audit SET prev_hash = ? WHERE seq = 3", "f" * 64), 3),
    (("UPDATE audit SET hash = ? WHERE seq = 5", "f" * 64), 5),
    ((SWAP,), 2),
    (("DELETE FROM audit WHERE seq = 3",), 3),
    (("DELETE FROM audit WHERE seq = 1",), 1),
    (("DELETE FROM audit WHERE seq IN (2, 3)",), 2),
    (("UPDATE audit SET seq = 9 WHERE seq = 3",), 3),
    (("UPDATE audit SET seq = 0 WHERE seq = 1",), 0),
], ids=["outcome", "at", "actor", "prev_hash", "hash", "swap 2 and 4", "delete middle", "delete first",
        "delete two", "move", "renumber first"])
def test_tampering_is_found_at_the_record_it_touched(db, change, seq):
    fill(db)
    tamper(db, *change)
    verdict = audit.verify(db)
    assert not verdict.ok
    assert verdict.problem_seq == seq, verdict.message
    assert f"record {seq}" in verdict.message or f"records {seq}" in verdict.message or repr(seq) in verdict.message


def test_an_edited_and_rehashed_record_is_named_by_its_successor(db):
    records = fill(db)
    forged = audit.seal(3, records[2].at, records[2].actor, records[2].method, records[2].object, "denied",
                        "", records[2].prev_hash)
    tamper(db, "UPDATE audit SET outcome = ?, hash = ? WHERE seq = 3", forged.outcome, forged.hash)
    verdict = audit.verify(db)
    assert (verdict.ok, verdict.problem_seq) == (False, 3)
    assert "re-hashed" in verdict.message


def test_losing_the_newest_record_shows_only_against_a_head_seen_before(db):
    fill(db)
    published = audit.head(db)
    tamper(db, "DELETE FROM audit WHERE seq = 5")
    assert audit.verify(db).ok
    assert audit.head(db) != published


FIELDS = ["seq", "at", "actor", "method", "object", "outcome", "detail", "prev_hash", "hash"]
EVENTS = st.builds(audit.Event, st.text(max_size=12), st.text(max_size=12), st.text(max_size=12),
                   st.sampled_from(["ok", "denied", "invalid"]), st.text(max_size=20),
                   st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(timezone.utc)))


@settings(max_examples=100, deadline=None)
@given(events=st.lists(EVENTS, min_size=1, max_size=15), data=st.data())
def test_random_trails_verify_and_any_single_edit_is_found_where_it_was_made(events, data):
    conn = sqlite3.connect(":memory:")
    audit.create_tables(conn)
    for event in events:
        audit.append(conn, **dataclasses.asdict(event))
    assert audit.verify(conn).ok
    position = data.draw(st.integers(1, len(events)), label="position")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    if field == "seq":
        value = data.draw(st.integers(len(events) + 1, 10**6), label="value")  # the record moved past the end
    else:
        value = data.draw(st.text(max_size=64), label="value")
        old = conn.execute(f"SELECT {field} FROM audit WHERE seq = ?", (position,)).fetchone()[0]
        assume(value != old)
    tamper(conn, f"UPDATE audit SET {field} = ? WHERE seq = ?", value, position)
    verdict = audit.verify(conn)
    assert (verdict.ok, verdict.problem_seq) == (False, position), verdict.message
