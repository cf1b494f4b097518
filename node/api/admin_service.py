"""The Admin service: the operator's view of a node (Status), and at the hub pulls on demand
(SyncNow), digest checks (Verify) and the sharing scorecard."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from node import roles, wire
from node.api import readers as readers_mod
from node.api.status_codes import rpc
from node.catalog.governance import Governance
from node.config import Config
from node.errors import FailedPrecondition
from node.exchange.freshness import freshness
from node.exchange.mounts import Mounts
from node.hub import reports, verify
from node.hub.scheduler import PullScheduler
from node.metrics import Metrics
from node.model.calendar import CHINA
from node.model.lifecycle import escalation_bound
from node.model.sync import Cursor
from node.proto import admin_pb2, admin_pb2_grpc
from node.sharing.scorecard import Period, scorecard
from node.sharing.workflow import REFUSED_VERSION
from node.store import Store
from node.store.warming import Warming


class AdminServicer(admin_pb2_grpc.AdminServicer):
    """`scheduler` is the hub's pull schedule (None at other nodes); `clock` the node's deadline
    clock; `uptime` the seconds since the node started."""

    def __init__(self, config: Config, store: Store, scheduler: PullScheduler | None, metrics: Metrics | None,
                 clock: Callable[[], datetime], uptime: Callable[[], float], mounts: Mounts | None = None,
                 governance: Governance | None = None, warming: Callable[[], Warming] | None = None,
                 readers: Callable[[], readers_mod.Status] | None = None):
        self.config = config
        self.warming = warming  # where the cache warmer is (node/store/warming.py)
        self.readers = readers  # the reader processes' state (node/api/readers.py)
        self.mounts = mounts  # the node's mounted sources, for the scorecard's 挂接率 and 更新及时率
        self.store = store
        self.scheduler = scheduler
        self.metrics = metrics
        self.clock = clock
        self.uptime = uptime
        self.governance = governance  # duplicate collections and quality per department

    def _hub_scheduler(self) -> PullScheduler:
        if self.scheduler is None:
            title = roles.get(self.config.role).title
            raise FailedPrecondition("not_a_hub", f"node {self.config.node_id} is a {title}; only the national hub pulls")
        return self.scheduler

    @rpc
    def Status(self, request, context):
        config, store = self.config, self.store
        count, live = store.count_entries()
        reply = admin_pb2.NodeStatus(
            node_id=config.node_id, role=config.role, region_code=config.region_code,
            head=wire.cursor_to_proto(Cursor(store.epoch, store.head_seq())),
            entries=count, live_entries=live, uptime_seconds=self.uptime(), secure=config.tls is not None,
            name=config.name,
        )
        reply.audit_seq, reply.audit_hash = store.audit_head()
        reply.refused_versions = store.count_denied(REFUSED_VERSION)
        today = self.clock().astimezone(CHINA).date()
        _, reply.requests_overdue, reply.requests_escalated = store.count_requests(
            today.isoformat(), escalation_bound(config.calendar, today, config.lifecycle.escalation_days))
        if self.warming is not None:
            w = self.warming()
            reply.cache.CopyFrom(admin_pb2.CacheWarming(state=w.state, tables_done=w.tables_done, tables=w.tables,
                                                        mib_read=w.mib_read, seconds=round(w.seconds(), 1)))
        if self.readers is not None:
            r = self.readers()
            reply.readers.CopyFrom(admin_pb2.Readers(wanted=r.wanted, serving=r.serving,
                                                     waiting_for_size=r.waiting_for_size,
                                                     min_entries=r.min_entries, answered=r.answered))
        if self.scheduler is not None:
            reply.peers.extend(wire.peer_status_to_proto(s) for s in self.scheduler.peer_states())
            for peer, code, held_by, reason, at in store.conflicts():
                reply.conflicts.add(peer=peer, resource_code=code, held_by=held_by, reason=reason, at=at)
        return reply

    @rpc
    def SyncNow(self, request, context):
        scheduler = self._hub_scheduler()
        started, finished = scheduler.sync_now(request.peer, wait=request.wait, timeout=context.time_remaining())
        return admin_pb2.SyncNowResponse(started=started, finished=finished,
                                         peers=[wire.peer_status_to_proto(s) for s in scheduler.peer_states()])

    @rpc
    def Verify(self, request, context):
        scheduler = self._hub_scheduler()
        peers = [scheduler.channels.peer(request.peer)] if request.peer else list(scheduler.peers.values())
        # For cascade_peer_digest_equal: where the hub stood before the digests were taken.
        cursors = {p: (row.epoch, row.seq) for p, row in self.store.peers().items()} if self.metrics else {}
        verdicts = verify.verify(self.store, scheduler.channels, peers, self.config.sync.call_deadline)
        if self.metrics is not None:
            self.metrics.verified(verdicts, cursors)
        reply = admin_pb2.VerifyResponse()
        for verdict in verdicts:
            wire.verdict_to_proto(verdict, reply.peers.add())
        return reply

    @rpc
    def Scorecard(self, request, context):
        config, now = self.config, self.clock()
        period = Period.parse(request.from_date, request.to_date)
        kept = self.governance.by_department() if self.governance is not None else None
        sources = {}
        if self.mounts is not None:
            sources = freshness(self.mounts.all(), self.store.update_cycles(config.node_id), period.judged_at(now))
        reported, unreachable = [], []
        if self.scheduler is not None and not request.own:  # the hub: each peer's own figures too
            reported, unreachable = reports.gather(self.scheduler.channels, list(self.scheduler.peers.values()),
                                                   period)
        departments, nodes = scorecard(self.store, config.calendar, now, period, node_id=config.node_id,
                                       own=request.own, departments={d.code: d.name for d in config.departments},
                                       sources=sources, reported=reported,
                                       duplicates=kept.duplicates if kept else None,
                                       quality=kept.quality if kept else None)
        reply = admin_pb2.ScorecardResponse(from_date=request.from_date, to_date=request.to_date,
                                            unreachable=unreachable)
        for target, rows in ((reply.departments, departments), (reply.nodes, nodes)):
            for score in rows:
                wire.score_to_proto(score, target.add())
        return reply
