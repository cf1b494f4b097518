"""The operations dashboard: every peer of the hub (state, lag, last successful pull, last
error, entries at hub and peer), kept live by server-sent events from one shared poller (status), and
the sharing scorecard with charts."""

from __future__ import annotations

import asyncio
import json
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from portal import charts
from portal.site import Portal

STREAM_SECONDS = 300  # an event stream ends after this; the browser reconnects (EventSource)


async def dashboard(request: Request):
    portal: Portal = request.app.state.portal
    snapshot = await portal.feed.snapshot()
    # The evaluation period (考核): ?from=YYYY-MM-DD&to=YYYY-MM-DD, either may be left out.
    first, last = (request.query_params.get(k, "").strip()[:10] for k in ("from", "to"))
    card, card_error = await run_in_threadpool(portal.scorecard.for_period, first, last)
    nodes = list(card.nodes) if card else []
    name = portal.templates.env.filters["node"]  # 河北省政务数据平台 for hebei (portal/overview.py)
    return portal.page(request, "dashboard.html", {
        "snap": snapshot, "card": card, "card_error": card_error, "nodes": nodes, "first": first, "last": last,
        "departments": sorted(card.departments, key=lambda r: (-r.requests_received, r.department_code))[:50] if card else [],
        "entries_chart": charts.share_mix(nodes, name), "answers_chart": charts.answered(nodes, name),
    })


async def status_json(request: Request):
    return JSONResponse(await request.app.state.portal.feed.snapshot())


async def events(request: Request):
    feed = request.app.state.portal.feed

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
