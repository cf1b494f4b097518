"""What metrics cost: the bulk publish of node_bench.py with `metrics:` on (every call counted
and timed by the guard, the endpoint scraped every few seconds as Prometheus would) against the
same run with metrics off, as a ratio (goal: at most 5% slower).

    python bench/metrics_bench.py [--entries 50000] [--call-size 5000] [--rounds 6] [--scrape-every 5]

After a warm-up, runs alternate off/on, on/off, ..., each on a fresh database; the best run of
each is compared (the machine's noise only ever slows a run down), and the medians. The node's
CPU seconds for the load are compared too (on a shared machine they shake less than wall time),
and the guard's hook is timed alone. Also prints what one scrape of the loaded node takes, and
how big it is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import socket
import statistics
import threading
import time
import urllib.request

from common import Timer, percentile, report, scratch
from node_bench import grpc_bulk, start_node

from harness.seed import entries_for

DEPARTMENT = "130100001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scraper:
    """Scrapes the node's endpoint every `every` seconds while a run goes on, as Prometheus would."""

    def __init__(self, address: str, every: float):
        self.url = f"http://{address}/metrics"
        self.every = every
        self.seconds: list[float] = []
        self.size = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def scrape(self) -> None:
        with Timer() as t:
            body = urllib.request.urlopen(self.url, timeout=30).read()
        self.seconds.append(t.seconds)
        self.size = len(body)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.scrape()

    def __enter__(self):
        deadline = time.monotonic() + 30
        while True:  # the endpoint is up once the node is: wait for it like a scraper would
            try:
                self.scrape()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far: less shaken than wall time by other load."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bulk_publish(folder, entries, call_size: int, metrics: bool, run: int,
                 every: float) -> tuple[float, float, Scraper | None]:
    """(entries/s, the node's CPU seconds for the load, the scraper when metrics are on)."""
    address = f"127.0.0.1:{free_port()}"
    extra = {"metrics": {"listen": address}} if metrics else None
    proc, channel = start_node(folder, database=f"node-{run}.db", extra=extra)
    try:
        scraper = Scraper(address, every) if metrics else contextlib.nullcontext()
        with scraper:
            cpu = cpu_seconds(proc.pid)
            rate = grpc_bulk(channel, entries, call_size)
            cpu = cpu_seconds(proc.pid) - cpu
        if not metrics:
            return rate, cpu, None
        scraper.scrape()  # one more of the loaded node, for its cost
        return rate, cpu, scraper
    finally:
        channel.close()
        proc.terminate()
        proc.wait(30)


def observe_cost(calls: int = 200_000) -> float:
    """Microseconds the guard's hook adds to one call: count it and time it, in this process."""
    from prometheus_client import CollectorRegistry

    from node.metrics.rpc import RpcMetrics

    rpc = RpcMetrics(CollectorRegistry())
    methods = [f"/node.proto.Catalog/Method{i}" for i in range(10)]
    with Timer() as t:
        for i in range(calls):
            rpc.observe(methods[i % 10], "OK", 0.003)
    return t.seconds / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=50_000, help="entries bulk-published in each run")
    parser.add_argument("--call-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--scrape-every", type=float, default=5.0, help="seconds between scrapes while metrics are on")
    args = parser.parse_args()
    entries = list(entries_for(DEPARTMENT, "石家庄市第01部门", args.entries, seed="bench", place="石家庄市"))
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    scrapes: list[float] = []
    size = 0
    with scratch() as folder:
        bulk_publish(folder, entries[:len(entries) // 10], args.call_size, False, -1, args.scrape_every)  # warm-up
        for run in range(args.rounds):
            for metrics in ((False, True) if run % 2 == 0 else (True, False)):  # neither always goes first
                rate, seconds, scraper = bulk_publish(folder, entries, args.call_size, metrics, run * 2 + metrics,
                                                      args.scrape_every)
                rates[metrics].append(rate)
                cpu[metrics].append(seconds)
                if scraper is not None:
                    scrapes += scraper.seconds
                    size = scraper.size
    off, on = max(rates[False]), max(rates[True])
    cpu_off, cpu_on = min(cpu[False]), min(cpu[True])
    median_rate = statistics.median(rates[True]) / statistics.median(rates[False])
    median_cpu = statistics.median(cpu[True]) / statistics.median(cpu[False])
    per_call = observe_cost()
    report(f"metrics' cost: bulk publish of {args.entries:,} entries, {args.call_size} per call, synchronous=full, "
           f"scraped every {args.scrape_every:g} s when on; best of {args.rounds} runs each", [
               ("metrics off", f"{off:,.0f} entries/s  (runs: {', '.join(f'{r:,.0f}' for r in rates[False])})"),
               ("metrics on", f"{on:,.0f} entries/s  (runs: {', '.join(f'{r:,.0f}' for r in rates[True])})"),
               ("on / off", f"{on / off:.1%} best, {median_rate:.1%} median  (goal >= 95%: at most 5% slower)"),
               ("node CPU, off", f"{cpu_off:.2f} s  (runs: {', '.join(f'{c:.2f}' for c in cpu[False])})"),
               ("node CPU, on", f"{cpu_on:.2f} s  (runs: {', '.join(f'{c:.2f}' for c in cpu[True])})"),
               ("CPU on / off", f"{cpu_on / cpu_off:.1%} best, {median_cpu:.1%} median  "
                                "(at most 105%: less shaken by other load than wall time)"),
               ("the guard's hook", f"{per_call:.2f} µs a call (count + histogram)"),
               (f"one scrape ({len(scrapes)} taken)", f"p50 {percentile(scrapes, 50) * 1000:.1f} ms, "
                                                     f"max {max(scrapes) * 1000:.1f} ms, {size:,} bytes"),
           ])

if __name__ == "__main__":
    main()
