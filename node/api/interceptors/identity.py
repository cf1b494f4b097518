"""Identity: who is calling. The client certificate names a node, an operator, a department (at
this node) or a tool (mutual TLS, the federation CA); a bearer token adds the department it
speaks for and its scopes, and under a department's certificate it must be that department's. A call
without a certificate, or with a token that does not check out, ends here on the audit trail;
on an insecure node every caller is named by its address."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from node.api.interceptors import call
from node.api.interceptors.interceptor import Interceptor
from node.errors import Unauthenticated
from node.security import authz, pki, tokens
from node.security.tls import caller_identity

if TYPE_CHECKING:
    from node.api.interceptors.denials import Denials
    from node.store import Store


class Identity(Interceptor):
    """Sets `call.caller()` for the rest of the call."""

    def __init__(self, secure: bool, store: Store, denials: Denials, node_id: str = ""):
        super().__init__()
        self.secure = secure
        self.node_id = node_id
        self.store = store
        self.denials = denials
        self.tokens = tokens.TokenCache(self._check_token)

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        if streams_out:
            def identified_stream(request, context):
                with call.called_by(self._identify(method, context, request)):
                    yield from behaviour(request, context)
            return identified_stream

        def identified(request, context):
            with call.called_by(self._identify(method, context, request)):
                return behaviour(request, context)
        return identified

    def _identify(self, method: str, context, request) -> authz.Caller:
        if not self.secure:
            return authz.Caller(name=context.peer(), kind="insecure")
        caller = authz.Caller()
        try:
            caller = self.certificate_of(context)
            self.check_node(caller)
            return self.with_token(caller, context)
        except Unauthenticated as exc:  # named as far as it got: the certificate, if there was one
            self.denials.refuse(context, method, caller, request, exc)

    def certificate_of(self, context) -> authz.Caller:
        identity = caller_identity(context)
        if identity is None:
            raise Unauthenticated("a client certificate from the federation CA is required")
        name, kind = identity
        if kind != "department":
            return authz.Caller(name=name, kind=kind)
        named = pki.department_of(name)
        if named is None:
            raise Unauthenticated(f"the department certificate {name!r} does not name <department>.<node>")
        return authz.Caller(name=name, kind=kind, department=named[0])

    def check_node(self, caller: authz.Caller) -> None:
        """A department's certificate counts only at its own node."""
        if caller.kind != "department" or not self.node_id:
            return
        node_id = caller.name.split(".", 1)[1]
        if node_id != self.node_id:
            raise Unauthenticated(f"the certificate is department {caller.department}'s at node {node_id}, "
                                  f"not at this node ({self.node_id})")

    def with_token(self, caller: authz.Caller, context) -> authz.Caller:
        """The caller with what its bearer token grants, if it sent one."""
        token = _bearer(context.invocation_metadata())
        if token is None:
            return caller
        try:
            info = self.tokens.check(token)
        except tokens.InvalidToken as exc:
            raise Unauthenticated(f"the bearer token is {exc.reason}") from None
        if caller.kind == "department" and info.department_code != caller.department:
            raise Unauthenticated(f"the bearer token is not department {caller.department}'s, whose certificate "
                                  f"brought it (a department's certificate goes only with its own token)")
        return dataclasses.replace(caller, department=info.department_code, scopes=info.scopes,
                                   token_id=info.token_id)

    def _check_token(self, token: str) -> tokens.TokenInfo:
        with self.store.reading() as conn:
            return tokens.check(conn, token)


def _bearer(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None
