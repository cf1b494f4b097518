"""The `multi-source` scenario (一数一源、多源校核): public security holds the authoritative
population source, other departments hold copies with errors injected at known records; the
hub's cross-source check (node/hub/crosscheck.py) finds them, the corrections travel to the
copies' owners, who answer after a drawn delay, while the hub and an owner are killed on the way.
The run checks that exactly the injected errors were found, that no correction was lost or
answered twice, and that the hub's database never held a record's key; sim/multisource_report.py
writes the report."""

from __future__ import annotations

import pathlib
import random
import shutil
import sqlite3
import tempfile
import threading
import time
import grpc

from harness import compose as compose_mod, data
from harness.runner import Federation
from node import wire
from node.config_rules import Reader, is_list, is_number, is_text, read_yaml
from node.model.correction import ANSWERS
from node.model.rules import DataItem, Entry
from node.proto import (catalog_pb2, catalog_pb2_grpc, corrections_pb2, corrections_pb2_grpc, exchange_pb2,
                        exchange_pb2_grpc)

ITEMS = (("公民身份号码", "string"), ("姓名", "string"), ("出生日期", "date"))
SPARE = 0.25  # people in the authority beyond those a copy holds
DEADLINE = 30


def load(path: str | pathlib.Path) -> dict:
    """The scenario file, checked: a bad key or value names the file, the key path and the rule."""
    r = Reader(str(path))
    top = r.mapping(read_yaml(path), "", {"name", "kind", "description", "compose", "seed", "authority", "copies",
                                          "answers", "faults", "timeout"})
    for key in ("name", "description", "compose"):
        r.get(top, "", key, is_text())
    compose = pathlib.Path(path).parent / top["compose"]
    if not compose.exists():
        r.fail("compose", f"names no file ({compose})")
    authority = r.mapping(r.get(top, "", "authority", lambda v: None), "authority", {"node", "department", "name"})
    copies = []
    for i, raw in enumerate(r.get(top, "", "copies", is_list)):
        c = r.mapping(raw, f"copies[{i}]", {"node", "department", "name", "province", "people", "errors"})
        for key in ("people", "errors"):
            r.get(c, f"copies[{i}]", key, is_number(1, 10**7, True))
        if c["errors"] > c["people"]:
            r.fail(f"copies[{i}].errors", "must not exceed people")
        copies.append(c)
    answers = r.mapping(top.get("answers") or {}, "answers", {*ANSWERS, "delay"})
    return dict(top, compose=str(compose), authority=authority, copies=copies, answers=answers,
                faults=r.get(top, "", "faults", is_list, []), seed=top.get("seed", 0),
                timeout=float(r.get(top, "", "timeout", is_number(10, 86400), 300)))


def entry(department: str, name: str) -> Entry:
    from datetime import datetime, timezone

    return Entry(resource_code=f"{department}/000001", name=name, summary=f"{name}（多源校核场景）",
                 provider_code=department, provider_name=name[:6], region_code=department[:6], category="base",
                 data_items=tuple(DataItem(n, kind, 0, key=n == "公民身份号码") for n, kind in ITEMS),
                 share_type="unconditional",
                 share_method="database", open_type="not_open", update_cycle="daily", source_system="",
                 published_at=datetime.now(timezone.utc))


