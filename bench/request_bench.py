"""Benchmark sharing requests across the whole 1+32+N federation: the round trip from a
SubmitRequest at the consumer's node to "granted" visible there, for unconditional resources
owned on another node, with Notify on and off (every node its own process).

    python bench/request_bench.py [--samples 60] [--interval 5]
"""

from __future__ import annotations

import argparse
import random
import time

from common import full_federation_compose, percentile, report, scratch

import yaml

from harness.runner import Federation
from node.proto import catalog_pb2, sharing_pb2


def round_trips(fed: Federation, samples: int, rng: random.Random) -> list[float]:
    unconditional = []
    token = ""
    while True:
        page = fed.catalog(fed.hub_id).ListEntries(catalog_pb2.ListEntriesRequest(
            filter=catalog_pb2.EntryFilter(share_type="unconditional"), page_size=1000, page_token=token))
        unconditional += [e for e in page.entries if e.origin != fed.hub_id]
        token = page.next_page_token
        if not token:
            break
    departments = {}
    for node in fed.peer_ids:
        config = yaml.safe_load(open(fed.node(node)["config"], encoding="utf-8"))
        departments[node] = config["departments"][0]["code"]
    times = []
    for _ in range(samples):
        entry = rng.choice(unconditional)
        consumer = rng.choice([n for n in fed.peer_ids if n != entry.origin])
        stub = fed.sharing(consumer, departments[consumer])
        start = time.monotonic()
        filed = stub.SubmitRequest(sharing_pb2.SubmitRequestRequest(
            consumer_code=departments[consumer], resource_code=entry.resource_code, purpose="跨省通办",
            basis="《国务院关于加快推进政务服务跨省通办的指导意见》", data_items=[entry.data_items[0].name]))
        while stub.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).state != "granted":
            time.sleep(0.005)
        times.append(time.monotonic() - start)
        time.sleep(rng.uniform(0.05, 0.2))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--interval", type=float, default=5.0, help="each peer's pull interval, seconds")
    args = parser.parse_args()
    rng = random.Random(5)
    results = {}
    with scratch() as folder:
        for notify in (True, False):
            compose = full_federation_compose(folder, "requests", interval=args.interval, notify=notify,
                                              entries_per_department=10)
            fed = Federation.up(compose, folder / f"fed-{notify}")
            try:
                fed.seed()
                fed.wait_converged(timeout=300)
                results[notify] = round_trips(fed, args.samples if notify else max(10, args.samples // 3), rng)
            finally:
                fed.down(purge=True)
    rows = []
    for notify, times in results.items():
        rows.append((f"Notify {'on' if notify else 'off'} ({len(times)} requests)",
                     f"p50 {percentile(times, 50) * 1000:.0f} ms, p99 {percentile(times, 99) * 1000:.0f} ms"
                     + ("  (goal p99 < 2 s)" if notify else "")))
    report(f"request round trip, submit at consumer -> granted visible at consumer, 1+32+10 federation, "
           f"{args.interval:g}s pull interval", rows)


if __name__ == "__main__":
    main()
