"""The catalog pages: the home page, search with facets and paging, one entry."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.routing import Route

from node.model import regions
from node.proto import catalog_pb2
from portal import labels
from portal.site import Portal

PAGE_SIZE = 20
MAX_PAGE = 500  # 10,000 results: past that, a narrower query serves better than paging
MAX_BROWSE_PAGE = 100  # without a query the listing pages by position: a far page costs a walk to it
MAX_QUERY = 200
DEPARTMENT = re.compile(r"^\d{9}$")
REGION = re.compile(r"^\d{6}$")
FACETS = ("region", "department", "share_type", "update_cycle", "category")


def search_filter(params) -> tuple[catalog_pb2.EntryFilter, dict[str, str], list[str]]:
    """The filter a search page's parameters ask for, the chosen values, and what was wrong."""
    chosen = {name: (params.get(name) or "").strip() for name in FACETS}
    problems = []
    if chosen["region"] and not REGION.match(chosen["region"]):
        problems.append("行政区划代码应为 6 位数字")
        chosen["region"] = ""
    if chosen["department"] and not DEPARTMENT.match(chosen["department"]):
        problems.append("部门代码应为 9 位数字")
        chosen["department"] = ""
    for name, choices in labels.FILTERS.items():
        if chosen[name] and chosen[name] not in choices:
            problems.append(f"不支持的筛选值：{chosen[name]}")
            chosen[name] = ""
    where = catalog_pb2.EntryFilter(region_code=chosen["region"], provider_code=chosen["department"],
                                    share_type=chosen["share_type"], update_cycle=chosen["update_cycle"],
                                    category=chosen["category"])
    return where, chosen, problems


def _page_number(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def home(request: Request):
    portal: Portal = request.app.state.portal
    return portal.page(request, "home.html", {"regions": labels.REGIONS, "summary": portal.overview.summary()})


def search(request: Request):
    portal: Portal = request.app.state.portal
    query = (request.query_params.get("q") or "").strip()[:MAX_QUERY]
    where, chosen, problems = search_filter(request.query_params)
    page = _page_number(request.query_params.get("page"))
    last_page = MAX_PAGE if query else MAX_BROWSE_PAGE
    page = min(page, last_page)
    offset = (page - 1) * PAGE_SIZE
    # Facet counts are asked for with the page when not kept; with a query only on its first page,
    # where a search lands (counting each value of a query's rare answer costs ten times its
    # page), and kept for the pages after it.
    counts = portal.facets.get(query, where)
    ask = counts is None and (not query or page == 1)
    if query:
        reply = portal.client.search(query, where, PAGE_SIZE, offset, with_facets=ask)
        entries, total, more, facets = list(reply.entries), reply.total, reply.total_is_lower_bound, reply.facets
    else:
        listing = portal.cursors.page(where, offset, PAGE_SIZE, with_total=True, with_facets=ask)
        entries, total, more, facets = listing.entries, listing.total, listing.total_is_lower_bound, listing.facets
    if ask:
        counts = portal.facets.keep(query, where, facets)
    counts = counts or portal.facets.none()
    pages = max(1, min(last_page, -(-total // PAGE_SIZE)))
    kept = {k: v for k, v in {"q": query, **chosen}.items() if v}

    def page_url(n: int) -> str:
        return "/search?" + urlencode({**kept, **({"page": n} if n > 1 else {})})

    departments = portal.departments.all()
    if chosen["region"]:
        prefix = regions.prefix(chosen["region"])
        departments = [d for d in departments if d[0].startswith(prefix)]
    window = range(max(1, page - 3), min(pages, page + 3) + 1)
    return portal.page(request, "search.html", {
        "query": query, "chosen": chosen, "problems": problems, "entries": entries, "total": total,
        "page": page, "pages": pages, "window": window, "page_url": page_url, "offset": offset,
        "departments": departments, "regions": labels.REGIONS, "more": more, "counts": counts,
        "listed": min(total, pages * PAGE_SIZE), "capped": more or total > pages * PAGE_SIZE,
    })


def entry(request: Request):
    portal: Portal = request.app.state.portal
    code = request.path_params["code"]
    found = portal.client.get_entry(code)
    duplicates = portal.client.duplicates(found.resource_code) if not found.withdrawn else []
    return portal.page(request, "entry.html", {"entry": found, "duplicates": duplicates})


routes = [
    Route("/", home),
    Route("/search", search),
    Route("/entries/{code:path}", entry),
]
