"""The whole 1+32+N federation on this machine: 43 processes, seeded, converging by digest;
then five provinces cut off while writes land everywhere, healed, and converging again."""

import random
import time

import pytest

from conftest import wait_until
from harness.seed import entries_for
from test_harness import assert_union, peer_state, publish

FULL = "configs/federation-full.yaml"
CUT = ["hebei", "guangdong", "sichuan", "xinjiang", "xpcc"]


@pytest.mark.slow
def test_full_federation_converges_and_survives_a_partition_of_five_provinces(federation):
    start = time.monotonic()
    fed = federation(FULL, sync={"backoff_max": 5, "call_deadline": 30})
    up_seconds = time.monotonic() - start
    assert len(fed.peer_ids) == 42
    # The catalog only: what converges by digest are the entries; mounting synthetic rows on
    # them (the seed's default) is local to each node and tried by the small federation's tests.
    seeded = fed.seed(data=False)
    departments = sum(len(_departments(fed, node)) for node in fed.state["nodes"])
    assert seeded == departments * 20 == (32 * 9 + 10 * 2 + 2) * 20
    converge_seconds = fed.wait_converged(timeout=300)
    assert_union(fed)
    print(f"\nfull federation: up in {up_seconds:.1f}s, {seeded} entries seeded, converged {converge_seconds:.1f}s after")

    for node in CUT:
        fed.partition(node)
    # Writes everywhere while they are cut off: each cut province first, then provinces and
    # ministries drawn at random (about as many as the minute of paced writes this replaced; what is
    # proved is that every one of them reaches the hub once the links heal, not how long it took).
    rng = random.Random(7)
    writers = CUT + [rng.choice(fed.peer_ids) for _ in range(115)]
    for written, node in enumerate(writers):
        code, name = next((d for d in _departments(fed, node)))
        publish(fed, node, list(entries_for(code, name, 3, seed=f"w{written}", start=5000 + 3 * written)))
    assert set(CUT) < set(writers) and len(set(writers)) > 20
    # Still cut off: every pull of them fails, so status shows them failing until they are healed.
    wait_until(lambda: {p: peer_state(fed, p) for p in CUT}, 120, "status to show the five cut provinces failing",
               until=lambda states: all(s.state == "failing" and s.last_error for s in states.values()))
    assert all(peer_state(fed, p).state == "ok" for p in fed.peer_ids if p not in CUT)
    for node in CUT:
        fed.heal(node)
    fed.wait_converged(timeout=180)
    assert_union(fed)


def _departments(fed, node):
    import yaml

    config = yaml.safe_load(open(fed.node(node)["config"], encoding="utf-8"))
    return [(d["code"], d["name"]) for d in config["departments"]]
