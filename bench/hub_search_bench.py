"""Search latency and resident memory of a big hub, started alone, under the mix a national portal
sends it: plain queries, queries with one to three filters (region, department, category, share
type, update cycle, open type) on any of their first 100 pages, listings under filters from deep
positions (keyset pages), listings with their facet count, one-character queries, and open-data
harvest pages of 1,000; one client, then 4 and 16 at once.

The hub is either one a `cascade sim run` left behind (`--state DIR`, e.g. after
scenarios/scale.yaml) or one `bench/big_hub.py` wrote straight into a file (`--hub DIR`):

    python bench/big_hub.py --entries 1000000 --out /tmp/big-hub
    python bench/hub_search_bench.py --hub /tmp/big-hub [--seconds 20] [--clients 1,4,16]
    python bench/hub_search_bench.py --state /tmp/scale-state
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import statistics
import subprocess
import sys
import threading
import time

import grpc
from common import READERS_HELP, ROOT, cpu_seconds, percentile, tree_cpu_seconds, wait_warm

from harness.processes import children_resident_kib, env, resident_kib, terminate, wait_healthy
from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security.client import open_channel

ONE = ["人", "数", "企", "证", "医"]
TWO = ["人口", "企业", "社保", "信用", "交通", "证照", "户籍", "医疗", "登记", "住房"]
FOUR = ["户籍人口", "企业法人", "电子证照", "行政处罚", "养老保险", "机动车登", "不动产登", "学历学位", "公积金缴", "预防接种"]
VALUES = {
    "category": ("base", "theme", "department"),
    "share_type": ("unconditional", "conditional", "not_shared"),
    "update_cycle": ("realtime", "daily", "weekly", "monthly", "quarterly", "half_yearly", "yearly", "irregular"),
    "open_type": ("open", "conditional_open", "not_open"),
}
PAGE = 20


class Mix:
    """The portal's requests to the hub, drawn at random; each returns its kind."""

    def __init__(self, stub, provinces: list[str], providers: list[str]):
        self.stub, self.provinces, self.providers = stub, provinces, providers

    def filters(self, rng: random.Random, most: int = 3) -> catalog_pb2.EntryFilter:
        names = rng.sample(["region_code", "provider_code", *VALUES], rng.randint(1, most))
        if "region_code" in names and "provider_code" in names:
            names.remove("region_code")  # a department lies in one region: both narrow to it
        fields = {}
        for name in names:
            if name == "region_code":
                fields[name] = rng.choice(self.provinces)
            elif name == "provider_code":
                fields[name] = rng.choice(self.providers)
            else:
                fields[name] = rng.choice(VALUES[name])
        return catalog_pb2.EntryFilter(**fields)

    def one(self, rng: random.Random) -> str:
        roll = rng.random()
        page = rng.randint(1, 100)
        token = str((page - 1) * PAGE) if page > 1 else ""
        if roll < 0.2:
            self.stub.SearchEntries(catalog_pb2.SearchEntriesRequest(
                query=rng.choice(TWO + FOUR), page_size=PAGE, page_token=token), timeout=30)
            return "plain query, page 1..100"
        if roll < 0.5:
            self.stub.SearchEntries(catalog_pb2.SearchEntriesRequest(
                query=rng.choice(TWO + FOUR), filter=self.filters(rng), page_size=PAGE, page_token=token), timeout=30)
            return "query + 1..3 filters, page 1..100"
        if roll < 0.65:
            after = f"{rng.choice(self.providers)}{rng.randint(0, 2000):06d}"
            self.stub.ListEntries(catalog_pb2.ListEntriesRequest(
                filter=self.filters(rng), page_size=PAGE, page_token=str(int(after))), timeout=30)
            return "browse 1..3 filters, deep keyset page"
        if roll < 0.8:
            self.stub.ListEntries(catalog_pb2.ListEntriesRequest(
                filter=self.filters(rng), page_size=PAGE, with_total=True), timeout=30)
            return "browse 1..3 filters + facet count"
        if roll < 0.9:
            self.stub.SearchEntries(catalog_pb2.SearchEntriesRequest(query=rng.choice(ONE), page_size=PAGE), timeout=30)
            return "one-character query"
        after = f"{rng.choice(self.providers)}{rng.randint(0, 2000):06d}"
        self.stub.ListEntries(catalog_pb2.ListEntriesRequest(
            filter=catalog_pb2.EntryFilter(open_type="open"), page_size=1000, page_token=str(int(after))), timeout=30)
        return "open-data page of 1,000"


