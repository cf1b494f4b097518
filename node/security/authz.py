"""Who may call what: one rule for every RPC a node serves, deny by default.

A caller is known by the certificate it connected with (mutual TLS: a node's, an operator's, a
department's or a tool's, all from the federation CA) and, for a department, by the bearer token
it sends. A department's certificate makes its holder that department and nothing more: never
an operator, never another department, whatever token it sends. The
table below is the whole policy; node/api/interceptors/ applies it to every call, and a test fails
if any method of any service has no rule.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from node.errors import PermissionDenied, Unauthenticated

# Who a rule lets in.
ANYONE = "anyone"  # any caller with a certificate from the federation CA (health, reflection)
READER = "reader"  # any valid token, or a node's or an operator's certificate
DEPARTMENT = "department"  # a department's token with the rule's scope, speaking only for itself
OPERATOR = "operator"  # an operator's certificate, or a token with the operator scope
HUB = "hub"  # this node's own hub, by its certificate
PEER = "peer"  # one of this hub's peers, by its certificate

# The budgets a caller's calls under way are counted in (node/api/interceptors/slots.py), each
# of `limits.max_calls_per_caller`: data streams, however many wait on a slow source, never take
# the slots of the hub's pulls, snapshots, digests, deliveries and notices.
CONTROL = "control"
DATA = "data"  # relayed and served data fetches; they share the node's threads with departments
# Query and Verify: short calls that come by the hundred at once from one department (a service
# hall's windows) and through one relaying node, counted apart from fetches and control calls
# against limits.max_keyed_calls_per_caller.
KEYED = "keyed"

WHO = {
    ANYONE: "any caller with a federation certificate",
    READER: "any valid token, or a node's or operator's certificate",
    DEPARTMENT: "a department's token with scope `{scope}`, only for its own department code",
    OPERATOR: "an operator certificate or a token with scope `operator`",
    HUB: "this node's hub (its certificate names `hub.id`)",
    PEER: "one of this hub's peers (its certificate names a `peers[].id`)",
}


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who is calling: `name` and `kind` from the client certificate, the rest from the token."""

    name: str = ""
    kind: str = ""  # node, operator, department or client
    department: str = ""  # "" for an operator token or no token; a department certificate's own
    scopes: frozenset[str] = frozenset()
    token_id: str = ""

    @property
    def has_token(self) -> bool:
        return bool(self.token_id)

    @property
    def is_operator(self) -> bool:
        # A department's certificate never makes an operator, not even with an operator's token.
        return self.kind == "operator" or ("operator" in self.scopes and self.kind != "department")

    @property
    def actor(self) -> str:
        """How the audit trail names the caller: the department and the certificate it came through."""
        if self.department:
            return f"{self.department}@{self.name}"
        if self.token_id:
            return f"token:{self.token_id}@{self.name}"
        return f"{self.kind}:{self.name}" if self.kind else (self.name or "anonymous")

    @property
    def key(self) -> str:
        """The identity whose calls under way are counted together."""
        return f"token:{self.token_id}" if self.token_id else f"{self.kind}:{self.name}"


@dataclasses.dataclass(frozen=True)
class Rule:
    who: str
    scope: str = ""
    # The department codes a request speaks for; the caller's department must be each of them.
    speaks_for: Callable[[object], Iterable[str]] | None = None
    # The department codes a reply is about; the caller's department must be one of them.
    reply_about: Callable[[object], Iterable[str]] | None = None
    # Whether an operator may also make this call (reads of requests, for oversight).
    or_operator: bool = False
    # The node a node-to-node call says it comes from; it must be the caller's certificate.
    from_node: Callable[[object], str] | None = None
    # Whether a node may also make this call, relaying it in its own name (from_node): this
    # node's hub, or one of this hub's peers (a data fetch on its way to the owner's node).
    or_relay: bool = False
    # Whether the node's data authority may make this call for any of the node's departments
    # with a token of scope `compile` (目录编制: a region's catalog is compiled under it).
    or_compile: bool = False
    # The budget the call is counted in while under way (CONTROL, DATA or KEYED).
    budget: str = CONTROL
    # The department a data stream is for: its streams under way are counted together at every
    # hop, whoever relays them (limits.max_fetches_per_department).
    per_department: Callable[[object], str] | None = None
    # Whether a refusal by the call's own rules (FAILED_PRECONDITION: a second extension, an
    # objection out of time) is a `denied` record on the audit trail too, as a PERMISSION_DENIED is.
    audit_refusals: bool = False

    def describe(self) -> str:
        text = WHO[self.who].format(scope=self.scope)
        if self.or_relay:
            text += "; or, relaying it in its own name (`from_node`), this node's hub or one of this hub's peers"
        if self.or_compile:
            text += "; or, for any department of the node, the node's data authority (`data_authority`) with scope `compile`"
        return text + ("; or an operator" if self.or_operator else "")


