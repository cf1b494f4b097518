"""The catalog pages: the home page, search with facets and paging, one entry."""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.routing import Route

from node.catalog import regions
from node.proto import catalog_pb2
from portal import labels
from portal.client import NodeRefused, NodeUnreachable

PAGE_SIZE = 20
MAX_PAGE = 500  # 10,000 results: past that, a narrower query serves better than paging
MAX_QUERY = 200
DEPARTMENT = re.compile(r"^\d{9}$")
REGION = re.compile(r"^\d{6}$")
FACETS = ("region", "department", "share_type", "update_cycle", "category")


class Departments:
    """The departments that publish at the node (from its scorecard), refreshed in the background
    once a minute so that no page waits for it after the first."""

    def __init__(self, client, every: float = 60.0):
        self.client = client
        self.every = every
        self._rows: list[tuple[str, str]] = []
        self._at = 0.0
        self._lock = threading.Lock()
        self._refreshing = False

    def _refresh(self) -> None:
        try:
            card = self.client.scorecard()
            rows = sorted({(r.department_code, r.department_name or r.department_code)
                           for r in card.departments if r.department_code and r.entries > 0})
            with self._lock:
                self._rows, self._at = rows, time.monotonic()
        except (NodeUnreachable, NodeRefused):
            pass
        finally:
            self._refreshing = False

    def all(self) -> list[tuple[str, str]]:
        if not self._at:
            self._refresh()
        elif time.monotonic() - self._at > self.every and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._refresh, daemon=True).start()
        return self._rows

    def name(self, code: str) -> str:
        return dict(self.all()).get(code, code)


def _departments(request: Request) -> Departments:
    state = request.app.state
    if not hasattr(state, "departments"):
        state.departments = Departments(state.portal.client)
    return state.departments


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
    portal = request.app.state.portal
    return portal.page(request, "home.html", {"regions": labels.REGIONS})


def search(request: Request):
    portal = request.app.state.portal
    query = (request.query_params.get("q") or "").strip()[:MAX_QUERY]
    where, chosen, problems = search_filter(request.query_params)
    page = _page_number(request.query_params.get("page"))
    offset = (page - 1) * PAGE_SIZE
    if query:
        reply = portal.client.search(query, where, PAGE_SIZE, offset)
        entries, total = list(reply.entries), reply.total
    else:
        entries, total, _ = portal.cursors.page(where, offset, PAGE_SIZE, with_total=True)
    pages = max(1, min(MAX_PAGE, -(-total // PAGE_SIZE)))
    kept = {k: v for k, v in {"q": query, **chosen}.items() if v}

    def page_url(n: int) -> str:
        return "/search?" + urlencode({**kept, **({"page": n} if n > 1 else {})})

    departments = _departments(request).all()
    if chosen["region"]:
        prefix = regions.prefix(chosen["region"])
        departments = [d for d in departments if d[0].startswith(prefix)]
    window = range(max(1, page - 3), min(pages, page + 3) + 1)
    return portal.page(request, "search.html", {
        "query": query, "chosen": chosen, "problems": problems, "entries": entries, "total": total,
        "page": page, "pages": pages, "window": window, "page_url": page_url, "offset": offset,
        "departments": departments, "regions": labels.REGIONS,
    })


def entry(request: Request):
    portal = request.app.state.portal
    code = request.path_params["code"]
    found = portal.client.get_entry(code)
    return portal.page(request, "entry.html", {"entry": found})


routes = [
    Route("/search", search),
    Route("/entries/{code:path}", entry),
]
