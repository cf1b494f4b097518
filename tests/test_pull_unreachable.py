"""A peer the hub cannot reach is pulled again every interval, for as long as it is down: hours,
on a national hub with one province offline. A failed pull must leave nothing behind for the
cycle collector. gRPC raises a failed stream as the call object itself, whose traceback holds
the frame that raised it; kept, every failed pull's frames, with what they held, waited for a
collection, and a hub with unreachable peers was seen holding the interpreter 97-113 ms at a
time to free them, every call it was serving waiting."""

import gc

from conftest import PEERS, wait_until
from node.hub.apply import PullResult


def test_failed_pulls_of_an_unreachable_peer_are_freed_as_they_fail(cluster):
    c = cluster(peers={"hebei": PEERS["hebei"]}, interval=0.05,
                hub_extra={"sync": {"backoff_initial": 0.05, "backoff_max": 0.1}})
    c.sync()
    c.stop_peer("hebei")
    wait_until(lambda: c.status()["hebei"].failures, 30, "a first failed pull of Hebei")
    gc.collect()
    gc.disable()
    try:
        start = c.status()["hebei"].failures
        wait_until(lambda: c.status()["hebei"].failures, 60, "eight more failed pulls",
                   until=lambda failures: failures >= start + 8)
        kept = [o for o in gc.get_objects() if isinstance(o, PullResult)]
    finally:
        gc.enable()
    assert c.status()["hebei"].state == "failing"
    assert len(kept) <= 2, f"{len(kept)} pulls' results still held"  # at most the pull under way
