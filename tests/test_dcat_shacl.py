"""The portal's DCAT-AP output conforms to the official DCAT-AP 3.0.1 SHACL shapes (mandatory
properties and node kinds, and the class ranges), checked with pyshacl; and the concepts it
names for regions and categories are served by the portal as SKOS."""

from __future__ import annotations

import pathlib
import urllib.request

import pyshacl
import pytest
import rdflib
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS

from test_portal_opendata import CATALOG, served  # noqa: F401 (fixture)

SHAPES = pathlib.Path(__file__).parent / "data" / "dcat-ap-3.0.1"
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"


def get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url) as reply:
        return reply.headers["content-type"], reply.read()


def violations(data: rdflib.Graph, shapes: str) -> list[str]:
    """Each violation of the shapes file, as pyshacl words it (path, focus node, message)."""
    shapes_graph = rdflib.Graph().parse(SHAPES / shapes, format="turtle")
    conforms, results, _ = pyshacl.validate(data, shacl_graph=shapes_graph, inference="none")
    found = []
    for result in results.subjects(RDF.type, rdflib.SH.ValidationResult):
        found.append(f"{results.value(result, rdflib.SH.resultPath)} of {results.value(result, rdflib.SH.focusNode)}: "
                     f"{results.value(result, rdflib.SH.resultMessage)}")
    assert conforms == (not found)
    return found


@pytest.fixture
def catalogs(served):  # noqa: F811
    """The catalog as the portal serves it, in Turtle and in JSON-LD, parsed."""
    graphs = {}
    for path, fmt in (("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")):
        graphs[fmt] = rdflib.Graph().parse(data=get(served.url + path)[1], format=fmt)
    return graphs


@pytest.mark.parametrize("shapes", ["shapes.ttl", "range.ttl", "dcat-ap-SHACL.ttl"])
@pytest.mark.parametrize("fmt", ["turtle", "json-ld"])
def test_the_catalog_conforms_to_the_official_dcat_ap_shapes(catalogs, fmt, shapes):
    graph = catalogs[fmt]
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == sum(e.open_type == "open" for e in CATALOG)
    found = violations(graph, shapes)
    assert found == [], f"{len(found)} violations, e.g. {found[:5]}"


def test_regions_categories_and_cycles_are_concepts_not_words(catalogs, served):  # noqa: F811
    graph = catalogs["turtle"]
    catalog = next(graph.subjects(RDF.type, DCAT.Catalog))
    publisher = graph.value(catalog, DCTERMS.publisher)
    assert isinstance(publisher, rdflib.URIRef) and str(graph.value(publisher, FOAF.name))
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):
        region, theme = graph.value(dataset, DCTERMS.spatial), graph.value(dataset, DCAT.theme)
        assert isinstance(region, rdflib.URIRef) and isinstance(theme, rdflib.URIRef)
        assert str(graph.value(dataset, DCTERMS.accrualPeriodicity)).startswith(FREQUENCY)
        assert isinstance(graph.value(graph.value(dataset, DCTERMS.publisher), FOAF.name), rdflib.Literal)
    # every concept the catalog names is served by the portal at its IRI, in the scheme it claims
    named = set(graph.objects(None, DCTERMS.spatial)) | set(graph.objects(None, DCAT.theme))
    schemes = {str(c).rsplit("/", 1)[0] for c in named}
    assert schemes == {served.url + "/vocab/regions", served.url + "/vocab/categories"}
    for concept in named:
        kind, body = get(str(concept))
        assert kind.startswith("text/turtle")
        served_graph = rdflib.Graph().parse(data=body, format="turtle")
        assert served_graph.value(concept, SKOS.prefLabel) == graph.value(concept, SKOS.prefLabel)
        assert served_graph.value(concept, SKOS.inScheme) == graph.value(concept, SKOS.inScheme)


def test_the_region_scheme_holds_the_centre_and_the_provinces(served):  # noqa: F811
    scheme = rdflib.URIRef(served.url + "/vocab/regions")
    graph = rdflib.Graph().parse(data=get(str(scheme))[1], format="turtle")
    assert (scheme, RDF.type, SKOS.ConceptScheme) in graph
    tops = {str(graph.value(c, SKOS.notation)): str(graph.value(c, SKOS.prefLabel))
            for c in graph.objects(scheme, SKOS.hasTopConcept)}
    assert len(tops) == 33 and tops["130000"] == "河北" and tops["100000"] == "中央"
    county = rdflib.Graph().parse(data=get(served.url + "/vocab/regions/130102")[1], format="turtle")
    assert county.value(rdflib.URIRef(served.url + "/vocab/regions/130102"), SKOS.broader) == \
        rdflib.URIRef(served.url + "/vocab/regions/130100")
    assert violations(graph, "shapes.ttl") == []
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(served.url + "/vocab/regions/999999")
    assert missing.value.code == 404
