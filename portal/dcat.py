"""The open catalog as DCAT-AP, as pure functions: an entry becomes a dcat:Dataset with one
dcat:Distribution whose csvw:tableSchema lists the data items as csvw:Column; its department
becomes the dct:publisher (a foaf:Agent). Triples are written out by hand as Turtle or JSON-LD,
one dataset at a time, so that the whole catalog streams in flat memory (rdflib reads both)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterable, Iterator

from portal import labels

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "csvw": "http://www.w3.org/ns/csvw#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
}
FREQUENCY = "http://publications.europa.eu/resource/authority/frequency/"
FREQUENCIES = {"realtime": "UPDATE_CONT", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
               "quarterly": "QUARTERLY", "half_yearly": "ANNUAL_2", "yearly": "ANNUAL", "irregular": "IRREG"}
PUBLIC = "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
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


def dataset_iri(base: str, resource_code: str) -> str:
    return f"{base}/entries/{resource_code}"


def publisher_iri(base: str, provider_code: str) -> str:
    return f"{base}/organizations/{provider_code}"


def dataset_triples(entry, base: str) -> list[Triple]:
    """Every triple of one open entry: the dataset, its distribution, schema and columns, and its publisher."""
    if entry.open_type != "open" or entry.withdrawn:
        raise ValueError(f"{entry.resource_code} is not open data")
    ds = dataset_iri(base, entry.resource_code)
    dist, schema = f"{ds}#distribution", f"{ds}#schema"
    agent = publisher_iri(base, entry.provider_code)
    out: list[Triple] = [
        (ds, "rdf:type", IRI(PREFIXES["dcat"] + "Dataset")),
        (ds, "dct:identifier", Literal(entry.resource_code)),
        (ds, "dct:title", _zh(entry.name)),
        (ds, "dct:description", _zh(entry.summary or entry.name)),
        (ds, "dct:publisher", IRI(agent)),
        (ds, "dcat:landingPage", IRI(ds)),
        (ds, "dct:accessRights", IRI(PUBLIC)),
        (ds, "dct:spatial", Literal(entry.region_code)),
        (ds, "dcat:theme", _zh(labels.CATEGORY.get(entry.category, entry.category))),
        (ds, "owl:versionInfo", Literal(str(entry.version))),
        (ds, "dcat:distribution", IRI(dist)),
    ]
    if entry.update_cycle in FREQUENCIES:
        out.append((ds, "dct:accrualPeriodicity", IRI(FREQUENCY + FREQUENCIES[entry.update_cycle])))
    for predicate, ts in (("dct:issued", entry.published_at), ("dct:modified", entry.updated_at)):
        value = _time(ts)
        if value is not None:
            out.append((ds, predicate, value))
    out += [(ds, "dcat:keyword", _zh(k)) for k in entry.keywords]
    out += [
        (dist, "rdf:type", IRI(PREFIXES["dcat"] + "Distribution")),
        (dist, "dct:title", _zh(f"{entry.name}（{labels.SHARE_METHOD.get(entry.share_method, entry.share_method)}）")),
        (dist, "dcat:accessURL", IRI(ds)),
        (dist, "csvw:tableSchema", IRI(schema)),
        (schema, "rdf:type", IRI(PREFIXES["csvw"] + "Schema")),
    ]
    for n, item in enumerate(entry.data_items, 1):
        column = f"{ds}#item-{n}"
        out += [
            (schema, "csvw:column", IRI(column)),
            (column, "rdf:type", IRI(PREFIXES["csvw"] + "Column")),
            (column, "csvw:name", _zh(item.name)),
            (column, "csvw:datatype", IRI(PREFIXES["xsd"] + XSD_TYPES.get(item.type, "string"))),
        ]
        if item.length:
            out.append((column, "csvw:maxLength", Literal(str(item.length), datatype="xsd:integer")))
        if item.description:
            out.append((column, "dct:description", _zh(item.description)))
    out += [
        (agent, "rdf:type", IRI(PREFIXES["foaf"] + "Agent")),
        (agent, "foaf:name", _zh(entry.provider_name)),
        (agent, "dct:identifier", Literal(entry.provider_code)),
    ]
    return out


def catalog_triples(base: str, title: str) -> list[Triple]:
    cat = f"{base}/catalog"
    return [
        (cat, "rdf:type", IRI(PREFIXES["dcat"] + "Catalog")),
        (cat, "dct:title", _zh(title)),
        (cat, "dct:description", _zh(f"{title}：开放类型为“开放”的政务数据资源目录")),
        (cat, "foaf:homepage", IRI(f"{base}/")),
        (cat, "dct:language", IRI("http://publications.europa.eu/resource/authority/language/ZHO")),
    ]


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
