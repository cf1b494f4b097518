"""What an operator sees of the hub's peers: each peer's state, and digest verdicts. Declared
once here; node/api/serde.py turns them into the Admin service's messages."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import grpc

from node.source.changes import Cursor


@dataclasses.dataclass(frozen=True)
class PeerState:
    """One peer as the hub sees it (Admin.Status, `cascade status`)."""

    node_id: str
    role: str
    address: str
    cursor: Cursor
    head_seq: int
    behind: int
    seconds_since_success: float
    last_error: str
    failures: int
    backoff_seconds: float
    next_pull_in: float
    entries_at_hub: int
    entries_at_peer: int
    conflicts: int
    refused: int
    pulling: bool
    state: str
    resyncs: int
    pulling_seconds: float = 0.0
    overdue_seconds: float = 0.0  # how far the pull under way has run past its deadline
    deliveries_waiting: int = 0
    delivery_error: str = ""


@dataclasses.dataclass(frozen=True)
class Digest:
    count: int
    hash: str
    epoch: str = ""
    seq: int = 0


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether the hub's copy of a peer's entries equals the peer's own (by digest)."""

    peer: str
    equal: bool
    at_peer: Digest | None = None
    at_hub: Digest | None = None
    error: str = ""


def state_word(row: dict, failures: int, success: datetime | None, pulling: bool) -> str:
    if row.get("resync_after") is not None:
        return "resyncing"
    if pulling and failures == 0 and success is None:
        return "first-pull"
    if failures:
        return "failing"
    return "ok" if success else "never"


def describe(exc: Exception) -> str:
    """One line for an operator: the gRPC status and details, or the exception."""
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"
