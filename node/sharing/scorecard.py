"""The sharing scorecard (考核): per department and per node, for a period of Beijing days, what
each publishes, how it answers requests and how its mounted sources keep their promise (the
evaluation the field uses to push sharing). At the hub it covers every request that crossed
nodes; each node adds its own: requests between two of its departments and its mounts, which
never leave it (node/hub/reports.py gathers them)."""

from __future__ import annotations

import dataclasses
import statistics
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

from node.errors import Invalid
from node.model.calendar import CHINA, Calendar
from node.model.correction import ANSWERS
from node.model.request import Request
from node.times import format_time

# The request lifecycle's steps the scorecard counts, by the name their history event carries
# (node/sharing/lifecycle.py): a review's pass or return (counted for the consumer), an extension
# and an objection (for the owner). The coordinator's decision is the `granted` (shared) or
# `rejected` (upheld) event that follows an objection.
LIFECYCLE = {"reviewed": ("passed", "returned"), "extensions": ("extended",), "objections": ("objected",)}
NOT_AT_THE_OWNER = ("submitted", "review", "returned")  # filed, in review or sent back: not received yet
REVIEW_DAYS = 2  # working days the consumer's data authority has for a conformity review

COUNTS = ("entries", "unconditional", "conditional", "not_shared", "requests_received", "answered",
          "answered_in_time", "overdue_now", "requests_made", "rows_provided", "exchanges_provided", "rows_received",
          "exchanges_received", "calls_provided", "calls_made", "granted", "rejected", "awaiting", "reviewed",
          "reviewed_in_time", "extensions", "objections", "objections_upheld", "objections_shared", "shareable", "mounted", "sources_checked",
          "sources_fresh", "duplicate_collections", "corrections_received", "corrections_answered",
          "corrections_in_time", "corrections_corrected")


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else -1.0


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
    # Query and verify calls answered (核验、查询), as the hub counted them: served from the
    # department's sources, and made by it.
    calls_provided: int = 0
    calls_made: int = 0
    granted: int = 0
    rejected: int = 0
    awaiting: int = 0  # pending, not yet due
    reviewed: int = 0
    reviewed_in_time: int = 0
    extensions: int = 0
    objections: int = 0
    objections_upheld: int = 0
    objections_shared: int = 0
    shareable: int = 0  # live entries that are not not_shared
    mounted: int = 0
    sources_checked: int = 0
    sources_fresh: int = 0
    # Governance (node/catalog/governance.py): elements re-collected from another department's
    # source (不得重复收集), and the mean quality score of the department's checked entries.
    duplicate_collections: int = 0
    # Corrections (校核纠错) on the department's resources: received (reached it), answered,
    # answered by their deadline, answered `corrected`.
    corrections_received: int = 0
    corrections_answered: int = 0
    corrections_in_time: int = 0
    corrections_corrected: int = 0
    quality_score: float = -1.0  # -1: no entry checked; a department's own figure, not summed per node
    hours: list[float] = dataclasses.field(default_factory=list)

    @property
    def median_hours_to_answer(self) -> float:
        return statistics.median(self.hours) if self.hours else -1.0

    @property
    def in_time_rate(self) -> float:
        """Answered in time, of the requests due: answered, or pending past their deadline."""
        return _rate(self.answered_in_time, self.answered + self.overdue_now)

    @property
    def granted_rate(self) -> float:
        """需求满足率: granted, of the requests answered."""
        return _rate(self.granted, self.granted + self.rejected)

    @property
    def mounted_rate(self) -> float:
        """挂接率: entries with a mounted source, of the entries that may be shared."""
        return _rate(self.mounted, self.shareable)

    @property
    def fresh_rate(self) -> float:
        """更新及时率: sources updated as often as promised, of those that could be judged."""
        return _rate(self.sources_fresh, self.sources_checked)

    @property
    def corrected_rate(self) -> float:
        """The share of answered corrections the owner corrected."""
        return _rate(self.corrections_corrected, self.corrections_answered)

    def add(self, other: "Score") -> None:
        for field in COUNTS:
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.hours.extend(other.hours)


