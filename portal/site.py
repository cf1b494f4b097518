"""What every view of the portal shares, built once when the app is made: the client, where
listing pages begin, the templates, the node's scorecard and status, the open catalog, the
site's name; and the redirect after a form."""

from __future__ import annotations

import dataclasses
import pathlib

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from portal import labels
from portal.client import NodeClient
from portal.open_catalog import OpenCatalog
from portal.overview import Overview
from portal.paging import ListingCursors
from portal.facets import FacetCounts
from portal.scorecard import Departments, Scorecard
from portal.status import StatusFeed

HERE = pathlib.Path(__file__).resolve().parent
TITLE = "国家政务数据目录门户"


@dataclasses.dataclass
class Portal:
    """The portal's parts: every view reads them from `request.app.state.portal`."""

    client: NodeClient
    cursors: ListingCursors
    templates: Jinja2Templates
    scorecard: Scorecard
    departments: Departments
    feed: StatusFeed
    open_catalog: OpenCatalog
    overview: Overview
    facets: FacetCounts = dataclasses.field(default_factory=FacetCounts)
    title: str = TITLE
    public_url: str = ""  # the URL the open-data API names itself by ("" = the address the portal listens on)

    @classmethod
    def over(cls, client: NodeClient, title: str = "", public_url: str = "") -> Portal:
        """Every part over `client`, each made once."""
        title = title or TITLE
        cursors = ListingCursors(client)
        scorecard = Scorecard(client)
        departments = Departments(scorecard)
        overview = Overview(client, scorecard)
        templates = make_templates()
        templates.env.filters["node"] = overview.node_name  # 河北省政务数据平台 for hebei, on every page
        templates.env.filters["department"] = lambda code: (  # 河北省公安厅（130000001）, or the code alone
            f"{departments.name(code)}（{code}）" if departments.name(code) != code else code)
        return cls(client=client, cursors=cursors, templates=templates, scorecard=scorecard,
                   departments=departments, feed=StatusFeed(client),
                   open_catalog=OpenCatalog(client, cursors, departments, title), overview=overview, title=title,
                   public_url=public_url.rstrip("/"))

    def base_url(self, request: Request) -> str:
        """The portal's absolute URL: `--public-url`, else the address it was reached on as the
        server knows it (its socket), never the Host header, which any client may write."""
        if self.public_url:
            return self.public_url
        host, port = request.scope.get("server") or ("localhost", None)
        scheme = request.scope.get("scheme", "http")
        default = {"http": 80, "https": 443}.get(scheme)
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")

    def page(self, request: Request, name: str, context: dict | None = None, status_code: int = 200) -> Response:
        context = dict(context or {})
        context.setdefault("session", request.session)
        context.setdefault("site_title", self.title)
        return self.templates.TemplateResponse(request, name, context, status_code=status_code)

    def close(self) -> None:
        self.feed.stop()
        self.client.close()


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "xml"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=labels.when, ago=labels.ago, region=labels.region_name)
    env.globals.update(labels=labels)
    return Jinja2Templates(env=env)


def redirect(url: str) -> RedirectResponse:
    """After a form: see the page at `url` (303, so that a reload does not post again)."""
    return RedirectResponse(url, status_code=303)
