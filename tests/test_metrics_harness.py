"""The harness serves every node's metrics, `cascade harness ps` shows where, and a partitioned peer's lag grows."""

from __future__ import annotations

import subprocess

import grpc
import pytest
import yaml

from conftest import make_entry, wait_until
from metrics_support import PROMTOOL, Scrape, rpc_calls
from node import wire
from node.proto import catalog_pb2


# -- the harness ---------------------------------------------------------------------------------------


def test_harness_serves_every_nodes_metrics_and_a_partitioned_peers_lag_grows(federation):
    from click.testing import CliRunner

    from cli.harness import harness
    from harness.seed import entries_for

    fed = federation("configs/federation-small.yaml", sync={"backoff_initial": 0.2, "backoff_max": 1})
    addresses = {node: fed.metrics_address(node) for node in fed.state["nodes"]}
    assert all(addresses.values()) and len(set(addresses.values())) == len(addresses)
    for node, address in addresses.items():
        assert Scrape(address).labels_of("cascade_node_info", "node") == {node}
    shown = CliRunner().invoke(harness, ["ps", "--state", str(fed.dir)])
    assert shown.exit_code == 0, shown.output
    assert "metrics" in shown.output.splitlines()[0]
    assert all(address in shown.output for address in addresses.values())

    hub = addresses[fed.hub_id]
    wait_until(lambda: Scrape(hub), 30, "the hub's first pull of Guangdong",
               until=lambda s: s.value("cascade_peer_up", peer="guangdong") == 1)
    fed.partition("guangdong", "to-node")
    # Guangdong's Notify still reaches the hub, which learns its head but cannot pull it.
    fed.publish("guangdong", list(entries_for("440000001", "广东省公安厅", 5, seed="metrics")))
    cut = wait_until(lambda: Scrape(hub), 60, "the hub to see Guangdong behind and failing",
                     until=lambda s: s.value("cascade_peer_changes_behind", peer="guangdong") > 0
                     and s.value("cascade_peer_consecutive_failures", peer="guangdong") > 0)
    fed.publish("guangdong", list(entries_for("440000001", "广东省公安厅", 5, seed="metrics", start=100)))
    wait_until(lambda: Scrape(hub), 60, "Guangdong's lag to grow",
               until=lambda s: s.value("cascade_peer_changes_behind", peer="guangdong")
               > cut.value("cascade_peer_changes_behind", peer="guangdong"))
    fed.heal("guangdong")
    healed = wait_until(lambda: Scrape(hub), 60, "the hub to catch up with Guangdong",
                        until=lambda s: s.value("cascade_peer_changes_behind", peer="guangdong") == 0
                        and s.value("cascade_peer_up", peer="guangdong") == 1)
    assert healed.value("cascade_peer_entries", peer="guangdong") == 10

    # A refusal by the guard (a department publishing under another's code) is counted by its code.
    with pytest.raises(grpc.RpcError) as refused:
        fed.catalog("hebei", "130000001").PublishEntry(catalog_pb2.PublishEntryRequest(
            entry=wire.entry_to_proto(make_entry("130000002"))))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert rpc_calls(Scrape(addresses["hebei"]), "PublishEntry", "PERMISSION_DENIED") == 1

    fed.restart("hebei")  # the same metrics port after a restart, as for gRPC
    assert fed.metrics_address("hebei") == addresses["hebei"]
    assert Scrape(addresses["hebei"]).value("cascade_entries", state="live") == 0

    scrape_config = yaml.safe_load((fed.dir / "prometheus.yml").read_text())
    assert sorted(scrape_config["scrape_configs"][0]["static_configs"][0]["targets"]) == sorted(addresses.values())
    if PROMTOOL is not None:
        checked = subprocess.run([PROMTOOL, "check", "config", str(fed.dir / "prometheus.yml")], capture_output=True,
                                 text=True, timeout=60)
        assert checked.returncode == 0, checked.stdout + checked.stderr
