"""`cascade node ...`: run a node, probe it, check its config, back up and restore its database."""

from __future__ import annotations

import collections
import pathlib
import signal
import time

import click

from cli.common import config_option, fail, load_config
from cli.init import node_init


@click.group()
def node() -> None:
    """Run a node, check its config, back up and restore its database."""


node.add_command(node_init)


@node.command("run")
@config_option
@click.option("--port-file", type=click.Path(dir_okay=False), default=None,
              help="Write the bound port to this file once serving (for listen addresses ending in :0). "
                   "Default: write none.")
@click.option("--metrics-port-file", type=click.Path(dir_okay=False), default=None,
              help="Write the metrics endpoint's bound port to this file (before --port-file), when the config "
                   "has `metrics:`. Default: write none.")
def node_run(config_path: str, port_file: str | None, metrics_port_file: str | None) -> None:
    """Start a node and serve until SIGTERM or SIGINT (graceful: health NOT_SERVING, in-flight
    calls finish, database closed). SIGHUP re-reads the TLS certificate, key and CA files."""
    from node import logs
    from node.errors import ConfigError
    from node.security.audit_key import AuditKeyError
    from node.server import Node
    from node.workers import tune_gc, tune_threads

    cfg = load_config(config_path)
    logs.configure(cfg.log_level, cfg.log_format)
    try:
        server = Node(cfg)
    except (ConfigError, AuditKeyError) as exc:  # what the operator must fix before it can start
        fail(str(exc))
    server.start()
    tune_gc()  # a node process also unpickles and writes bulk rows by the hundred thousand
    tune_threads()
    if metrics_port_file and server.metrics is not None:
        _write_port(metrics_port_file, server.metrics.port)
    if port_file:
        _write_port(port_file, server.port)
    # The handler only notes the signal: it runs on the main thread between two of its steps, and
    # setting an Event there could wait for the Event's own lock, held by the main thread waiting
    # on it (a Ctrl-C that landed as the wait woke hung the node for good).
    received: collections.deque[int] = collections.deque()

    def on_signal(signum, _frame):
        received.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    while signal.SIGTERM not in received and signal.SIGINT not in received:
        if signal.SIGHUP in received:
            received.remove(signal.SIGHUP)
            try:
                server.reload_tls()
            except Exception as exc:  # keeps serving with the files it has
                server.log.error("node.tls_reload_failed", error=str(exc))
        time.sleep(0.2)
    server.log.info("node.stopping", signal="received")
    server.stop()


def _write_port(path: str, port: int) -> None:
    tmp = pathlib.Path(path + ".tmp")
    tmp.write_text(str(port))
    tmp.replace(path)  # a reader never sees a half-written file


@node.command("probe")
@config_option
@click.option("--timeout", default=3.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds to wait for the node's answer.")
def node_probe(config_path: str, timeout: float) -> None:
    """Ask the node that this config describes, on its own machine, whether it is serving (gRPC
    health) under the node's own certificate, so mutual TLS stays whole; exit 0 if SERVING, 1 if
    not. For a container's liveness and readiness probes (`kubectl` cannot present a client
    certificate to a gRPC probe)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from node.security.client import Credentials, open_channel

    cfg = load_config(config_path)
    host, _, port = cfg.listen.rpartition(":")
    # a node bound to every interface is asked on loopback: the probe runs beside it
    target = f"{'127.0.0.1' if host in ('0.0.0.0', '[::]', '::', '') else host}:{port}"
    credentials = Credentials(cfg.tls.cert, cfg.tls.key, cfg.tls.ca) if cfg.tls else None
    with open_channel(target, credentials, server_name=cfg.node_id if cfg.tls else "") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError as exc:
            click.echo(f"{cfg.node_id} at {target}: {exc.code().name}: {exc.details()}", err=True)
            raise SystemExit(1) from None
    state = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    click.echo(f"{cfg.node_id} at {target}: {state}")
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        raise SystemExit(1)


@node.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def node_check_config(path: str) -> None:
    """Validate the config file PATH and print what it sets up; exit 2 naming the file, key path
    and rule if it is wrong."""
    cfg = load_config(path)
    click.echo(f"ok: {cfg.node_id} ({cfg.role}, region {cfg.region_code}) listens on {cfg.listen}, "
               f"database {cfg.database}, {len(cfg.departments)} departments, {len(cfg.peers)} peers")


@node.command("restore")
@config_option
@click.option("--from", "backup", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A copy of this node's database (taken with `cascade node backup` or a file copy of a stopped node).")
def node_restore(config_path: str, backup: str) -> None:
    """Replace a stopped node's database by a backup and give it a new epoch, so that the hub
    notices and resyncs instead of trusting cursors into a history that was rolled back."""
    from node.store import restore

    cfg = load_config(config_path)
    epoch = restore(backup, cfg.database)
    click.echo(f"restored {cfg.database} from {backup}; new epoch {epoch}")


@node.command("backup")
@config_option
@click.argument("dest", type=click.Path(dir_okay=False))
def node_backup(config_path: str, dest: str) -> None:
    """Write a consistent copy of a node's database to DEST (safe while the node runs)."""
    from node.store import backup

    cfg = load_config(config_path)
    backup(cfg.database, dest)
    click.echo(f"backed up {cfg.database} to {dest}")
