"""Budgets that cannot be borrowed: one department holding every data fetch it may leaves the
hub's pulls and every other department served, and a bulk publish is capped in bytes.

Three nodes over mutual TLS (the hub, Hebei as the consumer's node, the MPS as the owner's), and
an HTTP source at the owner that answers its first page and holds the second until the test
lets it go: the fetches stay open at every hop for as long as the test needs, whatever the speed
of the machine.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading

import grpc
import pytest

from conftest import free_port, make_entry
from node import wire
from node.config import Uplink
from node.exchange import sources
from node.proto import (admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc,
                        sharing_pb2, sharing_pb2_grpc)
from node.server import Node
from security_support import A, B, DEADLINE, OK, Site, Who, entry_proto, eventually, outcome, tls_config
from security_support import ca, dial  # noqa: F401 (fixtures)

OWNER = "100000011"  # a department at the MPS's node
PER_CALLER, PER_DEPARTMENT = 4, 2
LIMITS = {"max_calls_per_caller": PER_CALLER, "max_fetches_per_department": PER_DEPARTMENT,
          "idle_stream_seconds": 600}
RESOURCE_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
ROWS = [{"统一社会信用代码": f"91130100MA0{n:05d}", "企业名称": f"企业{n}"} for n in range(3)]


class HeldSource:
    """An HTTP API: /fast answers its rows; /held answers one row and names a next page that is
    held until `release` is set."""

    def __init__(self):
        self.release = threading.Event()
        release = self.release

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/held/next":
                    release.wait()
                    body = {"rows": []}
                elif self.path == "/held":
                    body = {"rows": ROWS[:1], "next": "/held/next"}
                else:
                    body = ROWS
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@dataclasses.dataclass
class Federation:
    hub: Site
    hebei: Site
    mps: Site
    source: HeldSource


@pytest.fixture
def federation(ca, tmp_path, monkeypatch):
    """The hub pulling Hebei and the MPS (on demand: SyncNow, and the peers' notices), with small limits."""
    monkeypatch.setattr(sources, "HTTP_TIMEOUT", 600.0)  # the held page outlasts the test, not the source's timeout
    source = HeldSource()
    hub_address = f"127.0.0.1:{free_port()}"

    def peer(node_id, role, region, departments):
        config = tls_config(ca, tmp_path / node_id, node_id, role, region, departments=departments, limits=LIMITS)
        return dataclasses.replace(config, uplink=Uplink(hub_address),
                                   resources=dataclasses.replace(config.resources,
                                                                 allow={code: (source.base + "/",) for code in departments}))

    sites = []
    try:
        mps = Site(Node(peer("mps", "ministry", "100000", (OWNER,))).start())
        sites.append(mps)
        hebei = Site(Node(peer("hebei", "provincial", "130000", (A, B))).start())
        sites.append(hebei)
        peers = [{"id": site.node.config.node_id, "role": site.node.config.role, "address": site.node.address,
                  "region_code": site.node.config.region_code, "interval": 3600} for site in (hebei, mps)]
        config = tls_config(ca, tmp_path / "national", "national", "national", "100000", departments=("100000001",),
                            peers=peers, limits=LIMITS)
        hub = Site(Node(dataclasses.replace(config, listen=hub_address)).start())
        sites.append(hub)
        mps.issue("owner", OWNER)
        hebei.issue("A", A)
        hebei.issue("B", B)
        yield Federation(hub, hebei, mps, source)
    finally:
        source.close()
        for site in reversed(sites):
            site.node.stop(0)


def _sync(fed: Federation, dial, peer: str = "") -> None:
    admin = admin_pb2_grpc.AdminStub(dial.channel(fed.hub, Who("operator")))
    admin.SyncNow(admin_pb2.SyncNowRequest(peer=peer, wait=True), timeout=DEADLINE)


def _granted(fed: Federation, dial, consumer: str, token: str, code: str) -> str:
    """A request of the consumer for the entry, once Hebei holds it granted."""
    sharing = sharing_pb2_grpc.SharingStub(dial.channel(fed.hebei, Who("tool", token)))
    filed = sharing.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=consumer, resource_code=code, purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=["企业名称"]), timeout=DEADLINE)

    def granted() -> tuple[bool, str]:
        _sync(fed, dial)  # Hebei's request to the hub, the hub's delivery to the MPS, the grant back
        state = sharing.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id), timeout=DEADLINE).state
        return state == "granted", state
    eventually(granted, 60, f"{filed.request_id} granted at Hebei")
    return filed.request_id


