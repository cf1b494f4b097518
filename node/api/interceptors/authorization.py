"""Authorization: whether the table (node/security/authz.py) lets the caller make this call, with
this request, each message of a client stream as it arrives, and see this reply. A refusal ends
the call on the audit trail. An insecure node lets every call in, under a rule for anyone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.api.interceptors import call
from node.api.interceptors.interceptor import Interceptor
from node.errors import PermissionDenied, Unauthenticated
from node.security import audit, authz

if TYPE_CHECKING:
    from node.api.interceptors.denials import Denials

INSECURE = authz.Rule(authz.ANYONE)


class Authorization(Interceptor):
    """Sets `call.rule()` for the rest of the call; `policy` is None on an insecure node."""

    def __init__(self, policy: authz.Policy | None, denials: Denials):
        super().__init__()
        self.policy = policy
        self.denials = denials

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        check_messages = streams_in and self.policy is not None

        if streams_out:
            def allowed_stream(request, context):
                caller = call.caller()
                on_behalf: set[str] = set()
                rule = self._admit(method, context, caller, request, streams_in, on_behalf)
                with call.allowed_by(rule), audit.acting_for(on_behalf):
                    if check_messages:
                        request = self._checked_messages(request, rule, caller, context, method, on_behalf)
                    yield from behaviour(request, context)
            return allowed_stream

        def allowed(request, context):
            caller = call.caller()
            on_behalf: set[str] = set()
            rule = self._admit(method, context, caller, request, streams_in, on_behalf)
            with call.allowed_by(rule), audit.acting_for(on_behalf):
                if check_messages:
                    request = self._checked_messages(request, rule, caller, context, method, on_behalf)
                reply = behaviour(request, context)
            if self.policy is not None and reply is not None:
                try:
                    self.policy.check_reply(rule, caller, reply)
                except PermissionDenied as exc:
                    self.denials.refuse(context, method, caller, request, exc)
            return reply
        return allowed

    def _admit(self, method: str, context, caller: authz.Caller, request, streams_in: bool,
               on_behalf: set[str]) -> authz.Rule:
        """The rule that lets the caller in; a unary request is checked here, a stream's messages
        as they arrive. `on_behalf` gathers the departments it acts for besides the caller's."""
        if self.policy is None:
            return INSECURE
        try:
            rule = self.policy.rule(method)
            self.policy.admit(rule, caller)
            if not streams_in:
                self.policy.check_request(rule, caller, request)
                on_behalf.update(self.policy.acting_for(rule, caller, request))
        except (Unauthenticated, PermissionDenied) as exc:
            self.denials.refuse(context, method, caller, request, exc)
        return rule

    def _checked_messages(self, messages, rule: authz.Rule, caller: authz.Caller, context, method: str,
                          on_behalf: set[str]):
        """A client stream's messages, each checked as it arrives; the first that speaks for
        another department ends the call."""
        for message in messages:
            try:
                self.policy.check_request(rule, caller, message)
            except PermissionDenied as exc:
                self.denials.refuse(context, method, caller, message, exc)
            on_behalf.update(self.policy.acting_for(rule, caller, message))
            yield message
