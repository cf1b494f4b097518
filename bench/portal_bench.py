"""Benchmark the portal's pages at 100,000 entries: a hub (national node) holding the entries of
its own departments, with 32 peers that do not answer (32 dashboard rows), and `cascade portal`
in front of it, each its own process. Page times (search, entry page, dashboard) are measured
over HTTP from this process; the baseline is the gRPC call(s) behind each page, in the same run,
so the difference is what the portal adds (rendering, HTTP). Then a portal's mix (search pages
with and without a query under one to three facets, any of their first 100 pages, entry pages,
the dashboard, CKAN package_search pages of 1,000 and of 20 deep in a query) at 1, 4 and 16
clients at once.

    python bench/portal_bench.py [--entries 100000] [--rounds 10] [--clients 1,4,16] [--seconds 20]
    python bench/portal_bench.py --hub /tmp/big-hub       # a hub bench/big_hub.py wrote (32 provinces)
    python bench/portal_bench.py --hub /tmp/big-hub --only CKAN --clients 1   # only the mix's CKAN pages
"""

from __future__ import annotations

import argparse
import pathlib
import random
import subprocess
import sys
import threading
import time

import httpx
import yaml
from common import READERS_HELP, ROOT, percentile, report, scratch, wait_warm

from harness.seed import entries_for
from node import wire
from node.model.regions import PINYIN
from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security.client import open_channel

DEPARTMENTS = [f"1000000{n:02d}" for n in range(1, 21)]
TWO = ["人口", "企业", "社保", "信用", "交通", "证照", "户籍", "医疗", "登记", "住房"]
GOAL_MS = 150
CKAN_GOAL_MS = 300
FACETS = {"share_type": ("unconditional", "conditional", "not_shared"), "category": ("base", "theme", "department"),
          "update_cycle": ("daily", "weekly", "monthly", "quarterly", "yearly", "irregular")}


def start_hub(folder, entries: int):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "node": {"id": "national", "role": "national", "region_code": "100000"},
        "listen": f"127.0.0.1:{port}", "insecure": True, "database": str(folder / "hub.db"),
        "departments": [{"code": d, "name": f"国家部门{d[-2:]}"} for d in DEPARTMENTS],
        "peers": [{"id": pinyin, "role": "provincial", "address": "127.0.0.1:9", "region_code": code, "interval": 30}
                  for code, pinyin in PINYIN.items()],
        "store": {"synchronous": "normal"}, "log": {"level": "warning", "format": "json"},
        "limits": {"max_message_bytes": 64 * 1024 * 1024},
    }
    path = folder / "hub.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "node", "run", "--config", str(path)], cwd=ROOT,
                            stderr=open(folder / "hub.log", "wb"))
    address = f"127.0.0.1:{port}"
    import grpc

    channel = open_channel(address)
    grpc.channel_ready_future(channel).result(timeout=30)
    stub = catalog_pb2_grpc.CatalogStub(channel)
    per = entries // len(DEPARTMENTS)
    codes = []
    for dept in DEPARTMENTS:
        own = list(entries_for(dept, f"国家部门{dept[-2:]}", per, seed="portal-bench"))
        codes += [e.resource_code for e in own]
        chunks = [catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in own[i:i + 500]])
                  for i in range(0, len(own), 500)]
        stub.PublishEntries(iter(chunks), timeout=600)
    return proc, channel, address, codes


def start_portal(folder, target: str) -> tuple[subprocess.Popen, str]:
    port_file = folder / "portal.port"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "portal", "--target", target, "--listen", "127.0.0.1:0",
                             "--port-file", str(port_file)], cwd=ROOT, stderr=open(folder / "portal.log", "wb"))
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the portal did not start: see portal.log")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}"


