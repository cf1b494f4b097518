"""The operations dashboard: every peer of the hub (state, lag, last successful pull, last
error, entries at hub and peer), kept live by server-sent events from one shared poller, and
the sharing scorecard with charts."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from portal import charts, labels, pages
from portal.app import ago, when
from portal.client import NodeRefused, NodeUnreachable

STREAM_SECONDS = 300  # an event stream ends after this; the browser reconnects (EventSource)


def peer_view(p, now: datetime) -> dict:
    last_ok = "" if p.seconds_since_success < 0 else when(now - timedelta(seconds=p.seconds_since_success), True)
    return {
        "node_id": p.node_id, "role": labels.ROLE.get(p.role, p.role), "state": p.state,
        "state_label": labels.PEER_STATE.get(p.state, p.state), "stale": p.state in ("failing", "never"),
        "behind": p.behind, "last_ok": last_ok, "last_ok_ago": ago(p.seconds_since_success),
        "last_error": p.last_error, "failures": p.failures, "backoff": round(p.backoff_seconds, 1),
        "entries_at_hub": p.entries_at_hub, "entries_at_peer": p.entries_at_peer, "pulling": p.pulling,
        "resyncs": p.resyncs, "conflicts": p.conflicts, "refused": p.refused,
        "deliveries_waiting": p.deliveries_waiting, "delivery_error": p.delivery_error,
    }


class StatusFeed:
    """The hub's Status, read at most once a second however many dashboards watch it."""

    def __init__(self, client, every: float = 1.0):
        self.client = client
        self.every = every
        self.latest: dict | None = None
        self._at = 0.0
        self._lock: asyncio.Lock | None = None
        self.stopped = False

    def read(self) -> dict:
        now = datetime.now(timezone.utc)
        view = {"at": when(now, True), "seq": time.monotonic_ns()}
        try:
            status = self.client.status()
        except (NodeUnreachable, NodeRefused) as exc:
            return {**view, "error": f"无法读取节点 {self.client.target} 的运行状态：{getattr(exc, 'detail', exc)}",
                    "peers": []}
        return {**view, "error": "", "node_id": status.node_id, "role": labels.ROLE.get(status.role, status.role),
                "live_entries": status.live_entries, "uptime": round(status.uptime_seconds),
                "peers": [peer_view(p, now) for p in status.peers],
                "stale": sum(p.state in ("failing", "never") for p in status.peers)}

    async def snapshot(self) -> dict:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.latest is None or time.monotonic() - self._at >= self.every:
                self.latest = await run_in_threadpool(self.read)
                self._at = time.monotonic()
        return self.latest

    def stop(self) -> None:
        self.stopped = True


async def dashboard(request: Request):
    portal = request.app.state.portal
    feed: StatusFeed = request.app.state.feed
    snapshot = await feed.snapshot()
    card, card_error = await run_in_threadpool(pages.scorecard(request).get)
    nodes = list(card.nodes) if card else []
    return portal.page(request, "dashboard.html", {
        "snap": snapshot, "card": card, "card_error": card_error, "nodes": nodes,
        "departments": sorted(card.departments, key=lambda r: (-r.requests_received, r.department_code))[:50] if card else [],
        "entries_chart": charts.share_mix(nodes), "answers_chart": charts.answered(nodes),
    })


async def status_json(request: Request):
    return JSONResponse(await request.app.state.feed.snapshot())


async def events(request: Request):
    feed: StatusFeed = request.app.state.feed

    async def stream():
        yield "retry: 3000\n\n"
        seen = None
        ends = time.monotonic() + STREAM_SECONDS
        while not feed.stopped and time.monotonic() < ends:
            if await request.is_disconnected():
                return
            snap = await feed.snapshot()
            if snap["seq"] != seen:
                seen = snap["seq"]
                yield f"event: status\ndata: {json.dumps(snap, ensure_ascii=False)}\n\n"
            await asyncio.sleep(feed.every)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


routes = [
    Route("/dashboard", dashboard),
    Route("/dashboard/status.json", status_json),
    Route("/dashboard/events", events),
]
