"""The `cascade` command: run a node, check a config, and talk to nodes as an operator."""

from __future__ import annotations

import pathlib
import signal
import sys
import threading

import click
import grpc
import yaml

from node import config as config_mod
from node import logs
from node.api import serde

DEFAULT_TARGET = "127.0.0.1:50051"


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)])


def call(fn, request, timeout: float = 30.0):
    """Runs one RPC; a gRPC error becomes a one-line message and exit status 1."""
    try:
        return fn(request, timeout=timeout)
    except grpc.RpcError as exc:
        click.echo(f"error: {exc.code().name}: {exc.details()}", err=True)
        sys.exit(1)


target_option = click.option("--target", envvar="CASCADE_TARGET", default=DEFAULT_TARGET, show_default=True,
                             help="HOST:PORT of the node to call (env CASCADE_TARGET).")


@click.group()
def main() -> None:
    """catalog cascade: the 1+32+N government data catalog node and its tools."""


# -- node ------------------------------------------------------------------------------------

@main.group()
def node() -> None:
    """Run a node or check its config."""


def load_config(path: str) -> config_mod.Config:
    try:
        return config_mod.load(path)
    except config_mod.ConfigError as exc:
        fail(str(exc))


@node.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The node's YAML config.")
@click.option("--port-file", type=click.Path(dir_okay=False), default=None,
              help="Write the bound port here once serving (for listen addresses ending in :0).")
def node_run(config_path: str, port_file: str | None) -> None:
    """Start a node and serve until SIGTERM or SIGINT (graceful: health NOT_SERVING, in-flight
    calls finish, database closed)."""
    from node.server import Node

    cfg = load_config(config_path)
    logs.configure(cfg.log_level, cfg.log_format)
    server = Node(cfg)
    server.start()
    if port_file:
        tmp = pathlib.Path(port_file + ".tmp")
        tmp.write_text(str(server.port))
        tmp.replace(port_file)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(1.0):
        pass
    server.log.info("node.stopping", signal="received")
    server.stop()


@node.command("check-config")
@click.argument("path", type=click.Path(dir_okay=False))
def node_check_config(path: str) -> None:
    """Validate a config file and print what it sets up."""
    cfg = load_config(path)
    click.echo(f"ok: {cfg.node_id} ({cfg.role}, region {cfg.region_code}) listens on {cfg.listen}, "
               f"database {cfg.database}, {len(cfg.departments)} departments, {len(cfg.peers)} peers")


@node.command("restore")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
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
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.argument("dest", type=click.Path(dir_okay=False))
def node_backup(config_path: str, dest: str) -> None:
    """Write a consistent copy of a node's database (safe while the node runs)."""
    from node.store import backup

    cfg = load_config(config_path)
    backup(cfg.database, dest)
    click.echo(f"backed up {cfg.database} to {dest}")


# -- entries ---------------------------------------------------------------------------------

@main.group()
def entry() -> None:
    """Publish, read, list, search and withdraw catalog entries."""


def catalog_stub(target: str):
    from node.proto import catalog_pb2_grpc

    return catalog_pb2_grpc.CatalogStub(channel(target))


