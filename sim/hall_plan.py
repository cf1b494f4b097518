"""The service-hall scenario's file and what it sets up before the day begins: the halls (each
province's city service bureau), the sources they may ask (the ministries' and other provinces'
seeded entries that are looked up by an ID number or a credit code), the requests filed for
them and granted (an unconditional entry on arrival, with the owner's default daily quota; a
conditional one by the owner's decision, with a quota of its own), and the records of each
mounted source, from which the windows draw true, false and unknown claims.

    kind: service-hall
    name: service-hall
    compose: ../configs/federation-small.yaml
    seed: 11
    entries_per_department: 6
    default_daily_quota: 1200       # every owner's, for unconditional grants
    conditional_quota: 300          # the owners' decisions on conditional requests
    grants_per_hall: 6
    day: {open: "09:00", close: "17:00", wall_seconds: 60, peak: ["09:00", "11:00"], peak_factor: 3}
    load: {calls_per_second: 30, windows: 6, batch_every: 6, batch_size: 40, query_share: 0.1}
    claims: {wrong: 0.15, unknown: 0.05}
    fault: {at: "09:40", down_seconds: 4}     # the hub killed mid-morning, batches under way
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import pathlib
import sqlite3
from typing import Any

from harness import compose as compose_mod
from harness import data as data_mod
from harness.seed import entries_for
from node.config_rules import Reader, is_number, is_text, read_yaml
from node.errors import ConfigError

KIND = "service-hall"
CLAIMABLE = ("string",)  # items a window claims a value of (names, addresses, phone numbers, codes)


@dataclasses.dataclass(frozen=True)
class Hall:
    scenario_file: str
    name: str
    description: str
    compose: pathlib.Path
    seed: int
    entries_per_department: int
    default_daily_quota: int
    conditional_quota: int
    grants_per_hall: int
    open_minute: int
    close_minute: int
    wall_seconds: float
    peak: tuple[int, int]  # minutes of the day
    peak_factor: float
    calls_per_second: float
    windows: int
    batch_every: int
    batch_size: int
    query_share: float
    false_share: float
    unknown_share: float
    fault_minute: int
    down_seconds: float

    def minute_at(self, wall: float) -> float:
        """The minute of the day at `wall` seconds into the day."""
        return self.open_minute + (self.close_minute - self.open_minute) * wall / self.wall_seconds

    def wall_at(self, minute: float) -> float:
        return (minute - self.open_minute) * self.wall_seconds / (self.close_minute - self.open_minute)

    def rate_at(self, wall: float) -> float:
        """Calls a second the halls send together at `wall`: the base rate, times the peak factor
        while the halls are busiest (they open at 9)."""
        minute = self.minute_at(wall)
        return self.calls_per_second * (self.peak_factor if self.peak[0] <= minute < self.peak[1] else 1.0)


def is_kind(path: str | pathlib.Path) -> bool:
    data = read_yaml(path)
    return isinstance(data, dict) and data.get("kind") == KIND


def _minute(r: Reader, value: Any, path: str) -> int:
    text = str(value)
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        r.fail(path, f"must be a time of day HH:MM (got {text!r})")
    return hours * 60 + minutes


def load(path: str | pathlib.Path) -> Hall:
    file, base = str(path), pathlib.Path(path).resolve().parent
    r = Reader(file)
    top = r.mapping(read_yaml(path), "", {"kind", "name", "description", "compose", "seed", "entries_per_department",
                                          "default_daily_quota", "conditional_quota", "grants_per_hall", "day", "load",
                                          "claims", "fault"})
    compose = (base / r.get(top, "", "compose", is_text())).resolve()
    if not compose.exists():
        r.fail("compose", f"no such file {compose}")
    day = r.mapping(top.get("day") or {}, "day", {"open", "close", "wall_seconds", "peak", "peak_factor"})
    load_ = r.mapping(top.get("load") or {}, "load", {"calls_per_second", "windows", "batch_every", "batch_size",
                                                      "query_share"})
    claims = r.mapping(top.get("claims") or {}, "claims", {"wrong", "unknown"})
    fault = r.mapping(top.get("fault") or {}, "fault", {"at", "down_seconds"})
    peak = day.get("peak", ["09:00", "11:00"])
    if not isinstance(peak, list) or len(peak) != 2:
        r.fail("day.peak", "must be [HH:MM, HH:MM]")
    share = is_number(0, 1)
    hall = Hall(
        scenario_file=file, name=r.get(top, "", "name", is_text()), description=r.get(top, "", "description", is_text(), ""),
        compose=compose, seed=r.get(top, "", "seed", is_number(0, 2**31, True), 0),
        entries_per_department=r.get(top, "", "entries_per_department", is_number(1, 1000, True), 6),
        default_daily_quota=r.get(top, "", "default_daily_quota", is_number(0, 10**9, True), 0),
        conditional_quota=r.get(top, "", "conditional_quota", is_number(0, 10**9, True), 0),
        grants_per_hall=r.get(top, "", "grants_per_hall", is_number(1, 100, True), 6),
        open_minute=_minute(r, day.get("open", "09:00"), "day.open"),
        close_minute=_minute(r, day.get("close", "17:00"), "day.close"),
        wall_seconds=float(r.get(day, "day", "wall_seconds", is_number(5, 3600), 60)),
        peak=(_minute(r, peak[0], "day.peak[0]"), _minute(r, peak[1], "day.peak[1]")),
        peak_factor=float(r.get(day, "day", "peak_factor", is_number(1, 100), 3)),
        calls_per_second=float(r.get(load_, "load", "calls_per_second", is_number(0.1, 10_000), 30)),
        windows=r.get(load_, "load", "windows", is_number(1, 64, True), 6),
        batch_every=r.get(load_, "load", "batch_every", is_number(0, 10_000, True), 6),
        batch_size=r.get(load_, "load", "batch_size", is_number(1, 1000, True), 40),
        query_share=float(r.get(load_, "load", "query_share", share, 0.1)),
        false_share=float(r.get(claims, "claims", "wrong", share, 0.15)),
        unknown_share=float(r.get(claims, "claims", "unknown", share, 0.05)),
        fault_minute=_minute(r, fault.get("at", "09:40"), "fault.at"),
        down_seconds=float(r.get(fault, "fault", "down_seconds", is_number(0, 600), 4)),
    )
    if hall.close_minute <= hall.open_minute:
        r.fail("day.close", "must be after day.open")
    if not hall.open_minute <= hall.fault_minute < hall.close_minute:
        r.fail("fault.at", "must fall within the day")
    return hall


def compose_for(hall: Hall, folder: pathlib.Path) -> pathlib.Path:
    """The scenario's compose file with its owners' default daily quota and seed size."""
    import yaml

    data = read_yaml(hall.compose)
    data.setdefault("defaults", {})["default_daily_quota"] = hall.default_daily_quota
    data["seed"] = {"entries_per_department": hall.entries_per_department}
    data["portal"] = False
    path = folder / f"{hall.name}-compose.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        compose_mod.load(path)
    except ConfigError as exc:
        raise ConfigError(hall.scenario_file, f"compose: {exc.key}", exc.rule) from None
    return path


@dataclasses.dataclass
class Source:
    """One keyed entry a hall may ask: its owner, its key item, the items claimed, its records."""

    entry: Any
    node: str
    key: str
    items: tuple[str, ...]
    records: list[tuple[str, dict[str, str]]] = dataclasses.field(default_factory=list)

    @functools.cached_property
    def by_key(self) -> dict[str, dict[str, str]]:
        """The records by their key's value (read once the records are)."""
        return dict(self.records)

    @functools.cached_property
    def masks(self) -> dict[str, str]:
        """The masking rule of each personal item of the entry."""
        return {i.name: i.personal for i in self.entry.data_items if i.personal}


