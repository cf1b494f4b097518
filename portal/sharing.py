"""Sharing requests in the portal: a department signs in with its code and token (checked by
one call at its own node), files requests, follows them, and answers those for its resources.
Every call goes to the department's own node with its token, which the portal keeps in the
server-side session (portal/sessions.py), never in the browser."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timezone
from urllib.parse import urlencode

import grpc
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from node.model.calendar import CHINA
from portal.client import NodeRefused, NodeUnreachable
from portal.site import redirect

DEPARTMENT = re.compile(r"^\d{9}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
MAX_TEXT = 1000


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(request: Request, form) -> bool:
    expected = request.session.get("csrf", "")
    return bool(expected) and hmac.compare_digest(expected, str(form.get("csrf", "")))


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message


def signed_in(request: Request) -> dict | None:
    s = request.session
    if s.get("dept") and s.get("node"):
        return {"dept": s["dept"], "node": s["node"], "token": s.get("token", "")}
    return None


def _safe_next(url: str) -> str:
    return url if url.startswith("/") and not url.startswith("//") else "/requests"


def _signin_page(request: Request, error: str = "", status: int = 200, form: dict | None = None):
    portal = request.app.state.portal
    try:
        nodes = sorted(portal.client.node_addresses())
    except (NodeUnreachable, NodeRefused):
        nodes = []
    return portal.page(request, "signin.html", {
        "error": error, "nodes": nodes, "form": form or {}, "csrf": csrf_token(request),
        "next": _safe_next(request.query_params.get("next") or (form or {}).get("next", "")),
        "enabled": portal.client.identities.can_sign_in,
    }, status_code=status)


def signin(request: Request):
    return _signin_page(request)


def _verify(client, node: str, dept: str, token: str) -> str:
    """The node the department belongs to, once its token has been accepted there; else raises
    ValueError with what to tell the person signing in."""
    if not node:
        node = client.department_node(dept)
        if not node:
            raise ValueError("无法从目录判断该部门所在的节点，请选择节点。")
    try:
        client.list_requests(node, token, consumer=dept, page_size=1)
    except NodeRefused as exc:
        if exc.code == grpc.StatusCode.UNAUTHENTICATED:
            raise ValueError(f"令牌无效、已过期或已被吊销（节点 {node}）。") from None
        if exc.code == grpc.StatusCode.PERMISSION_DENIED:
            raise ValueError(f"该令牌不属于部门 {dept}，或没有读取（read）权限（节点 {node}）。") from None
        raise ValueError(f"节点 {node} 拒绝了登录（{exc.code.name}）。") from None
    except NodeUnreachable:
        raise ValueError(f"无法连接节点 {node}，请稍后再试。") from None
    return node


async def signin_post(request: Request):
    form = await request.form()
    values = {k: str(form.get(k, "")).strip() for k in ("node", "department", "next")}
    if not csrf_ok(request, form):
        return _signin_page(request, "页面已过期，请重新提交。", 400, values)
    token = str(form.get("token", "")).strip()
    if not DEPARTMENT.match(values["department"]):
        return _signin_page(request, "部门代码应为 9 位数字。", 400, values)
    if not token:
        return _signin_page(request, "请输入部门令牌。", 400, values)
    client = request.app.state.portal.client
    if not client.identities.can_sign_in:
        return _signin_page(request, "本门户未配置部门登录所需的客户端证书。", 503, values)
    try:
        node = await run_in_threadpool(_verify, client, values["node"], values["department"], token)
    except ValueError as exc:
        return _signin_page(request, str(exc), 401, values)
    except NodeUnreachable as exc:
        return _signin_page(request, f"无法连接节点 {exc.node}，请稍后再试。", 503, values)
    request.session.clear()
    request.session.renew()  # a new id: one planted before sign-in opens nothing after it
    request.session.update(dept=values["department"], node=node, token=token, csrf=secrets.token_urlsafe(24))
    flash(request, f"已登录：部门 {values['department']}（节点 {node}）")
    return redirect(_safe_next(values["next"]))


async def signout(request: Request):
    form = await request.form()
    if csrf_ok(request, form):
        request.session.clear()  # the session is deleted on the server: its cookie opens nothing any more
    return redirect("/")


def _need_signin(request: Request):
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect("/signin?" + urlencode({"next": here}))


def _page(request: Request, name: str, context: dict, status: int = 200):
    portal = request.app.state.portal
    context = {"csrf": csrf_token(request), "flash": request.session.pop("flash", ""), **context}
    return portal.page(request, name, context, status_code=status)


def mine(request: Request):
    who = signed_in(request)
    if who is None:
        return _need_signin(request)
    client = request.app.state.portal.client
    token = request.query_params.get("page_token", "")
    reply = client.list_requests(who["node"], who["token"], consumer=who["dept"], page_size=50, page_token=token)
    return _page(request, "requests.html", {"requests": reply.requests, "next_token": reply.next_page_token,
                                            "who": who})


def inbox(request: Request):
    who = signed_in(request)
    if who is None:
        return _need_signin(request)
    client = request.app.state.portal.client
    state = request.query_params.get("state", "pending")
    state = state if state in ("pending", "granted", "rejected", "withdrawn", "all") else "pending"
    reply = client.list_requests(who["node"], who["token"], owner=who["dept"], state="" if state == "all" else state,
                                 page_size=50, page_token=request.query_params.get("page_token", ""))
    corrections = []
    if state in ("pending", "all"):  # beside the requests waiting: the corrections waiting (校核纠错)
        try:
            corrections = client.list_corrections(who["node"], who["token"], owner=who["dept"],
                                                  state="open" if state == "pending" else "").corrections
        except NodeRefused:
            corrections = []  # a node from before corrections: it has none to show
    return _page(request, "inbox.html", {"requests": reply.requests, "next_token": reply.next_page_token,
                                         "who": who, "state": state, "corrections": corrections})


AUTHORITY_INBOXES = {"review": "待符合性审查", "coordinate": "待协调异议", "escalated": "督办"}


def authority(request: Request):
    """The data authority's inboxes (docs/sharing.md): requests its node's departments filed that
    wait for its review, objections it coordinates, and late answers and coordinations escalated
    to it. Another department signed in gets the node's refusal, which names the data authority."""
    who = signed_in(request)
    if who is None:
        return _need_signin(request)
    inbox = request.query_params.get("inbox", "review")
    inbox = inbox if inbox in AUTHORITY_INBOXES else "review"
    reply = request.app.state.portal.client.list_requests(
        who["node"], who["token"], authority=who["dept"], inbox=inbox, page_size=50,
        page_token=request.query_params.get("page_token", ""))
    return _page(request, "authority.html", {"requests": reply.requests, "next_token": reply.next_page_token,
                                             "who": who, "inbox": inbox, "inboxes": AUTHORITY_INBOXES})


