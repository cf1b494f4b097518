"""Shared by the security tests: the federation's PKI, two nodes over mutual TLS, callers, calling and waiting.

The tests that use it meet security as a caller does, through the real gRPC server over mutual TLS,
and assert what a user would look at: the status code and its details, what the catalog and its
change log hold afterwards, and what the audit trail says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import sqlite3
import time
from typing import Callable

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from conftest import make_entry
from lifecycle_support import lifecycle_world
from node import config as config_mod, wire
from node.proto import corrections_pb2, corrections_pb2_grpc
from node.proto import (admin_pb2, admin_pb2_grpc, cascade_pb2, cascade_pb2_grpc, catalog_pb2, catalog_pb2_grpc,
                        exchange_pb2, exchange_pb2_grpc, governance_pb2, governance_pb2_grpc, sharing_pb2,
                        sharing_pb2_grpc)
from node.security import audit, authz, pki, tokens
from node.security.client import Credentials, open_channel
from node.server import Node


OK = grpc.StatusCode.OK
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE

A, B = "130100005", "130000001"  # the departments of Hebei's node
C = "130000002"  # a department with a token at Hebei's node and no part in its requests
HOSTS = ("127.0.0.1", "localhost")
CERTS = {"hebei": "node", "national": "node", "mps": "node", "operator": "operator", "tool": "client",
         # departments' own certificates: B's and A's at Hebei, and B's as if it were Guangdong's
         f"{B}.hebei": "department", f"{A}.hebei": "department", f"{B}.guangdong": "department"}
FRESH = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own: a new TLS handshake
DEADLINE = 30  # generous: the machine is shared and loaded

SERVICES = {
    descriptor.full_name: (descriptor, stub) for descriptor, stub in (
        (catalog_pb2.DESCRIPTOR.services_by_name["Catalog"], catalog_pb2_grpc.CatalogStub),
        (cascade_pb2.DESCRIPTOR.services_by_name["Cascade"], cascade_pb2_grpc.CascadeStub),
        (admin_pb2.DESCRIPTOR.services_by_name["Admin"], admin_pb2_grpc.AdminStub),
        (sharing_pb2.DESCRIPTOR.services_by_name["Sharing"], sharing_pb2_grpc.SharingStub),
        (exchange_pb2.DESCRIPTOR.services_by_name["Exchange"], exchange_pb2_grpc.ExchangeStub),
        (corrections_pb2.DESCRIPTOR.services_by_name["Corrections"], corrections_pb2_grpc.CorrectionsStub),
        (governance_pb2.DESCRIPTOR.services_by_name["Governance"], governance_pb2_grpc.GovernanceStub),
        (health_pb2.DESCRIPTOR.services_by_name["Health"], health_pb2_grpc.HealthStub),
        (reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"], reflection_pb2_grpc.ServerReflectionStub),
    )
}
SERVED = [f"/{name}/{method.name}" for name, (descriptor, _) in SERVICES.items() for method in descriptor.methods]


# --- the federation: one CA, its certificates, two nodes ----------------------------------------

def _issue_nameless(directory: pathlib.Path, name: str) -> None:
    """A certificate the federation CA signed that names no identity (no SAN, no OU): not from `cascade pki`."""
    ca_cert = x509.load_pem_x509_certificate((directory / pki.CA_CERT).read_bytes())
    ca_key = serialization.load_pem_private_key((directory / pki.CA_KEY).read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> pathlib.Path:
    """The federation's PKI directory: the CA, the nodes', the operator's and a tool's certificates,
    and some the nodes must refuse (expired, not yet valid, naming no one)."""
    directory = tmp_path_factory.mktemp("pki")
    pki.init_ca(directory)
    for name, kind in CERTS.items():
        pki.issue(directory, name, kind=kind, hosts=HOSTS)
    now = dt.datetime.now(dt.timezone.utc)
    pki.issue(directory, "expired", kind="client", hosts=HOSTS,
              not_before=now - dt.timedelta(days=10), not_after=now - dt.timedelta(days=1))
    pki.issue(directory, "future", kind="client", hosts=HOSTS,
              not_before=now + dt.timedelta(days=1), not_after=now + dt.timedelta(days=10))
    _issue_nameless(directory, "nameless")
    elsewhere = directory / "elsewhere"  # another federation's CA and its tool
    pki.init_ca(elsewhere)
    pki.issue(elsewhere, "tool", kind="client", hosts=HOSTS)
    return directory


def tls_config(ca: pathlib.Path, directory: pathlib.Path, node_id: str, role: str, region: str, *,
               departments=(), peers=(), limits=None, resources=None, data_authority="") -> config_mod.Config:
    data = {
        "node": {"id": node_id, "role": role, "region_code": region},
        "listen": "127.0.0.1:0",
        "sharing": {"beyond_calendar": "weekdays"},  # any day of any year (docs/calendar.md)
        "database": str(directory / f"{node_id}.db"),
        "departments": [{"code": code, "name": f"部门{code}"} for code in departments],
        "tls": {"cert": str(ca / f"{node_id}.pem"), "key": str(ca / f"{node_id}.key"), "ca": str(ca / pki.CA_CERT)},
        "store": {"synchronous": "normal"},
        "log": {"level": "warning", "format": "json"},
    }
    if data_authority:
        data["data_authority"] = data_authority
    if peers:
        data["peers"] = list(peers)
        data["sync"] = {"backoff_initial": 0.05, "backoff_max": 0.5, "call_deadline": 20}
    # Each refusal on the trail at once: the rule tests look for the record of every case, and
    # tests/test_denial_folding.py asks for folding explicitly.
    data["limits"] = {"denial_fold_seconds": 0, **(limits or {})}
    # Where departments may mount sources: each a directory of its own.
    data["resources"] = resources or {"allow": {code: [str(directory / "sources" / code)] for code in departments}}
    return config_mod.parse(data, f"<{node_id}>")


@dataclasses.dataclass(frozen=True)
class Who:
    """A caller: the certificate it connects with and, by label, the token it sends."""

    cert: str
    token: str = ""

    def __str__(self) -> str:
        return f"{self.cert}+{self.token}" if self.token else self.cert


@dataclasses.dataclass
class Site:
    """A running node, the tokens issued at it (by label) and what a test reads of its state."""

    node: Node
    grants: dict[str, tokens.TokenInfo] = dataclasses.field(default_factory=dict)  # label -> what it grants
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)

    def issue(self, label: str, department: str, scopes=tokens.DEPARTMENT_SCOPES, **options) -> str:
        with self.node.store.transaction() as tx:
            secret, info = tokens.issue(tx.conn, department, scopes, **options)
        self.grants[label], self.secrets[label] = info, secret
        return secret

    def actor(self, who: Who) -> str:
        """How the audit trail should name this caller."""
        if who.cert == "nameless":
            return "anonymous"
        if CERTS.get(who.cert) == "department" and who.token not in self.grants:
            return f"{who.cert.split('.')[0]}@{who.cert}"
        info = self.grants.get(who.token)
        if info is not None:
            return f"{info.department_code}@{who.cert}" if info.department_code else f"token:{info.token_id}@{who.cert}"
        return f"{CERTS[who.cert]}:{who.cert}"

    def state(self) -> tuple:
        """What a refused call must leave alone: the entries (all, live) and the change log's head."""
        return self.node.store.count_entries(), self.node.store.head_seq()

    def audit_seq(self) -> int:
        return self.node.store.audit_head()[0]

    def audit_since(self, seq: int) -> list[audit.Record]:
        with self.node.store.reading() as conn:
            return [r for r in audit.tail(conn, 500) if r.seq > seq]


