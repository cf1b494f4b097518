"""Security as a caller meets it, through the real gRPC server over mutual TLS: who may call what
(every rule of node/security/authz.py, allowed and denied), tokens, certificates, the audit trail,
the limits that keep one caller from wedging a node, and certificate rotation.

Each check asserts what a user would look at: the status code and its details, what the catalog
and its change log hold afterwards, and what the audit trail says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import shutil
import socket
import sqlite3
import ssl
import threading
import time
from collections import Counter
from typing import Callable

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import assume, given, settings, strategies as st

from conftest import make_entry
from node import config as config_mod
from node.api import serde
from node.catalog.rules import DataItem
from node.proto import (admin_pb2, admin_pb2_grpc, cascade_pb2, cascade_pb2_grpc, catalog_pb2, catalog_pb2_grpc,
                        exchange_pb2, exchange_pb2_grpc, sharing_pb2, sharing_pb2_grpc)
from node.security import audit, authz, pki, tokens
from node.security.client import Credentials, open_channel
from node.server import WORKERS, Node

OK = grpc.StatusCode.OK
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
PERMISSION_DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE

A, B = "130100005", "130000001"  # the departments of Hebei's node
C = "130000002"  # a department with a token at Hebei's node and no part in its requests
HOSTS = ("127.0.0.1", "localhost")
CERTS = {"hebei": "node", "national": "node", "mps": "node", "operator": "operator", "tool": "client"}
FRESH = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own: a new TLS handshake
DEADLINE = 30  # generous: the machine is shared and loaded

SERVICES = {
    descriptor.full_name: (descriptor, stub) for descriptor, stub in (
        (catalog_pb2.DESCRIPTOR.services_by_name["Catalog"], catalog_pb2_grpc.CatalogStub),
        (cascade_pb2.DESCRIPTOR.services_by_name["Cascade"], cascade_pb2_grpc.CascadeStub),
        (admin_pb2.DESCRIPTOR.services_by_name["Admin"], admin_pb2_grpc.AdminStub),
        (sharing_pb2.DESCRIPTOR.services_by_name["Sharing"], sharing_pb2_grpc.SharingStub),
        (exchange_pb2.DESCRIPTOR.services_by_name["Exchange"], exchange_pb2_grpc.ExchangeStub),
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
               departments=(), peers=(), limits=None) -> config_mod.Config:
    data = {
        "node": {"id": node_id, "role": role, "region_code": region},
        "listen": "127.0.0.1:0",
        "database": str(directory / f"{node_id}.db"),
        "departments": [{"code": code, "name": f"部门{code}"} for code in departments],
        "tls": {"cert": str(ca / f"{node_id}.pem"), "key": str(ca / f"{node_id}.key"), "ca": str(ca / pki.CA_CERT)},
        "store": {"synchronous": "normal"},
        "log": {"level": "warning", "format": "json"},
    }
    if peers:
        data["peers"] = list(peers)
        data["sync"] = {"backoff_initial": 0.05, "backoff_max": 0.5, "call_deadline": 20}
    if limits:
        data["limits"] = limits
    data["resources"] = {"allow": [str(directory / "sources")]}  # where departments may mount sources
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
    """Hebei's provincial node with two departments. Its hub id is the default, `national`: a `hub:`
    block would have to name the hub's address, which the hub (started later, Hebei as its peer)
    has not got yet."""
    config = tls_config(ca, tmp_path_factory.mktemp("hebei"), "hebei", "provincial", "130000", departments=(A, B))
    assert config.hub_id == "national"
    site = Site(Node(config).start())
    site.issue("A", A)
    site.issue("B", B)
    site.issue("C", C)
    site.issue("A-read", A, {"read"})
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


def entry_proto(provider: str, seq: int, **fields) -> catalog_pb2.Entry:
    return serde.entry_to_proto(make_entry(provider, seq, **fields))


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

    source = pathlib.Path(hebei.node.config.database).parent / "sources" / "a.db"
    source.parent.mkdir(exist_ok=True)
    source = str(source)
    items = [(i.name, i.type) for i in make_entry(A).data_items]
    from harness import data

    data.write_sqlite(source, "t", items, 10)
    catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 4, share_method="database")),
                         timeout=DEADLINE)
    exchange_pb2_grpc.ExchangeStub(dial.channel(hebei, Who("tool", "A"))).MountResource(
        exchange_pb2.MountResourceRequest(resource_code=f"{A}/000004", kind="sqlite", location=source, table="t"),
        timeout=DEADLINE)
    fetchable = sharing.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=B, resource_code=f"{A}/000004", purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=["企业名称"]), timeout=DEADLINE)
    assert fetchable.state == "granted", fetchable
    return World(entry=f"{A}/000001", conditional=f"{A}/000002", to_withdraw=f"{A}/000003", request=ask(),
                 to_decide=ask().request_id, not_to_decide=ask().request_id, to_withdraw_request=ask().request_id,
                 mounted=f"{A}/000004", source=source, fetchable=fetchable.request_id)


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


def known_bug(reason: str):
    """Marks a test of what should hold and does not yet: it fails with an AssertionError until node/
    is fixed, and then fails as an unexpected pass (strict) until the mark is removed."""
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=f"BUG: {reason}")


# --- 1. every method has a rule ------------------------------------------------------------------

def test_every_method_the_node_serves_has_a_rule(hebei, dial):
    reflection = reflection_pb2_grpc.ServerReflectionStub(dial.channel(hebei, Who("tool")))
    replies = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                              timeout=DEADLINE)
    served = {s.name for reply in replies for s in reply.list_services_response.service}
    assert served == set(SERVICES), "the node serves other services than this test walks"
    missing = [method for method in SERVED if method not in authz.RULES]
    assert not missing, f"methods without a rule in authz.RULES (denied by default, but say so): {missing}"




# --- 2. every rule, allowed and denied -----------------------------------------------------------

CAT, CAS, SHR, ADM = authz.CATALOG, authz.CASCADE, authz.SHARING, authz.ADMIN
HEALTH, REFLECTION = "/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/"


@dataclasses.dataclass(frozen=True)
class Case:
    method: str
    who: Who
    request: Callable[[World], object]
    expect: grpc.StatusCode = OK
    at: str = "hebei"  # or "hub"
    writes_for: str = ""  # an allowed department write: the department its `ok` record names
    note: str = ""

    def __str__(self) -> str:
        verdict = "allowed" if self.expect == OK else self.expect.name
        return "-".join(filter(None, [self.method.rsplit("/", 1)[1], str(self.who), verdict, self.note,
                                      "at-hub" if self.at == "hub" else ""]))


def publish(provider: str, seq: int):
    return lambda w: catalog_pb2.PublishEntryRequest(entry=entry_proto(provider, seq))


def bulk(*chunks: tuple[tuple[str, int], ...]):
    """A PublishEntries stream: one message per chunk; a chunk of one entry uses the `entry` field."""
    def build(w):
        messages = []
        for chunk in chunks:
            entries = [entry_proto(provider, seq) for provider, seq in chunk]
            messages.append(catalog_pb2.PublishEntriesRequest(entry=entries[0]) if len(entries) == 1
                            else catalog_pb2.PublishEntriesRequest(entries=entries))
        return messages
    return build


def withdraw_entry(code: Callable[[World], str]):
    return lambda w: catalog_pb2.WithdrawEntryRequest(resource_code=code(w))


def list_requests(**fields):
    return lambda w: sharing_pb2.ListRequestsRequest(**fields)


def get_request(w):
    return sharing_pb2.GetRequestRequest(request_id=w.request.request_id)


def decide(request_id: Callable[[World], str], department: str):
    return lambda w: sharing_pb2.DecideRequestRequest(request_id=request_id(w), department_code=department,
                                                      approve=True)


def submit(consumer: str):
    return lambda w: sharing_pb2.SubmitRequestRequest(consumer_code=consumer, resource_code=w.conditional,
                                                      purpose="办理企业开办", basis="《优化营商环境条例》",
                                                      data_items=["企业名称"])


EXC = authz.EXCHANGE


def fetch(consumer: str, from_node: str = ""):
    return lambda w: exchange_pb2.FetchDataRequest(request_id=w.fetchable, consumer_code=consumer, from_node=from_node)


def mount_source():
    return lambda w: exchange_pb2.MountResourceRequest(resource_code=w.mounted, kind="sqlite", location=w.source,
                                                       table="t")


def get_mount(w):
    return exchange_pb2.GetMountRequest(resource_code=w.mounted)


READS = {
    CAT + "GetEntry": lambda w: catalog_pb2.GetEntryRequest(resource_code=w.entry),
    CAT + "ListEntries": lambda w: catalog_pb2.ListEntriesRequest(),
    CAT + "SearchEntries": lambda w: catalog_pb2.SearchEntriesRequest(query="企业"),
    ADM + "Scorecard": lambda w: admin_pb2.ScorecardRequest(),
}
HUB_ONLY = {
    CAS + "PullChanges": lambda w: cascade_pb2.PullChangesRequest(),
    CAS + "Snapshot": lambda w: cascade_pb2.SnapshotRequest(),
    CAS + "GetDigest": lambda w: cascade_pb2.DigestRequest(),
}
FOR_ANYONE = {
    HEALTH + "Check": lambda w: health_pb2.HealthCheckRequest(),
    HEALTH + "Watch": lambda w: health_pb2.HealthCheckRequest(),
    REFLECTION + "ServerReflectionInfo": lambda w: [reflection_pb2.ServerReflectionRequest(list_services="")],
}
tool = Who("tool")

CASES = [
    # A department publishes and withdraws its own entries only.
    Case(CAT + "PublishEntry", Who("tool", "A"), publish(A, 100), writes_for=A),
    Case(CAT + "PublishEntry", Who("tool", "B"), publish(A, 101), PERMISSION_DENIED, note="for-A"),
    Case(CAT + "PublishEntry", Who("tool", "A-read"), publish(A, 101), PERMISSION_DENIED, note="no-publish-scope"),
    Case(CAT + "PublishEntry", Who("tool", "op"), publish(A, 101), PERMISSION_DENIED, note="operator-token"),
    Case(CAT + "PublishEntry", tool, publish(A, 101), UNAUTHENTICATED),
    Case(CAT + "PublishEntry", Who("operator"), publish(A, 101), UNAUTHENTICATED),
    Case(CAT + "PublishEntry", Who("hebei"), publish(A, 101), UNAUTHENTICATED),
    Case(CAT + "PublishEntries", Who("tool", "A"), bulk(((A, 110),), ((A, 111), (A, 112))), writes_for=A),
    Case(CAT + "PublishEntries", Who("tool", "B"), bulk(((B, 113),), ((A, 114),)), PERMISSION_DENIED,
         note="own-then-A"),
    Case(CAT + "PublishEntries", Who("tool", "B"), bulk(((B, 115), (A, 116))), PERMISSION_DENIED, note="chunk-with-A"),
    Case(CAT + "PublishEntries", tool, bulk(((A, 117),)), UNAUTHENTICATED),
    Case(CAT + "WithdrawEntry", Who("tool", "A"), withdraw_entry(lambda w: w.to_withdraw), writes_for=A),
    Case(CAT + "WithdrawEntry", Who("tool", "B"), withdraw_entry(lambda w: w.entry), PERMISSION_DENIED, note="A's"),
    Case(CAT + "WithdrawEntry", tool, withdraw_entry(lambda w: w.entry), UNAUTHENTICATED),
    # Reads of the catalog: any valid token, or a node's or an operator's certificate.
    *[Case(method, who, request) for method, request in READS.items()
      for who in (Who("tool", "B"), Who("tool", "A-read"), Who("mps"), Who("operator"))],
    *[Case(method, who, request, UNAUTHENTICATED) for method, request in READS.items()
      for who in (tool, Who("nameless"))],
    # The cascade's source side: the hub's certificate only.
    *[Case(method, Who("national"), request) for method, request in HUB_ONLY.items()],
    *[Case(method, who, request, PERMISSION_DENIED) for method, request in HUB_ONLY.items()
      for who in (Who("tool", "A"), Who("mps"), Who("hebei"), Who("operator"))],
    Case(CAS + "Notify", Who("hebei"), lambda w: cascade_pb2.NotifyRequest(node_id="hebei"), at="hub"),
    Case(CAS + "Notify", Who("mps"), lambda w: cascade_pb2.NotifyRequest(node_id="mps"), PERMISSION_DENIED, at="hub"),
    Case(CAS + "Notify", Who("operator"), lambda w: cascade_pb2.NotifyRequest(node_id="hebei"), PERMISSION_DENIED,
         at="hub"),
    Case(CAS + "Notify", Who("national"), lambda w: cascade_pb2.NotifyRequest(node_id="national"), PERMISSION_DENIED,
         note="hebei-has-no-peers"),
    # Sharing requests: a department acts and reads only for itself; an operator may read.
    Case(SHR + "SubmitRequest", Who("tool", "B"), submit(B), writes_for=B),
    Case(SHR + "SubmitRequest", Who("tool", "B"), submit(A), PERMISSION_DENIED, note="as-A"),
    Case(SHR + "SubmitRequest", Who("tool", "A-read"), submit(A), PERMISSION_DENIED, note="no-request-scope"),
    Case(SHR + "SubmitRequest", tool, submit(B), UNAUTHENTICATED),
    Case(SHR + "WithdrawRequest", Who("tool", "B"),
         lambda w: sharing_pb2.WithdrawRequestRequest(request_id=w.to_withdraw_request, consumer_code=B),
         writes_for=B),
    Case(SHR + "WithdrawRequest", Who("tool", "A"),
         lambda w: sharing_pb2.WithdrawRequestRequest(request_id=w.request.request_id, consumer_code=B),
         PERMISSION_DENIED, note="B's"),
    Case(SHR + "DecideRequest", Who("tool", "A"), decide(lambda w: w.to_decide, A), writes_for=A),
    Case(SHR + "DecideRequest", Who("tool", "B"), decide(lambda w: w.not_to_decide, A), PERMISSION_DENIED,
         note="as-A"),
    Case(SHR + "DecideRequest", Who("tool", "A-read"), decide(lambda w: w.not_to_decide, A), PERMISSION_DENIED,
         note="no-decide-scope"),
    Case(SHR + "DecideRequest", tool, decide(lambda w: w.not_to_decide, A), UNAUTHENTICATED),
    *[Case(SHR + "GetRequest", who, get_request) for who in
      (Who("tool", "B"), Who("tool", "A"), Who("operator"), Who("tool", "op"))],
    Case(SHR + "GetRequest", Who("tool", "C"), get_request, PERMISSION_DENIED, note="not-C's"),
    Case(SHR + "GetRequest", tool, get_request, UNAUTHENTICATED),
    Case(SHR + "GetRequest", Who("national"), get_request, UNAUTHENTICATED),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(consumer_code=B)),
    Case(SHR + "ListRequests", Who("tool", "A"), list_requests(owner_code=A)),
    Case(SHR + "ListRequests", Who("operator"), list_requests()),
    Case(SHR + "ListRequests", Who("tool", "op"), list_requests()),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(consumer_code=A), PERMISSION_DENIED, note="A's"),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(), PERMISSION_DENIED, note="naming-none"),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(consumer_code=B, owner_code=A), PERMISSION_DENIED,
         note="and-A's"),
    Case(SHR + "ListRequests", Who("tool", "C"), list_requests(consumer_code=B), PERMISSION_DENIED, note="B's"),
    Case(SHR + "ListRequests", tool, list_requests(consumer_code=B), UNAUTHENTICATED),
    Case(SHR + "DeliverRequest", Who("national"),
         lambda w: sharing_pb2.DeliverRequestRequest(request=w.request, from_node="national")),
    *[Case(SHR + "DeliverRequest", who, lambda w: sharing_pb2.DeliverRequestRequest(request=w.request,
                                                                                    from_node="national"),
           PERMISSION_DENIED) for who in (Who("mps"), Who("hebei"), Who("tool", "A"))],
    # The operator's calls: an operator certificate, or an operator token.
    Case(ADM + "Status", Who("operator"), lambda w: admin_pb2.StatusRequest()),
    Case(ADM + "Status", Who("tool", "op"), lambda w: admin_pb2.StatusRequest()),
    *[Case(ADM + "Status", who, lambda w: admin_pb2.StatusRequest(), PERMISSION_DENIED)
      for who in (Who("tool", "A"), Who("national"), tool)],
    *[Case(ADM + method, who, request, at="hub")
      for method, request in (("SyncNow", lambda w: admin_pb2.SyncNowRequest(wait=True)),
                              ("Verify", lambda w: admin_pb2.VerifyRequest()))
      for who in (Who("operator"), Who("tool", "op"))],
    Case(ADM + "SyncNow", Who("hebei"), lambda w: admin_pb2.SyncNowRequest(wait=True), PERMISSION_DENIED, at="hub"),
    Case(ADM + "SyncNow", Who("tool", "A"), lambda w: admin_pb2.SyncNowRequest(), PERMISSION_DENIED),
    Case(ADM + "Verify", Who("mps"), lambda w: admin_pb2.VerifyRequest(), PERMISSION_DENIED, at="hub"),
    Case(ADM + "Verify", Who("tool", "B"), lambda w: admin_pb2.VerifyRequest(), PERMISSION_DENIED),
    # Health and reflection: any certificate of the federation that names a caller.
    *[Case(method, who, request) for method, request in FOR_ANYONE.items()
      for who in (tool, Who("mps"), Who("operator"))],
    *[Case(method, Who("nameless"), request, UNAUTHENTICATED) for method, request in FOR_ANYONE.items()],
    # The exchange: the consumer department at its own node, or a node relaying in its own name.
    Case(EXC + "FetchData", Who("tool", "B"), fetch(B)),
    Case(EXC + "FetchData", Who("tool", "A"), fetch(B), PERMISSION_DENIED, note="for-B"),
    Case(EXC + "FetchData", Who("tool", "op"), fetch(B), PERMISSION_DENIED, note="operator-token"),
    Case(EXC + "FetchData", tool, fetch(B), UNAUTHENTICATED),
    Case(EXC + "FetchData", Who("national"), fetch(B, from_node="national"), note="the-hub-relaying"),
    Case(EXC + "FetchData", Who("national"), fetch(B), PERMISSION_DENIED, note="the-hub-not-naming-itself"),
    Case(EXC + "FetchData", Who("mps"), fetch(B, from_node="mps"), PERMISSION_DENIED, note="not-its-hub"),
    Case(EXC + "FetchData", Who("mps"), fetch(B, from_node="mps"), PERMISSION_DENIED, at="hub", note="not-a-peer"),
    Case(EXC + "MountResource", Who("tool", "A"), mount_source(), writes_for=A),
    Case(EXC + "MountResource", Who("tool", "B"), mount_source(), PERMISSION_DENIED, note="for-A"),
    Case(EXC + "MountResource", Who("tool", "A-read"), mount_source(), PERMISSION_DENIED, note="no-publish-scope"),
    Case(EXC + "GetMount", Who("tool", "A"), get_mount),
    Case(EXC + "GetMount", Who("operator"), get_mount),
    Case(EXC + "GetMount", Who("tool", "B"), get_mount, PERMISSION_DENIED, note="for-A"),
    Case(EXC + "ListExchanges", Who("operator"), lambda w: exchange_pb2.ListExchangesRequest()),
    Case(EXC + "ListExchanges", Who("tool", "B"), lambda w: exchange_pb2.ListExchangesRequest(), PERMISSION_DENIED),
]


# grpcio-health-checking's servicer answers List with UNIMPLEMENTED: it has a rule, but nothing to allow.
NOT_IMPLEMENTED = {HEALTH + "List"}


def test_the_cases_try_every_rule_both_ways():
    allowed = {case.method for case in CASES if case.expect == OK}
    denied = {case.method for case in CASES if case.expect != OK}
    served_rules = [method for method in authz.RULES if method in SERVED and method not in NOT_IMPLEMENTED]
    assert not [m for m in served_rules if m not in allowed], "rules never tried with a caller they allow"
    assert not [m for m in served_rules if m not in denied], "rules never tried with a caller they refuse"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_rule_lets_in_whom_it_names_and_no_one_else(case, request, dial, world):
    site: Site = request.getfixturevalue(case.at)
    if case.at == "hub":  # let the hub finish the pulls it has started or been asked for (Notify)
        admin_pb2_grpc.AdminStub(dial.channel(site, Who("operator"))).SyncNow(admin_pb2.SyncNowRequest(wait=True),
                                                                             timeout=60)
    channel = dial.channel(site, case.who)
    before, since = site.state(), site.audit_seq()
    code, details = outcome(lambda: invoke(channel, case.method, case.request(world)))
    assert code == case.expect, f"{case}: {code.name}: {details}"
    if case.expect != OK:
        assert site.state() == before, "a refused call changed the catalog or the change log"
        assert denial_recorded(site, since, case.method, site.actor(case.who)), \
            f"no `denied` record naming {case.method} and {site.actor(case.who)}: {site.audit_since(since)}"
    elif case.writes_for:
        actor = f"{case.writes_for}@{case.who.cert}"
        assert any(r.outcome == "ok" and r.method == case.method and r.actor == actor
                   for r in site.audit_since(since)), f"no `ok` record by {actor}: {site.audit_since(since)}"


def test_a_refused_stream_stores_none_of_it(hebei, dial, world):
    """B's own entry came first in the stream that was refused: it is not in the catalog."""
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "B")))
    for code in (f"{B}/000113", f"{B}/000115", f"{A}/000101"):
        found, details = outcome(lambda: catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=code),
                                                          timeout=DEADLINE))
        assert found == grpc.StatusCode.NOT_FOUND, (code, found, details)


