"""Shared by the signed-decision tests: a federation over mutual TLS (the hub, Hebei, Guangdong
and the MPS, each a real node in this process), its departments' channels, and what a hostile
node does to its own database."""

from __future__ import annotations

import dataclasses
import pathlib

import grpc
import pytest

from conftest import free_port, wait_until
from exchange_support import CONSUMER, ENTRIES, OWNER, ROWS, SOURCE_ITEMS
from harness import data
from node import config as config_mod, wire
from node.model.request import Request
from node.proto import (admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc,
                        sharing_pb2, sharing_pb2_grpc)
from node.security import audit, pki, tokens
from node.security.client import Credentials, open_channel
from node.server import Node

HOSTS = ("127.0.0.1", "localhost")
MPS_DEPARTMENT = "100000011"
NATIONAL = "100000001"  # the hub's data authority: it coordinates objections between nodes
NODES = {  # node id: (role, region, departments)
    "hebei": ("provincial", "130000", (CONSUMER,)),
    "guangdong": ("provincial", "440000", (OWNER,)),
    "mps": ("ministry", "100000", (MPS_DEPARTMENT,)),
}
DEADLINE = 30


@dataclasses.dataclass
class Member:
    """A running node, and channels to it as its departments (by code) and as the operator."""

    node: Node
    ca: pathlib.Path
    channels: dict[str, grpc.Channel] = dataclasses.field(default_factory=dict)

    def channel(self, department: str = "") -> grpc.Channel:
        """As a department (a tool holding its token), or with "" as the operator."""
        if department not in self.channels:
            token = ""
            if department:
                authority = department == self.node.config.data_authority
                with self.node.store.transaction() as tx:
                    token, _ = tokens.issue(tx.conn, department, tokens.DEPARTMENT_SCOPES | (
                        tokens.AUTHORITY_SCOPES if authority else frozenset()))
            cert = "tool" if department else "operator"
            self.channels[department] = open_channel(self.node.address, Credentials(
                str(self.ca / f"{cert}.pem"), str(self.ca / f"{cert}.key"), str(self.ca / pki.CA_CERT), token))
        return self.channels[department]

    def sharing(self, department: str):
        return sharing_pb2_grpc.SharingStub(self.channel(department))

    def status(self) -> admin_pb2.NodeStatus:
        return admin_pb2_grpc.AdminStub(self.channel()).Status(admin_pb2.StatusRequest(), timeout=DEADLINE)

    def held(self, request_id: str) -> Request:
        return self.node.store.get_requests([request_id])[request_id]

    def denied(self, request_id: str) -> list[audit.Record]:
        """The `denied` records about this request on the node's audit trail."""
        with self.node.store.reading() as conn:
            return [r for r in audit.tail(conn, 1000) if r.outcome == "denied" and r.object == request_id]

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        self.node.stop(0)


@dataclasses.dataclass
class Federation:
    hub: Member
    members: dict[str, Member]
    source: str

    def sync(self) -> None:
        admin_pb2_grpc.AdminStub(self.hub.channel()).SyncNow(admin_pb2.SyncNowRequest(wait=True), timeout=60)

    def settle(self, probe, what: str, timeout: float = 60):
        """Pulls and delivers until probe() holds (the courier delivers between pulls)."""
        def pulled():
            self.sync()
            return probe()
        return wait_until(pulled, timeout, what, poll=0.1)

    def state_at(self, member: Member, request_id: str) -> str:
        found = member.node.store.get_requests([request_id]).get(request_id)
        return found.state if found else ""

    def request(self, consumer: str, code: str, items: tuple[str, ...]) -> str:
        """A request filed at the consumer's node, once the owner's answer is back there."""
        member = self.members[{CONSUMER: "hebei", MPS_DEPARTMENT: "mps"}[consumer]]
        filed = member.sharing(consumer).SubmitRequest(sharing_pb2.SubmitRequestRequest(
            consumer_code=consumer, resource_code=code, purpose="办理企业开办", basis="《优化营商环境条例》",
            data_items=list(items)), timeout=DEADLINE)
        self.settle(lambda: self.state_at(member, filed.request_id) not in ("", "submitted"),
                    f"the owner's answer to {filed.request_id} back at {member.node.config.node_id}")
        return filed.request_id


