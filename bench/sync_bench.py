"""Benchmark the cascade: the initial sync of 32 provincial nodes into an empty hub, against raw
inserts of the same rows into the hub's schema, and the lag from a publish at a peer to its
visibility at the hub with Notify on and off. Every node is its own process (the harness).

    python bench/sync_bench.py [--entries 500000] [--interval 5] [--samples 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import time

from common import Timer, full_federation_compose, percentile, raw_insert_rate, report, scratch

import grpc
import yaml

from harness.runner import Federation
from harness.seed import entries_for
from node import wire
from node.proto import catalog_pb2


def peer_entries(fed: Federation, node: str, count: int):
    config = yaml.safe_load(open(fed.node(node)["config"], encoding="utf-8"))
    departments = [(d["code"], d["name"]) for d in config["departments"]]
    per = -(-count // len(departments))
    out = []
    for code, name in departments:
        out.extend(entries_for(code, name, min(per, count - len(out)), seed="bench"))
    return out


def load_peers(fed: Federation, per_peer: int) -> list:
    everything = []
    for node in fed.peer_ids:
        entries = peer_entries(fed, node, per_peer)
        for start in range(0, len(entries), 5000):
            fed.publish(node, entries[start:start + 5000], timeout=600)
        everything.extend(dataclasses.replace(e, origin=node, version=1) for e in entries)
    return everything


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) a process and the children it waited for have used; with its live
    children (a node's worker processes) added by `cpu_split`."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def cpu_split(fed: Federation) -> dict[str, float]:
    """CPU seconds so far of the hub, its worker processes and the peers (with theirs)."""
    hub = fed.node(fed.hub_id)["pid"]
    return {"hub": cpu_seconds(hub), "hub workers": sum(cpu_seconds(c) for c in children(hub)),
            "peers": sum(cpu_seconds(fed.node(p)["pid"]) + sum(cpu_seconds(c) for c in children(fed.node(p)["pid"]))
                         for p in fed.peer_ids)}


def memory(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of a process in MiB: the kernel's high-water mark
    (VmHWM) covers the whole life of the process, ingestion included, however briefly it peaked."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


def readers(fed: Federation, threads: int, seconds: float) -> tuple[int, int]:
    """Searches and listings at the hub from `threads` clients at once for `seconds`: the RPC
    threads a portal's traffic keeps busy. Returns the calls answered and those refused: every
    client is the operator, and one identity may have `limits.max_calls_per_caller` (16) under
    way at once; a refused client waits 10 ms and asks again, as a portal would."""
    import threading

    stop, calls, refused, stub = time.monotonic() + seconds, [], [], fed.catalog(fed.hub_id)

    def client(i: int) -> None:
        made = turned_away = 0
        while time.monotonic() < stop:
            try:
                if made % 2 == 0:
                    stub.SearchEntries(catalog_pb2.SearchEntriesRequest(
                        query=("人口", "企业", "社保", "信用")[i % 4], page_size=20, page_token=str(20 * (made % 5))),
                        timeout=30)
                else:
                    stub.ListEntries(catalog_pb2.ListEntriesRequest(page_size=50), timeout=30)
                made += 1
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    raise
                turned_away += 1
                time.sleep(0.01)
        calls.append(made)
        refused.append(turned_away)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(calls), sum(refused)


def initial_sync(fed: Federation, total: int) -> float:
    start = time.monotonic()
    fed.start(fed.hub_id)
    while True:
        status = fed.status(fed.hub_id, timeout=30)
        if sum(p.entries_at_hub for p in status.peers) >= total and all(p.behind == 0 for p in status.peers):
            return time.monotonic() - start
        time.sleep(0.5)  # as an operator would watch it; Status reads kept counts, so polling costs little


def lag(fed: Federation, samples: int, rng: random.Random) -> list[float]:
    hub = fed.catalog(fed.hub_id)
    times = []
    for i in range(samples):
        node = rng.choice(fed.peer_ids)
        config = yaml.safe_load(open(fed.node(node)["config"], encoding="utf-8"))
        code, name = config["departments"][0]["code"], config["departments"][0]["name"]
        entry = next(entries_for(code, name, 1, seed=f"lag{i}", start=900_000 + i))
        start = time.monotonic()
        fed.catalog(node, code).PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))
        while True:
            try:
                hub.GetEntry(catalog_pb2.GetEntryRequest(resource_code=entry.resource_code), timeout=5)
                break
            except grpc.RpcError:
                time.sleep(0.005)
        times.append(time.monotonic() - start)
        time.sleep(rng.uniform(0.05, 0.3))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=500_000, help="across all 32 provincial nodes")
    parser.add_argument("--batch", type=int, default=1000, help="changes per pulled batch")
    parser.add_argument("--interval", type=float, default=5.0, help="each peer's pull interval, seconds")
    parser.add_argument("--samples", type=int, default=60, help="publishes timed for the lag figures")
    parser.add_argument("--readers", type=int, default=64, help="clients reading at once after the sync (memory)")
    args = parser.parse_args()
    rng = random.Random(1)
    with scratch() as folder:
        sync = {"max_concurrent": 8, "batch_size": args.batch, "call_deadline": 600}
        fed = Federation.up(full_federation_compose(folder, "bench", interval=args.interval, notify=True,
                                                    provinces_only=True, sync=sync), folder / "notify")
        try:
            fed.stop(fed.hub_id)
            with Timer() as loading:
                entries = load_peers(fed, -(-args.entries // len(fed.peer_ids)))
            peers_before = cpu_split(fed)["peers"]
            seconds = initial_sync(fed, len(entries))
            used = cpu_split(fed)
            used["peers"] -= peers_before
            rate = len(entries) / seconds
            synced_peak, _ = memory(fed.node(fed.hub_id)["pid"])
            calls, refused = readers(fed, args.readers, 10.0)
            read_peak, read_now = memory(fed.node(fed.hub_id)["pid"])
            raw = raw_insert_rate(folder / "raw-hub.db", entries, args.batch, log_changes=False)
            report(f"initial sync: {len(fed.peer_ids)} provincial nodes, {len(entries):,} entries, empty hub "
                   f"(peers loaded in {loading.seconds:.0f}s)", [
                ("hub initial sync", f"{rate:,.0f} entries/s ({seconds:.1f}s)"),
                ("raw SQLite insert into the hub schema", f"{raw:,.0f} entries/s"),
                ("ratio sync / raw", f"{rate / raw:.0%}  (goal >= 50%)"),
                ("CPU per entry during the sync", ", ".join(f"{who} {spent * 1e6 / len(entries):,.0f} us"
                                                           for who, spent in used.items())
                 + f" (the machine has {os.cpu_count()} cores: {os.cpu_count() * seconds * 1e6 / len(entries):,.0f}"
                   " us of CPU per entry at this rate)"),
                ("hub peak RSS (VmHWM) through the sync", f"{synced_peak:,.0f} MiB"),
                (f"... then {args.readers} clients searching and listing for 10 s",
                 f"peak {read_peak:,.0f} MiB, now {read_now:,.0f} MiB ({calls:,} calls answered, {refused:,} "
                 "refused past 16 at once from one identity)"),
            ])
            with_notify = lag(fed, args.samples, rng)
        finally:
            fed.down(purge=True)
        fed = Federation.up(full_federation_compose(folder, "bench", interval=args.interval, notify=False,
                                                    provinces_only=True, sync=sync), folder / "poll")
        try:
            fed.sync_now()
            without = lag(fed, max(10, args.samples // 3), rng)
        finally:
            fed.down(purge=True)
    report(f"lag publish at a peer -> visible at the hub ({args.interval:g}s pull interval)", [
        (f"Notify on ({len(with_notify)} publishes)", f"p50 {percentile(with_notify, 50) * 1000:.0f} ms, "
                                                     f"p99 {percentile(with_notify, 99) * 1000:.0f} ms  (goal p99 < 1 s)"),
        (f"Notify off ({len(without)} publishes)", f"p50 {percentile(without, 50) * 1000:.0f} ms, "
                                                  f"p99 {percentile(without, 99) * 1000:.0f} ms"),
    ])


if __name__ == "__main__":
    main()
