"""Fixtures: entries, stores, real nodes on free loopback ports, and small in-process clusters."""

from __future__ import annotations

import dataclasses
import pathlib
import time

import grpc
import pytest

from node import config as config_mod
from node.model.rules import DataItem, Entry
from node.proto import admin_pb2_grpc, cascade_pb2_grpc, catalog_pb2_grpc
from node.server import Node
from node.store import Store

ROOT = pathlib.Path(__file__).resolve().parent.parent

pytest_plugins = ["harness.pytest_plugin"]


def make_entry(provider_code: str = "130100005", seq: int = 1, **overrides) -> Entry:
    """A valid entry of that provider; overrides replace any field."""
    fields = dict(
        resource_code=f"{provider_code}/{seq:06d}",
        name=f"企业法人登记信息{seq}",
        summary="全省企业法人的登记、变更与注销信息",
        provider_code=provider_code,
        provider_name="市场监督管理局",
        region_code=provider_code[:6],
        category="base",
        data_items=(DataItem("统一社会信用代码", "string", 18, "18位代码"), DataItem("企业名称", "string", 200)),
        share_type="unconditional",
        share_method="api",
        open_type="conditional_open",
        update_cycle="daily",
        source_system="企业登记系统",
        keywords=("企业", "法人"),
    )
    fields.update(overrides)
    return Entry(**fields)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "node.db", synchronous="normal")
    yield s
    s.close()


def node_config(tmp_path: pathlib.Path, node_id: str, role: str, region: str, *, departments=(), peers=(),
                hub: str | None = None, extra: dict | None = None) -> config_mod.Config:
    data = {
        "node": {"id": node_id, "role": role, "region_code": region},
        "listen": "127.0.0.1:0",
        "insecure": True,
        "database": str(tmp_path / f"{node_id}.db"),
        "departments": [{"code": code, "name": f"部门{code}"} for code in departments],
        "store": {"synchronous": "normal"},
        "log": {"level": "warning", "format": "json"},
        # Past the official calendar's years, Monday to Friday: the suite runs on any day.
        "sharing": {"beyond_calendar": "weekdays"},
    }
    if peers:
        data["peers"] = list(peers)
        data["sync"] = {"backoff_initial": 0.05, "backoff_max": 0.5, "call_deadline": 20, "batch_size": 100}
    if hub:
        data["hub"] = {"address": hub, "notify": True}
    for key, value in (extra or {}).items():
        data[key] = value
    return config_mod.parse(data, f"<{node_id}>")


@dataclasses.dataclass
class Client:
    """Stubs for one node."""

    node: Node
    channel: grpc.Channel

    @property
    def catalog(self):
        return catalog_pb2_grpc.CatalogStub(self.channel)

    @property
    def cascade(self):
        return cascade_pb2_grpc.CascadeStub(self.channel)

    @property
    def admin(self):
        return admin_pb2_grpc.AdminStub(self.channel)


@pytest.fixture
def start_node(tmp_path):
    """start_node(config) -> Client for a started node; every node is stopped at teardown."""
    started: list[Client] = []

    def start(cfg: config_mod.Config) -> Client:
        node = Node(cfg).start()
        client = Client(node, grpc.insecure_channel(node.address))
        started.append(client)
        return client

    yield start
    for client in reversed(started):
        client.channel.close()
        if not client.node.store._closed:
            client.node.stop(0)


@pytest.fixture
def node(tmp_path, start_node) -> Client:
    """A provincial node (Hebei) with two departments."""
    return start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=["130100005", "130000001"]))


