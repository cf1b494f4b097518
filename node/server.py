"""The node: one store, one gRPC server with every service, and the role's background jobs."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node import logs, roles
from node.api import serde
from node.api import servicers
from node.catalog.catalog import Catalog
from node.config import Config
from node.errors import FailedPrecondition, Unavailable
from node.proto import catalog_pb2, catalog_pb2_grpc
from node.sharing.workflow import Sharing
from node.store import Store

WORKERS = 32


def create_server(config: Config) -> grpc.Server:
    """A gRPC server with the node's message limits; the caller adds services and starts it."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", max(config.max_message_bytes, 64 * 1024 * 1024)),
        ("grpc.so_reuseport", 0),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    return grpc.server(futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="rpc"), options=options)


class Node:
    """Node(config).start() serves until stop(); `port` is the bound port (listen on :0 to pick one)."""

    def __init__(self, config: Config):
        self.config = config
        self.role = roles.get(config.role)
        self.log = logs.logger(config.node_id, config.role)
        self.store = Store(config.database, synchronous=config.synchronous)
        self.jobs: list[roles.Job] = []
        self._hub = None
        self._change_listeners: list = []
        self._hub_channel: grpc.Channel | None = None
        self._hub_channel_lock = threading.Lock()
        self.catalog = Catalog(
            self.store, config.node_id, {d.code for d in config.departments},
            max_page_size=config.max_page_size, on_change=self.changed,
        )
        self.sharing = Sharing(
            self.store, config.node_id, {d.code for d in config.departments}, config.calendar,
            lookup=self.lookup_entry, on_change=self.changed,
        )
        self.server: grpc.Server | None = None
        self.health = health.HealthServicer()
        self.port = 0
        self.started_at = time.monotonic()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Node":
        self.server = create_server(self.config)
        names = servicers.add_to_server(self.server, self)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server)
        self.port = self.server.add_insecure_port(self.config.listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {self.config.listen}")
        self.jobs = self.role.jobs(self)
        self.server.start()
        for job in self.jobs:
            job.start()
        for name in ("", *names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.log.info("node.started", listen=self.config.listen, port=self.port, database=self.config.database,
                      epoch=self.store.epoch, head_seq=self.store.head_seq())
        return self

    def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING first, then the jobs, then in-flight calls finish, then the store closes."""
        grace = self.config.grace if grace is None else grace
        self.health.enter_graceful_shutdown()
        for job in reversed(self.jobs):
            job.stop()
        if self.server is not None:
            self.server.stop(grace).wait()
        if self._hub_channel is not None:
            self._hub_channel.close()
        self.store.close()
        self.log.info("node.stopped")

    def wait(self) -> None:
        if self.server is not None:
            self.server.wait_for_termination()

    @property
    def address(self) -> str:
        host = self.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def uptime(self) -> float:
        return time.monotonic() - self.started_at

    # -- wiring between jobs ----------------------------------------------------------------

    def attach_hub(self, hub) -> None:
        self._hub = hub

    def hub(self):
        if self._hub is None:
            raise FailedPrecondition("not_a_hub", f"node {self.config.node_id} is a {self.config.role} node; only the national hub pulls")
        return self._hub

    def on_change(self, listener) -> None:
        self._change_listeners.append(listener)

    def changed(self) -> None:
        """Something was written that peers or the courier should hear about."""
        for listener in self._change_listeners:
            listener()

    def lookup_entry(self, resource_code: str):
        """The entry here, or else at the hub (for a request for a resource held elsewhere)."""
        entry = self.store.get_entry(resource_code)
        if entry is not None or self.config.hub is None:
            return entry
        try:
            reply = catalog_pb2_grpc.CatalogStub(self.hub_channel()).GetEntry(
                catalog_pb2.GetEntryRequest(resource_code=resource_code), timeout=5, wait_for_ready=True)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"resource_code: cannot look the entry up at the hub: {exc.code().name}") from None
        return serde.entry_from_proto(reply)

    def hub_channel(self) -> grpc.Channel:
        """The one channel from this node to its hub (entry look-ups and Notify share it)."""
        with self._hub_channel_lock:
            if self._hub_channel is None:
                self._hub_channel = grpc.insecure_channel(self.config.hub.address)
            return self._hub_channel

    def notified(self, peer_id: str, epoch: str = "", head_seq: int = 0) -> bool:
        """A peer's Notify: the hub notes the peer's head and pulls it soon. Other roles ignore it."""
        return self._hub is not None and self._hub.poke(peer_id, epoch, head_seq)