def test_a_department_naming_itself_still_cannot_decide_or_withdraw_anothers_request(hebei, dial, world):
    sharing_b = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "B")))
    sharing_a = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "A")))
    before = hebei.state()
    code, details = outcome(lambda: sharing_b.DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=world.not_to_decide, department_code=B, approve=True), timeout=DEADLINE))
    assert (code, "department_code" in details) == (PERMISSION_DENIED, True), details
    code, details = outcome(lambda: sharing_a.WithdrawRequest(sharing_pb2.WithdrawRequestRequest(
        request_id=world.request.request_id, consumer_code=A), timeout=DEADLINE))
    assert (code, "consumer_code" in details) == (PERMISSION_DENIED, True), details
    assert hebei.state() == before
    still = sharing_b.GetRequest(sharing_pb2.GetRequestRequest(request_id=world.not_to_decide), timeout=DEADLINE)
    assert still.state == "pending"


def test_a_refusal_by_the_sharing_rules_is_on_the_audit_trail(hebei, dial, world):
    sharing = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "B")))
    since = hebei.audit_seq()
    code, _ = outcome(lambda: sharing.DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=world.not_to_decide, department_code=B, approve=True), timeout=DEADLINE))
    assert code == PERMISSION_DENIED
    assert denial_recorded(hebei, since, SHR + "DecideRequest", f"{B}@tool"), hebei.audit_since(since)


