"""A provincial or ministry node takes the registry of data elements from its hub: at start, when
the hub's pull says it holds a newer version (PullChangesRequest.elements_version), and every
REFRESH seconds besides. The node keeps what it took in its SQLite file, so a node that cannot
reach its hub goes on with the last registry it had; a failed fetch is tried again, backing off."""

from __future__ import annotations

import threading
from typing import Callable

import grpc

from node import wire
from node.background import BackgroundLoop
from node.model.elements import Registry
from node.proto import governance_pb2, governance_pb2_grpc
from node.source.uplink import HubLink

DEADLINE = 10.0
REFRESH = 300.0  # seconds between fetches when nothing says there is news
RETRY = (1.0, 60.0)  # the first and the longest wait after a failed fetch


class RegistryFetcher(BackgroundLoop):
    """`version()` is the version the node holds, `take(registry)` keeps a newer one."""

    def __init__(self, link: HubLink | None, version: Callable[[], int], take: Callable[[Registry], bool], log):
        self.link = link
        self.version = version
        self.take = take
        self.log = log
        self._news = threading.Event()
        super().__init__("elements")

    def enabled(self) -> bool:
        return self.link is not None

    def announced(self, hub_version: int) -> None:
        """The hub says it holds this version (on its pulls): fetch at once if it is newer."""
        if hub_version > self.version():
            self._news.set()

    def wake(self) -> None:
        self._news.set()

    def fetch(self) -> bool:
        """One fetch; whether the node took a newer registry. Raises grpc.RpcError."""
        stub = self.link.stub(governance_pb2_grpc.GovernanceStub)
        reply = stub.GetElements(governance_pb2.GetElementsRequest(known_version=self.version()), timeout=DEADLINE)
        if reply.version <= self.version():
            return False
        return self.take(wire.registry_from_proto(reply))

    def run(self) -> None:
        wait = 0.0
        while True:
            self._news.wait(wait)
            if self.stopping.is_set():
                return
            self._news.clear()
            try:
                if self.fetch():
                    self.log.info("elements.taken", version=self.version())
                wait = REFRESH
            except grpc.RpcError as exc:
                wait = min(max(wait * 2, RETRY[0]), RETRY[1]) if wait < REFRESH else RETRY[0]
                self.log.debug("elements.fetch_failed", error=exc.code().name, retry_in=wait)
            except Exception as exc:  # a closed link at shutdown, a bad reply: keep what the node has
                wait = RETRY[1]
                self.log.warning("elements.fetch_failed", error=str(exc), retry_in=wait)
