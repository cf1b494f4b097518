"""Correction notices (校核纠错) at a node: filing, arrival at the owner's node, the owner's answer.

They travel as sharing requests do (node/sharing/workflow.py): the filer's node writes each
version into its change log, the hub pulls it, stores it by the merge rule and queues it in its
outbox for the owner's node, whose answer comes back the same way. With a `seal` (a secure
node) every version made here is signed and every version handed over is taken only from a
maker that may make it (node/model/correction.py `maker_refusal`).

The record's key is sealed at filing to the owner's node certificate, taken from the grant the
owner signed (`seal_key`); only the owner's node opens it (`open_key`) and keeps it, apart."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from node import paging
from node.errors import FailedPrecondition, InvalidRequest, NotFound, PermissionDenied
from node.model import rules
from node.model.calendar import CHINA, Calendar
from node.model.correction import (ANSWERS, HUB_FILER, KINDS, STATES, Correction, arrive, newer, recipients)
from node.model.request import Event, Request
from node.model.rules import Entry
from node.sharing.seals import CORRECTIONS
from node.sharing import fields
from node.sharing.workflow import Receipt
from node.times import format_time

if TYPE_CHECKING:
    from node.sharing.seals import Seal
    from node.store import Store, Transaction

REFUSED_VERSION = "corrections.refused_version"
PLAIN = b"plain:"  # as node/security/sealing.py: a key an insecure federation carries unsealed

SealKey = Callable[[bytes, bytes, bytes], bytes]  # (owner's certificate DER, key bytes, context) -> sealed
OpenKey = Callable[[bytes, bytes], bytes]  # (sealed, context) -> key bytes; raises on a key not ours
# (resource code, key) -> whether the owner's source holds that record (None: cannot tell)
FindRecord = Callable[[str, dict], "bool | None"]


def seal_for(grant: Request, key: dict[str, str], correction_id: str, seal_key: SealKey | None) -> bytes:
    """The key sealed to the owner's node, whose certificate is on the grant it signed; a grant
    without one (an insecure federation) carries the key `PLAIN`."""
    plain = json.dumps(key, ensure_ascii=False, sort_keys=True).encode()
    if seal_key is None or not grant.signer_cert or grant.signer != grant.owner_node:
        return PLAIN + plain
    return seal_key(grant.signer_cert, plain, correction_id.encode())


class Corrections:
    """The corrections of one node (as `Sharing` for requests; `relays` at the hub)."""

    def __init__(self, store: "Store", node_id: str, department_codes: set[str], calendar: Calendar,
                 lookup: Callable[[str], Entry | None], clock: Callable[[], datetime] = rules.utcnow,
                 relays: bool = False, seal: "Seal | None" = None, seal_key: SealKey | None = None,
                 open_key: OpenKey | None = None, find_record: FindRecord | None = None):
        self.store = store
        self.node_id = node_id
        self.department_codes = department_codes
        self.calendar = calendar
        self.lookup = lookup
        self.clock = clock
        self.relays = relays
        self.seal = seal
        self.seal_key = seal_key
        self.open_key = open_key
        self.find_record = find_record

    # -- the filer's side ------------------------------------------------------------------

    def file(self, filer_code: str, resource_code: str, data_items: list[str], key: dict[str, str], kind: str,
             evidence: str) -> Correction:
        """A consumer department that holds a grant for the resource files a correction on one record."""
        if filer_code not in self.department_codes:
            raise PermissionDenied(f"filer_code: {filer_code} is not a department of node {self.node_id}")
        self._check(resource_code, data_items, key, kind, evidence)
        grants = [r for r in self.store.list_requests(filer_code, "", ("granted",), "", 0, -1)
                  if r.resource_code == resource_code and not r.expired(self.clock())]
        if not grants:
            raise FailedPrecondition("no_grant", f"{filer_code} holds no granted request for {resource_code}: only "
                                                 "a department that received the data files a correction on it")
        return self._file(filer_code, grants[-1], data_items, key, kind, evidence)

    def file_checked(self, grant: Request, data_items: list[str], key: dict[str, str], evidence: str,
                     kind: str = "wrong_value", finding: str = "") -> Correction:
        """A discrepancy the hub's cross-source check found, filed on the copy it was read through;
        `finding` (its digest) is recorded in the same transaction, so that a hub killed in the
        middle of a run never files one twice."""
        self._check(grant.resource_code, data_items, key, kind, evidence)
        return self._file(HUB_FILER, grant, data_items, key, kind, evidence, finding)

    def _check(self, resource_code: str, data_items: list[str], key: dict[str, str], kind: str,
               evidence: str) -> None:
        if not rules.RESOURCE_CODE.match(resource_code):
            raise InvalidRequest("resource_code", rules.RESOURCE_CODE_RULE)
        if kind not in KINDS:
            raise InvalidRequest("kind", f"must be one of {', '.join(KINDS)}")
        fields.text(evidence, "evidence")
        if not data_items:
            raise InvalidRequest("data_items", "must name at least one data item the record has wrong")
        if len(set(data_items)) != len(data_items):
            raise InvalidRequest("data_items", "must not name an item twice")
        if not key or not all(name.strip() and value.strip() for name, value in key.items()):
            raise InvalidRequest("key", "must give the record's key: at least one item and its value")
        entry = self.lookup(resource_code)
        if entry is None or entry.withdrawn:
            raise NotFound(f"resource_code: no catalog entry {resource_code}")
        known = {item.name for item in entry.data_items}
        for field, names in (("data_items", data_items), ("key", list(key))):
            for i, name in enumerate(names):
                if name not in known:
                    raise InvalidRequest(f"{field}[{i}]", f"{name!r} is not a data item of {resource_code} "
                                                          f"(it has: {', '.join(sorted(known))})")

    def _file(self, filer_code: str, grant: Request, data_items: list[str], key: dict[str, str], kind: str,
              evidence: str, finding: str = "") -> Correction:
        now = self.clock()
        correction_id = f"{self.node_id}-{uuid.uuid4().hex[:20]}"
        correction = Correction(
            correction_id=correction_id, filer_code=filer_code, filer_node=self.node_id,
            resource_code=grant.resource_code, owner_code=grant.owner_code, owner_node=grant.owner_node,
            data_items=tuple(data_items), kind=kind, evidence=evidence, key_items=tuple(key),
            sealed_key=seal_for(grant, key, correction_id, self.seal_key), state="filed", reason="", version=1,
            created_at=now, updated_at=now, history=(Event(1, "filed", filer_code, now, evidence),))
        with self.store.transaction() as tx:
            if correction.owner_node == self.node_id:  # owned here: it never leaves
                correction = self._arrived(tx, self._made(correction))
            correction = self._made(correction)
            self._store(tx, [correction], source=self.node_id)
            if finding:
                tx.add_finding(finding, correction.correction_id, format_time(now))
        return correction

    # -- reading ---------------------------------------------------------------------------

    def get(self, correction_id: str) -> Correction:
        found = self.store.get_corrections([correction_id]).get(correction_id)
        if found is None:
            raise NotFound(f"correction_id: no correction {correction_id} at node {self.node_id}")
        return found

    def key(self, correction: Correction, department_code: str) -> dict[str, str]:
        """The record's key, for the owner department at the owner's node only ({} elsewhere)."""
        if correction.owner_node != self.node_id or department_code != correction.owner_code:
            return {}
        return self.store.correction_key(correction.correction_id) or {}

    def list(self, filer_code: str, owner_code: str, state: str, overdue_only: bool, page_size: int,
             page_token: str, max_page: int = 1000) -> tuple[list[Correction], str]:
        if state and state not in STATES:
            raise InvalidRequest("state", f"must be one of {', '.join(STATES)}")
        size = paging.page_size(page_size, max_page)
        offset = paging.token_number(page_token, default=0, limit=paging.MAX_OFFSET)
        today = self.clock().astimezone(CHINA).date().isoformat()
        found = self.store.list_corrections(filer_code, owner_code, "open" if overdue_only else state,
                                            today if overdue_only else "", offset, size + 1)
        return found[:size], str(offset + size) if len(found) > size else ""

    def overdue(self, correction: Correction) -> bool:
        return correction.overdue(self.clock())

    # -- the owner's side ------------------------------------------------------------------

    def answer(self, correction_id: str, department_code: str, outcome: str, reason: str) -> Correction:
        """The owner department's answer: corrected, no_fault or rejected (the last two with a reason)."""
        if outcome not in ANSWERS:
            raise InvalidRequest("outcome", f"must be one of {', '.join(ANSWERS)}")
        fields.reason(reason, "" if outcome == "corrected" else f"{outcome} always states its reason")
        with self.store.transaction() as tx:
            current = tx.corrections([correction_id]).get(correction_id)
            if current is None:
                raise NotFound(f"correction_id: no correction {correction_id} at node {self.node_id}")
            if current.owner_node != self.node_id or department_code != current.owner_code:
                raise PermissionDenied(f"department_code: only {current.owner_code} at node {current.owner_node} "
                                       f"answers correction {correction_id}")
            if department_code not in self.department_codes:
                raise PermissionDenied(f"department_code: {department_code} is not a department of node {self.node_id}")
            if current.state != "open":
                raise FailedPrecondition("already_answered" if current.state in ANSWERS else "not_open",
                                         f"correction {correction_id} is {current.state}, not open")
            answered = self._made(current.advanced(outcome, department_code, self.clock(),
                                                   reason or "corrected by the owner"))
            self._store(tx, [answered], source=self.node_id)
        return answered

    # -- versions handed over --------------------------------------------------------------

    def receive(self, correction: Correction, source: str) -> Receipt:
        """DeliverCorrection: takes a copy if it is newer; delivering a version twice changes nothing."""
        with self.store.transaction() as tx:
            return self.receive_in(tx, [correction], source)[0]

    def receive_in(self, tx: "Transaction", corrections: list[Correction], source: str) -> list[Receipt]:
        """Takes the versions `source` handed over that are newer than the copies held here and,
        on a secure node, made and signed by a node that may make them; a correction arriving at
        its owner's node is opened (its key kept apart) or refused at once."""
        current = tx.corrections(c.correction_id for c in corrections)
        results, copies, answered = [], [], []
        for correction in corrections:
            held = current.get(correction.correction_id)
            if not newer(correction, held):
                results.append(Receipt(False, held.version))
                continue
            why = self.seal.refusal(correction, held, at=rules.utcnow(), kind=CORRECTIONS) if self.seal else None
            if why:
                tx.deny(f"node:{source}", REFUSED_VERSION, correction.correction_id,
                        f"version {correction.version} ({correction.state}) claimed by "
                        f"{correction.signer or 'nobody'}: {why}")
                results.append(Receipt(False, held.version if held else 0, why))
                continue
            if correction.state == "filed" and correction.owner_node == self.node_id:
                correction = self._made(self._arrived(tx, correction))
                answered.append(correction)
            else:
                copies.append(correction)
            current[correction.correction_id] = correction
            results.append(Receipt(True, correction.version))
        self._store(tx, copies, source=source)
        self._store(tx, answered, source=self.node_id)
        return results

    def _arrived(self, tx: "Transaction", correction: Correction) -> Correction:
        """The owner's node opens the key and keeps it apart, then opens the correction for an answer."""
        try:
            key = self._opened(correction)
        except Exception as error:  # noqa: BLE001 - a key that does not open is the filer's fault, answered
            return correction.advanced("rejected", self.node_id, self.clock(), f"the record's key does not open: {error}")
        tx.keep_correction_key(correction.correction_id, key)
        entry = tx.entries([correction.resource_code]).get(correction.resource_code)
        opened = arrive(correction, entry, self.node_id, self.calendar, self.clock())
        if opened.state == "open" and self.find_record is not None and \
                self.find_record(correction.resource_code, key) is False:
            return correction.advanced("rejected", self.node_id, self.clock(),
                                       f"no record with this {', '.join(key)} in the source of {correction.resource_code}")
        return opened

    def _opened(self, correction: Correction) -> dict[str, str]:
        sealed = correction.sealed_key
        if sealed.startswith(PLAIN):
            plain = sealed[len(PLAIN):]
        elif self.open_key is None:
            raise ValueError("this node has no key to open a sealed key with")
        else:
            plain = self.open_key(sealed, correction.correction_id.encode())
        key = json.loads(plain)
        if set(key) != set(correction.key_items):
            raise ValueError("the sealed key names other items than the correction")
        return key

    def _made(self, correction: Correction) -> Correction:
        return self.seal.sign(correction, CORRECTIONS) if self.seal is not None else correction

    def _store(self, tx: "Transaction", corrections: list[Correction], source: str) -> None:
        if not corrections:
            return
        tx.put_corrections(corrections, log=True)
        if self.relays:
            for correction in corrections:
                for target in recipients(correction, self.node_id, source):
                    tx.enqueue(correction.correction_id, target, correction.version, kind="correction")
