"""A provincial or ministry node's link to its hub: the Notify hint after a write."""

from __future__ import annotations

import threading

import grpc

from node.proto import cascade_pb2, cascade_pb2_grpc


class HubNotifier:
    """After a local write, tells the hub (Notify) that there is something to pull. Writes that
    come while a notice is on its way are folded into the next one; failures are only logged,
    since the hub's schedule pulls anyway."""

    def __init__(self, node):
        self.node = node
        self._pending = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="notifier", daemon=True)

    def start(self) -> None:
        hub = self.node.config.hub
        if hub is None or not hub.notify:
            return
        self.node.on_change(self._pending.set)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._pending.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        stub = cascade_pb2_grpc.CascadeStub(self.node.hub_channel())
        while True:
            self._pending.wait()
            if self._stop.is_set():
                return
            self._pending.clear()
            store = self.node.store
            request = cascade_pb2.NotifyRequest(
                node_id=self.node.config.node_id,
                head=cascade_pb2.Cursor(epoch=store.epoch, seq=store.head_seq()),
            )
            try:
                stub.Notify(request, timeout=2.0)
            except grpc.RpcError as exc:
                self.node.log.debug("notify.failed", error=exc.code().name)