@dataclasses.dataclass(frozen=True)
class Period:
    """Beijing days from `first` to `last`, both included; None: unbounded on that side."""

    first: date | None = None
    last: date | None = None

    @classmethod
    def parse(cls, first: str, last: str) -> "Period":
        days = []
        for field, text in (("from_date", first), ("to_date", last)):
            try:
                days.append(date.fromisoformat(text) if text else None)
            except ValueError:
                raise Invalid(field, f"must be a date YYYY-MM-DD (got {text!r})") from None
        if days[0] and days[1] and days[1] < days[0]:
            raise Invalid("to_date", f"must not be before from_date {days[0].isoformat()}")
        return cls(*days)

    def holds(self, at: datetime) -> bool:
        day = at.astimezone(CHINA).date()
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    def start(self) -> datetime | None:
        return None if self.first is None else datetime.combine(self.first, time(), CHINA)

    def end(self) -> datetime | None:
        return None if self.last is None else datetime.combine(self.last + timedelta(days=1), time(), CHINA)

    def judged_at(self, now: datetime) -> datetime:
        """The moment the period's figures are taken at: its end, or now if that is earlier."""
        end = self.end()
        return now if end is None or now < end else end - timedelta(microseconds=1)

    def stored_bounds(self) -> tuple[str, str]:
        """(since, until) as the store keeps times; empty when unbounded."""
        return tuple(format_time(m.astimezone(timezone.utc)) if m else "" for m in (self.start(), self.end()))


def in_time(request: Request, decided: datetime) -> bool:
    """Answered by its deadline; a request answered on arrival (no deadline) is in time."""
    return not request.deadline or decided.astimezone(CHINA).date() <= date.fromisoformat(request.deadline)


class Card:
    """The rows being counted, one per department, made as codes are met."""

    def __init__(self):
        self.departments: dict[str, Score] = {}

    def row(self, origin: str, code: str, name: str = "") -> Score:
        score = self.departments.setdefault(code, Score(origin, code, name))
        if name and not score.department_name:
            score.department_name = name
        if origin and not score.node_id:
            score.node_id = origin
        return score

    def count_request(self, request: Request, calendar: Calendar, at: datetime) -> None:
        made = self.row(request.consumer_node, request.consumer_code)
        made.requests_made += 1
        owner = self.row(request.owner_node, request.owner_code) if request.owner_node else None
        self._count_steps(request, made, owner, calendar)
        if request.state in NOT_AT_THE_OWNER or owner is None:
            return
        owner.requests_received += 1
        decided = request.decided_at()
        if decided is not None and decided <= at:
            owner.answered += 1
            owner.answered_in_time += in_time(request, decided)
            owner.hours.append((decided - request.created_at).total_seconds() / 3600)
            owner.granted += request.state == "granted"
            owner.rejected += request.state == "rejected"
        elif request.state == "pending" or decided is not None:  # open at the moment judged
            if request.deadline and at.astimezone(CHINA).date() > date.fromisoformat(request.deadline):
                owner.overdue_now += 1
            else:
                owner.awaiting += 1

    @staticmethod
    def _count_steps(request: Request, made: Score, owner: Score | None, calendar: Calendar) -> None:
        """The lifecycle's steps in the request's history, by event name (LIFECYCLE), and the
        coordinator's decision after an objection."""
        objected = False
        for event in request.history:
            if objected and owner is not None and event.state in ("granted", "rejected"):
                if event.state == "granted":
                    owner.objections_shared += 1
                else:
                    owner.objections_upheld += 1
                objected = False
            objected = objected or event.state == "objected"
            for field, names in LIFECYCLE.items():
                if event.state not in names:
                    continue
                score = made if field == "reviewed" else owner
                if score is None:
                    continue
                setattr(score, field, getattr(score, field) + 1)
                if field == "reviewed":
                    due = calendar.after(request.created_at.astimezone(CHINA).date(), REVIEW_DAYS)
                    score.reviewed_in_time += event.at.astimezone(CHINA).date() <= due

    def count_exchanges(self, totals: Iterable[tuple[str, str, int, int]]) -> None:
        for consumer_code, owner_code, rows, completed in totals:
            if owner_code:
                provided = self.departments.get(owner_code) or self.row("", owner_code)
                provided.rows_provided += rows
                provided.exchanges_provided += completed
            received = self.departments.get(consumer_code) or self.row("", consumer_code)
            received.rows_received += rows
            received.exchanges_received += completed

    def count_calls(self, totals: Iterable[tuple[str, str, int]]) -> None:
        for consumer_code, owner_code, answered in totals:
            if owner_code:
                (self.departments.get(owner_code) or self.row("", owner_code)).calls_provided += answered
            (self.departments.get(consumer_code) or self.row("", consumer_code)).calls_made += answered

    def count_correction(self, correction, at: datetime) -> None:
        """A correction on the owner's resource (node/model/correction.py), as it stood at `at`."""
        if not any(e.state == "open" for e in correction.history):
            return  # not at the owner department yet, or refused by its node on arrival (no such entry or item)
        owner = self.row(correction.owner_node, correction.owner_code)
        owner.corrections_received += 1
        answer = next((e for e in correction.history if e.state in ANSWERS), None)
        if answer is None or answer.at > at:
            return
        owner.corrections_answered += 1
        owner.corrections_in_time += not correction.deadline or (
            answer.at.astimezone(CHINA).date() <= date.fromisoformat(correction.deadline))
        owner.corrections_corrected += answer.state == "corrected"

    def totals(self) -> tuple[list[Score], list[Score]]:
        nodes: dict[str, Score] = {}
        for score in self.departments.values():
            nodes.setdefault(score.node_id, Score(score.node_id)).add(score)
        by_code = sorted(self.departments.values(), key=lambda s: (s.node_id, s.department_code))
        return by_code, sorted(nodes.values(), key=lambda s: s.node_id)


