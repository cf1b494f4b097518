"""A sharing request (供需对接) as every node holds it: its states, its history, the merge rule
that makes every copy agree, and what the owner's node answers on arrival.

A request's copies live at the consumer's node, the owner's node and the hub. Each state
change bumps its version at the node that makes it; a copy is replaced only by a newer one
(`newer`): a higher version, or at the same version a later state in the precedence
submitted < pending < withdrawn < granted < rejected. Every node applies the same rule, so
once every version has travelled, every copy is the same.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from node.model.rules import Entry
from node.model.calendar import CHINA, Calendar

STATES = ("submitted", "pending", "granted", "rejected", "withdrawn")
PRECEDENCE = {"submitted": 0, "pending": 1, "withdrawn": 2, "granted": 3, "rejected": 4}
OPEN = ("submitted", "pending")


@dataclasses.dataclass(slots=True)
class Event:
    version: int
    state: str
    actor: str
    at: datetime
    note: str = ""


@dataclasses.dataclass(slots=True)
class Request:
    request_id: str
    consumer_code: str
    consumer_node: str
    resource_code: str
    owner_code: str
    owner_node: str
    purpose: str
    basis: str
    data_items: tuple[str, ...]
    share_type: str
    state: str
    reason: str
    version: int
    created_at: datetime
    updated_at: datetime
    deadline: str = ""
    history: tuple[Event, ...] = ()
    # The scope of a grant (the owner's decision may narrow it): only rows whose filter_column
    # starts with filter_prefix, and only up to valid_until (YYYY-MM-DD, Beijing, inclusive).
    filter_column: str = ""
    filter_prefix: str = ""
    valid_until: str = ""

    def advanced(self, state: str, actor: str, at: datetime, reason: str = "", deadline: str | None = None) -> "Request":
        """The next version of this request in `state`, with the transition in its history."""
        return dataclasses.replace(
            self, state=state, reason=reason or self.reason, version=self.version + 1, updated_at=at,
            deadline=self.deadline if deadline is None else deadline,
            history=self.history + (Event(self.version + 1, state, actor, at, reason),),
        )

    def expired(self, now: datetime) -> bool:
        """Whether the grant's validity has ended (never, without valid_until)."""
        return bool(self.valid_until) and now.astimezone(CHINA).date() > date.fromisoformat(self.valid_until)

    def overdue(self, now: datetime) -> bool:
        """Whether the owner's answer is past its deadline (a pending request only)."""
        return self.state == "pending" and bool(self.deadline) and (
            now.astimezone(CHINA).date() > date.fromisoformat(self.deadline))

    def decided_at(self) -> datetime | None:
        for event in reversed(self.history):
            if event.state in ("granted", "rejected"):
                return event.at
        return None


def newer(incoming: Request, current: Request | None) -> bool:
    """Whether `incoming` replaces `current`: the rule every node applies, so copies converge."""
    if current is None:
        return True
    return (incoming.version, PRECEDENCE[incoming.state], incoming.reason) > (
        current.version, PRECEDENCE[current.state], current.reason)


def recipients(request: Request, here: str, source: str) -> set[str]:
    """The nodes a relaying node (the hub) must still pass this version to: the consumer's and the
    owner's, less itself and the node the version came from."""
    return {request.consumer_node, request.owner_node} - {here, source, ""}


def arrive(request: Request, entry: Entry | None, node_id: str, calendar: Calendar, now: datetime) -> Request:
    """What the owner's node does when a request reaches it: the entry's sharing type decides."""
    if entry is None:
        return request.advanced("rejected", node_id, now, f"no catalog entry {request.resource_code}")
    if entry.withdrawn:
        return request.advanced("rejected", node_id, now, f"entry {request.resource_code} was withdrawn")
    if entry.share_type == "unconditional":
        return request.advanced("granted", node_id, now, "unconditional sharing: granted on arrival")
    if entry.share_type == "not_shared":
        return request.advanced("rejected", node_id, now, f"not shared: {entry.not_shared_basis}")
    return request.advanced("pending", node_id, now, f"conditional: {entry.share_condition}",
                            deadline=calendar.deadline(now).isoformat())
