"""Slots: how many calls a caller may have under way at once. Each call holds a thread of the
server's pool, so an identity may have only `limits.max_calls_per_caller` under way in each
budget of the table (node/security/authz.py: CONTROL, DATA), Query and Verify (KEYED)
`limits.max_keyed_calls_per_caller`, and the data streams of one
department only `limits.max_fetches_per_department`, whoever relays them. Callers that are not
nodes, and data streams, share all but RESERVED threads, so that the hub's pulls and deliveries
and health checks always find one. A call over a limit is refused (RESOURCE_EXHAUSTED) on the
audit trail, naming the limit.

Why budgets: the hub calls an owner's node as itself both to pull it and to relay a consumer's
fetch, and a peer relays every fetch of its departments to the hub as itself; counted together,
one department's stalled fetches took every slot of the hub's identity and its pulls failed.
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING

from node.api.interceptors import call
from node.api.interceptors.interceptor import Interceptor
from node.errors import ResourceExhausted
from node.security import authz

if TYPE_CHECKING:
    from node.api.interceptors.denials import Denials

RESERVED = 16  # threads of the pool that only nodes' control calls and health checks may take


class Slots(Interceptor):
    """A slot per call under way, taken after the caller is let in and given back as it ends."""

    def __init__(self, per_caller: int, per_department: int, workers: int, denials: Denials,
                 per_caller_keyed: int | None = None):
        super().__init__()
        self.per_caller = per_caller
        self.per_budget = {authz.KEYED: per_caller if per_caller_keyed is None else per_caller_keyed}
        self.per_department = per_department
        self.shared = max(1, workers - RESERVED)
        self.denials = denials
        self._lock = threading.Lock()
        self._under_way: collections.Counter[tuple[str, str]] = collections.Counter()  # (caller, budget)
        self._fetching: collections.Counter[str] = collections.Counter()  # department -> data streams
        self._shared_under_way = 0

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        streams = streams_in or streams_out
        if streams_out:
            def slotted_stream(request, context):
                # A generator: the slot lasts as long as the stream does.
                slot = self._take(context, method, request, streams, streams_in)
                try:
                    yield from behaviour(request, context)
                finally:
                    self._give_back(slot)
            return slotted_stream

        def slotted(request, context):
            slot = self._take(context, method, request, streams, streams_in)
            try:
                return behaviour(request, context)
            finally:
                self._give_back(slot)
        return slotted

    def _take(self, context, method: str, request, streams: bool, streams_in: bool):
        caller, rule = call.caller(), call.rule()
        if caller.kind == "insecure" or (rule.who == authz.ANYONE and not streams):
            return None  # a health check is cheap and never waits on anything; a stream (Watch) holds a thread
        budget = rule.budget
        # Counted by the department the request names, before the servicer checks it against the
        # request's consumer: a stream naming another is refused at once, and gives its count back.
        department = rule.per_department(request) if rule.per_department is not None and not streams_in else ""
        shared = caller.kind != "node" or budget != authz.CONTROL
        limit = self.per_budget.get(budget, self.per_caller)
        with self._lock:
            problem = None
            if department and self._fetching[department] >= self.per_department:
                problem = (f"department {department} already has {self.per_department} data fetches under way "
                           "through this node (limits.max_fetches_per_department); finish or cancel some first")
            elif self._under_way[caller.key, budget] >= limit:
                setting = "max_keyed_calls_per_caller" if budget == authz.KEYED else "max_calls_per_caller"
                problem = (f"{caller.actor} already has {limit} {budget} calls under way "
                           f"(limits.{setting}); finish or cancel some first")
            elif shared and self._shared_under_way >= self.shared:
                problem = "the node is busy with other callers' calls; retry shortly"
            if problem is None:
                self._under_way[caller.key, budget] += 1
                if department:
                    self._fetching[department] += 1
                self._shared_under_way += shared
        if problem is not None:
            self.denials.refuse(context, method, caller, request, ResourceExhausted(problem))
        return (caller.key, budget), department, shared

    def _give_back(self, slot) -> None:
        if slot is None:
            return
        key, department, shared = slot
        with self._lock:
            self._under_way[key] -= 1
            if not self._under_way[key]:
                del self._under_way[key]
            if department:
                self._fetching[department] -= 1
                if not self._fetching[department]:
                    del self._fetching[department]
            self._shared_under_way -= shared