def _entries_of(message) -> list[str]:
    entries = ([message.entry] if message.HasField("entry") else []) + list(message.entries)
    return [e.provider_code for e in entries]


NONE_NAMED = "(none named)"


def _named(*codes: str) -> list[str]:
    """Codes a listing names; it must name at least one, and only the caller's own."""
    return [c for c in codes if c] or [NONE_NAMED]


CATALOG, CASCADE, SHARING, ADMIN = ("/node.proto.Catalog/", "/node.proto.Cascade/", "/node.proto.Sharing/",
                                    "/node.proto.Admin/")
EXCHANGE = "/node.proto.Exchange/"
CORRECTIONS = "/node.proto.Corrections/"
GOVERNANCE = "/node.proto.Governance/"
RULES: dict[str, Rule] = {
    CATALOG + "PublishEntry": Rule(DEPARTMENT, "publish", speaks_for=lambda m: [m.entry.provider_code],
                                   or_compile=True),
    CATALOG + "PublishEntries": Rule(DEPARTMENT, "publish", speaks_for=_entries_of, or_compile=True),
    # A resource code starts with its provider's code.
    CATALOG + "WithdrawEntry": Rule(DEPARTMENT, "publish", speaks_for=lambda m: [m.resource_code[:9]],
                                    or_compile=True),
    CATALOG + "GetEntry": Rule(READER),
    CATALOG + "ListEntries": Rule(READER),
    CATALOG + "SearchEntries": Rule(READER),
    CASCADE + "PullChanges": Rule(HUB),
    CASCADE + "Snapshot": Rule(HUB),
    CASCADE + "GetDigest": Rule(HUB),
    CASCADE + "Notify": Rule(PEER, from_node=lambda m: m.node_id),
    SHARING + "SubmitRequest": Rule(DEPARTMENT, "request", speaks_for=lambda m: [m.consumer_code]),
    SHARING + "WithdrawRequest": Rule(DEPARTMENT, "request", speaks_for=lambda m: [m.consumer_code]),
    SHARING + "DecideRequest": Rule(DEPARTMENT, "decide", speaks_for=lambda m: [m.department_code]),
    # The node's data authority reads the requests its node holds (authority_code: the reply's, the listing's).
    SHARING + "GetRequest": Rule(DEPARTMENT, "read", reply_about=lambda r: [r.consumer_code, r.owner_code,
                                                                             r.authority_code], or_operator=True),
    SHARING + "ListRequests": Rule(DEPARTMENT, "read", speaks_for=lambda m: _named(m.consumer_code, m.owner_code,
                                                                                   m.authority_code),
                                   or_operator=True),
    SHARING + "DeliverRequest": Rule(HUB, from_node=lambda m: m.from_node),
    CORRECTIONS + "FileCorrection": Rule(DEPARTMENT, "request", speaks_for=lambda m: [m.filer_code]),
    CORRECTIONS + "AnswerCorrection": Rule(DEPARTMENT, "decide", speaks_for=lambda m: [m.department_code]),
    # The owner department reads the record's key at its own node: no operator reads one.
    CORRECTIONS + "GetCorrection": Rule(DEPARTMENT, "read", speaks_for=lambda m: _named(m.department_code),
                                        reply_about=lambda r: [r.filer_code, r.owner_code]),
    CORRECTIONS + "ListCorrections": Rule(DEPARTMENT, "read", speaks_for=lambda m: _named(m.filer_code, m.owner_code),
                                          or_operator=True),
    CORRECTIONS + "DeliverCorrection": Rule(HUB, from_node=lambda m: m.from_node),
    # The lifecycle (docs/sharing.md); only the node's data authority reviews and coordinates,
    # which the domain checks (node/sharing/lifecycle.py): the token's scope is not enough.
    SHARING + "ReviewRequest": Rule(DEPARTMENT, "review", speaks_for=lambda m: [m.department_code],
                                    audit_refusals=True),
    SHARING + "ResubmitRequest": Rule(DEPARTMENT, "request", speaks_for=lambda m: [m.consumer_code],
                                      audit_refusals=True),
    SHARING + "ExtendRequest": Rule(DEPARTMENT, "decide", speaks_for=lambda m: [m.department_code],
                                    audit_refusals=True),
    SHARING + "ObjectRequest": Rule(DEPARTMENT, "request", speaks_for=lambda m: [m.consumer_code],
                                    audit_refusals=True),
    SHARING + "CoordinateRequest": Rule(DEPARTMENT, "coordinate", speaks_for=lambda m: [m.department_code],
                                        audit_refusals=True),
    # A consumer fetches its own request's data at its own node; the node relays to the hub,
    # the hub to the owner's node, each in its own name.
    EXCHANGE + "FetchData": Rule(DEPARTMENT, "read", speaks_for=lambda m: [m.consumer_code], or_relay=True,
                                 from_node=lambda m: m.from_node, budget=DATA,
                                 per_department=lambda m: m.consumer_code),
    # Query and Verify take the same path in the same names; short calls, so no per-department cap.
    EXCHANGE + "Query": Rule(DEPARTMENT, "read", speaks_for=lambda m: [m.consumer_code], or_relay=True,
                             from_node=lambda m: m.from_node, budget=KEYED),
    EXCHANGE + "Verify": Rule(DEPARTMENT, "read", speaks_for=lambda m: [m.consumer_code], or_relay=True,
                              from_node=lambda m: m.from_node, budget=KEYED),
    # A department sees the calls of its own requests (the servicer checks it is a party); an operator all.
    EXCHANGE + "ListCalls": Rule(DEPARTMENT, "read", speaks_for=lambda m: _named(m.department_code), or_operator=True),
    EXCHANGE + "MountResource": Rule(DEPARTMENT, "publish", speaks_for=lambda m: [m.resource_code[:9]]),
    EXCHANGE + "GetMount": Rule(DEPARTMENT, "publish", speaks_for=lambda m: [m.resource_code[:9]], or_operator=True),
    EXCHANGE + "ListExchanges": Rule(OPERATOR),
    # The registry is no secret: every node takes it from its hub, the portal shows it.
    GOVERNANCE + "GetElements": Rule(READER),
    GOVERNANCE + "PutElement": Rule(OPERATOR),
    GOVERNANCE + "ListDuplicates": Rule(READER),
    GOVERNANCE + "CheckData": Rule(DEPARTMENT, "publish", speaks_for=lambda m: [m.resource_code[:9]], or_operator=True),
    ADMIN + "Status": Rule(OPERATOR),
    ADMIN + "SyncNow": Rule(OPERATOR),
    ADMIN + "Verify": Rule(OPERATOR),
    ADMIN + "Scorecard": Rule(READER),
    "/grpc.health.v1.Health/Check": Rule(ANYONE),
    "/grpc.health.v1.Health/Watch": Rule(ANYONE),
    "/grpc.health.v1.Health/List": Rule(ANYONE),
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Rule(ANYONE),
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": Rule(ANYONE),
}


