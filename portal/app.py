"""The portal's web application: Starlette routes over one NodeClient, Jinja2 pages, sessions
kept on the server (the cookie holds only a random id: portal/sessions.py), and one place that turns a node's silence or
refusal into a page (or, under /api/, a CKAN error) instead of a stack trace."""

from __future__ import annotations

import contextlib
import logging
import pathlib

import grpc
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from portal import dashboard, opendata, pages, sharing
from portal.client import NodeClient, NodeRefused, NodeUnreachable
from portal.sessions import IDLE_SECONDS, MAX_SECONDS, ServerSessions, SessionStore
from portal.site import Portal

HERE = pathlib.Path(__file__).resolve().parent
log = logging.getLogger("portal")


# -- errors as pages -------------------------------------------------------------------------

_REFUSAL_STATUS = {
    grpc.StatusCode.NOT_FOUND: (404, "未找到"),
    grpc.StatusCode.INVALID_ARGUMENT: (400, "请求有误"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "无权操作"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "身份无效"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (503, "节点繁忙，请稍后再试"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "暂时无法完成"),
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


# What the pages say of a node's silence or refusal is for anyone: the node's name and the
# status, never gRPC's detail of an unreachable node (it names addresses) nor the text of an
# error the node did not mean for its callers (INTERNAL, UNKNOWN...). The log keeps it all.

async def unreachable(request: Request, exc: NodeUnreachable) -> Response:
    log.warning("node unreachable: %s", exc)
    node = request.app.state.portal.client.name_of(exc.node)
    if _is_api(request):
        return JSONResponse({"success": False, "error": {"__type": "Service Unavailable",
                                                         "message": f"node {node} is unreachable"}}, 503)
    portal: Portal = request.app.state.portal
    return portal.page(request, "error.html", {"heading": "无法连接节点", "node": node,
                                               "message": f"门户暂时无法连接节点 {node}，请稍后刷新重试。"},
                       status_code=503)


async def refused(request: Request, exc: NodeRefused) -> Response:
    status, heading = _REFUSAL_STATUS.get(exc.code, (502, "节点返回错误"))
    node = request.app.state.portal.client.name_of(exc.node)
    message = exc.detail if exc.code in _REFUSAL_STATUS else f"节点 {node} 未能完成请求（{exc.code.name}）。"
    if status == 502:
        log.warning("node refused: %s", exc)
    if _is_api(request):
        kind = "Not Found Error" if status == 404 else "Validation Error" if status == 400 else "Error"
        return JSONResponse({"success": False, "error": {"__type": kind, "message": message}}, status)
    portal: Portal = request.app.state.portal
    return portal.page(request, "error.html", {"heading": heading, "node": node, "message": message,
                                               "detail": exc.code.name}, status_code=status)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("portal error on %s", request.url.path)
    if _is_api(request):
        return JSONResponse({"success": False, "error": {"__type": "Internal Error", "message": "internal error"}}, 500)
    portal: Portal = request.app.state.portal
    return portal.page(request, "error.html", {"heading": "门户内部错误", "message": "页面暂时无法显示，请稍后重试。"},
                       status_code=500)


async def not_found(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"success": False, "error": {"__type": "Not Found Error", "message": "Not found"}}, 404)
    portal: Portal = request.app.state.portal
    return portal.page(request, "error.html", {"heading": "页面不存在", "message": f"没有 {request.url.path} 这个页面。"},
                       status_code=404)


class SecurityHeaders:
    """Every response says: only this origin's scripts, styles and images; no framing; no sniffing."""

    HEADERS = [
        (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                     b"script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + self.HEADERS)
            await send(message)

        await self.app(scope, receive, sending)


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette):
    yield
    app.state.portal.close()


def create_app(client: NodeClient, *, title: str = "", public_url: str = "", https_only: bool = False,
               session_idle_seconds: float = IDLE_SECONDS, session_max_seconds: float = MAX_SECONDS,
               sessions: SessionStore | None = None) -> Starlette:
    """The portal over `client`. A session ends after `session_idle_seconds` without a request,
    `session_max_seconds` after sign-in, or at sign-out; sessions live in this process (a restart
    signs everybody out). `https_only`: the portal is served over HTTPS, so the cookie is Secure.
    Every part the views share is made here, before the first request (`Portal.over`)."""
    if sessions is None:
        sessions = SessionStore(idle_seconds=session_idle_seconds, max_seconds=session_max_seconds)
    routes = [
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/healthz", lambda request: Response("ok", media_type="text/plain")),
        *pages.routes, *sharing.routes, *dashboard.routes, *opendata.routes,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(ServerSessions, store=sessions, https_only=https_only, same_site="lax"),
        ],
        exception_handlers={NodeUnreachable: unreachable, NodeRefused: refused, 404: not_found, 500: server_error},
        lifespan=_lifespan,
        max_body_size=1024 * 1024,
    )
    app.state.portal = Portal.over(client, title, public_url)
    app.state.sessions = sessions
    return app