def node_config(ca: pathlib.Path, directory: pathlib.Path, node_id: str, role: str, region: str, departments,
                *, hub_address: str = "", peers=(), listen: str = "127.0.0.1:0",
                data_authority: str = "") -> config_mod.Config:
    settings = {
        "node": {"id": node_id, "role": role, "region_code": region},
        "listen": listen,
        "sharing": {"beyond_calendar": "weekdays"},  # any day of any year (docs/calendar.md)
        "database": str(directory / f"{node_id}.db"),
        "departments": [{"code": code, "name": f"部门{code}"} for code in departments],
        "tls": {"cert": str(ca / f"{node_id}.pem"), "key": str(ca / f"{node_id}.key"), "ca": str(ca / pki.CA_CERT)},
        "store": {"synchronous": "normal"},
        "log": {"level": "warning", "format": "json"},
        "resources": {"allow": {code: [str(directory / "sources")] for code in departments}},
    }
    if hub_address:
        settings["hub"] = {"address": hub_address, "notify": True}
    if data_authority:
        settings["data_authority"] = data_authority
    if peers:
        settings["peers"] = list(peers)
        settings["sync"] = {"backoff_initial": 0.05, "backoff_max": 0.5, "call_deadline": 20}
    return config_mod.parse(settings, f"<{node_id}>")


@pytest.fixture(scope="module")
def federation(tmp_path_factory) -> Federation:
    """The hub and three members over mutual TLS; Guangdong has published the exchange tests'
    entries (Shenzhen's) and mounted a source on the conditional and an unconditional one."""
    ca = tmp_path_factory.mktemp("pki")
    pki.init_ca(ca)
    for name, kind in (("national", "node"), *((n, "node") for n in NODES), ("operator", "operator"),
                       ("tool", "client")):
        pki.issue(ca, name, kind=kind, hosts=HOSTS)
    directory = tmp_path_factory.mktemp("federation")
    hub_address = f"127.0.0.1:{free_port()}"
    members = {node_id: Member(Node(node_config(ca, directory, node_id, role, region, departments,
                                                hub_address=hub_address)).start(), ca)
               for node_id, (role, region, departments) in NODES.items()}
    peers = [{"id": node_id, "role": role, "address": members[node_id].node.address, "region_code": region,
              "interval": 3600} for node_id, (role, region, _) in NODES.items()]
    hub = Member(Node(node_config(ca, directory, "national", "national", "100000", (NATIONAL,), peers=peers,
                                  listen=hub_address, data_authority=NATIONAL)).start(), ca)
    source = directory / "sources" / "shenzhen-market.db"
    source.parent.mkdir()
    data.write_sqlite(str(source), "enterprises", SOURCE_ITEMS, ROWS, seed="exchange", province="440000")
    guangdong = members["guangdong"]
    catalog = catalog_pb2_grpc.CatalogStub(guangdong.channel(OWNER))
    exchange = exchange_pb2_grpc.ExchangeStub(guangdong.channel(OWNER))
    for entry in ENTRIES[:2]:
        catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)), timeout=DEADLINE)
        exchange.MountResource(exchange_pb2.MountResourceRequest(
            resource_code=entry.resource_code, kind="sqlite", location=str(source), table="enterprises"),
            timeout=DEADLINE)
    fed = Federation(hub, members, str(source))
    fed.sync()
    yield fed
    for member in (hub, *members.values()):
        member.close()


def forge(member: Member, request: Request) -> None:
    """What a hostile node can do: write a version of its own making into its own database (it
    then travels like any change)."""
    with member.node.store.transaction() as tx:
        tx.put_requests([request], log=True)


def fetch(member: Member, request_id: str, consumer: str = CONSUMER) -> list[tuple]:
    """The rows one FetchData at the consumer's node brings back (relayed to the owner's node)."""
    rows = []
    stub = exchange_pb2_grpc.ExchangeStub(member.channel(consumer))
    for chunk in stub.FetchData(exchange_pb2.FetchDataRequest(request_id=request_id, consumer_code=consumer),
                                timeout=60):
        rows.extend(tuple(r.values) for r in chunk.rows)
    return rows


def refused_fetch(member: Member, request_id: str, consumer: str = CONSUMER) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        fetch(member, request_id, consumer)
    return caught.value.code(), caught.value.details()
