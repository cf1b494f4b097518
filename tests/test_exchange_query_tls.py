"""Query and Verify over mutual TLS through three real nodes (Hebei's department -> Hebei's node
-> the hub -> Guangdong's node): each hop in its own name with its own certificate, over the
channel it already holds; the owner's department token never leaves Guangdong."""

from __future__ import annotations

import pathlib
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from conftest import free_port, make_entry, wait_until
from harness import data
from node import config as config_mod, wire
from node.model.rules import DataItem
from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc
from node.proto import sharing_pb2
from node.proto import sharing_pb2_grpc
from node.security import pki, tokens
from node.server import Node
from security_support import DEADLINE, HOSTS, Dialer, Site, Who

OWNER, CONSUMER = "440300002", "130100005"
ITEMS = (("统一社会信用代码", "string"), ("企业名称", "string"), ("法定代表人", "string"))


def config(pki_dir: pathlib.Path, directory: pathlib.Path, node_id: str, role: str, region: str, *, departments=(),
           peers=(), hub: str = "", listen: str = "127.0.0.1:0") -> config_mod.Config:
    found = {
        "node": {"id": node_id, "role": role, "region_code": region},
        "listen": listen,
        "sharing": {"beyond_calendar": "weekdays"},  # any day of any year (docs/calendar.md)
        "database": str(directory / f"{node_id}.db"),
        "departments": [{"code": code, "name": f"部门{code}"} for code in departments],
        "tls": {"cert": str(pki_dir / f"{node_id}.pem"), "key": str(pki_dir / f"{node_id}.key"),
                "ca": str(pki_dir / pki.CA_CERT)},
        "store": {"synchronous": "normal"},
        "log": {"level": "warning", "format": "json"},
        "resources": {"allow": {code: [str(directory / "sources" / code)] for code in departments}},
    }
    if peers:
        found["peers"] = list(peers)
        found["sync"] = {"backoff_initial": 0.05, "backoff_max": 0.5, "call_deadline": 20}
    if hub:
        found["hub"] = {"address": hub, "notify": True}
    return config_mod.parse(found, f"<{node_id}>")


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    pki_dir = tmp_path_factory.mktemp("pki")
    pki.init_ca(pki_dir)
    for name, kind in (("hebei", "node"), ("guangdong", "node"), ("national", "node"), ("tool", "client"),
                       ("operator", "operator")):
        pki.issue(pki_dir, name, kind=kind, hosts=HOSTS)
    hub_address = f"127.0.0.1:{free_port()}"
    sites = {}
    for node_id, region, departments in (("guangdong", "440000", (OWNER,)), ("hebei", "130000", (CONSUMER,))):
        sites[node_id] = Site(Node(config(pki_dir, tmp_path_factory.mktemp(node_id), node_id, "provincial", region,
                                          departments=departments, hub=hub_address)).start())
        sites[node_id].issue(departments[0], departments[0])
        sites[node_id].issue("op", tokens.OPERATOR, tokens.OPERATOR_SCOPES)
    peers = [{"id": pid, "role": "provincial", "address": site.node.address, "region_code": region, "interval": 3600}
             for (pid, site), region in zip(sites.items(), ("440000", "130000"))]
    sites["national"] = Site(Node(config(pki_dir, tmp_path_factory.mktemp("national"), "national", "national", "100000",
                                         peers=peers, listen=hub_address)).start())
    dial = Dialer(pki_dir)
    yield sites, dial
    dial.close()
    for site in sites.values():
        site.node.stop(0)


