"""The open-data API's routes: a read-only subset of CKAN's Action API (the actions are
open_catalog's) and the DCAT-AP catalog (/catalog.jsonld, /catalog.ttl), both of the entries
whose open_type is open; and the SKOS concept schemes the catalog's regions and categories come
from (/vocab/regions, /vocab/categories, each concept at its own IRI), as Turtle."""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from portal import ckan, dcat
from portal.open_catalog import ACTIONS, PAGE, BadParam, NotFound, open_filter
from portal.site import Portal

TURTLE = "text/turtle; charset=utf-8"


class CkanResponse(JSONResponse):
    """An action's answer, written by ckan.dumps (which places packages written already)."""

    def render(self, content) -> bytes:
        return ckan.dumps(content)


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
    portal: Portal = request.app.state.portal
    base = portal.base_url(request)
    if name not in ACTIONS:
        return CkanResponse(ckan.error(name, "Not Found Error", f"Action name not known: {name}", base), 400)
    try:
        params = await _params(request)
        result = await run_in_threadpool(getattr(portal.open_catalog, name), params, base)
    except BadParam as exc:
        field, _, message = str(exc).partition(": ")
        return CkanResponse(ckan.error(name, "Validation Error", str(exc), base, **{field: [message or str(exc)]}), 409)
    except NotFound as exc:
        return CkanResponse(ckan.error(name, "Not Found Error", str(exc), base), 404)
    return CkanResponse(ckan.envelope(name, result, base))


def about(request: Request):
    return request.app.state.portal.page(request, "opendata.html")


def api_version(request: Request):
    return JSONResponse({"version": 3})


def _catalog_stream(request: Request, writer, media_type: str):
    portal: Portal = request.app.state.portal
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
    return _catalog_stream(request, dcat.turtle_stream, TURTLE)


def vocabulary(request: Request):
    """A concept scheme, or one concept of it, that the catalog's IRIs name."""
    base = request.app.state.portal.base_url(request)
    scheme, notation = request.path_params["scheme"], request.path_params.get("notation")
    if scheme not in dcat.SCHEMES:
        return Response(f"no concept scheme {scheme}; the schemes are {', '.join(dcat.SCHEMES)}\n", 404,
                        media_type="text/plain; charset=utf-8")
    triples = dcat.scheme_triples(base, scheme) if notation is None else dcat.concept_triples(base, scheme, notation)
    if triples is None:
        return Response(f"no concept {notation} in {scheme}\n", 404, media_type="text/plain; charset=utf-8")
    return Response(dcat.turtle_prefixes() + dcat.turtle(triples), media_type=TURTLE)


routes = [
    Route("/api/3/action/{action}", action, methods=["GET", "POST"]),
    Route("/api/action/{action}", action, methods=["GET", "POST"]),
    Route("/opendata", about),
    Route("/api/3", api_version),
    Route("/api", api_version),
    Route("/catalog.jsonld", catalog_jsonld),
    Route("/catalog.ttl", catalog_turtle),
    Route("/vocab/{scheme}", vocabulary),
    Route("/vocab/{scheme}/{notation}", vocabulary),
]
