"""The steps of a sharing request beyond filing, answering and withdrawing (docs/sharing.md):
the data authority's conformity review (符合性审查) and the consumer's resubmission of a
returned request, the owner's one extension, the consumer's objection (异议) to a refusal and the
coordinator's decision (协调), and what is escalated (督办) to whom.

Mixed into `Sharing` (node/sharing/workflow.py), whose store, clock, calendar and helpers it
uses. The data authority is one department of the node (`data_authority` in its config); a step
that only it may take is refused to any other department with PERMISSION_DENIED, and a step that
the request's state does not allow with FAILED_PRECONDITION naming the rule; either leaves a
`denied` record on the audit trail (the interceptors, node/api/interceptors/denials.py)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import TYPE_CHECKING

from node.errors import FailedPrecondition, InvalidRequest, PermissionDenied
from node.model.calendar import CHINA
from node.model.lifecycle import Lifecycle, escalation_bound, working_days_after
from node.model.request import EXTENDED, WAITING, Event, Request, arrive, coordinator_node
from node.sharing import fields
from node.sharing.fields import Scope

if TYPE_CHECKING:
    from node.model.calendar import Calendar
    from node.store import Store, Transaction

INBOXES = ("review", "coordinate", "escalated")


@dataclasses.dataclass(frozen=True)
class Authority:
    """The node's data authority (its department code, "" for none), the federation's hub (the
    coordinator between two nodes) and the lifecycle's periods."""

    code: str = ""
    hub: str = ""
    settings: Lifecycle = Lifecycle()


