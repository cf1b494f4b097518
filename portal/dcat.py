"""The open catalog as DCAT-AP 3, as pure functions: an entry becomes a dcat:Dataset with one
dcat:Distribution whose csvw:tableSchema lists the data items as csvw:Column; its department
becomes the dct:publisher (a foaf:Agent), its region a concept of the portal's SKOS scheme of
GB/T 2260 codes (/vocab/regions), its category one of the portal's category scheme
(/vocab/categories), its update cycle a term of the EU frequency vocabulary. Every value is
typed as the class DCAT-AP's range shapes expect, so that the output conforms to the official
SHACL shapes (tests/test_dcat_shacl.py). Triples are written out by hand as Turtle or JSON-LD,
one dataset at a time, so that the whole catalog streams in flat memory (rdflib reads both)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable, Iterator

from node.model import regions
from portal import labels

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "csvw": "http://www.w3.org/ns/csvw#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {"realtime": "UPDATE_CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
               "quarterly": "QUARTERLY", "half_yearly": "ANNUAL_2", "yearly": "ANNUAL", "irregular": "IRREG"}
PUBLIC = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
CHINESE = "http://publications.europa.eu/resource/authority/language/ZHO"
XSD_TYPES = {"string": "string", "integer": "integer", "decimal": "decimal", "date": "date",
             "datetime": "dateTime", "boolean": "boolean", "binary": "base64Binary"}


class IRI(str):
    """An IRI object (a plain str is a literal)."""


class Literal:
    __slots__ = ("value", "lang", "datatype")

    def __init__(self, value: str, lang: str = "", datatype: str = ""):
        self.value, self.lang, self.datatype = value, lang, datatype


Triple = tuple[str, str, object]  # subject IRI, predicate as prefix:name, IRI | Literal


def _zh(text: str) -> Literal:
    return Literal(text, lang="zh")


def _time(ts) -> Literal | None:
    if ts is None or (not ts.seconds and not ts.nanos):
        return None
    moment = datetime.fromtimestamp(ts.seconds, timezone.utc)
    return Literal(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), datatype="xsd:dateTime")


def _a(subject: str, prefix: str, name: str) -> Triple:
    return (subject, "rdf:type", IRI(PREFIXES[prefix] + name))


def dataset_iri(base: str, resource_code: str) -> str:
    """The dataset itself; its landing page, the portal's entry page, is the IRI without `#dataset`."""
    return f"{entry_page(base, resource_code)}#dataset"


def entry_page(base: str, resource_code: str) -> str:
    return f"{base}/entries/{resource_code}"


def publisher_iri(base: str, provider_code: str) -> str:
    return f"{base}/organizations/{provider_code}"


def dataset_triples(entry, base: str) -> list[Triple]:
    """Every triple of one open entry: the dataset, its distribution, schema and columns, its
    publisher, and the concepts and terms it names, each typed (a dataset's triples stand alone)."""
    if entry.open_type != "open" or entry.withdrawn:
        raise ValueError(f"{entry.resource_code} is not open data")
    page = entry_page(base, entry.resource_code)
    ds = dataset_iri(base, entry.resource_code)
    dist, schema = f"{page}#distribution", f"{page}#schema"
    agent = publisher_iri(base, entry.provider_code)
    out: list[Triple] = [
        _a(ds, "dcat", "Dataset"),
        (ds, "dct:identifier", Literal(entry.resource_code)),
        (ds, "dct:title", _zh(entry.name)),
        (ds, "dct:description", _zh(entry.summary or entry.name)),
        (ds, "dct:publisher", IRI(agent)),
        (ds, "dcat:landingPage", IRI(page)),
        _a(page, "foaf", "Document"),
        (ds, "dct:accessRights", IRI(PUBLIC)),
        _a(PUBLIC, "dct", "RightsStatement"),
        (ds, "dct:spatial", IRI(region_iri(base, entry.region_code))),
        *region_triples(base, entry.region_code),
        (ds, "dcat:theme", IRI(category_iri(base, entry.category))),
        *category_triples(base, entry.category),
        (ds, "owl:versionInfo", Literal(str(entry.version))),
        (ds, "dcat:distribution", IRI(dist)),
    ]
    if entry.update_cycle in FREQUENCIES:
        frequency = FREQUENCY + FREQUENCIES[entry.update_cycle]
        out += [(ds, "dct:accrualPeriodicity", IRI(frequency)), _a(frequency, "dct", "Frequency")]
    for predicate, ts in (("dct:issued", entry.published_at), ("dct:modified", entry.updated_at)):
        value = _time(ts)
        if value is not None:
            out.append((ds, predicate, value))
    out += [(ds, "dcat:keyword", _zh(k)) for k in entry.keywords]
    out += [
        _a(dist, "dcat", "Distribution"),
        (dist, "dct:title", _zh(f"{entry.name}（{labels.SHARE_METHOD.get(entry.share_method, entry.share_method)}）")),
        (dist, "dcat:accessURL", IRI(page)),
        (dist, "csvw:tableSchema", IRI(schema)),
        _a(schema, "csvw", "Schema"),
    ]
    for n, item in enumerate(entry.data_items, 1):
        column = f"{page}#item-{n}"
        out += [
            (schema, "csvw:column", IRI(column)),
            _a(column, "csvw", "Column"),
            (column, "csvw:name", _zh(item.name)),
            (column, "csvw:datatype", IRI(PREFIXES["xsd"] + XSD_TYPES.get(item.type, "string"))),
        ]
        if item.length:
            out.append((column, "csvw:maxLength", Literal(str(item.length), datatype="xsd:integer")))
        if item.description:
            out.append((column, "dct:description", _zh(item.description)))
    out += agent_triples(agent, entry.provider_name, entry.provider_code)
    return out