def scorecard(store, calendar: Calendar, now: datetime, period: Period = Period(), *, node_id: str = "",
              own: bool = False, departments: dict[str, str] | None = None, sources: dict | None = None,
              reported: Iterable[Score] = (), duplicates: dict[str, int] | None = None,
              quality: dict[str, float] | None = None) -> tuple[list[Score], list[Score]]:
    """(per department, per node) rows for the period.

    Without `own`: from this node's copies of every entry and request (at the hub: the nation's
    catalog and every request that crossed nodes, and its own departments' requests), and the
    exchanges it relayed. With `own`: only what never leaves this node (`node_id`), requests and
    exchanges between two of its `departments` (code -> name). `sources`: department code ->
    its mounted sources (node/exchange/freshness.py), judged at the period's end. `reported`:
    rows other nodes reported of their own, added in. `duplicates` and `quality`: department
    code -> its duplicate collections and mean quality score, as the hub's governance keeps them.
    """
    card, at = Card(), period.judged_at(now)
    departments = departments or {}
    for code, name in departments.items():
        card.row(node_id, code, name)
    if not own:
        for origin, code, name, share_type, count in store.entry_mix():
            score = card.row(origin, code, name)
            score.entries += count
            setattr(score, share_type, getattr(score, share_type) + count)
            score.shareable += count if share_type != "not_shared" else 0
    for request in store.all_requests():
        if own and not (request.consumer_node == request.owner_node == node_id):
            continue
        if period.holds(request.created_at):
            card.count_request(request, calendar, at)
    for correction in store.all_corrections():
        if own and not (correction.filer_node == correction.owner_node == node_id):
            continue
        if period.holds(correction.created_at):
            card.count_correction(correction, at)
    since, until = period.stored_bounds()
    local = [t for t in store.exchange_totals("consumer", since, until) if t[1] in departments]
    card.count_exchanges(local if own else store.exchange_totals("hub", since, until) + local)
    # Calls between two departments of this node never reach the hub: its owner's part counted them.
    local_calls = store.call_totals("owner", since, until, local=True)
    card.count_calls(local_calls if own else store.call_totals("hub", since, until) + local_calls)
    for code, found in (sources or {}).items():
        score = card.departments.get(code) or card.row(node_id, code)
        score.mounted += found.mounted
        score.sources_checked += found.checked
        score.sources_fresh += found.fresh
    for other in reported:
        mine = card.departments.get(other.department_code)
        if mine is None:
            card.departments[other.department_code] = dataclasses.replace(other, hours=list(other.hours))
        else:
            mine.add(other)
    for code, count in (duplicates or {}).items():
        (card.departments.get(code) or card.row("", code)).duplicate_collections = count
    for code, mean in (quality or {}).items():
        (card.departments.get(code) or card.row("", code)).quality_score = mean
    return card.totals()
