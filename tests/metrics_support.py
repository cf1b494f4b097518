"""Shared by the metrics tests: a parsed scrape of a node's /metrics, and a hub and four peers serving metrics."""

from __future__ import annotations

import shutil
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, make_entry
from node import wire
from node.proto import catalog_pb2


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
        client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))


def rpc_calls(s: Scrape, method: str, code: str = "OK", service: str = "node.proto.Catalog") -> float:
    return s.value("cascade_rpc_calls_total", 0.0, service=service, method=method, code=code)


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


def hub_scrape(watched) -> Scrape:
    """A scrape of a hub that has served, pulled, verified and queued a delivery."""
    watched.verify()
    return scrape(watched.hub)
