"""Slots: how many calls a caller may have under way at once. Each call holds a thread of the
server's pool, so an identity may have only `limits.max_calls_per_caller` under way, and callers
that are not nodes share all but RESERVED threads, so that the hub's pulls and deliveries and
health checks always find one. A call over either limit is refused (RESOURCE_EXHAUSTED) on the
audit trail."""

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

RESERVED = 16  # threads of the pool that only nodes' calls and health checks may take


class Slots(Interceptor):
    """A slot per call under way, taken after the caller is let in and given back as it ends."""

    def __init__(self, per_caller: int, workers: int, denials: Denials):
        super().__init__()
        self.per_caller = per_caller
        self.shared = max(1, workers - RESERVED)
        self.denials = denials
        self._lock = threading.Lock()
        self._under_way: collections.Counter[str] = collections.Counter()
        self._shared_under_way = 0

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        streams = streams_in or streams_out
        if streams_out:
            def slotted_stream(request, context):
                # A generator: the slot lasts as long as the stream does.
                slot = self._take(context, method, request, streams)
                try:
                    yield from behaviour(request, context)
                finally:
                    self._give_back(slot)
            return slotted_stream

        def slotted(request, context):
            slot = self._take(context, method, request, streams)
            try:
                return behaviour(request, context)
            finally:
                self._give_back(slot)
        return slotted

    def _take(self, context, method: str, request, streams: bool):
        caller = call.caller()
        if caller.kind == "insecure" or (call.rule().who == authz.ANYONE and not streams):
            return None  # a health check is cheap and never waits on anything; a stream (Watch) holds a thread
        shared = caller.kind != "node"
        with self._lock:
            problem = None
            if self._under_way[caller.key] >= self.per_caller:
                problem = (f"{caller.actor} already has {self.per_caller} calls under way "
                           "(limits.max_calls_per_caller); finish or cancel some first")
            elif shared and self._shared_under_way >= self.shared:
                problem = "the node is busy with other callers' calls; retry shortly"
            if problem is None:
                self._under_way[caller.key] += 1
                self._shared_under_way += shared
        if problem is not None:
            self.denials.refuse(context, method, caller, request, ResourceExhausted(problem))
        return caller.key, shared

    def _give_back(self, slot) -> None:
        if slot is None:
            return
        key, shared = slot
        with self._lock:
            self._under_way[key] -= 1
            if not self._under_way[key]:
                del self._under_way[key]
            self._shared_under_way -= shared