def read_entries(path: str) -> list[dict]:
    """Entries from a YAML or JSON file: one entry, a list, or a mapping with `entries`."""
    text = sys.stdin.read() if path == "-" else pathlib.Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(f"{path}: not valid YAML or JSON: {exc}")
    if isinstance(data, dict) and "entries" in data:
        data = data["entries"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        fail(f"{path}: must hold an entry, a list of entries, or a mapping with key `entries`")
    return data


@entry.command("publish")
@click.argument("path", type=click.Path(allow_dash=True))
@target_option
def entry_publish(path: str, target: str) -> None:
    """Publish the entries in PATH (YAML or JSON; - for stdin). Several go as one bulk load:
    all or nothing."""
    from google.protobuf import json_format

    from node.proto import catalog_pb2

    messages = []
    for i, data in enumerate(read_entries(path)):
        try:
            messages.append(json_format.ParseDict(data, catalog_pb2.Entry()))
        except json_format.ParseError as exc:
            fail(f"{path}: entry {i}: {exc}")
    stub = catalog_stub(target)
    if len(messages) == 1:
        reply = call(stub.PublishEntry, catalog_pb2.PublishEntryRequest(entry=messages[0]))
        e = reply.entry
        click.echo(f"{reply.outcome} {e.resource_code} version {e.version}")
    else:
        chunks = [catalog_pb2.PublishEntriesRequest(entries=messages[i : i + 500]) for i in range(0, len(messages), 500)]
        reply = call(stub.PublishEntries, iter(chunks), timeout=600)
        click.echo(f"created {reply.created}, updated {reply.updated}, unchanged {reply.unchanged}")


@entry.command("get")
@click.argument("resource_code")
@target_option
def entry_get(resource_code: str, target: str) -> None:
    """Print one entry as YAML."""
    from node.proto import catalog_pb2

    reply = call(catalog_stub(target).GetEntry, catalog_pb2.GetEntryRequest(resource_code=resource_code))
    click.echo(yaml.safe_dump(serde.entry_to_mapping(serde.entry_from_proto(reply)), allow_unicode=True, sort_keys=False))


@entry.command("withdraw")
@click.argument("resource_code")
@target_option
def entry_withdraw(resource_code: str, target: str) -> None:
    """Withdraw an entry (it stays as a tombstone so the hub learns of it)."""
    from node.proto import catalog_pb2

    reply = call(catalog_stub(target).WithdrawEntry, catalog_pb2.WithdrawEntryRequest(resource_code=resource_code))
    click.echo(f"withdrawn {reply.resource_code} version {reply.version}")


def filter_options(fn):
    for name in ("origin", "update-cycle", "share-type", "category", "region", "provider"):
        fn = click.option(f"--{name}", default="", help=f"Only entries with this {name.replace('-', '_')}.")(fn)
    return fn


def make_filter(provider, region, category, share_type, update_cycle, origin):
    from node.proto import catalog_pb2

    return catalog_pb2.EntryFilter(provider_code=provider, region_code=region, category=category,
                                   share_type=share_type, update_cycle=update_cycle, origin=origin)


def print_table(entries, total: int | None = None) -> None:
    rows = [(e.resource_code, e.name, e.provider_name, e.share_type, e.update_cycle, e.origin) for e in entries]
    header = ("resource_code", "name", "provider", "share_type", "update", "origin")
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(header)]
    for row in [header, *rows]:
        click.echo("  ".join(_pad(cell, w) for cell, w in zip(row, widths)).rstrip())
    click.echo(f"({len(rows)} shown{'' if total is None else f' of {total}'})")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


@entry.command("list")
@filter_options
@click.option("--page-size", default=50, show_default=True)
@click.option("--page-token", default="")
@target_option
def entry_list(provider, region, category, share_type, update_cycle, origin, page_size, page_token, target):
    """List live entries in code order."""
    from node.proto import catalog_pb2

    request = catalog_pb2.ListEntriesRequest(
        filter=make_filter(provider, region, category, share_type, update_cycle, origin),
        page_size=page_size, page_token=page_token)
    reply = call(catalog_stub(target).ListEntries, request)
    print_table(reply.entries)
    if reply.next_page_token:
        click.echo(f"next page: --page-token {reply.next_page_token}")


@entry.command("search")
@click.argument("query")
@filter_options
@click.option("--page-size", default=20, show_default=True)
@click.option("--page-token", default="")
@target_option
def entry_search(query, provider, region, category, share_type, update_cycle, origin, page_size, page_token, target):
    """Full-text search (Chinese substrings of any length, Latin words by prefix), best first."""
    from node.proto import catalog_pb2

    request = catalog_pb2.SearchEntriesRequest(
        query=query, filter=make_filter(provider, region, category, share_type, update_cycle, origin),
        page_size=page_size, page_token=page_token)
    reply = call(catalog_stub(target).SearchEntries, request)
    print_table(reply.entries, reply.total)
    if reply.next_page_token:
        click.echo(f"next page: --page-token {reply.next_page_token}")


# -- hub operations --------------------------------------------------------------------------

def admin_stub(target: str):
    from node.proto import admin_pb2_grpc

    return admin_pb2_grpc.AdminStub(channel(target))


def _ago(seconds: float) -> str:
    return "never" if seconds < 0 else f"{seconds:.1f}s"


