"""The open-data API as its real clients read it: ckanapi lists, searches and shows the open
entries (and only those) through the CKAN Action API subset, and rdflib parses the DCAT-AP
catalog, in Turtle and JSON-LD, into one dcat:Dataset per open entry."""

from __future__ import annotations

import json

import ckanapi
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, RDF

from node.proto import catalog_pb2
from node.store import entries as entries_mod
from portal import ckan, dcat
from portal.app import create_app
from portal.client import Identities, NodeClient
from portal_support import Served, publish_all, small_catalog

CATALOG = small_catalog()
OPEN = sorted(e.resource_code for e in CATALOG if e.open_type == "open")
CLOSED = sorted(e.resource_code for e in CATALOG if e.open_type != "open")
CSVW = rdflib.Namespace("http://www.w3.org/ns/csvw#")


@pytest.fixture
def served(node):
    publish_all(node, CATALOG)
    server = Served(create_app(NodeClient(node.node.address, Identities())))
    yield server
    server.stop()


@pytest.fixture
def remote(served):
    return ckanapi.RemoteCKAN(served.url, user_agent="catalog-cascade-tests")


def test_ckanapi_pages_through_every_open_entry_and_nothing_else(remote):
    first = remote.action.package_search(rows=4)
    assert first["count"] == len(OPEN)
    names, start = [], 0
    while True:
        page = remote.action.package_search(rows=4, start=start)
        if not page["results"]:
            break
        names += [p["name"] for p in page["results"]]
        assert all(dict((x["key"], x["value"]) for x in p["extras"])["open_type"] == "open" for p in page["results"])
        start += 4
    assert names == [ckan.dataset_name(code) for code in OPEN]
    assert remote.action.package_list() == names
    assert remote.action.package_list(limit=3, offset=2) == names[2:5]


def test_ckanapi_searches_and_filters_by_organization(remote):
    found = remote.action.package_search(q="社保", rows=100)
    assert found["count"] == len([e for e in CATALOG if e.open_type == "open" and "社保" in e.keywords])
    assert {r["owner_org"] for r in found["results"]} == {"130100005"}
    police = remote.action.package_search(fq="organization:130000001", rows=100)
    assert sorted(r["resource_code"] for r in police["results"]) == [c for c in OPEN if c.startswith("130000001/")]
    with pytest.raises(ckanapi.ValidationError):
        remote.action.package_search(fq="tags:x")


def test_a_page_of_packages_is_the_text_of_each_entrys_package(node, served):
    """The pages a harvester reads (written on a fast path) are, byte for byte, the standard
    library's JSON of ckan.package for every open entry the node lists (or the department's)."""
    import urllib.request

    def text(action: str, query: str) -> bytes:
        with urllib.request.urlopen(f"{served.url}/api/3/action/{action}?{query}") as reply:
            return reply.read()

    def standard(action: str, result: dict) -> bytes:
        return json.dumps(ckan.envelope(action, result, served.url), ensure_ascii=False, separators=(",", ":")).encode()

    listed = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(open_type="open"), page_size=1000)).entries
    packages = [ckan.package(e, served.url) for e in listed]
    assert text("package_search", "rows=1000") == standard("package_search", {
        "count": len(OPEN), "results": packages, "sort": "score desc, metadata_modified desc",
        "facets": {}, "search_facets": {}})
    shown = text("organization_show", "id=130100005&include_datasets=true")
    org = {k: v for k, v in json.loads(shown)["result"].items() if k != "packages"}  # named as the node's config does
    assert shown == standard("organization_show", {
        **org, "packages": [p for p in packages if p["owner_org"] == "130100005"]})


def test_a_search_past_the_nodes_count_cap_counts_what_can_be_paged(remote, monkeypatch):
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", 3)  # five open entries match 社保
    found = remote.action.package_search(q="社保", rows=100)
    assert found["count"] == len(found["results"]) == 3
    assert remote.action.package_search(q="社保", start=3)["results"] == []