@settings(max_examples=25, deadline=None, database=None)
@given(provider=st.one_of(st.sampled_from([B, C]), st.from_regex(r"[0-9]{9}", fullmatch=True)),
       how=st.sampled_from(["PublishEntry", "PublishEntries", "WithdrawEntry"]), seq=st.integers(1, 999))
def test_a_department_never_writes_in_another_departments_name(hebei, dial, world, provider, how, seq):
    assume(provider != A)
    requests = {
        "PublishEntry": catalog_pb2.PublishEntryRequest(entry=entry_proto(provider, seq)),
        # Its own entry first: the stream is refused whole.
        "PublishEntries": [catalog_pb2.PublishEntriesRequest(entries=[entry_proto(A, 500), entry_proto(provider, seq)])],
        "WithdrawEntry": catalog_pb2.WithdrawEntryRequest(resource_code=f"{provider}/{seq:06d}"),
    }
    before, since = hebei.state(), hebei.audit_seq()
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), CAT + how, requests[how]))
    assert code == PERMISSION_DENIED and provider in details, details
    assert hebei.state() == before
    assert denial_recorded(hebei, since, CAT + how, f"{A}@tool")


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


# --- 5. what a refusal and a write leave behind ----------------------------------------------------

BAD_ENTRIES = {
    "name": dict(name="  "),
    "provider_name": dict(provider_name=""),
    "category": dict(category="misc"),
    "share_type": dict(share_type="sometimes"),
    "share_method": dict(share_method="fax"),
    "open_type": dict(open_type="ajar"),
    "update_cycle": dict(update_cycle="hourly"),
    "share_condition": dict(share_type="conditional", share_condition=""),
    "not_shared_basis": dict(share_type="not_shared", not_shared_basis=""),
    "region_code": dict(region_code="999999"),
    "resource_code": dict(resource_code=f"{A}/12"),
    "data_items": dict(data_items=()),
    "data_items[0].type": dict(data_items=(DataItem("企业名称", "blob", 200),)),
    "data_items[1].name": dict(data_items=(DataItem("企业名称", "string", 200), DataItem("企业名称", "string", 200))),
    "keywords[0]": dict(keywords=(" ",)),
}