def agent_triples(agent: str, name: str, identifier: str) -> list[Triple]:
    return [_a(agent, "foaf", "Agent"), (agent, "foaf:name", _zh(name)), (agent, "dct:identifier", Literal(identifier))]


def catalog_triples(base: str, title: str) -> list[Triple]:
    """The catalog: published by the portal (an agent named by its title), its themes from the
    category scheme, with both schemes it uses."""
    cat, home = f"{base}/catalog", f"{base}/"
    operator = publisher_iri(base, "portal")
    return [
        _a(cat, "dcat", "Catalog"),
        (cat, "dct:title", _zh(title)),
        (cat, "dct:description", _zh(f"{title}：开放类型为“开放”的政务数据资源目录")),
        (cat, "dct:publisher", IRI(operator)),
        (cat, "foaf:homepage", IRI(home)),
        (cat, "dct:language", IRI(CHINESE)),
        (cat, "dcat:themeTaxonomy", IRI(scheme_iri(base, "categories"))),
        _a(home, "foaf", "Document"),
        _a(CHINESE, "dct", "LinguisticSystem"),
        *agent_triples(operator, title, "portal"),
        *scheme_head(base, "categories"),
        *scheme_head(base, "regions"),
    ]


# -- the SKOS concept schemes the portal serves (/vocab/regions, /vocab/categories) ----------

SCHEMES = {  # name: its title, and what it holds
    "regions": ("行政区划代码（GB/T 2260）", "中央与32个省级行政区；地市、区县代码作为其下位概念"),
    "categories": ("政务数据资源分类", "基础、主题、部门三类政务数据资源"),
}


def scheme_iri(base: str, scheme: str) -> str:
    return f"{base}/vocab/{scheme}"


def region_iri(base: str, region_code: str) -> str:
    return f"{scheme_iri(base, 'regions')}/{region_code}"


def category_iri(base: str, category: str) -> str:
    return f"{scheme_iri(base, 'categories')}/{category}"


def scheme_head(base: str, scheme: str) -> list[Triple]:
    iri = scheme_iri(base, scheme)
    title, description = SCHEMES[scheme]
    return [_a(iri, "skos", "ConceptScheme"), (iri, "dct:title", _zh(title)),
            (iri, "dct:description", _zh(description))]


def _concept(base: str, scheme: str, iri: str, label: str, notation: str, broader: str = "") -> list[Triple]:
    out = [_a(iri, "skos", "Concept"), (iri, "skos:prefLabel", _zh(label)), (iri, "skos:notation", Literal(notation)),
           (iri, "skos:inScheme", IRI(scheme_iri(base, scheme)))]
    scheme_top = (iri, "skos:topConceptOf", IRI(scheme_iri(base, scheme)))
    out.append((iri, "skos:broader", IRI(broader)) if broader else scheme_top)
    return out


def region_triples(base: str, region_code: str) -> list[Triple]:
    """A region as a dct:Location and a concept of the regions scheme: the centre and the 32
    provinces at the top, a prefecture under its province, a county under its prefecture."""
    iri = region_iri(base, region_code)
    if region_code == regions.CENTRAL or region_code.endswith("0000"):
        broader = ""
    elif region_code.endswith("00"):
        broader = region_iri(base, regions.province_of(region_code))
    else:
        broader = region_iri(base, region_code[:4] + "00")
    return [_a(iri, "dct", "Location"),
            *_concept(base, "regions", iri, labels.region_name(region_code), region_code, broader)]


def category_triples(base: str, category: str) -> list[Triple]:
    return _concept(base, "categories", category_iri(base, category), labels.CATEGORY.get(category, category), category)


