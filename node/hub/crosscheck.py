"""The hub's cross-source checks (多源校核): on a schedule, a sample of records from each copy of
a datum is checked against its authoritative source, and each discrepancy becomes a correction
notice to the copy's owner (node/sharing/corrections.py).

A check reads through grants its department (the hub's data authority) holds, like any consumer:
a fetch of the key and the element from the copy (a window of `sample` rows at a random offset),
and Verify in batches on the authoritative source, which answers match, mismatch or not found
and never a value. The values pass through the hub's memory for the one run and are dropped; the
hub keeps verdicts only: each run's counts, and a keyed digest of each discrepancy filed, so that
a record found wrong again is not filed twice. A grant the check lacks it asks for itself, and it
waits until the owner has granted it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import random
import secrets
import threading
import time
import uuid
from datetime import datetime
from typing import Callable, Iterator

from node.background import BackgroundLoop
from node.crosschecks import CrossCheck, CrossChecks
from node.model.calendar import CHINA
from node.model.request import OPEN, Request
from node.proto import exchange_pb2
from node.times import format_time

BATCH = 1000  # claims in one Verify (node/exchange/answers.py MAX_KEYS)
PURPOSE = "多源校核: {name}"
BASIS = "一数一源、多源校核: the authoritative source checks its copies"
SECRET = "crosscheck_secret"  # meta key of the digests' secret, made on first use at this hub

Fetch = Callable[[str, str, int], Iterator[bytes]]  # (request id, consumer code, offset) -> DataChunk bytes
Verify = Callable[[exchange_pb2.VerifyClaimsRequest], exchange_pb2.VerifyClaimsResponse]


@dataclasses.dataclass
class CopyResult:
    """One copy in one run: records checked, the verdicts that disagreed, corrections filed."""

    check: str
    resource_code: str
    checked: int = 0
    mismatches: int = 0
    not_found: int = 0
    filed: int = 0
    seconds: float = 0.0  # wall time of the copy's check
    detail: str = ""  # why the copy was not checked, or ""
    correction_ids: list[str] = dataclasses.field(default_factory=list)


class CrossCheckJob(BackgroundLoop):
    """Runs each configured check every `check.every` seconds; `run_check` runs one now."""

    def __init__(self, settings: CrossChecks, store, sharing, corrections, fetch: Fetch, verify: Verify, log,
                 clock: Callable[[], datetime], rng: random.Random | None = None):
        self.settings = settings
        self.store = store
        self.sharing = sharing
        self.corrections = corrections
        self.fetch = fetch
        self.verify = verify
        self.log = log
        self.clock = clock
        self.rng = rng or random.Random()
        self.sizes: dict[str, int] = {}  # copy -> rows it had at the last run, for the sample's offset
        self.rejected: dict[str, str] = {}  # entry -> why its last request was rejected, while that stands
        self.used: tuple[str, dict[str, int]] = ("", {})  # (Beijing day, check -> records checked that day)
        self._secret: bytes | None = None
        self._wake = threading.Event()
        super().__init__("crosscheck")

    def enabled(self) -> bool:
        return bool(self.settings.checks)

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        due = {check.name: 0.0 for check in self.settings.checks}
        while not self.stopping.is_set():
            now = time.monotonic()
            for check in self.settings.checks:
                if due[check.name] <= now and not self.stopping.is_set():
                    due[check.name] = now + check.every
                    try:
                        self.run_check(check)
                    except Exception as exc:  # a bug or a closing store: logged, tried again at the next turn
                        self.log.warning("crosscheck.failed", check=check.name, error=f"{type(exc).__name__}: {exc}")
            self._wake.wait(max(0.05, min(due.values()) - time.monotonic()))
            self._wake.clear()

    # -- one run ---------------------------------------------------------------------------

    def run_check(self, check: CrossCheck) -> list[CopyResult]:
        department = self.settings.department
        authority = self._grant(check, check.authority, "verify")
        results = []
        for code in check.copies:
            result = CopyResult(check.name, code)
            started = time.monotonic()
            copy = self._grant(check, code, "fetch")
            budget = self._budget(check)
            if authority is None or copy is None:
                missing = [c for c, g in ((check.authority, authority), (code, copy)) if g is None]
                result.detail = f"waiting for the grant of {', '.join(missing)} to {department}" + "".join(
                    f"; {c} was rejected: {self.rejected[c]}" for c in missing if c in self.rejected)
            elif budget == 0:
                result.detail = f"the day's quota of {check.quota} records is used"
            else:
                self._check_copy(check, authority, copy, budget, result)
            result.seconds = round(time.monotonic() - started, 3)
            with self.store.transaction() as tx:
                tx.add_crosscheck_run(check.name, code, format_time(self.clock()), result.checked, result.mismatches,
                                      result.not_found, result.filed, result.seconds, result.detail)
            self.log.info("crosscheck.ran", check=check.name, copy=code, checked=result.checked,
                          mismatches=result.mismatches, not_found=result.not_found, filed=result.filed,
                          seconds=result.seconds, detail=result.detail)
            results.append(result)
        return results

    def _check_copy(self, check: CrossCheck, authority: Request, copy: Request, budget: int,
                    result: CopyResult) -> None:
        records = self._sample(check, copy, budget)
        result.checked = len(records)
        self._count(check, len(records))
        found: list[tuple[str, str, str]] = []  # (key, claimed value, verdict)
        for start in range(0, len(records), BATCH):
            part = records[start:start + BATCH]
            reply = self.verify(exchange_pb2.VerifyClaimsRequest(
                request_id=authority.request_id, consumer_code=self.settings.department, call_id=uuid.uuid4().hex,
                batch=[exchange_pb2.Claim(key={check.key: k}, claims={check.element: v}) for k, v in part]))
            found += [(k, v, verdict.overall) for (k, v), verdict in zip(part, reply.verdicts)
                      if verdict.overall != "match"]
        result.mismatches = sum(verdict == "mismatch" for _, _, verdict in found)
        result.not_found = sum(verdict == "not_found" for _, _, verdict in found)
        digests = [self._digest(check, copy.resource_code, k) for k, _, _ in found]
        with self.store.transaction() as tx:
            new = set(tx.new_findings(digests))
        for (key, value, verdict), digest in zip(found, digests):
            if digest not in new:
                continue
            evidence = (f"多源校核 {check.name}: {check.element} differs from the authoritative source "
                        f"{check.authority}" if verdict == "mismatch" else
                        f"多源校核 {check.name}: the authoritative source {check.authority} has no record with this "
                        f"{check.key}")
            filed = self.corrections.file_checked(copy, [check.element], {check.key: key}, evidence,
                                                  kind="wrong_value" if verdict == "mismatch" else "outdated",
                                                  finding=digest)
            result.filed += 1
            result.correction_ids.append(filed.correction_id)

    def _sample(self, check: CrossCheck, copy: Request, budget: int) -> list[tuple[str, str]]:
        """(key, element) of up to `budget` rows of the copy, from a random offset."""
        known = self.sizes.get(copy.resource_code, 0)
        offset = self.rng.randrange(known - budget + 1) if known > budget else 0
        chunks = self.fetch(copy.request_id, self.settings.department, offset)
        records: list[tuple[str, str]] = []
        try:
            columns = None
            for data in chunks:
                chunk = exchange_pb2.DataChunk.FromString(data)
                if columns is None:
                    columns = list(chunk.columns)
                    at_key, at_element = columns.index(check.key), columns.index(check.element)
                    if chunk.expected_rows >= 0:
                        self.sizes[copy.resource_code] = chunk.expected_rows
                records += [(row.values[at_key], row.values[at_element]) for row in chunk.rows]
                if chunk.last:
                    self.sizes[copy.resource_code] = chunk.total_rows
                if len(records) >= budget:
                    break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # the rest of the stream is not wanted: the call upstream is cancelled
        return [(k, v) for k, v in records[:budget] if k]

    # -- grants, quota, digests ------------------------------------------------------------

    def _grant(self, check: CrossCheck, code: str, mode: str) -> Request | None:
        """The department's grant for `code` in `mode` with both items; asked for when there is none."""
        department = self.settings.department
        held = [r for r in self.store.list_requests(department, "", (), "", 0, -1) if r.resource_code == code]
        for request in reversed(held):
            if request.state == "granted" and mode in request.modes and not request.expired(self.clock()) and \
                    {check.key, check.element} <= set(request.items_out):
                return request
        if not any(r.state in OPEN for r in held):
            asked = self.sharing.submit(department, code, PURPOSE.format(name=check.name), BASIS,
                                        [check.key, check.element], [mode])
            self.log.info("crosscheck.asked", check=check.name, resource_code=code, request_id=asked.request_id,
                          state=asked.state)
            if asked.state == "granted":
                return asked
        # Said in the run's detail while the last request stands rejected (an entry that offers no such mode).
        if held and held[-1].state == "rejected":
            self.rejected[code] = held[-1].reason
        else:
            self.rejected.pop(code, None)
        return None

    def _budget(self, check: CrossCheck) -> int:
        if not check.quota:
            return check.sample
        day, used = self._today()
        return max(0, min(check.sample, check.quota - used.get(check.name, 0)))

    def _count(self, check: CrossCheck, records: int) -> None:
        _, used = self._today()
        used[check.name] = used.get(check.name, 0) + records

    def _today(self) -> tuple[str, dict[str, int]]:
        day = self.clock().astimezone(CHINA).date().isoformat()
        if self.used[0] != day:
            self.used = (day, {})
        return self.used

    def _digest(self, check: CrossCheck, code: str, key: str) -> str:
        """A digest of the discrepancy keyed by the hub's own secret: a list of them names no key."""
        if self._secret is None:
            secret = self.store.meta(SECRET)
            if secret is None:
                secret = secrets.token_hex(32)
                with self.store.transaction() as tx:
                    tx.set_meta(SECRET, secret)
            self._secret = bytes.fromhex(secret)
        text = "\x1f".join((check.name, code, check.element, key)).encode()
        return hmac.new(self._secret, text, hashlib.sha256).hexdigest()
