"""A provincial or ministry node's link to its hub: one channel, shared by entry look-ups (a
request for a resource held elsewhere) and the Notify hint after a write."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, TypeVar

import grpc

from node import wire
from node.background import BackgroundLoop
from node.model.rules import Entry
from node.config import Uplink
from node.errors import Unavailable
from node.proto import cascade_pb2, cascade_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security.client import ChannelClosed

if TYPE_CHECKING:
    from node.store import Store

T = TypeVar("T")
LOOKUP_DEADLINE = 5.0
NOTIFY_DEADLINE = 2.0
NOTIFY_RETRY = 2.0  # seconds between notices while the hub cannot be told
# A channel that lost the hub fails every call at once until its next reconnect attempt, and by
# default those attempts back off to two minutes: a notice retried every NOTIFY_RETRY seconds
# after a cut healed would fail for as long. Attempts at most NOTIFY_RETRY apart.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", int(NOTIFY_RETRY * 1000)),
]


class HubLink:
    """The one channel from this node to its hub, opened on first use."""

    def __init__(self, uplink: Uplink, open_channel: Callable[[str], grpc.Channel]):
        self.uplink = uplink
        self._open = open_channel
        self._channel: grpc.Channel | None = None
        self._lock = threading.Lock()
        self._closed = False

    def stub(self, make: Callable[[grpc.Channel], T]) -> T:
        """`make(channel)` (a stub, or one method's callable) on the channel to the hub, made
        under the lock close() takes; raises ChannelClosed once closed (see there why)."""
        with self._lock:
            if self._closed:
                raise ChannelClosed()
            if self._channel is None:
                self._channel = self._open(self.uplink.address)
            return make(self._channel)

    def lookup_entry(self, resource_code: str) -> Entry | None:
        """The hub's copy of an entry, or None if the hub has none."""
        try:
            reply = self.stub(catalog_pb2_grpc.CatalogStub).GetEntry(
                catalog_pb2.GetEntryRequest(resource_code=resource_code), timeout=LOOKUP_DEADLINE, wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"resource_code: cannot look the entry up at the hub: {exc.code().name}") from None
        return wire.entry_from_proto(reply)

    def notify(self, node_id: str, epoch: str, head_seq: int) -> None:
        stub = self.stub(cascade_pb2_grpc.CascadeStub)
        stub.Notify(cascade_pb2.NotifyRequest(node_id=node_id, head=cascade_pb2.Cursor(epoch=epoch, seq=head_seq)),
                    timeout=NOTIFY_DEADLINE)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._channel is not None:
                self._channel.close()
                self._channel = None


class HubNotifier(BackgroundLoop):
    """After a local write, tells the hub (Notify) that there is something to pull. Writes that
    come while a notice is on its way are folded into the next one. A notice that fails is sent
    again every NOTIFY_RETRY seconds until one arrives: the hub backs off from a peer it could not
    reach, and a notice is how it learns that a healed link is back (it then pulls within an
    interval instead of when its backoff ends)."""

    def __init__(self, link: HubLink | None, store: "Store", node_id: str, log):
        self.link = link
        self.store = store
        self.node_id = node_id
        self.log = log
        self._pending = threading.Event()
        super().__init__("notifier")

    def enabled(self) -> bool:
        return self.link is not None and self.link.uplink.notify

    def changed(self) -> None:
        """A local write happened (the node's change signal calls this)."""
        self._pending.set()

    wake = changed

    def run(self) -> None:
        undelivered = False
        while True:
            self._pending.wait(NOTIFY_RETRY if undelivered else None)
            if self.stopping.is_set():
                return
            self._pending.clear()
            try:
                self.link.notify(self.node_id, self.store.epoch, self.store.head_seq())
                undelivered = False
            except grpc.RpcError as exc:
                undelivered = True
                self.log.debug("notify.failed", error=exc.code().name, retry_in=NOTIFY_RETRY)
