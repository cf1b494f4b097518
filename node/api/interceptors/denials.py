"""The denial audit: every refused call is a `denied` record on the audit trail, whether an
interceptor refused it (`Denials.refuse`) or the domain did (`DenialAudit`, last in the chain,
which also names the caller on the records of what the call writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import grpc

from node.api.interceptors import call
from node.api.interceptors.interceptor import Interceptor
from node.api.status_codes import code_of
from node.security import audit, authz

if TYPE_CHECKING:
    from node.store import Store


class Denials:
    """Puts refusals on the audit trail; the interceptors that refuse are handed it."""

    def __init__(self, store: Store, log):
        self.store = store
        self.log = log

    def refuse(self, context, method: str, caller: authz.Caller, request, exc: Exception) -> NoReturn:
        """Records the refusal on the audit trail (nothing else changes) and ends the call."""
        self.record(method, caller, request, str(exc))
        context.abort(code_of(exc), str(exc))
        raise AssertionError("context.abort() returned")  # it raises: the call is over

    def record(self, method: str, caller: authz.Caller, request, detail: str | bytes) -> None:
        detail = detail.decode() if isinstance(detail, bytes) else detail
        try:
            with self.store.transaction() as tx:
                audit.append(tx.conn, caller.actor, method, _object_of(request), "denied", detail)
        except Exception as failure:  # the store is closing: the refusal still stands
            self.log.warning("api.audit_failed", method=method, error=str(failure))
        self.log.info("api.denied", method=method, actor=caller.actor, reason=detail)


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
        if context.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
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
