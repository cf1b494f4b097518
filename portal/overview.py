"""What the home page tells a visitor at a glance, and the nodes' Chinese names every page uses:
the nation's counts (entries by sharing type, departments, nodes), entries per region, the
entries most recently updated and the most requested, read from the hub and kept for 30 s so
that the home page costs no call of its own most of the time."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from datetime import datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp

from node.model.regions import CENTRAL
from node.proto import catalog_pb2
from portal import labels
from portal.client import NodeClient, NodeRefused, NodeUnreachable
from portal.scorecard import Scorecard

RECENT_DAYS = 30
RECENT_WINDOW = 1000  # entries updated lately read to find the newest: one page, whatever the catalog's size
REQUESTS_READ = 1000  # the hub's newest requests counted for "most requested"
SHOWN = 6


@dataclasses.dataclass(frozen=True)
class Summary:
    entries: int = 0
    by_share_type: dict = dataclasses.field(default_factory=dict)
    departments: int = 0
    nodes: int = 0
    by_region: list = dataclasses.field(default_factory=list)  # (code, name, entries), most first
    recent: list = dataclasses.field(default_factory=list)  # Entry messages, newest first
    requested: list = dataclasses.field(default_factory=list)  # (resource_code, name, provider, count)
    error: str = ""


class Overview:
    """The home page's summary and the node names, refreshed at most every `every` seconds."""

    def __init__(self, client: NodeClient, scorecard: Scorecard, every: float = 30.0):
        self.client, self.scorecard, self.every = client, scorecard, every
        self._summary: Summary | None = None
        self._names: dict[str, str] = {}
        self._at = -every
        self._lock = threading.Lock()

    def node_name(self, node_id: str) -> str:
        """河北省政务数据平台 for `hebei` (the node's `name` in its config, carried by Status); the id
        when the node has no name or the hub cannot be read."""
        if not self._names:
            self.summary()
        return self._names.get(node_id) or node_id

    def summary(self) -> Summary:
        with self._lock:
            if self._summary is None or time.monotonic() - self._at > self.every:
                self._summary, self._at = self._read(), time.monotonic()
            return self._summary

    def _read(self) -> Summary:
        try:
            status = self.client.status()
        except (NodeUnreachable, NodeRefused):
            return Summary(error="暂时无法读取目录概况，请稍后刷新。")
        self._names = {status.node_id: status.name, **{p.node_id: p.name for p in status.peers if p.name}}
        card, _ = self.scorecard.get()
        by_type = collections.Counter()
        per_region = collections.Counter()
        departments = 0
        for row in card.departments if card is not None else ():
            if not row.department_code:
                continue
            departments += row.entries > 0
            per_region[_province(row.department_code)] += row.entries
            by_type.update(unconditional=row.unconditional, conditional=row.conditional, not_shared=row.not_shared)
        regions = [(code, labels.REGIONS.get(code, code), n) for code, n in per_region.most_common() if n]
        return Summary(entries=status.live_entries, by_share_type={k: by_type[k] for k in labels.SHARE_TYPE},
                       departments=departments, nodes=1 + len(status.peers), by_region=regions,
                       recent=self._recent(), requested=self._requested())

    def _recent(self) -> list:
        since = Timestamp()
        since.FromDatetime(datetime.now(timezone.utc) - timedelta(days=RECENT_DAYS))
        try:
            page = self.client.list_entries(catalog_pb2.EntryFilter(updated_since=since), RECENT_WINDOW)
        except (NodeUnreachable, NodeRefused):
            return []
        newest = sorted(page.entries, key=lambda e: (e.updated_at.seconds, e.resource_code), reverse=True)
        shown, per_department = [], collections.Counter()
        for entry in newest:  # one busy department does not fill the list: at most two of each
            if per_department[entry.provider_code] < 2:
                shown.append(entry)
                per_department[entry.provider_code] += 1
            if len(shown) == SHOWN:
                break
        return shown

    def _requested(self) -> list:
        try:
            requests = self.client.requests_at_target(REQUESTS_READ)
        except (NodeUnreachable, NodeRefused):
            return []
        counted = collections.Counter(r.resource_code for r in requests)
        found = []
        for code, count in counted.most_common(SHOWN):
            try:
                entry = self.client.get_entry(code)
            except (NodeUnreachable, NodeRefused):
                continue
            found.append((code, entry.name, entry.provider_name, count))
        return found


def _province(department_code: str) -> str:
    """The province a department belongs to (its code's first two digits); the centre for ministries."""
    code = department_code[:2] + "0000"
    return code if code in labels.REGIONS else CENTRAL
