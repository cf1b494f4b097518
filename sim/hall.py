"""The service-hall scenario (窗口核验): each province's service hall verifies applicants' claims
and looks records up, through the hub, in the national ministries' and the other provinces'
sources, under grants with daily quotas, through one working day compressed into a minute or
so, busiest in the morning (the halls open at 9); the hub is killed in the middle of the morning
while batches are under way, and the windows retry each call with its call id.

Checked at the end, against the owners' own books: no call counted twice (each answered call
once, by its id, in the owner's count of the grant's day), every quota held, no verify answer
carried a value, every verdict as the source says, no query answer an item outside its grant.

    cascade sim run scenarios/service-hall.yaml     # writes reports/service-hall/
"""

from __future__ import annotations

import collections
import dataclasses
import pathlib
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from datetime import datetime

import grpc

from harness import compose as compose_mod, grants as grants_mod
from harness.runner import Federation
from node.exchange.client import keyed_call, new_call_id
from node.model.calendar import CHINA
from node.model.masking import mask
from node.proto import exchange_pb2, exchange_pb2_grpc
from sim import hall_plan, hall_report
from sim.hall_plan import Hall, Source

VERDICTS = ("match", "mismatch", "not_found")
MODES = ("verify", "query")  # what every hall asks for


@dataclasses.dataclass
class Grant:
    hall_node: str
    hall: str
    source: Source
    request_id: str
    daily_quota: int
    items: tuple[str, ...]


@dataclasses.dataclass
class Call:
    at: float  # wall seconds into the day
    seconds: float
    grant: Grant
    mode: str
    keys: int
    call_id: str
    outcome: str  # ok, daily_quota, rate, or a status code's name
    attempts: int = 1
    verdicts: dict = dataclasses.field(default_factory=dict)
    wrong: int = 0  # verdicts not as the source says
    leaks: int = 0  # answers that carried a value, an item or a row they must not
    masked: int = 0  # personal values in a query's answer, checked masked by their rule


def halls_of(compose) -> list[tuple[str, str]]:
    """(node, department) of each province's service hall: its city-level data and service bureau."""
    found = []
    for spec in compose.nodes:
        if spec.role == "provincial":
            cities = [code for code, _ in spec.departments if code[2:6] != "0000"]
            found.append((spec.id, (cities or [spec.departments[-1][0]])[0]))
    return found


