"""Data elements through real nodes: the registry the hub keeps reaches every node and survives
the hub's restart (a node keeps the last one while the hub is down); an item's element is
suggested and its format enforced on publish; a duplicate collection is listed at the hub and
cleared by `derived_from`; a source's format check becomes part of the entry and travels."""

from __future__ import annotations

import dataclasses
import sqlite3

import grpc
import pytest

from conftest import Cluster, Client, wait_until
from node import wire
from node.config import Config
from node.model import formats
from node.model.rules import DataItem
from node.proto import admin_pb2, catalog_pb2, exchange_pb2, exchange_pb2_grpc, governance_pb2, governance_pb2_grpc
from node.server import Node
from conftest import make_entry

PEERS = {
    "hebei": ("provincial", "130000", ["130000001", "130000002"]),
    "mps": ("ministry", "100000", ["100000110", "100000130"]),
}
POLICE, CIVIL = "130000001", "130000002"  # Hebei's 公安厅 (the source of people's data) and 民政厅
WAIT = 30


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    """A hub, Hebei and the ministry of public security, sharing one module: each peer has a link
    to the hub (`hub:`), over which it takes the registry."""
    started: list[Client] = []

    def start(cfg: Config) -> Client:
        node = Node(cfg).start()
        client = Client(node, grpc.insecure_channel(node.address))
        started.append(client)
        return client

    cluster = Cluster(tmp_path_factory.mktemp("elements"), start, notify=True, peers=PEERS)
    yield cluster
    for client in reversed(started):
        client.channel.close()
        if not client.node.store._closed:
            client.node.stop(0)


def gov(client: Client):
    return governance_pb2_grpc.GovernanceStub(client.channel)


def version_at(client: Client) -> int:
    return gov(client).GetElements(governance_pb2.GetElementsRequest(), timeout=10).version


def registry_at(client: Client) -> dict:
    return {e.name: e for e in gov(client).GetElements(governance_pb2.GetElementsRequest(), timeout=10).elements}


def put(client: Client, **fields):
    sources = fields.pop("sources", ())
    element = governance_pb2.DataElement(**fields)
    for scope, code in sources:
        element.sources.add(scope=scope, department_code=code)
    return gov(client).PutElement(governance_pb2.PutElementRequest(element=element), timeout=10)


def everywhere(fed: Cluster, version: int) -> None:
    """Every node holds this version of the registry (the hub's pulls tell the peers of it)."""
    def versions():
        fed.sync()
        return {name: version_at(c) for name, c in fed.peers.items()}
    wait_until(versions, WAIT, f"every peer to hold registry version {version}",
               until=lambda seen: all(v == version for v in seen.values()), poll=0.2)


def publish(client: Client, entry) -> catalog_pb2.PublishEntryResponse:
    return client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)), timeout=10)


def people(provider: str, seq: int, *items: DataItem, **fields):
    return make_entry(provider, seq, name=f"人口信息{seq}", provider_name="部门", data_items=items, **fields)


# -- the registry --------------------------------------------------------------------------

def test_the_hub_starts_with_the_bundled_registry_and_every_node_takes_it_from_the_hub(fed):
    at_hub = registry_at(fed.hub)
    assert at_hub["公民身份号码"].rule == "id_number" and "身份证号" in at_hub["公民身份号码"].synonyms
    assert at_hub["统一社会信用代码"].rule == "credit_code"
    assert {s.department_code for s in at_hub["统一社会信用代码"].sources} == {"100000150", "005"}
    everywhere(fed, version_at(fed.hub))
    assert set(registry_at(fed.peers["hebei"])) == set(at_hub)


def test_an_element_the_operator_adds_at_the_hub_reaches_every_node(fed):
    reply = put(fed.hub, name="不动产单元号", type="string", rule="text", synonyms=["不动产单元代码"],
                sources=[("100000", "100000140")])
    everywhere(fed, reply.version)
    assert registry_at(fed.peers["mps"])["不动产单元号"].synonyms == ["不动产单元代码"]


