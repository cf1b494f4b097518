"""Faults applied at simulated times through a fault target (sim/targets.py: the harness's, or
Kubernetes'), each undone after its span; once undone, the hub's convergence (by digest) is
timed and recorded."""

from __future__ import annotations

import pathlib
import time

from harness.processes import HarnessError
from sim.scenario import Fault


def actions(faults: tuple[Fault, ...]) -> list[tuple[float, str, Fault]]:
    """(sim time, step, fault) in time order: a backup before a restore, each fault's start and end."""
    steps = []
    for fault in faults:
        if fault.kind == "restore_backup":
            steps += [(fault.at - fault.lasts, "backup", fault), (fault.at, "restore", fault)]
        else:
            steps += [(fault.at, "begin", fault), (fault.at + fault.lasts, "end", fault)]
    return sorted(steps, key=lambda s: (s[0], s[1] != "end"))


def label(fault: Fault) -> str:
    extra = f" {fault.delay_ms} ms" if fault.kind == "delay" else ""
    return f"{fault.kind} {', '.join(fault.nodes)}{extra}"


class Injector:
    """Applies each step; records every fault's span and the hub's convergence after it."""

    def __init__(self, fed, faults, books, now, backups: pathlib.Path, converge_timeout: float):
        """fed: the clients of the federation (convergence); faults: where faults land."""
        self.fed, self.faults, self.books, self.now = fed, faults, books, now
        self.backups = backups
        self.converge_timeout = converge_timeout
        self.records: dict[int, dict] = {}

    def record(self, fault: Fault) -> dict:
        return self.records.setdefault(id(fault), {"fault": label(fault), "kind": fault.kind,
                                                   "nodes": list(fault.nodes), "planned_at": fault.at})

    def apply(self, step: str, fault: Fault) -> None:
        rec = self.record(fault)
        try:
            if step == "backup":
                self._backup(fault, rec)
                return
            if step == "begin":
                rec["began"] = self.now()
                act = {"kill": self.faults.kill, "pause": self.faults.pause, "partition": self.faults.partition,
                       "delay": lambda n: self.faults.delay(n, fault.delay_ms)}[fault.kind]
                for node in fault.nodes:
                    act(node)
                return
            if step == "end":
                undo = {"kill": self.faults.revive, "pause": self.faults.resume}.get(fault.kind, self.faults.heal)
                for node in fault.nodes:
                    undo(node)
            elif step == "restore":
                rec["began"] = self.now()
                self._restore(fault, rec)
            rec["ended"] = self.now()
        except (HarnessError, OSError) as exc:
            rec["error"] = f"{step}: {exc}"
            if step == "begin":
                return
        self._converge(rec)

    def _converge(self, rec: dict) -> None:
        began = time.monotonic()
        try:
            self.fed.wait_converged(timeout=self.converge_timeout, poll=0.25)
            rec["converged"] = True
        except HarnessError as exc:
            rec["converged"], rec["error"] = False, str(exc)
        rec["converge_wall_seconds"] = round(time.monotonic() - began, 2)
        rec["converged_at"] = self.now()

    def _backup(self, fault: Fault, rec: dict) -> None:
        (node,) = fault.nodes
        path = self.backups / f"{node}-{int(fault.at)}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        rec["backup_at"] = self.now()
        self.faults.backup(node, str(path))
        rec["backup"] = str(path)

    def _restore(self, fault: Fault, rec: dict) -> None:
        if "backup" not in rec:
            raise HarnessError("no backup was taken")
        (node,) = fault.nodes

        def roll_back() -> None:  # while the node is down: no write can be acknowledged meanwhile
            rec["rolled_back_writes"] = self.books.roll_back(node, rec["backup_at"])

        self.faults.restore(node, rec["backup"], roll_back)