def detail(request: Request):
    who = signed_in(request)
    if who is None:
        return _need_signin(request)
    request_id = request.path_params["request_id"]
    if not REQUEST_ID.match(request_id):
        return _page(request, "error.html", {"heading": "请求有误", "message": "申请编号格式不正确。"}, 400)
    client = request.app.state.portal.client
    found = client.get_request(who["node"], who["token"], request_id)
    used = None
    if found.state == "granted":
        try:
            used = used_today(client.list_calls(who["node"], who["token"], request_id, who["dept"]).counts,
                              datetime.now(CHINA))
        except (NodeRefused, NodeUnreachable):
            used = None  # the page still shows the grant; only the count is missing
    return _page(request, "request.html", {"item": found, "who": who, "used": used})


def used_today(counts, now: datetime) -> int:
    """Keys asked by query and verify calls that were answered, in this node's own part of the
    path, during the Beijing day of `now` (a daily quota's day). The node counts per hour of its
    own clock (UTC). Where the owner's part is at this node too (consumer and owner departments
    of one node), its count alone: the quota is charged there, and each call is counted in both parts."""
    day = now.astimezone(CHINA).date()
    part = "owner" if any(c.role == "owner" for c in counts) else "consumer"
    used = 0
    for c in counts:
        hour = datetime.strptime(c.hour, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
        if hour.astimezone(CHINA).date() == day and c.role == part:
            used += c.keys
    return used


def _new_page(request: Request, resource: str, error: str = "", status: int = 200, form: dict | None = None):
    entry = request.app.state.portal.client.get_entry(resource)
    return _page(request, "request_new.html", {"entry": entry, "error": error, "form": form or {},
                                               "who": signed_in(request)}, status)


def new(request: Request):
    if signed_in(request) is None:
        return _need_signin(request)
    return _new_page(request, request.query_params.get("resource", ""))


async def new_post(request: Request):
    who = signed_in(request)
    if who is None:
        return _need_signin(request)
    form = await request.form()
    resource = str(form.get("resource", ""))
    values = {"purpose": str(form.get("purpose", "")).strip()[:MAX_TEXT],
              "basis": str(form.get("basis", "")).strip()[:MAX_TEXT], "items": [str(i) for i in form.getlist("item")]}
    if not csrf_ok(request, form):
        return await run_in_threadpool(_new_page, request, resource, "页面已过期，请重新提交。", 400, values)
    problem = ("请至少选择一个数据项。" if not values["items"] else "请填写用途。" if not values["purpose"]
               else "请填写依据。" if not values["basis"] else "")
    if problem:
        return await run_in_threadpool(_new_page, request, resource, problem, 400, values)
    client = request.app.state.portal.client
    try:
        filed = await run_in_threadpool(client.submit_request, who["node"], who["token"], who["dept"], resource,
                                        values["purpose"], values["basis"], values["items"])
    except NodeRefused as exc:
        if exc.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND):
            return await run_in_threadpool(_new_page, request, resource, f"节点未接受该申请：{exc.detail}", 400, values)
        raise
    flash(request, f"申请已提交，编号 {filed.request_id}。")
    return redirect(f"/requests/{filed.request_id}")


