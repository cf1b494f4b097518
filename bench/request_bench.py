"""Benchmark sharing requests across the whole 1+32+N federation: the round trip from a
SubmitRequest at the consumer's node to "granted" visible there, for unconditional resources
owned on another node, with Notify on and off (every node its own process). With --review, every
member node turns the conformity review on (its last department the data authority, which
passes each request as soon as it sees it in its inbox): the round trip then includes the review,
with Notify on only.

    python bench/request_bench.py [--samples 60] [--interval 5] [--review]
"""

from __future__ import annotations

import argparse
import random
import time

from common import full_federation_compose, percentile, report, scratch

import pathlib

import yaml

from harness.runner import Federation
from node.proto import catalog_pb2, sharing_pb2, sharing_pb2_grpc
from node.security import tokens
from node.security.client import open_channel


def turn_review_on(fed: Federation) -> dict[str, sharing_pb2_grpc.SharingStub]:
    """Every member node with its last department as its data authority and review on (config
    edited, node restarted); a stub per node speaking as that authority, with `review` in its token."""
    reviewers = {}
    for node in fed.peer_ids:
        path = pathlib.Path(fed.node(node)["config"])
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        authority = config["departments"][-1]["code"]
        config["data_authority"] = authority
        config["sharing"] = {**(config.get("sharing") or {}), "review": True}
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
        fed.restart(node)
        token = fed.credentials.issue(config["database"], authority,
                                      sorted(tokens.DEPARTMENT_SCOPES | tokens.AUTHORITY_SCOPES))
        channel = open_channel(fed.address(node), fed.credentials.department_client(node, authority, token))
        reviewers[node] = (sharing_pb2_grpc.SharingStub(channel), authority)
    return reviewers


def round_trips(fed: Federation, samples: int, rng: random.Random, reviewers=None) -> list[float]:
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
        if reviewers:
            reviewer, authority = reviewers[consumer]
            reviewer.ReviewRequest(sharing_pb2.ReviewRequestRequest(
                request_id=filed.request_id, department_code=authority, decision="pass", reason="符合要求"))
        while stub.GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).state != "granted":
            time.sleep(0.005)
        times.append(time.monotonic() - start)
        time.sleep(rng.uniform(0.05, 0.2))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--interval", type=float, default=5.0, help="each peer's pull interval, seconds")
    parser.add_argument("--review", action="store_true",
                        help="turn the conformity review on at every member node (Notify on only)")
    args = parser.parse_args()
    rng = random.Random(5)
    results = {}
    with scratch() as folder:
        for notify in (True,) if args.review else (True, False):
            compose = full_federation_compose(folder, "requests", interval=args.interval, notify=notify,
                                              entries_per_department=10)
            fed = Federation.up(compose, folder / f"fed-{notify}")
            try:
                fed.seed()
                fed.wait_converged(timeout=300)
                reviewers = turn_review_on(fed) if args.review else None
                results[notify] = round_trips(fed, args.samples if notify else max(10, args.samples // 3), rng,
                                              reviewers)
            finally:
                fed.down(purge=True)
    rows = []
    for notify, times in results.items():
        rows.append((f"Notify {'on' if notify else 'off'}{', review on' if args.review else ''} "
                     f"({len(times)} requests)",
                     f"p50 {percentile(times, 50) * 1000:.0f} ms, p99 {percentile(times, 99) * 1000:.0f} ms"
                     + ("  (goal p99 < 2 s)" if notify else "")))
    report(f"request round trip, submit at consumer -> granted visible at consumer, 1+32+10 federation, "
           f"{args.interval:g}s pull interval", rows)


if __name__ == "__main__":
    main()
