"""The Admin service: the operator's view of a node (Status), and at the hub pulls on demand
(SyncNow), digest checks (Verify) and the sharing scorecard."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from node import roles, wire
from node.api.status_codes import rpc
from node.config import Config
from node.errors import FailedPrecondition
from node.hub import verify
from node.hub.scheduler import PullScheduler
from node.metrics import Metrics
from node.model.calendar import CHINA
from node.model.lifecycle import escalation_bound
from node.model.sync import Cursor
from node.proto import admin_pb2, admin_pb2_grpc
from node.sharing.scorecard import scorecard
from node.sharing.workflow import REFUSED_VERSION
from node.store import Store


class AdminServicer(admin_pb2_grpc.AdminServicer):
    """`scheduler` is the hub's pull schedule (None at other nodes); `clock` the node's deadline
    clock; `uptime` the seconds since the node started."""

    def __init__(self, config: Config, store: Store, scheduler: PullScheduler | None, metrics: Metrics | None,
                 clock: Callable[[], datetime], uptime: Callable[[], float]):
        self.config = config
        self.store = store
        self.scheduler = scheduler
        self.metrics = metrics
        self.clock = clock
        self.uptime = uptime

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
        )
        reply.audit_seq, reply.audit_hash = store.audit_head()
        reply.refused_versions = store.count_denied(REFUSED_VERSION)
        today = self.clock().astimezone(CHINA).date()
        _, reply.requests_overdue, reply.requests_escalated = store.count_requests(
            today.isoformat(), escalation_bound(config.calendar, today, config.lifecycle.escalation_days))
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
        departments, nodes = scorecard(self.store, self.config.calendar, self.clock())
        reply = admin_pb2.ScorecardResponse()
        for target, rows in ((reply.departments, departments), (reply.nodes, nodes)):
            for score in rows:
                wire.score_to_proto(score, target.add())
        return reply
