"""The workload: events over simulated time drawn from the scenario's seeded RNG (publishes,
updates and withdrawals at a node with its department's token, sharing requests, the owners'
decisions after a sampled answer time, searches at the hub), and the calls that carry them out,
timed and written into the books."""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections import Counter, defaultdict
from typing import Callable, Iterator

import grpc

from node import wire
from node.model.rules import Entry
from node.proto import catalog_pb2, sharing_pb2
from sim import synthetic
from sim.clock import SimClock
from sim.invariants import Books, Filed, Write
from sim.scenario import Scenario
from sim.steps import STEP_KINDS, LifecycleWork, Retry

CALL_TIMEOUT = 10.0
REJECT_REASONS = ("用途与共享条件不符", "未提供法定依据", "申请的数据项超出履职需要")
PURPOSES = (("跨省通办", "《国务院关于加快推进政务服务跨省通办的指导意见》"),
            ("企业开办一件事", "《优化营商环境条例》"), ("社会救助审核", "《社会救助暂行办法》"),
            ("交通运输行业监管", "《道路运输条例》"), ("不动产登记便民服务", "《不动产登记暂行条例》"))


@dataclasses.dataclass(frozen=True)
class Event:
    at: float  # simulated seconds after the start
    kind: str  # publish | update | withdraw | request | decide | search, or a lifecycle step (sim/steps.py)
    node: str = ""
    department: str = ""
    resource_code: str = ""
    query: str = ""  # a search's words; an escalation's step (answer, coordinate)
    request_id: str = ""
    attempt: int = 0


class Catalog:
    """What the simulation published: each node's departments, how many entries each seeded, and
    the entries the workload may touch: all of a small catalog, the first KEEP of each department
    of a big one, so that 3,000,000 entries never sit in memory (the rest are generated again,
    department by department, as they are published: the same seed gives the same entries)."""

    KEEP = 200

    def __init__(self, scenario: Scenario, compose):
        self.scenario = scenario
        self.departments: dict[str, tuple[str, str]] = {}  # code -> (node, name)
        self.authority = {spec.id: spec.data_authority for spec in compose.all}  # node -> its data authority
        self.seeded: dict[str, int] = {}  # department -> entries in its seeded list
        self.entries: dict[str, Entry] = {}
        self.node_of: dict[str, str] = {}
        self.next_seq: dict[str, int] = {}
        self.tally = Tally()
        for spec in compose.all:
            cat = scenario.catalog_for(spec.id)
            for i, (code, name) in enumerate(spec.departments):
                count = cat.per_department(i, len(spec.departments))
                self.departments[code] = (spec.id, name)
                self.seeded[code] = count
                self.next_seq[code] = count + 1
                for entry in synthetic.department_entries(code, name, cat, seed=scenario.seed,
                                                            count=min(count, self.KEEP)):
                    self.entries[entry.resource_code] = entry
                    self.node_of[entry.resource_code] = spec.id

    def seed_chunks(self, node_id: str, size: int = 20_000) -> Iterator[list[Entry]]:
        """The node's whole seeded catalog, a department at a time in chunks of at most `size`."""
        cat = self.scenario.catalog_for(node_id)
        for code, (node, name) in self.departments.items():
            if node != node_id:
                continue
            for start in range(1, self.seeded[code] + 1, size):
                yield list(synthetic.department_entries(code, name, cat, seed=self.scenario.seed, start=start,
                                                          count=min(size, self.seeded[code] - start + 1)))

    def nodes(self) -> list[str]:
        return list(dict.fromkeys(node for node, _ in self.departments.values()))