def test_ckanapi_shows_an_open_entry_with_its_data_items_and_never_a_closed_one(remote):
    package = remote.action.package_show(id=ckan.dataset_name(OPEN[0]))
    entry = next(e for e in CATALOG if e.resource_code == OPEN[0])
    assert package["title"] == entry.name and package["organization"]["name"] == entry.provider_code
    assert [i["name"] for i in package["data_items"]] == [i.name for i in entry.data_items]
    extras = {x["key"]: x["value"] for x in package["extras"]}
    assert [i["name"] for i in json.loads(extras["data_items"])] == [i.name for i in entry.data_items]
    assert remote.action.package_show(id=OPEN[0])["name"] == package["name"]  # the code itself works too
    for code in CLOSED[:5]:
        with pytest.raises(ckanapi.NotFound):
            remote.action.package_show(id=ckan.dataset_name(code))
    with pytest.raises(ckanapi.NotFound):
        remote.action.package_show(id="no-such-dataset")


def test_ckanapi_lists_departments_as_organizations(remote):
    assert remote.action.organization_list() == ["130000001", "130100005"]
    orgs = remote.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in orgs} == {
        "130000001": len([c for c in OPEN if c.startswith("130000001/")]),
        "130100005": len([c for c in OPEN if c.startswith("130100005/")])}
    shown = remote.action.organization_show(id="130100005", include_datasets=True)
    assert {p["resource_code"] for p in shown["packages"]} == {c for c in OPEN if c.startswith("130100005/")}
    with pytest.raises(ckanapi.NotFound):
        remote.action.organization_show(id="999999999")


@pytest.mark.parametrize("path, fmt", [("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")])
def test_the_dcat_catalog_parses_with_one_dataset_per_open_entry(served, path, fmt):
    import urllib.request

    with urllib.request.urlopen(served.url + path) as reply:
        body = reply.read()
    graph = rdflib.Graph().parse(data=body, format=fmt)
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert sorted(str(graph.value(d, DCTERMS.identifier)) for d in datasets) == OPEN
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    assert set(graph.objects(catalog, DCAT.dataset)) == datasets
    one = rdflib.URIRef(f"{served.url}/entries/{OPEN[0]}#dataset")
    entry = next(e for e in CATALOG if e.resource_code == OPEN[0])
    assert str(graph.value(one, DCTERMS.title)) == entry.name
    schema = graph.value(graph.value(one, DCAT.distribution), CSVW.tableSchema)
    names = {str(graph.value(col, CSVW.name)) for col in graph.objects(schema, CSVW.column)}
    assert names == {i.name for i in entry.data_items}
    assert str(graph.value(graph.value(one, DCTERMS.publisher), rdflib.FOAF.name)) == entry.provider_name


def test_turtle_and_json_ld_escape_what_an_entry_may_hold():
    from conftest import make_entry
    from node import wire
    entry = wire.entry_to_proto(make_entry(open_type="open", name='名称 "带引号" \\ 与换行\n第二行',
                                            summary="制表\t符", keywords=("a\"b",)))
    triples = dcat.dataset_triples(entry, "http://portal.example")
    turtle = rdflib.Graph().parse(data=dcat.turtle_prefixes() + dcat.turtle(triples), format="turtle")
    jsonld = rdflib.Graph().parse(data=json.dumps({"@context": dcat.PREFIXES, "@graph": dcat.jsonld_nodes(triples)}),
                                  format="json-ld")
    title = rdflib.URIRef("http://portal.example/entries/130100005/000001#dataset")
    assert str(turtle.value(title, DCTERMS.title)) == str(jsonld.value(title, DCTERMS.title)) == entry.name
    assert isomorphic(turtle, jsonld)
    closed = wire.entry_to_proto(make_entry(open_type="not_open"))
    with pytest.raises(ValueError):
        dcat.dataset_triples(closed, "http://portal.example")
    with pytest.raises(ckan.NotOpen):
        ckan.package(closed, "http://portal.example")


def test_fq_clauses_a_harvester_sends():
    assert ckan.parse_fq("organization:130100005") == {"provider_code": "130100005"}
    since = ckan.parse_fq("metadata_modified:[2026-01-01T00:00:00Z TO *] +dataset_type:dataset")
    assert since["updated_since"].isoformat() == "2026-01-01T00:00:00+00:00"
    for bad in ("-organization:130100005", "tags:x", "organization:abc", "metadata_modified:[* TO 2026]"):
        with pytest.raises(ValueError):
            ckan.parse_fq(bad)


def test_a_harvester_gets_only_what_changed_since(node, served, remote):
    everything = remote.action.package_search(rows=0)["count"]
    later = remote.action.package_search(fq="metadata_modified:[2999-01-01T00:00:00Z TO *]", rows=0)
    assert everything == len(OPEN) and later["count"] == 0
    assert node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=1)).entries
