"""A sharing request (供需对接) as every node holds it: its states, its history, the merge rule
that makes every copy agree, and what the owner's node answers on arrival.

A request's copies live at the consumer's node, the owner's node and the hub. Each state
change bumps its version at the node that makes it; a copy is replaced only by a newer one
(`newer`): a higher version, or at the same version a later state in the precedence
submitted < pending < withdrawn < granted < rejected. Every node applies the same rule, so
once every version has travelled, every copy is the same.

A version is only as good as its maker: `maker_refusal` says which node may make which version
(the consumer's node files and withdraws, the owner's node answers and scopes), and a secure
node signs what it makes over `canonical` bytes, so that any node can tell who made a version
(the signing itself lives in node/security/signing.py).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime

from node.model.rules import Entry
from node.model.calendar import CHINA, Calendar
from node.times import format_time

STATES = ("submitted", "pending", "granted", "rejected", "withdrawn")
PRECEDENCE = {"submitted": 0, "pending": 1, "withdrawn": 2, "granted": 3, "rejected": 4}
OPEN = ("submitted", "pending")
MODES = ("fetch", "query", "verify")  # the modes of call a grant may allow


@dataclasses.dataclass(slots=True)
class Event:
    version: int
    state: str
    actor: str
    at: datetime
    note: str = ""


@dataclasses.dataclass(slots=True)
class Request:
    request_id: str
    consumer_code: str
    consumer_node: str
    resource_code: str
    owner_code: str
    owner_node: str
    purpose: str
    basis: str
    data_items: tuple[str, ...]
    share_type: str
    state: str
    reason: str
    version: int
    created_at: datetime
    updated_at: datetime
    deadline: str = ""
    history: tuple[Event, ...] = ()
    # The scope of a grant (the owner's decision may narrow it): only rows whose filter_column
    # starts with filter_prefix, and only up to valid_until (YYYY-MM-DD, Beijing, inclusive).
    filter_column: str = ""
    filter_prefix: str = ""
    valid_until: str = ""
    # What the grant lets the consumer do (docs/exchange.md "Modes and quotas"): the modes of call
    # asked for at filing (narrowed only by the owner), and the owner's daily quota (calls per
    # Beijing day) and rate (calls per second); 0 is no limit.
    modes: tuple[str, ...] = MODES
    daily_quota: int = 0
    rate: int = 0
    # Personal items this grant lets out plain (the owner's decision); the others leave masked.
    plain: tuple[str, ...] = ()
    # Who made this version and their proof (node/security/signing.py): the maker's node id, its
    # ECDSA signature over `canonical(self)`, its certificate (DER). Empty from an insecure node.
    signer: str = ""
    signature: bytes = b""
    signer_cert: bytes = b""

    def advanced(self, state: str, actor: str, at: datetime, reason: str = "", deadline: str | None = None) -> "Request":
        """The next version of this request in `state`, with the transition in its history."""
        return dataclasses.replace(
            self, state=state, reason=reason or self.reason, version=self.version + 1, updated_at=at,
            deadline=self.deadline if deadline is None else deadline,
            history=self.history + (Event(self.version + 1, state, actor, at, reason),),
            signer="", signature=b"", signer_cert=b"",  # a new version is unsigned until its maker signs it
        )

    def expired(self, now: datetime) -> bool:
        """Whether the grant's validity has ended (never, without valid_until)."""
        return bool(self.valid_until) and now.astimezone(CHINA).date() > date.fromisoformat(self.valid_until)

    def overdue(self, now: datetime) -> bool:
        """Whether the owner's answer is past its deadline (a pending request only)."""
        return self.state == "pending" and bool(self.deadline) and (
            now.astimezone(CHINA).date() > date.fromisoformat(self.deadline))

    def decided_at(self) -> datetime | None:
        for event in reversed(self.history):
            if event.state in ("granted", "rejected"):
                return event.at
        return None


def newer(incoming: Request, current: Request | None) -> bool:
    """Whether `incoming` replaces `current`: the rule every node applies, so copies converge."""
    if current is None:
        return True
    return (incoming.version, PRECEDENCE[incoming.state], incoming.reason) > (
        current.version, PRECEDENCE[current.state], current.reason)


# The fields the first version fixes: no later version, whoever makes it, may change them.
IMMUTABLE = ("consumer_code", "consumer_node", "resource_code", "owner_code", "owner_node", "purpose", "basis",
             "data_items", "created_at")
