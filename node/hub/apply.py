"""Applying what a peer sent, exactly once: screening (one source per datum), refusals and
conflicts, versions, tombstones and the peer's cursor, all as plain functions over one store
transaction. No gRPC: node/hub/puller.py decodes the stream into the dataclasses of
node/source/changes.py and hands them here.

A batch is applied together with the cursor after it, so a crash leaves the hub at the last
applied batch; an entry replaces the hub's copy only with a higher version, so a replayed
batch changes nothing. A snapshot slice is the truth for its code range: entries of the peer's
that it no longer holds become tombstones (version 0, so any later version replaces them).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from node.model import regions, rules
from node.model.rules import Entry
from node.config import Peer
from node.errors import InvalidEntry
from node.model.request import Request
from node.model.sync import Batch, Slice
from node.security.signing import verifier_for
from node.sharing.seals import signature_refusal
from node.store import Staged, Transaction, stage
from node.times import format_time

if TYPE_CHECKING:
    from node.sharing.corrections import Corrections
    from node.sharing.workflow import Sharing



@dataclasses.dataclass
class PullResult:
    applied: int = 0
    unchanged: int = 0
    refused: int = 0
    conflicts: int = 0
    batches: int = 0
    resynced: bool = False
    tombstoned: int = 0
    requests: int = 0
    first_problem: str = ""

    def add(self, other: "PullResult") -> None:
        for field in ("applied", "unchanged", "refused", "conflicts", "batches", "tombstoned", "requests"):
            setattr(self, field, getattr(self, field) + getattr(other, field))
        self.resynced = self.resynced or other.resynced
        self.first_problem = self.first_problem or other.first_problem


def refusal(peer: Peer, entry: Entry) -> str | None:
    """Why the hub refuses an entry a peer sent, or None: one source per datum means a peer
    speaks only for entries it owns, of providers in its own region (or, for a ministry, the
    centre), and only for valid entries."""
    if entry.origin != peer.id:
        return f"origin {entry.origin!r} is not the peer {peer.id!r}"
    if not regions.within(entry.region_code, peer.region_code):
        return f"region {entry.region_code} lies outside the peer's region {peer.region_code}"
    try:
        rules.validate_entry(entry)
    except InvalidEntry as exc:
        return f"invalid entry: {exc}"
    if entry.version < 1:
        return "version must be at least 1"
    return None


@dataclasses.dataclass(frozen=True)
class PreparedBatch:
    """A batch checked and turned into rows before the write lock is taken (in a worker process
    for a large batch, see node/workers.py): `entries` are the batch's entries staged, with no
    rows for those refused for `reasons`; `batch` holds the rest of the batch. At a secure hub,
    `signatures` says for each of the batch's request versions why its signature does not show
    who made it (None: it does), checked against the federation CA off the applying thread."""

    batch: Batch
    entries: list[Staged]
    reasons: list[str | None]
    signatures: list[str | None] | None = None


@dataclasses.dataclass(frozen=True)
class PreparedSlice:
    """A snapshot slice checked and turned into rows before the write lock is taken, as a batch
    is (`PreparedBatch`)."""

    part: Slice
    entries: list[Staged]
    reasons: list[str | None]


def prepare_batch(peer: Peer, batch: Batch, ca_pem: bytes | None = None) -> PreparedBatch:
    """The batch checked and staged; with the federation CA (`ca_pem`), its request versions'
    signatures checked too (the maker rule, which needs the hub's copy, waits for the transaction)."""
    signatures = None
    if ca_pem is not None:
        verify, now = verifier_for(ca_pem).verify, rules.utcnow()  # certificates valid now, in real time
        signatures = [signature_refusal(verify, request, now) for request in batch.requests]
    return PreparedBatch(dataclasses.replace(batch, entries=[]), *_staged(peer, batch.entries), signatures)


def prepare_slice(peer: Peer, part: Slice) -> PreparedSlice:
    return PreparedSlice(dataclasses.replace(part, entries=[]), *_staged(peer, part.entries))


def _staged(peer: Peer, entries: list[Entry]) -> tuple[list[Staged], list[str | None]]:
    """The entries staged, and why the hub refuses each (None: it does not); a refused entry
    gets no rows."""
    reasons = [refusal(peer, e) for e in entries]
    return [stage(e, valid=reason is None) for e, reason in zip(entries, reasons)], reasons


def apply_batch(tx: Transaction, peer: Peer, prepared: PreparedBatch, now: datetime,
                sharing: "Sharing | None", corrections: "Corrections | None" = None) -> PullResult:
    """Applies one batch and the cursor after it; a replayed batch changes nothing."""
    batch, stamp = prepared.batch, format_time(now)
    result, accepted, held = _screen(tx, peer, prepared.entries, prepared.reasons, stamp)
    writes = [e for e in accepted if e.resource_code not in held or e.version > held[e.resource_code].version]
    tx.put_rows([e.rows for e in writes], log=False, chunk_size=len(writes))  # built already: one chunk
    tx.record("entry", [e.resource_code for e in writes])
    result.applied, result.unchanged, result.batches = len(writes), len(accepted) - len(writes), 1
    _take_requests(tx, peer, batch, stamp, result, sharing, prepared.signatures)
    _take_corrections(tx, peer, batch, stamp, result, corrections)
    fields = dict(epoch=batch.next.epoch, seq=batch.next.seq, head_seq=batch.head_seq, last_success=stamp,
                  last_error="", failures=0)
    if batch.last:
        fields["entries_at_peer"] = batch.live_entries
    tx.update_peer(peer.id, **fields)
    return result


def apply_slice(tx: Transaction, peer: Peer, prepared: PreparedSlice, now: datetime,
                redeliver: list[Request] = (), redeliver_corrections: list = ()) -> PullResult:
    """Applies one snapshot slice with the resync's progress. On the last slice the resync ends:
    the cursor continues from the snapshot's head, and `redeliver` (the hub's copies of the
    peer's requests: a restored peer may have lost versions) is queued for delivery, with
    `redeliver_corrections` (its corrections) likewise."""
    part, stamp = prepared.part, format_time(now)
    state = tx.peer(peer.id)
    if state.resync_after is None or not part.after_code:
        state = state._replace(resync_seq=part.cursor.seq)
    result, accepted, held = _screen(tx, peer, prepared.entries, prepared.reasons, stamp)
    writes = [e for e in accepted if e.resource_code not in held
              or (held[e.resource_code].version, held[e.resource_code].content_hash()) != (e.version, e.content_hash)]
    gone = _gone(tx, peer, part, {e.resource_code for e in prepared.entries})
    tombs = [dataclasses.replace(e, withdrawn=True, version=0, updated_at=now) for e in gone.values()
             if not (e.withdrawn and e.version == 0)]
    tx.put_rows([e.rows for e in writes], log=False, chunk_size=len(writes))
    tx.put_entries(tombs, log=False)
    tx.record("entry", (e.resource_code for e in writes + tombs))
    result.applied, result.unchanged, result.tombstoned = len(writes), len(accepted) - len(writes), len(tombs)
    resync_seq = min(state.resync_seq or part.cursor.seq, part.cursor.seq)
    if part.done:
        for request in redeliver:
            tx.enqueue(request.request_id, peer.id, request.version)
        for correction in redeliver_corrections:
            tx.enqueue(correction.correction_id, peer.id, correction.version, kind="correction")
        tx.update_peer(peer.id, epoch=part.cursor.epoch, seq=resync_seq, resync_after=None, resync_epoch="",
                       resync_seq=None, resyncs=state.resyncs + 1, last_success=stamp,
                       last_error="", failures=0)
    else:
        tx.update_peer(peer.id, resync_after=part.range_end, resync_epoch=part.cursor.epoch, resync_seq=resync_seq)
    return result


def restart_resync(tx: Transaction, peer: Peer, part: Slice) -> None:
    """The peer changed epoch again during a resync: what was applied may be stale, so the next
    pull starts the resync over, from the first code."""
    tx.update_peer(peer.id, resync_after="", resync_epoch=part.cursor.epoch, resync_seq=part.cursor.seq)


def record_failure(tx: Transaction, peer: Peer, error: str, failures: int, now: datetime) -> None:
    tx.update_peer(peer.id, last_error=error, failures=failures, last_attempt=format_time(now))


def note_head(tx: Transaction, peer_id: str, epoch: str, head_seq: int) -> None:
    """A Notify's head (same epoch as the cursor) is noted, so that status shows how far behind
    the hub is even while pulls fail."""
    row = tx.peer(peer_id)
    if row.epoch == epoch and head_seq > row.head_seq:
        tx.update_peer(peer_id, head_seq=head_seq)


def _gone(tx: Transaction, peer: Peer, part: Slice, sent: set[str]) -> dict[str, Entry]:
    """The peer's entries in the slice's code range that the slice (which sent `sent`) no longer holds."""
    held = tx.codes_in_range(peer.id, part.after_code, part.range_end if not part.done else None)
    return tx.entries(c for c in held if c not in sent)


def _screen(tx: Transaction, peer: Peer, entries: list[Staged], reasons: list[str | None],
            stamp: str) -> tuple[PullResult, list[Staged], dict[str, Entry]]:
    """Splits the entries into those the hub takes and those it refuses, recording refusals
    and conflicts (an entry code another origin already holds keeps its first holder).
    Also returns the hub's current copies of the entries it takes."""
    result = PullResult()
    problems: list[tuple[str, str, str, str, str]] = []
    valid = []
    for entry, reason in zip(entries, reasons):
        if reason:
            problems.append((peer.id, entry.resource_code, "", reason, stamp))
            result.refused += 1
        else:
            valid.append(entry)
    held = tx.entries(e.resource_code for e in valid)
    taken = []
    for entry in valid:
        old = held.get(entry.resource_code)
        if old is not None and old.origin != peer.id:
            problems.append((peer.id, entry.resource_code, old.origin, f"code already held by {old.origin}", stamp))
            result.conflicts += 1
        else:
            taken.append(entry)
    if problems:
        tx.add_conflicts(problems)
        result.first_problem = problems[0][3]
    return result, taken, held


def _take_requests(tx: Transaction, peer: Peer, batch: Batch, stamp: str, result: PullResult,
                   sharing: "Sharing | None", signatures: list[str | None] | None) -> None:
    """Takes the peer's request versions (a peer speaks only for requests it is a party to) and
    hands them to the hub's sharing, whose router queues their delivery; `signatures`, when
    the batch's signatures were checked already (`prepare_batch`)."""
    problems = [(peer.id, request_id, "", f"invalid request: {why}", stamp)
                for request_id, why in batch.unreadable_requests]
    taken, signed = [], []
    checked = signatures if signatures is not None else [None] * len(batch.requests)
    for request, signature in zip(batch.requests, checked):
        if peer.id in (request.consumer_node, request.owner_node):
            taken.append(request)
            signed.append(signature)
        else:
            problems.append((peer.id, request.request_id, "", f"request does not involve {peer.id}", stamp))
    if taken and sharing is not None:
        receipts = sharing.receive_in(tx, taken, source=peer.id, signed=signed if signatures is not None else None)
        result.requests = sum(receipt.applied for receipt in receipts)
        # A version its sender could not have made (forged, or unsigned at a secure hub) counts
        # against the peer that sent it, like an entry refused for its origin.
        problems += [(peer.id, request.request_id, "", f"request version refused: {receipt.refused}", stamp)
                     for request, receipt in zip(taken, receipts) if receipt.refused]
    if problems:
        tx.add_conflicts(problems)
        result.refused += len(problems)
        result.first_problem = result.first_problem or problems[0][3]


def _take_corrections(tx: Transaction, peer: Peer, batch: Batch, stamp: str, result: PullResult,
                      corrections: "Corrections | None") -> None:
    """Takes the peer's correction versions as `_take_requests` takes request versions: a peer
    speaks only for corrections it files or owns; the hub's corrections queue their delivery.
    (Their signatures are checked in the transaction: corrections are few beside requests.)"""
    if not batch.corrections or corrections is None:
        return
    problems, taken = [], []
    for correction in batch.corrections:
        if peer.id in (correction.filer_node, correction.owner_node):
            taken.append(correction)
        else:
            problems.append((peer.id, correction.correction_id, "", f"correction does not involve {peer.id}", stamp))
    receipts = corrections.receive_in(tx, taken, source=peer.id)
    result.requests += sum(receipt.applied for receipt in receipts)
    problems += [(peer.id, c.correction_id, "", f"correction version refused: {receipt.refused}", stamp)
                 for c, receipt in zip(taken, receipts) if receipt.refused]
    if problems:
        tx.add_conflicts(problems)
        result.refused += len(problems)
        result.first_problem = result.first_problem or problems[0][3]