class Dialer:
    """Channels to the nodes as one caller or another; every one is closed at the end."""

    def __init__(self, ca: pathlib.Path):
        self.ca = ca
        self._shared: dict[tuple, grpc.Channel] = {}
        self._fresh: list[grpc.Channel] = []

    def credentials(self, site: Site, who: Who) -> Credentials:
        token = site.secrets.get(who.token, who.token)  # a label, or a token string as is
        return Credentials(str(self.ca / f"{who.cert}.pem"), str(self.ca / f"{who.cert}.key"),
                           str(self.ca / pki.CA_CERT), token)

    def channel(self, site: Site, who: Who) -> grpc.Channel:
        key = (site.node.address, who)
        if key not in self._shared:
            self._shared[key] = open_channel(site.node.address, self.credentials(site, who))
        return self._shared[key]

    def fresh(self, address: str, credentials: Credentials, *, server_name: str = "") -> grpc.Channel:
        channel = open_channel(address, credentials, server_name=server_name, options=FRESH)
        self._fresh.append(channel)
        return channel

    def close(self) -> None:
        for channel in [*self._shared.values(), *self._fresh]:
            channel.close()


@pytest.fixture(scope="module")
def dial(ca):
    dialer = Dialer(ca)
    yield dialer
    dialer.close()