SCOPE = ("filter_column", "filter_prefix", "valid_until", "modes", "daily_quota", "rate", "plain")
CONSUMER_MAKES = ("submitted", "withdrawn")
OWNER_MAKES = ("pending", "granted", "rejected")


def canonical(request: Request) -> bytes:
    """The bytes a version's maker signs: every field of the version but the signature's own,
    as sorted-key JSON with times in the store's text form, so that any copy of the version (read
    from the wire or from a store) gives the same bytes, and any change of any field other ones."""
    body = {
        "request_id": request.request_id, "consumer_code": request.consumer_code,
        "consumer_node": request.consumer_node, "resource_code": request.resource_code,
        "owner_code": request.owner_code, "owner_node": request.owner_node, "purpose": request.purpose,
        "basis": request.basis, "data_items": list(request.data_items), "share_type": request.share_type,
        "state": request.state, "reason": request.reason, "version": request.version,
        "created_at": format_time(request.created_at), "updated_at": format_time(request.updated_at),
        "deadline": request.deadline, "filter_column": request.filter_column,
        "filter_prefix": request.filter_prefix, "valid_until": request.valid_until,
        "history": [[e.version, e.state, e.actor, format_time(e.at), e.note] for e in request.history],
        "signer": request.signer,
    }
    # Only when not the defaults, so that versions signed before grants named modes keep their bytes.
    if request.modes != MODES:
        body["modes"] = list(request.modes)
    if request.daily_quota:
        body["daily_quota"] = request.daily_quota
    if request.rate:
        body["rate"] = request.rate
    if request.plain:
        body["plain"] = list(request.plain)
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def maker_refusal(request: Request, held: Request | None) -> str | None:
    """Why node `request.signer` may not have made this version (None: it may). The consumer's
    node files and withdraws; the owner's node answers (pending, granted, rejected) and alone sets
    a grant's scope; the request id names the consumer's node; and no version changes what the
    first one fixed (`IMMUTABLE`) of the copy already held."""
    maker = request.signer
    if not request.request_id.startswith(request.consumer_node + "-"):
        return f"request id {request.request_id} does not name its consumer's node {request.consumer_node}"
    if held is not None:
        changed = [name for name in IMMUTABLE if getattr(request, name) != getattr(held, name)]
        if changed:
            return f"changes {', '.join(changed)}, which the request's first version fixed"
    if request.state in OWNER_MAKES and maker == request.owner_node:
        return None
    if request.state in CONSUMER_MAKES and maker == request.consumer_node:
        if held is not None and any(getattr(request, name) != getattr(held, name) for name in SCOPE):
            return "changes the grant's scope, which only the owner's node sets"
        return None
    if request.state == "rejected" and request.version == 2 and maker == request.consumer_node:
        # Answered at filing: the entry was unknown or withdrawn, so the consumer's node refused
        # its own request before it left (Sharing.submit); that only ever closes its own request.
        return None
    who = "the owner's node" if request.state in OWNER_MAKES else "the consumer's node"
    party = request.owner_node if request.state in OWNER_MAKES else request.consumer_node
    return f"{request.state} is made only by {who} {party or '(none)'}, not by {maker or 'an unsigned maker'}"


def recipients(request: Request, here: str, source: str) -> set[str]:
    """The nodes a relaying node (the hub) must still pass this version to: the consumer's and the
    owner's, less itself and the node the version came from."""
    return {request.consumer_node, request.owner_node} - {here, source, ""}


def arrive(request: Request, entry: Entry | None, node_id: str, calendar: Calendar, now: datetime,
           daily_quota: int = 0) -> Request:
    """What the owner's node does when a request reaches it: the entry's sharing type decides.
    An unconditional grant gets the owner node's default `daily_quota` (0: none)."""
    if entry is None:
        return request.advanced("rejected", node_id, now, f"no catalog entry {request.resource_code}")
    if entry.withdrawn:
        return request.advanced("rejected", node_id, now, f"entry {request.resource_code} was withdrawn")
    if entry.share_type == "unconditional":
        granted = request.advanced("granted", node_id, now, "unconditional sharing: granted on arrival")
        return dataclasses.replace(granted, daily_quota=daily_quota) if daily_quota else granted
    if entry.share_type == "not_shared":
        return request.advanced("rejected", node_id, now, f"not shared: {entry.not_shared_basis}")
    return request.advanced("pending", node_id, now, f"conditional: {entry.share_condition}",
                            deadline=calendar.deadline(now).isoformat())