def test_an_element_with_an_unknown_format_rule_is_refused_naming_the_field_and_the_rule(fed):
    before = version_at(fed.hub)
    with pytest.raises(grpc.RpcError) as refused:
        put(fed.hub, name="护照号码", type="string", rule="passport")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details().startswith("rule: unknown format rule 'passport'")
    for field, bad in (("sources[0].department_code", dict(sources=[("130000", "440000001")])),
                       ("type", dict(rule="id_number", type="integer")),
                       ("synonyms[0]", dict(synonyms=["身份证号"]))):
        with pytest.raises(grpc.RpcError) as refused:
            put(fed.hub, **{"name": "护照号码", "type": "string", **bad})
        assert refused.value.details().startswith(field + ":"), refused.value.details()
    assert version_at(fed.hub) == before and "护照号码" not in registry_at(fed.hub)


def test_only_the_hub_keeps_the_registry(fed):
    with pytest.raises(grpc.RpcError) as refused:
        put(fed.peers["hebei"], name="护照号码", type="string")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_node_keeps_the_last_registry_while_the_hub_is_down_and_the_hub_keeps_its_own(fed):
    version = put(fed.hub, name="社会保障卡号", type="string", rule="text").version
    everywhere(fed, version)
    fed.hub.channel.close()
    fed.hub.node.stop(0)
    hebei = fed.restart_peer("hebei")  # restarted while the hub is down: only its own file to go by
    assert version_at(hebei) == version and "社会保障卡号" in registry_at(hebei)
    fed.hub = fed.start_hub()
    assert version_at(fed.hub) == version  # not the bundled default again
    version = put(fed.hub, name="医保卡号", type="string").version
    everywhere(fed, version)


# -- items refer to elements ---------------------------------------------------------------

def test_an_item_that_names_an_element_is_suggested_it_and_one_that_names_it_must_fit_it(fed):
    everywhere(fed, version_at(fed.hub))
    hebei = fed.peers["hebei"]
    reply = publish(hebei, people(POLICE, 1, DataItem("身份证号", "string", 18), DataItem("备注", "string", 20)))
    assert [(s.item, s.element) for s in reply.suggestions] == [("身份证号", "公民身份号码")]
    for item, field, rule in (
            (DataItem("号码", "string", 10, element="公民身份号码"), "data_items[0].type", "a length of at least 18"),
            (DataItem("号码", "date", 0, element="公民身份号码"), "data_items[0].type", "is of type string"),
            (DataItem("号码", "string", 18, element="护照号码"), "data_items[0].element", "no element is named")):
        with pytest.raises(grpc.RpcError) as refused:
            publish(hebei, people(POLICE, 2, item))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith(field + ":") and rule in refused.value.details()
    with pytest.raises(grpc.RpcError):
        hebei.catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=f"{POLICE}/000002"), timeout=10)
    stored = publish(hebei, people(POLICE, 2, DataItem("号码", "string", 18, element="公民身份号码"))).entry
    assert stored.data_items[0].element == "公民身份号码" and not stored.HasField("quality")


# -- duplicate collections -----------------------------------------------------------------

def duplicates_at_hub(fed: Cluster, provider: str = ""):
    fed.sync()
    reply = gov(fed.hub).ListDuplicates(governance_pb2.DuplicatesRequest(provider_code=provider), timeout=30)
    return [(d.resource_code, d.element, d.source_code) for d in reply.duplicates]


def test_a_copy_of_people_s_data_is_a_duplicate_collection_until_it_names_its_source(fed):
    hebei = fed.peers["hebei"]
    source = publish(hebei, people(POLICE, 10, DataItem("公民身份号码", "string", 18), DataItem("姓名", "string", 50)))
    copy = people(CIVIL, 11, DataItem("公民身份号码", "string", 18), DataItem("姓名", "string", 50),
                  DataItem("婚姻状况", "string", 10))
    publish(hebei, copy)
    code = copy.resource_code
    assert duplicates_at_hub(fed, CIVIL) == [(code, "公民身份号码", POLICE), (code, "姓名", POLICE)]
    assert duplicates_at_hub(fed, POLICE) == []  # the source itself collects nothing twice
    # (the first scorecard of this module: the hub keeps its counts a while after)
    rows = {r.department_code: r for r in fed.hub.admin.Scorecard(admin_pb2.ScorecardRequest(), timeout=30).departments}
    assert rows[CIVIL].duplicate_collections == 2 and rows[POLICE].duplicate_collections == 0
    publish(hebei, dataclasses.replace(copy, derived_from=source.entry.resource_code))
    assert duplicates_at_hub(fed, CIVIL) == []
    # a ministry's copy is measured against the nation-wide source, the ministry of public security
    publish(fed.peers["mps"], people("100000130", 1, DataItem("身份证号码", "string", 18)))
    assert duplicates_at_hub(fed, "100000130") == [("100000130/000001", "公民身份号码", "100000110")]


