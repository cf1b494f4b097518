"""A simulation run: brings the scenario's federation up through the harness (or drives one it
did not start, described by a federation file: sim/remote.py), publishes the synthetic catalog, then plays the workload and the faults on the simulated clock while sampling
each peer's lag at the hub, checks the invariants and writes the report."""

from __future__ import annotations

import heapq
import itertools
import pathlib
import shutil
import tempfile
import threading
import time
from concurrent import futures

import grpc

from harness import compose as compose_mod
from harness.processes import HarnessError, children_resident_kib, resident_kib
from harness.runner import Federation
from node.progress import Progress
from sim import faults as faults_mod
from sim import invariants, remote, report, targets, workload
from sim.clock import Pacer, SimClock
from sim.invariants import Books, Write
from sim.report import Played
from sim.scenario import Scenario

TICK = 0.05  # wall seconds between looks at the schedule


class Run:
    """One run of a scenario: its phases (up, seed, play, check) and what they gather for the report."""

    def __init__(self, scenario: Scenario, out: pathlib.Path, state: pathlib.Path, display: Progress | None = None,
                 federation: str | pathlib.Path | None = None):
        self.scenario = scenario
        self.federation = federation  # a federation file: drive that federation, start none
        self.faults: targets.Faults | None = None  # where faults land (sim/targets.py)
        self.out = out
        self.state = state
        self.clock = SimClock(scenario.start, scenario.factor, scenario.calendar)
        # over simulated time: a bar on a terminal, a line each 10% in a log
        self.display = display or Progress(scenario.name, scenario.duration, unit=None)
        self.books = Books()
        self.metrics = workload.Metrics()
        self.lag: list[dict] = []  # the hub's view of each peer (and every node's memory), sampled
        self.ingest: list[dict] = []  # every node's memory while the seeded catalog is taken in, by wall time
        self.queue: list[tuple[float, int, workload.Event]] = []  # events due, by simulated time
        self.queue_lock = threading.Lock()
        self.counter = itertools.count()  # breaks ties in the queue in the order events were scheduled
        self.stop = threading.Event()
        self.pacer: Pacer | None = None  # made when play begins: simulated time starts there
        self.injector: faults_mod.Injector | None = None  # made when play begins
        self.unplayed: list[workload.Event] = []  # events still queued when the clock ran out
        self.timings: dict[str, float] = {}
        self.hub_id = ""

    def now(self) -> float:
        return self.pacer.now() if self.pacer else 0.0

    def schedule(self, event: workload.Event) -> None:
        with self.queue_lock:
            heapq.heappush(self.queue, (event.at, next(self.counter), event))

    # -- the phases ------------------------------------------------------------------------------

    def _connect(self, compose):
        """The federation's clients: one the harness starts now, or the one the federation file
        describes (it must hold every node of the scenario's compose file). Returned as soon as it
        is up, with nothing called between, so that a signal (Ctrl-C, SIGTERM) that ends the run
        meanwhile finds it either still starting, and brought down by Federation.up, or in the
        run's hands, and brought down by its `finally`."""
        if self.federation is None:
            self.display.note(f"{self.scenario.name}: starting {compose.name} ({len(compose.all)} nodes) in {self.state}")
            return Federation.up(self.scenario.compose, self.state)
        fed = remote.load(self.federation)
        problems = []
        if missing := sorted({n.id for n in compose.all} - set(fed.state["nodes"])):
            problems.append(f"no node {', '.join(missing)}")
        if fed.hub_id != compose.hub.id:
            problems.append(f"its hub is {fed.hub_id}, the scenario's {compose.hub.id}")
        if unsupported := targets.unsupported(fed.faults, {f.kind for f in self.scenario.faults}):
            problems.append(f"its faults cannot apply {', '.join(unsupported)}")
        if problems:
            fed.close()
            raise HarnessError(f"{self.federation} does not fit the scenario: {'; '.join(problems)}")
        self.display.note(f"{self.scenario.name}: driving the federation of {self.federation} "
                          f"({len(fed.state['nodes'])} nodes)")
        return fed

    def execute(self) -> dict:
        compose = compose_mod.load(self.scenario.compose)
        began = time.monotonic()
        fed = self._connect(compose)
        try:
            # where faults land: the harness's own processes, or what the federation file allows
            self.faults = targets.HarnessFaults(fed) if self.federation is None else fed.faults
            self.hub_id = fed.hub_id
            self.timings["up_seconds"] = round(time.monotonic() - began, 1)
            known = workload.Catalog(self.scenario, compose)
            self._seed(fed, known)
            events = workload.plan(self.scenario, known)
            for event in events:
                self.schedule(event)
            self._play(fed, known)
            self.display.close()
            self.display.note(f"{self.scenario.name}: checking invariants")
            checks = self._check(fed)
            result = report.build(self.scenario, self.clock, self._played(len(events)), checks, known)
            report.write(result, self.lag, self.out)
            return result
        finally:
            self.display.close()
            if self.federation is None:
                fed.down(purge=False)
            else:
                fed.close()  # a federation this run did not start keeps running

    def _played(self, planned: int) -> Played:
        return Played(hub_id=self.hub_id, timings=dict(self.timings), metrics=self.metrics, books=self.books,
                      lag=self.lag, ingest=self.ingest, faults=list(self.injector.records.values()) if self.injector else [],
                      planned=planned, unplayed=len(self.unplayed))

    def _seed(self, fed: Federation, known: workload.Catalog) -> None:
        """Publishes every node's seeded catalog (four nodes at a time, each department's in bulk
        with its own token), then waits for the hub to take it all in."""
        began = time.monotonic()
        total = sum(known.seeded.values())

        def publish(node_id: str) -> None:
            for chunk in known.seed_chunks(node_id):
                self.books.bulk(node_id, len(chunk), fed.publish(node_id, chunk, timeout=self.scenario.seed_timeout))
                known.tally.add(node_id, chunk)
            for entry in (e for c, e in known.entries.items() if known.node_of[c] == node_id):
                # a new federation: every seeded entry is created at version 1
                self.books.acknowledged(Write(entry.resource_code, 1, False, node_id, 0.0))
            self.display.note(f"{self.scenario.name}: {node_id} published {known.tally.per_node[node_id]:,} entries "
                              f"({known.tally.entries:,}/{total:,} in {time.monotonic() - began:.0f} s)")

        seeding = threading.Event()
        sampler = threading.Thread(target=self._sample_ingest, args=(fed, began, seeding, total), name="sim-ingest", daemon=True)
        sampler.start()
        try:
            with futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="sim-seed") as pool:
                list(pool.map(publish, known.nodes()))
            self.timings["publish_seconds"] = round(time.monotonic() - began, 1)
            self._wait_taken_in(fed, total, began + self.scenario.seed_timeout)
            fed.wait_converged(timeout=max(self.scenario.converge_timeout, began + self.scenario.seed_timeout
                                           - time.monotonic()), poll=1.0)
        finally:
            seeding.set()
            sampler.join()
        self.timings["seed_seconds"] = round(time.monotonic() - began, 1)
        self.display.note(f"{self.scenario.name}: {total:,} entries published in {self.timings['publish_seconds']} s "
                          f"and at the hub in {self.timings['seed_seconds']} s")

    def _sample_ingest(self, fed: Federation, began: float, done: threading.Event, total: int) -> None:
        """Every node's resident memory (and the hub's worker processes') while the catalog is
        published and taken in: the part of a run where the hub holds the most in flight."""
        every = 2.0 if total <= 100_000 else 10.0
        while True:
            nodes = list(fed.state["nodes"].items())
            hub_pid = fed.state["nodes"].get(fed.hub_id, {}).get("pid")
            self.ingest.append({"wall": round(time.monotonic() - began, 1),
                                "rss_mib": {n: round(resident_kib(node.get("pid")) / 1024, 1) for n, node in nodes},
                                "hub_workers_mib": round(children_resident_kib(hub_pid) / 1024, 1)})
            if done.wait(every):
                return

    def _wait_taken_in(self, fed: Federation, total: int, deadline: float) -> None:
        """Shows the hub taking in the seeded catalog until every peer's cursor stands at its head
        (cheap to ask); comparing digests, which reads every entry, comes after."""
        last = -1
        while time.monotonic() < deadline:
            try:
                peers = fed.status(fed.hub_id, timeout=10.0).peers
            except grpc.RpcError:
                self.stop.wait(2.0)
                continue
            held = sum(p.entries_at_hub for p in peers)
            if held != last:
                self.display.note(f"{self.scenario.name}: the hub holds {held:,} of the peers' entries")
                last = held
            if all(p.state == "ok" and p.behind == 0 and p.seconds_since_success >= 0 for p in peers):
                return
            self.stop.wait(5.0 if total > 100_000 else 0.5)

    def _play(self, fed: Federation, known: workload.Catalog) -> None:
        injector = self.injector = faults_mod.Injector(fed, self.faults, self.books, self.now, self.state / "backups",
                                                       self.scenario.converge_timeout)
        steps = faults_mod.actions(self.scenario.faults)
        self.pacer = Pacer(self.clock)
        worker = workload.Worker(fed, self.scenario, self.clock, known, self.books, self.metrics, self.now,
                                 self.schedule)
        pool = futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="sim-call")
        fault_thread = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-fault")
        sampler = futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-lag")
        sampling: futures.Future | None = None
        next_sample, active = 0.0, []
        end = self.scenario.duration
        began = time.monotonic()
        while True:
            now = self.now()
            if now >= end:
                break
            while steps and steps[0][0] <= now:
                at, step, fault = steps.pop(0)
                fault_thread.submit(self._step, injector, step, fault, active)
            with self.queue_lock:
                due = []
                while self.queue and self.queue[0][0] <= now:
                    due.append(heapq.heappop(self.queue)[2])
            for event in due:
                pool.submit(worker.run, event)
            if now >= next_sample and (sampling is None or sampling.done()):
                sampling = sampler.submit(self._sample, fed, now)
                next_sample = now + self.scenario.sample_every
            self.display.update(now, text=f"{self.clock.at(now):%Y-%m-%d %H:%M} writes {len(self.books.writes)} "
                                          f"requests {len(self.books.requests)}"
                                          + (f" [{', '.join(active)}]" if active else ""))
            self.stop.wait(TICK)
        self.display.update(end, text="done")
        self.timings["play_wall_seconds"] = round(time.monotonic() - began, 1)
        for step in steps:  # a step the clock never reached (none, for a valid scenario)
            fault_thread.submit(self._step, injector, step[1], step[2], active)
        pool.shutdown(wait=True)
        fault_thread.shutdown(wait=True)
        sampler.shutdown(wait=True)
        with self.queue_lock:
            self.unplayed = [e for _, _, e in self.queue]

    def _step(self, injector, step: str, fault, active: list) -> None:
        name = faults_mod.label(fault)
        self.display.note(f"{self.clock.at(self.now()):%Y-%m-%d %H:%M} fault {step}: {name}")
        if step == "begin":
            active.append(name)
        elif step == "end" and name in active:
            active.remove(name)
        injector.apply(step, fault)

    def _sample(self, fed: Federation, at: float) -> None:
        rss = {node_id: round(resident_kib(node.get("pid")) / 1024, 1) for node_id, node in list(fed.state["nodes"].items())}
        # the hub's worker and reader processes (node/api/readers.py: they start with its searches)
        others = round(children_resident_kib(fed.state["nodes"].get(fed.hub_id, {}).get("pid")) / 1024, 1)
        try:
            status = fed.status(fed.hub_id, timeout=2.0)
            self.lag.append({"at": at, "rss_mib": rss, "hub_workers_mib": others,
                             "peers": {p.node_id: {"behind": p.behind, "since_success": p.seconds_since_success,
                                                   "state": p.state} for p in status.peers}})
        except grpc.RpcError as exc:
            self.lag.append({"at": at, "rss_mib": rss, "hub_workers_mib": others, "peers": {},
                             "error": exc.code().name})

    def _check(self, fed: Federation) -> dict:
        faults = list(self.injector.records.values()) if self.injector else []
        return {
            "hub_converged_after_every_fault": invariants.check_convergence(fed, faults, self.scenario.converge_timeout),
            "every_acknowledged_write_at_hub": invariants.check_writes(fed, self.books),
            "no_request_lost_or_answered_twice": invariants.check_requests(fed, self.books,
                                                                          self.scenario.converge_timeout),
        }


def run(scenario: Scenario, out: str | pathlib.Path, state: str | pathlib.Path | None = None,
        display: Progress | None = None, federation: str | pathlib.Path | None = None) -> dict:
    """Runs the scenario and writes its report to `out`; the federation's files go to `state`
    (a temporary directory, removed afterwards, when none is given). With `federation`, a
    federation file, it drives that federation instead of starting one. Returns the report."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    temporary = state is None
    state_dir = pathlib.Path(tempfile.mkdtemp(prefix="cascade-sim-") if temporary else state)
    try:
        return Run(scenario, out, state_dir, display, federation).execute()
    finally:
        if temporary:
            shutil.rmtree(state_dir, ignore_errors=True)
