"""The periods of a sharing request's lifecycle (docs/sharing.md): how many working days the
data authority has to review a request, the owner's one extension adds, the consumer has to
object to a refusal, the coordinator has to decide an objection, and a wait may run past its
deadline before it is escalated (督办); and the days an owner has to answer a correction
notice. Counted on the node's working-day calendar."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

from node.model.calendar import CHINA, Calendar


@dataclasses.dataclass(frozen=True)
class Lifecycle:
    """The `sharing:` settings of the lifecycle; defaults live here and nowhere else."""

    review: bool = False  # a request filed here waits for the node's data authority's conformity review
    review_days: int = 2
    extension_days: int = 10
    objection_days: int = 5
    coordination_days: int = 10
    escalation_days: int = 2
    correction_days: int = 5  # the owner's answer to a correction notice (校核纠错, docs/governance.md)


LIFECYCLE_KEYS = tuple(f.name for f in dataclasses.fields(Lifecycle))  # the keys of `sharing:` they take


def working_days_after(calendar: Calendar, start: datetime | date, days: int) -> date:
    """The `days`-th working day after `start` (a Beijing date, or a time taken in Beijing)."""
    if isinstance(start, datetime):
        start = start.astimezone(CHINA).date()
    return dataclasses.replace(calendar, answer_days=days).deadline(datetime.combine(start, time(12), CHINA))


def escalation_bound(calendar: Calendar, today: date, margin: int) -> str:
    """The first deadline (YYYY-MM-DD) that is not escalated on `today`: a deadline before it ran
    past its margin of working days before today. With margin 0, today (every overdue deadline)."""
    day = today - timedelta(days=1)
    while margin and working_days_after(calendar, day, margin) >= today:
        day -= timedelta(days=1)
    return (day + timedelta(days=1)).isoformat()
