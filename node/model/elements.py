"""Data elements (数据元) and their authoritative sources (一数一源): the registry the hub keeps
and every node holds a copy of, and the rules on it: which element a data item refers to, whether
the item fits it, and which department is the element's source for a region, hence which
entries re-collect it (不得重复收集). Plain data, no I/O."""

from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator

from node.errors import Invalid
from node.model import formats, regions
from node.model.rules import ITEM_TYPES, NAME_FORBIDDEN, DataItem, Entry

# A source's scope: the centre's code for the whole nation, a province's code for that province,
# or EACH_PROVINCE: in every province, that province's department with the given 3-digit number
# (the federation numbers its departments alike: 001 public security, 005 market regulation).
NATION = regions.CENTRAL
EACH_PROVINCE = "each_province"
MAX_ELEMENTS = 2000
MAX_SYNONYMS = 50


class InvalidElement(Invalid):
    """A data element breaks a rule of the registry."""


@dataclasses.dataclass(frozen=True)
class Source:
    """The authoritative source department of an element within a scope."""

    scope: str  # NATION, a province's code, or EACH_PROVINCE
    department_code: str  # 9 digits; with EACH_PROVINCE the 3-digit department number
    department_name: str = ""

    def department_in(self, province: str) -> str:
        """The source's department code for an entry of this province."""
        if self.scope == EACH_PROVINCE:
            return province[:6] + self.department_code
        return self.department_code


@dataclasses.dataclass(frozen=True)
class Element:
    name: str
    type: str  # an item type of node/model/rules.py
    rule: str = ""  # a rule of node/model/formats.py, "" for none
    synonyms: tuple[str, ...] = ()
    description: str = ""
    sources: tuple[Source, ...] = ()


@dataclasses.dataclass(frozen=True)
class Registry:
    """The registry at one version: the hub raises the version with every change, and a node
    takes a registry from its hub only with a higher version than the one it holds."""

    version: int = 0
    elements: tuple[Element, ...] = ()

    def __post_init__(self):
        names: dict[str, Element] = {}
        for element in self.elements:
            names[element.name] = element
        for element in self.elements:
            for synonym in element.synonyms:
                names.setdefault(synonym, element)
        object.__setattr__(self, "_names", names)

    def get(self, name: str) -> Element | None:
        return next((e for e in self.elements if e.name == name), None)

    def named(self, item_name: str) -> Element | None:
        """The element whose name or one of whose synonyms is the item's name."""
        return self._names.get(item_name.strip())

    def with_element(self, element: Element) -> "Registry":
        """The next version, with this element added or replacing the one of its name."""
        kept = tuple(e for e in self.elements if e.name != element.name)
        return Registry(self.version + 1, tuple(sorted((*kept, element), key=lambda e: e.name)))


# -- the rules ------------------------------------------------------------------------------

def validate_element(element: Element, registry: Registry | None = None) -> None:
    """Raises InvalidElement naming the field and the rule the element breaks. With a registry,
    a synonym may not be another element's name or synonym."""
    _require_name(element.name, "name")
    if element.type not in ITEM_TYPES:
        raise InvalidElement("type", f"must be one of {', '.join(ITEM_TYPES)} (got {element.type!r})")
    if element.rule and element.rule not in formats.RULES:
        raise InvalidElement("rule", f"unknown format rule {element.rule!r}: must be one of {formats.rule_names()}")
    rule = formats.RULES.get(element.rule)
    if rule is not None and element.type not in rule.types:
        raise InvalidElement("type", f"the rule {rule.name} takes an item of type {' or '.join(rule.types)} "
                                     f"(got {element.type!r})")
    if len(element.synonyms) > MAX_SYNONYMS:
        raise InvalidElement("synonyms", f"must hold at most {MAX_SYNONYMS}")
    for i, synonym in enumerate(element.synonyms):
        _require_name(synonym, f"synonyms[{i}]")
    if len(element.description) > 500:
        raise InvalidElement("description", "must be at most 500 characters")
    for i, source in enumerate(element.sources):
        _validate_source(source, f"sources[{i}]")
    if registry is not None:
        for i, word in enumerate((element.name, *element.synonyms)):
            other = registry.named(word)
            if other is not None and other.name != element.name:
                field = "name" if i == 0 else f"synonyms[{i - 1}]"
                raise InvalidElement(field, f"{word!r} already names the element {other.name!r}")


def _require_name(value: str, field: str) -> None:
    if not value.strip():
        raise InvalidElement(field, "must not be blank")
    if len(value) > 200 or NAME_FORBIDDEN.search(value):
        raise InvalidElement(field, "must be at most 200 characters without control characters")


def _validate_source(source: Source, field: str) -> None:
    if source.scope == EACH_PROVINCE:
        if not (len(source.department_code) == 3 and source.department_code.isdigit()):
            raise InvalidElement(f"{field}.department_code",
                                 f"with scope {EACH_PROVINCE} must be a 3-digit department number")
        return
    if source.scope != NATION and source.scope not in regions.PROVINCES:
        raise InvalidElement(f"{field}.scope", f"must be {NATION} (nation-wide), a province's code "
                                               f"or {EACH_PROVINCE} (got {source.scope!r})")
    code = source.department_code
    if not (len(code) == 9 and code.isdigit() and regions.province_of(code[:6]) == regions.province_of(source.scope)):
        raise InvalidElement(f"{field}.department_code",
                             f"must be a 9-digit department code within the scope {source.scope} (got {code!r})")