@pytest.fixture(scope="module")
def hebei(ca, tmp_path_factory) -> Site:
    """Hebei's provincial node with two departments, B its data authority. Its hub id is the
    default, `national`: a `hub:` block would have to name the hub's address, which the hub
    (started later, Hebei as its peer) has not got yet."""
    config = tls_config(ca, tmp_path_factory.mktemp("hebei"), "hebei", "provincial", "130000", departments=(A, B),
                        data_authority=B)
    assert config.hub_id == "national"
    site = Site(Node(config).start())
    site.issue("A", A)
    site.issue("B", B)
    site.issue("C", C)
    site.issue("A-read", A, {"read"})
    site.issue("B-auth", B, tokens.DEPARTMENT_SCOPES | tokens.AUTHORITY_SCOPES)  # B as the data authority
    site.issue("op", tokens.OPERATOR, tokens.OPERATOR_SCOPES)
    yield site
    site.node.stop(0)


@pytest.fixture(scope="module")
def hub(ca, hebei, tmp_path_factory) -> Site:
    """The national hub with Hebei as its only peer (pulled on demand: SyncNow)."""
    peers = [{"id": "hebei", "role": "provincial", "address": hebei.node.address, "region_code": "130000",
              "interval": 3600}]
    config = tls_config(ca, tmp_path_factory.mktemp("national"), "national", "national", "100000",
                        departments=("100000001",), peers=peers)
    site = Site(Node(config).start())
    site.issue("op", tokens.OPERATOR, tokens.OPERATOR_SCOPES)
    yield site
    site.node.stop(0)


@dataclasses.dataclass(frozen=True)
class World:
    """What Hebei's departments have published and asked for before the rules are tried."""

    entry: str  # A's unconditional entry, read by every read case
    conditional: str  # A's conditional entry: requests for it wait for A's decision
    to_withdraw: str
    request: sharing_pb2.SharingRequest  # B asks A: pending; every request read reads it
    to_decide: str  # pending, for the allowed decision
    not_to_decide: str  # pending, for the refused ones
    to_withdraw_request: str
    mounted: str = ""  # A's entry shared by database, its source mounted
    source: str = ""  # the SQLite file mounted on it
    fetchable: str = ""  # B's granted request for it, served at Hebei (both departments are Hebei's)
    correction: corrections_pb2.Correction | None = None  # B's on A's mounted entry: open, every read reads it
    to_answer: str = ""  # another, open, for the allowed answer
    # The lifecycle's steps: pending (for A's extension), refused (for B's objection), objected
    # (for B's coordination, as the data authority), in review, returned (for B's resubmission).
    to_extend: str = ""
    to_object: str = ""
    to_coordinate: str = ""
    to_review: str = ""
    to_resubmit: str = ""


def entry_proto(provider: str, seq: int, **fields) -> catalog_pb2.Entry:
    return wire.entry_to_proto(make_entry(provider, seq, **fields))


