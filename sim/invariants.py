"""What every run checks, and the books it keeps to check them: the ledger of acknowledged
writes (resource_code, version) and the book of filed requests; the checks read the hub and the
nodes after the run has converged."""

from __future__ import annotations

import dataclasses
import threading
import time

import grpc

from node.proto import catalog_pb2, sharing_pb2


@dataclasses.dataclass(frozen=True)
class Write:
    resource_code: str
    version: int
    withdrawn: bool
    node: str
    at: float  # simulated seconds when acknowledged


@dataclasses.dataclass
class Filed:
    request_id: str
    consumer_code: str
    consumer_node: str
    owner_code: str
    owner_node: str
    resource_code: str
    share_type: str
    at: float  # simulated seconds when SubmitRequest answered
    decided_at: float | None = None  # when the owner's DecideRequest was answered
    decision: str = ""
    lost_by_restore: bool = False
    # the lifecycle's steps (sim/steps.py), in simulated seconds
    waiting_since: float = 0.0  # when the step now waiting began (the review: filing or resubmission)
    sent_at: float | None = None  # when it left for its owner: filed, or passed the review
    returns: int = 0
    extended_at: float | None = None
    objected_at: float | None = None
    coordinator_node: str = ""
    coordinated_at: float | None = None
    coordination: str = ""  # the coordinator's decision: granted (shared) or rejected (upheld)
    escalated: list = dataclasses.field(default_factory=list)  # the waits escalated: answer, coordinate

    @property
    def final(self) -> str:
        """The state every copy must end in, as far as the workload knows: the coordinator's
        decision binds over the owner's refusal; an objection the run ended on waits for it."""
        return self.coordination or ("objected" if self.objected_at is not None else self.decision)