def portal_mix(url: str, codes: list[str], regions: list[str], clients: int, seconds: float, only: str = "") -> dict:
    """Each client draws pages as a portal's visitors and harvesters do, for `seconds`; the page
    times by kind, and the pages refused (any status but 200). With `only`, the draws whose kind
    does not contain it are drawn again (the rest of the mix keeps its proportions)."""
    times: dict[str, list[float]] = {}
    refused: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def facets(rng: random.Random) -> dict:
        names = rng.sample(["region", *FACETS], rng.randint(1, 3))
        return {n: rng.choice(regions) if n == "region" else rng.choice(FACETS[n]) for n in names}

    def draw(rng: random.Random) -> tuple[str, str, dict]:
        roll = rng.random()
        if roll < 0.3:
            return "search: query + 1..3 facets, page 1..100", "/search", {"q": rng.choice(TWO), **facets(rng),
                                                                         "page": rng.randint(1, 100)}
        if roll < 0.45:
            return "search: 1..3 facets, no query, page 1..10", "/search", {**facets(rng), "page": rng.randint(1, 10)}
        if roll < 0.6:
            return "search: query, page 1..100", "/search", {"q": rng.choice(TWO), "page": rng.randint(1, 100)}
        if roll < 0.75:
            return "entry page", f"/entries/{rng.choice(codes)}", {}
        if roll < 0.8:
            return "dashboard", "/dashboard", {}
        if roll < 0.9:
            return "CKAN package_search rows=1000", "/api/3/action/package_search", {
                "rows": 1000, "start": 1000 * rng.randint(0, 9)}
        return "CKAN package_search q, rows=20, deep", "/api/3/action/package_search", {
            "q": rng.choice(TWO), "rows": 20, "start": 20 * rng.randint(0, 99)}

    def client(n: int) -> None:
        rng = random.Random(clients * 100 + n)
        with httpx.Client(base_url=url, timeout=60) as web:
            while time.monotonic() < stop:
                kind, path, params = draw(rng)
                if only not in kind:
                    continue
                start = time.perf_counter()
                status = web.get(path, params=params).status_code
                took = (time.perf_counter() - start) * 1000
                with lock:
                    if status != 200:
                        refused.append(status)
                    else:
                        times.setdefault(kind, []).append(took)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"times": times, "refused": refused}


def page_times(get, catalog, admin, codes: list[str], rounds: int, rng: random.Random) -> list[tuple[str, str]]:
    """Each single page of the portal timed over HTTP, beside the gRPC call(s) behind it."""
    for q in TWO:  # warm the node's page cache and the portal's department list
        get("/search", q=q)
    get("/dashboard")
    rows = []
    pages, base = [], []
    for _ in range(rounds):
        for q in TWO:
            timed(lambda: get("/search", q=q), pages)
            timed(lambda: catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query=q, page_size=20)), base)
    rows.append((f"search, 2-character query ({len(pages)})", line(pages, base)))
    pages, base = [], []
    for _ in range(rounds):
        for q in TWO:
            timed(lambda: get("/search", q=q, share_type="conditional", update_cycle="monthly"), pages)
            where = catalog_pb2.EntryFilter(share_type="conditional", update_cycle="monthly")
            timed(lambda: catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(
                query=q, filter=where, page_size=20)), base)
    rows.append((f"search + 2 facets ({len(pages)})", line(pages, base)))
    pages = []
    for _ in range(rounds):
        for n in range(1, 11):
            timed(lambda: get("/search", share_type="conditional", page=n), pages)
    rows.append((f"browse by facet, no query, pages 1..10 in turn ({len(pages)})", line(pages)))
    pages = []
    for n in rng.sample(range(20, 101), 20):
        timed(lambda: get("/search", share_type="unconditional", page=n), pages)
    rows.append((f"browse, a far page opened cold (page 20..100) ({len(pages)})", line(pages)))
    pages = []
    for category in ("base", "theme", "department"):
        for cycle in ("daily", "weekly", "monthly", "yearly"):
            timed(lambda: get("/search", category=category, update_cycle=cycle), pages)
    rows.append((f"browse, first page of a facet pair never listed: its count is cold ({len(pages)})",
                 line(pages)))
    pages, base = [], []
    for code in rng.sample(codes, 10 * rounds):
        timed(lambda: get(f"/entries/{code}"), pages)
        timed(lambda: catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=code)), base)
    rows.append((f"entry page ({len(pages)})", line(pages, base)))
    pages, base = [], []
    for _ in range(3 * rounds):
        timed(lambda: get("/dashboard"), pages)
        timed(lambda: (admin.Status(admin_pb2.StatusRequest()),
                       admin.Scorecard(admin_pb2.ScorecardRequest())), base)
    rows.append((f"dashboard, 32 peers + scorecard ({len(pages)})", line(pages, base)))
    return rows


