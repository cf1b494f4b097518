"""The RPC counter and latency histogram, fed by the guard in front of every call."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from node.metrics.names import METRICS

# Pulls and bulk loads are long streams: the buckets reach two minutes (sync.call_deadline).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def _metric(kind, name: str, registry: CollectorRegistry, **options):
    _, labels, help_text = METRICS[name]
    return kind(name, help_text, labels, registry=registry, **options)


class RpcMetrics:
    """`observe(method, code, seconds)` once per finished call; cheap: two dict lookups, an
    increment and a bucket, the label children made once per method and code."""

    def __init__(self, registry: CollectorRegistry):
        self.calls = _metric(Counter, "cascade_rpc_calls", registry)
        self.durations = _metric(Histogram, "cascade_rpc_duration_seconds", registry, buckets=BUCKETS)
        self._calls: dict[tuple[str, str], object] = {}
        self._durations: dict[str, object] = {}

    def observe(self, method: str, code: str, seconds: float) -> None:
        """method: the gRPC full name `/package.Service/Method`; code: a status code's name."""
        counter = self._calls.get((method, code))
        if counter is None:
            counter = self._calls[(method, code)] = self.calls.labels(*split(method), code)
        duration = self._durations.get(method)
        if duration is None:
            duration = self._durations[method] = self.durations.labels(*split(method))
        counter.inc()
        duration.observe(seconds)


def split(method: str) -> tuple[str, str]:
    """`/node.proto.Catalog/GetEntry` -> (`node.proto.Catalog`, `GetEntry`)."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name