def grant_all(fed: Federation, hall: Hall, sources: list[Source]) -> list[Grant]:
    """Files each hall's requests (verify and query, the key and the claimed items), lets the
    owners answer the conditional ones with their quota, and waits until each is granted at the hall."""
    rng, grants, filed = random.Random(hall.seed), [], []
    compose = compose_mod.load(fed.state["compose"])
    ministry_nodes = {n.id for n in compose.nodes if n.role == "ministry"}
    for node, department in halls_of(compose):
        others = [s for s in sources if s.node != node]
        rng.shuffle(others)
        ministries = [s for s in others if s.node in ministry_nodes]
        picked = (ministries[:hall.grants_per_hall // 2] + [s for s in others if s not in ministries])[:hall.grants_per_hall]
        for source in picked:
            items = (source.key, *source.items)
            request_id = grants_mod.file(fed, node, department, source.entry.resource_code, items, MODES)
            filed.append((node, department, source, request_id, items))
    for node, department, source, request_id, items in filed:
        held = grants_mod.see_granted(fed, node, department, request_id, modes=MODES,
                                      daily_quota=hall.conditional_quota)
        grants.append(Grant(node, department, source, request_id, held.daily_quota, items))
    return grants


class Day:
    """The windows of every hall through the day, and the hub's fault."""

    def __init__(self, fed: Federation, hall: Hall, grants: list[Grant]):
        self.fed, self.hall, self.grants = fed, hall, grants
        self.calls: list[Call] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.began = 0.0
        self.fault: dict = {}
        self.under_way: dict[str, int] = {}  # calls in flight, by mode

    def now(self) -> float:
        return time.monotonic() - self.began

    def run(self) -> None:
        by_hall: dict[tuple[str, str], list[Grant]] = {}
        for g in self.grants:
            by_hall.setdefault((g.hall_node, g.hall), []).append(g)
        threads = [threading.Thread(target=self._window, args=(grants, i, len(by_hall) * self.hall.windows),
                                    name=f"window-{node}-{i}")
                   for (node, _), grants in sorted(by_hall.items()) for i in range(self.hall.windows)]
        threads.append(threading.Thread(target=self._kill_hub, name="fault"))
        self.began = time.monotonic()
        for thread in threads:
            thread.start()
        self.stop.wait(self.hall.wall_seconds)
        self.stop.set()
        for thread in threads:
            thread.join(120)

    def _kill_hub(self) -> None:
        if self.stop.wait(max(0.0, self.hall.wall_at(self.hall.fault_minute))):
            return
        # Mid-batch: the hub dies while a batch is on its way (waited for, a few seconds at most).
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            with self.lock:
                under_way = dict(self.under_way)
            if under_way.get("batch"):
                break
            time.sleep(0.001)
        self.fault = {"killed_at": round(self.now(), 2), "under_way": under_way}
        self.fed.kill(self.fed.hub_id)
        self.stop.wait(self.hall.down_seconds)
        self.fed.start(self.fed.hub_id)
        self.fault["back_at"] = round(self.now(), 2)

    def _window(self, grants: list[Grant], number: int, windows: int) -> None:
        rng = random.Random(f"{self.hall.seed}:{grants[0].hall}:{number}")
        stub = exchange_pb2_grpc.ExchangeStub(self.fed.channel(grants[0].hall_node, grants[0].hall))
        count = 0
        while not self.stop.wait(rng.expovariate(self.hall.rate_at(self.now()) / windows)):
            count += 1
            grant = rng.choice(grants)
            if not grant.source.records:
                continue
            if self.hall.batch_every and count % self.hall.batch_every == 0:
                self._verify(stub, grant, rng, self.hall.batch_size)
            elif rng.random() < self.hall.query_share:
                self._query(stub, grant, rng)
            else:
                self._verify(stub, grant, rng, 1)

    def _claim(self, grant: Grant, rng: random.Random) -> tuple[dict, dict, str]:
        """(key, claims, the verdict the source should give): true, false or about nobody."""
        key, values = rng.choice(grant.source.records)
        roll = rng.random()
        if roll < self.hall.unknown_share:
            return {grant.source.key: "Z" + key[1:]}, dict(values), "not_found"  # no code or ID number starts with Z
        claims = dict(values)
        if roll < self.hall.unknown_share + self.hall.false_share:
            item = rng.choice(sorted(claims))
            claims[item] = claims[item] + "某"
            return {grant.source.key: key}, claims, "mismatch"
        return {grant.source.key: key}, claims, "match"

    def _send(self, method, message, grant: Grant, mode: str, keys: int, check) -> None:
        attempts, started = [0], self.now()

        def counted(msg, timeout):
            attempts[0] += 1
            return method(msg, timeout=timeout)

        message.call_id = new_call_id()
        call = Call(started, 0.0, grant, mode, keys, message.call_id, "ok")
        with self.lock:
            self.under_way[mode] = self.under_way.get(mode, 0) + 1
        try:
            reply = keyed_call(counted, message, retry_for=60, timeout=10)
            check(reply, call)
        except grpc.RpcError as exc:
            details = exc.details() or ""
            call.outcome = details.split(":", 1)[0] if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else exc.code().name
        call.seconds, call.attempts = self.now() - started, attempts[0]
        with self.lock:
            self.calls.append(call)
            self.under_way[mode] -= 1

    def _verify(self, stub, grant: Grant, rng: random.Random, size: int) -> None:
        asked = [self._claim(grant, rng) for _ in range(size)]
        message = exchange_pb2.VerifyClaimsRequest(request_id=grant.request_id, consumer_code=grant.hall)
        if size == 1:
            message.key.update(asked[0][0])
            message.claims.update(asked[0][1])
        else:
            for key, claims, _ in asked:
                message.batch.add(key=key, claims=claims)

        def check(reply, call: Call) -> None:
            verdicts = list(reply.verdicts) if size > 1 else [reply]
            data = reply.SerializeToString()
            for (key, claims, expected), verdict in zip(asked, verdicts):
                call.verdicts[verdict.overall] = call.verdicts.get(verdict.overall, 0) + 1
                call.wrong += verdict.overall != expected
                values = [*key.values(), *claims.values()]
                if set(verdict.results.values()) - set(VERDICTS) or any(v.encode() in data for v in values if v):
                    call.leaks += 1
            call.wrong += abs(len(verdicts) - len(asked))

        self._send(stub.Verify, message, grant, "batch" if size > 1 else "verify", size, check)

    def _query(self, stub, grant: Grant, rng: random.Random) -> None:
        key, _, expected = self._claim(grant, rng)
        message = exchange_pb2.QueryRequest(request_id=grant.request_id, consumer_code=grant.hall, key=key)

        def check(reply, call: Call) -> None:
            found = "match" if reply.rows else "not_found"
            call.verdicts[found] = 1
            call.wrong += (found == "not_found") != (expected == "not_found")
            if tuple(reply.columns) != grant.items or any(len(r.values) != len(grant.items) for r in reply.rows):
                call.leaks += 1
            elif reply.rows:
                if granted_row(grant, key) not in [tuple(r.values) for r in reply.rows]:
                    call.leaks += 1  # a value other than the grant lets out: a personal item unmasked, another row's
                call.masked += sum(item in grant.source.masks for item in grant.items)

        self._send(stub.Query, message, grant, "query", 1, check)


def granted_row(grant: Grant, key: dict[str, str]) -> tuple[str, ...] | None:
    """The row a query for `key` may answer under the grant: the record's values of the granted
    items, each personal one masked by its entry's rule (the hall's grants let none out plain)."""
    values = grant.source.by_key.get(key[grant.source.key])
    if values is None:
        return None
    record, rules = {grant.source.key: key[grant.source.key], **values}, grant.source.masks
    return tuple(mask(record[item], rules[item]) if item in rules else record[item] for item in grant.items)


def counted_calls(fed: Federation, grants: list[Grant]) -> dict[str, dict[str, int]]:
    """Per request, the owner's own count of the day: call id -> calls counted (grant_calls). The
    owner keeps each id bound to a hash of what the call asked (`ID/HASH`); one id counted under
    two questions adds up here, and shows as counted twice."""
    found: dict[str, dict[str, int]] = {g.request_id: {} for g in grants}
    for node in {g.source.node for g in grants}:
        database = fed.node(node)["database"]
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
            for request_id, call_id, calls in db.execute("SELECT request_id, call_id, calls FROM grant_calls"):
                if request_id in found:
                    sent = call_id.rsplit("/", 1)[0]
                    found[request_id][sent] = found[request_id].get(sent, 0) + calls
    return found


def check(day: Day, counted: dict[str, dict[str, int]]) -> dict:
    answered: dict[str, dict[str, int]] = {}
    for c in day.calls:
        if c.outcome == "ok":
            answered.setdefault(c.grant.request_id, {})[c.call_id] = c.keys
    twice = [rid for rid, ids in answered.items() if any(counted[rid].get(i) != n for i, n in ids.items())]
    strays = [rid for rid, ids in counted.items() if set(ids) - {c.call_id for c in day.calls}]
    over = [g.request_id for g in day.grants if g.daily_quota and sum(counted[g.request_id].values()) > g.daily_quota]
    answered = collections.Counter(c.mode == "query" for c in day.calls if c.outcome == "ok")  # True: queries
    return {
        "no_call_counted_twice": {"held": not twice and not strays, "requests_differing": twice,
                                  "requests_with_unknown_ids": strays,
                                  "retried_calls": sum(1 for c in day.calls if c.attempts > 1)},
        "quotas_held": {"held": not over, "over_quota": over,
                        "quota_refusals": sum(1 for c in day.calls if c.outcome == "daily_quota")},
        "verify_returned_no_value": {"held": not any(c.leaks for c in day.calls if c.mode != "query"),
                                     "answers_checked": answered[False]},
        "query_within_its_grant": {"held": not any(c.leaks for c in day.calls if c.mode == "query"),
                                   "answers_checked": answered[True],
                                   "masked_values_checked": sum(c.masked for c in day.calls)},
        "verdicts_as_the_source_says": {"held": not any(c.wrong for c in day.calls),
                                        "wrong": sum(c.wrong for c in day.calls)},
    }


def run(hall: Hall, out: str | pathlib.Path, state: str | pathlib.Path | None = None, note=print) -> dict:
    """Runs the scenario, writes its report to `out`, returns it."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = pathlib.Path(state or tempfile.mkdtemp(prefix="cascade-hall-"))
    folder.mkdir(parents=True, exist_ok=True)
    fed = Federation.up(hall_plan.compose_for(hall, folder), folder / "fed")
    try:
        note(f"{hall.name}: seeding {fed.seed_size():,} entries with their data")
        fed.seed(hall.entries_per_department, seed=hall.seed)
        fed.wait_converged(timeout=120)
        compose = compose_mod.load(fed.state["compose"])
        sources = hall_plan.keyed_sources(compose, hall.seed, hall.entries_per_department)
        for source in sources:
            source.records = hall_plan.read_records(source, fed.node(source.node)["database"])
        grants = grant_all(fed, hall, sources)
        note(f"{hall.name}: {len(grants)} grants; the day runs {hall.wall_seconds:.0f} s of wall time")
        day = Day(fed, hall, grants)
        started = datetime.now(CHINA)
        day.run()
        checks = check(day, counted_calls(fed, grants))
        result = hall_report.build(hall, day, checks, started)
        hall_report.write(result, out)
        return result
    finally:
        fed.down(purge=False)
        if state is None:
            shutil.rmtree(folder, ignore_errors=True)
