"""`cascade data ...`: mount a source on an entry at its own node (资源挂接), and fetch the data
of a granted request through the hub (共享交换)."""

from __future__ import annotations

import pathlib
import time

import click

from cli.common import Target, call, channel, client_options, fail, quiet_option, rpc_failed

KINDS_HELP = "sqlite (share_method database), csv or xlsx (file), http (api)"


@click.group()
def data() -> None:
    """Mount data sources on entries, and fetch the data of granted requests."""


def exchange_stub(target: Target):
    from node.proto import exchange_pb2_grpc

    return exchange_pb2_grpc.ExchangeStub(channel(target))


def print_mount(m) -> None:
    mapped = ", ".join(f"{item}={column}" for item, column in sorted(m.columns.items()))
    click.echo(f"{m.resource_code}  {m.kind}  {m.location}{'  table ' + m.table if m.table else ''}"
               f"{'  columns ' + mapped if mapped else ''}{'  credential ' + m.credential if m.credential else ''}"
               f"  ({m.origin})")
    click.echo(f"    source columns: {', '.join(m.source_columns)}")


@data.command("mount")
@click.option("--resource", "resource_code", required=True, help="The resource_code of one of your own entries.")
@click.option("--kind", required=True, type=click.Choice(["sqlite", "csv", "xlsx", "http"]),
              help=f"The kind of source: {KINDS_HELP}; it must fit the entry's share_method.")
@click.option("--location", required=True, help="The source: a file on the node's machine (a relative path is made "
                                                "absolute from the current directory) or an http(s) URL, under a "
                                                "directory or URL prefix the node config sets aside for your "
                                                "department (resources.allow).")
@click.option("--table", default="", help="sqlite: the table or view; xlsx: the sheet (default: the first).")
@click.option("--column", "columns", multiple=True, metavar="ITEM=COLUMN",
              help="A data item held in a source column of another name (repeat for several).")
@click.option("--credential", default="", help="http: the name of one of your department's blocks of the node "
                                               "config's resources.credentials, sent only under its URL prefix "
                                               "(the secret never leaves the node).")
@quiet_option
@client_options
def data_mount(resource_code, kind, location, table, columns, credential, quiet, target):
    """Mount a source on an entry, at the entry's own node: its columns must cover the entry's data items.
    With -q print only the resource_code."""
    from node.proto import exchange_pb2

    mapping = {}
    for pair in columns:
        item, sep, column = pair.partition("=")
        if not sep or not item or not column:
            fail(f"--column {pair!r}: must be ITEM=COLUMN")
        mapping[item] = column
    if kind != "http" and not pathlib.Path(location).is_absolute():
        location = str(pathlib.Path(location).resolve())
    mount = call(exchange_stub(target).MountResource, exchange_pb2.MountResourceRequest(
        resource_code=resource_code, kind=kind, location=location, table=table, columns=mapping,
        credential=credential))
    if quiet:
        click.echo(mount.resource_code)
    else:
        print_mount(mount)


@data.command("show")
@click.argument("resource_code")
@client_options
def data_show(resource_code, target):
    """Show what is mounted on RESOURCE_CODE at its node, and the columns its source has now."""
    from node.proto import exchange_pb2

    print_mount(call(exchange_stub(target).GetMount, exchange_pb2.GetMountRequest(resource_code=resource_code)))


@data.command("exchanges")
@click.option("--request", "request_id", default="", help="Only the exchanges of this request. Default: all.")
@click.option("--limit", default=50, show_default=True, help="The newest N.")
@client_options
def data_exchanges(request_id, limit, target):
    """The exchanges the node at --target took part in (as consumer, hub or owner), newest last:
    request, part, offset, rows, bytes, outcome (an operator's call)."""
    from cli.tables import print_table
    from node.proto import exchange_pb2

    reply = call(exchange_stub(target).ListExchanges, exchange_pb2.ListExchangesRequest(request_id=request_id,
                                                                                         limit=limit))
    print_table(("started", "request", "part", "consumer", "owner", "offset", "rows", "bytes", "outcome", "sha256"),
                [(f"{r.started.ToDatetime():%Y-%m-%d %H:%M:%S}Z", r.request_id, r.role, r.consumer_code, r.owner_code,
                  f"{r.offset:,}", f"{r.rows:,}", f"{r.bytes:,}",
                  r.outcome + (f": {r.detail[:60]}" if r.detail and r.outcome != "ok" else ""), r.sha256[:16])
                 for r in reply.exchanges])


@data.command("fetch")
@click.argument("request_id")
@click.option("--consumer", required=True, help="Your department's code: the request's consumer (your node is --target).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The file to write: FILE.csv (a header line, then one line per row) or FILE.jsonl (one JSON "
                   "object per row).")
@click.option("--resume", is_flag=True, help="Keep the rows already in --out and fetch only the rest (after a "
                                             "fetch that broke off). Without it an existing file is an error.")
@click.option("--retry-for", default=120.0, show_default=True,
              help="Seconds to keep retrying, with backoff, while a node on the path is unreachable (UNAVAILABLE).")
@client_options
def data_fetch(request_id, consumer, out, resume, retry_for, target):
    """Fetch the data of the granted request REQUEST_ID through the hub into a file, as the rows
    arrive; check the row count and sha256 at the end; print rows, bytes and the hash."""
    import grpc

    from node.exchange.client import FetchError, fetch_to_file

    from node.progress import Progress

    shown = Progress(request_id, unit="rows")
    started = time.monotonic()
    try:
        result = fetch_to_file(channel(target), request_id, consumer, out, resume=resume, retry_for=retry_for,
                               progress=lambda rows, expected: shown.update(rows, expected if expected > 0 else None))
    except FetchError as exc:
        shown.close(finished=False)
        fail(str(exc))
    except grpc.RpcError as exc:
        shown.close(finished=False)
        rpc_failed(exc)
    shown.close()
    seconds = time.monotonic() - started
    resumed = [offset for offset in result.resumed_from if offset] if len(result.resumed_from) > 1 or resume else []
    click.echo(f"{out}: {result.rows:,} rows ({result.received:,} received now, {result.bytes:,} bytes, "
               f"{seconds:.1f}s{', resumed at ' + ', '.join(map(str, resumed)) if resumed else ''})")
    click.echo(f"sha256 {result.sha256} (verified against the owner's node)")