def scheme_triples(base: str, scheme: str) -> list[Triple]:
    """The whole scheme as /vocab/SCHEME serves it: its head and its top concepts (the regions
    scheme lists the centre and the provinces; a lower region's concept is served at its IRI)."""
    if scheme == "regions":
        concepts = [t for code in (regions.CENTRAL, *regions.PROVINCES) for t in region_triples(base, code)]
    else:
        concepts = [t for category in labels.CATEGORY for t in category_triples(base, category)]
    iri = scheme_iri(base, scheme)
    tops = [(iri, "skos:hasTopConcept", IRI(s)) for s, p, o in concepts if p == "skos:topConceptOf"]
    return scheme_head(base, scheme) + tops + concepts


def concept_triples(base: str, scheme: str, notation: str) -> list[Triple] | None:
    """One concept as its IRI serves it; None when the scheme has no such concept."""
    if scheme == "regions" and regions.is_known(notation):
        return region_triples(base, notation)
    if scheme == "categories" and notation in labels.CATEGORY:
        return category_triples(base, notation)
    return None


# -- Turtle --------------------------------------------------------------------------------

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _iri(value: str) -> str:
    bad = set('<>"{}|^`\\ ') & set(value)
    if bad or any(ord(c) < 0x21 for c in value):
        raise ValueError(f"not an IRI: {value!r}")
    return f"<{value}>"


def _turtle_object(obj) -> str:
    if isinstance(obj, IRI):
        return _iri(obj)
    text = '"' + "".join(_ESCAPES.get(c, c if ord(c) >= 0x20 else f"\\u{ord(c):04X}") for c in obj.value) + '"'
    if obj.lang:
        return f"{text}@{obj.lang}"
    if obj.datatype:
        return f"{text}^^{obj.datatype}"
    return text


def turtle_prefixes() -> str:
    return "".join(f"@prefix {p}: <{iri}> .\n" for p, iri in PREFIXES.items()) + "\n"


def turtle(triples: Iterable[Triple]) -> str:
    """Triples as Turtle statements, grouped by subject in the order given."""
    blocks: dict[str, dict[str, None]] = {}  # an ordered set of lines per subject
    for s, p, o in triples:
        blocks.setdefault(s, {})[f"    {'a' if p == 'rdf:type' else p} {_turtle_object(o)}"] = None
    return "".join(f"{_iri(s)}\n" + " ;\n".join(lines) + " .\n\n" for s, lines in blocks.items())


# -- JSON-LD -------------------------------------------------------------------------------

def _jsonld_object(obj):
    if isinstance(obj, IRI):
        return {"@id": str(obj)}
    if obj.lang:
        return {"@value": obj.value, "@language": obj.lang}
    if obj.datatype:
        prefix, name = obj.datatype.split(":")
        return {"@value": obj.value, "@type": PREFIXES[prefix] + name}
    return {"@value": obj.value}


def jsonld_nodes(triples: Iterable[Triple]) -> list[dict]:
    """Triples as JSON-LD node objects (flattened form, compact IRIs from the context)."""
    nodes: dict[str, dict] = {}
    for s, p, o in triples:
        node = nodes.setdefault(s, {"@id": s})
        key, value = ("@type", str(o)) if p == "rdf:type" else (p, _jsonld_object(o))
        values = node.setdefault(key, [])
        if value not in values:
            values.append(value)
    return list(nodes.values())


def jsonld_stream(head: list[Triple], entry_pages: Iterable[list], base: str) -> Iterator[str]:
    """The whole catalog as one JSON-LD document, written a page of entries at a time."""
    yield '{"@context": ' + json.dumps(PREFIXES) + ', "@graph": [\n'
    cat = f"{base}/catalog"
    yield ",\n".join(json.dumps(node, ensure_ascii=False) for node in jsonld_nodes(head))
    for entries in entry_pages:  # one chunk a page: a chunk per node costs a thread hop each
        triples: list[Triple] = []
        for entry in entries:
            triples.append((cat, "dcat:dataset", IRI(dataset_iri(base, entry.resource_code))))
            triples += dataset_triples(entry, base)
        yield "".join(",\n" + json.dumps(node, ensure_ascii=False) for node in jsonld_nodes(triples))
    yield "\n]}\n"


def turtle_stream(head: list[Triple], entry_pages: Iterable[list], base: str) -> Iterator[str]:
    yield turtle_prefixes()
    yield turtle(head)
    cat = f"{base}/catalog"
    for entries in entry_pages:
        triples: list[Triple] = []
        for entry in entries:
            triples.append((cat, "dcat:dataset", IRI(dataset_iri(base, entry.resource_code))))
            triples += dataset_triples(entry, base)
        yield turtle(triples)
