"""Query and Verify through the hub (consumer's node -> hub -> owner's node, each its own process,
mutual TLS and a token): verify calls and query calls per second and their latency (p50, p99)
at 1, 8, 32 and 128 callers at once at the consumer's node (goal: 1,000 verify/s, p99 < 50 ms
at 32 callers), and claims per second checked in batches (goal: 20,000 claims/s). Beside them,
in the same run: the same look-ups straight from SQLite by the key's index (no node), the same
verify calls made at the owner's node by a department of its own (one hop), each process's CPU
per call and memory after each quarter of the calls at 32 callers; and the floor: the same calls
against a gRPC server over mutual TLS that does no work (bare_grpc.py), in the node's model
(synchronous, a thread pool) and in the asyncio one (grpc.aio).

    python bench/call_bench.py [--rows 100000] [--calls 5000] [--callers 1,8,32,128] [--claims 20000] [--batch 500]

Every answer is checked (each claim is the record's own, so every verdict is a match; each key
is a record's, so every query finds its row). Calls refused by a node's limits
(RESOURCE_EXHAUSTED: limits.max_keyed_calls_per_caller, 48 keyed calls at once per caller) are
counted apart, not in the latency.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import pathlib
import random
import sqlite3
import subprocess
import sys
import threading
import time

import grpc
import yaml

from common import Timer, cpu_seconds, enterprise_entry, percentile, report, scratch

from cli.verify_file import verify_file
from harness.processes import resident_kib
from harness.runner import Federation
from node.proto import exchange_pb2, exchange_pb2_grpc, sharing_pb2
from node.security.client import open_channel

OWNER, CONSUMER = "440000005", "130000001"
NEIGHBOUR = "440000001"  # a department of the owner's node: its calls are answered there, one hop
ITEMS = (("统一社会信用代码", "string"), ("企业名称", "string"), ("法定代表人", "string"), ("注册资本", "decimal"))
KEY = "统一社会信用代码"
COMPOSE = {
    "name": "call-bench", "defaults": {"interval": 1, "notify": True},
    "hub": {"id": "national", "departments": [{"code": "100000001", "name": "国家数据局"}]},
    "nodes": [
        {"id": "hebei", "role": "provincial", "region_code": "130000",
         "departments": [{"code": CONSUMER, "name": "河北省公安厅"}]},
        {"id": "guangdong", "role": "provincial", "region_code": "440000",
         "departments": [{"code": OWNER, "name": "广东省市场监督管理局"}, {"code": NEIGHBOUR, "name": "广东省公安厅"}]},
    ],
}


def granted(fed, entry, node: str = "hebei", department: str = CONSUMER) -> str:
    consumer = fed.sharing(node, department)
    filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=department, resource_code=entry.resource_code, purpose="企业信息核验", basis="《优化营商环境条例》",
        data_items=["企业名称", "法定代表人"]), timeout=30)
    deadline = time.monotonic() + 60
    while (held := consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id),
                                       timeout=10)).state != "granted":
        if time.monotonic() > deadline:
            raise SystemExit(f"the request was not granted within 60 s: {held.state} {held.reason}")
        time.sleep(0.2)
    return filed.request_id


def direct_lookups(source, table: str, records, n: int) -> float:
    """Look-ups per second of the same keys straight from the SQLite file by the key's index."""
    rng = random.Random(3)
    with sqlite3.connect(source) as db, Timer() as t:
        for _ in range(n):
            code, _, person = rng.choice(records)
            row = db.execute(f'SELECT 法定代表人 FROM {table} WHERE "{KEY}" = ?', (code,)).fetchone()
            assert row[0] == person
    return n / t.seconds


def verify(stub, request_id: str, department: str = CONSUMER):
    """Verify calls on the grant: a record's call (a future) and whether its answer is right (the
    claimed 法定代表人 is the record's own, so every verdict must be a match)."""
    def send(record):
        code, _, person = record
        return stub.Verify.future(exchange_pb2.VerifyClaimsRequest(
            request_id=request_id, consumer_code=department, key={KEY: code}, claims={"法定代表人": person}), timeout=30)
    return send, lambda reply: reply.overall == "match"


