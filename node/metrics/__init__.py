"""Prometheus metrics of a node, served over plain HTTP when the config has `metrics: {listen}`.

What lives here: `Metrics` (one CollectorRegistry per node, since several nodes may run in one
process), the RPC counter and latency histogram the guard feeds (`rpc.py`), the gauges read from
the store and the hub's schedule at scrape time (`state.py`: nothing extra runs on the write
path), and the HTTP endpoint (`http.py`). Every metric name is listed in `names.py`.

It is handed the store, the pull schedule and the clock through its constructor and never
imports gRPC: node/api feeds it through the guard's `observe` hook and the Admin service's Verify.
What it may import: the table of rooms in docs/architecture.md, kept by tests/test_layering.py.
"""

from node.metrics.exporter import Metrics

__all__ = ["Metrics"]
