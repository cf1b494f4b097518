"""The hub's Status as the dashboard shows it: one poller, read at most once a second however
many dashboards watch it, each peer turned into what its row on the page says.

The dashboard is public, so it says *that* a peer's pull or delivery failed and how (the gRPC
status), never the error's text: that names peers' internal addresses and the node's inner
workings. Operators read the whole of it with `cascade status`."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import grpc
from starlette.concurrency import run_in_threadpool

from portal import labels
from portal.client import NodeClient, NodeRefused, NodeUnreachable
from portal.labels import ago, when


STATUS_NAMES = tuple(code.name for code in grpc.StatusCode if code.name != "OK")
CLI_ONLY = "（详情：cascade status）"


def public_problem(text: str) -> str:
    """What a public page may say of an error message: its gRPC status, if it names one."""
    if not text:
        return ""
    # The first status named is the failure's own; later ones are gRPC's account of its causes.
    found = sorted((text.find(name), name) for name in STATUS_NAMES if name in text)
    named = found[0][1] if found else ""
    return f"出错：{named}{CLI_ONLY}" if named else f"出错{CLI_ONLY}"


def peer_view(p, now: datetime) -> dict:
    last_ok = "" if p.seconds_since_success < 0 else when(now - timedelta(seconds=p.seconds_since_success), True)
    return {
        "node_id": p.node_id, "name": p.name or p.node_id, "role": labels.ROLE.get(p.role, p.role), "state": p.state,
        "state_label": labels.PEER_STATE.get(p.state, p.state), "stale": p.state in ("failing", "never"),
        "behind": p.behind, "last_ok": last_ok, "last_ok_ago": ago(p.seconds_since_success),
        "last_error": public_problem(p.last_error), "failures": p.failures, "backoff": round(p.backoff_seconds, 1),
        "entries_at_hub": p.entries_at_hub, "entries_at_peer": p.entries_at_peer, "pulling": p.pulling,
        "resyncs": p.resyncs, "conflicts": p.conflicts, "refused": p.refused,
        "deliveries_waiting": p.deliveries_waiting, "delivery_error": public_problem(p.delivery_error),
    }


class StatusFeed:
    """The hub's Status, read at most once a second however many dashboards watch it."""

    def __init__(self, client: NodeClient, every: float = 1.0):
        self.client = client
        self.every = every
        self.latest: dict | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()  # bound to the event loop that first waits on it
        self.stopped = False

    def read(self) -> dict:
        now = datetime.now(timezone.utc)
        view = {"at": when(now, True), "seq": time.monotonic_ns()}
        try:
            status = self.client.status()
        except (NodeUnreachable, NodeRefused) as exc:
            how = exc.code.name if isinstance(exc, NodeRefused) else "无法连接"
            return {**view, "error": f"无法读取节点的运行状态（{how}）。", "peers": []}
        return {**view, "error": "", "node_id": status.node_id, "node_name": status.name or f"节点 {status.node_id}", "role": labels.ROLE.get(status.role, status.role),
                "live_entries": status.live_entries, "uptime": round(status.uptime_seconds),
                "peers": [peer_view(p, now) for p in status.peers],
                "stale": sum(p.state in ("failing", "never") for p in status.peers),
                "overdue": status.requests_overdue, "escalated": status.requests_escalated}

    async def snapshot(self) -> dict:
        async with self._lock:
            if self.latest is None or time.monotonic() - self._at >= self.every:
                self.latest = await run_in_threadpool(self.read)
                self._at = time.monotonic()
        return self.latest

    def stop(self) -> None:
        self.stopped = True