def element_of(item: DataItem, registry: Registry) -> Element | None:
    """The element a data item refers to: the one it names, else the one its name is a name or
    synonym of. The one function every part asks (publish, duplicates, checks, corrections)."""
    if item.element:
        return registry.get(item.element)
    return registry.named(item.name)


def source_for(element: Element, region_code: str) -> Source | None:
    """The element's authoritative source for an entry of this region: the province's own, else
    the numbered department of every province, else the nation-wide one."""
    province = regions.province_of(region_code) if region_code != NATION else NATION
    ranked = {NATION: 2, EACH_PROVINCE: 1}
    best = None
    for source in element.sources:
        if source.scope == province and province != NATION:
            return source
        if source.scope == EACH_PROVINCE and province == NATION:
            continue
        if source.scope in ranked and (best is None or ranked[source.scope] < ranked[best.scope]):
            best = source
    return best


def source_department(element: Element, region_code: str) -> str:
    """The department code of the element's source for this region ("" if it has none)."""
    source = source_for(element, region_code)
    return source.department_in(regions.province_of(region_code)) if source else ""


def check_item(item: DataItem, element: Element) -> str:
    """"" when the item fits its element, else the rule it breaks."""
    if item.type != element.type:
        return f"the element {element.name} is of type {element.type} (got {item.type})"
    rule = formats.RULES.get(element.rule)
    if rule is not None and item.length and item.length < rule.min_length:
        return (f"the element {element.name} holds {rule.description}: "
                f"a length of at least {rule.min_length} (got {item.length})")
    return ""


def check_entry(entry: Entry, registry: Registry) -> None:
    """Raises Invalid for an item that names an element the registry lacks or does not fit the
    element it names. A node with no registry yet (it has not heard from its hub) lets names be."""
    if not registry.version:
        return
    for i, item in enumerate(entry.data_items):
        if item.element and registry.get(item.element) is None:
            raise Invalid(f"data_items[{i}].element",
                          f"no element is named {item.element!r} in the registry (version {registry.version})")
        element = element_of(item, registry)
        if element is not None and item.element:
            problem = check_item(item, element)
            if problem:
                raise Invalid(f"data_items[{i}].type", problem)


def suggestions(items: Iterable[DataItem], registry: Registry) -> list[tuple[str, str]]:
    """(item, element) for each item that names no element while its name or a synonym matches one."""
    return [(item.name, element.name) for item in items if not item.element
            for element in (registry.named(item.name),) if element is not None]


@dataclasses.dataclass(frozen=True)
class Duplicate:
    """An entry that collects an element itself while another department is its source."""

    resource_code: str
    provider_code: str
    provider_name: str
    item: str
    element: str
    source_code: str
    source_name: str


def duplicates(entry: Entry, registry: Registry) -> Iterator[Duplicate]:
    """The duplicate collections (不得重复收集) of one entry: each element it presents as its own
    while another department is the element's source for the entry's region. An entry that
    names the authoritative entry it copies (`derived_from`) re-collects nothing."""
    if entry.derived_from or entry.withdrawn:
        return
    for item, element, code, name in re_collected(entry.data_items, entry.region_code, entry.provider_code, registry):
        yield Duplicate(entry.resource_code, entry.provider_code, entry.provider_name, item, element, code, name)


def re_collected(items: Iterable[DataItem], region_code: str, provider_code: str,
                 registry: Registry) -> list[tuple[str, str, str, str]]:
    """(item, element, source department code, its name) for each of these items of a
    department's entry of this region that refers to an element another department is the
    source of (the entry's `derived_from` aside: see `duplicates`)."""
    found = []
    province = regions.province_of(region_code)
    for item in items:
        element = element_of(item, registry)
        source = source_for(element, region_code) if element is not None else None
        if source is not None and source.department_in(province) != provider_code:
            found.append((item.name, element.name, source.department_in(province), source.department_name))
    return found


# -- as plain mappings (the bundled YAML, the CLI's files, the store's JSON) -----------------

def element_from_mapping(raw: dict) -> Element:
    """An element from a mapping (the bundled registry, `cascade element add FILE`)."""
    if not isinstance(raw, dict):
        raise InvalidElement("element", "must be a mapping")
    known = {"name", "type", "rule", "synonyms", "description", "sources"}
    unknown = set(raw) - known
    if unknown:
        raise InvalidElement(sorted(unknown)[0], f"unknown key: an element takes {', '.join(sorted(known))}")
    sources = []
    for i, s in enumerate(raw.get("sources") or ()):
        if not isinstance(s, dict) or "scope" not in s or "department_code" not in s:
            raise InvalidElement(f"sources[{i}]", "must be a mapping with scope and department_code")
        sources.append(Source(str(s["scope"]), str(s["department_code"]), str(s.get("department_name", ""))))
    return Element(name=str(raw.get("name", "")), type=str(raw.get("type", "string")), rule=str(raw.get("rule") or ""),
                   synonyms=tuple(str(s) for s in raw.get("synonyms") or ()),
                   description=str(raw.get("description", "")), sources=tuple(sources))


def element_to_mapping(element: Element) -> dict:
    return {"name": element.name, "type": element.type, "rule": element.rule, "synonyms": list(element.synonyms),
            "description": element.description,
            "sources": [dataclasses.asdict(s) for s in element.sources]}


def registry_to_mapping(registry: Registry) -> dict:
    return {"version": registry.version, "elements": [element_to_mapping(e) for e in registry.elements]}


def registry_from_mapping(raw: dict) -> Registry:
    return Registry(int(raw.get("version", 0)), tuple(element_from_mapping(e) for e in raw.get("elements", ())))
