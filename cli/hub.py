"""`cascade status`, `cascade sync now` and `cascade verify`: watch and drive the hub's pulls."""

from __future__ import annotations

import sys

import click

from cli.common import Target, admin_stub, call, client_options
from node.progress import progress
from cli.tables import ago, print_table

PEER_HEADER = ("peer", "state", "cursor", "behind", "last ok", "entries hub/peer", "conflicts", "backoff", "outbox",
               "last error")


def print_peers(peers) -> None:
    rows = []
    for p in peers:
        at_peer = "?" if p.entries_at_peer < 0 else str(p.entries_at_peer)
        rows.append((p.node_id, p.state + (f" (pulling {p.pulling_seconds:.0f}s)" if p.pulling else ""),
                     f"{p.cursor.epoch[:8] or '-'}:{p.cursor.seq}", str(p.behind),
                     ago(p.seconds_since_success), f"{p.entries_at_hub}/{at_peer}",
                     f"{p.conflicts}+{p.refused}" if p.refused else str(p.conflicts),
                     f"{p.backoff_seconds:.1f}s" if p.backoff_seconds else "-",
                     str(p.deliveries_waiting) if p.deliveries_waiting else "-",
                     (p.last_error or p.delivery_error)[:60]))
    print_table(PEER_HEADER, rows)


@click.command("status")
@client_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the raw status message as JSON instead of the summary and peer table.")
def status(target: Target, as_json: bool) -> None:
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
    if reply.cache.state not in ("", "off"):
        click.echo(cache_line(reply.cache))
    if reply.readers.wanted:
        click.echo(readers_line(reply.readers))
    if reply.requests_overdue or reply.requests_escalated:
        click.echo(f"sharing requests: {reply.requests_overdue} overdue, {reply.requests_escalated} escalated (督办); "
                   f"`cascade requests list --overdue` and `--inbox escalated --authority CODE` name them")
    if reply.refused_versions:
        click.echo(f"refused request versions: {reply.refused_versions} (made or signed by a node that may not "
                   f"make them; `cascade audit tail` names each)")
    if reply.peers:
        print_peers(reply.peers)
    for c in reply.conflicts[:20]:
        click.echo(f"conflict: {c.peer} sent {c.resource_code}: {c.reason}")


def cache_line(cache) -> str:
    """The cache warmer's state (admin_pb2.CacheWarming) as a line of `cascade status`."""
    read = f"{cache.tables_done}/{cache.tables} tables, {cache.mib_read:,} MiB in {cache.seconds:.0f}s"
    if cache.state == "warming":
        return f"cache: warming ({read}); until it is warm, searches may wait on the disk"
    if cache.state == "warm":
        return f"cache: warm ({read})"
    return f"cache: warming stopped at {read} (the log's store.warmed says why)"


def readers_line(readers) -> str:
    """The reader processes (admin_pb2.Readers) as a line of `cascade status`."""
    if readers.waiting_for_size:
        return (f"readers: {readers.wanted} to start at the first search once the catalog holds "
                f"{readers.min_entries:,} entries (store.readers: auto)")
    if not readers.serving:
        return f"readers: {readers.wanted} wanted, none serving yet (they start at the first search)"
    return f"readers: {readers.serving} of {readers.wanted} serving, {readers.answered:,} searches and listings answered"


@click.group()
def sync() -> None:
    """Drive the hub's pulls."""


@sync.command("now")
@click.argument("peer", required=False, default="")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until the pull has finished (up to 600 s), or only start it.")
@client_options
def sync_now(peer: str, wait: bool, target: Target) -> None:
    """Pull PEER (a node id; default: every peer) now, then show the peer table."""
    from node.proto import admin_pb2

    with progress(f"sync now {peer or 'every peer'}", show=wait):  # one blocking call: a spinner, the time
        reply = call(admin_stub(target).SyncNow, admin_pb2.SyncNowRequest(peer=peer, wait=wait), timeout=600)
    if wait and not reply.finished:
        click.echo(f"still pulling after 600 s: {', '.join(reply.started)} (see the table)")
    else:
        click.echo(f"pulled: {', '.join(reply.started)}" if wait else f"started: {', '.join(reply.started)}")
    print_peers([p for p in reply.peers if not peer or p.node_id == peer])
    if wait and not reply.finished:
        sys.exit(1)


@click.command("verify")
@click.argument("peer", required=False, default="")
@client_options
def verify(peer: str, target: Target) -> None:
    """Compare PEER's (default: every peer's) digest of its entries with the hub's copy; exit 1 if
    any differs or cannot be reached."""
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
