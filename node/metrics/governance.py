"""Governance gauges read at scrape time: the version of the registry of data elements the node
holds (every node: has it taken the hub's newest?) and, at the hub, each department's duplicate
collections (不得重复收集), from counts the hub keeps a while (node/catalog/governance.py)."""

from __future__ import annotations

from typing import Callable, Iterable

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from node.metrics.state import family


class GovernanceCollector(Collector):
    """`registry_version()`: the registry's version at this node; `duplicates()`: department code
    -> duplicate collections, or None at a node that does not count them."""

    def __init__(self, registry_version: Callable[[], int], duplicates: Callable[[], dict[str, int]] | None, log):
        self.registry_version = registry_version
        self.duplicates = duplicates
        self.log = log

    def collect(self) -> Iterable[Metric]:
        version = family("cascade_elements_registry_version")
        version.add_metric([], self.registry_version())
        yield version
        found = family("cascade_duplicate_collections")
        if self.duplicates is not None:
            try:
                for department, count in sorted(self.duplicates().items()):
                    found.add_metric([department], count)
            except Exception as exc:  # the store closing: this scrape goes without them
                self.log.debug("metrics.governance_unread", error=str(exc))
        yield found
