"""The catalog in CKAN's words, as pure functions: a department is an organization, an entry a
dataset (package), its data items the dataset's `data_items` (and, for harvesters that copy
only extras, a JSON `data_items` extra). Only entries whose open_type is `open` are ever
turned into packages; the views make sure of that, and `package` refuses anything else."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

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
    if ts is None or (not ts.seconds and not ts.nanos):
        return None
    moment = datetime.fromtimestamp(ts.seconds, timezone.utc).replace(microsecond=ts.nanos // 1000, tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def organization(code: str, title: str, package_count: int | None = None, base: str = "") -> dict:
    org = {
        "id": code, "name": code, "title": title or code, "display_name": title or code,
        "description": f"政务数据提供部门 {title}（部门代码 {code}，{labels.region_name(code[:6])}）",
        "type": "organization", "is_organization": True, "state": "active", "approval_status": "approved",
        "image_url": "", "image_display_url": "", "created": None,
    }
    if package_count is not None:
        org["package_count"] = package_count
    if base:
        org["url"] = f"{base}/search?department={code}"
    return org


def package(entry, base: str) -> dict:
    """The CKAN package of an open entry; `base` is the portal's URL (links to its pages)."""
    if entry.open_type != "open" or entry.withdrawn:
        raise NotOpen(entry.resource_code)
    name = dataset_name(entry.resource_code)
    page = f"{base}/entries/{entry.resource_code}"
    items = [{"name": i.name, "type": i.type, "length": i.length, "description": i.description}
             for i in entry.data_items]
    extras = {
        "resource_code": entry.resource_code, "provider_code": entry.provider_code,
        "region_code": entry.region_code, "region": labels.region_name(entry.region_code),
        "category": entry.category, "share_type": entry.share_type, "share_condition": entry.share_condition,
        "not_shared_basis": entry.not_shared_basis, "share_method": entry.share_method, "open_type": entry.open_type,
        "update_cycle": entry.update_cycle, "source_system": entry.source_system, "origin": entry.origin,
        "version": str(entry.version), "data_items": json.dumps(items, ensure_ascii=False),
    }
    return {
        "id": name, "name": name, "title": entry.name, "notes": entry.summary, "type": "dataset",
        "state": "active", "private": False, "isopen": True, "version": str(entry.version),
        "url": page, "author": entry.provider_name, "maintainer": entry.provider_name,
        "license_id": "", "license_title": "",
        "metadata_created": ckan_time(entry.published_at), "metadata_modified": ckan_time(entry.updated_at),
        "owner_org": entry.provider_code,
        "organization": organization(entry.provider_code, entry.provider_name),
        "tags": [{"name": k, "display_name": k, "state": "active", "vocabulary_id": None} for k in entry.keywords],
        "num_tags": len(entry.keywords),
        "groups": [], "relationships_as_object": [], "relationships_as_subject": [],
        "resources": [{
            "id": f"{name}-items", "package_id": name, "name": "数据项", "position": 0, "state": "active",
            "description": "、".join(i.name for i in entry.data_items), "format": "HTML", "url": page,
            "url_type": None, "resource_type": "documentation", "mimetype": "text/html",
            "created": ckan_time(entry.published_at), "last_modified": ckan_time(entry.updated_at),
        }],
        "num_resources": 1,
        "data_items": items,
        "resource_code": entry.resource_code, "region_code": entry.region_code, "category": entry.category,
        "share_type": entry.share_type, "update_cycle": entry.update_cycle, "origin": entry.origin,
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
    }


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