@pytest.fixture(scope="module")
def world(hebei, dial) -> World:
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "A")))
    for seq, fields in ((1, {}), (2, dict(share_type="conditional", share_condition="仅用于政务服务")), (3, {})):
        catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, seq, **fields)), timeout=DEADLINE)
    sharing = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "B")))

    def ask() -> sharing_pb2.SharingRequest:
        made = sharing.SubmitRequest(sharing_pb2.SubmitRequestRequest(
            consumer_code=B, resource_code=f"{A}/000002", purpose="办理企业开办", basis="《优化营商环境条例》",
            data_items=["企业名称"]), timeout=DEADLINE)
        assert made.state == "pending", made
        return made

    source = pathlib.Path(hebei.node.config.database).parent / "sources" / A / "a.db"
    source.parent.mkdir(parents=True, exist_ok=True)
    source = str(source)
    items = [(i.name, i.type) for i in make_entry(A).data_items]
    from harness import data

    data.write_sqlite(source, "t", items, 10)
    keyed = tuple(dataclasses.replace(i, key=i.name == "统一社会信用代码") for i in make_entry(A).data_items)
    catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 4, share_method="database",
                                                                           data_items=keyed)), timeout=DEADLINE)
    exchange_pb2_grpc.ExchangeStub(dial.channel(hebei, Who("tool", "A"))).MountResource(
        exchange_pb2.MountResourceRequest(resource_code=f"{A}/000004", kind="sqlite", location=source, table="t",
                                          keys=["统一社会信用代码"], index="create"),  # Query and Verify by the code
        timeout=DEADLINE)
    fetchable = sharing.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=B, resource_code=f"{A}/000004", purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=["企业名称"]), timeout=DEADLINE)
    assert fetchable.state == "granted", fetchable
    corrections = corrections_pb2_grpc.CorrectionsStub(dial.channel(hebei, Who("tool", "B")))

    with sqlite3.connect(source) as db:  # a record the source holds: a key it lacks is rejected on arrival
        (held_code,), = db.execute('SELECT "统一社会信用代码" FROM t LIMIT 1')

    def correct() -> corrections_pb2.Correction:
        made = corrections.FileCorrection(corrections_pb2.FileCorrectionRequest(
            filer_code=B, resource_code=f"{A}/000004", data_items=["企业名称"], key={"统一社会信用代码": held_code},
            kind="wrong_value", evidence="营业执照上的名称不同"), timeout=DEADLINE)
        assert made.state == "open", made
        return made

    return World(entry=f"{A}/000001", conditional=f"{A}/000002", to_withdraw=f"{A}/000003", request=ask(),
                 to_decide=ask().request_id, not_to_decide=ask().request_id, to_withdraw_request=ask().request_id,
                 mounted=f"{A}/000004", source=source, fetchable=fetchable.request_id, correction=correct(),
                 to_answer=correct().correction_id, **lifecycle_world(hebei.node.sharing, ask, owner=A, consumer=B))


# --- calling, and waiting ------------------------------------------------------------------------

def invoke(channel: grpc.Channel, method: str, request, timeout: float = DEADLINE):
    """Makes the call as a client would; a stream's first reply stands for the stream."""
    service, name = method.strip("/").split("/")
    descriptor, stub = SERVICES[service]
    call = getattr(stub(channel), name)
    if descriptor.methods_by_name[name].client_streaming:
        request = iter(request if isinstance(request, list) else [request])
    if not descriptor.methods_by_name[name].server_streaming:
        return call(request, timeout=timeout)
    replies = call(request, timeout=timeout)
    try:
        return next(replies, None)
    finally:
        replies.cancel()


def outcome(attempt: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    try:
        attempt()
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    return OK, ""


def eventually(attempt: Callable[[], tuple[bool, str]], timeout: float, what: str) -> None:
    """Polls attempt() -> (done, how it went) until done; fails naming `what` and the last result."""
    deadline = time.monotonic() + timeout
    while True:
        done, last = attempt()
        if done:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s (last: {last})")
        time.sleep(0.1)


def denial_recorded(site: Site, since: int, method: str, actor: str) -> bool:
    return any(r.outcome == "denied" and r.method == method and r.actor == actor for r in site.audit_since(since))


CAT, CAS, SHR, ADM = authz.CATALOG, authz.CASCADE, authz.SHARING, authz.ADMIN
HEALTH, REFLECTION = "/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/"
EXC = authz.EXCHANGE
GOV = authz.GOVERNANCE
tool = Who("tool")


# --- the parts on their own: a bare SQLite connection and a fixed time --------------------------


NOW = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def db():
    conn = sqlite3.connect(":memory:")
    tokens.create_tables(conn)
    audit.create_tables(conn)
    yield conn
    conn.close()