def timed(fn, times: list[float]):
    start = time.perf_counter()
    out = fn()
    times.append((time.perf_counter() - start) * 1000)
    return out


def line(times: list[float], base: list[float] | None = None, goal: float = GOAL_MS) -> str:
    text = f"p50 {percentile(times, 50):6.1f} ms, p99 {percentile(times, 99):6.1f} ms"
    if base:
        text += f"   (gRPC behind it: p50 {percentile(base, 50):.1f}, p99 {percentile(base, 99):.1f})"
    worst = percentile(times, 99)
    return text + ("" if worst < goal else f"   OVER the {goal} ms goal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--hub", help="a folder bench/big_hub.py wrote: its hub instead of one loaded here")
    parser.add_argument("--clients", default="1,4,16", help="clients at once, one run of the mix each")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each run of the mix")
    parser.add_argument("--cold", action="store_true",
                        help="measure at once, while the hub's cache warmer reads its file, instead of waiting")
    parser.add_argument("--only", default="", help="skip the single pages and run only the mix's pages whose kind "
                        "contains this text (e.g. CKAN)")
    parser.add_argument("--readers", help=READERS_HELP)
    args = parser.parse_args()
    rng = random.Random(7)
    with scratch() as folder:
        started = time.perf_counter()
        if args.hub:
            from big_hub import start

            import grpc

            hub, target = start(pathlib.Path(args.hub), args.readers)
            channel = open_channel(target)
            grpc.channel_ready_future(channel).result(timeout=60)
            found = catalog_pb2_grpc.CatalogStub(channel).SearchEntries(
                catalog_pb2.SearchEntriesRequest(query="人口", page_size=1000), timeout=60)
            codes = [e.resource_code for e in found.entries]
            from big_hub import provinces

            codes += [f"{code}001/000001" for code, _ in provinces()]  # an entry page in every province
            print(f"the hub of {args.hub} started in {time.perf_counter() - started:.0f}s", flush=True)
        else:
            hub, channel, target, codes = start_hub(folder, args.entries)
            print(f"loaded {len(codes):,} entries into the hub in {time.perf_counter() - started:.0f}s", flush=True)
        regions = sorted({c[:2] + "0000" for c in codes})
        portal, url = start_portal(folder, target)
        catalog, admin = catalog_pb2_grpc.CatalogStub(channel), admin_pb2_grpc.AdminStub(channel)
        print(wait_warm(admin, args.cold), flush=True)
        try:
            with httpx.Client(base_url=url, timeout=30) as web:
                def get(path: str, **params):
                    reply = web.get(path, params=params)
                    assert reply.status_code == 200, (path, reply.status_code, reply.text[:300])
                    return reply

                if not args.only:
                    report(f"portal page times over HTTP (goal p99 < {GOAL_MS} ms)",
                           page_times(get, catalog, admin, codes, args.rounds, rng))
            for clients in (int(c) for c in args.clients.split(",")):
                mix = portal_mix(url, codes, regions, clients, args.seconds, args.only)
                every = [t for kind in mix["times"].values() for t in kind]
                rows = [(f"{kind} ({len(times)})", line(times, goal=CKAN_GOAL_MS if "rows=1000" in kind else GOAL_MS))
                        for kind, times in sorted(mix["times"].items())]
                rows.append((f"every page ({len(every)}, {len(every) / args.seconds:.0f}/s)", line(every)))
                report(f"a portal's mix, {clients} client(s) for {args.seconds:g} s: {len(mix['refused'])} refused "
                       f"{sorted(set(mix['refused']))} (goal p99 < {GOAL_MS} ms; CKAN rows=1000 < {CKAN_GOAL_MS} ms)", rows)
        finally:
            channel.close()
            for proc in (portal, hub):
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