class MultiSource:
    def __init__(self, scenario: dict, state: pathlib.Path):
        self.scenario = scenario
        self.state = state
        self.rng = random.Random(scenario["seed"])
        self.fed: Federation | None = None
        self.injected: dict[str, set[str]] = {}  # copy's resource code -> the keys of the records made wrong
        self.answered: dict[str, str] = {}  # correction id -> the owner's outcome, as the owner gave it
        self.refused_answers = 0  # answers the owner's node refused (a second answer must be refused)
        self.faults: list[dict] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    # -- setting up ------------------------------------------------------------------------

    def sources(self) -> None:
        """The authority's people (each copy's province, and a quarter more), each copy a slice of
        them with `errors` names changed at drawn rows; everything published and mounted."""
        s = self.scenario
        authority_rows = []
        for i, copy in enumerate(s["copies"]):
            people = list(data.rows(ITEMS, int(copy["people"] * (1 + SPARE)), seed=f"{s['seed']}:{i}",
                                    province=copy["province"]))
            authority_rows += people
            held = [list(row) for row in people[:copy["people"]]]
            wrong = self.rng.sample(range(len(held)), copy["errors"])
            for row in wrong:
                held[row][1] = held[row][1] + self.rng.choice("某明华") if len(held[row][1]) < 4 else held[row][1][:-1]
            code = f"{copy['department']}/000001"
            self.injected[code] = {held[row][0] for row in wrong}
            self._publish(copy["node"], copy["department"], copy["name"], held)
        a = s["authority"]
        self._publish(a["node"], a["department"], a["name"], authority_rows)

    def _publish(self, node_id: str, department: str, name: str, rows: list) -> None:
        folder = compose_mod.department_sources(self.fed.state["nodes"][node_id]["database"], department)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "people.db"
        with sqlite3.connect(path) as db:
            db.execute(f"CREATE TABLE people ({', '.join(f'{chr(34)}{n}{chr(34)} TEXT' for n, _ in ITEMS)})")
            db.executemany("INSERT INTO people VALUES (?, ?, ?)", rows)
        catalog_pb2_grpc.CatalogStub(self.fed.channel(node_id, department)).PublishEntry(
            catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry(department, name))), timeout=DEADLINE)
        exchange_pb2_grpc.ExchangeStub(self.fed.channel(node_id, department)).MountResource(
            exchange_pb2.MountResourceRequest(resource_code=f"{department}/000001", kind="sqlite", location=str(path),
                                              table="people", keys=["公民身份号码"], index="create"), timeout=60)

    # -- playing ---------------------------------------------------------------------------

    def listed(self, node_id: str, department: str = "", **fields) -> list:
        """Every correction the node lists (as the operator, or as a department), page by page."""
        stub = corrections_pb2_grpc.CorrectionsStub(self.fed.channel(node_id, department))
        found, token = [], ""
        while True:
            reply = stub.ListCorrections(corrections_pb2.ListCorrectionsRequest(
                page_size=1000, page_token=token, **fields), timeout=DEADLINE)
            found += reply.corrections
            token = reply.next_page_token
            if not token:
                return found

    def owner(self, copy: dict) -> None:
        """An owner department: answers each open correction after a drawn delay."""
        node_id, department = copy["node"], copy["department"]
        stub = lambda: corrections_pb2_grpc.CorrectionsStub(self.fed.channel(node_id, department))  # noqa: E731
        weights = {a: float(self.scenario["answers"].get(a, 0)) for a in ANSWERS}
        low, high = self.scenario["answers"].get("delay", [0.05, 1.0])
        while not self.stop.is_set():
            try:
                waiting = [c for c in self.listed(node_id, department, owner_code=department, state="open")]
                for c in waiting:
                    if self.stop.wait(self.rng.uniform(low, high) / max(1, len(waiting)) ** 0.5):
                        return
                    outcome = self.rng.choices(list(weights), list(weights.values()))[0]
                    reason = {"no_fault": "经核对源系统，记录无误", "rejected": "无法核实：请提供更多证据"}.get(outcome, "")
                    stub().AnswerCorrection(corrections_pb2.AnswerCorrectionRequest(
                        correction_id=c.correction_id, department_code=department, outcome=outcome, reason=reason),
                        timeout=DEADLINE)
                    with self.lock:
                        self.answered[c.correction_id] = outcome
                    self._answer_again(stub(), c.correction_id, department)
            except grpc.RpcError:
                pass  # the node is down or restarting: looked at again
            self.stop.wait(0.3)

    def _answer_again(self, stub, correction_id: str, department: str) -> None:
        """Now and then the owner answers twice (a double click): its node must refuse it."""
        if self.rng.random() < 0.05:
            try:
                stub.AnswerCorrection(corrections_pb2.AnswerCorrectionRequest(
                    correction_id=correction_id, department_code=department, outcome="corrected"), timeout=DEADLINE)
            except grpc.RpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    with self.lock:
                        self.refused_answers += 1

    def faulting(self, total: int) -> None:
        """Kills each fault's node once its moment comes (a share filed at the hub, or answered)."""
        for fault in self.scenario["faults"]:
            while not self.stop.is_set():
                try:
                    filed = len(self.listed(self.fed.hub_id, filer_code="hub"))
                except grpc.RpcError:
                    filed = 0
                with self.lock:
                    answered = len(self.answered)
                if filed >= fault.get("when_filed", 2) * total or answered >= fault.get("when_answered", 2) * total:
                    break
                self.stop.wait(0.2)
            if self.stop.is_set():
                return
            started = time.monotonic()
            self.fed.kill(fault["kill"])
            self.stop.wait(fault.get("down", 2))
            self.fed.start(fault["kill"])
            self.faults.append(dict(node=fault["kill"], filed_at_kill=filed, answered_at_kill=answered,
                                    down_seconds=round(time.monotonic() - started, 2)))

    def settled(self) -> bool:
        """Every injected error filed at the hub, answered, and the answers back at the hub."""
        total = sum(len(keys) for keys in self.injected.values())
        at_hub = self.listed(self.fed.hub_id, filer_code="hub")
        return len(at_hub) >= total and all(c.state in ANSWERS for c in at_hub)


def run(scenario: dict, out: pathlib.Path, state: str | None = None) -> dict:
    """Plays the scenario and writes its report; returns the report's figures."""
    from sim import multisource_report

    folder = pathlib.Path(state) if state else pathlib.Path(tempfile.mkdtemp(prefix="cascade-multisource-"))
    play = MultiSource(scenario, folder)
    timings: dict[str, float] = {}
    started = time.monotonic()
    play.fed = Federation.up(scenario["compose"], folder)
    try:
        timings["up"] = time.monotonic() - started
        play.sources()
        timings["sources"] = time.monotonic() - started - timings["up"]
        total = sum(len(keys) for keys in play.injected.values())
        threads = [threading.Thread(target=play.owner, args=(c,), daemon=True) for c in scenario["copies"]]
        threads.append(threading.Thread(target=play.faulting, args=(total,), daemon=True))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + scenario["timeout"]
        while time.monotonic() < deadline:
            try:
                if play.settled():
                    break
            except grpc.RpcError:
                pass
            time.sleep(0.5)
        play.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        timings["play"] = time.monotonic() - started - timings["up"] - timings["sources"]
        play.fed.sync_now()
        result = multisource_report.build(play, timings)
    finally:
        play.fed.down(purge=state is None)
        if state is None:
            shutil.rmtree(folder, ignore_errors=True)
    multisource_report.write(result, out)
    return result