@settings(max_examples=30, deadline=None, database=None)
@given(field=st.sampled_from(sorted(BAD_ENTRIES)), seq=st.integers(600, 699), in_bulk=st.booleans())
def test_bad_input_with_a_valid_token_is_invalid_argument_naming_the_field(hebei, dial, world, field, seq, in_bulk):
    bad = serde.entry_to_proto(make_entry(A, seq, **BAD_ENTRIES[field]))
    if in_bulk:  # a good entry first: all or nothing
        method, request, named = CAT + "PublishEntries", [catalog_pb2.PublishEntriesRequest(
            entries=[entry_proto(A, seq + 100), bad])], f"entries[1].{field}"
    else:
        method, request, named = CAT + "PublishEntry", catalog_pb2.PublishEntryRequest(entry=bad), field
    before = hebei.state()
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), method, request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{named}:"), details
    assert hebei.state() == before


def test_a_malformed_resource_code_to_withdraw_is_invalid_argument(hebei, dial, world):
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "A")))
    before = hebei.state()
    code, details = outcome(lambda: catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code=f"{A}/12"),
                                                           timeout=DEADLINE))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "resource_code" in details, details
    assert hebei.state() == before


@pytest.mark.parametrize("method, request_, field", [
    (CAT + "PublishEntry", catalog_pb2.PublishEntryRequest(), "entry"),
    (CAT + "WithdrawEntry", catalog_pb2.WithdrawEntryRequest(), "resource_code"),
], ids=["publish-without-entry", "withdraw-without-code"])
def test_a_missing_field_with_a_valid_token_is_invalid_argument(hebei, dial, method, request_, field):
    before = hebei.state()
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), method, request_))
    assert hebei.state() == before
    assert code == grpc.StatusCode.INVALID_ARGUMENT and field in details, f"{code.name}: {details}"


