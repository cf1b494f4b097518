"""`cascade entry ...`: publish, read, withdraw, list and search catalog entries at one node."""

from __future__ import annotations

import pathlib
import sys

import click
import yaml

from node.catalog import entry_files
from node.model.rules import CATEGORIES, SHARE_TYPES, UPDATE_CYCLES
from cli.common import Target, call, channel, client_options, echo_next_page, fail, page_options, quiet_option
from node.progress import progress, sending
from cli.tables import print_table

BULK_CHUNK = 500  # entries per message of a bulk load: well under the 64 MiB message limit


@click.group()
def entry() -> None:
    """Publish, read, list, search and withdraw catalog entries."""


def catalog_stub(target: Target):
    from node.proto import catalog_pb2_grpc

    return catalog_pb2_grpc.CatalogStub(channel(target))


def read_entries(path: str) -> list[dict]:
    """Entries from a YAML or JSON file: one entry, a list, or a mapping with `entries`."""
    try:
        text = sys.stdin.read() if path == "-" else pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot be read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        fail(f"{path}: cannot be read: not UTF-8 text ({exc.reason} at byte {exc.start})")
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
@quiet_option
@client_options
def entry_publish(path: str, quiet: bool, target: Target) -> None:
    """Publish the entries in PATH (YAML or JSON; - for stdin). Several go as one bulk load:
    all or nothing. Fields as `entry get` prints them (configs/examples/entry.yaml); enumerated values
    also as a responsibility list spells them (有条件, 每日, 库表). Every bad field is reported
    before anything is sent. With -q print only the resource_code (of a bulk load: each one the file gives)."""
    from google.protobuf import json_format

    from node.proto import catalog_pb2

    try:
        mappings = entry_files.read_entries(read_entries(path))
    except entry_files.EntryFileError as exc:
        for problem in exc.problems[:-1]:
            click.echo(f"error: {path}: {problem}", err=True)
        fail(f"{path}: {exc.problems[-1]}")
    messages = [json_format.ParseDict(data, catalog_pb2.Entry()) for data in mappings]
    stub = catalog_stub(target)
    if len(messages) == 1:
        reply = call(stub.PublishEntry, catalog_pb2.PublishEntryRequest(entry=messages[0]))
        e = reply.entry
        click.echo(e.resource_code if quiet else f"{reply.outcome} {e.resource_code} version {e.version}")
        for suggestion in reply.suggestions:  # on stderr: -q's output stays one code
            click.echo(f"suggestion: data item {suggestion.item} is the element {suggestion.element} "
                       f"(name it: element: {suggestion.element})", err=True)
    else:
        chunks = [catalog_pb2.PublishEntriesRequest(entries=messages[i : i + BULK_CHUNK])
                  for i in range(0, len(messages), BULK_CHUNK)]
        with progress("publish", len(messages), show=len(messages) > BULK_CHUNK) as advance:
            reply = call(stub.PublishEntries, sending(chunks, advance), timeout=600)
        if quiet:  # the reply counts; the codes a bulk load assigns are not sent back
            for m in messages:
                if m.resource_code.partition("/")[2]:
                    click.echo(m.resource_code)
        else:
            click.echo(f"created {reply.created}, updated {reply.updated}, unchanged {reply.unchanged}")


@entry.command("get")
@click.argument("resource_code")
@client_options
def entry_get(resource_code: str, target: Target) -> None:
    """Print the entry RESOURCE_CODE (provider_code/sequence, e.g. 130100005/000123) as YAML."""
    from node import wire
    from node.proto import catalog_pb2

    reply = call(catalog_stub(target).GetEntry, catalog_pb2.GetEntryRequest(resource_code=resource_code))
    click.echo(yaml.safe_dump(wire.entry_to_mapping(wire.entry_from_proto(reply)), allow_unicode=True, sort_keys=False))


@entry.command("withdraw")
@click.argument("resource_code")
@client_options
def entry_withdraw(resource_code: str, target: Target) -> None:
    """Withdraw the entry RESOURCE_CODE (it stays as a tombstone so the hub learns of it)."""
    from node.proto import catalog_pb2

    reply = call(catalog_stub(target).WithdrawEntry, catalog_pb2.WithdrawEntryRequest(resource_code=resource_code))
    click.echo(f"withdrawn {reply.resource_code} version {reply.version}")


FILTERS = (  # (option, help); shown in this order, every one empty by default (no filter)
    ("provider", "Only entries of this provider department (9-digit provider_code)."),
    ("region", "Only entries inside this region (6-digit GB/T 2260 region_code): xx0000 covers the "
               "province, xxyy00 the prefecture."),
    ("category", f"Only entries of this category: {', '.join(CATEGORIES)}."),
    ("share-type", f"Only entries of this share_type: {', '.join(SHARE_TYPES)}."),
    ("update-cycle", f"Only entries updated on this cycle: {', '.join(UPDATE_CYCLES)}."),
    ("origin", "Only entries published at this node (its node id, e.g. hebei); useful at the hub."),
)


def filter_options(fn):
    for name, help_text in reversed(FILTERS):
        fn = click.option(f"--{name}", default="", help=help_text)(fn)
    return fn


def make_filter(provider, region, category, share_type, update_cycle, origin):
    from node.proto import catalog_pb2

    return catalog_pb2.EntryFilter(provider_code=provider, region_code=region, category=category,
                                   share_type=share_type, update_cycle=update_cycle, origin=origin)


def print_entries(entries, total: int | None = None, total_is_lower_bound: bool = False) -> None:
    """The entries as a table, then how many were shown of how many ("of 10,000+" when the node
    stopped counting at its cap)."""
    rows = [(e.resource_code, e.name, e.provider_name, e.share_type, e.update_cycle, e.origin) for e in entries]
    of = "" if total is None else f" of {total:,}{'+' if total_is_lower_bound else ''}"
    print_table(("resource_code", "name", "provider", "share_type", "update", "origin"), rows,
                footer=f"({len(rows)} shown{of})")


@entry.command("list")
@filter_options
@page_options("entries", 50)
@client_options
def entry_list(provider, region, category, share_type, update_cycle, origin, page_size, page_token, target):
    """List live entries in resource_code order, as a table."""
    from node.proto import catalog_pb2

    request = catalog_pb2.ListEntriesRequest(
        filter=make_filter(provider, region, category, share_type, update_cycle, origin),
        page_size=page_size, page_token=page_token)
    reply = call(catalog_stub(target).ListEntries, request)
    print_entries(reply.entries)
    echo_next_page(reply.next_page_token)


@entry.command("search")
@click.argument("query")
@filter_options
@page_options("entries", 20)
@client_options
def entry_search(query, provider, region, category, share_type, update_cycle, origin, page_size, page_token, target):
    """Full-text search for QUERY (Chinese substrings of any length, Latin words by prefix), best
    first, as a table."""
    from node.proto import catalog_pb2

    request = catalog_pb2.SearchEntriesRequest(
        query=query, filter=make_filter(provider, region, category, share_type, update_cycle, origin),
        page_size=page_size, page_token=page_token)
    reply = call(catalog_stub(target).SearchEntries, request)
    print_entries(reply.entries, reply.total, reply.total_is_lower_bound)
    echo_next_page(reply.next_page_token)