def _fetch(fed: Federation, dial, token: str, consumer: str, request_id: str, *, timeout: float = DEADLINE):
    exchange = exchange_pb2_grpc.ExchangeStub(dial.channel(fed.hebei, Who("tool", token)))
    return exchange.FetchData(exchange_pb2.FetchDataRequest(request_id=request_id, consumer_code=consumer),
                              timeout=timeout)


def _entries(fed: Federation, dial) -> catalog_pb2_grpc.CatalogStub:
    """The owner's entries, /000001 on the held source and /000002 on the one that answers, known
    at the hub; the owner's catalog, to publish more."""
    owner = catalog_pb2_grpc.CatalogStub(dial.channel(fed.mps, Who("tool", "owner")))
    mounts = exchange_pb2_grpc.ExchangeStub(dial.channel(fed.mps, Who("tool", "owner")))
    for seq, path in ((1, "/held"), (2, "/fast")):
        owner.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(OWNER, seq)), timeout=DEADLINE)
        mounts.MountResource(exchange_pb2.MountResourceRequest(
            resource_code=f"{OWNER}/{seq:06d}", kind="http", location=fed.source.base + path), timeout=DEADLINE)
    _sync(fed, dial)
    return owner


def _hold(fed: Federation, dial, token: str, consumer: str, request_id: str, held: list, tries: int):
    """Opens fetches until one is refused (its status and details) or `tries` are held: each one
    let in has its first chunk through every hop, and then waits on the owner's source."""
    for _ in range(tries):
        stream = _fetch(fed, dial, token, consumer, request_id, timeout=600)
        code, details = outcome(lambda: next(stream))
        if code != OK:
            return code, details
        held.append(stream)
    return None


def _pulled(fed: Federation, dial, owner, seq: int, what: str) -> None:
    """A new entry published at the owner's node reaches the hub."""
    owner.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(OWNER, seq)), timeout=DEADLINE)
    hub_catalog = catalog_pb2_grpc.CatalogStub(dial.channel(fed.hub, Who("operator")))

    def pulled() -> tuple[bool, str]:
        _sync(fed, dial, "mps")
        code, details = outcome(lambda: hub_catalog.GetEntry(
            catalog_pb2.GetEntryRequest(resource_code=f"{OWNER}/{seq:06d}"), timeout=DEADLINE))
        status = admin_pb2_grpc.AdminStub(dial.channel(fed.hub, Who("operator"))).Status(
            admin_pb2.StatusRequest(), timeout=DEADLINE)
        errors = [p.last_error for p in status.peers if p.node_id == "mps"]
        return code == OK, f"{code.name}: {details}; the hub's last error pulling mps: {errors}"
    eventually(pulled, 30, f"the hub's pull of the owner's node while {what}")