class Policy:
    """The table applied for one node, which knows its hub and its peers."""

    def __init__(self, hub_id: str, peer_ids: Iterable[str], rules: dict[str, Rule] = RULES, *,
                 data_authority: str = "", departments: Iterable[str] = ()):
        self.hub_id = hub_id
        self.peer_ids = frozenset(peer_ids)
        self.rules = rules
        self.data_authority = data_authority  # "" when the config names none: nobody compiles
        self.departments = frozenset(departments)

    def rule(self, method: str) -> Rule:
        rule = self.rules.get(method)
        if rule is None:
            raise PermissionDenied(f"{method}: no rule allows this call (deny by default)")
        return rule

    def admit(self, rule: Rule, caller: Caller) -> None:
        """Whether the caller may make this kind of call at all (before the request is read)."""
        if not caller.name:
            raise Unauthenticated("a client certificate from the federation CA is required")
        if rule.who == ANYONE:
            return
        if rule.who == READER:
            if caller.has_token or caller.kind in ("node", "operator"):
                return
            raise Unauthenticated("a bearer token is required (authorization: Bearer ...)")
        if rule.or_relay and caller.kind == "node":
            if caller.name == self.hub_id or caller.name in self.peer_ids:
                return
            raise PermissionDenied(f"only this node's hub or one of this hub's peers relays this; "
                                   f"{caller.actor} is neither")
        if rule.who == OPERATOR or (rule.or_operator and caller.is_operator):
            if caller.is_operator:
                return
            raise PermissionDenied(f"only an operator may do this; {caller.actor} is not one")
        if rule.who == HUB:
            if caller.kind == "node" and caller.name == self.hub_id:
                return
            raise PermissionDenied(f"only this node's hub ({self.hub_id}) may do this; {caller.actor} is not it")
        if rule.who == PEER:
            if caller.kind == "node" and caller.name in self.peer_ids:
                return
            raise PermissionDenied(f"only a peer of this hub may do this; {caller.actor} is not one")
        # DEPARTMENT
        if not caller.has_token:
            raise Unauthenticated("a department's bearer token is required (authorization: Bearer ...)")
        if not caller.department:
            raise PermissionDenied(f"a department's token is required; {caller.actor} speaks for none")
        if rule.scope not in caller.scopes and not (rule.or_compile and "compile" in caller.scopes):
            raise PermissionDenied(f"the token of {caller.department} lacks the scope {rule.scope!r} "
                                   f"(it has: {', '.join(sorted(caller.scopes)) or 'none'})")

    def check_request(self, rule: Rule, caller: Caller, message) -> None:
        """Whether the request speaks only for the caller's own department (or, node to node,
        comes from the node whose certificate the caller holds). A code left empty is not
        judged here: the call goes on to be refused as bad input, naming the field."""
        if rule.from_node is not None and rule.from_node(message) not in ("", caller.name):
            raise PermissionDenied(f"{caller.actor} may speak only as itself, not as {rule.from_node(message)}")
        if rule.or_relay and caller.kind == "node":
            if rule.from_node is not None and rule.from_node(message) != caller.name:
                raise PermissionDenied(f"{caller.actor} relays only in its own name (from_node: {caller.name})")
            return
        if rule.speaks_for is None or (rule.or_operator and caller.is_operator):
            return
        for code in rule.speaks_for(message):
            if not code or (code == caller.department and rule.scope in caller.scopes):
                continue
            if not (rule.or_compile and "compile" in caller.scopes):
                raise PermissionDenied(f"department {caller.department} may act only for itself, not for {code}")
            self.check_compiling(caller, code)

    def acting_for(self, rule: Rule, caller: Caller, message) -> set[str]:
        """The departments a checked request acts for other than the caller's own (the data
        authority compiling the node's catalog), for the audit trail."""
        if not rule.or_compile or rule.speaks_for is None or caller.kind == "node":
            return set()
        return {code for code in rule.speaks_for(message) if code and code != caller.department}

    def check_compiling(self, caller: Caller, code: str) -> None:
        """Whether the caller, with scope `compile`, may act for department `code`: only the
        node's data authority, and only for a department of this node."""
        if not self.data_authority or caller.department != self.data_authority:
            raise PermissionDenied(
                f"scope compile acts for the node's departments only in the hands of its data authority "
                f"(data_authority: {self.data_authority or 'none configured'}); department {caller.department} "
                f"is not it and may not act for {code}")
        if code not in self.departments:
            raise PermissionDenied(f"the data authority {caller.department} compiles only for this node's "
                                   f"departments; {code} is not one")

    def check_reply(self, rule: Rule, caller: Caller, reply) -> None:
        """Whether what the call found is the caller's to read."""
        if rule.reply_about is None or (rule.or_operator and caller.is_operator):
            return
        if caller.department not in set(rule.reply_about(reply)):
            raise PermissionDenied(f"department {caller.department} may read only its own requests and corrections")


def table() -> str:
    """The policy as a Markdown table, for docs/access.md (a test keeps the two the same)."""
    lines = ["| method | who may call it |", "| --- | --- |"]
    lines += [f"| `{method.lstrip('/')}` | {rule.describe()} |" for method, rule in RULES.items()]
    return "\n".join(lines)
