"""Faults applied at simulated times through the harness's Federation API, each undone after its
span; once undone, the hub's convergence (by digest) is timed and recorded."""

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

    def __init__(self, fed, books, now, backups: pathlib.Path, converge_timeout: float):
        self.fed, self.books, self.now = fed, books, now
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
                act = {"kill": self.fed.kill, "pause": self.fed.pause, "partition": self.fed.partition,
                       "delay": lambda n: self.fed.delay(n, fault.delay_ms)}[fault.kind]
                for node in fault.nodes:
                    act(node)
                return
            if step == "end":
                undo = {"kill": self.fed.start, "pause": self.fed.resume}.get(fault.kind, self.fed.heal)
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
        from node.store import backup  # the node's own backup, safe while it runs

        (node,) = fault.nodes
        path = self.backups / f"{node}-{int(fault.at)}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        rec["backup_at"] = self.now()
        backup(self.fed.node(node)["database"], str(path))
        rec["backup"] = str(path)

    def _restore(self, fault: Fault, rec: dict) -> None:
        from node.store import restore

        if "backup" not in rec:
            raise HarnessError("no backup was taken")
        (node,) = fault.nodes
        self.fed.stop(node)
        restore(rec["backup"], self.fed.node(node)["database"])
        rec["rolled_back_writes"] = self.books.roll_back(node, rec["backup_at"])
        self.fed.start(node)
