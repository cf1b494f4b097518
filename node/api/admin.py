"""The Admin service: the operator's view of a node (Status), and at the hub pulls on demand
(SyncNow), digest checks (Verify) and the sharing scorecard."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from node.api import serde
from node.api.status import rpc
from node.errors import FailedPrecondition
from node.hub import verify
from node.hub.scheduler import PullScheduler
from node.proto import admin_pb2, admin_pb2_grpc, cascade_pb2
from node.sharing.scorecard import scorecard
from node.source.changes import Cursor

if TYPE_CHECKING:
    from node.server import Node


class AdminServicer(admin_pb2_grpc.AdminServicer):
    def __init__(self, node: "Node"):
        self.node = node

    def _scheduler(self) -> PullScheduler:
        if self.node.scheduler is None:
            raise FailedPrecondition("not_a_hub", f"node {self.node.config.node_id} is a {self.node.role.title}; "
                                                  "only the national hub pulls")
        return self.node.scheduler

    @rpc
    def Status(self, request, context):
        node, store = self.node, self.node.store
        count, live = store.count_entries()
        reply = admin_pb2.NodeStatus(
            node_id=node.config.node_id, role=node.config.role, region_code=node.config.region_code,
            head=serde.cursor_to_proto(Cursor(store.epoch, store.head_seq())),
            entries=count, live_entries=live, uptime_seconds=node.uptime(), secure=node.config.tls is not None,
        )
        reply.audit_seq, reply.audit_hash = store.audit_head()
        if node.scheduler is not None:
            reply.peers.extend(serde.peer_status_to_proto(s) for s in node.scheduler.peer_states())
            for peer, code, held_by, reason, at in store.conflicts():
                reply.conflicts.add(peer=peer, resource_code=code, held_by=held_by, reason=reason, at=at)
        return reply

    @rpc
    def SyncNow(self, request, context):
        scheduler = self._scheduler()
        started, finished = scheduler.sync_now(request.peer, wait=request.wait, timeout=context.time_remaining())
        return admin_pb2.SyncNowResponse(started=started, finished=finished,
                                         peers=[serde.peer_status_to_proto(s) for s in scheduler.peer_states()])

    @rpc
    def Verify(self, request, context):
        scheduler = self._scheduler()
        peers = [scheduler.channels.peer(request.peer)] if request.peer else list(scheduler.peers.values())
        reply = admin_pb2.VerifyResponse()
        metrics = self.node.metrics
        # For cascade_peer_digest_equal: where the hub stood before the digests were taken.
        cursors = {p: (row["epoch"], row["seq"]) for p, row in self.node.store.peers().items()} if metrics else {}
        verdicts = verify.verify(self.node.store, scheduler.channels, peers, self.node.config.sync.call_deadline)
        if metrics is not None:
            metrics.verified(verdicts, cursors)
        for verdict in verdicts:
            v = reply.peers.add(peer=verdict.peer, equal=verdict.equal, error=verdict.error)
            for field, digest in (("at_peer", verdict.at_peer), ("at_hub", verdict.at_hub)):
                if digest is not None:
                    getattr(v, field).CopyFrom(cascade_pb2.Digest(**dataclasses.asdict(digest)))
        return reply

    @rpc
    def Scorecard(self, request, context):
        departments, nodes = scorecard(self.node.store, self.node.config.calendar, self.node.sharing.clock())
        reply = admin_pb2.ScorecardResponse()
        for target, rows in ((reply.departments, departments), (reply.nodes, nodes)):
            for s in rows:
                target.add(node_id=s.node_id, department_code=s.department_code, department_name=s.department_name,
                           entries=s.entries, unconditional=s.unconditional, conditional=s.conditional,
                           not_shared=s.not_shared, requests_received=s.requests_received, answered=s.answered,
                           answered_in_time=s.answered_in_time, median_hours_to_answer=s.median_hours_to_answer,
                           overdue_now=s.overdue_now, requests_made=s.requests_made,
                           rows_provided=s.rows_provided, exchanges_provided=s.exchanges_provided,
                           rows_received=s.rows_received, exchanges_received=s.exchanges_received)
        return reply
