"""A scenario file (YAML) validated into frozen dataclasses: the federation to start, the synthetic
catalog of each node, the workload over simulated time and the faults; every error names the
file, the key path and the rule (node.config's Reader)."""

from __future__ import annotations

import dataclasses
import pathlib
import random
import re
from datetime import datetime
from typing import Any

from harness import compose as compose_mod
from node.config import Reader, is_choice, is_number, is_text
from node.config_rules import is_boolean, is_list, read_yaml
from node.model.calendar import CHINA, Calendar
from sim import steps as steps_mod

SHARE_TYPES = ("unconditional", "conditional", "not_shared")
CYCLES = ("realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "irregular")
FAULT_KINDS = ("kill", "pause", "partition", "delay", "restore_backup")
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclasses.dataclass(frozen=True)
class CatalogSpec:
    """The synthetic catalog: how many entries a department, and the mixes they are drawn from
    (weights; a kind of department may lean its own way on top, see sim.synthetic)."""

    entries_per_department: int = 10
    data_items: tuple[int, int] = (2, 7)
    share_types: tuple[tuple[str, float], ...] = (("unconditional", 55), ("conditional", 38), ("not_shared", 7))
    update_cycles: tuple[tuple[str, float], ...] = tuple((c, 1.0) for c in CYCLES)
    entries: int | None = None  # a node's whole list (e.g. Hengshui's 123), spread over its departments

    def per_department(self, index: int, departments: int) -> int:
        """Entries of the index-th of a node's departments."""
        if self.entries is None:
            return self.entries_per_department
        return self.entries // departments + (index < self.entries % departments)


@dataclasses.dataclass(frozen=True)
class AnswerTime:
    """How long an owner takes to answer a conditional request, in working days: lognormal
    around `median` with `spread` (sigma), cut at `max`."""

    median: float = 3.0
    spread: float = 0.6
    max: float = 15.0


@dataclasses.dataclass(frozen=True)
class Workload:
    """Counts of each kind of event, spread over the run's simulated time by a seeded RNG."""

    publishes: int = 0
    updates: int = 0
    withdrawals: int = 0
    requests: int = 0
    searches: int = 0
    approve_share: float = 0.8
    answer: AnswerTime = AnswerTime()
    answer_by_department: tuple[tuple[str, AnswerTime], ...] = ()
    # (consumer, owner) department pairs that must appear among the requests, e.g. Hengshui's
    # transport bureau asking the data bureau
    pairs: tuple[tuple[str, str], ...] = ()
    queries: tuple[str, ...] = ("人口", "企业", "社保", "交通", "不动产", "许可", "信用", "医疗")
    steps: steps_mod.Steps = steps_mod.Steps()  # the lifecycle's steps beyond filing and answering

    def answer_for(self, department: str) -> AnswerTime:
        return dict(self.answer_by_department).get(department, self.answer)


@dataclasses.dataclass(frozen=True)
class Fault:
    """One fault over one or more nodes at once (five provinces cut off together are one fault:
    the hub's convergence is timed once all of them are back)."""

    at: float  # simulated seconds after the start
    kind: str
    nodes: tuple[str, ...]
    lasts: float  # simulated seconds until it is undone (restore_backup: how old the backup is)
    delay_ms: int = 0


@dataclasses.dataclass(frozen=True)
class Chaos:
    """Random faults drawn from the scenario's seed: `count` of them between `start` and `end`,
    one after another (each in its own slot of the span, so that the hub's convergence after
    each can be timed), each of a random kind on 1..max_nodes random nodes, lasting between
    `shortest` and `longest`."""

    start: float
    end: float
    count: int
    kinds: tuple[str, ...]
    shortest: float
    longest: float
    max_nodes: int = 1
    hub: bool = False  # may the hub be killed or paused too

    def faults(self, seed: int, nodes: list[str], hub: str) -> tuple[Fault, ...]:
        rng = random.Random(f"{seed}:chaos")
        slot = (self.end - self.start) / self.count
        out = []
        for i in range(self.count):
            kind = rng.choice(self.kinds)
            lasts = min(rng.uniform(self.shortest, self.longest), slot * 0.6)
            at = self.start + i * slot + rng.uniform(0, slot * 0.4 - 1)
            if self.hub and kind in ("kill", "pause") and rng.random() < 0.2:
                chosen = (hub,)
            else:
                chosen = tuple(sorted(rng.sample(nodes, rng.randint(1, min(self.max_nodes, len(nodes))))))
            out.append(Fault(at=round(at), kind=kind, nodes=chosen, lasts=round(lasts),
                             delay_ms=rng.choice((200, 500, 1500)) if kind == "delay" else 0))
        return tuple(out)


@dataclasses.dataclass(frozen=True)
class Scenario:
    source: str
    name: str
    compose: str
    seed: int
    start: datetime
    factor: float
    duration: float  # simulated seconds
    sample_every: float  # simulated seconds between lag samples
    calendar: Calendar
    catalog: CatalogSpec
    catalog_by_node: tuple[tuple[str, CatalogSpec], ...]
    workload: Workload
    faults: tuple[Fault, ...]
    converge_timeout: float = 60.0  # wall seconds the hub may take to converge after a fault
    seed_timeout: float = 60.0  # wall seconds the hub may take to take in the seeded catalog
    description: str = ""

    def catalog_for(self, node_id: str) -> CatalogSpec:
        return dict(self.catalog_by_node).get(node_id, self.catalog)

    @property
    def wall_seconds(self) -> float:
        return self.duration / self.factor


def parse_duration(value: Any) -> float | None:
    """Simulated seconds of '90s', '30m', '4h', '2d', '1w' or a number of seconds; None if bad."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    match = DURATION.match(value) if isinstance(value, str) else None
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)] if match else None


def is_duration(value: Any) -> str | None:
    return None if parse_duration(value) is not None else "must be a duration such as 90s, 30m, 4h, 2d or 1w"


def is_weights(choices: tuple[str, ...]):
    def check(value: Any) -> str | None:
        if not isinstance(value, dict) or not value:
            return f"must be a mapping of {', '.join(choices)} to weights"
        for key, weight in value.items():
            if key not in choices:
                return f"{key!r} is not one of {', '.join(choices)}"
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                return f"the weight of {key} must be a number >= 0"
        if not sum(value.values()):
            return "the weights must not all be 0"
        return None
    return check


def is_range(value: Any) -> str | None:
    if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not 1 <= value[0] <= value[1] <= 50):
        return "must be [min, max], integers with 1 <= min <= max <= 50"
    return None


def load(path: str | pathlib.Path) -> Scenario:
    return parse(read_yaml(path), str(path), base_dir=pathlib.Path(path).resolve().parent)


def parse(data: Any, file: str = "<scenario>", base_dir: pathlib.Path = pathlib.Path(".")) -> Scenario:
    r = Reader(file)
    top = r.mapping(data, "", {"name", "description", "compose", "seed", "clock", "catalog", "workload", "faults",
                               "chaos", "converge_timeout", "seed_timeout"})
    compose_path = (base_dir / r.get(top, "", "compose", is_text())).resolve()
    if not compose_path.exists():
        r.fail("compose", f"no such file {compose_path}")
    compose = compose_mod.load(compose_path)
    nodes = {spec.id: spec for spec in compose.all}
    departments = {code for spec in compose.all for code, _ in spec.departments}

    clock = r.mapping(r.get(top, "", "clock", lambda v: None), "clock",
                      {"start", "factor", "duration", "sample_every", "answer_days", "holidays", "workdays"})
    start = _instant(r, clock)
    factor = float(r.get(clock, "clock", "factor", is_number(1, 1e8)))
    duration = parse_duration(r.get(clock, "clock", "duration", is_duration))
    if duration <= 0:
        r.fail("clock.duration", "must be more than 0")
    sample_every = parse_duration(r.get(clock, "clock", "sample_every", is_duration, duration / 60))
    if not 0 < sample_every <= duration:
        r.fail("clock.sample_every", "must be more than 0 and at most clock.duration")
    calendar = Calendar(answer_days=r.get(clock, "clock", "answer_days", is_number(1, 60, integer=True), 10),
                        holidays=_days(r, clock, "holidays"), workdays=_days(r, clock, "workdays"))

    catalog_data = r.mapping(r.get(top, "", "catalog", lambda v: None, {}), "catalog",
                             {"entries_per_department", "entries", "data_items", "share_types", "update_cycles",
                              "nodes"})
    catalog = _catalog(r, catalog_data, "catalog", CatalogSpec())
    by_node = []
    for node_id, spec in r.mapping(catalog_data.get("nodes") or {}, "catalog.nodes", set(nodes)).items():
        path = f"catalog.nodes.{node_id}"
        r.mapping(spec, path, {"entries_per_department", "entries", "data_items", "share_types", "update_cycles"})
        by_node.append((node_id, _catalog(r, spec, path, catalog)))

    workload = _workload(r, r.get(top, "", "workload", lambda v: None, {}), departments)
    seed = r.get(top, "", "seed", is_number(0, 2**31, integer=True), 0)
    faults = [_fault(r, f, f"faults[{i}]", nodes, compose.hub.id, duration)
              for i, f in enumerate(r.get(top, "", "faults", is_list, []))]
    if "chaos" in top:
        chaos = _chaos(r, top["chaos"], duration)
        faults += chaos.faults(seed, sorted(n for n in nodes if n != compose.hub.id), compose.hub.id)
    converge_timeout = float(r.get(top, "", "converge_timeout", is_number(1, 3600), 60.0))
    return Scenario(
        source=file, name=r.get(top, "", "name", is_text()), compose=str(compose_path),
        seed=seed, start=start, factor=factor,
        duration=duration, sample_every=sample_every, calendar=calendar, catalog=catalog,
        catalog_by_node=tuple(by_node), workload=workload, faults=tuple(sorted(faults, key=lambda f: f.at)),
        converge_timeout=converge_timeout,
        seed_timeout=float(r.get(top, "", "seed_timeout", is_number(1, 86400), converge_timeout)),
        description=r.get(top, "", "description", is_text(), ""),
    )


def _instant(r: Reader, clock: dict) -> datetime:
    value = r.get(clock, "clock", "start", lambda v: None, "2026-03-02T09:00:00+08:00")
    try:
        instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        r.fail("clock.start", "must be an ISO 8601 date and time, e.g. 2026-03-02T09:00:00+08:00")
    return instant if instant.tzinfo else instant.replace(tzinfo=CHINA)


def _days(r: Reader, clock: dict, key: str) -> frozenset:
    from datetime import date
    out = set()
    for i, value in enumerate(r.get(clock, "clock", key, is_list, [])):
        try:
            out.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            r.fail(f"clock.{key}[{i}]", "must be a date YYYY-MM-DD")
    return frozenset(out)


def _catalog(r: Reader, data: dict, path: str, base: CatalogSpec) -> CatalogSpec:
    share = r.get(data, path, "share_types", is_weights(SHARE_TYPES), None)
    cycles = r.get(data, path, "update_cycles", is_weights(CYCLES), None)
    items = r.get(data, path, "data_items", is_range, None)
    return CatalogSpec(
        entries_per_department=r.get(data, path, "entries_per_department", is_number(0, 10_000_000, integer=True),
                                     base.entries_per_department),
        entries=r.get(data, path, "entries", is_number(0, 100_000_000, integer=True), base.entries),
        data_items=tuple(items) if items else base.data_items,
        share_types=tuple((k, float(share.get(k, 0))) for k in SHARE_TYPES) if share else base.share_types,
        update_cycles=tuple((k, float(cycles.get(k, 0))) for k in CYCLES) if cycles else base.update_cycles,
    )


def _answer(r: Reader, data: Any, path: str, base: AnswerTime) -> AnswerTime:
    r.mapping(data, path, {"median", "spread", "max"})
    return AnswerTime(median=float(r.get(data, path, "median", is_number(0.01, 60), base.median)),
                      spread=float(r.get(data, path, "spread", is_number(0, 3), base.spread)),
                      max=float(r.get(data, path, "max", is_number(0.01, 120), base.max)))


def _workload(r: Reader, data: Any, departments: set[str]) -> Workload:
    counts = ("publishes", "updates", "withdrawals", "requests", "searches")
    r.mapping(data, "workload", set(counts) | {"approve_share", "answer_days", "answer_days_by_department", "pairs",
                                                 "queries", "steps"})
    count = {k: r.get(data, "workload", k, is_number(0, 1_000_000, integer=True), 0) for k in counts}
    answer = _answer(r, r.get(data, "workload", "answer_days", lambda v: None, {}), "workload.answer_days", AnswerTime())
    by_department = []
    for code, spec in r.mapping(r.get(data, "workload", "answer_days_by_department", lambda v: None, {}),
                                "workload.answer_days_by_department", departments).items():
        by_department.append((code, _answer(r, spec, f"workload.answer_days_by_department.{code}", answer)))
    pairs = []
    for i, pair in enumerate(r.get(data, "workload", "pairs", is_list, [])):
        path = f"workload.pairs[{i}]"
        r.mapping(pair, path, {"consumer", "owner"})
        consumer = r.get(pair, path, "consumer", is_choice(tuple(sorted(departments))))
        owner = r.get(pair, path, "owner", is_choice(tuple(sorted(departments))))
        if consumer == owner:
            r.fail(path, "consumer and owner must be different departments")
        pairs.append((consumer, owner))
    queries = r.get(data, "workload", "queries", is_list, list(Workload.queries))
    for i, query in enumerate(queries):
        if problem := is_text()(query):
            r.fail(f"workload.queries[{i}]", problem)
    return Workload(**count, approve_share=float(r.get(data, "workload", "approve_share", is_number(0, 1), 0.8)),
                    answer=answer, answer_by_department=tuple(by_department), pairs=tuple(pairs),
                    queries=tuple(queries), steps=steps_mod.parse(r, data.get("steps")))


def _fault(r: Reader, data: Any, path: str, nodes: dict, hub: str, duration: float) -> Fault:
    r.mapping(data, path, {"at", "kind", "node", "for", "delay_ms", "backup_age"})
    kind = r.get(data, path, "kind", is_choice(FAULT_KINDS))
    named = r.get(data, path, "node", _is_node_or_nodes(tuple(sorted(nodes))))
    chosen = (named,) if isinstance(named, str) else tuple(named)
    at = parse_duration(r.get(data, path, "at", is_duration))
    if at >= duration:
        r.fail(f"{path}.at", "must be before the end of the run (clock.duration)")
    if kind == "restore_backup":
        if len(chosen) != 1:
            r.fail(f"{path}.node", "restore_backup takes one node")
        if chosen[0] == hub:
            r.fail(f"{path}.node", "restore_backup is for a provincial or ministry node, not the hub")
        lasts = parse_duration(r.get(data, path, "backup_age", is_duration))
        if not 0 < lasts <= at:
            r.fail(f"{path}.backup_age", "must be more than 0 and at most `at` (the backup is taken during the run)")
    else:
        lasts = parse_duration(r.get(data, path, "for", is_duration))
        if not 0 < lasts or at + lasts >= duration:
            r.fail(f"{path}.for", "must be more than 0 and end before the end of the run")
    delay_ms = 0
    if kind == "delay":
        delay_ms = r.get(data, path, "delay_ms", is_number(1, 600_000, integer=True))
    elif "delay_ms" in data:
        r.fail(f"{path}.delay_ms", "only a delay fault takes delay_ms")
    return Fault(at=at, kind=kind, nodes=chosen, lasts=lasts, delay_ms=delay_ms)


def _is_node_or_nodes(choices: tuple[str, ...]):
    one = is_choice(choices)

    def check(value: Any) -> str | None:
        if isinstance(value, list):
            if not value or len(set(value)) != len(value):
                return "must name at least one node, each once"
            return next((f"{v!r} {problem}" for v in value if (problem := one(v))), None)
        return one(value)
    return check


def _chaos(r: Reader, data: Any, duration: float) -> Chaos:
    kinds = ("kill", "pause", "partition", "delay")
    r.mapping(data, "chaos", {"from", "until", "faults", "kinds", "for", "max_nodes", "hub"})
    start = parse_duration(r.get(data, "chaos", "from", is_duration))
    end = parse_duration(r.get(data, "chaos", "until", is_duration))
    if not start < end < duration:
        r.fail("chaos.until", "must be after chaos.from and before the end of the run (clock.duration)")
    count = r.get(data, "chaos", "faults", is_number(1, 1000, integer=True))
    chosen = r.get(data, "chaos", "kinds", is_list, list(kinds))
    for i, kind in enumerate(chosen):
        if problem := is_choice(kinds)(kind):
            r.fail(f"chaos.kinds[{i}]", problem)
    span = r.get(data, "chaos", "for", lambda v: None if isinstance(v, list) and len(v) == 2 and all(
        parse_duration(x) for x in v) else "must be [shortest, longest], two durations such as [1h, 8h]")
    shortest, longest = sorted(map(parse_duration, span))
    if (end - start) / count < 2 * shortest:
        r.fail("chaos.faults", "too many for the span: each fault needs a slot of at least twice its shortest length")
    return Chaos(start=start, end=end, count=count, kinds=tuple(chosen), shortest=shortest, longest=longest,
                 max_nodes=r.get(data, "chaos", "max_nodes", is_number(1, 50, integer=True), 1),
                 hub=r.get(data, "chaos", "hub", is_boolean, False))
