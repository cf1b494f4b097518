"""Benchmark one node: bulk publish through gRPC against raw SQLite inserts of the same rows
into the same schema (same indexes, same search index, same durability), then search latency
over what was loaded.

    python bench/node_bench.py [--entries 100000] [--call-size 5000]

Prints rates and their ratio (the figure to compare across machines), and search p50/p99 for
two- and four-character Chinese queries.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import time

from common import ROOT, Timer, percentile, raw_insert_rate, report, scratch

import grpc
import yaml

from harness.seed import entries_for
from node import wire
from node.proto import catalog_pb2, catalog_pb2_grpc

CHUNK = 500  # entries per stream message
DEPARTMENTS = [f"1301000{n:02d}" for n in range(1, 21)]
TWO = ["人口", "企业", "社保", "信用", "交通", "证照", "户籍", "医疗", "登记", "住房"]
FOUR = ["户籍人口", "企业法人", "电子证照", "行政处罚", "养老保险", "机动车登", "不动产登", "学历学位", "公积金缴", "预防接种"]


def make_entries(total: int):
    per = total // len(DEPARTMENTS)
    out = []
    for dept in DEPARTMENTS:
        out.extend(entries_for(dept, f"石家庄市第{dept[-2:]}部门", per, seed="bench", place="石家庄市"))
    return out


def raw_insert(folder, entries, call_size: int) -> float:
    entries = [dataclasses.replace(e, origin="hebei", version=1) for e in entries]
    return raw_insert_rate(folder / "raw.db", entries, call_size, log_changes=True)


def start_node(folder, credentials=None, database: str = "node.db", extra: dict | None = None):
    """The node as its own process; with credentials (a CA folder, see security_bench.py) it
    speaks mutual TLS and checks a token on every call, else plaintext. `extra`: more config keys."""
    import socket

    from node.security.client import open_channel

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "listen": f"127.0.0.1:{port}",
        **({"tls": credentials.tls} if credentials else {"insecure": True}),
        "database": str(folder / database),
        "departments": [{"code": d, "name": f"部门{d}"} for d in DEPARTMENTS],
        "store": {"synchronous": "full"},
        "log": {"level": "warning", "format": "json"},
        "limits": {"max_message_bytes": 64 * 1024 * 1024},
        **(extra or {}),
    }
    path = folder / "node.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    client = credentials.client(folder / database) if credentials else None
    proc = subprocess.Popen([sys.executable, "-m", "cli", "node", "run", "--config", str(path)], cwd=ROOT,
                            stderr=open(folder / "node.log", "wb"))
    channel = open_channel(f"127.0.0.1:{port}", client)
    grpc.channel_ready_future(channel).result(timeout=30)
    return proc, channel


def grpc_bulk(channel, entries, call_size: int) -> float:
    stub = catalog_pb2_grpc.CatalogStub(channel)
    calls = []
    for start in range(0, len(entries), call_size):
        call = entries[start : start + call_size]
        calls.append([catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in call[i : i + CHUNK]])
                      for i in range(0, len(call), CHUNK)])
    with Timer() as t:
        for requests in calls:
            reply = stub.PublishEntries(iter(requests), timeout=600)
            assert reply.created == sum(len(r.entries) for r in requests), reply
    return len(entries) / t.seconds


def search_latency(channel, queries, rounds: int) -> tuple[list[float], str]:
    """Each call's time in ms, and the mean hits as the replies gave them: a node stops counting
    at its cap, so "mean hits 10,000+" when every reply stopped there, and a mean of lower
    bounds says how many did."""
    stub = catalog_pb2_grpc.CatalogStub(channel)
    times, totals, capped = [], [], 0
    for _ in range(rounds):
        for q in queries:
            start = time.perf_counter()
            reply = stub.SearchEntries(catalog_pb2.SearchEntriesRequest(query=q, page_size=20))
            times.append((time.perf_counter() - start) * 1000)
            totals.append(reply.total)
            capped += reply.total_is_lower_bound
    mean = statistics.mean(totals)
    if capped == len(totals):
        return times, f"mean hits {mean:,.0f}+ (every reply stopped counting at the cap)"
    if capped:
        return times, f"mean hits at least {mean:,.0f} ({capped} of {len(totals)} replies stopped counting at the cap)"
    return times, f"mean hits {mean:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--call-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None,
                        help="the node's store.workers (processes for bulk decoding; default: the node's own)")
    args = parser.parse_args()
    entries = make_entries(args.entries)
    with scratch() as folder:
        raw = raw_insert(folder, entries, args.call_size)
        proc, channel = start_node(folder, extra=None if args.workers is None else {"store": {"synchronous": "full", "workers": args.workers}})
        try:
            rate = grpc_bulk(channel, entries, args.call_size)
            workers = "the node's default workers" if args.workers is None else f"{args.workers} workers"
            report(f"bulk publish, {len(entries)} entries, {args.call_size} per call, synchronous=full, {workers}", [
                ("gRPC PublishEntries", f"{rate:,.0f} entries/s"),
                ("raw SQLite insert, same rows+schema", f"{raw:,.0f} entries/s"),
                ("ratio gRPC / raw", f"{rate / raw:.0%}  (goal >= 50%)"),
            ])
            rows = []
            for label, queries in (("2-character", TWO), ("4-character", FOUR)):
                search_latency(channel, queries, 1)  # warm the page cache
                times, hits = search_latency(channel, queries, args.rounds)
                rows.append((f"{label} queries ({len(times)})",
                             f"p50 {percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms, "
                             f"{hits}  (goal p99 < 50 ms)"))
            report(f"SearchEntries over {len(entries)} entries, page of 20, via gRPC", rows)
        finally:
            channel.close()
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