# -- quality on the entry ------------------------------------------------------------------

def id_number(n: int) -> str:
    first = f"130102199001{n % 28 + 1:02d}{n % 1000:03d}"
    return first + formats.id_check_character(first)


def test_a_format_check_of_a_mounted_source_finds_exactly_its_bad_and_empty_values_and_travels(fed, tmp_path):
    hebei = fed.peers["hebei"]
    entry = people(POLICE, 20, DataItem("公民身份号码", "string", 18), DataItem("出生日期", "date"),
                   DataItem("备注", "string", 50), share_method="database")
    publish(hebei, entry)
    path = tmp_path / "people.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (公民身份号码 TEXT, 出生日期 TEXT, 备注 TEXT)")
        rows = [(id_number(n), "1990-01-02", "") for n in range(200)]
        rows[3] = (rows[3][0][:17] + ("0" if rows[3][0][17] != "0" else "1"), "1990-01-02", "")  # check character
        rows[7] = (None, "1990-02-30", "")  # empty, and no such day
        rows[9] = ("  ", "19900102", "")  # blank counts as empty; YYYYMMDD is a date
        db.executemany("INSERT INTO people VALUES (?, ?, ?)", rows)
    exchange_pb2_grpc.ExchangeStub(hebei.channel).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=entry.resource_code, kind="sqlite", location=str(path), table="people"), timeout=10)
    checked = gov(hebei).CheckData(governance_pb2.CheckDataRequest(resource_code=entry.resource_code),
                                   timeout=60).entry
    items = {i.item: (i.element, i.rule, i.failed, i.empty) for i in checked.quality.items}
    assert items == {"公民身份号码": ("公民身份号码", "id_number", 1, 2), "出生日期": ("出生日期", "date", 1, 0)}
    assert checked.quality.rows == 200 and checked.quality.score == pytest.approx(100 * (400 - 4) / 400)
    fed.sync()
    at_hub = fed.hub.catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=entry.resource_code), timeout=10)
    assert at_hub.version == checked.version and at_hub.quality == checked.quality
    # a later publish of the entry keeps the quality (the node sets it, the publisher cannot)
    again = publish(hebei, dataclasses.replace(entry, summary="全省户籍人口"))
    assert again.entry.quality == checked.quality


def test_a_format_check_needs_a_mounted_source_at_the_entry_s_own_node(fed):
    hebei = fed.peers["hebei"]
    publish(hebei, people(POLICE, 30, DataItem("公民身份号码", "string", 18)))
    with pytest.raises(grpc.RpcError) as refused:
        gov(hebei).CheckData(governance_pb2.CheckDataRequest(resource_code=f"{POLICE}/000030"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "no source is mounted" in refused.value.details()
    fed.sync()
    with pytest.raises(grpc.RpcError) as refused:
        gov(fed.hub).CheckData(governance_pb2.CheckDataRequest(resource_code=f"{POLICE}/000030"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


# -- the portal ----------------------------------------------------------------------------

def test_the_portal_s_entry_page_shows_duplicate_collections_the_source_copied_and_the_quality(fed):
    from starlette.testclient import TestClient

    from portal.app import create_app
    from portal.client import Identities, NodeClient

    fed.sync()
    with TestClient(create_app(NodeClient(fed.hub.node.address, Identities()))) as browser:
        copy = browser.get("/entries/100000130/000001").text
        assert "重复收集" in copy and "<td>身份证号码</td><td>公民身份号码</td><td>公安部（100000110）</td>" in copy
        derived = browser.get(f"/entries/{CIVIL}/000011").text
        assert "重复收集" not in derived and f'复制自权威目录 <a href="/entries/{POLICE}/000010">' in derived
        checked = browser.get(f"/entries/{POLICE}/000020").text
        assert "99.00 分（200 行" in checked
