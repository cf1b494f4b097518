"""A link between the hub and a province cut both ways or one way through the harness, a few
writes during the cut, then healed: the hub's copy equals the province's within two pull
intervals of the heal, with nothing written after it (no Notify comes to say the link is back)
and with a write after it."""

import pytest
from click.testing import CliRunner

from conftest import PEERS, wait_until
from cli.harness import harness
from harness.seed import entries_for
from node.proto import admin_pb2

SMALL = "configs/federation-small.yaml"
INTERVAL = 2.0
PROVINCE = "guangdong"


def hub_view(fed):
    (state,) = [p for p in fed.status(fed.hub_id, 30).peers if p.node_id == PROVINCE]
    return state


def equal(fed) -> bool:
    (verdict,) = fed.admin().Verify(admin_pb2.VerifyRequest(peer=PROVINCE), timeout=30).peers
    return verdict.equal


def link(fed, name):
    return fed.proxy("status")["links"][name]


def test_an_unreachable_peer_is_tried_every_interval_not_backed_off(cluster):
    """Backing off from a peer the channel cannot reach spares it nothing: the hub keeps trying
    it every interval, and pulls it within two intervals of it being back, though nothing is
    written and no Notify comes."""
    interval = 0.5
    c = cluster(peers={"hebei": PEERS["hebei"]}, interval=interval,
                hub_extra={"sync": {"backoff_initial": 1, "backoff_max": 30, "call_deadline": 5}})
    c.sync()
    port = c.peers["hebei"].node.port
    c.stop_peer("hebei")
    failing = wait_until(lambda: c.status()["hebei"], 30, "the hub to fail three pulls of the stopped Hebei",
                         until=lambda s: s.failures >= 3)
    assert "UNAVAILABLE" in failing.last_error and failing.backoff_seconds <= interval  # was 4 s, then 8, 16, 30
    c.peers["hebei"] = c.start_peer("hebei", port)
    wait_until(lambda: c.status()["hebei"], 2 * interval + 1.5, "Hebei pulled within two intervals of its return "
               "(and the channel's one-second reconnect)", until=lambda s: s.failures == 0 and s.state == "ok")


def test_partition_cuts_the_ways_it_is_asked_to(federation):
    fed = federation(SMALL)
    fed.partition(PROVINCE, "to-node")
    assert link(fed, PROVINCE)["partitioned"] and not link(fed, f"uplink:{PROVINCE}")["partitioned"]
    fed.heal(PROVINCE)
    fed.partition(PROVINCE, "to-hub")
    assert not link(fed, PROVINCE)["partitioned"] and link(fed, f"uplink:{PROVINCE}")["partitioned"]
    fed.partition(PROVINCE)
    assert link(fed, PROVINCE)["partitioned"] and link(fed, f"uplink:{PROVINCE}")["partitioned"]
    assert not link(fed, "hebei")["partitioned"] and not link(fed, "uplink:hebei")["partitioned"]
    rows = {r["node"]: r for r in fed.ps()}
    assert rows[PROVINCE]["link"]["partitioned"] and rows[PROVINCE]["uplink"]["partitioned"]
    fed.heal(PROVINCE)
    assert not any(link(fed, name)["partitioned"] for name in (PROVINCE, f"uplink:{PROVINCE}"))
    with pytest.raises(Exception, match="way must be one of"):
        fed.partition(PROVINCE, "sideways")

    # the same from the command line, and `ps` saying which way is cut
    cli = CliRunner()
    done = cli.invoke(harness, ["partition", PROVINCE, "--way", "to-hub", "--state", str(fed.dir)])
    assert done.exit_code == 0 and "to-hub" in done.output, done.output
    (row,) = [line for line in cli.invoke(harness, ["ps", "--state", str(fed.dir)]).output.splitlines()
              if line.startswith(PROVINCE)]
    assert "cut to hub" in row
    assert cli.invoke(harness, ["heal", PROVINCE, "--state", str(fed.dir)]).exit_code == 0
    assert not link(fed, f"uplink:{PROVINCE}")["partitioned"]


@pytest.mark.slow
def test_a_healed_link_is_noticed_within_two_intervals_whatever_way_it_was_cut(federation):
    # A backoff that started at two intervals and grew would be past them after the second failure.
    fed = federation(SMALL, interval=INTERVAL, sync={"backoff_initial": 2 * INTERVAL})
    fed.seed(2, data=False)
    fed.wait_converged(timeout=60)
    serial = [1000]

    def write(count):
        fed.publish(PROVINCE, list(entries_for("440000001", "广东省公安厅", count, seed="cut", start=serial[0])))
        serial[0] += count

    for way in ("to-node", "both", "to-hub"):
        for write_after in (False, True):
            case = f"cut {way}, {'a write' if write_after else 'nothing written'} after the heal"
            refused = link(fed, f"uplink:{PROVINCE}")["refused"]
            fed.partition(PROVINCE, way)
            write(3)
            if way == "to-hub":  # the hub still pulls; the province's notices are what fails
                wait_until(lambda: link(fed, f"uplink:{PROVINCE}")["refused"], 60,
                           f"{case}: the province's notices to be refused", until=lambda n: n > refused)
            else:  # long enough that a growing backoff would be past two intervals (4, then 8 s)
                wait_until(lambda: hub_view(fed).failures, 120, f"{case}: the hub to fail two pulls",
                           until=lambda failures: failures >= 2)
            fed.heal(PROVINCE)
            if write_after:
                write(1)
            wait_until(lambda: equal(fed), 2 * INTERVAL, f"{case}: the hub's copy equal to the province's",
                       poll=0.2)
            wait_until(lambda: hub_view(fed).failures, 30, f"{case}: the hub's failures to clear",
                       until=lambda failures: failures == 0)
