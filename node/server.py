"""The node: builds every part (store, catalog, sharing, the link to its hub or the hub's
parts), wires them through their constructors, serves every service on one gRPC server, and
runs the role's background jobs."""

from __future__ import annotations

import dataclasses
import os
import time
from concurrent import futures
from datetime import datetime
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node import logs, roles
from node.api import readers, services
from node.api.admin_service import AdminServicer
from node.api.cascade_service import CascadeServicer
from node.api.catalog_service import CatalogServicer
from node.api.corrections_service import CorrectionsServicer
from node.api.exchange_service import ExchangeServicer
from node.api.interceptors import Guard
from node.api.readers import Opening, Readers
from node.api.sharing_service import SharingServicer
from node.api.governance_service import GovernanceServicer
from node.catalog.elements import ElementRegistry
from node.catalog.governance import Governance
from node.catalog.publishing import Catalog
from node.config import Config
from node.exchange.access import SourceAccess
from node.exchange.answers import Answers
from node.exchange.calls import Calls
from node.exchange.mounts import Mounts
from node.exchange.provider import Provider
from node.exchange.relay import Exchange
from node.exchange.usage import CallBook
from node.hub.channels import CHANNEL_OPTIONS, PeerChannels
from node.hub.courier import Courier
from node.hub.crosscheck import CrossCheckJob
from node.hub.puller import Puller
from node.hub.scheduler import PullScheduler
from node.metrics import Metrics
from node.errors import ConfigError
from node.model.calendar import CHINA, CalendarNotCovered
from node.model.rules import Entry
from node.security import audit_key, sealing
from node.security.client import Credentials, open_channel
from node.security.signing import NodeKey, Verifier
from node.security.tls import ServerTls, server_credentials
from node.sharing.corrections import Corrections
from node.sharing.seals import Seal
from node.sharing.lifecycle import Authority
from node.sharing.workflow import Sharing
from node.source.elements import RegistryFetcher
from node.source.uplink import CHANNEL_OPTIONS as UPLINK_CHANNEL_OPTIONS, HubLink, HubNotifier
from node.store import Store
from node.store.compactor import Compactor
from node.store.warming import CacheWarmer
from node.workers import WorkerPool, default_workers

WORKERS = 64


def create_server(config: Config, pool: futures.ThreadPoolExecutor, interceptors=()) -> grpc.Server:
    """A gRPC server with the node's message limits; the caller adds services and starts it."""
    options = [
        ("grpc.max_receive_message_length", config.limits.max_message_bytes),
        ("grpc.max_send_message_length", max(config.limits.max_message_bytes, 64 * 1024 * 1024)),
        ("grpc.so_reuseport", 0),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
    ]
    return grpc.server(pool, options=options, interceptors=interceptors)


