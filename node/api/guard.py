"""The guard in front of every call: who is calling (the client certificate and the bearer
token), whether the authorization table lets them (node/security/authz.py), how many calls they
have under way, whether a stream has gone idle; and the audit trail of what was refused.

A node must stay responsive whatever a caller does. Each call runs on a thread of the server's
pool, so: an identity may have only `limits.max_calls_per_caller` calls under way; callers that
are not nodes share all but RESERVED threads of the pool, so the hub's pulls and deliveries and
health checks always find one; a stream that neither sends nor takes a message for
`limits.idle_stream_seconds` is cancelled, which frees its thread.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import threading
import time
from typing import TYPE_CHECKING, Callable

import grpc

from node.api.status_codes import code_of
from node.background import BackgroundLoop
from node.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from node.security import audit, authz, tokens
from node.security.tls import caller_identity

if TYPE_CHECKING:
    from node.config import Config
    from node.store import Store

RESERVED = 16  # threads of the pool that only nodes' calls and health checks may take


class Guard(grpc.ServerInterceptor):
    def __init__(self, config: "Config", store: "Store", workers: int, log,
                 observe: Callable[[str, str, float], None] | None = None):
        # Told (method, status code name, seconds) of every call when the node has metrics on.
        self.observe = observe
        self.secure = config.tls is not None
        self.policy = authz.Policy(config.hub_id, (p.id for p in config.peers))
        self.store = store
        self.log = log
        self.per_caller = config.limits.max_calls_per_caller
        self.shared = max(1, workers - RESERVED)
        self.tokens = tokens.TokenCache(self._check_token)
        self.watchdog = IdleWatchdog(config.limits.idle_stream_seconds, log)
        self._lock = threading.Lock()
        self._under_way: collections.Counter[str] = collections.Counter()
        self._shared_under_way = 0

    def start(self) -> None:
        self.watchdog.start()

    def stop(self) -> None:
        self.watchdog.stop()

    # -- the interceptor ---------------------------------------------------------------------

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(
                self._wrap(method, handler.stream_stream, streams_in=True, streams_out=True),
                handler.request_deserializer, handler.response_serializer)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(
                self._wrap(method, handler.stream_unary, streams_in=True),
                handler.request_deserializer, handler.response_serializer)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap(method, handler.unary_stream, streams_out=True),
                handler.request_deserializer, handler.response_serializer)
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler.unary_unary), handler.request_deserializer, handler.response_serializer)

    def _wrap(self, method: str, behaviour, *, streams_in: bool = False, streams_out: bool = False):
        def guarded(request, context):
            caller, rule = self._admit(method, context, request, streams_in)
            slot = self._take_slot(caller, rule, context, method, request, streams_in)
            stream = self.watchdog.watch(context) if streams_in else None
            try:
                if streams_in:
                    request = self._checked_messages(request, rule, caller, stream, context, method)
                with audit.acting_as(caller.actor, method):
                    try:
                        reply = behaviour(request, context)
                    except Exception:
                        self._record_refusal(context, method, caller, request)
                        raise
                if self.secure and reply is not None:
                    try:
                        self.policy.check_reply(rule, caller, reply)
                    except PermissionDenied as exc:
                        self._refuse(context, method, caller, request, exc)
                return reply
            finally:
                self.watchdog.forget(stream)
                self._give_back(slot)

        def guarded_stream(request, context):
            # A generator: the slot and the watch last as long as the stream does.
            caller, rule = self._admit(method, context, request, streams_in)
            slot = self._take_slot(caller, rule, context, method, request, True)
            stream = self.watchdog.watch(context)
            try:
                if streams_in:
                    request = self._checked_messages(request, rule, caller, stream, context, method)
                with audit.acting_as(caller.actor, method):
                    try:
                        for reply in behaviour(request, context):
                            yield reply
                            self.watchdog.touch(stream)
                    except Exception:
                        self._record_refusal(context, method, caller, request)
                        raise
            finally:
                self.watchdog.forget(stream)
                self._give_back(slot)

        handler = guarded_stream if streams_out else guarded
        return handler if self.observe is None else _observed(method, handler, streams_out, self.observe)

    # -- who, and may they ---------------------------------------------------------------------

    def _admit(self, method: str, context, request, streams_in: bool) -> tuple[authz.Caller, authz.Rule]:
        """The caller and the rule that lets them in; a refusal ends the call (on the record)."""
        if not self.secure:
            return authz.Caller(name=context.peer(), kind="insecure"), authz.Rule(authz.ANYONE)
        caller = authz.Caller()
        try:
            caller = self.certificate_of(context)
            caller = self.with_token(caller, context)
            rule = self.policy.rule(method)
            self.policy.admit(rule, caller)
            if not streams_in:
                self.policy.check_request(rule, caller, request)
        except (Unauthenticated, PermissionDenied) as exc:
            self._refuse(context, method, caller, request, exc)
        return caller, rule

    @staticmethod
    def certificate_of(context) -> authz.Caller:
        identity = caller_identity(context)
        if identity is None:
            raise Unauthenticated("a client certificate from the federation CA is required")
        name, kind = identity
        return authz.Caller(name=name, kind=kind)

    def with_token(self, caller: authz.Caller, context) -> authz.Caller:
        """The caller with what its bearer token grants, if it sent one."""
        token = _bearer(context.invocation_metadata())
        if token is None:
            return caller
        try:
            info = self.tokens.check(token)
        except tokens.InvalidToken as exc:
            raise Unauthenticated(f"the bearer token is {exc.reason}") from None
        return dataclasses.replace(caller, department=info.department_code, scopes=info.scopes,
                                   token_id=info.token_id)

    def _check_token(self, token: str) -> tokens.TokenInfo:
        with self.store.reading() as conn:
            return tokens.check(conn, token)

    def _checked_messages(self, messages, rule, caller, stream, context, method):
        """A client stream's messages, each checked as it arrives; the first that speaks for
        another department ends the call."""
        for message in messages:
            self.watchdog.touch(stream)
            if self.secure:
                try:
                    self.policy.check_request(rule, caller, message)
                except PermissionDenied as exc:
                    self._refuse(context, method, caller, message, exc)
            yield message

    def _refuse(self, context, method: str, caller: authz.Caller, request, exc: Exception) -> None:
        """Records the refusal on the audit trail (nothing else changes) and ends the call."""
        self._audit_denial(method, caller, request, str(exc))
        context.abort(code_of(exc), str(exc))

    def _record_refusal(self, context, method: str, caller: authz.Caller, request) -> None:
        """A call the domain refused (a department deciding another's request) is on the trail
        too; other failures are not refusals."""
        if context.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            self._audit_denial(method, caller, request, context.details() or "")

    def _audit_denial(self, method: str, caller: authz.Caller, request, detail) -> None:
        detail = detail.decode() if isinstance(detail, bytes) else detail
        try:
            with self.store.transaction() as tx:
                audit.append(tx.conn, caller.actor, method, _object_of(request), "denied", detail)
        except Exception as failure:  # the store is closing: the refusal still stands
            self.log.warning("api.audit_failed", method=method, error=str(failure))
        self.log.info("api.denied", method=method, actor=caller.actor, reason=detail)

    # -- how many at once ------------------------------------------------------------------------

    def _take_slot(self, caller: authz.Caller, rule: authz.Rule, context, method: str, request, streams: bool):
        if caller.kind == "insecure" or (rule.who == authz.ANYONE and not streams):
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
            self._refuse(context, method, caller, request, ResourceExhausted(problem))
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


class IdleWatchdog(BackgroundLoop):
    """Cancels streams that have neither sent nor taken a message for `idle` seconds."""

    def __init__(self, idle: float, log):
        self.idle = idle
        self.log = log
        self._streams: dict[int, list] = {}  # id -> [context, last activity]
        self._ids = itertools.count()
        self._lock = threading.Lock()
        super().__init__("idle-watchdog")

    def watch(self, context) -> int:
        with self._lock:
            stream = next(self._ids)
            self._streams[stream] = [context, time.monotonic()]
            return stream

    def touch(self, stream: int | None) -> None:
        entry = self._streams.get(stream)
        if entry is not None:
            entry[1] = time.monotonic()

    def forget(self, stream: int | None) -> None:
        with self._lock:
            self._streams.pop(stream, None)

    def run(self) -> None:
        while not self.stopping.wait(min(1.0, self.idle / 4)):
            now = time.monotonic()
            with self._lock:
                idle = [(stream, entry[0]) for stream, entry in self._streams.items() if now - entry[1] > self.idle]
                for stream, _ in idle:
                    del self._streams[stream]
            for stream, context in idle:
                self.log.info("api.stream_idle_cancelled", idle_seconds=self.idle, peer=context.peer())
                context.cancel()  # unblocks the handler's read or write; its thread is free again


def _observed(method: str, handler, streams_out: bool, observe: Callable[[str, str, float], None]):
    """The handler, timed from the guard taking the call to its last message, its status code
    told to observe; refusals by the guard itself are counted too."""
    if streams_out:
        def observed_stream(request, context):
            started = time.perf_counter()
            failure = None
            try:
                yield from handler(request, context)
            except BaseException as exc:
                failure = exc
                raise
            finally:
                observe(method, _status(context, failure), time.perf_counter() - started)
        return observed_stream

    def observed(request, context):
        started = time.perf_counter()
        failure = None
        try:
            return handler(request, context)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            observe(method, _status(context, failure), time.perf_counter() - started)
    return observed


def _status(context, failure: BaseException | None) -> str:
    code = context.code()  # set by abort() or set_code()
    if code is not None:
        return code.name
    if failure is None:
        return "OK"
    if isinstance(failure, GeneratorExit) or not context.is_active():
        return "CANCELLED"  # the caller went away, or the idle watchdog cancelled the stream
    return "UNKNOWN"  # what gRPC answers for an exception that is not a domain error


def _bearer(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


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
