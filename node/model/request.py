"""A sharing request (供需对接) as every node holds it: its states, its history, the merge rule
that makes every copy agree, and what the owner's node answers on arrival.

A request's copies live at the consumer's node, the owner's node and the hub. Each state
change makes a new version at the node that makes it (its *maker*). A version is numbered by
the pair (counter, maker): the maker takes the counter of the copy it holds plus one and names
itself, so two nodes acting at once on the same copy (a withdrawal crossing the owner's
pending) make `2·hebei` and `2·guangdong`, two numbers, never two different version 2s; one
maker never makes two versions with one counter, since it makes each in one transaction over
the copy it holds. A copy is replaced only by a newer one (`newer`): a higher counter, or at
the same counter a later state in the precedence (`PRECEDENCE`), then the maker, then the
reason, a total order; every node applies the same rule, so once every version has travelled,
every copy is the same. The lifecycle (docs/sharing.md) is built so that only two of its steps
can ever cross: the consumer's withdrawal and the owner's answer or extension, and the
withdrawal gives way to an answer (granted, rejected) and wins over a wait (pending, extended).
Every later step acts on a copy no one else may change: review and return happen before the
owner has the request, an objection on a refusal the owner has made, a coordination on an
objection, which the consumer cannot withdraw.

A version is only as good as its maker: `maker_refusal` says which node may make which version
(the consumer's node files, has it reviewed, withdraws and objects; the owner's node answers,
extends and scopes; the coordinator's node, `coordinator_node`, decides an objection), and a
secure node signs what it makes over `canonical` bytes, so that any node can tell who made a
version (the signing itself lives in node/security/signing.py).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime

from node.model.rules import Entry
from node.model.calendar import CHINA, Calendar
from node.times import format_time

STATES = ("submitted", "pending", "granted", "rejected", "withdrawn", "review", "returned", "objected")
# The order of two versions with one counter. Only a withdrawal and the owner's pending, extension
# or answer can share a counter (see above); the rest is there to make the order total.
PRECEDENCE = {"review": 0, "returned": 0, "submitted": 0, "pending": 1, "objected": 1, "withdrawn": 2,
              "granted": 3, "rejected": 4}
OPEN = ("submitted", "pending", "review", "returned")  # the consumer may still withdraw
# The states in which someone must act by `deadline`: the data authority reviewing, the owner
# answering, the coordinator deciding an objection.
WAITING = ("review", "pending", "objected")
# History steps that are not states of their own: an extension keeps the request pending.
EXTENDED = "extended"
MODES = ("fetch", "query", "verify")  # the modes of call a grant may allow


@dataclasses.dataclass(slots=True)
class Event:
    version: int
    state: str  # the version's state, or the step (`extended`) that kept it
    actor: str
    at: datetime
    note: str = ""
    maker: str = ""  # the node that made the version: with `version`, the version's number

    @property
    def number(self) -> str:
        return f"{self.version}·{self.maker}" if self.maker else str(self.version)


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
    # The items the grant lets out when the owner's decision narrowed those asked for (a subset of
    # data_items, in its order); () lets out every item asked for (`items_out`).
    granted_items: tuple[str, ...] = ()
    # Who made this version and their proof (node/security/signing.py): the maker's node id, its
    # ECDSA signature over `canonical(self)`, its certificate (DER). Empty from an insecure node.
    signer: str = ""
    signature: bytes = b""
    signer_cert: bytes = b""
    # The node that made this version (set on every version made since versions were numbered by
    # (counter, maker); "" on older ones); the signer, on a secure node.
    maker: str = ""

    def advanced(self, state: str, actor: str, at: datetime, reason: str = "", deadline: str | None = None,
                 step: str = "") -> "Request":
        """The next version of this request in `state`, with the transition (or `step`) in its history."""
        return dataclasses.replace(
            self, state=state, reason=reason or self.reason, version=self.version + 1, updated_at=at,
            deadline=self.deadline if deadline is None else deadline,
            history=self.history + (Event(self.version + 1, step or state, actor, at, reason),),
            signer="", signature=b"", signer_cert=b"", maker="",  # unsigned and unnamed until its maker makes it
        )

    def made_by(self, node_id: str) -> "Request":
        """This version as made by `node_id`: the maker named on it and on its event."""
        last = dataclasses.replace(self.history[-1], maker=node_id) if self.history else None
        return dataclasses.replace(self, maker=node_id, history=self.history[:-1] + ((last,) if last else ()))

    def steps(self, step: str) -> int:
        """How many times the history holds this step (`extended`, `objected`, ...)."""
        return sum(event.state == step for event in self.history)

    @property
    def items_out(self) -> tuple[str, ...]:
        """The data items the grant lets out: those the owner's decision kept, else all asked for."""
        return self.granted_items or self.data_items

    def expired(self, now: datetime) -> bool:
        """Whether the grant's validity has ended (never, without valid_until)."""
        return bool(self.valid_until) and now.astimezone(CHINA).date() > date.fromisoformat(self.valid_until)

    def overdue(self, now: datetime) -> bool:
        """Whether the step waiting now (the review, the owner's answer, the coordination) is past its deadline."""
        return self.state in WAITING and bool(self.deadline) and (
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
    return (incoming.version, PRECEDENCE[incoming.state], incoming.maker, incoming.reason) > (
        current.version, PRECEDENCE[current.state], current.maker, current.reason)


def coordinator_node(request: Request, hub: str) -> str:
    """The node whose data authority decides an objection: the owner's node when consumer and
    owner are on one node, the hub (the national data authority) when they are not."""
    return request.owner_node if request.owner_node == request.consumer_node else hub


def coordinated(request: Request) -> bool:
    """Whether this version is a coordinator's decision on an objection."""
    return request.state in ("granted", "rejected") and len(request.history) >= 2 and (
        request.history[-2].state == "objected")


# The fields the first version fixes: no later version, whoever makes it, may change them (but
# the consumer amending a returned request: `AMENDABLE`).
IMMUTABLE = ("consumer_code", "consumer_node", "resource_code", "owner_code", "owner_node", "purpose", "basis",
             "data_items", "created_at")
AMENDABLE = ("purpose", "basis", "data_items")
SCOPE = ("filter_column", "filter_prefix", "valid_until", "modes", "daily_quota", "rate", "plain", "granted_items")
CONSUMER_MAKES = ("submitted", "withdrawn", "review", "returned", "objected")
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
        "history": [[e.version, e.state, e.actor, format_time(e.at), e.note] + ([e.maker] if e.maker else [])
                    for e in request.history],
        "signer": request.signer,
    }
    if request.maker:  # only when named, so that versions signed before makers were named keep their bytes
        body["maker"] = request.maker
    # Only when not the defaults, so that versions signed before grants named modes keep their bytes.
    if request.modes != MODES:
        body["modes"] = list(request.modes)
    if request.daily_quota:
        body["daily_quota"] = request.daily_quota
    if request.rate:
        body["rate"] = request.rate
    if request.plain:
        body["plain"] = list(request.plain)
    if request.granted_items:
        body["granted_items"] = list(request.granted_items)
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def amended(request: Request, held: Request) -> bool:
    """Whether `request` may change what `held` fixed: the consumer resubmitted it, amended, after
    the held copy (still in review or returned: it had not left the consumer's side). A copy sees
    only the versions it is handed, so the resubmission may be followed already by a return, a
    pass or a withdrawal."""
    return held.state in ("review", "returned") and any(
        event.state == "resubmitted" and event.version > held.version for event in request.history)