def wait_until(probe, timeout: float, message: str, *, until=bool, poll: float = 0.05, ignoring=()):
    """Polls probe() until until(value) holds and returns that value. On timeout raises
    AssertionError saying what was awaited (message), for how long, and the last value seen.
    Exceptions of the types in `ignoring` count as "not yet" (a node that is restarting).
    The probe runs at least once, and once more after the deadline has passed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except ignoring as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if until(value):
                return value
            last = repr(value)
        if time.monotonic() >= deadline:
            last = last if len(last) <= 600 else last[:600] + "..."
            raise AssertionError(f"waited {timeout:g}s for {message}; last seen: {last}")
        time.sleep(poll)


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port free now, for a node that must know its address before it starts. Taken
    below the kernel's ephemeral range: a port the kernel handed out (bind to :0) and released
    would be handed out again to the next node binding :0, and two nodes would race for it."""
    import random
    import socket

    low = int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randint(max(1024, low - 12000), low - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


PEERS = {
    # node id: (role, region, departments)
    "hebei": ("provincial", "130000", ["130000001", "130100005"]),
    "guangdong": ("provincial", "440000", ["440000001", "440300002"]),
    "xpcc": ("provincial", "660000", ["660000001"]),
    "mps": ("ministry", "100000", ["100000011"]),
}
HUB_DEPARTMENTS = ["100000001"]


class Cluster:
    """A national hub and its peers, each a real node on loopback, in this process."""

    def __init__(self, tmp_path, start_node, *, interval: float = 3600.0, notify: bool = False, peer_extra=None,
                 peers=PEERS, hub_extra=None):
        self.tmp_path = tmp_path
        self.hub_extra = hub_extra
        self.start_node = start_node
        self.hub_port = free_port()
        self.hub_address = f"127.0.0.1:{self.hub_port}"
        self.notify = notify
        self.peer_extra = peer_extra or {}
        self.hub_extra = hub_extra  # config keys added to the hub's (e.g. metrics)
        self.specs = peers
        self.peers: dict[str, Client] = {}
        for peer_id in peers:
            self.peers[peer_id] = self.start_peer(peer_id)
        self.interval = interval
        self.hub = self.start_hub()

    def peer_config(self, peer_id: str, port: int = 0):
        role, region, departments = self.specs[peer_id]
        cfg = node_config(self.tmp_path, peer_id, role, region, departments=departments,
                          hub=self.hub_address if self.notify else None, extra=self.peer_extra.get(peer_id))
        return dataclasses.replace(cfg, listen=f"127.0.0.1:{port}")

    def start_peer(self, peer_id: str, port: int = 0) -> Client:
        return self.start_node(self.peer_config(peer_id, port))

    def restart_peer(self, peer_id: str) -> Client:
        port = self.peers[peer_id].node.port
        self.stop_peer(peer_id)
        self.peers[peer_id] = self.start_peer(peer_id, port)
        return self.peers[peer_id]

    def stop_peer(self, peer_id: str) -> None:
        client = self.peers[peer_id]
        client.channel.close()
        client.node.stop(0)

    def hub_config(self):
        peers = [{"id": pid, "role": self.specs[pid][0], "address": c.node.address,
                  "region_code": self.specs[pid][1], "interval": self.interval} for pid, c in self.peers.items()]
        cfg = node_config(self.tmp_path, "national", "national", "100000", departments=HUB_DEPARTMENTS, peers=peers,
                          extra=self.hub_extra)
        return dataclasses.replace(cfg, listen=self.hub_address)

    def start_hub(self) -> Client:
        return self.start_node(self.hub_config())

    def restart_hub(self) -> Client:
        self.hub.channel.close()
        self.hub.node.stop(0)
        self.hub = self.start_hub()
        return self.hub

    def sync(self, peer: str = "") -> list:
        from node.proto import admin_pb2

        reply = self.hub.admin.SyncNow(admin_pb2.SyncNowRequest(peer=peer, wait=True), timeout=60)
        return list(reply.peers)

    def status(self):
        from node.proto import admin_pb2

        return {p.node_id: p for p in self.hub.admin.Status(admin_pb2.StatusRequest()).peers}

    def verify(self) -> dict:
        from node.proto import admin_pb2

        return {v.peer: v for v in self.hub.admin.Verify(admin_pb2.VerifyRequest(), timeout=60).peers}


@pytest.fixture
def cluster(tmp_path, start_node):
    """cluster(**options) -> Cluster of a hub, three provinces (Hebei, Guangdong, XPCC) and a ministry (MPS)."""
    return lambda **options: Cluster(tmp_path, start_node, **options)