async def decide(request: Request):
    who = signed_in(request)
    if who is None:
        return _need_signin(request)
    request_id = request.path_params["request_id"]
    form = await request.form()
    if not csrf_ok(request, form) or not REQUEST_ID.match(request_id):
        flash(request, "页面已过期，请重新操作。")
        return redirect("/requests/inbox")
    approve = form.get("decision") == "approve"
    reason = str(form.get("reason", "")).strip()[:MAX_TEXT]
    if not approve and not reason:
        flash(request, "拒绝申请时必须填写理由。")
        return redirect(f"/requests/{request_id}")
    client = request.app.state.portal.client
    try:
        await run_in_threadpool(client.decide_request, who["node"], who["token"], request_id, who["dept"], approve,
                                reason or "同意")
    except NodeRefused as exc:
        if exc.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED,
                        grpc.StatusCode.FAILED_PRECONDITION):
            flash(request, f"节点未接受该决定：{exc.detail}")
            return redirect(f"/requests/{request_id}")
        raise
    flash(request, f"已{'同意' if approve else '拒绝'}申请 {request_id}。")
    return redirect("/requests/inbox")


routes = [
    Route("/signin", signin, methods=["GET"]),
    Route("/signin", signin_post, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    Route("/requests", mine),
    Route("/requests/inbox", inbox),
    Route("/requests/authority", authority),
    Route("/requests/new", new, methods=["GET"]),
    Route("/requests/new", new_post, methods=["POST"]),
    Route("/requests/{request_id}", detail),
    Route("/requests/{request_id}/decide", decide, methods=["POST"]),
]
