"""Benchmark the portal's pages at 100,000 entries: a hub (national node) holding the entries of
its own departments, with 32 peers that do not answer (32 dashboard rows), and `cascade portal`
in front of it, each its own process. Page times (search, entry page, dashboard) are measured
over HTTP from this process; the baseline is the gRPC call(s) behind each page, in the same run,
so the difference is what the portal adds (rendering, HTTP).

    python bench/portal_bench.py [--entries 100000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time

import httpx
import yaml
from common import ROOT, percentile, report, scratch

from harness.seed import entries_for
from node import wire
from node.model.regions import PINYIN
from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security.client import open_channel

DEPARTMENTS = [f"1000000{n:02d}" for n in range(1, 21)]
TWO = ["人口", "企业", "社保", "信用", "交通", "证照", "户籍", "医疗", "登记", "住房"]
GOAL_MS = 300


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


def timed(fn, times: list[float]):
    start = time.perf_counter()
    out = fn()
    times.append((time.perf_counter() - start) * 1000)
    return out


def line(times: list[float], base: list[float] | None = None) -> str:
    text = f"p50 {percentile(times, 50):6.1f} ms, p99 {percentile(times, 99):6.1f} ms"
    if base:
        text += f"   (gRPC behind it: p50 {percentile(base, 50):.1f}, p99 {percentile(base, 99):.1f})"
    worst = percentile(times, 99)
    return text + ("" if worst < GOAL_MS else f"   OVER the {GOAL_MS} ms goal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(7)
    with scratch() as folder:
        started = time.perf_counter()
        hub, channel, target, codes = start_hub(folder, args.entries)
        print(f"loaded {len(codes):,} entries into the hub in {time.perf_counter() - started:.0f}s", flush=True)
        portal, url = start_portal(folder, target)
        catalog, admin = catalog_pb2_grpc.CatalogStub(channel), admin_pb2_grpc.AdminStub(channel)
        try:
            with httpx.Client(base_url=url, timeout=30) as web:
                def get(path: str, **params):
                    reply = web.get(path, params=params)
                    assert reply.status_code == 200, (path, reply.status_code, reply.text[:300])
                    return reply

                for q in TWO:  # warm the node's page cache and the portal's department list
                    get("/search", q=q)
                get("/dashboard")
                rows = []
                pages, base = [], []
                for _ in range(args.rounds):
                    for q in TWO:
                        timed(lambda: get("/search", q=q), pages)
                        timed(lambda: catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query=q, page_size=20)), base)
                rows.append((f"search, 2-character query ({len(pages)})", line(pages, base)))
                pages, base = [], []
                for _ in range(args.rounds):
                    for q in TWO:
                        timed(lambda: get("/search", q=q, share_type="conditional", update_cycle="monthly"), pages)
                        where = catalog_pb2.EntryFilter(share_type="conditional", update_cycle="monthly")
                        timed(lambda: catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(
                            query=q, filter=where, page_size=20)), base)
                rows.append((f"search + 2 facets ({len(pages)})", line(pages, base)))
                pages = []
                for _ in range(args.rounds):
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
                for code in rng.sample(codes, 10 * args.rounds):
                    timed(lambda: get(f"/entries/{code}"), pages)
                    timed(lambda: catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=code)), base)
                rows.append((f"entry page ({len(pages)})", line(pages, base)))
                pages, base = [], []
                for _ in range(3 * args.rounds):
                    timed(lambda: get("/dashboard"), pages)
                    timed(lambda: (admin.Status(admin_pb2.StatusRequest()),
                                   admin.Scorecard(admin_pb2.ScorecardRequest())), base)
                rows.append((f"dashboard, 32 peers + scorecard ({len(pages)})", line(pages, base)))
                report(f"portal page times over HTTP at {len(codes):,} entries (goal p99 < {GOAL_MS} ms)", rows)
        finally:
            channel.close()
            for proc in (portal, hub):
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