def maker_refusal(request: Request, held: Request | None, hub: str = "") -> str | None:
    """Why node `request.signer` may not have made this version (None: it may). The consumer's
    node files, has it reviewed, withdraws and objects; the owner's node answers (pending,
    granted, rejected) and alone sets a grant's scope; the coordinator's node (`coordinator_node`,
    with `hub` this federation's hub) decides an objection, and may set the scope of the grant it
    decides; the request id names the consumer's node; the maker named is the signer; and no
    version changes what the first one fixed (`IMMUTABLE`) of the copy already held, but the
    consumer resubmitting a returned request for review with its purpose, basis and items amended."""
    maker = request.signer
    if not request.request_id.startswith(request.consumer_node + "-"):
        return f"request id {request.request_id} does not name its consumer's node {request.consumer_node}"
    if request.maker and request.maker != maker:
        return f"names {request.maker} as its maker but is signed by {maker or 'nobody'}"
    if held is not None:
        fixed = IMMUTABLE
        if amended(request, held) and maker == request.consumer_node:
            fixed = tuple(name for name in IMMUTABLE if name not in AMENDABLE)
        changed = [name for name in fixed if getattr(request, name) != getattr(held, name)]
        if changed:
            return f"changes {', '.join(changed)}, which the request's first version fixed"
    if coordinated(request):
        if hub and maker == coordinator_node(request, hub):
            return None
        return (f"a decision on an objection is made only by the coordinator's node "
                f"{coordinator_node(request, hub) if hub else '(the hub)'}, not by {maker or 'an unsigned maker'}")
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
    owner's (once the request has passed its review), less itself and the node the version came from."""
    # A request under review, or returned for correction, has not left its consumer's side yet.
    owner = "" if request.state in ("review", "returned") else request.owner_node
    return {request.consumer_node, owner} - {here, source, ""}


def offered(entry: Entry) -> tuple[str, ...]:
    """The modes of call an entry offers: a fetch of its table always; a query or a verification
    only when it marks a key item, since a record is asked for by its key."""
    return MODES if any(item.key for item in entry.data_items) else ("fetch",)


def arrive(request: Request, entry: Entry | None, node_id: str, calendar: Calendar, now: datetime,
           daily_quota: int = 0) -> Request:
    """What the owner's node does when a request reaches it: the entry's sharing type decides.
    An unconditional grant gets the modes asked that the entry offers (`offered`) and the owner
    node's default `daily_quota` (0: none)."""
    if entry is None:
        return request.advanced("rejected", node_id, now, f"no catalog entry {request.resource_code}")
    if entry.withdrawn:
        return request.advanced("rejected", node_id, now, f"entry {request.resource_code} was withdrawn")
    if entry.share_type == "unconditional":
        offers = offered(entry)
        modes = tuple(mode for mode in request.modes if mode in offers)
        if not modes:
            return request.advanced("rejected", node_id, now, f"entry {request.resource_code} offers "
                                    f"{', '.join(offers)} only: it marks no key item to ask by")
        granted = request.advanced("granted", node_id, now, "unconditional sharing: granted on arrival")
        return dataclasses.replace(granted, modes=modes, daily_quota=daily_quota or granted.daily_quota)
    if entry.share_type == "not_shared":
        return request.advanced("rejected", node_id, now, f"not shared: {entry.not_shared_basis}")
    return request.advanced("pending", node_id, now, f"conditional: {entry.share_condition}",
                            deadline=calendar.deadline(now).isoformat())
