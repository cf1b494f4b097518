"""A correction notice (校核纠错) as every node holds it: a party that received a resource's data
(a consumer with a grant, or the hub's cross-source check) says that one record of it is wrong,
and the owner answers within a number of working days.

A correction travels like a sharing request (node/model/request.py): its copies live at the
filer's node, the hub and the owner's node; each state change bumps its version at the node that
makes it, and a copy is replaced only by a newer one (`newer`): a higher version, or at the same
version a later state in the precedence filed < open < corrected < no_fault < rejected. The
filer's node files (`filed`); the owner's node opens it on arrival with a deadline (`open`), or
refuses it at once (`rejected`: no such entry, no such item), and the owner department answers
`corrected`, `no_fault` or `rejected`, the last two with a reason.

The record's key is never part of a version in clear: it is sealed to the owner's node
(`sealed_key`, node/security/sealing.py), so the hub and every other node hold only bytes they
cannot read; the owner's node opens it on arrival and keeps it apart, in a table no change log
names.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime

from node.model.calendar import CHINA, Calendar
from node.model.request import Event
from node.model.rules import Entry
from node.times import format_time

STATES = ("filed", "open", "corrected", "no_fault", "rejected")
PRECEDENCE = {"filed": 0, "open": 1, "corrected": 2, "no_fault": 3, "rejected": 4}
ANSWERS = ("corrected", "no_fault", "rejected")
KINDS = ("wrong_value", "missing", "outdated")  # what is wrong with the record's items
FILER_MAKES = ("filed",)
OWNER_MAKES = ("open", "corrected", "no_fault", "rejected")
HUB_FILER = "hub"  # the filer code of a correction the hub's cross-source check files


@dataclasses.dataclass(slots=True)
class Correction:
    correction_id: str
    filer_code: str  # the department that files it (the hub's data authority for a cross-check)
    filer_node: str
    resource_code: str
    owner_code: str
    owner_node: str
    data_items: tuple[str, ...]
    kind: str  # wrong_value | missing | outdated
    evidence: str
    key_items: tuple[str, ...]  # the names of the key's items (公民身份号码): not the values
    sealed_key: bytes  # the key's values, sealed to the owner's node (node/security/sealing.py)
    state: str
    reason: str
    version: int
    created_at: datetime
    updated_at: datetime
    deadline: str = ""
    history: tuple[Event, ...] = ()
    signer: str = ""
    signature: bytes = b""
    signer_cert: bytes = b""

    def advanced(self, state: str, actor: str, at: datetime, reason: str = "",
                 deadline: str | None = None) -> "Correction":
        """The next version in `state`, with the transition in its history (unsigned until its maker signs it)."""
        return dataclasses.replace(
            self, state=state, reason=reason or self.reason, version=self.version + 1, updated_at=at,
            deadline=self.deadline if deadline is None else deadline,
            history=self.history + (Event(self.version + 1, state, actor, at, reason),),
            signer="", signature=b"", signer_cert=b"")

    def overdue(self, now: datetime) -> bool:
        """Whether the owner's answer is past its deadline (an open correction only)."""
        return self.state == "open" and bool(self.deadline) and (
            now.astimezone(CHINA).date() > date.fromisoformat(self.deadline))

    def answered_at(self) -> datetime | None:
        for event in reversed(self.history):
            if event.state in ANSWERS:
                return event.at
        return None


def newer(incoming: Correction, current: Correction | None) -> bool:
    """Whether `incoming` replaces `current`: the rule every node applies, so copies converge."""
    if current is None:
        return True
    return (incoming.version, PRECEDENCE[incoming.state], incoming.reason) > (
        current.version, PRECEDENCE[current.state], current.reason)


# What the first version fixes: no later version, whoever makes it, may change it.
IMMUTABLE = ("filer_code", "filer_node", "resource_code", "owner_code", "owner_node", "data_items", "kind",
             "evidence", "key_items", "sealed_key", "created_at")


def canonical(correction: Correction) -> bytes:
    """The bytes a version's maker signs (as node/model/request.py `canonical`)."""
    body = {
        "correction_id": correction.correction_id, "filer_code": correction.filer_code,
        "filer_node": correction.filer_node, "resource_code": correction.resource_code,
        "owner_code": correction.owner_code, "owner_node": correction.owner_node,
        "data_items": list(correction.data_items), "kind": correction.kind, "evidence": correction.evidence,
        "key_items": list(correction.key_items), "sealed_key": correction.sealed_key.hex(),
        "state": correction.state, "reason": correction.reason, "version": correction.version,
        "created_at": format_time(correction.created_at), "updated_at": format_time(correction.updated_at),
        "deadline": correction.deadline,
        "history": [[e.version, e.state, e.actor, format_time(e.at), e.note] for e in correction.history],
        "signer": correction.signer,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def maker_refusal(correction: Correction, held: Correction | None) -> str | None:
    """Why node `correction.signer` may not have made this version (None: it may): the filer's
    node files, the owner's node opens and answers; the id names the filer's node; no version
    changes what the first one fixed; an answered correction is never answered again."""
    maker = correction.signer
    if not correction.correction_id.startswith(correction.filer_node + "-"):
        return f"correction id {correction.correction_id} does not name its filer's node {correction.filer_node}"
    if held is not None:
        changed = [name for name in IMMUTABLE if getattr(correction, name) != getattr(held, name)]
        if changed:
            return f"changes {', '.join(changed)}, which the correction's first version fixed"
        if held.state in ANSWERS and correction.state != held.state:
            return f"the correction was already answered {held.state}"
    if correction.state in OWNER_MAKES and maker == correction.owner_node:
        return None
    if correction.state in FILER_MAKES and maker == correction.filer_node:
        return None
    who, party = (("the owner's node", correction.owner_node) if correction.state in OWNER_MAKES
                  else ("the filer's node", correction.filer_node))
    return f"{correction.state} is made only by {who} {party or '(none)'}, not by {maker or 'an unsigned maker'}"


def recipients(correction: Correction, here: str, source: str) -> set[str]:
    """The nodes a relaying node (the hub) must still pass this version to: the filer's and the
    owner's, less itself and the node the version came from."""
    return {correction.filer_node, correction.owner_node} - {here, source, ""}


def arrive(correction: Correction, entry: Entry | None, node_id: str, calendar: Calendar,
           now: datetime) -> Correction:
    """What the owner's node does when a correction reaches it: refused at once when the entry
    or an item is unknown, else open with the deadline for the owner's answer."""
    if entry is None or entry.withdrawn:
        return correction.advanced("rejected", node_id, now, f"no catalog entry {correction.resource_code} here")
    known = {item.name for item in entry.data_items}
    missing = [name for name in (*correction.data_items, *correction.key_items) if name not in known]
    if missing:
        return correction.advanced("rejected", node_id, now,
                                   f"{', '.join(missing)} is not a data item of {correction.resource_code}")
    return correction.advanced("open", node_id, now, "awaiting the owner's answer",
                               deadline=calendar.deadline(now).isoformat())
