"""The hub's Status as the dashboard shows it: one poller, read at most once a second however
many dashboards watch it, each peer turned into what its row on the page says."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from starlette.concurrency import run_in_threadpool

from portal import labels
from portal.client import NodeClient, NodeRefused, NodeUnreachable
from portal.labels import ago, when


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
            return {**view, "error": f"无法读取节点 {self.client.target} 的运行状态：{getattr(exc, 'detail', exc)}",
                    "peers": []}
        return {**view, "error": "", "node_id": status.node_id, "role": labels.ROLE.get(status.role, status.role),
                "live_entries": status.live_entries, "uptime": round(status.uptime_seconds),
                "peers": [peer_view(p, now) for p in status.peers],
                "stale": sum(p.state in ("failing", "never") for p in status.peers)}

    async def snapshot(self) -> dict:
        async with self._lock:
            if self.latest is None or time.monotonic() - self._at >= self.every:
                self.latest = await run_in_threadpool(self.read)
                self._at = time.monotonic()
        return self.latest

    def stop(self) -> None:
        self.stopped = True