def query(stub, request_id: str, department: str = CONSUMER):
    """Query calls on the grant: every key is a record's, so every answer must hold one row."""
    def send(record):
        return stub.Query.future(exchange_pb2.QueryRequest(
            request_id=request_id, consumer_code=department, key={KEY: record[0]}), timeout=30)
    return send, lambda reply: len(reply.rows) == 1


def callers(call, records, calls: int, n: int):
    """Latencies (s) of `calls` calls (`call`: verify() or query()) made by n callers at once, each
    making its next call when its last is answered (a service hall's windows), the refused count,
    and the wall time. The callers are futures chained on answers, not threads: a client's own
    waits for the interpreter do not count in the latency of the path measured. A wrong answer
    ends the bench."""
    send, right = call
    latencies, refused, failed, lock = [], [0], [], threading.Lock()
    finished = threading.Semaphore(0)

    def window(seed: int) -> None:
        rng, left = random.Random(seed), [calls // n]

        def ask() -> None:
            if left[0] == 0 or failed:
                finished.release()
                return
            left[0] -= 1
            started = time.perf_counter()
            future = send(rng.choice(records))
            future.add_done_callback(lambda f: answered(f, started))

        def answered(future, started: float) -> None:
            took = time.perf_counter() - started
            error = future.exception()
            with lock:
                if error is None:
                    latencies.append(took)
                    if not right(future.result()):
                        failed.append(SystemExit(f"a wrong answer: {future.result()}"))
                elif error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    refused[0] += 1
                else:
                    failed.append(error)
            ask()

        ask()

    with Timer() as t:
        for i in range(n):
            window(i)
        for _ in range(n):
            if not finished.acquire(timeout=300):
                raise SystemExit("the callers did not finish within 300 s")
    if failed:
        raise failed[0]
    return latencies, refused[0], t.seconds


def sweep(stub, request_id: str, records, counts: list[int], calls: int, done: dict) -> dict:
    """(mode, callers) -> (latencies, refused, seconds) for verify and query at each count of
    callers, beside the runs already `done`. Fewer callers make fewer calls (250 each, at most
    `calls`), so that one caller does not take minutes."""
    runs = dict(done)
    for n in counts:
        for mode, call in (("verify", verify), ("query", query)):
            if (mode, n) not in runs:
                callers(call(stub, request_id), records, 200, min(n, 4))  # warm: the mode's caches
                runs[mode, n] = callers(call(stub, request_id), records, min(calls, max(200, n * 250)), n)
    return runs


def described(run) -> str:
    latencies, refused, seconds = run
    return (f"{len(latencies) / seconds:,.0f} calls/s, p50 / p99 {percentile(latencies, 50) * 1000:.1f} / "
            f"{percentile(latencies, 99) * 1000:.1f} ms ({len(latencies):,} answered, {refused:,} refused by a limit)")


def bare_floor(fed, folder, request_id: str, records, calls: int, n: int, model: str = "sync"):
    """The same verify calls, made the same way, against bare_grpc.py over mutual TLS (one hop,
    no work; `model` sync or aio): calls per second, latencies, and CPU ms per call of that
    server and of the callers."""
    tls, port_file = fed.credentials.tls("hebei"), folder / f"bare-{model}.port"
    server = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).with_name("bare_grpc.py")), model,
                               tls["cert"], tls["key"], tls["ca"], str(port_file)])
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("bare_grpc.py did not start")
            time.sleep(0.05)
        stub = exchange_pb2_grpc.ExchangeStub(open_channel(f"127.0.0.1:{port_file.read_text()}",
                                                           fed.department_client("hebei", CONSUMER)))
        callers(verify(stub, request_id), records, 200, 4)  # warm
        before = cpu_seconds(server.pid), cpu_seconds(os.getpid())
        latencies, _, seconds = callers(verify(stub, request_id), records, calls, n)
        spent = cpu_seconds(server.pid) - before[0], cpu_seconds(os.getpid()) - before[1]
    finally:
        server.kill()
        server.wait()
    return len(latencies) / seconds, latencies, [s / max(1, len(latencies)) * 1000 for s in spent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the mounted table")
    parser.add_argument("--calls", type=int, default=5000, help="verify calls in the concurrent run")
    parser.add_argument("--callers", default="1,8,32,128",
                        help="callers at once, a run of verify and one of query each; the goal's figures, "
                             "the one hop, the CPU, the memory and the floors at 32 (or the most named)")
    parser.add_argument("--claims", type=int, default=20_000, help="claims checked in batches")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    counts = sorted({int(c) for c in args.callers.split(",")})
    focus = 32 if 32 in counts else counts[-1]
    with scratch() as folder:
        compose = folder / "call-bench.yaml"
        compose.write_text(yaml.safe_dump(COMPOSE, allow_unicode=True))
        fed = Federation.up(compose, folder / "fed")
        try:
            entry = enterprise_entry(OWNER, ITEMS)
            fed.publish("guangdong", [entry])
            source = fed.mount_data("guangdong", entry, args.rows, seed="bench")
            table = "t440000005_000001"
            with sqlite3.connect(source) as db:
                db.execute(f'CREATE INDEX IF NOT EXISTS key_uscc ON {table}("{KEY}")')
                records = db.execute(f'SELECT "{KEY}", 企业名称, 法定代表人 FROM {table}').fetchall()
            owner = exchange_pb2_grpc.ExchangeStub(fed.channel("guangdong", OWNER))
            owner.MountResource(exchange_pb2.MountResourceRequest(resource_code=entry.resource_code, kind="sqlite",
                                                                  location=str(source), table=table, keys=[KEY]),
                                timeout=60)
            direct = direct_lookups(source, table, records, 20_000)
            fed.wait_converged()  # the hub holds the entry, so that Hebei's filing finds it there
            request_id = granted(fed, entry)
            local_id = granted(fed, entry, "guangdong", NEIGHBOUR)
            local = exchange_pb2_grpc.ExchangeStub(fed.channel("guangdong", NEIGHBOUR))
            callers(verify(local, local_id, NEIGHBOUR), records, 200, 4)  # warm
            # The callers stand for windows on other machines: what this process holds by now (the
            # table's records, the federation's handles) goes out of the collector's sight, so that
            # a full collection here (28 ms, seen with bench/gcwatch) is not timed as the path's.
            gc.freeze()
            one_hop, one_refused, one_seconds = callers(verify(local, local_id, NEIGHBOUR), records, args.calls, focus)
            stub = exchange_pb2_grpc.ExchangeStub(fed.channel("hebei", CONSUMER))
            callers(verify(stub, request_id), records, 200, 4)  # warm: channels, caches
            pids = {n: fed.node(n)["pid"] for n in ("hebei", "national", "guangdong")}
            pids |= {"proxy": fed.state["proxy"]["pid"], "callers": os.getpid()}
            before = {n: cpu_seconds(pid) for n, pid in pids.items()}
            rss_before = {n: resident_kib(fed.node(n)["pid"]) / 1024 for n in ("hebei", "national", "guangdong")}
            links_before = {name: link["connections"] for name, link in fed.proxy("status")["links"].items()}
            # In quarters, memory read after each: flat is the later quarters adding nothing. The first
            # grows each node by the stacks and allocator arenas of the threads the load wakes for the
            # first time; a leak would go on growing with every quarter.
            parts, rss = [], [rss_before]
            for _ in range(4):
                parts.append(callers(verify(stub, request_id), records, args.calls // 4, focus))
                rss.append({n: resident_kib(fed.node(n)["pid"]) / 1024 for n in rss_before})
            latencies = [took for part in parts for took in part[0]]
            refused, seconds = sum(part[1] for part in parts), sum(part[2] for part in parts)
            cpu = {n: cpu_seconds(pid) - before[n] for n, pid in pids.items()}
            runs = sweep(stub, request_id, records, counts, args.calls,
                         {("verify", focus): (latencies, refused, seconds)})
            rng = random.Random(7)
            claims_file, verdicts_file = folder / "claims.csv", folder / "verdicts.csv"
            with open(claims_file, "w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows([(KEY, "企业名称", "法定代表人"),
                                              *(rng.choice(records) for _ in range(args.claims))])
            with Timer() as batched:  # as `cascade data verify --in claims.csv --out verdicts.csv` does it
                checked = verify_file(stub, request_id, CONSUMER, [KEY], str(claims_file), str(verdicts_file),
                                      args.batch)
            assert checked.matched == args.claims, checked
            floor_rate, floor, floor_cpu = bare_floor(fed, folder, request_id, records, args.calls, focus)
            aio_rate, aio, aio_cpu = bare_floor(fed, folder, request_id, records, args.calls, focus, "aio")
            # Connections opened on the two hops meanwhile: the relays use the channels they hold (0: no
            # handshake per call).
            opened = {name: link["connections"] - links_before.get(name, 0)
                      for name, link in fed.proxy("status")["links"].items()}
        finally:
            fed.down(purge=True)
    done, local_done = len(latencies), len(one_hop)
    rows = [
        ("table", f"{args.rows:,} rows, keyed by {KEY} (SQLite index)"),
        ("SQLite by the index", f"{direct:,.0f} look-ups/s (one thread, no node)"),
        (f"one hop, {focus} callers", f"{local_done / one_seconds:,.0f} calls/s at the owner's node; p50 / p99 "
                                             f"{percentile(one_hop, 50) * 1000:.1f} / {percentile(one_hop, 99) * 1000:.1f}"
                                             f" ms ({one_refused:,} refused by a limit)"),
        (f"verify, {focus} callers", f"{done / seconds:,.0f} calls/s ({done:,} answered in {seconds:.1f}s; "
                                            f"{refused:,} refused by a limit)  (goal >= 1,000/s)"),
        ("latency p50 / p99", f"{percentile(latencies, 50) * 1000:.1f} / {percentile(latencies, 99) * 1000:.1f} ms  "
                              "(goal p99 < 50 ms)"),
        ("CPU ms per call", "  ".join(f"{n} {cpu[n] / max(1, done) * 1000:.2f}" for n in pids)
                            + f"  (all {sum(cpu.values()) / max(1, done) * 1000:.2f})"),
        (f"floor: bare gRPC, {focus} callers", f"{floor_rate:,.0f} calls/s over mutual TLS to a server that "
                                                      f"does no work (bare_grpc.py); p50 / p99 "
                                                      f"{percentile(floor, 50) * 1000:.1f} / "
                                                      f"{percentile(floor, 99) * 1000:.1f} ms; CPU ms per call: server "
                                                      f"{floor_cpu[0]:.2f}, callers {floor_cpu[1]:.2f}"),
        (f"floor: bare grpc.aio, {focus} callers", f"{aio_rate:,.0f} calls/s, the same against an asyncio server "
                                                          f"(grpc.aio); p50 / p99 {percentile(aio, 50) * 1000:.1f} / "
                                                          f"{percentile(aio, 99) * 1000:.1f} ms; CPU ms per call: "
                                                          f"server {aio_cpu[0]:.2f}, callers {aio_cpu[1]:.2f}"),
        ("hebei / floor server, CPU a call", f"{cpu['hebei'] / max(1, done) * 1000 / max(floor_cpu[0], 1e-9):.1f}x "
                                             "(the consumer's node against a server doing nothing)"),
        ("connections opened", f"hebei -> hub {opened.get('uplink:hebei', 0)}, hub -> guangdong "
                               f"{opened.get('guangdong', 0)} (while {done + args.claims // args.batch:,} calls went through)"),
        ("RSS before, then after each quarter", "  ".join(f"{n} " + " / ".join(f"{r[n]:.0f}" for r in rss) + " MiB"
                                                         for n in rss_before)
                                               + "  (the last two quarters added " + ", ".join(
                                                   f"{n} {rss[-1][n] - rss[2][n]:+.0f}" for n in rss_before) + " MiB)"),
        *((f"{mode}, {n} caller{'s' if n > 1 else ''}", described(runs[mode, n]))
          for n in counts for mode in ("verify", "query")),
        (f"batch verify ({args.batch} a call)", f"{args.claims / batched.seconds:,.0f} claims/s ({args.claims:,} from a "
                                                 f"CSV file to a file of verdicts, as data verify --in does, in "
                                                 f"{batched.seconds:.1f}s)  (goal >= 20,000/s)"),
    ]
    report("Query and Verify: Hebei's 公安厅 checking Guangdong's 市场监管局 records through the hub (mutual TLS)", rows)


if __name__ == "__main__":
    main()