def run_mix(address: str, mix_args: tuple, pid: int, clients: int, seconds: float, seed: int) -> dict:
    times: dict[str, list[float]] = {}
    refused: list[str] = []
    rss: list[int] = []
    others_rss: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        channel = open_channel(address)
        mix = Mix(catalog_pb2_grpc.CatalogStub(channel), *mix_args)
        rng = random.Random(seed * 100 + n)
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                kind = mix.one(rng)
            except grpc.RpcError as exc:
                with lock:
                    refused.append(exc.code().name)
                continue
            with lock:
                times.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
        channel.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    # The hub's CPU counts its reader and worker processes' (node/api/readers.py); their memory apart.
    before = tree_cpu_seconds(pid), cpu_seconds(os.getpid())
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        rss.append(resident_kib(pid))
        others_rss.append(children_resident_kib(pid))
        time.sleep(0.5)
    every = [t for kind in times.values() for t in kind]
    after = tree_cpu_seconds(pid), cpu_seconds(os.getpid())
    cpu = [(a - b) / max(1, len(every)) * 1000 for a, b in zip(after, before)]
    return {"times": times, "all": every, "refused": refused, "rss_max_mib": max(rss) / 1024,
            "rss_mean_mib": statistics.mean(rss) / 1024, "others_rss_max_mib": max(others_rss) / 1024,
            "cpu_ms": cpu}


def start_hub(args) -> tuple[subprocess.Popen, str, object]:
    if args.hub:
        from big_hub import start

        proc, address = start(pathlib.Path(args.hub), args.readers)
        return proc, address, None
    from harness.runner import Federation

    fed = Federation(args.state)
    hub = fed.hub_id
    log = open(fed.node(hub)["log"], "ab")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "node", "run", "--config", fed.node(hub)["config"]],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env())
    wait_healthy(fed.address(hub), 300, proc, credentials=fed.client())
    return proc, fed.address(hub), fed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--state", help="the state directory of a finished simulation run")
    where.add_argument("--hub", help="a folder bench/big_hub.py wrote")
    parser.add_argument("--clients", default="1,4,16", help="clients at once, one run of the mix each")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run of the mix")
    parser.add_argument("--cold", action="store_true",
                        help="measure at once, while the hub's cache warmer reads its file (the hard case after a "
                             "restart), instead of waiting until it is warm")
    parser.add_argument("--readers", help=READERS_HELP)
    args = parser.parse_args()

    proc, address, fed = start_hub(args)
    try:
        time.sleep(1.0)
        if proc.poll() is not None:
            raise SystemExit(f"the hub exited: another process answers on {address}?")
        if fed is not None:
            channel, stub, admin = None, fed.catalog(fed.hub_id), fed.admin(fed.hub_id)
        else:
            channel = open_channel(address)
            stub, admin = catalog_pb2_grpc.CatalogStub(channel), admin_pb2_grpc.AdminStub(channel)
        status = admin.Status(admin_pb2.StatusRequest(), timeout=30)
        entries = sum(p.entries_at_hub for p in status.peers)
        if args.hub:  # big_hub's layout: nine departments in each province
            from big_hub import DEPARTMENTS, provinces as hub_provinces

            providers = [f"{code}{d:03d}" for code, _ in hub_provinces() for d in range(1, DEPARTMENTS + 1)]
        else:
            providers = sorted({e.provider_code for q in TWO for e in stub.SearchEntries(
                catalog_pb2.SearchEntriesRequest(query=q, page_size=1000), timeout=60).entries})
        provinces = sorted({p[:2] + "0000" for p in providers})
        print(f"Hub with {entries:,} of its peers' entries, {len(providers)} departments seen; resident "
              f"{resident_kib(proc.pid) / 1024:.0f} MiB at start", flush=True)
        print(wait_warm(admin, args.cold), flush=True)
        warm = Mix(stub, provinces, providers)
        rng = random.Random(1)
        for _ in range(200):  # the first requests read the index from disk: not what a user waits for twice
            warm.one(rng)
        for clients in (int(c) for c in args.clients.split(",")):
            result = run_mix(address, (provinces, providers), proc.pid, clients, args.seconds, seed=clients)
            every = result["all"]
            print(f"  {clients} client(s) for {args.seconds:g} s: {len(every)} requests ({len(every) / args.seconds:.0f}/s), "
                  f"all p50 {percentile(every, 50):.1f} ms, p99 {percentile(every, 99):.1f} ms; "
                  f"{len(result['refused'])} refused {sorted(set(result['refused']))}; hub resident max "
                  f"{result['rss_max_mib']:.0f} MiB, mean {result['rss_mean_mib']:.0f} MiB, its other processes "
                  f"{result['others_rss_max_mib']:.0f} MiB; CPU ms a request: hub "
                  f"{result['cpu_ms'][0]:.1f}, clients {result['cpu_ms'][1]:.1f}", flush=True)
            for kind, times in sorted(result["times"].items()):
                print(f"    {kind:40s} {len(times):6d}  p50 {percentile(times, 50):7.1f} ms  "
                      f"p99 {percentile(times, 99):7.1f} ms  max {max(times):7.1f} ms", flush=True)
        if channel is not None:
            channel.close()
    finally:
        terminate(proc.pid, 60)


if __name__ == "__main__":
    main()
