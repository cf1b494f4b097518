"""The open-data API: a read-only subset of CKAN's Action API (package_search, package_show,
package_list, organization_list, organization_show, status_show) and the DCAT-AP catalog
(/catalog.jsonld, /catalog.ttl). Every read asks the node for open_type = open, so an entry
that is not open cannot appear; package_show checks it again."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from node.proto import catalog_pb2
from portal import ckan, dcat
from portal.client import NodeRefused
from portal.pages import Departments

MAX_ROWS = 1000
DEFAULT_ROWS = 10
PAGE = 1000  # entries per call when reading the whole open catalog


class BadParam(ValueError):
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
    except (TypeError, ValueError):
        raise BadParam(f"{name}: Invalid integer") from None
    if number < low or (high is not None and number > high):
        raise BadParam(f"{name}: must be between {low} and {high}" if high else f"{name}: must be at least {low}")
    return number


def _bool(params: dict, name: str) -> bool:
    value = params.get(name, False)
    return value is True or str(value).lower() in ("true", "1", "yes", "on")


class OpenCatalog:
    """The open entries of the node, read through the portal's client."""

    def __init__(self, portal, departments: Departments):
        self.portal = portal
        self.client = portal.client
        self.departments = departments
        self._orgs: tuple[float, list[tuple[str, str, int]]] = (0.0, [])
        self._lock = threading.Lock()

    def package_search(self, params: dict, base: str) -> dict:
        """CKAN's package_search. With a query, `count` is what a client can page through: the
        node counts a broad query's matches only up to its cap (10,000) and serves no more, so
        there the count is the cap, and a client paging while start < count stops where the
        results do. CKAN's count is a plain number: it has no room to say "at least"."""
        rows = _int(params, "rows", DEFAULT_ROWS, 0, MAX_ROWS)
        start = _int(params, "start", 0, 0, 1_000_000)
        query = str(params.get("q") or "").strip()
        try:
            where = open_filter(**ckan.parse_fq(str(params.get("fq") or "")))
        except ValueError as exc:
            raise BadParam(str(exc)) from None
        if query and query not in ("*:*", "*"):
            reply = self.client.search(query[:200], where, max(rows, 1), start)
            entries, count = list(reply.entries)[:rows], reply.total
        else:
            entries, count, _ = self.portal.cursors.page(where, start, max(rows, 1), with_total=True)
            entries = entries[:rows]
        return {"count": count, "results": [ckan.package(e, base) for e in entries],
                "sort": "score desc, metadata_modified desc", "facets": {}, "search_facets": {}}

    def package_show(self, params: dict, base: str) -> dict:
        code = ckan.resource_code(str(params.get("id") or params.get("name") or ""))
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
            entries, _, _ = self.portal.cursors.page(open_filter(), offset, min(limit, MAX_ROWS)) if limit else ([], 0, 0)
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
        code = str(params.get("id") or "").strip()
        match = {c: (n, k) for c, n, k in self.organizations()}.get(code)
        if match is None:
            raise NotFound("Organization not found")
        org = ckan.organization(code, match[0], match[1], base)
        if _bool(params, "include_datasets"):
            entries, _, _ = self.portal.cursors.page(open_filter(provider_code=code), 0, MAX_ROWS)
            org["packages"] = [ckan.package(e, base) for e in entries]
        return org

    def status_show(self, params: dict, base: str) -> dict:
        return {"site_title": self.portal.title, "site_url": base, "site_description": "政务数据开放目录",
                "ckan_version": ckan.CKAN_VERSION, "api_version": 3, "locale_default": "zh_Hans_CN",
                "extensions": []}


class NotFound(Exception):
    pass


ACTIONS = ("package_search", "package_show", "package_list", "organization_list", "organization_show", "status_show")


def _open_catalog(request: Request) -> OpenCatalog:
    state = request.app.state
    if not hasattr(state, "open_catalog"):
        from portal.pages import _departments
        state.open_catalog = OpenCatalog(state.portal, _departments(request))
    return state.open_catalog


async def _params(request: Request) -> dict:
    params: dict = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "")
        if kind.startswith("application/json"):
            body = await request.body()
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise BadParam("the request body is not JSON") from None
            if not isinstance(data, dict):
                raise BadParam("the request body must be a JSON object")
            params.update(data)
        else:
            params.update({k: v for k, v in (await request.form()).items()})
    return params


async def action(request: Request):
    name = request.path_params["action"]
    portal = request.app.state.portal
    base = portal.base_url(request)
    if name not in ACTIONS:
        return JSONResponse(ckan.error(name, "Not Found Error", f"Action name not known: {name}", base), 400)
    try:
        params = await _params(request)
        result = await run_in_threadpool(getattr(_open_catalog(request), name), params, base)
    except BadParam as exc:
        field, _, message = str(exc).partition(": ")
        return JSONResponse(ckan.error(name, "Validation Error", str(exc), base, **{field: [message or str(exc)]}), 409)
    except NotFound as exc:
        return JSONResponse(ckan.error(name, "Not Found Error", str(exc), base), 404)
    return JSONResponse(ckan.envelope(name, result, base))


def about(request: Request):
    return request.app.state.portal.page(request, "opendata.html")


def api_version(request: Request):
    return JSONResponse({"version": 3})


def _catalog_stream(request: Request, writer, media_type: str):
    portal = request.app.state.portal
    base = portal.base_url(request)
    # The first page is read before answering, so that an unreachable node is a 503, not a cut stream.
    first = portal.client.list_entries(open_filter(), PAGE)

    def pages():
        if first.entries:
            yield list(first.entries)
        if first.next_page_token:
            token = first.next_page_token
            while token:
                reply = portal.client.list_entries(open_filter(), PAGE, token)
                if reply.entries:
                    yield list(reply.entries)
                token = reply.next_page_token

    body = writer(dcat.catalog_triples(base, portal.title), pages(), base)
    return StreamingResponse((chunk.encode() for chunk in body), media_type=media_type)


def catalog_jsonld(request: Request):
    return _catalog_stream(request, dcat.jsonld_stream, "application/ld+json; charset=utf-8")


def catalog_turtle(request: Request):
    return _catalog_stream(request, dcat.turtle_stream, "text/turtle; charset=utf-8")


routes = [
    Route("/api/3/action/{action}", action, methods=["GET", "POST"]),
    Route("/api/action/{action}", action, methods=["GET", "POST"]),
    Route("/opendata", about),
    Route("/api/3", api_version),
    Route("/api", api_version),
    Route("/catalog.jsonld", catalog_jsonld),
    Route("/catalog.ttl", catalog_turtle),
]
