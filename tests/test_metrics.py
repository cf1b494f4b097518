"""Prometheus metrics of one node: the config key, values that move as entries are published, the conventions."""

from __future__ import annotations

import gc
import re
import subprocess

import grpc
import pytest

from conftest import ROOT, make_entry, node_config
from metrics_support import METRICS_ON, PROMTOOL, hub_scrape, publish, rpc_calls, scrape
from metrics_support import watched  # noqa: F401 (fixture)
from node import wire
from node.config import ConfigError, parse
from node.metrics.names import METRICS
from node.proto import catalog_pb2


# -- config ----------------------------------------------------------------------------------------


def test_metrics_listen_is_validated_like_every_key(tmp_path):
    base = {"node": {"id": "hebei", "role": "provincial", "region_code": "130000"}, "listen": "127.0.0.1:7000",
            "insecure": True, "database": "x.db"}
    assert parse(base, "n.yaml").metrics is None
    assert parse({**base, "metrics": {"listen": "127.0.0.1:9100"}}, "n.yaml").metrics.listen == "127.0.0.1:9100"
    for metrics, key, rule in (({"listen": "9100"}, "metrics.listen", "must be HOST:PORT"),
                               ({"port": 9100}, "metrics.port", "unknown key"),
                               ({}, "metrics.listen", "is required"),
                               ({"listen": "127.0.0.1:7000"}, "metrics.listen", "must differ from listen")):
        with pytest.raises(ConfigError) as caught:
            parse({**base, "metrics": metrics}, "n.yaml")
        assert caught.value.key == key and rule in caught.value.rule and "n.yaml" in str(caught.value)


def test_a_node_without_metrics_serves_none(node):
    assert node.node.metrics is None and node.node.metrics_address is None


# -- a node ----------------------------------------------------------------------------------------


def test_publishing_moves_entries_head_and_rpc_counters(tmp_path, start_node):
    client = start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=["130100005"],
                                    extra=METRICS_ON))
    before = scrape(client)
    assert before.content_type.startswith("text/plain")
    assert before.value("cascade_node_info", node="hebei", role="provincial", region_code="130000") == 1
    assert before.value("cascade_entries", state="live") == 0 and before.value("cascade_change_log_head_seq") == 0
    assert before.value("cascade_store_size_bytes") > 0

    chunk = catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(make_entry(seq=i)) for i in range(1, 4)])
    client.catalog.PublishEntries(iter([chunk]))
    publish(client, make_entry(seq=4))
    client.catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000004"))
    with pytest.raises(grpc.RpcError):
        publish(client, make_entry(seq=5, name=""))  # INVALID_ARGUMENT: nothing stored
    after = scrape(client)

    assert after.value("cascade_entries", state="live") == 3
    assert after.value("cascade_entries", state="withdrawn") == 1
    assert after.value("cascade_change_log_head_seq") == 5  # four publishes and a withdrawal
    assert rpc_calls(after, "PublishEntries") == rpc_calls(before, "PublishEntries") + 1
    assert rpc_calls(after, "PublishEntry") == rpc_calls(before, "PublishEntry") + 1
    assert rpc_calls(after, "PublishEntry", "INVALID_ARGUMENT") == 1
    assert rpc_calls(after, "WithdrawEntry") == 1
    count = after.value("cascade_rpc_duration_seconds_count", service="node.proto.Catalog", method="PublishEntry")
    assert count == 2  # latency of every call, whatever its code
    assert after.value("cascade_rpc_duration_seconds_bucket", service="node.proto.Catalog", method="PublishEntry",
                       le="+Inf") == 2
    assert after.value("cascade_rpc_duration_seconds_sum", service="node.proto.Catalog", method="PublishEntry") > 0
    assert after.value("cascade_store_size_bytes") >= before.value("cascade_store_size_bytes")
    assert "cascade_peer_cursor_seq" not in after.families  # only the hub has peers


# -- conventions -------------------------------------------------------------------------------------

def test_exposition_follows_prometheus_conventions(watched):
    s = hub_scrape(watched)
    cascade = {name: f for name, f in s.families.items() if name.startswith("cascade_")}
    assert set(cascade) == set(METRICS)  # every metric named in node/metrics/names.py, and no other
    for name, f in cascade.items():
        assert f.type == METRICS[name][0] and f.documentation, name
        assert re.fullmatch(r"cascade_[a-z0-9_]+", name), name
        assert not re.search(r"_(ms|milliseconds|minutes|kb|mb|percent)(_|$)", name), f"{name}: use base units"
        for sample in f.samples:
            if f.type == "counter":
                assert sample.name == f"{name}_total", sample
            assert set(sample.labels) <= set(METRICS[name][1]) | {"le"}, sample
    if PROMTOOL is None:
        return  # Debian's prometheus package brings promtool (.ci/run installs it)
    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=s.text, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_readme_lists_every_metric():
    readme = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    missing = [name for name, (kind, _, _) in METRICS.items()
               if f"`{name}{'_total' if kind == 'counter' else ''}`" not in readme]
    assert not missing, f"docs/metrics.md does not list {missing}"


def test_refused_calls_are_freed_as_they_end_not_left_to_the_collector(tmp_path, start_node):
    """Every refused call raises through the timing interceptor. Kept there, the exception held
    its traceback, and the traceback the call's frames, context and thread pool item: a cycle
    per refusal. A hub refusing a flood of calls collected some 48,000 such objects every
    1,600 refusals, holding the interpreter 14-25 ms each time, every call it served waiting."""
    client = start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=["130100005"],
                                    extra=METRICS_ON))
    missing = catalog_pb2.GetEntryRequest(resource_code="130100005/999999")
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            with pytest.raises(grpc.RpcError) as refused:
                client.catalog.GetEntry(missing)
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        contexts = [o for o in gc.get_objects() if type(o).__name__ == "_Context" and "grpc" in type(o).__module__]
    finally:
        gc.enable()
    assert len(contexts) <= 2, f"{len(contexts)} ended calls' contexts still held"  # a call may be ending