def keyed_sources(compose, seed: int, per_department: int) -> list[Source]:
    """Every seeded entry that is mounted (shared by database or file), shared at all, and
    looked up by an ID number or a credit code, with the string items a window may claim."""
    found = []
    for spec in compose.all:
        for code, name in spec.departments:
            for entry in entries_for(code, name, per_department, seed=seed):
                names = {i.name: i.type for i in entry.data_items}
                keys = [k for k in data_mod.KEY_ITEMS if k in names]
                if entry.share_method not in data_mod.KIND_FOR_METHOD or entry.share_type == "not_shared" or not keys:
                    continue
                claimed = tuple(n for n, t in names.items() if t in CLAIMABLE and n != keys[0])[:2]
                if claimed:
                    found.append(Source(entry, spec.id, keys[0], claimed))
    return found


def read_records(source: Source, database: str, limit: int = 2000) -> list[tuple[str, dict[str, str]]]:
    """(key, {item: value}) of the source's rows, as the harness wrote them beside the owner's database."""
    entry = source.entry
    folder = compose_mod.department_sources(database, entry.provider_code)
    table = "t" + entry.resource_code.replace("/", "_")
    columns = [source.key, *source.items]
    if entry.share_method == "database":
        with sqlite3.connect(f"file:{folder / f'{entry.provider_code}.db'}?mode=ro", uri=True) as db:
            rows = db.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c in columns)} FROM {table} LIMIT ?",
                              (limit,)).fetchall()
    else:
        with open(folder / f"{table}.csv", newline="", encoding="utf-8") as handle:
            rows = [tuple(r[c] for c in columns) for _, r in zip(range(limit), csv.DictReader(handle))]
    return [(str(row[0]), {item: str(value) for item, value in zip(source.items, row[1:])}) for row in rows]
