"""The denial audit: every refused call is counted in a `denied` record on the audit trail, whether
an interceptor refused it (`Denials.refuse`) or the domain did (`DenialAudit`, last in the chain,
which also names the caller on the records of what the call writes).

A caller refused for the same reason over and over (a client retrying with a revoked token, a
scanner with garbage ones) would otherwise write a record per call, hundreds a second, without
limit. So a refusal is recorded at once the first time a (caller, method, reason) is seen in an
interval; the same refusals after it in that interval are folded, and the next record of that
key (or `flush`, when the node stops) says how many it stands for: its detail ends with
`[count=N]` (`count_of` reads it back). Every refusal is still counted, once."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import grpc

from node.api.interceptors import call
from node.api.interceptors.interceptor import Interceptor
from node.api.status_codes import code_of
from node.security import audit, authz

if TYPE_CHECKING:
    from node.store import Store


FOLD_SECONDS = 10.0
NO_RULE = authz.Rule(authz.ANYONE)
MAX_KEYS = 10_000  # past this many callers and reasons at once, finished intervals are forgotten
COUNT = re.compile(r" \[count=(\d+)\]$")


def count_of(detail: str) -> int:
    """How many refusals a `denied` record stands for."""
    found = COUNT.search(detail)
    return int(found.group(1)) if found else 1


@dataclasses.dataclass
class _Interval:
    started: float
    folded: int = 0  # refusals since the last record of this key, not yet on the trail
    object: str = ""  # what the last folded one was about


class Denials:
    """Puts refusals on the audit trail, folding repeats (see the module's docstring); the
    interceptors that refuse are handed it."""

    def __init__(self, store: Store, log, *, fold_seconds: float = FOLD_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.log = log
        self.fold_seconds = fold_seconds
        self.clock = clock
        self._intervals: dict[tuple[str, str, str], _Interval] = {}
        self._lock = threading.Lock()

    def refuse(self, context, method: str, caller: authz.Caller, request, exc: Exception) -> NoReturn:
        """Records the refusal on the audit trail (nothing else changes) and ends the call."""
        self.record(method, caller, request, str(exc))
        context.abort(code_of(exc), str(exc))
        raise AssertionError("context.abort() returned")  # it raises: the call is over

    def record(self, method: str, caller: authz.Caller, request, detail: str | bytes) -> None:
        detail = detail.decode() if isinstance(detail, bytes) else detail
        key, now = (caller.actor, method, detail), self.clock()
        with self._lock:
            interval = self._intervals.get(key)
            if interval is not None and now - interval.started < self.fold_seconds:
                interval.folded += 1
                interval.object = _object_of(request)
                return
            count = 1 + (interval.folded if interval is not None else 0)
            if len(self._intervals) >= MAX_KEYS:
                self._forget_finished(now)
            self._intervals[key] = _Interval(now)
        self._write(caller.actor, method, _object_of(request), detail, count)

    def flush(self) -> None:
        """Put the refusals folded so far on the trail (the node is stopping)."""
        with self._lock:
            pending = [(key, interval.object, interval.folded) for key, interval in self._intervals.items()
                       if interval.folded]
            for interval in self._intervals.values():
                interval.folded = 0
        for (actor, method, detail), object, count in pending:
            self._write(actor, method, object, detail, count)

    def _forget_finished(self, now: float) -> None:
        finished = [key for key, interval in self._intervals.items()
                    if not interval.folded and now - interval.started >= self.fold_seconds]
        for key in finished:
            del self._intervals[key]

    def _write(self, actor: str, method: str, object: str, detail: str, count: int) -> None:
        text = detail if count == 1 else f"{detail} [count={count}]"
        try:
            with self.store.transaction() as tx:
                audit.append(tx.conn, actor, method, object, "denied", text)
        except Exception as failure:  # the store is closing: the refusal still stands
            self.log.warning("api.audit_failed", method=method, error=str(failure))
        self.log.info("api.denied", method=method, actor=actor, reason=detail, count=count)


class DenialAudit(Interceptor):
    """Last in the chain, around the servicer: the store names the caller in the record of what the
    call writes (audit.acting_as), and a call the domain refused (a department deciding another's
    request) is on the trail too; other failures are not refusals."""

    def __init__(self, denials: Denials):
        super().__init__()
        self.denials = denials

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        if streams_out:
            def audited_stream(request, context):
                caller = call.caller()
                with audit.acting_as(caller.actor, method):
                    try:
                        yield from behaviour(request, context)
                    except Exception:
                        self._record_refusal(context, method, caller, request)
                        raise
            return audited_stream

        def audited(request, context):
            caller = call.caller()
            with audit.acting_as(caller.actor, method):
                try:
                    return behaviour(request, context)
                except Exception:
                    self._record_refusal(context, method, caller, request)
                    raise
        return audited

    def _record_refusal(self, context, method: str, caller: authz.Caller, request) -> None:
        refused = context.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED) or (
            context.code() == grpc.StatusCode.FAILED_PRECONDITION and authz.RULES.get(method, NO_RULE).audit_refusals)
        if refused:
            self.denials.record(method, caller, request, context.details() or "")


def _object_of(request) -> str:
    """A short name for what a refused call was about, for the audit trail."""
    for field in ("resource_code", "request_id", "consumer_code", "department_code", "peer"):
        value = getattr(request, field, "")
        if isinstance(value, str) and value:
            return f"{field} {value}"
    entry = getattr(request, "entry", None)
    if entry is not None and getattr(entry, "resource_code", ""):
        return f"resource_code {entry.resource_code}"
    return ""
