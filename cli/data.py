"""`cascade data ...`: mount a source on an entry at its own node (资源挂接), fetch the data of a
granted request through the hub (共享交换), look one record up by its key (query) or check
claimed values against it (verify, 核验; a file of claims in, a file of verdicts out), and the
records of both."""

from __future__ import annotations

import functools
import pathlib
import sys
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
    if m.keys:
        click.echo(f"    keys: {' + '.join(m.keys)}")
    if m.personal:
        click.echo(f"    personal: {', '.join(f'{item} ({rule})' for item, rule in sorted(m.personal.items()))}")


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
@click.option("--key-item", "keys", multiple=True, metavar="ITEM",
              help="A key item (查询键): a data item a consumer may look a record up by (repeat for a composite "
                   "key). An sqlite source must have an index on its columns, unless --index create.")
@click.option("--index", type=click.Choice(["create"]), default=None,
              help="create: the node may create the index on the key columns in the sqlite source.")
@click.option("--personal", multiple=True, metavar="ITEM=RULE",
              help="A personal item and how it is masked before it leaves the node: RULE is id_number (first 6 "
                   "and last 4), name (first character), phone (first 3 and last 4 digits), address (the "
                   "district) or full (repeat for several).")
@quiet_option
@client_options
def data_mount(resource_code, kind, location, table, columns, credential, keys, index, personal, quiet, target):
    """Mount a source on an entry, at the entry's own node: its columns must cover the entry's data items.
    With -q print only the resource_code."""
    from node.proto import exchange_pb2

    mapping = pairs(columns, "--column", "ITEM=COLUMN")
    if kind != "http" and not pathlib.Path(location).is_absolute():
        location = str(pathlib.Path(location).resolve())
    mount = call(exchange_stub(target).MountResource, exchange_pb2.MountResourceRequest(
        resource_code=resource_code, kind=kind, location=location, table=table, columns=mapping,
        credential=credential, keys=keys, index=index or "", personal=pairs(personal, "--personal", "ITEM=RULE")))
    if quiet:
        click.echo(mount.resource_code)
    else:
        print_mount(mount)