def test_one_department_holding_every_fetch_it_may_leaves_the_hubs_pulls_and_others_served(federation, dial):
    fed = federation
    owner = _entries(fed, dial)
    held_request = _granted(fed, dial, A, "A", f"{OWNER}/000001")
    other_request = _granted(fed, dial, B, "B", f"{OWNER}/000002")

    held = []
    try:
        refusal = _hold(fed, dial, "A", A, held_request, held, PER_CALLER + 1)

        # Meanwhile the hub still pulls the owner's node.
        _pulled(fed, dial, owner, 3, "department A holds its fetches")

        # And another department of Hebei fetches through the same hub to the same owner.
        chunks = list(_fetch(fed, dial, "B", B, other_request))
        assert sum(len(chunk.rows) for chunk in chunks) == len(ROWS) and chunks[-1].last

        # A held as many as one department may, and the next was refused, naming the limit.
        assert len(held) == PER_DEPARTMENT, f"department A held {len(held)} fetches; refused with {refusal}"
        assert refusal is not None and refusal[0] == RESOURCE_EXHAUSTED, refusal
        assert "limits.max_fetches_per_department" in refusal[1] and A in refusal[1], refusal
    finally:
        fed.source.release.set()
        for stream in held:
            stream.cancel()

    # The held fetches given back, A fetches again.
    def a_fetches_again() -> tuple[bool, str]:
        code, details = outcome(lambda: list(_fetch(fed, dial, "A", A, held_request)))
        return code == OK, f"{code.name}: {details}"
    eventually(a_fetches_again, 30, "department A fetching again once its held fetches ended")


def test_the_hubs_pulls_keep_their_slots_when_fetches_fill_the_hubs_data_budget(federation, dial):
    fed = federation
    owner = _entries(fed, dial)
    held = []
    try:
        # Two departments, each within its own limit, fill every data slot the hub has at the owner's node.
        for token, consumer in (("A", A), ("B", B)):
            request_id = _granted(fed, dial, consumer, token, f"{OWNER}/000001")
            refusal = _hold(fed, dial, token, consumer, request_id, held, PER_DEPARTMENT)
            assert refusal is None, refusal
        assert len(held) == PER_CALLER

        _pulled(fed, dial, owner, 3, f"{PER_CALLER} relayed fetches fill the hub's data budget there")
    finally:
        fed.source.release.set()
        for stream in held:
            stream.cancel()


def test_a_bulk_publish_over_the_byte_cap_is_refused_and_stores_nothing(ca, tmp_path, dial):
    limit = 256 * 1024
    config = tls_config(ca, tmp_path, "hebei", "provincial", "130000", departments=(A,),
                        limits={"max_publish_bytes": limit})
    site = Site(Node(config).start())
    try:
        site.issue("A", A)
        catalog = catalog_pb2_grpc.CatalogStub(dial.channel(site, Who("tool", "A")))
        big = tuple(make_entry(A, 1).data_items) + tuple(
            dataclasses.replace(make_entry(A, 1).data_items[0], name=f"数据项{i}", description="说明" * 200)
            for i in range(100))
        messages = [catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(make_entry(A, seq, data_items=big)))
                    for seq in range(1, 11)]
        assert sum(m.ByteSize() for m in messages) > limit > messages[0].ByteSize()
        before = site.state()
        code, details = outcome(lambda: catalog.PublishEntries(iter(messages), timeout=DEADLINE))
        assert code == RESOURCE_EXHAUSTED and "limits.max_publish_bytes" in details, (code, details)
        assert site.state() == before  # all or nothing: nothing stored, nothing logged

        # Under the cap, the same entries go in, streamed to the writer.
        under = messages[:limit // messages[0].ByteSize()]
        reply = catalog.PublishEntries(iter(under), timeout=DEADLINE)
        assert reply.created == len(under) and site.state()[1] == before[1] + len(under)  # one change each
    finally:
        site.node.stop(0)


def test_a_large_entrys_data_items_are_not_kept_after_it():
    # Standard lists are shared by every entry that repeats them; a list longer than any standard
    # one is decoded for its entry alone, so that a bulk load of large entries leaves none behind.
    small = entry_proto(A, 1)
    assert wire.entry_from_proto(small).data_items is wire.entry_from_proto(small).data_items
    large = entry_proto(A, 2, data_items=tuple(
        dataclasses.replace(make_entry(A).data_items[0], name=f"数据项{i}", description="说明" * 200)
        for i in range(20)))
    assert wire.entry_from_proto(large).data_items is not wire.entry_from_proto(large).data_items
