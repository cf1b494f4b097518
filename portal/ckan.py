"""The catalog in CKAN's words, as pure functions: a department is an organization, an entry a
dataset (package), its data items the dataset's `data_items` (and, for harvesters that copy
only extras, a JSON `data_items` extra). Only entries whose open_type is `open` are ever
turned into packages; the views make sure of that, and `package` refuses anything else."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from json.encoder import encode_basestring as _quoted

import orjson

from portal import labels

CKAN_VERSION = "2.10.4"  # the Action API version whose shapes these follow
NAME = re.compile(r"^(\d{9})[-/](\d{6})$")
ORG = re.compile(r"^\d{9}$")
FQ_CLAUSE = re.compile(r'([-+]?)(\w+):(\[[^\]]*\]|"[^"]*"|\S+)')


class NotOpen(ValueError):
    """The entry is not open data: it does not exist for the open-data API."""


def dataset_name(resource_code: str) -> str:
    """CKAN names are lowercase letters, digits, - and _: "130000001/000001" -> "130000001-000001"."""
    return resource_code.replace("/", "-")


def resource_code(name_or_id: str) -> str | None:
    match = NAME.match(name_or_id.strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def ckan_time(ts) -> str | None:
    """CKAN writes naive UTC ISO times with microseconds."""
    if ts is None:
        return None
    return _moment(ts.seconds, ts.nanos)


@functools.lru_cache(maxsize=4096)  # a page's entries share few times (a bulk publish gives them one)
def _moment(seconds: int, nanos: int) -> str | None:
    if not seconds and not nanos:
        return None
    moment = datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=nanos // 1000, tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def organization(code: str, title: str, package_count: int | None = None, base: str = "") -> dict:
    org = dict(_organization(code, title))
    if package_count is not None:
        org["package_count"] = package_count
    if base:
        org["url"] = f"{base}/search?department={code}"
    return org


@functools.lru_cache(maxsize=4096)  # a department's organization, as every package of it carries it: copied, not shared
def _organization(code: str, title: str) -> dict:
    return {
        "id": code, "name": code, "title": title or code, "display_name": title or code,
        "description": f"政务数据提供部门 {title}（部门代码 {code}，{labels.region_name(code[:6])}）",
        "type": "organization", "is_organization": True, "state": "active", "approval_status": "approved",
        "image_url": "", "image_display_url": "", "created": None,
    }


_region_name = functools.lru_cache(maxsize=4096)(labels.region_name)


def _items_json(items: list[dict]) -> str:
    """json.dumps(items, ensure_ascii=False), the `data_items` extra as harvesters have stored it
    (", " and ": " between), written with the standard encoder's own escaping but without the
    encoder it builds at every call (four-fifths of its time for a list this small)."""
    return "[" + ", ".join([f'{{"name": {_quoted(i["name"])}, "type": {_quoted(i["type"])}, "length": {i["length"]:d}, '
                            f'"description": {_quoted(i["description"])}}}' for i in items]) + "]"


def package(entry, base: str) -> dict:
    """The CKAN package of an open entry; `base` is the portal's URL (links to its pages). A page
    of search results builds 1,000 of these: each field of the entry is read once, and nothing a
    caller may change is shared between packages."""
    if entry.open_type != "open" or entry.withdrawn:
        raise NotOpen(entry.resource_code)
    code, provider_code, provider_name = entry.resource_code, entry.provider_code, entry.provider_name
    region_code, category, share_type = entry.region_code, entry.category, entry.share_type
    update_cycle, origin, version = entry.update_cycle, entry.origin, str(entry.version)
    name = dataset_name(code)
    page = f"{base}/entries/{code}"
    created, modified = ckan_time(entry.published_at), ckan_time(entry.updated_at)
    items = [{"name": i.name, "type": i.type, "length": i.length, "description": i.description}
             for i in entry.data_items]
    keywords = entry.keywords
    return {
        "id": name, "name": name, "title": entry.name, "notes": entry.summary, "type": "dataset",
        "state": "active", "private": False, "isopen": True, "version": version,
        "url": page, "author": provider_name, "maintainer": provider_name,
        "license_id": "", "license_title": "",
        "metadata_created": created, "metadata_modified": modified,
        "owner_org": provider_code,
        "organization": organization(provider_code, provider_name),
        "tags": [{"name": k, "display_name": k, "state": "active", "vocabulary_id": None} for k in keywords],
        "num_tags": len(keywords),
        "groups": [], "relationships_as_object": [], "relationships_as_subject": [],
        "resources": [{
            "id": f"{name}-items", "package_id": name, "name": "数据项", "position": 0, "state": "active",
            "description": "、".join([i["name"] for i in items]), "format": "HTML", "url": page,
            "url_type": None, "resource_type": "documentation", "mimetype": "text/html",
            "created": created, "last_modified": modified,
        }],
        "num_resources": 1,
        "data_items": items,
        "resource_code": code, "region_code": region_code, "category": category,
        "share_type": share_type, "update_cycle": update_cycle, "origin": origin,
        "extras": [
            {"key": "resource_code", "value": code}, {"key": "provider_code", "value": provider_code},
            {"key": "region_code", "value": region_code}, {"key": "region", "value": _region_name(region_code)},
            {"key": "category", "value": category}, {"key": "share_type", "value": share_type},
            {"key": "share_condition", "value": entry.share_condition},
            {"key": "not_shared_basis", "value": entry.not_shared_basis},
            {"key": "share_method", "value": entry.share_method}, {"key": "open_type", "value": "open"},
            {"key": "update_cycle", "value": update_cycle}, {"key": "source_system", "value": entry.source_system},
            {"key": "origin", "value": origin}, {"key": "version", "value": version},
            {"key": "data_items", "value": _items_json(items)},
        ],
    }


def package_json(entry, base: str) -> orjson.Fragment:
    """package() written as JSON at once, for answers of many packages (a search page of 1,000):
    its dicts live only while they are written, so such a page leaves the garbage collector
    nothing to walk (kept whole, 1,000 packages are some 30,000 containers, and the collections
    they set off walked the portal's whole heap). `dumps` places it as it stands."""
    return orjson.Fragment(orjson.dumps(package(entry, base)))


def dumps(value) -> bytes:
    """The API's JSON text: the bytes Starlette's JSONResponse writes (UTF-8, no spaces, the same
    escapes), by a compiled encoder in an eighth of the time; a page of 1,000 packages is 3 MB."""
    return orjson.dumps(value)


def envelope(action: str, result, base: str) -> dict:
    return {"help": f"{base}/api/3/action/help_show?name={action}", "success": True, "result": result}


def error(action: str, kind: str, message: str, base: str, **fields) -> dict:
    return {"help": f"{base}/api/3/action/help_show?name={action}", "success": False,
            "error": {"__type": kind, "message": message, **fields}}


def parse_fq(fq: str) -> dict:
    """The filter queries a CKAN client or harvester sends that mean something here:
    `organization:CODE` (or owner_org), `metadata_modified:[ISO TO *]` (a harvester's "changed
    since") and `res_format`/`tags`-free clauses; anything else raises ValueError."""
    found: dict = {}
    rest = FQ_CLAUSE.sub(lambda m: _clause(m, found), fq or "").strip()
    if rest.replace("AND", "").strip():
        raise ValueError(f"fq: cannot read {rest!r}")
    return found


def _clause(match: re.Match, found: dict) -> str:
    negated, field, value = match.groups()
    value = value.strip('"')
    if negated == "-":
        raise ValueError(f"fq: negated clauses are not supported ({match.group(0)})")
    if field in ("organization", "owner_org"):
        if not ORG.match(value):
            raise ValueError(f"fq: {field} must be a 9-digit department code")
        found["provider_code"] = value
    elif field == "metadata_modified":
        bounds = re.match(r"^\[(\S+) TO (\S+)\]$", value)
        if not bounds or bounds.group(2) != "*":
            raise ValueError("fq: metadata_modified takes [TIME TO *]")
        if bounds.group(1) != "*":
            try:
                since = datetime.fromisoformat(bounds.group(1).replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"fq: {bounds.group(1)} is not an ISO time") from None
            since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
            try:  # the node takes UTC: a time at the calendar's edge may have none
                since.astimezone(timezone.utc)
            except OverflowError:
                raise ValueError(f"fq: {bounds.group(1)} is out of range") from None
            found["updated_since"] = since
    elif field in ("dataset_type", "type") and value == "dataset":
        pass
    elif field == "state" and value == "active":
        pass
    else:
        raise ValueError(f"fq: {field} is not a field this catalog filters on")
    return ""