def print_peers(peers) -> None:
    header = ("peer", "state", "cursor", "behind", "last ok", "entries hub/peer", "conflicts", "backoff", "outbox",
              "last error")
    rows = []
    for p in peers:
        at_peer = "?" if p.entries_at_peer < 0 else str(p.entries_at_peer)
        rows.append((p.node_id, p.state + (f" (pulling {p.pulling_seconds:.0f}s)" if p.pulling else ""),
                     f"{p.cursor.epoch[:8] or '-'}:{p.cursor.seq}", str(p.behind),
                     _ago(p.seconds_since_success), f"{p.entries_at_hub}/{at_peer}",
                     f"{p.conflicts}+{p.refused}" if p.refused else str(p.conflicts),
                     f"{p.backoff_seconds:.1f}s" if p.backoff_seconds else "-",
                     str(p.deliveries_waiting) if p.deliveries_waiting else "-",
                     (p.last_error or p.delivery_error)[:60]))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@main.command("status")
@target_option
@click.option("--json", "as_json", is_flag=True, help="Print the raw status as JSON.")
def status(target: str, as_json: bool) -> None:
    """Show a node's head and, at the hub, each peer's cursor, lag, last error and backoff."""
    from google.protobuf import json_format

    from node.proto import admin_pb2

    reply = call(admin_stub(target).Status, admin_pb2.StatusRequest())
    if as_json:
        click.echo(json_format.MessageToJson(reply, preserving_proto_field_name=True, ensure_ascii=False))
        return
    click.echo(f"{reply.node_id} ({reply.role}, region {reply.region_code}) epoch {reply.head.epoch} "
               f"seq {reply.head.seq}, {reply.live_entries} live entries ({reply.entries} with tombstones), "
               f"up {reply.uptime_seconds:.0f}s")
    if reply.peers:
        print_peers(reply.peers)
    for c in reply.conflicts[:20]:
        click.echo(f"conflict: {c.peer} sent {c.resource_code}: {c.reason}")


@main.group()
def sync() -> None:
    """Drive the hub's pulls."""


@sync.command("now")
@click.argument("peer", required=False, default="")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the pull has finished.")
@target_option
def sync_now(peer: str, wait: bool, target: str) -> None:
    """Pull PEER (or every peer) now."""
    from node.proto import admin_pb2

    reply = call(admin_stub(target).SyncNow, admin_pb2.SyncNowRequest(peer=peer, wait=wait), timeout=600)
    click.echo(f"pulled: {', '.join(reply.started)}" if wait else f"started: {', '.join(reply.started)}")
    print_peers([p for p in reply.peers if not peer or p.node_id == peer])


@main.command("verify")
@click.argument("peer", required=False, default="")
@target_option
def verify(peer: str, target: str) -> None:
    """Compare each peer's digest of its entries with the hub's copy; exit 1 if any differs."""
    from node.proto import admin_pb2

    reply = call(admin_stub(target).Verify, admin_pb2.VerifyRequest(peer=peer), timeout=600)
    differ = 0
    for v in reply.peers:
        if v.error:
            click.echo(f"{v.peer}: unreachable: {v.error}")
            differ += 1
        elif v.equal:
            click.echo(f"{v.peer}: equal ({v.at_peer.count} entries, {v.at_peer.hash[:12]})")
        else:
            click.echo(f"{v.peer}: DIFFERS: peer {v.at_peer.count} entries {v.at_peer.hash[:12]}, "
                       f"hub {v.at_hub.count} entries {v.at_hub.hash[:12]}")
            differ += 1
    click.echo(f"{len(reply.peers) - differ} of {len(reply.peers)} peers equal")
    sys.exit(1 if differ else 0)


# -- sharing requests ---------------------------------------------------------------------------

@main.group()
def requests() -> None:
    """File, follow and answer sharing requests (供需对接)."""


def sharing_stub(target: str):
    from node.proto import sharing_pb2_grpc

    return sharing_pb2_grpc.SharingStub(channel(target))


def print_request(r, history: bool = False) -> None:
    flag = "  OVERDUE" if r.overdue else ""
    click.echo(f"{r.request_id}  {r.state}{flag}  v{r.version}  {r.consumer_code}@{r.consumer_node} -> "
               f"{r.resource_code} ({r.owner_code}@{r.owner_node or '?'})"
               f"{'  due ' + r.deadline if r.deadline else ''}{'  ' + r.reason if r.reason else ''}")
    if history:
        for e in r.history:
            click.echo(f"    v{e.version} {e.at.ToDatetime():%Y-%m-%d %H:%M:%S}Z {e.state:<10} by {e.actor}  {e.note}")