def test_query_and_verify_cross_three_nodes_over_mutual_tls(federation):
    sites, dial = federation
    guangdong, hebei, hub = sites["guangdong"], sites["hebei"], sites["national"]
    owner = Who("tool", OWNER)
    entry = make_entry(OWNER, 1, share_method="database", share_type="unconditional",
                       data_items=tuple(DataItem(n, t, 0, key=n == "统一社会信用代码") for n, t in ITEMS))
    catalog_pb2_grpc.CatalogStub(dial.channel(guangdong, owner)).PublishEntry(
        catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)), timeout=DEADLINE)
    source = pathlib.Path(guangdong.node.config.database).parent / "sources" / OWNER / "market.db"
    source.parent.mkdir(parents=True)
    data.write_sqlite(source, "enterprises", ITEMS, 50, seed="tls", province="440000")
    exchange_pb2_grpc.ExchangeStub(dial.channel(guangdong, owner)).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=entry.resource_code, kind="sqlite", location=str(source), table="enterprises",
        keys=["统一社会信用代码"], index="create", personal={"法定代表人": "name"}), timeout=DEADLINE)
    admin_pb2_grpc.AdminStub(dial.channel(hub, Who("operator"))).SyncNow(admin_pb2.SyncNowRequest(wait=True),
                                                                          timeout=60)
    consumer = Who("tool", CONSUMER)
    requests = sharing_pb2_grpc.SharingStub(dial.channel(hebei, consumer))
    filed = requests.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=CONSUMER, resource_code=entry.resource_code, purpose="企业开办核验", basis="《优化营商环境条例》",
        data_items=["企业名称", "法定代表人"]), timeout=DEADLINE)
    wait_until(lambda: requests.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id),
                                           timeout=DEADLINE).state, 60, "the request granted at Hebei",
               until=lambda state: state == "granted")
    with sqlite3.connect(source) as db:
        rows = db.execute("SELECT 统一社会信用代码, 企业名称, 法定代表人 FROM enterprises ORDER BY rowid").fetchall()
    stub = exchange_pb2_grpc.ExchangeStub(dial.channel(hebei, consumer))
    for code, name, person in rows:
        reply = stub.Query(exchange_pb2.QueryRequest(request_id=filed.request_id, consumer_code=CONSUMER,
                                                     key={"统一社会信用代码": code}), timeout=DEADLINE)
        assert [tuple(r.values) for r in reply.rows] == [(name, person[0] + "*" * (len(person) - 1))]
        verdict = stub.Verify(exchange_pb2.VerifyClaimsRequest(
            request_id=filed.request_id, consumer_code=CONSUMER, key={"统一社会信用代码": code},
            claims={"法定代表人": person}), timeout=DEADLINE)
        assert verdict.overall == "match"
    for site, role in ((hebei, "consumer"), (hub, "hub"), (guangdong, "owner")):
        listed = exchange_pb2_grpc.ExchangeStub(dial.channel(site, Who("operator"))).ListCalls(
            exchange_pb2.ListCallsRequest(request_id=filed.request_id), timeout=DEADLINE)
        assert sorted((c.role, c.mode, c.calls, c.hits) for c in listed.counts) == [
            (role, "query", 50, 50), (role, "verify", 50, 50)]
    # Twenty calls at once from one department (a service hall's windows): more than the
    # per-caller limit of other calls (16), within Query and Verify's own budget (48): none refused.
    # The first goes on alone; those that come while it is on its way wait at Hebei and then go
    # on together, as one batch, each still a call of its own.
    answers = guangdong.node.calls.answers
    arrived, release, original = [], threading.Event(), answers.verify

    def held(*args, **kwargs):
        arrived.append(len(args[2]))
        release.wait(30)
        return original(*args, **kwargs)

    def waiting_at_hebei() -> int:
        return sum(len(lane.waiting) for lane in hebei.node.calls.coalescer._lanes.values())

    answers.verify = held
    try:
        with ThreadPoolExecutor(20) as pool:
            asked = [pool.submit(stub.Verify, exchange_pb2.VerifyClaimsRequest(
                request_id=filed.request_id, consumer_code=CONSUMER, key={"统一社会信用代码": code},
                claims={"法定代表人": person}), timeout=DEADLINE) for code, _, person in rows[:20]]
            wait_until(lambda: (list(arrived), waiting_at_hebei()), 10, "all twenty at the owner's or waiting at Hebei",
                       until=lambda state: state == ([1], 19))
            release.set()
            assert [f.result().overall for f in asked] == ["match"] * 20
        assert arrived == [1, 19]
    finally:
        answers.verify = original
        release.set()
    for site, role in ((hebei, "consumer"), (hub, "hub"), (guangdong, "owner")):  # each counted as a call
        listed = exchange_pb2_grpc.ExchangeStub(dial.channel(site, Who("operator"))).ListCalls(
            exchange_pb2.ListCallsRequest(request_id=filed.request_id), timeout=DEADLINE)
        verify = [c for c in listed.counts if c.mode == "verify"]  # (an hour may have turned meanwhile)
        assert [sum(c.calls for c in verify), sum(c.keys for c in verify), sum(c.hits for c in verify)] == [70] * 3, role
    # The consumer department sees its own request's calls at its node (the portal's "use today").
    own = stub.ListCalls(exchange_pb2.ListCallsRequest(request_id=filed.request_id, department_code=CONSUMER),
                         timeout=DEADLINE)
    assert sum(c.keys for c in own.counts if c.mode == "verify") == 70
    with pytest.raises(grpc.RpcError) as other:  # another request, or every request: not a department's to see
        stub.ListCalls(exchange_pb2.ListCallsRequest(request_id="hebei-0000", department_code=CONSUMER),
                       timeout=DEADLINE)
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as every:
        stub.ListCalls(exchange_pb2.ListCallsRequest(), timeout=DEADLINE)
    assert every.value.code() == grpc.StatusCode.PERMISSION_DENIED
