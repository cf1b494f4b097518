"""A node's metrics: its own registry, the RPC metrics, the state read at scrape time, and the
HTTP endpoint, started and stopped with the node."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, disable_created_metrics

from node.metrics.governance import GovernanceCollector
from node.metrics.http import MetricsServer
from node.metrics.names import METRICS
from node.metrics.rpc import RpcMetrics
from node.metrics.state import StateCollector, Verdicts

if TYPE_CHECKING:
    from node.config import Config
    from node.hub.scheduler import PullScheduler
    from node.model.sync import Verdict
    from node.store import Store

disable_created_metrics()  # no `_created` series beside every counter and histogram: half the lines, no use here


class Metrics:
    """Metrics(config, store, scheduler, clock, log); `rpc.observe` is the guard's hook;
    `verified(verdicts)` notes the hub's digest verdicts; start()/stop() serve config.metrics.listen."""

    def __init__(self, config: "Config", store: "Store", scheduler: "PullScheduler | None",
                 clock: Callable[[], datetime], log, registry_version: Callable[[], int] = lambda: 0,
                 duplicates: Callable[[], dict[str, int]] | None = None, readers: Callable | None = None,
                 calls: Callable | None = None):
        self.config = config
        self.log = log
        self.registry = CollectorRegistry()
        self.rpc = RpcMetrics(self.registry)
        self._verdicts = Verdicts()
        _, labels, help_text = METRICS["cascade_metrics_collect_errors"]
        errors = Counter("cascade_metrics_collect_errors", help_text, labels, registry=self.registry)
        self.registry.register(StateCollector(config, store, scheduler, clock, self._verdicts, errors, log, readers,
                                              calls))
        self.registry.register(GovernanceCollector(registry_version, duplicates, log))
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, process_resident_memory_bytes, ...
        self.server: MetricsServer | None = None

    def verified(self, verdicts: Iterable["Verdict"], cursors: dict[str, tuple[str, int]]) -> None:
        """The hub's Verify: its verdicts, and the hub's cursor (epoch, seq) per peer as it was
        before the digests were taken (cascade_peer_digest_equal; see Verdicts)."""
        self._verdicts.note(verdicts, cursors)

    @property
    def port(self) -> int:
        """The bound port once started (listen on :0 to pick one), else 0."""
        return self.server.port if self.server is not None else 0

    @property
    def address(self) -> str | None:
        return self.server.address if self.server is not None else None

    def start(self) -> None:
        self.server = MetricsServer(self.config.metrics.listen, self.registry)
        self.server.start()
        self.log.info("metrics.serving", address=self.server.address)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