@requests.command("submit")
@click.option("--consumer", required=True, help="The asking department's code.")
@click.option("--resource", "resource_code", required=True, help="The resource_code asked for.")
@click.option("--purpose", required=True, help="用途: what the data is for.")
@click.option("--basis", required=True, help="依据: the legal or business basis.")
@click.option("--item", "items", multiple=True, required=True, help="A data item wanted (repeat).")
@target_option
def requests_submit(consumer, resource_code, purpose, basis, items, target):
    """File a request at the consumer's own node."""
    from node.proto import sharing_pb2

    reply = call(sharing_stub(target).SubmitRequest, sharing_pb2.SubmitRequestRequest(
        consumer_code=consumer, resource_code=resource_code, purpose=purpose, basis=basis, data_items=list(items)))
    print_request(reply)


@requests.command("get")
@click.argument("request_id")
@target_option
def requests_get(request_id, target):
    """Show a request and its history as this node holds it."""
    from node.proto import sharing_pb2

    print_request(call(sharing_stub(target).GetRequest, sharing_pb2.GetRequestRequest(request_id=request_id)), True)


@requests.command("list")
@click.option("--consumer", default="", help="Requests of this consumer department.")
@click.option("--owner", default="", help="Requests to this owner department.")
@click.option("--state", default="", help="submitted, pending, granted, rejected or withdrawn.")
@click.option("--overdue", is_flag=True, help="Only pending requests past their deadline.")
@click.option("--page-size", default=50, show_default=True)
@click.option("--page-token", default="")
@target_option
def requests_list(consumer, owner, state, overdue, page_size, page_token, target):
    """List requests held at a node (at the hub: every request that crossed nodes)."""
    from node.proto import sharing_pb2

    reply = call(sharing_stub(target).ListRequests, sharing_pb2.ListRequestsRequest(
        consumer_code=consumer, owner_code=owner, state=state, overdue_only=overdue, page_size=page_size,
        page_token=page_token))
    for r in reply.requests:
        print_request(r)
    click.echo(f"({len(reply.requests)} shown)")
    if reply.next_page_token:
        click.echo(f"next page: --page-token {reply.next_page_token}")


@requests.command("decide")
@click.argument("request_id")
@click.option("--department", required=True, help="The owner department deciding.")
@click.option("--approve/--reject", required=True)
@click.option("--reason", default="", help="Required to reject.")
@target_option
def requests_decide(request_id, department, approve, reason, target):
    """Approve or reject a pending request, at the owner's node."""
    from node.proto import sharing_pb2

    print_request(call(sharing_stub(target).DecideRequest, sharing_pb2.DecideRequestRequest(
        request_id=request_id, department_code=department, approve=approve, reason=reason)))


@requests.command("withdraw")
@click.argument("request_id")
@click.option("--consumer", required=True)
@click.option("--reason", default="")
@target_option
def requests_withdraw(request_id, consumer, reason, target):
    """Withdraw an open request, at the consumer's node."""
    from node.proto import sharing_pb2

    print_request(call(sharing_stub(target).WithdrawRequest, sharing_pb2.WithdrawRequestRequest(
        request_id=request_id, consumer_code=consumer, reason=reason)))


@main.command("scorecard")
@click.option("--nodes", "by_node", is_flag=True, help="One row per node instead of per department.")
@target_option
def scorecard(by_node: bool, target: str) -> None:
    """The sharing scorecard at the hub: entries, share-type mix, requests received, answered in time,
    median time to answer, overdue now."""
    from node.proto import admin_pb2

    reply = call(admin_stub(target).Scorecard, admin_pb2.ScorecardRequest())
    rows = reply.nodes if by_node else reply.departments
    header = ("node", "department", "entries", "uncond/cond/not", "received", "answered", "in time", "median h",
              "overdue", "asked")
    table = []
    for r in rows:
        median = "-" if r.median_hours_to_answer < 0 else f"{r.median_hours_to_answer:.1f}"
        in_time = f"{r.answered_in_time / r.answered:.0%}" if r.answered else "-"
        table.append((r.node_id, f"{r.department_code} {r.department_name}".strip(), str(r.entries),
                      f"{r.unconditional}/{r.conditional}/{r.not_shared}", str(r.requests_received), str(r.answered),
                      in_time, median, str(r.overdue_now), str(r.requests_made)))
    widths = [max([_width(h)] + [_width(t[i]) for t in table]) for i, h in enumerate(header)]
    for line in [header, *table]:
        click.echo("  ".join(_pad(cell, w) for cell, w in zip(line, widths)).rstrip())


def _add_harness() -> None:
    """The compose harness ships in the same distribution; its commands hang under `cascade harness`."""
    from harness.cli import harness

    main.add_command(harness)


_add_harness()

