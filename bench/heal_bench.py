"""How long the hub takes to notice a healed link: one province cut off from the hub long enough
for its backoff to reach the maximum, a few writes during the cut, then healed; the time from the
heal until Admin.Verify says the hub's copy equals the province's. Each way of cutting (both
ways, only the hub's calls to the province, only the province's calls to the hub), with nothing
written after the heal and with one write just after it. Figures, not a test; the goal is two
pull intervals.

    python bench/heal_bench.py [--cut 70] [--interval 2] [--backoff-max 60] [--ways both,to-node,to-hub]
"""

from __future__ import annotations

import argparse
import time

from common import ROOT, scratch

import yaml

from harness.runner import Federation
from harness.seed import entries_for
from node.proto import admin_pb2

PROVINCE, DEPARTMENT, DEPARTMENT_NAME = "guangdong", "440000001", "广东省公安厅"


def equal_after(fed: Federation, since: float, timeout: float) -> float:
    """Seconds from `since` until the hub's copy of the province equals it (by digest)."""
    while time.monotonic() - since < timeout:
        (verdict,) = fed.admin().Verify(admin_pb2.VerifyRequest(peer=PROVINCE), timeout=30).peers
        if verdict.equal:
            return time.monotonic() - since
        time.sleep(0.2)
    return float("inf")


def one_case(fed: Federation, way: str, write_after: bool, cut: float, serial: list[int]) -> dict:
    def write(count: int) -> None:
        entries = list(entries_for(DEPARTMENT, DEPARTMENT_NAME, count, seed="heal", start=serial[0]))
        serial[0] += count
        fed.publish(PROVINCE, entries)

    fed.partition(PROVINCE, way)
    began = time.monotonic()
    write(3)
    time.sleep(max(0.0, cut - (time.monotonic() - began)))
    (seen,) = [p for p in fed.status(fed.hub_id, 30).peers if p.node_id == PROVINCE]
    fed.heal(PROVINCE)
    healed = time.monotonic()
    if write_after:
        write(1)
    seconds = equal_after(fed, healed, timeout=max(180.0, 3 * cut))
    return {"way": way, "write_after": write_after, "seconds": seconds, "backoff_at_heal": seen.backoff_seconds,
            "failures_at_heal": seen.failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cut", type=float, default=70.0, help="seconds each cut lasts")
    parser.add_argument("--interval", type=float, default=2.0, help="the hub's pull interval")
    parser.add_argument("--backoff-max", type=float, default=60.0, help="sync.backoff_max at the hub")
    parser.add_argument("--ways", default="both,to-node,to-hub")
    args = parser.parse_args()
    compose = yaml.safe_load((ROOT / "configs" / "federation-small.yaml").read_text(encoding="utf-8"))
    compose["portal"] = False
    compose["defaults"]["interval"] = args.interval
    compose["defaults"]["sync"]["backoff_max"] = args.backoff_max
    for node in compose["nodes"]:
        node["interval"] = args.interval
    with scratch() as folder:
        path = folder / "compose.yaml"
        path.write_text(yaml.safe_dump(compose, allow_unicode=True), encoding="utf-8")
        fed = Federation.up(path, folder / "state")
        try:
            fed.seed(2, data=False)
            fed.wait_converged(timeout=120)
            serial = [1000]
            print(f"interval {args.interval:g}s, backoff_max {args.backoff_max:g}s, each cut {args.cut:g}s")
            print(f"{'cut':<8} {'after heal':<12} {'equal after':>12} {'intervals':>9}  hub at heal")
            for way in args.ways.split(","):
                for write_after in (False, True):
                    row = one_case(fed, way, write_after, args.cut, serial)
                    print(f"{way:<8} {'1 write' if write_after else 'nothing':<12} {row['seconds']:>11.1f}s "
                          f"{row['seconds'] / args.interval:>9.1f}  backoff {row['backoff_at_heal']:.0f}s after "
                          f"{row['failures_at_heal']} failures", flush=True)
                    fed.wait_converged(timeout=180)
        finally:
            fed.down(purge=True)


if __name__ == "__main__":
    main()
