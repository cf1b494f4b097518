"""Prometheus metrics: real nodes scraped over HTTP, values that move when entries are published,
a peer is cut off, a request goes overdue or waits in the outbox, a digest differs; the
exposition follows Prometheus conventions; the dashboard and the alert rules use only metrics
that exist; the harness serves every node's metrics and `cascade harness ps` shows where."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import urllib.request
from datetime import timedelta

import grpc
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, make_entry, node_config, wait_until
from node.api import serde
from node.catalog import rules
from node.config import ConfigError, parse
from node.metrics.names import METRICS
from node.proto import catalog_pb2, sharing_pb2, sharing_pb2_grpc

METRICS_ON = {"metrics": {"listen": "127.0.0.1:0"}}
PROMTOOL = shutil.which("promtool")
DASHBOARD = ROOT / "configs" / "grafana" / "cascade.json"
ALERTS = ROOT / "configs" / "prometheus" / "alerts.yml"


class Scrape:
    """One scrape of a node's /metrics, parsed by the client library's own parser."""

    def __init__(self, address: str):
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as reply:
            assert reply.status == 200
            self.content_type = reply.headers["Content-Type"]
            self.text = reply.read().decode()
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                        for f in self.families.values() for s in f.samples}

    def value(self, name: str, default: float | None = None, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        if key not in self.samples:
            if default is not None:
                return default
            raise AssertionError(f"no sample {name}{labels} in the scrape; it has "
                                 f"{sorted(k for k in self.samples if k[0] == name)}")
        return self.samples[key]

    def labels_of(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for sample, labels in self.samples if sample == name}

    @property
    def names(self) -> set[str]:
        """The names a query can use, samples or not yet: `x_total` of a counter, `x_bucket`,
        `x_count` and `x_sum` of a histogram, `x` of a gauge."""
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}
        return {name + suffix for name, f in self.families.items() for suffix in suffixes.get(f.type, ("",))}


def scrape(client) -> Scrape:
    return Scrape(client.node.metrics_address)


def publish(client, *entries):
    for entry in entries:
        client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=serde.entry_to_proto(entry)))


def rpc_calls(s: Scrape, method: str, code: str = "OK", service: str = "node.proto.Catalog") -> float:
    return s.value("cascade_rpc_calls_total", 0.0, service=service, method=method, code=code)


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

    chunk = catalog_pb2.PublishEntriesRequest(entries=[serde.entry_to_proto(make_entry(seq=i)) for i in range(1, 4)])
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


# -- the hub ---------------------------------------------------------------------------------------


def watch(cluster, *, notify: bool):
    """A hub and four peers, every node serving metrics, everything pulled once. With notify,
    peers have their hub link (Notify, and entries looked up at the hub for requests); without,
    the hub pulls only when told (an interval of an hour)."""
    c = cluster(hub_extra=METRICS_ON, peer_extra={p: METRICS_ON for p in ("hebei", "guangdong", "xpcc", "mps")},
                notify=notify)
    publish(c.peers["hebei"], *(make_entry("130100005", seq=i) for i in range(1, 4)))
    publish(c.peers["guangdong"], make_entry("440300002", seq=1),
            make_entry("440300002", seq=2, share_type="conditional", share_condition="须说明办理事项"))
    c.sync()
    return c


@pytest.fixture
def watched(cluster):
    return watch(cluster, notify=True)


@pytest.fixture
def quiet(cluster):
    return watch(cluster, notify=False)


def test_a_stopped_peer_shows_failures_and_its_last_success_ages(watched):
    hub = watched.hub
    s = scrape(hub)
    assert s.labels_of("cascade_peer_up", "peer") == {"hebei", "guangdong", "xpcc", "mps"}
    for peer, client in watched.peers.items():
        head = client.node.store.head_seq()
        assert s.value("cascade_peer_cursor_seq", peer=peer) == s.value("cascade_peer_head_seq", peer=peer) == head
        assert s.value("cascade_peer_changes_behind", peer=peer) == 0
        assert s.value("cascade_peer_consecutive_failures", peer=peer) == 0
        assert s.value("cascade_peer_up", peer=peer) == 1
        assert s.value("cascade_peer_pull_interval_seconds", peer=peer) == watched.interval
    assert s.value("cascade_peer_entries", peer="hebei") == 3 and s.value("cascade_peer_entries", peer="guangdong") == 2
    assert s.value("cascade_entries", state="live") == 5
    assert s.value("cascade_peer_resyncs_total", peer="hebei") == 0
    assert scrape(watched.peers["hebei"]).value("cascade_rpc_calls_total", service="node.proto.Cascade",
                                                method="PullChanges", code="OK") >= 1

    watched.peers["hebei"].catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000003"))
    publish(hub, make_entry("100000001", seq=1))  # the hub's own department
    watched.sync("hebei")
    s = scrape(hub)
    assert s.value("cascade_peer_entries", peer="hebei") == 2
    count, live = hub.node.store.count_entries()  # what the hub counts from its peers' tallies, counted row by row
    assert (s.value("cascade_entries", state="live"), s.value("cascade_entries", state="withdrawn")) == \
        (live, count - live) == (5, 1)

    watched.stop_peer("guangdong")
    watched.sync("guangdong")
    cut = scrape(hub)
    failures = cut.value("cascade_peer_consecutive_failures", peer="guangdong")
    assert failures >= 1  # the hub retries on its own after a short backoff, so maybe more already
    assert cut.value("cascade_peer_up", peer="guangdong") == 0 and cut.value("cascade_peer_backoff_seconds",
                                                                             peer="guangdong") > 0
    assert cut.value("cascade_peer_up", peer="hebei") == 1
    age = cut.value("cascade_peer_last_success_age_seconds", peer="guangdong")

    watched.sync("guangdong")
    watched.sync("hebei")
    later = wait_until(lambda: scrape(hub), 10, "Guangdong's last success to age",
                       until=lambda s: s.value("cascade_peer_last_success_age_seconds", peer="guangdong") > age)
    assert later.value("cascade_peer_consecutive_failures", peer="guangdong") > failures
    assert later.value("cascade_peer_last_success_age_seconds", peer="hebei") < \
        later.value("cascade_peer_last_success_age_seconds", peer="guangdong")
    assert later.value("cascade_peer_entries", peer="guangdong") == 2  # the hub keeps its copy


def sharing(client):
    return sharing_pb2_grpc.SharingStub(client.channel)


def submit(client, resource_code):
    return sharing(client).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130100005", resource_code=resource_code, purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=["统一社会信用代码"]))


def state_at(client, request_id):
    try:
        return sharing(client).GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id)).state
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return "absent"


def test_a_request_past_its_deadline_shows_overdue_at_owner_and_hub(watched):
    filed = submit(watched.peers["hebei"], "440300002/000002")  # conditional: waits for Guangdong's answer
    watched.sync("hebei")  # the hub takes the request and delivers it to Guangdong, where it waits
    wait_until(lambda: state_at(watched.peers["guangdong"], filed.request_id), 30, "the request pending at Guangdong",
               until=lambda state: state == "pending")
    watched.sync("guangdong")
    for client in (watched.peers["guangdong"], watched.hub):
        s = scrape(client)
        assert s.value("cascade_requests", state="pending") == 1 and s.value("cascade_requests_overdue") == 0

    later = lambda: rules.utcnow() + timedelta(days=30)  # noqa: E731
    for client in (watched.peers["guangdong"], watched.hub):
        client.node.sharing.clock = later
        assert scrape(client).value("cascade_requests_overdue") == 1
    assert scrape(watched.peers["hebei"]).value("cascade_requests_overdue") == 0  # its clock is today's


def test_a_request_for_a_node_that_is_down_waits_in_the_outbox_and_ages(watched):
    port = watched.peers["guangdong"].node.port
    watched.stop_peer("guangdong")
    submit(watched.peers["hebei"], "440300002/000001")
    watched.sync("hebei")  # the hub takes the request; its courier cannot reach Guangdong
    first = wait_until(lambda: scrape(watched.hub), 10, "the delivery to Guangdong to wait in the outbox",
                       until=lambda s: s.value("cascade_outbox_deliveries", 0.0, target="guangdong") == 1)
    age = first.value("cascade_outbox_oldest_age_seconds", target="guangdong")
    wait_until(lambda: scrape(watched.hub), 10, "the waiting delivery to age",
               until=lambda s: s.value("cascade_outbox_oldest_age_seconds", target="guangdong") > age)

    watched.peers["guangdong"] = watched.start_peer("guangdong", port)
    delivered = wait_until(lambda: scrape(watched.hub), 60, "the outbox to empty once Guangdong is back",
                           until=lambda s: "guangdong" not in s.labels_of("cascade_outbox_deliveries", "target"))
    assert "guangdong" not in delivered.labels_of("cascade_outbox_oldest_age_seconds", "target")


def test_digest_equal_only_changes_on_a_conclusive_verify(quiet):
    watched = quiet
    hub = watched.hub
    assert scrape(hub).labels_of("cascade_peer_digest_equal", "peer") == set()  # no Verify yet
    assert all(v.equal for v in watched.verify().values())
    s = scrape(hub)
    assert {p: s.value("cascade_peer_digest_equal", peer=p) for p in watched.peers} == dict.fromkeys(watched.peers, 1)
    assert s.value("cascade_peer_digest_verified_timestamp_seconds", peer="hebei") > 0

    publish(watched.peers["xpcc"], make_entry("660000001", seq=1))  # the hub has not pulled it yet: lag
    wait_until(lambda: watched.verify()["xpcc"].equal, 10, "Verify to find XPCC's copy behind", until=lambda e: not e)
    assert scrape(hub).value("cascade_peer_digest_equal", peer="xpcc") == 1  # behind is not a mismatch

    watched.sync()
    held = hub.node.store.get_entry("130100005/000001")
    with hub.node.store.transaction() as tx:  # the hub's copy altered behind the protocol's back
        tx.put_entries([dataclasses.replace(held, name="被篡改的名称")], log=False)
    verdicts = watched.verify()
    assert not verdicts["hebei"].equal and verdicts["xpcc"].equal
    s = scrape(hub)
    assert s.value("cascade_peer_digest_equal", peer="hebei") == 0
    assert s.value("cascade_peer_digest_equal", peer="xpcc") == 1


# -- conventions -------------------------------------------------------------------------------------


def hub_scrape(watched) -> Scrape:
    """A scrape of a hub that has served, pulled, verified and queued a delivery."""
    watched.verify()
    return scrape(watched.hub)


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


def metric_names(expressions: list[str]) -> set[str]:
    return set(re.findall(r"\b(cascade_[a-z0-9_]+)\b", " ".join(expressions)))


def dashboard_expressions(dashboard: dict) -> list[str]:
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "query") and isinstance(value, str):
                    found.append(value)
                elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                    found.append(value["query"])
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dashboard)
    return found


def test_dashboard_and_alert_rules_load_and_use_only_exported_metrics(watched, tmp_path):
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Federation overview", "Per-peer lag", "Request flow"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]

    alerts = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules_ = [r for group in alerts["groups"] for r in group["rules"]]
    assert {r["alert"] for r in rules_} == {"CascadePeerNotPulled", "CascadeOutboxStuck", "CascadeRequestsOverdue",
                                            "CascadeDigestMismatch"}

    s = hub_scrape(watched)
    used = metric_names(dashboard_expressions(dashboard)) | metric_names([r["expr"] for r in rules_])
    missing = sorted(name for name in used if name not in s.names)
    assert not missing, f"the dashboard or the alert rules use metrics no node exports: {missing}"
    if PROMTOOL is None:
        return
    # The dashboard's queries parse as PromQL: checked as recording rules, Grafana's variables filled in.
    recorded = [{"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "1m").replace("$hub", ".*")}
                for i, expr in enumerate(dashboard_expressions(dashboard)) if "label_values(" not in expr]
    queries = tmp_path / "dashboard-queries.yml"
    queries.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recorded}]}))
    for args in (("check", "rules", str(ALERTS)), ("test", "rules", str(ALERTS.with_name("alerts_test.yml"))),
                 ("check", "rules", str(queries))):
        result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


# -- the harness ---------------------------------------------------------------------------------------


def test_harness_serves_every_nodes_metrics_and_a_partitioned_peers_lag_grows(federation):
    from click.testing import CliRunner

    from harness.cli import harness
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
    fed.partition("guangdong")
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
            entry=serde.entry_to_proto(make_entry("130000002"))))
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


def test_readme_lists_every_metric():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name, (kind, _, _) in METRICS.items()
               if f"`{name}{'_total' if kind == 'counter' else ''}`" not in readme]
    assert not missing, f"README's Metrics section does not list {missing}"
