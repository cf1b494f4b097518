"""Sharing requests at a node: filing, arrival at the owner's node, decisions and withdrawals.

With a `seal` (a secure node), every version made here is signed by this node, and every
version handed over by another node is taken only if its maker may make it and signed it
(node/sharing/seals.py); a refused version is not stored and leaves a `denied` record on the
audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Callable, NamedTuple

from node import paging
from node.model import rules
from node.model.rules import Entry
from node.errors import FailedPrecondition, InvalidRequest, NotFound, PermissionDenied
from node.model.calendar import CHINA, Calendar
from node.model.request import MODES, OPEN, STATES, WAITING, Event, Request, arrive, newer, recipients
from node.sharing import fields
from node.sharing.fields import Scope
from node.sharing.lifecycle import Authority, LifecycleSteps

if TYPE_CHECKING:
    from node.sharing.seals import Seal
    from node.store import Store, Transaction

# The audit trail's name for a request version this node refused to take from another node.
REFUSED_VERSION = "sharing.refused_version"


class Receipt(NamedTuple):
    """What became of one version handed to this node: taken or not, the version now held, and
    why it was refused ("" unless its maker or signature did not check out)."""

    applied: bool
    version: int
    refused: str = ""


class Sharing(LifecycleSteps):
    """The requests of one node. `lookup` finds an entry here or at the hub. A node that
    `relays` (the hub) queues every request version it stores in its outbox for the parties that
    do not have it yet (`recipients`), in the same transaction; the courier drains the outbox.
    The steps of the data authority (`authority`: review, coordination, escalation) and the
    owner's extension and the consumer's objection are in node/sharing/lifecycle.py."""

    def __init__(self, store: "Store", node_id: str, department_codes: set[str], calendar: Calendar,
                 lookup: Callable[[str], Entry | None], clock: Callable[[], datetime] = rules.utcnow,
                 relays: bool = False, seal: "Seal | None" = None, authority: Authority | None = None,
                 default_daily_quota: int = 0):
        self.store = store
        self.default_daily_quota = default_daily_quota  # of a grant made on arrival (unconditional)
        self.node_id = node_id
        self.department_codes = department_codes
        self.calendar = calendar
        self.lookup = lookup
        self.clock = clock
        self.relays = relays
        self.seal = seal
        self.authority = authority or Authority()

    def submit(self, consumer_code: str, resource_code: str, purpose: str, basis: str,
               data_items: list[str], modes: list[str] | None = None) -> Request:
        """Files a request for `data_items` in `modes` (fetch, query, verify; none named: all three)."""
        if consumer_code not in self.department_codes:
            raise PermissionDenied(f"consumer_code: {consumer_code} is not a department of node {self.node_id}")
        entry = self.check_filing(resource_code, purpose, basis, data_items)
        asked = fields.modes(modes or list(MODES), "modes", MODES)
        now = self.clock()
        request = Request(
            request_id=f"{self.node_id}-{uuid.uuid4().hex[:20]}", consumer_code=consumer_code,
            consumer_node=self.node_id, resource_code=resource_code, owner_code=resource_code[:9],
            owner_node=entry.origin if entry is not None else "", purpose=purpose, basis=basis,
            data_items=tuple(data_items), share_type=entry.share_type if entry is not None else "",
            state="submitted", reason="", version=1, created_at=now, updated_at=now,
            history=(Event(1, "submitted", consumer_code, now, purpose),), modes=asked,
        )
        if entry is None or entry.withdrawn:
            # Unknown or withdrawn: answered at once, the request never leaves.
            request = arrive(request, entry, self.node_id, self.calendar, now)
        elif self.authority.settings.review:
            # Conformity review (符合性审查): the node's data authority sees it before it leaves.
            request = self.into_review(request, consumer_code, now, "filed for review")
        elif entry.origin == self.node_id:
            # Owned here: answered at once, the request never leaves.
            request = arrive(request, entry, self.node_id, self.calendar, now, self.default_daily_quota)
        request = self._made(request)
        with self.store.transaction() as tx:
            self._store(tx, [request], source=self.node_id)
        return request

    def check_filing(self, resource_code: str, purpose: str, basis: str, data_items: list[str]) -> Entry | None:
        """The rules a request's filing (or its amendment) meets; the entry, if known."""
        if not rules.RESOURCE_CODE.match(resource_code):
            raise InvalidRequest("resource_code", rules.RESOURCE_CODE_RULE)
        fields.text(purpose, "purpose")
        fields.text(basis, "basis")
        if not data_items:
            raise InvalidRequest("data_items", "must name at least one data item of the entry")
        entry = self.lookup(resource_code)
        if entry is not None:
            known = {item.name for item in entry.data_items}
            for i, name in enumerate(data_items):
                if name not in known:
                    raise InvalidRequest(f"data_items[{i}]", f"{name!r} is not a data item of {resource_code} "
                                                      f"(it has: {', '.join(sorted(known))})")
        if len(set(data_items)) != len(data_items):
            raise InvalidRequest("data_items", "must not name an item twice")
        return entry

    def get(self, request_id: str) -> Request:
        found = self.store.get_requests([request_id]).get(request_id)
        if found is None:
            raise NotFound(f"request_id: no request {request_id} at node {self.node_id}")
        return found

    def list(self, consumer_code: str, owner_code: str, state: str, overdue_only: bool, page_size: int,
             page_token: str, max_page: int = 1000, authority_code: str = "",
             inbox: str = "") -> tuple[list[Request], str]:
        """Requests by party and state; `overdue_only`: those whose waiting step is past its
        deadline; `inbox` (with `authority_code`, the node's data authority): its reviews,
        coordinations or escalations (node/sharing/lifecycle.py `in_inbox`)."""
        if state and state not in STATES:
            raise InvalidRequest("state", f"must be one of {', '.join(STATES)}")
        size = paging.page_size(page_size, max_page)
        offset = paging.token_number(page_token, default=0, limit=paging.MAX_OFFSET)
        today = self.clock().astimezone(CHINA).date()
        states, due_before = ((state,) if state else ()), ""
        if overdue_only:
            states, due_before = WAITING, today.isoformat()
        if inbox or authority_code:
            self.check_authority(authority_code, "lists the data authority's inbox")
            states, due_before = self.inbox_filter(inbox, today)
            # An inbox is a filter the store cannot express (who coordinates, who is escalated to):
            # read the candidates and page over what passes.
            found = [r for r in self.store.list_requests(consumer_code, owner_code, states, due_before, 0, -1)
                     if self.in_inbox(r, inbox)][offset:offset + size + 1]
        else:
            found = self.store.list_requests(consumer_code, owner_code, states, due_before, offset, size + 1)
        more = len(found) > size
        return found[:size], str(offset + size) if more else ""

    def decide(self, request_id: str, department_code: str, approve: bool, reason: str,
               row_filter: tuple[str, str] = ("", ""), valid_until: str = "", modes: list[str] | None = None,
               daily_quota: int = 0, rate: int = 0, plain: list[str] | None = None,
               items: list[str] | None = None) -> Request:
        """The owner's answer; an approval may narrow the grant to rows whose column starts with a
        prefix (row_filter), to a last day (valid_until, YYYY-MM-DD), to some of the modes asked
        for and some of the items (`items`), set a daily quota and a rate (calls per second; 0 = no
        limit), and let some of the items out plain (`plain`; personal items leave masked otherwise)."""
        fields.reason(reason, "" if approve else "a refusal always states its reason")
        scope = Scope(row_filter, valid_until, tuple(modes or ()), daily_quota, rate, tuple(plain or ()),
                      tuple(items or ()))
        if not approve and scope.named():
            raise InvalidRequest(scope.named()[0], "only an approval has a scope")
        scope.check(self.clock().astimezone(CHINA).date())
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            self.check_owner(current, department_code)
            if current.state != "pending":
                raise FailedPrecondition("not_pending", f"request {request_id} is {current.state}, not pending")
            state = "granted" if approve else "rejected"
            decided = current.advanced(state, department_code, self.clock(), reason or "approved by the owner")
            decided = self._made(scope.applied(decided))
            self._store(tx, [decided], source=self.node_id)
        return decided

    def check_owner(self, current: Request, department_code: str) -> None:
        """Only the owner department, at the owner's node, answers a request."""
        if current.owner_node != self.node_id or department_code != current.owner_code:
            raise PermissionDenied(f"department_code: only {current.owner_code} at node {current.owner_node} "
                                   f"decides request {current.request_id}")
        if department_code not in self.department_codes:
            raise PermissionDenied(f"department_code: {department_code} is not a department of node {self.node_id}")

    def check_consumer(self, current: Request, consumer_code: str, what: str) -> None:
        """Only the consumer department, at the consumer's node, acts for its request."""
        if current.consumer_node != self.node_id or consumer_code != current.consumer_code:
            raise PermissionDenied(f"consumer_code: only {current.consumer_code} {what} request {current.request_id}")

    def withdraw(self, request_id: str, consumer_code: str, reason: str) -> Request:
        with self.store.transaction() as tx:
            current = self._held(tx, request_id)
            self.check_consumer(current, consumer_code, "withdraws")
            if current.state not in OPEN:
                raise FailedPrecondition("already_closed", f"request {request_id} is already {current.state}")
            withdrawn = self._made(current.advanced("withdrawn", consumer_code, self.clock(),
                                                    reason or "withdrawn by the consumer"))
            self._store(tx, [withdrawn], source=self.node_id)
        return withdrawn

    def receive(self, request: Request, source: str) -> Receipt:
        """DeliverRequest: takes a copy from the hub if it is newer; a request arriving at its
        owner's node is answered by the entry's sharing type. Delivering the same version twice
        changes nothing."""
        with self.store.transaction() as tx:
            return self.receive_in(tx, [request], source)[0]

    def receive_in(self, tx: "Transaction", requests: list[Request], source: str,
                   signed: list[str | None] | None = None) -> list[Receipt]:
        """Takes the versions `source` handed over that are newer than the copies held here (and,
        on a secure node, made and signed by a node that may make them). `signed`: the versions'
        signatures checked already, off this thread (node/sharing/seals.py `signature_refusal`)."""
        current = tx.requests(r.request_id for r in requests)
        results, copies, answered = [], [], []
        for i, request in enumerate(requests):
            held = current.get(request.request_id)
            if not newer(request, held):
                results.append(Receipt(False, held.version))
                continue
            if self.seal is None:
                why = None
            elif signed is not None:
                why = self.seal.refusal_checked(request, held, signed[i])
            else:
                # The certificate must be valid now, in real time (not the sharing clock, which tests may fix).
                why = self.seal.refusal(request, held, at=rules.utcnow())
            if why:
                tx.deny(f"node:{source}", REFUSED_VERSION, request.request_id,
                        f"version {request.version} ({request.state}) claimed by {request.signer or 'nobody'}: {why}")
                results.append(Receipt(False, held.version if held else 0, why))
                continue
            if request.state == "submitted" and request.owner_node == self.node_id:
                entry = tx.entries([request.resource_code]).get(request.resource_code)
                request = self._made(arrive(request, entry, self.node_id, self.calendar, self.clock(),
                                              self.default_daily_quota))
                answered.append(request)
            else:
                copies.append(request)
            current[request.request_id] = request  # a batch may carry several versions of one request
            results.append(Receipt(True, request.version))
        self._store(tx, copies, source=source)
        self._store(tx, answered, source=self.node_id)  # a new version: every party needs it
        return results

    def _made(self, request: Request) -> Request:
        """A version made here: named as this node's (its number is (counter, this node)), and
        signed by this node when it has a key."""
        request = request.made_by(self.node_id)
        return self.seal.sign(request) if self.seal is not None else request

    def _held(self, tx: "Transaction", request_id: str) -> Request:
        current = tx.requests([request_id]).get(request_id)
        if current is None:
            raise NotFound(f"request_id: no request {request_id} at node {self.node_id}")
        return current

    def _store(self, tx: "Transaction", requests: list[Request], source: str) -> None:
        if not requests:
            return
        tx.put_requests(requests, log=True)
        if self.relays:
            for request in requests:
                for target in recipients(request, self.node_id, source):
                    tx.enqueue(request.request_id, target, request.version)

    def overdue(self, request: Request) -> bool:
        return request.overdue(self.clock())
