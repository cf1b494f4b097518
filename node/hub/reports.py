"""The hub's scorecard hears from every peer what never leaves it: each node reports, for a
period, its own figures (requests and exchanges between two of its departments, its mounted
sources and how fresh they are) in the Admin.Scorecard call the hub makes with `own` set, at the
moment a scorecard is asked for. A peer that does not answer is named, and its rows lack them."""

from __future__ import annotations

from concurrent import futures

import grpc

from node.config import Peer
from node.hub.channels import PeerChannels
from node.proto import admin_pb2, admin_pb2_grpc
from node.sharing.scorecard import COUNTS, Period, Score

MAX_AT_ONCE = 8
# Seconds a peer has to report: a scorecard is read by people and by the portal (10 s), so a
# peer that hangs is named as unreachable rather than holding the page.
REPORT_DEADLINE = 5.0


def _own_figures(channels: PeerChannels, peer: Peer, request: admin_pb2.ScorecardRequest,
                 deadline: float) -> list[Score]:
    reply = channels.stub(peer, admin_pb2_grpc.AdminStub).Scorecard(request, timeout=deadline)
    return [Score(**{name: getattr(row, name) for name in ("node_id", "department_code", "department_name", *COUNTS)})
            for row in reply.departments]


def gather(channels: PeerChannels, peers: list[Peer], period: Period,
           deadline: float = REPORT_DEADLINE) -> tuple[list[Score], list[str]]:
    """(every peer's own rows, the peers that did not answer)."""
    if not peers:
        return [], []
    request = admin_pb2.ScorecardRequest(from_date=period.first.isoformat() if period.first else "",
                                         to_date=period.last.isoformat() if period.last else "", own=True)
    rows, unreachable = [], []
    with futures.ThreadPoolExecutor(max_workers=min(MAX_AT_ONCE, len(peers)), thread_name_prefix="scorecard") as pool:
        asked = {pool.submit(_own_figures, channels, peer, request, deadline): peer for peer in peers}
        for done in futures.as_completed(asked):
            try:
                rows.extend(done.result())
            except grpc.RpcError:
                unreachable.append(asked[done].id)
    return rows, sorted(unreachable)
