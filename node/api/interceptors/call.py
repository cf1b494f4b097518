"""What the chain has learned about the call under way: who is calling (`caller()`, set by the
identity interceptor) and the rule of the table that let them in (`rule()`, set by the
authorization interceptor), for the interceptors after them.

Context variables, as the audit trail's actor is (node/security/audit.py): a call runs on one
thread of the server's pool from its first interceptor to its servicer, a stream's generators
and the iterator of its request messages included, and each value is reset as the call ends.
"""

from __future__ import annotations

import contextlib
import contextvars

from node.security import authz

_CALLER: contextvars.ContextVar[authz.Caller] = contextvars.ContextVar("api_caller")
_RULE: contextvars.ContextVar[authz.Rule] = contextvars.ContextVar("api_rule")


def caller() -> authz.Caller:
    """Who is making the call under way in this thread."""
    return _CALLER.get()


def rule() -> authz.Rule:
    """The rule that let the call under way in this thread in."""
    return _RULE.get()


@contextlib.contextmanager
def _bound(variable: contextvars.ContextVar, value):
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)


def called_by(caller: authz.Caller):
    """The caller of the call under way, for the interceptors after this one and the servicer."""
    return _bound(_CALLER, caller)


def allowed_by(rule: authz.Rule):
    """The rule that let the call under way in."""
    return _bound(_RULE, rule)