# --- 6. the audit trail cannot be changed unseen ---------------------------------------------------

@pytest.fixture(scope="module")
def trail(hebei, dial, world, tmp_path_factory) -> tuple[pathlib.Path, int, tuple[int, str]]:
    """A copy of Hebei's file, its number of audit records, and the head its Status showed an operator."""
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "B")))
    outcome(lambda: catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 700)), timeout=DEADLINE))
    catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(B, 700)), timeout=DEADLINE)
    status = admin_pb2_grpc.AdminStub(dial.channel(hebei, Who("operator"))).Status(admin_pb2.StatusRequest(),
                                                                                   timeout=DEADLINE)
    path = tmp_path_factory.mktemp("trail") / "hebei-copy.db"
    source, copy = sqlite3.connect(hebei.node.config.database), sqlite3.connect(path)
    with source, copy:
        source.backup(copy)
    source.close()
    head = audit.head(copy)
    copy.close()
    assert head == (status.audit_seq, status.audit_hash), "writes happened between Status and the copy"
    assert head[0] >= 3
    return path, head[0], head


def _tamper(path: pathlib.Path, *statements: tuple) -> sqlite3.Connection:
    """Change the trail as someone holding the file could: drop the append-only triggers first."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for sql, *params in statements:
        conn.execute(sql, params)
    return conn


FIELDS = ("at", "actor", "method", "object", "outcome", "detail")
SWAP = """UPDATE audit SET at = o.at, actor = o.actor, method = o.method, object = o.object, outcome = o.outcome,
          detail = o.detail, prev_hash = o.prev_hash, hash = o.hash
          FROM (SELECT * FROM audit) AS o WHERE (audit.seq = ? AND o.seq = ?) OR (audit.seq = ? AND o.seq = ?)"""


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_editing_deleting_or_swapping_any_audit_record_is_found_at_that_record(trail, tmp_path_factory, data):
    master, n, published = trail
    path = tmp_path_factory.mktemp("tampered") / "hebei.db"
    shutil.copyfile(master, path)
    seq = data.draw(st.integers(1, n), label="seq")
    how = data.draw(st.sampled_from(["edit", "edit and re-hash", "delete", "swap"]), label="how")
    if how == "edit":
        field = data.draw(st.sampled_from(FIELDS), label="field")
        value = data.draw(st.text(max_size=30), label="value")
        conn = _tamper(path)
        assume(conn.execute(f"SELECT {field} FROM audit WHERE seq = ?", (seq,)).fetchone()[0] != value)
        conn.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (value, seq))
    elif how == "edit and re-hash":
        assume(seq < n)  # a re-hashed newest record shows only against a head seen before, as below
        conn = _tamper(path)
        record = audit.Record(*conn.execute(f"SELECT {audit.COLUMNS} FROM audit WHERE seq = ?", (seq,)).fetchone())
        forged = audit.seal(seq, record.at, record.actor, record.method, record.object,
                            "ok" if record.outcome != "ok" else "denied", record.detail, record.prev_hash)
        conn.execute("UPDATE audit SET outcome = ?, hash = ? WHERE seq = ?", (forged.outcome, forged.hash, seq))
    elif how == "delete":
        conn = _tamper(path, ("DELETE FROM audit WHERE seq = ?", seq))
    else:
        other = data.draw(st.integers(1, n).filter(lambda s: s != seq), label="other")
        conn = _tamper(path, (SWAP, seq, other, other, seq))
        seq = min(seq, other)
    verdict, head = audit.verify(conn), audit.head(conn)
    conn.close()
    if how == "delete" and seq == n:
        # The newest record gone leaves an intact but shorter chain: the head an operator noted shows it.
        assert verdict.ok and head != published
        return
    assert not verdict.ok and verdict.problem_seq == seq, verdict.message
    assert f"record {seq}" in verdict.message or f"records {seq}" in verdict.message, verdict.message


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
