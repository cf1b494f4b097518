"""The open entries of a node as CKAN's actions see them (package_search, package_show,
package_list, organization_list, organization_show, status_show): each read asks the node for
open_type = open, so an entry that is not open cannot appear; package_show checks it again."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from node.proto import catalog_pb2
from portal import ckan
from portal.client import NodeClient, NodeRefused
from portal.paging import ListingCursors
from portal.scorecard import Departments

MAX_ROWS = 1000
DEFAULT_ROWS = 10
PAGE = 1000  # entries per call when reading the whole open catalog


class BadParam(ValueError):
    """A parameter CKAN would refuse: "name: what is wrong"."""


class NotFound(Exception):
    pass


def open_filter(**fields) -> catalog_pb2.EntryFilter:
    since: datetime | None = fields.pop("updated_since", None)
    where = catalog_pb2.EntryFilter(open_type="open", **fields)
    if since is not None:
        where.updated_since.FromDatetime(since)
    return where


def _int(params: dict, name: str, default: int, low: int = 0, high: int | None = None) -> int:
    value = params.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON body's 1e400 or Infinity
        raise BadParam(f"{name}: Invalid integer") from None
    if number < low or (high is not None and number > high):
        raise BadParam(f"{name}: must be between {low} and {high}" if high else f"{name}: must be at least {low}")
    return number


def _text(params: dict, *names: str) -> str:
    """The first of `names` given, as text; one a JSON body made a list or a lone surrogate is refused
    here rather than failing on its way into a protobuf message."""
    for name in names:
        value = params.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, (str, int, float)):
            raise BadParam(f"{name}: must be a string")
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadParam(f"{name}: is not valid text") from None
        return text
    return ""


def _bool(params: dict, name: str) -> bool:
    value = params.get(name, False)
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


class OpenCatalog:
    """The open entries of the node, read through the portal's client."""

    def __init__(self, client: NodeClient, cursors: ListingCursors, departments: Departments, title: str):
        self.client = client
        self.cursors = cursors
        self.departments = departments
        self.title = title
        self._orgs: tuple[float, list[tuple[str, str, int]]] = (0.0, [])
        self._lock = threading.Lock()

    def package_search(self, params: dict, base: str) -> dict:
        """CKAN's package_search. With a query, `count` is what a client can page through: the
        node counts a broad query's matches only up to its cap (10,000) and serves no more, so
        there the count is the cap, and a client paging while start < count stops where the
        results do. CKAN's count is a plain number: it has no room to say "at least". Without a
        query a listing under a filter is counted to the same cap, but pages on past it by
        position: there the count is at least one past the page while more follow, so that a
        harvester paging while start < count reads to the end. The results are the packages
        written already (ckan.package_json), for ckan.dumps to place."""
        rows = _int(params, "rows", DEFAULT_ROWS, 0, MAX_ROWS)
        start = _int(params, "start", 0, 0, 1_000_000)
        query = _text(params, "q").strip()
        try:
            where = open_filter(**ckan.parse_fq(_text(params, "fq")))
        except ValueError as exc:
            raise BadParam(str(exc)) from None
        if query and query not in ("*:*", "*"):
            reply = self.client.search(query[:200], where, max(rows, 1), start)
            entries, count = list(reply.entries)[:rows], reply.total
        else:
            listing = self.cursors.page(where, start, max(rows, 1), with_total=True)
            entries, count = listing.entries[:rows], listing.total
            if listing.total_is_lower_bound:  # counted only to the node's cap: a listing pages on past it
                count = max(count, start + len(listing.entries) + listing.more)
        return {"count": count, "results": [ckan.package_json(e, base) for e in entries],
                "sort": "score desc, metadata_modified desc", "facets": {}, "search_facets": {}}

    def package_show(self, params: dict, base: str) -> dict:
        code = ckan.resource_code(_text(params, "id", "name"))
        if code is None:
            raise NotFound("Dataset not found")
        try:
            entry = self.client.get_entry(code)
        except NodeRefused as exc:
            if exc.code.name in ("NOT_FOUND", "INVALID_ARGUMENT"):
                raise NotFound("Dataset not found") from None
            raise
        try:
            return ckan.package(entry, base)
        except ckan.NotOpen:
            raise NotFound("Dataset not found") from None

    def pages(self, where: catalog_pb2.EntryFilter):
        """Every open entry under the filter, a page at a time."""
        token = ""
        while True:
            reply = self.client.list_entries(where, PAGE, token)
            if reply.entries:
                yield list(reply.entries)
            token = reply.next_page_token
            if not token:
                return

    def package_list(self, params: dict, base: str) -> list[str]:
        limit = _int(params, "limit", 0, 0, None) if "limit" in params else None
        offset = _int(params, "offset", 0, 0, None)
        if limit is not None:
            entries = self.cursors.page(open_filter(), offset, min(limit, MAX_ROWS)).entries if limit else []
            return [ckan.dataset_name(e.resource_code) for e in entries]
        names = [ckan.dataset_name(e.resource_code) for page in self.pages(open_filter()) for e in page]
        return names[offset:]

    def organizations(self) -> list[tuple[str, str, int]]:
        """(code, name, open datasets) of every department with at least one open entry; counted
        again at most every five minutes."""
        at, known = self._orgs
        if at and time.monotonic() - at < 300:
            return known
        with self._lock:
            found = []
            for code, name in self.departments.all():
                count = self.client.list_entries(open_filter(provider_code=code), 1, with_total=True).total
                if count:
                    found.append((code, name, count))
            self._orgs = (time.monotonic(), found)
        return found

    def organization_list(self, params: dict, base: str):
        orgs = self.organizations()
        offset = _int(params, "offset", 0, 0, None)
        limit = _int(params, "limit", len(orgs), 0, None)
        orgs = orgs[offset:offset + limit]
        if _bool(params, "all_fields"):
            return [ckan.organization(code, name, count, base) for code, name, count in orgs]
        return [code for code, _, _ in orgs]

    def organization_show(self, params: dict, base: str) -> dict:
        code = _text(params, "id").strip()
        match = {c: (n, k) for c, n, k in self.organizations()}.get(code)
        if match is None:
            raise NotFound("Organization not found")
        org = ckan.organization(code, match[0], match[1], base)
        if _bool(params, "include_datasets"):
            entries = self.cursors.page(open_filter(provider_code=code), 0, MAX_ROWS).entries
            org["packages"] = [ckan.package_json(e, base) for e in entries]
        return org

    def status_show(self, params: dict, base: str) -> dict:
        return {"site_title": self.title, "site_url": base, "site_description": "政务数据开放目录",
                "ckan_version": ckan.CKAN_VERSION, "api_version": 3, "locale_default": "zh_Hans_CN",
                "extensions": []}


ACTIONS = ("package_search", "package_show", "package_list", "organization_list", "organization_show", "status_show")