def pairs(given, option: str, shape: str) -> dict[str, str]:
    """ITEM=VALUE options as a mapping (a value may hold '=')."""
    found = {}
    for pair in given:
        item, sep, value = pair.partition("=")
        if not sep or not item:
            fail(f"{option} {pair!r}: must be {shape}")
        found[item.strip()] = value
    return found


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
    the fetches (request, part, offset, rows, bytes, outcome), then the query and verify calls
    per request, part, mode and hour, as `data calls` shows them (an operator's call)."""
    from cli.tables import print_table
    from node.proto import exchange_pb2

    stub = exchange_stub(target)
    reply = call(stub.ListExchanges, exchange_pb2.ListExchangesRequest(request_id=request_id, limit=limit))
    click.echo("fetches (FetchData):")
    print_table(("started", "request", "part", "consumer", "owner", "offset", "rows", "bytes", "outcome", "sha256"),
                [(f"{r.started.ToDatetime():%Y-%m-%d %H:%M:%S}Z", r.request_id, r.role, r.consumer_code, r.owner_code,
                  f"{r.offset:,}", f"{r.rows:,}", f"{r.bytes:,}",
                  r.outcome + (f": {r.detail[:60]}" if r.detail and r.outcome != "ok" else ""), r.sha256[:16])
                 for r in reply.exchanges])
    click.echo("\nquery and verify calls, per hour (UTC):")
    _print_calls(call(stub.ListCalls, exchange_pb2.ListCallsRequest(request_id=request_id, limit=limit)))


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


@data.command("query")
@click.argument("request_id")
@click.option("--consumer", required=True, help="Your department's code: the request's consumer (your node is --target).")
@click.option("--by", "by", multiple=True, required=True, metavar="ITEM=VALUE",
              help="The record's key: each key item of the entry's mount with its value (repeat for a composite "
                   "key). (--key is the TLS key file, as in every command that calls a node.)")
@click.option("--call-id", default="", metavar="ID",
              help="The call's id (any unique text; default: a new one). The owner's node counts a call against "
                   "the grant's quota once per id: give the same id to run the command again without being charged "
                   "twice (with --in, each batch's id is ID-N).")
@click.option("--retry-for", default=60.0, show_default=True,
              help="Seconds to keep retrying, with backoff and the same call id, while the answer does not come back "
                   "(a node on the path down: UNAVAILABLE; or the call's time ran out).")
@client_options
def data_query(request_id, consumer, by, call_id, retry_for, target):
    """Look one record up by its key under the granted request REQUEST_ID, through the hub: the
    granted items of its rows (personal items masked). Exit status 0 with rows, 3 with none (no
    such record, or none inside the grant: the two are not told apart)."""
    from cli.tables import print_table
    from node.exchange.client import keyed_call
    from node.proto import exchange_pb2

    reply = call(functools.partial(keyed_call, exchange_stub(target).Query, retry_for=retry_for),
                 exchange_pb2.QueryRequest(request_id=request_id, consumer_code=consumer,
                                           key=pairs(by, "--by", "ITEM=VALUE"), call_id=call_id))
    if not reply.rows:
        click.echo("not found")
        sys.exit(3)
    print_table(tuple(reply.columns), [tuple(r.values) for r in reply.rows])


@data.command("verify")
@click.argument("request_id")
@click.option("--consumer", required=True, help="Your department's code: the request's consumer (your node is --target).")
@click.option("--by", "by", multiple=True, required=True, metavar="ITEM=VALUE",
              help="The record's key, ITEM=VALUE (repeat for a composite key); with --in, the names of the key "
                   "columns of the file (ITEM).")
@click.option("--claim", "claims", multiple=True, metavar="ITEM=VALUE",
              help="A value claimed for a granted item (repeat for several).")
@click.option("--in", "source", type=click.Path(exists=True, dir_okay=False),
              help="A CSV file of claims (UTF-8, a header line): the --by columns and one column per claimed "
                   "item; an empty cell claims nothing.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="With --in: the CSV file of verdicts, one line per line of --in: the key, then match, mismatch "
                   "or not_found per claimed item, then overall.")
@click.option("--batch", "batch_size", default=500, show_default=True, help="With --in: claims per call.")
@click.option("--call-id", default="", metavar="ID",
              help="The call's id (any unique text; default: a new one). The owner's node counts a call against "
                   "the grant's quota once per id: give the same id to run the command again without being charged "
                   "twice (with --in, each batch's id is ID-N).")
@click.option("--retry-for", default=60.0, show_default=True,
              help="Seconds to keep retrying, with backoff and the same call id, while the answer does not come back "
                   "(a node on the path down: UNAVAILABLE; or the call's time ran out).")
@client_options
def data_verify(request_id, consumer, by, claims, source, out, batch_size, call_id, retry_for, target):
    """Check claimed values against the owner's record under the granted request REQUEST_ID: the
    owner's node answers match, mismatch or not_found per claim, never a value. One record
    (--by, --claim; exit status 0 on match, 3 otherwise) or a file (--in, --out, with progress)."""
    from node.exchange.client import keyed_call
    from node.proto import exchange_pb2

    stub = exchange_stub(target)
    if source is None:
        if not claims:
            fail("--claim: claim at least one value (or give a file with --in)")
        reply = call(functools.partial(keyed_call, stub.Verify, retry_for=retry_for), exchange_pb2.VerifyClaimsRequest(
            request_id=request_id, consumer_code=consumer, key=pairs(by, "--by", "ITEM=VALUE"),
            claims=pairs(claims, "--claim", "ITEM=VALUE"), call_id=call_id))
        for item, verdict in reply.results.items():
            click.echo(f"{item}: {verdict}")
        click.echo(f"overall: {reply.overall}")
        sys.exit(0 if reply.overall == "match" else 3)
    if out is None or claims:
        fail("--in takes --out (and no --claim: the claims are the file's columns)")
    if any("=" in item for item in by):
        fail("--by: with --in, name the key columns of the file (ITEM), without values")
    from cli.verify_file import verify_file

    try:
        done = verify_file(stub, request_id, consumer, list(by), source, out, batch_size, call_id=call_id,
                           retry_for=retry_for)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"{out}: {done.lines:,} lines, {done.matched:,} match, {done.mismatched:,} mismatch, "
               f"{done.not_found:,} not found{f', {done.skipped:,} without a claim' if done.skipped else ''} "
               f"({done.seconds:.1f}s)")


@data.command("calls")
@click.option("--request", "request_id", default="", help="Only the calls of this request. Default: all.")
@click.option("--limit", default=50, show_default=True, help="The newest N rows.")
@client_options
def data_calls(request_id, limit, target):
    """The query and verify calls the node at --target took part in, per request, part, mode and
    hour: calls, keys asked, hits, not found, mismatches, refusals, mean time (an operator's call)."""
    from node.proto import exchange_pb2

    _print_calls(call(exchange_stub(target).ListCalls, exchange_pb2.ListCallsRequest(request_id=request_id,
                                                                                      limit=limit)))


def _print_calls(reply) -> None:
    from cli.tables import print_table

    print_table(("hour", "request", "part", "mode", "calls", "keys", "hits", "not found", "mismatches", "refusals",
                 "ms/call"),
                [(c.hour, c.request_id, c.role, c.mode, f"{c.calls:,}", f"{c.keys:,}", f"{c.hits:,}",
                  f"{c.not_found:,}", f"{c.mismatches:,}", f"{c.refusals:,}", f"{c.millis / max(1, c.calls):.1f}")
                 for c in reply.counts])