class Node:
    """Node(config).start() serves until stop(); `port` is the bound port (listen on :0 to pick one)."""

    def __init__(self, config: Config):
        today = datetime.now(CHINA).date()
        if not config.calendar.covers(today):  # every deadline would fail: say so at start, not at the first request
            raise ConfigError(config.source, "sharing.beyond_calendar", CalendarNotCovered(today).args[0])
        self.config = config
        self.role = roles.get(config.role)
        self.log = logs.logger(config.node_id, config.role)
        self.store = Store(config.database, synchronous=config.synchronous)
        # Where a bulk publish's messages wait for the write: beside the database, on the disk
        # sized for it (the system's temporary directory may be memory).
        self.spool_dir = None if config.database == ":memory:" else os.path.dirname(os.path.abspath(config.database))
        # Processes for the per-entry work of bulk publishes and pulled batches, started on first use.
        self.workers = WorkerPool(default_workers() if config.workers is None else config.workers, self.log)
        # Processes that answer searches and listings once the catalog is big, started on a search.
        self.readers = Readers(Opening(config.database, config.node_id, config.limits.max_page_size),
                               readers.wanted(config.readers, config.database), automatic=config.readers is None,
                               live_entries=lambda: self.store.count_entries()[1], log=self.log)
        departments = {d.code for d in config.departments}
        self.compactor = Compactor(self.store, config.change_log_keep, config.compact_every, self.log)
        self.warmer = CacheWarmer(self.store.read_only_connection, config.database, self.log,
                                  enabled=config.warm_cache)

        # What this node presents when it calls other nodes; a node checks each peer's name.
        self.credentials = Credentials(config.tls.cert, config.tls.key, config.tls.ca) if config.tls else Credentials()
        self.server_tls: ServerTls | None = None

        # A provincial or ministry node's link to its hub (none when the config has no `hub:`).
        self.hub_link = None
        if config.uplink:
            self.hub_link = HubLink(config.uplink, lambda address: open_channel(
                address, self.credentials, server_name=config.hub_id, options=UPLINK_CHANNEL_OPTIONS))
        # Every commit that logged a change or queued a delivery wakes the jobs that act on it.
        self.notifier = HubNotifier(self.hub_link, self.store, config.node_id, self.log)
        self.store.on_commit(self.notifier.changed)

        # The registry of data elements: kept at the hub (the bundled default at its first start),
        # taken from the hub elsewhere and kept in the store for when the hub cannot be reached.
        self.elements = ElementRegistry(self.store)
        if self.role.pulls_peers:
            self.elements.seed_default()
        self.registry_fetcher = RegistryFetcher(self.hub_link, self.elements.version, self.elements.take, self.log)
        self.catalog = Catalog(self.store, config.node_id, departments, max_page_size=config.limits.max_page_size,
                               elements=self.elements.current)
        # A secure node signs the request versions it makes with its node key and takes another
        # node's versions only from a maker that may make them (an insecure node has no key).
        self.node_key = NodeKey(config.tls.cert, config.tls.key) if config.tls else None
        self.verifier = Verifier(config.tls.ca) if config.tls else None
        # The federation's hub: the coordinator of objections between two nodes.
        hub = config.node_id if self.role.pulls_peers else config.hub_id
        self.seal = Seal(config.node_id, self.node_key.sign, self.verifier.verify, hub=hub) if config.tls else None
        self.sharing = Sharing(self.store, config.node_id, departments, config.calendar, lookup=self.lookup_entry,
                               relays=self.role.pulls_peers, seal=self.seal,
                               authority=Authority(config.data_authority, hub, config.lifecycle),
                               default_daily_quota=config.default_daily_quota)
        # Correction notices take the requests' path; their keys are sealed to the owner's node.
        self.corrections = Corrections(
            self.store, config.node_id, departments, dataclasses.replace(config.calendar,
                                                                         answer_days=config.lifecycle.correction_days),
            lookup=self.lookup_entry, clock=self.clock, relays=self.role.pulls_peers, seal=self.seal,
            seal_key=sealing.seal if config.tls else None, open_key=self.node_key.unseal if self.node_key else None)

        # The hub's parts: channels to its peers, the courier that drains the outbox, the pull schedule.
        self.peer_channels: PeerChannels | None = None
        self.courier: Courier | None = None
        self.scheduler: PullScheduler | None = None
        if self.role.pulls_peers:
            self.peer_channels = PeerChannels(config.peers, lambda peer: open_channel(
                peer.address, self.credentials, server_name=peer.id, options=CHANNEL_OPTIONS))
            self.courier = Courier(self.store, self.peer_channels, config.node_id, self.log)
            self.store.on_commit(self.courier.wake)
            puller = Puller(self.store, self.peer_channels, config.sync, self.sharing, self.log, workers=self.workers,
                            ca_pem=self.verifier.ca_pem if self.verifier else None, corrections=self.corrections,
                            elements_version=self.elements.version)
            self.scheduler = PullScheduler(self.store, self.peer_channels, puller, config.sync, self.log)

        # The data exchange: sources mounted here, and FetchData in whichever part this node plays.
        access = SourceAccess(config.resources.allow if config.tls else None, config.resources.credentials,
                              config.node_id, database=config.database, config_file=config.source,
                              key_files=(config.tls.cert, config.tls.key, config.tls.ca) if config.tls else ())
        self.mounts = Mounts(self.store, config.node_id, departments, config.resources.mounts, access)
        self.mounts.check_configured(config.source or "(config)", self.log)
        provider = Provider(self.store, config.node_id, self.mounts, self.clock,
                            self.seal.grant_refusal if self.seal else None)
        self.exchange = Exchange(
            self.store, config.node_id, config.hub_id, provider,
            self.clock, self.log, hub_stub=self.hub_link.stub if self.hub_link else None,
            peer_stub=(lambda peer_id, make: self.peer_channels.stub(self.peer_channels.peer(peer_id), make))
            if self.peer_channels else None)
        # Query and Verify take FetchData's path; their counts are kept per request and hour.
        # The keys asked go on the owner's audit trail as HMACs under the node's own secret.
        secret, made = audit_key.load_or_create(config.database)
        if made and config.database != ":memory:":
            self.log.info("node.audit_key_created", file=audit_key.key_file(config.database))
        book = CallBook(self.store, self.clock, self.log, audit_key.KeyHasher(secret),
                        retention_hours=24 * config.limits.call_retention_days)
        answers = Answers(provider)
        self.calls = Calls(self.exchange, answers, book)
        self.corrections.find_record = answers.has_record  # a correction's key checked in the owner's source

        self.jobs: list[roles.Job] = self.role.jobs(roles.Jobs(
            compactor=self.compactor, notifier=self.notifier, scheduler=self.scheduler, courier=self.courier))
        self.jobs.append(self.registry_fetcher)  # runs at every node with a hub (enabled() says)
        self.jobs.append(self.warmer)  # every role: the first searches after start read from memory
        self.governance = Governance(self.store, self.elements, config.node_id, self.clock)
        # A hub's cross-source checks: they read as its data authority department, like any consumer.
        self.crosscheck: CrossCheckJob | None = None
        if config.crosschecks is not None:
            self.crosscheck = CrossCheckJob(
                config.crosschecks, self.store, self.sharing, self.corrections,
                fetch=lambda request_id, consumer, offset: self.exchange.fetch(request_id, consumer, offset),
                verify=lambda message: self.calls.call("verify", message, timeout=60), log=self.log, clock=self.clock)
            self.jobs.append(self.crosscheck)
        # Prometheus metrics when the config has `metrics:`; the deadline clock is read at each scrape.
        self.metrics = Metrics(config, self.store, self.scheduler, self.clock, self.log, self.elements.version,
                               (lambda: self.governance.by_department().duplicates) if self.role.pulls_peers else None,
                               readers=self.readers.status, calls=book.totals) if config.metrics else None
        self.guard = Guard(config, self.store, WORKERS, self.log,
                           observe=self.metrics.rpc.observe if self.metrics else None)
        self.server: grpc.Server | None = None
        self.health = health.HealthServicer()
        self.port = 0
        self.started_at = time.monotonic()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Node":
        self.pool = futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="rpc")
        self.server = create_server(self.config, self.pool, interceptors=self.guard.interceptors)
        self.guard.start()
        names = services.add_to_server(
            self.server,
            catalog=CatalogServicer(self.catalog, self.workers, max_publish_bytes=self.config.limits.max_publish_bytes,
                                    spool_dir=self.spool_dir, readers=self.readers),
            sharing=SharingServicer(self.sharing, self.config.limits.max_page_size),
            cascade=CascadeServicer(self.store, self.notified, self.registry_fetcher.announced),
            admin=AdminServicer(self.config, self.store, self.scheduler, self.metrics, self.clock, self.uptime,
                                mounts=self.mounts, governance=self.governance,
                                warming=lambda: self.warmer.progress, readers=self.readers.status),
            exchange=ExchangeServicer(self.exchange, self.mounts, self.calls),
            governance=GovernanceServicer(self.elements, self.governance, self.mounts, self.role.pulls_peers,
                                          self.clock),
            corrections=CorrectionsServicer(self.corrections, self.config.limits.max_page_size))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server)
        if self.config.tls:
            tls = self.config.tls
            self.server_tls = server_credentials(tls.cert, tls.key, tls.ca)
            self.port = self.server.add_secure_port(self.config.listen, self.server_tls.credentials)
        else:
            self.port = self.server.add_insecure_port(self.config.listen)
        if self.metrics is not None:
            self.metrics.start()  # before serving: a metrics port in use stops start-up cleanly
        self.server.start()
        for job in self.jobs:
            job.start()
        for name in ("", *names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.log.info("node.started", listen=self.config.listen, port=self.port, database=self.config.database,
                      epoch=self.store.epoch, head_seq=self.store.head_seq(), tls=self.config.tls is not None)
        if self.config.tls is None:
            self.log.warning("node.insecure", detail="plaintext and no authentication (the config says "
                                                     "insecure: true): run it only on a trusted network")
        return self

    def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING first, then the jobs, then in-flight calls finish, then the store closes."""
        grace = self.config.grace if grace is None else grace
        self.health.enter_graceful_shutdown()
        for job in reversed(self.jobs):
            job.stop()
        if self.server is not None:
            self.server.stop(grace).wait()
            self.pool.shutdown(wait=False)
        if self.metrics is not None:
            self.metrics.stop()
        self.guard.stop()
        if self.hub_link is not None:
            self.hub_link.close()
        self.workers.close()
        self.readers.close()
        self.calls.book.flush()  # the counts of the last calls, before the store closes
        self.mounts.kept.close()
        self.store.close()
        self.log.info("node.stopped")

    def reload_tls(self) -> None:
        """Re-reads the certificate, key and CA files (SIGHUP): new connections use them at once;
        calls to other nodes use them from their next channel."""
        if self.server_tls is not None:
            self.server_tls.reload()
            self.node_key.reload()
            self.log.info("node.tls_reloaded", cert=self.config.tls.cert)

    def wait(self) -> None:
        if self.server is not None:
            self.server.wait_for_termination()

    @property
    def address(self) -> str:
        host = self.config.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    @property
    def metrics_address(self) -> str | None:
        """HOST:PORT of the metrics endpoint once started (None when metrics are off)."""
        return self.metrics.address if self.metrics is not None else None

    def clock(self) -> datetime:
        """The node's one clock for deadlines, grants and their validity (the sharing clock, which
        tests may replace)."""
        return self.sharing.clock()

    def uptime(self) -> float:
        return time.monotonic() - self.started_at

    # -- between parts ----------------------------------------------------------------------

    def lookup_entry(self, resource_code: str) -> Entry | None:
        """The entry here, or else at the hub (for a request for a resource held elsewhere)."""
        entry = self.store.get_entry(resource_code)
        if entry is not None or self.hub_link is None:
            return entry
        return self.hub_link.lookup_entry(resource_code)

    def notified(self, peer_id: str, epoch: str = "", head_seq: int = 0) -> bool:
        """A peer's Notify: the hub notes the peer's head and pulls it soon. Other roles ignore it."""
        return self.scheduler is not None and self.scheduler.poke(peer_id, epoch, head_seq)
