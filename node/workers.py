"""Worker processes for the per-entry Python work of bulk writes (decoding, validating, building
rows), so that it runs beside the node's SQLite writer instead of taking turns with it for the
GIL. A bulk publish or a pulled batch is handed over as the message's bytes; the worker returns
plain tuples (see `node.store.Staged`).

Why processes: a profile of a bulk publish (py-spy, bench/node_bench.py) showed the handler's
Python work and the writer's inserts each needing the GIL, so that the pipelined writer ran no
faster than doing the two one after the other, on any switch interval.

The pool starts on first use and stops after `IDLE_SECONDS` without work, so that a node that
never loads in bulk (most of a harness's 40 nodes, most of the time) holds no extra processes.
With `workers: 0`, or for a small piece of work, the work runs on the calling thread.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import pathlib
import sys
import threading
import time
from concurrent import futures
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

IDLE_SECONDS = 60.0
MIN_ITEMS = 100
# How much lower a worker's scheduling priority is than its node's (a nice value: unprivileged
# processes may lower theirs). The node's single SQLite writer is the one step that cannot be
# spread over cores; staging runs a batch ahead of it. At equal priority, two workers and the
# writer shared two cores as three equals, and the writer, the step every entry waits for, got
# two thirds of a core; lowered, the workers take what the writer leaves. They are never
# starved: the writer stops to wait for the next staged batch.
WORKER_NICENESS = 10


def tune_gc() -> None:
    """Fewer garbage collections for a process that builds many short-lived rows: a collection
    every 700 new objects (the default) spent more time in a bulk load than the rows did
    (measured on decoding 20,000 entries: 29 us per entry's data items with the default, 6 us
    without collections)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


SWITCH_INTERVAL = 0.001  # seconds


def tune_threads() -> None:
    """A node serves up to 64 calls at once, each on its thread. A thread that is ready waits for
    the interpreter's lock up to the switch interval, 5 ms by default, and a relayed call waits so
    several times: 32 service-hall callers verifying through the hub had a p99 of 82 ms with the
    default and 50 ms with 1 ms (bench/call_bench.py), for no loss of calls per second."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def _worker_started(parent: int) -> None:
    tune_gc()
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # a platform without priorities: the workers share the cores as equals
        pass
    watch_parent(parent)


def watch_parent(parent: int) -> None:
    """Ends this process once its node is gone: a node killed with SIGKILL cannot stop its
    workers, and a worker waiting for work would wait for ever (it holds its queue's other end
    itself)."""
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


CGROUP = "/sys/fs/cgroup"


def usable_cores(cgroup: str = CGROUP) -> int:
    """The cores this process may use: its CPU affinity (a cpuset, `taskset`) and its cgroup's CPU
    quota (a container's CPU limit: `limits.cpu: 2` on a 32-core machine is two cores' worth),
    not every core of the machine, which os.cpu_count() counts."""
    try:
        cores = len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on this platform
        cores = os.cpu_count() or 1
    quota = cpu_quota(cgroup)
    return cores if quota is None else max(1, min(cores, math.ceil(quota)))


def cpu_quota(cgroup: str = CGROUP) -> float | None:
    """Cores' worth of CPU time the cgroup may use in each period, or None when it is not limited
    (or there is no cgroup to read): `cpu.max` under cgroup v2, `cpu.cfs_quota_us` under v1."""
    root = pathlib.Path(cgroup)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def default_workers() -> int:
    """None on one core (a worker would only take turns with the node); else one per core, at
    most four."""
    cores = usable_cores()
    return 0 if cores == 1 else min(4, cores)


class WorkerPool:
    """`run(fn, *args)` returns a future of fn(*args): from a worker process, or computed on the
    calling thread when the pool has no workers. fn and its arguments must pickle (top-level
    functions, bytes, tuples)."""

    def __init__(self, workers: int, log=None):
        self.workers = workers
        self.log = log
        self._lock = threading.Lock()
        self._executor: futures.ProcessPoolExecutor | None = None
        self._last_used = 0.0
        self._closed = False
        self._reaper: threading.Timer | None = None

    def run(self, fn: Callable[..., T], *args, items: int) -> "Pending[T]":
        """fn(*args) under way: in a worker for `items` (entries, say) of at least `MIN_ITEMS`,
        else on this thread (a worker's round trip costs more than a little work)."""
        if items >= MIN_ITEMS:
            with self._lock:
                executor = self._running()
                if executor is not None:
                    try:
                        return Pending(executor.submit(fn, *args), executor, self, fn, args)
                    except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh next time
                        self.forget(executor)
        return Pending(None, None, self, fn, args)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._reaper is not None:
                self._reaper.cancel()
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    def forget(self, executor: futures.ProcessPoolExecutor) -> None:
        """Drops an executor whose worker died, unless a new one has replaced it already."""
        with self._lock:
            if self._executor is executor:
                self._drop("a worker process died")

    def _running(self) -> futures.ProcessPoolExecutor | None:
        """The executor, started if needed (under the lock)."""
        if self.workers <= 0 or self._closed:
            return None
        self._last_used = time.monotonic()
        if self._executor is None:
            # spawn, not fork: the node's process holds gRPC threads, which a fork does not survive.
            self._executor = futures.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                         initializer=_worker_started, initargs=(os.getpid(),))
            if self.log is not None:
                self.log.info("workers.started", workers=self.workers)
            self._schedule_reaper()
        return self._executor

    def _schedule_reaper(self) -> None:
        self._reaper = threading.Timer(IDLE_SECONDS / 4, self._reap)
        self._reaper.daemon = True
        self._reaper.start()

    def _reap(self) -> None:
        with self._lock:
            if self._executor is None or self._closed:
                return
            if time.monotonic() - self._last_used >= IDLE_SECONDS:
                self._drop("idle")
            else:
                self._schedule_reaper()

    def _drop(self, why: str) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
            if self.log is not None:
                self.log.info("workers.stopped", why=why)


class Pending(Generic[T]):
    """Work handed to a `WorkerPool`: `result()` waits for it, and computes it on this thread if
    it never started or its worker died."""

    def __init__(self, future: "futures.Future[T] | None", executor: futures.ProcessPoolExecutor | None,
                 pool: WorkerPool, fn: Callable[..., T], args: tuple):
        self._future, self._executor, self._pool, self._fn, self._args = future, executor, pool, fn, args

    def result(self, timeout: float | None = None) -> T:
        """The work's result; raises concurrent.futures.TimeoutError if a worker has not given it
        within timeout seconds."""
        if self._future is not None:
            try:
                return self._future.result(timeout)
            except BrokenProcessPool:
                self._pool.forget(self._executor)
        return self._fn(*self._args)
