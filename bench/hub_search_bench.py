"""Search latency and resident memory of a big hub: the hub a `cascade sim run` left behind
(`--state DIR`, e.g. after scenarios/scale.yaml with 3,000,000 entries) is started alone and asked
2- and 4-character Chinese queries one at a time (latency as a user sees it on an idle hub),
then by several clients at once for a while (throughput, latency under load, and the hub's
resident memory, sampled as it serves).

    cascade sim run scenarios/scale.yaml --state /tmp/scale-state
    python bench/hub_search_bench.py --state /tmp/scale-state [--rounds 10] [--clients 4] [--seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time

from common import ROOT, percentile

from harness.processes import env, resident_kib, terminate, wait_healthy
from harness.runner import Federation
from node.proto import admin_pb2, catalog_pb2

TWO = ["人口", "企业", "社保", "信用", "交通", "证照", "户籍", "医疗", "登记", "住房"]
FOUR = ["户籍人口", "企业法人", "电子证照", "行政处罚", "养老保险", "机动车登", "不动产登", "学历学位", "公积金缴", "预防接种"]


def one_at_a_time(stub, queries: list[str], rounds: int) -> tuple[list[float], list[int], int]:
    times, totals, capped = [], [], 0
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            reply = stub.SearchEntries(catalog_pb2.SearchEntriesRequest(query=query, page_size=20), timeout=30)
            times.append((time.perf_counter() - start) * 1000)
            totals.append(reply.total)
            capped += reply.total_is_lower_bound
    return times, totals, capped


def under_load(fed: Federation, hub: str, pid: int, clients: int, seconds: float) -> dict:
    times: list[float] = []
    rss: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        stub = fed.catalog(hub)
        i = n
        while time.monotonic() < stop:
            query = (TWO + FOUR)[i % 20]
            i += clients
            start = time.perf_counter()
            stub.SearchEntries(catalog_pb2.SearchEntriesRequest(query=query, page_size=20), timeout=30)
            with lock:
                times.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        rss.append(resident_kib(pid))
        time.sleep(0.5)
    return {"queries": len(times), "per_second": len(times) / seconds, "p50": percentile(times, 50),
            "p99": percentile(times, 99), "rss_max_mib": max(rss) / 1024, "rss_mean_mib": statistics.mean(rss) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True, help="the state directory of a finished simulation run")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the 10 queries of each length, one at a time")
    parser.add_argument("--clients", type=int, default=4, help="clients searching at once in the load phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load phase")
    args = parser.parse_args()

    fed = Federation(args.state)
    hub = fed.hub_id
    # the hub alone, on the port it had (its peers stay down: its pulls of them fail and back off)
    log = open(fed.node(hub)["log"], "ab")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "node", "run", "--config", fed.node(hub)["config"]],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env())
    try:
        wait_healthy(fed.address(hub), 300, proc, credentials=fed.client())
        time.sleep(1.0)
        if proc.poll() is not None:
            raise SystemExit(f"the hub exited: another process answers on {fed.address(hub)} (a federation still up?)")
        pid = proc.pid
        stub = fed.catalog(hub)
        entries = sum(p.entries_at_hub for p in fed.admin(hub).Status(admin_pb2.StatusRequest(), timeout=30).peers)
        print(f"Hub {hub} with {entries:,} of its peers' entries; resident {resident_kib(pid) / 1024:.0f} MiB at start")
        one_at_a_time(stub, TWO[:3], 1)  # the first queries read the index from disk: not what a user waits for twice
        for label, queries in (("2-character", TWO), ("4-character", FOUR)):
            times, totals, capped = one_at_a_time(stub, queries, args.rounds)
            print(f"  {label} queries ({len(times)}, one at a time)  p50 {percentile(times, 50):.1f} ms, "
                   f"p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms; {capped} of {len(times)} replies "
                   f"counted to the cap (10,000+)  (goal p99 < 50 ms)")
        load = under_load(fed, hub, pid, args.clients, args.seconds)
        print(f"  {args.clients} clients at once for {args.seconds:g} s: {load['queries']} queries, "
               f"{load['per_second']:.0f}/s, p50 {load['p50']:.1f} ms, p99 {load['p99']:.1f} ms")
        print(f"  hub resident memory while serving: max {load['rss_max_mib']:.0f} MiB, mean "
               f"{load['rss_mean_mib']:.0f} MiB  (goal < 500 MB)")
    finally:
        terminate(proc.pid, 60)


if __name__ == "__main__":
    main()
