"""The sharing scorecard at the hub: per department and per node, what it publishes and how it
answers requests (the evaluation the field uses to push sharing)."""

from __future__ import annotations

import dataclasses
import statistics
from datetime import date, datetime

from node.model.calendar import CHINA, Calendar
from node.model.request import Request


@dataclasses.dataclass
class Score:
    node_id: str
    department_code: str = ""
    department_name: str = ""
    entries: int = 0
    unconditional: int = 0
    conditional: int = 0
    not_shared: int = 0
    requests_received: int = 0
    answered: int = 0
    answered_in_time: int = 0
    overdue_now: int = 0
    requests_made: int = 0
    # The data exchange as the hub recorded it: rows delivered, fetches completed.
    rows_provided: int = 0
    exchanges_provided: int = 0
    rows_received: int = 0
    exchanges_received: int = 0
    hours: list[float] = dataclasses.field(default_factory=list)

    @property
    def median_hours_to_answer(self) -> float:
        return statistics.median(self.hours) if self.hours else -1.0

    def add(self, other: "Score") -> None:
        for field in ("entries", "unconditional", "conditional", "not_shared", "requests_received", "answered",
                      "answered_in_time", "overdue_now", "requests_made", "rows_provided", "exchanges_provided",
                      "rows_received", "exchanges_received"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.hours.extend(other.hours)


def in_time(request: Request, decided: datetime) -> bool:
    """Answered by its deadline; a request answered on arrival (no deadline) is in time."""
    return not request.deadline or decided.astimezone(CHINA).date() <= date.fromisoformat(request.deadline)


def scorecard(store, calendar: Calendar, now: datetime) -> tuple[list[Score], list[Score]]:
    """(per department, per node) rows, from the hub's copies of every entry and request."""
    departments: dict[str, Score] = {}

    def row(origin: str, code: str, name: str = "") -> Score:
        score = departments.setdefault(code, Score(origin, code, name))
        if name and not score.department_name:
            score.department_name = name
        if origin and not score.node_id:
            score.node_id = origin
        return score

    for origin, code, name, share_type, count in store.entry_mix():
        score = row(origin, code, name)
        score.entries += count
        setattr(score, share_type, getattr(score, share_type) + count)
    for request in store.all_requests():
        made = row(request.consumer_node, request.consumer_code)
        made.requests_made += 1
        if request.state in ("submitted", "review", "returned") or not request.owner_node:
            continue  # not at the owner's yet
        owner = row(request.owner_node, request.owner_code)
        owner.requests_received += 1
        decided = request.decided_at()
        if decided is not None:
            owner.answered += 1
            owner.answered_in_time += in_time(request, decided)
            owner.hours.append((decided - request.created_at).total_seconds() / 3600)
        if request.state == "pending" and request.overdue(now):  # the owner's answer, not a review or a coordination
            owner.overdue_now += 1
    for consumer_code, owner_code, rows, completed in store.exchange_totals("hub"):
        if owner_code:
            provided = departments.get(owner_code) or row("", owner_code)
            provided.rows_provided += rows
            provided.exchanges_provided += completed
        received = departments.get(consumer_code) or row("", consumer_code)
        received.rows_received += rows
        received.exchanges_received += completed
    nodes: dict[str, Score] = {}
    for score in departments.values():
        nodes.setdefault(score.node_id, Score(score.node_id)).add(score)
    by_code = sorted(departments.values(), key=lambda s: (s.node_id, s.department_code))
    return by_code, sorted(nodes.values(), key=lambda s: s.node_id)
