"""The request lifecycle's steps in the workload (docs/sharing.md): the data authority's
conformity review (pass, or return and the consumer's resubmission), the owner's one extension,
the consumer's objection to a refusal, the coordinator's decision, and the escalation (督办) of a
wait past its deadline, counted on the simulated clock (a node counts on its own, the wall clock,
on which a simulated fortnight is a minute: the simulation checks the deadlines itself and reads
what is still waiting as the data authority that receives the escalation).

`Steps` holds a scenario's proportions (`workload.steps`); `LifecycleWork` is mixed into the
workload's `Worker` and carries out each step as an event on the simulated clock; each step
taken is written into the books with how long its party took (`Books.step`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import grpc

from node.config_rules import Reader, is_number
from node.model.lifecycle import Lifecycle
from node.proto import sharing_pb2

RETURN_REASONS = ("请补充法定依据", "用途表述不清，请细化应用场景", "申请的数据项超出履职需要，请删减")
OBJECTION_REASONS = ("申请依据充分，属于履职必需", "已按要求补充材料，拒绝理由不成立")
COORDINATION_REASONS = ("经协调，同意按最小必要范围共享", "经协调，维持不予共享的答复")
STEP_KINDS = ("review", "resubmit", "extend", "object", "coordinate", "escalate")  # the events carried out here
STEP_KEYS = ("return_share", "extend_share", "object_share", "share_on_coordination", "review_days",
             "resubmit_days", "coordination_days", "escalation_days")


@dataclasses.dataclass(frozen=True)
class Steps:
    """The proportions of each step (each a share of the requests that reach it) and how long
    its party takes, in working days: a review, a resubmission and a coordination take a uniform
    time up to the `*_days` given; an escalation comes `escalation_days` after a missed deadline
    (the nodes' default margin, sharing.escalation_days)."""

    return_share: float = 0.0  # of reviews: returned (once per request), then resubmitted
    extend_share: float = 0.0  # of the owner's pending answers: extended once first
    object_share: float = 0.0  # of refusals: objected to
    share_on_coordination: float = 0.5  # of objections: the coordinator shares (else upholds)
    review_days: float = 1.0
    resubmit_days: float = 1.0
    coordination_days: float = 4.0
    escalation_days: int = Lifecycle().escalation_days


def parse(r: Reader, data: Any) -> Steps:
    """The scenario's `workload.steps` (absent: review as the nodes are configured, no other step)."""
    data = r.mapping(data or {}, "workload.steps", set(STEP_KEYS))
    default = Steps()
    shares = {k: float(r.get(data, "workload.steps", k, is_number(0, 1), getattr(default, k)))
              for k in ("return_share", "extend_share", "object_share", "share_on_coordination")}
    days = {k: float(r.get(data, "workload.steps", k, is_number(0.01, 60), getattr(default, k)))
            for k in ("review_days", "resubmit_days", "coordination_days")}
    return Steps(**shares, **days, escalation_days=r.get(data, "workload.steps", "escalation_days",
                                                           is_number(0, 30, True), default.escalation_days))


class Retry(Exception):
    """The event was put back for later."""


class LifecycleWork:
    """The steps' events, on the `Worker` they are mixed into (its federation, clock, books,
    RNG and schedule)."""

    LIFECYCLE = Lifecycle()  # the nodes' periods: the harness sets none of its own

    # -- after filing or a pass: the owner's answer, its extension and its escalation ------------

    def after_filing(self, filed, state: str, at: float) -> None:
        """What follows a request in `state` at `at`: its review, or the owner's part."""
        if state == "review":
            self._later(at, self._days(self.steps.review_days), "review", filed.consumer_node,
                        self.known.authority[filed.consumer_node], filed)
            return
        filed.sent_at = at
        if filed.share_type == "conditional":
            answer = self.scenario.workload.answer_for(filed.owner_code)
            with self.lock:
                days = min(answer.max, answer.median * math.exp(self.answering.gauss(0, answer.spread)))
                extend = self.answering.random() < self.steps.extend_share
                extra = self.answering.uniform(1, self.LIFECYCLE.extension_days) if extend else 0.0
            if extend:  # half way to the answer it would have given, the owner asks for more time
                self._later(at, days / 2, "extend", filed.owner_node, filed.owner_code, filed)
            self._later(at, days + extra, "decide", filed.owner_node, filed.owner_code, filed)
            self._later(at, self.scenario.calendar.answer_days + self.steps.escalation_days, "escalate",
                        filed.owner_node, self.known.authority[filed.owner_node], filed, step="answer")
        elif filed.share_type == "not_shared":
            self.maybe_object(filed, at)  # refused at arrival: the consumer may object to that too

    def _review(self, event) -> None:
        filed = self.books.requests[event.request_id]
        with self.lock:
            back = filed.returns == 0 and self.answering.random() < self.steps.return_share
        stub = self.fed.sharing(event.node, event.department)
        reply = stub.ReviewRequest(sharing_pb2.ReviewRequestRequest(
            request_id=event.request_id, department_code=event.department, decision="return" if back else "pass",
            reason=self.answering.choice(RETURN_REASONS) if back else ""), timeout=self.timeout)
        now = self.now()
        self.books.step("return" if back else "pass", filed, now, now - filed.waiting_since)
        filed.waiting_since = now
        if back:
            filed.returns += 1
            self._later(now, self._days(self.steps.resubmit_days), "resubmit", filed.consumer_node,
                        filed.consumer_code, filed)
        else:
            self.after_filing(filed, reply.state, now)

    def _resubmit(self, event) -> None:
        filed = self.books.requests[event.request_id]
        held = self.fed.sharing(event.node, event.department).GetRequest(
            sharing_pb2.GetRequestRequest(request_id=event.request_id), timeout=self.timeout)
        reply = self.fed.sharing(event.node, event.department).ResubmitRequest(sharing_pb2.ResubmitRequestRequest(
            request_id=event.request_id, consumer_code=event.department, purpose=held.purpose,
            basis=held.basis + "；已补充说明", data_items=list(held.data_items)), timeout=self.timeout)
        now = self.now()
        self.books.step("resubmit", filed, now, now - filed.waiting_since)
        filed.waiting_since = now
        self.after_filing(filed, reply.state, now)

    def _extend(self, event) -> None:
        filed = self.books.requests[event.request_id]
        if not self._waiting(event, ("pending",), {"submitted"}):
            return
        self.fed.sharing(event.node, event.department).ExtendRequest(sharing_pb2.ExtendRequestRequest(
            request_id=event.request_id, department_code=event.department, reason="需核实数据口径，申请延期"),
            timeout=self.timeout)
        filed.extended_at = self.now()
        self.books.step("extend", filed, filed.extended_at, filed.extended_at - filed.sent_at)

    # -- objection and coordination --------------------------------------------------------------

    def maybe_object(self, filed, at: float) -> None:
        with self.lock:
            objects = self.answering.random() < self.steps.object_share
            days = self.answering.uniform(0.2, self.LIFECYCLE.objection_days - 1)
        if objects:
            self._later(at, days, "object", filed.consumer_node, filed.consumer_code, filed)

    def _object(self, event) -> None:
        filed = self.books.requests[event.request_id]
        # the refusal has to reach the consumer's node first
        if not self._waiting(event, ("rejected",), {"review", "submitted", "pending"}):
            return
        self.fed.sharing(event.node, event.department).ObjectRequest(sharing_pb2.ObjectRequestRequest(
            request_id=event.request_id, consumer_code=event.department,
            reason=self.answering.choice(OBJECTION_REASONS)), timeout=self.timeout)
        now = filed.objected_at = self.now()
        self.books.step("object", filed, now, now - (filed.decided_at or filed.sent_at or filed.at))
        coordinator = filed.owner_node if filed.owner_node == filed.consumer_node else self.fed.hub_id
        filed.coordinator_node = coordinator
        self._later(now, self._days(self.steps.coordination_days), "coordinate", coordinator,
                    self.known.authority[coordinator], filed)
        self._later(now, self.LIFECYCLE.coordination_days + self.steps.escalation_days, "escalate", coordinator,
                    self.known.authority[coordinator], filed, step="coordinate")

    def _coordinate(self, event) -> None:
        filed = self.books.requests[event.request_id]
        # the objection has to reach the coordinator (the hub pulls it from the consumer's node)
        if not self._waiting(event, ("objected",), {"rejected"}):
            return
        with self.lock:
            share = self.answering.random() < self.steps.share_on_coordination
        reply = self.fed.sharing(event.node, event.department).CoordinateRequest(sharing_pb2.CoordinateRequestRequest(
            request_id=event.request_id, department_code=event.department, decision="share" if share else "uphold",
            reason=COORDINATION_REASONS[0 if share else 1]), timeout=self.timeout)
        now = filed.coordinated_at = self.now()
        filed.coordination = reply.state
        self.books.step("share" if share else "uphold", filed, now, now - filed.objected_at)

    # -- escalation (督办), on the simulated clock -------------------------------------------------

    def _escalate(self, event) -> None:
        """A wait past its deadline by the margin, still waiting, is escalated: the data authority
        that receives it reads it (as its inbox would show it) and hurries its party along."""
        filed = self.books.requests[event.request_id]
        answer = event.query == "answer"
        if answer and filed.extended_at is not None and not event.attempt:
            # the deadline moved by the extension: look again when the new one has run out too
            later = self.clock.add_working_days(event.at, self.LIFECYCLE.extension_days)
            self.schedule(dataclasses.replace(event, at=later, attempt=1))
            return
        try:
            held = self.fed.sharing(event.node, event.department).GetRequest(
                sharing_pb2.GetRequestRequest(request_id=event.request_id), timeout=self.timeout)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return  # not at the owner's node yet (a cut link): its wait has not begun there
        if held.state != ("pending" if answer else "objected"):
            return  # answered (or never delivered: the owner's node answered at arrival) in time
        now = self.now()
        began = filed.sent_at if answer else filed.objected_at
        filed.escalated.append(event.query)
        self.books.step("escalate", filed, now, now - began)
        if answer:
            self._later(now, 0.25, "decide", filed.owner_node, filed.owner_code, filed)
        else:
            self._later(now, 0.25, "coordinate", event.node, event.department, filed)

    # -- helpers ---------------------------------------------------------------------------------

    def _waiting(self, event, ready: tuple[str, ...], not_yet: set[str]) -> bool:
        """Whether the request's copy at the event's node is in a `ready` state; one still in a
        `not_yet` state puts the event back for later (Retry), any other is past this step."""
        try:
            held = self.fed.sharing(event.node, event.department).GetRequest(
                sharing_pb2.GetRequestRequest(request_id=event.request_id), timeout=self.timeout)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            held = None
        if held is None or held.state in not_yet:
            self._again(event)
            raise Retry()
        return held.state in ready

    def _days(self, most: float) -> float:
        with self.lock:
            return self.answering.uniform(0.1, most)

    def _later(self, at: float, working_days: float, kind: str, node: str, department: str, filed,
               step: str = "") -> None:
        self.schedule(self.Event(self.clock.add_working_days(at, working_days), kind, node, department,
                                 filed.resource_code, query=step, request_id=filed.request_id))