class Books:
    """The ledger of acknowledged writes and the book of filed requests, shared by worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.writes: list[Write] = []
        self.requests: dict[str, Filed] = {}
        self.rolled_back: set[tuple[str, int]] = set()
        self.seeded: dict[str, list[int]] = {}  # node -> [entries sent in bulk, acknowledged]
        self.steps: list[dict] = []  # each lifecycle step taken: what, when, and how long its party took

    def bulk(self, node: str, sent: int, acknowledged: int) -> None:
        """A bulk publish of the seeded catalog: too many entries to keep one by one; the hub's
        digest of the node (the convergence check) covers their codes and versions."""
        with self.lock:
            counts = self.seeded.setdefault(node, [0, 0])
            counts[0] += sent
            counts[1] += acknowledged

    def acknowledged(self, write: Write) -> None:
        with self.lock:
            self.writes.append(write)

    def filed(self, request: Filed) -> None:
        with self.lock:
            self.requests[request.request_id] = request

    def step(self, kind: str, filed: Filed, at: float, waited: float) -> None:
        with self.lock:
            self.steps.append({"step": kind, "request_id": filed.request_id, "at": at, "waited": max(waited, 0.0)})

    def roll_back(self, node: str, since: float) -> int:
        """A node restored from a backup taken at `since` lost what it acknowledged afterwards."""
        with self.lock:
            lost = {(w.resource_code, w.version) for w in self.writes if w.node == node and w.at >= since}
            self.rolled_back |= lost
            for filed in self.requests.values():
                if node in (filed.consumer_node, filed.owner_node) and filed.at >= since:
                    filed.lost_by_restore = True
            return len(lost)


def check_writes(fed, books: Books) -> dict:
    """Every acknowledged write is at the hub: for each resource code in the ledger, the hub holds
    the newest acknowledged version or a later one (and at that version the same tombstone flag);
    every node acknowledged its whole seeded catalog (the hub's digest of each node, checked for
    convergence, then covers those codes and versions)."""
    newest: dict[str, Write] = {}
    for write in books.writes:
        if (write.resource_code, write.version) in books.rolled_back:
            continue
        if write.resource_code not in newest or write.version > newest[write.resource_code].version:
            newest[write.resource_code] = write
    hub = fed.catalog(fed.hub_id)
    missing = []
    for code, write in sorted(newest.items()):
        try:
            held = hub.GetEntry(catalog_pb2.GetEntryRequest(resource_code=code), timeout=10)
        except grpc.RpcError as exc:
            missing.append({"resource_code": code, "version": write.version, "at_hub": exc.code().name})
            continue
        if held.version < write.version or (held.version == write.version and held.withdrawn != write.withdrawn):
            missing.append({"resource_code": code, "version": write.version, "at_hub": held.version,
                            "withdrawn": held.withdrawn})
    short = {node: counts for node, counts in books.seeded.items() if counts[0] != counts[1]}
    return {"held": not missing and not short, "acknowledged_writes": len(books.writes),
            "rolled_back_by_restore": len(books.rolled_back), "resource_codes": len(newest),
            "found_at_hub": len(newest) - len(missing), "missing": missing[:50],
            "seeded_in_bulk": sum(c[0] for c in books.seeded.values()),
            "bulk_not_acknowledged": short}


def _copy(fed, node: str, department: str, request_id: str):
    stub = fed.sharing(node, department if node != fed.hub_id else "")
    try:
        return stub.GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id), timeout=10)
    except grpc.RpcError as exc:
        return exc.code().name


ONCE = ("submitted", "passed", "pending", "extended", "objected", "withdrawn")  # steps a request takes once at most


def history_problems(copy) -> list[str]:
    """What a request's history must not hold (docs/sharing.md): a once-only step twice, versions
    out of order, or two answers on one side of an objection. A review may come again after a
    return; a refusal followed by the coordinator's grant (or its upholding) is one answer by the
    owner and one decision by the coordinator, not an answer twice."""
    states = [e.state for e in copy.history]
    versions = [e.version for e in copy.history]
    problems = []
    if twice := [s for s in ONCE if states.count(s) > 1]:
        problems.append(f"{', '.join(twice)} twice in its history: {' > '.join(states)}")
    if versions != sorted(set(versions)):
        problems.append(f"versions not increasing: {versions}")
    split = states.index("objected") if "objected" in states else len(states)
    before, after = states[:split], states[split + 1:]
    if sum(s in ("granted", "rejected") for s in before) > 1 or sum(s in ("granted", "rejected") for s in after) > 1:
        problems.append("answered twice")
    if after and before[-1:] != ["rejected"]:
        problems.append(f"objected to what was not refused: {' > '.join(states)}")
    return problems


def check_requests(fed, books: Books, timeout: float = 60.0) -> dict:
    """No request lost or answered twice: every filed request is at the hub, its consumer's node
    and its owner's node (a request between departments of one node: at that node) in the same
    final state and version (the coordinator's decision, when there was one, else the owner's),
    its history with no once-only step twice and one answer on each side of an objection."""
    deadline = time.monotonic() + timeout
    pending = {rid: f for rid, f in books.requests.items() if not f.lost_by_restore}
    problems: dict[str, list[str]] = {}
    states: dict[str, int] = {}
    while True:
        problems, states = {}, {}
        for rid, filed in pending.items():
            if filed.owner_node == filed.consumer_node:
                # between two departments of one node: it never leaves that node (node/source/changes.py)
                places = {filed.consumer_node: filed.consumer_code}
            elif filed.sent_at is None:
                # still in its review (or returned) when the run ended: it has not left its node
                # for the owner's, and the hub keeps a copy
                places = {fed.hub_id: "", filed.consumer_node: filed.consumer_code}
            else:
                places = {fed.hub_id: "", filed.consumer_node: filed.consumer_code}
                places.setdefault(filed.owner_node or fed.hub_id, filed.owner_code)
            copies = {node: _copy(fed, node, department, rid) for node, department in places.items()}
            found = []
            for node, copy in copies.items():
                if isinstance(copy, str):
                    found.append(f"missing at {node} ({copy})")
                else:
                    found += [f"{node}: {p}" for p in history_problems(copy)]
            seen = {(c.state, c.version) for c in copies.values() if not isinstance(c, str)}
            if len(seen) > 1:
                found.append("copies differ: " + ", ".join(f"{n}={c.state}/v{c.version}" for n, c in copies.items()
                                                           if not isinstance(c, str)))
            hub_copy = copies.get(fed.hub_id, copies[filed.consumer_node])
            if not isinstance(hub_copy, str):
                states[hub_copy.state] = states.get(hub_copy.state, 0) + 1
                if filed.final and hub_copy.state != filed.final:
                    found.append(f"decided {filed.final} but the hub holds {hub_copy.state}")
            if found:
                problems[rid] = found
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    return {"held": not problems, "filed": len(books.requests),
            "lost_by_restore": len(books.requests) - len(pending), "final_states": states,
            "problems": dict(list(problems.items())[:50])}


def check_convergence(fed, faults: list[dict], timeout: float = 60.0) -> dict:
    """The hub converged after every fault (recorded as the faults were undone) and at the end."""
    try:
        seconds = fed.wait_converged(timeout=timeout)
        final = {"converged": True, "seconds": round(seconds, 2)}
    except Exception as exc:  # noqa: BLE001  (HarnessError, or the hub not answering)
        final = {"converged": False, "error": str(exc)}
    verdicts = {}
    try:
        verdicts = {peer: bool(v.equal) for peer, v in fed.verify().items()}
    except grpc.RpcError as exc:
        final["verify_error"] = exc.code().name
    failed = [f for f in faults if not f.get("converged")]
    return {"held": final["converged"] and not failed and bool(verdicts) and all(verdicts.values()),
            "after_faults": len(faults) - len(failed), "faults": len(faults), "final": final,
            "digest_equal": verdicts}