class LifecycleSteps:
    """The lifecycle's steps, on the `Sharing` they are mixed into."""

    store: "Store"
    node_id: str
    department_codes: set[str]
    calendar: "Calendar"
    authority: Authority
    relays: bool

    # -- the data authority ----------------------------------------------------------------------

    def check_authority(self, department_code: str, what: str) -> None:
        if not self.authority.code:
            raise PermissionDenied(f"department_code: node {self.node_id} names no data authority "
                                   f"(`data_authority` in its config), so no department {what}")
        if department_code != self.authority.code:
            raise PermissionDenied(f"department_code: only the data authority of node {self.node_id} "
                                   f"({self.authority.code}) {what}, not {department_code or '(none)'}")

    def into_review(self, request: Request, actor: str, now: datetime, note: str) -> Request:
        """The first version of a request filed on a node with review on: it waits for the review."""
        deadline = working_days_after(self.calendar, now, self.authority.settings.review_days).isoformat()
        return dataclasses.replace(request, state="review", deadline=deadline,
                                   history=(Event(1, "review", actor, now, note),))

    def review(self, request_id: str, department_code: str, passed: bool, reason: str) -> Request:
        """The data authority passes the request on (to its owner) or returns it to the consumer."""
        fields.reason(reason, "" if passed else "a return always states what to correct")
        self.check_authority(department_code, "reviews requests")
        now = self.clock()
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            if current.consumer_node != self.node_id:
                raise PermissionDenied(f"request_id: request {request_id} was filed at node {current.consumer_node}; "
                                       f"its data authority reviews it")
            if current.state != "review":
                raise FailedPrecondition("not_in_review", f"request {request_id} is {current.state}: only a request "
                                                          f"waiting for review is passed or returned")
            if passed:
                reviewed = current.advanced("submitted", department_code, now, reason or "passed the conformity review",
                                            deadline="", step="passed")
                if current.owner_node == self.node_id:  # owned here: answered at once, it never leaves
                    entry = tx.entries([current.resource_code]).get(current.resource_code)
                    reviewed = arrive(reviewed, entry, self.node_id, self.calendar, now, self.default_daily_quota)
            else:
                reviewed = current.advanced("returned", department_code, now, reason, deadline="")
            reviewed = self._made(reviewed)
            self._store(tx, [reviewed], source=self.node_id)
        return reviewed

    def resubmit(self, request_id: str, consumer_code: str, purpose: str, basis: str,
                 data_items: list[str]) -> Request:
        """The consumer amends a returned request and files it for review again (the same request,
        a new version); what it leaves empty stays as it was."""
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
        self.check_consumer(current, consumer_code, "resubmits")
        purpose, basis = purpose or current.purpose, basis or current.basis
        items = tuple(data_items) or current.data_items
        self.check_filing(current.resource_code, purpose, basis, list(items))
        now = self.clock()
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            if current.state != "returned":
                raise FailedPrecondition("not_returned", f"request {request_id} is {current.state}: only a request "
                                                         f"its data authority returned is resubmitted")
            deadline = working_days_after(self.calendar, now, self.authority.settings.review_days).isoformat()
            amended = dataclasses.replace(current, purpose=purpose, basis=basis, data_items=items)
            amended = self._made(amended.advanced("review", consumer_code, now, "resubmitted: " + purpose,
                                                  deadline=deadline, step="resubmitted"))
            self._store(tx, [amended], source=self.node_id)
        return amended

    # -- the owner's extension -------------------------------------------------------------------

    def extend(self, request_id: str, department_code: str, reason: str) -> Request:
        """The owner extends its answer, once, by `extension_days` working days past the deadline."""
        fields.reason(reason, "an extension always states its reason")
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            self.check_owner(current, department_code)
            if current.state != "pending":
                raise FailedPrecondition("not_pending", f"request {request_id} is {current.state}: only a pending "
                                                        f"answer is extended")
            if current.steps(EXTENDED):
                raise FailedPrecondition("already_extended", f"request {request_id} was extended already "
                                                             f"(to {current.deadline}): an answer is extended once")
            start = date.fromisoformat(current.deadline) if current.deadline else self.clock()
            deadline = working_days_after(self.calendar, start, self.authority.settings.extension_days).isoformat()
            extended = self._made(current.advanced("pending", department_code, self.clock(), reason,
                                                   deadline=deadline, step=EXTENDED))
            self._store(tx, [extended], source=self.node_id)
        return extended

    # -- objection and coordination ----------------------------------------------------------------

    def object(self, request_id: str, consumer_code: str, reason: str) -> Request:
        """The consumer objects to a refusal, within `objection_days` working days of it; the
        objection waits for the coordinator (`coordinator_node`) for `coordination_days`."""
        fields.reason(reason, "an objection always states its reasons")
        now = self.clock()
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            self.check_consumer(current, consumer_code, "objects to")
            if current.state != "rejected":
                raise FailedPrecondition("not_rejected", f"request {request_id} is {current.state}: only a refusal "
                                                         f"is objected to")
            if current.steps("objected"):
                raise FailedPrecondition("already_objected", f"request {request_id} was objected to already, and "
                                                             f"the coordinator's decision binds")
            if not current.owner_node:
                raise FailedPrecondition("no_owner", f"request {request_id} was refused at filing (no entry "
                                                     f"{current.resource_code}): there is no owner to object to")
            refused = current.decided_at() or current.updated_at
            last_day = working_days_after(self.calendar, refused, self.authority.settings.objection_days)
            if now.astimezone(CHINA).date() > last_day:
                raise FailedPrecondition("objection_period_over", f"the period to object to request {request_id} "
                                                                  f"ended on {last_day.isoformat()}")
            deadline = working_days_after(self.calendar, now, self.authority.settings.coordination_days).isoformat()
            objected = self._made(current.advanced("objected", consumer_code, now, reason, deadline=deadline))
            self._store(tx, [objected], source=self.node_id)
        return objected

    def coordinate(self, request_id: str, department_code: str, share: bool, reason: str,
                   scope: Scope = Scope()) -> Request:
        """The coordinator's decision on an objection: `share` grants the request (with the scope
        it sets), otherwise the refusal is upheld. It binds the owner's node."""
        fields.reason(reason, "a coordination decision always states its reason")
        if not share and scope.named():
            raise InvalidRequest(scope.named()[0], "only a decision to share has a scope")
        scope.check(self.clock().astimezone(CHINA).date())
        self.check_authority(department_code, "coordinates objections")
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            coordinator = coordinator_node(current, self.authority.hub)
            if coordinator != self.node_id:
                raise PermissionDenied(f"request_id: the objection to request {request_id} is coordinated by the data "
                                       f"authority of node {coordinator}, not of node {self.node_id}")
            if current.state != "objected":
                raise FailedPrecondition("not_objected", f"request {request_id} is {current.state}: only an "
                                                         f"objection is coordinated")
            decided = current.advanced("granted" if share else "rejected", department_code, self.clock(),
                                       f"coordination: {reason}")
            decided = self._made(scope.applied(decided) if share else decided)
            self._store(tx, [decided], source=self.node_id)
        return decided

    # -- inboxes and escalation --------------------------------------------------------------------

    def escalation_bound(self, today: date) -> str:
        return escalation_bound(self.calendar, today, self.authority.settings.escalation_days)

    def escalated(self, request: Request) -> bool:
        """Whether the owner's answer or the coordination is past its deadline by the margin (督办)."""
        today = self.clock().astimezone(CHINA).date()
        return request.state in ("pending", "objected") and bool(request.deadline) and (
            request.deadline < self.escalation_bound(today))

    def escalated_to(self, request: Request) -> set[str]:
        """The nodes whose data authority an escalation goes to: the owner's, and across nodes the hub's."""
        return {request.owner_node} | ({self.authority.hub} if request.consumer_node != request.owner_node else set())

    def inbox_filter(self, inbox: str, today: date) -> tuple[tuple[str, ...], str]:
        """The states and the deadline bound (deadlines before it; "" for none) of an inbox's candidates."""
        if inbox not in INBOXES:
            raise InvalidRequest("inbox", f"must be one of {', '.join(INBOXES)}")
        if inbox == "review":
            return ("review",), ""
        if inbox == "coordinate":
            return ("objected",), ""
        return ("pending", "objected"), self.escalation_bound(today)

    def in_inbox(self, request: Request, inbox: str) -> bool:
        if inbox == "review":
            return request.consumer_node == self.node_id
        if inbox == "coordinate":
            return coordinator_node(request, self.authority.hub) == self.node_id
        return request.state in WAITING and self.node_id in self.escalated_to(request)

    if TYPE_CHECKING:  # provided by Sharing
        def clock(self) -> datetime: ...
        def _held(self, tx: "Transaction", request_id: str) -> Request: ...
        def _made(self, request: Request) -> Request: ...
        def _store(self, tx: "Transaction", requests: list[Request], source: str) -> None: ...
        def check_owner(self, current: Request, department_code: str) -> None: ...
        def check_consumer(self, current: Request, consumer_code: str, what: str) -> None: ...
        def check_filing(self, resource_code: str, purpose: str, basis: str, data_items: list[str]): ...