class Tally:
    """Figures of the seeded catalog, counted as it is published."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries, self.data_items = 0, 0
        self.share_types: Counter = Counter()
        self.update_cycles: Counter = Counter()
        self.per_node: Counter = Counter()

    def add(self, node_id: str, entries: list[Entry]) -> None:
        with self.lock:
            self.entries += len(entries)
            self.data_items += sum(len(e.data_items) for e in entries)
            self.share_types.update(e.share_type for e in entries)
            self.update_cycles.update(e.update_cycle for e in entries)
            self.per_node[node_id] += len(entries)


def plan(scenario: Scenario, known: Catalog) -> list[Event]:
    """The scenario's events, sorted by time; the same scenario always plans the same events."""
    rng = random.Random(f"{scenario.seed}:workload")
    w, end = scenario.workload, scenario.duration
    departments = sorted(known.departments)
    seeded = sorted(known.entries)
    # requests and withdrawals draw on different entries, so a request's entry is not withdrawn under it
    rng.shuffle(seeded)
    withdrawable, requestable = seeded[: len(seeded) // 5], seeded[len(seeded) // 5:]
    events = []

    def when() -> float:
        return rng.uniform(0.02, 0.9) * end  # the last tenth of the run is left for answers to travel

    for _ in range(w.publishes):
        code = rng.choice(departments)
        events.append(Event(when(), "publish", known.departments[code][0], code))
    for _ in range(w.updates):
        code = rng.choice(requestable)
        events.append(Event(when(), "update", known.node_of[code], code[:9], code))
    for code in rng.sample(withdrawable, min(w.withdrawals, len(withdrawable))):
        events.append(Event(when(), "withdraw", known.node_of[code], code[:9], code))
    pairs = list(w.pairs)
    for i in range(w.requests):
        if i < len(pairs):
            consumer, owner = pairs[i]
            own = [c for c in requestable if c.startswith(owner)] or [c for c in seeded if c.startswith(owner)]
            conditional = [c for c in own if known.entries[c].share_type == "conditional"]
            code = rng.choice(conditional or own)
        else:
            code = rng.choice(requestable)
            consumer = rng.choice([d for d in departments if d != code[:9]])
        events.append(Event(when(), "request", known.departments[consumer][0], consumer, code))
    for _ in range(w.searches):
        events.append(Event(when(), "search", query=rng.choice(w.queries)))
    return sorted(events, key=lambda e: (e.at, e.kind, e.resource_code, e.department))


class Metrics:
    """Latencies (wall ms) and outcomes per kind of call, and completions over simulated time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.done: list[tuple[float, str]] = []  # (sim seconds, kind) of each acknowledged call

    def record(self, kind: str, outcome: str, ms: float, at: float) -> None:
        with self.lock:
            self.outcomes[kind][outcome] += 1
            if outcome == "ok":
                self.latency[kind].append(ms)
                self.done.append((at, kind))

    def percentiles(self) -> dict[str, dict[str, float]]:
        out = {}
        for kind, values in sorted(self.latency.items()):
            ordered = sorted(values)
            pick = lambda q: ordered[min(len(ordered) - 1, int(math.ceil(q * len(ordered))) - 1)]  # noqa: E731
            out[kind] = {"count": len(ordered), "p50": round(pick(0.5), 1), "p90": round(pick(0.9), 1),
                         "p99": round(pick(0.99), 1), "max": round(ordered[-1], 1)}
        return out


class Worker(LifecycleWork):
    """Carries out events against the federation; decisions it schedules go back through `schedule`."""

    Event = Event
    timeout = CALL_TIMEOUT

    def __init__(self, fed, scenario: Scenario, clock: SimClock, known: Catalog, books: Books, metrics: Metrics,
                 now: Callable[[], float], schedule: Callable[[Event], None]):
        self.fed, self.scenario, self.known, self.books, self.metrics = fed, scenario, known, books, metrics
        self.clock = clock
        self.now, self.schedule = now, schedule
        self.lock = threading.Lock()
        self.answering = random.Random(f"{scenario.seed}:answers")
        self.steps = scenario.workload.steps

    def run(self, event: Event) -> None:
        began = time.monotonic()
        try:
            getattr(self, f"_{event.kind}")(event)
            outcome = "ok"
        except grpc.RpcError as exc:
            outcome = exc.code().name
            if exc.code() == grpc.StatusCode.UNAVAILABLE and event.kind in STEP_KINDS:
                self._again(event)  # its node is down or cut off: the step is still to take
        except Retry:
            outcome = "retried"
        self.metrics.record(event.kind, outcome, (time.monotonic() - began) * 1000, self.now())

    def _publish_one(self, event: Event, entry: Entry) -> None:
        stub = self.fed.catalog(event.node, event.department)
        reply = stub.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)),
                                  timeout=CALL_TIMEOUT)
        self.books.acknowledged(Write(reply.entry.resource_code, reply.entry.version, reply.entry.withdrawn,
                                      event.node, self.now()))
        with self.lock:
            self.known.entries[reply.entry.resource_code] = entry

    def _publish(self, event: Event) -> None:
        with self.lock:
            seq = self.known.next_seq[event.department]
            self.known.next_seq[event.department] += 1
        _, name = self.known.departments[event.department]
        entry = next(synthetic.department_entries(event.department, name, self.scenario.catalog_for(event.node),
                                                    seed=self.scenario.seed, start=seq, count=1))
        self.known.node_of[entry.resource_code] = event.node
        self._publish_one(event, entry)

    def _update(self, event: Event) -> None:
        with self.lock:
            entry = self.known.entries[event.resource_code]
        day = self.clock.at(self.now()).date().isoformat()
        changed = dataclasses.replace(entry, summary=f"{entry.summary.split('（更新')[0]}（更新于{day}）")
        self._publish_one(event, changed)

    def _withdraw(self, event: Event) -> None:
        stub = self.fed.catalog(event.node, event.department)
        reply = stub.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code=event.resource_code),
                                   timeout=CALL_TIMEOUT)
        self.books.acknowledged(Write(reply.resource_code, reply.version, reply.withdrawn, event.node, self.now()))

    def _request(self, event: Event) -> None:
        entry = self.known.entries[event.resource_code]
        purpose, basis = PURPOSES[hash(event.resource_code + event.department) % len(PURPOSES)]
        stub = self.fed.sharing(event.node, event.department)
        reply = stub.SubmitRequest(sharing_pb2.SubmitRequestRequest(
            consumer_code=event.department, resource_code=event.resource_code, purpose=purpose, basis=basis,
            data_items=[entry.data_items[0].name]), timeout=CALL_TIMEOUT)
        at = self.now()
        owner_node = self.known.node_of[event.resource_code]
        filed = Filed(reply.request_id, event.department, event.node, entry.provider_code, owner_node,
                      event.resource_code, entry.share_type, at, waiting_since=at)
        self.books.filed(filed)
        self.after_filing(filed, reply.state, at)

    def _decide(self, event: Event) -> None:
        stub = self.fed.sharing(event.node, event.department)
        try:
            held = stub.GetRequest(sharing_pb2.GetRequestRequest(request_id=event.request_id), timeout=CALL_TIMEOUT)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            held = None
        if held is None or held.state == "submitted":  # not delivered to the owner yet: look again soon
            self._again(event)
            raise Retry()
        if held.state != "pending":
            return  # answered already (or withdrawn): a request is never answered twice
        with self.lock:
            approve = self.answering.random() < self.scenario.workload.approve_share
            reason = "" if approve else self.answering.choice(REJECT_REASONS)
        try:
            reply = stub.DecideRequest(sharing_pb2.DecideRequestRequest(
                request_id=event.request_id, department_code=event.department, approve=approve, reason=reason),
                timeout=CALL_TIMEOUT)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                self._again(event)
            raise
        filed = self.books.requests[event.request_id]
        filed.decided_at, filed.decision = self.now(), reply.state
        self.books.step("decide", filed, filed.decided_at, filed.decided_at - filed.sent_at)
        if reply.state == "rejected":
            self.maybe_object(filed, filed.decided_at)

    def _again(self, event: Event) -> None:
        wall_later = 1.0 + min(event.attempt, 5)  # seconds of wall time, whatever the factor
        self.schedule(dataclasses.replace(event, at=self.now() + self.clock.sim(wall_later),
                                          attempt=event.attempt + 1))

    def _search(self, event: Event) -> None:
        self.fed.catalog(self.fed.hub_id).SearchEntries(
            catalog_pb2.SearchEntriesRequest(query=event.query, page_size=20), timeout=CALL_TIMEOUT)
