"""The cascade's plain data: a cursor into a node's change log, the change-log row, the batches and
snapshot slices a peer serves, the hub's stored row of each peer and what an operator sees of it
(`PeerState`), and digest verdicts. node/wire.py turns them into messages and back."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, NamedTuple, Sequence

from node.model.request import Request


@dataclasses.dataclass(frozen=True)
class Cursor:
    epoch: str = ""
    seq: int = 0


class Change(tuple):
    """A change-log row: (seq, kind, key, version, op, at)."""

    __slots__ = ()
    seq = property(lambda self: self[0])
    kind = property(lambda self: self[1])
    key = property(lambda self: self[2])
    version = property(lambda self: self[3])
    op = property(lambda self: self[4])
    at = property(lambda self: self[5])


# A batch's or slice's entries are the stored rows (node/store/rows.py `StoredEntry`) at the peer,
# encoded as they are; the hub decodes them into `Entry`s (node/wire.py).
@dataclasses.dataclass(frozen=True)
class Batch:
    changes: list[Change]
    entries: Sequence[Any]
    next: Cursor
    head_seq: int
    last: bool = False
    live_entries: int = 0
    requests: list[Request] = dataclasses.field(default_factory=list)
    # Requests a reader could not decode, as (request_id, why): a peer's bad copy is refused
    # and recorded, never allowed to stop the rest of its stream.
    unreadable_requests: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # Correction versions (node/model/correction.py) the batch names, as requests are carried.
    corrections: list[Any] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Slice:
    entries: Sequence[Any]
    after_code: str
    range_end: str  # "" on the last slice: it covers every code after after_code
    done: bool
    cursor: Cursor


class PeerRow(NamedTuple):
    """The hub's row of one peer (table `peers`): its pull cursor, health and resync progress."""

    node_id: str
    epoch: str = ""
    seq: int = 0
    head_seq: int = 0
    last_success: str | None = None
    last_attempt: str | None = None
    last_error: str = ""
    failures: int = 0
    resync_epoch: str = ""
    resync_after: str | None = None  # set while a resync is unfinished: the last code applied
    resync_seq: int | None = None
    resyncs: int = 0
    entries_at_peer: int = -1

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.epoch, self.seq)

    @property
    def resyncing(self) -> bool:
        return self.resync_after is not None


PEER_COLUMNS = PeerRow._fields


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
    name: str = ""  # the peer's display name, from the hub's config


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


def state_word(row: PeerRow, failures: int, success: datetime | None, pulling: bool) -> str:
    if row.resyncing:
        return "resyncing"
    if pulling and failures == 0 and success is None:
        return "first-pull"
    if failures:
        return "failing"
    return "ok" if success else "never"
