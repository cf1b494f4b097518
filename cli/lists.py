"""`cascade entry import` and `cascade entry export`: responsibility lists (共享责任清单) as
departments keep them, .xlsx or .csv with Chinese headers, in and out of a node."""

from __future__ import annotations

import pathlib
import re
import sys

import click

from node.model.rules import PROVIDER_CODE
from cli.common import Target, client_options, fail, rpc_failed
from cli.entries import BULK_CHUNK, catalog_stub, entry, filter_options, make_filter
from node.progress import progress, sending
from cli.tables import print_table

LIST_PAGE = 1000


@entry.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--department", default="",
              help="Import every row for this department (9-digit provider_code); 数据所属部门 may then be "
                   "left empty or hold the department's name. Default: each row names its department.")
@click.option("--by-name", is_flag=True,
              help="Rows may name their department (数据所属部门: 河北省公安厅) instead of giving its code; "
                   "the names are looked up among the departments of --config.")
@click.option("--config", "config_path", default="", type=click.Path(dir_okay=False),
              help="The node's YAML config, of which only `departments` (codes and names) is read: for --by-name, "
                   "for rows that give only a code, and to refuse a department the node does not have before "
                   "sending anything. Default: none.")
@click.option("--dry-run", is_flag=True,
              help="Check every cell and show what the import would create, update or leave unchanged; store "
                   "nothing. Without a reachable node only the file is checked.")
@client_options
def entry_import(path: str, department: str, by_name: bool, config_path: str, dry_run: bool, target: Target) -> None:
    """Import the responsibility list in PATH (.xlsx or .csv) as one bulk load: all or nothing.

    Columns (Chinese headers as departments write them, or the English field names): 数据所属部门,
    共享信息名称, 数据项, 共享类型, 共享条件, 不予共享依据, 更新周期, and optionally 资源代码, 资源摘要,
    共享方式, 开放类型, 关键词, 来源系统, 资源分类. Every bad cell is reported as FILE:ROW:COLUMN: rule
    and nothing is stored unless the whole file is good. A row without 资源代码 updates the
    department's entry of the same name, or is new and gets its code from the node."""
    from node.catalog import lists

    read = _read(path, _departments(department, by_name, config_path))
    if not read.rows:
        fail(f"{path}: no rows below the header")
    try:
        held = _held(target, read)
    except _Unreachable as exc:
        if not dry_run:
            click.echo(f"error: {exc}; nothing stored", err=True)
            sys.exit(1)
        click.echo(f"{path}: {len(read.rows)} rows, every cell good; the node is not reachable ({exc}), so "
                   "what would change is unknown")
        return
    planned, problems = lists.plan(read, held)
    _stop_on(path, problems)
    counts = {o: sum(1 for p in planned if p.outcome == o) for o in ("created", "updated", "unchanged")}
    if dry_run:
        changing = [p for p in planned if p.outcome != "unchanged"]
        if changing:
            print_table(("row", "outcome", "resource_code", "department", "name"),
                        [(str(p.row), p.outcome, p.entry.resource_code or "(node assigns)", p.entry.provider_code,
                          p.entry.name) for p in changing])
        click.echo(f"dry run: would create {counts['created']}, update {counts['updated']}, leave "
                   f"{counts['unchanged']} unchanged; nothing stored")
        return
    reply = _publish(path, target, planned)
    click.echo(f"created {reply.created}, updated {reply.updated}, unchanged {reply.unchanged}")


def _departments(department: str, by_name: bool, config_path: str):
    from node.catalog.lists import Departments

    if department and not PROVIDER_CODE.match(department):
        fail(f"--department {department}: must be a 9-digit department code (6 of its region, 3 of its own)")
    if department and by_name:
        fail("--department and --by-name exclude each other: one department for every row, or each row's by name")
    if by_name and not config_path:
        fail("--by-name needs --config FILE, the node's config, whose departments give the names' codes")
    names = _config_departments(config_path) if config_path else {}
    if department and names and department not in names:
        fail(f"--department {department}: not a department of the node in {config_path}")
    return Departments(only=department, names=names, by_name=by_name)


def _config_departments(path: str) -> dict[str, str]:
    """code -> name of the departments in a node's config. Only that key is read (and checked):
    the rest, such as TLS files that live on the node's machine, need not be at hand."""
    import yaml

    try:
        data = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        fail(f"{path}: cannot be read: {exc}")
    items = data.get("departments") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        fail(f"{path}: departments: must list the node's departments ({{code, name}} each)")
    names = {}
    for i, item in enumerate(items):
        code, name = (item.get("code"), item.get("name")) if isinstance(item, dict) else (None, None)
        if not isinstance(code, str) or not PROVIDER_CODE.match(code):
            fail(f"{path}: departments[{i}].code: must be a 9-digit department code, quoted")
        if not isinstance(name, str) or not name.strip():
            fail(f"{path}: departments[{i}].name: must not be blank")
        names[code] = name.strip()
    return names


def _read(path: str, departments):
    from node.catalog import lists

    try:
        sheet = lists.read_sheet(path)
    except lists.ListFileError as exc:
        fail(str(exc))
    read = lists.read_rows(sheet, departments)
    for header in read.ignored:
        click.echo(f"{path}:{sheet.header_row}:{header}: not a column of the list; read past", err=True)
    _stop_on(path, read.problems)
    return read


def _stop_on(path: str, problems) -> None:
    if not problems:
        return
    for problem in problems:
        click.echo(problem.describe(path), err=True)
    rows = len({p.row for p in problems})
    click.echo(f"error: {len(problems)} bad cell{'s' * (len(problems) != 1)} in {rows} row{'s' * (rows != 1)}; "
               "nothing stored", err=True)
    sys.exit(1)


class _Unreachable(Exception):
    pass


def _held(target: Target, read) -> list:
    """The entries of the file's departments at the node, and the tombstones its codes name."""
    import grpc

    from node import wire
    from node.proto import catalog_pb2

    stub = catalog_stub(target)
    held = {}
    try:
        for provider in sorted({r.entry.provider_code for r in read.rows}):
            for message in _list_all(stub, catalog_pb2.EntryFilter(provider_code=provider)):
                held[message.resource_code] = wire.entry_from_proto(message)
        for code in {r.entry.resource_code for r in read.rows} - set(held) - {""}:
            try:
                held[code] = wire.entry_from_proto(stub.GetEntry(catalog_pb2.GetEntryRequest(resource_code=code),
                                                                  timeout=30))
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
    except grpc.RpcError as exc:
        if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise _Unreachable(f"{exc.code().name}: {exc.details()}") from None
        rpc_failed(exc)
    return list(held.values())


def _list_all(stub, where, on_page=None):
    """Every live entry under the filter, page by page (the node's largest page if it allows it)."""
    import grpc

    from node.proto import catalog_pb2

    size, token = LIST_PAGE, ""
    while True:
        try:
            reply = stub.ListEntries(catalog_pb2.ListEntriesRequest(filter=where, page_size=size, page_token=token),
                                     timeout=60)
        except grpc.RpcError as exc:
            if size and exc.code() == grpc.StatusCode.INVALID_ARGUMENT and exc.details().startswith("page_size"):
                size = 0  # the node's limits.max_page_size is smaller: take its default page
                continue
            raise
        yield from reply.entries
        if on_page:
            on_page(len(reply.entries))
        token = reply.next_page_token
        if not token:
            return


def _publish(path: str, target: Target, planned):
    """One bulk load of every row, all or nothing; a refusal names the row it is about."""
    import grpc

    from node import wire
    from node.proto import catalog_pb2

    messages = [wire.entry_to_proto(p.entry) for p in planned]
    chunks = [catalog_pb2.PublishEntriesRequest(entries=messages[i : i + BULK_CHUNK])
              for i in range(0, len(messages), BULK_CHUNK)]
    with progress("import", len(messages)) as advance:
        try:
            return catalog_stub(target).PublishEntries(sending(chunks, advance), timeout=600)
        except grpc.RpcError as exc:
            details = exc.details() or ""
            at = re.match(r"entries\[(\d+)\]\.(.*)", details)
            where = f"{path}:{planned[int(at.group(1))].row}: " if at else ""
            click.echo(f"error: {exc.code().name}: {where}{at.group(2) if at else details}", err=True)
            click.echo("nothing stored", err=True)
            sys.exit(1)


FORMATS = ("xlsx", "csv")


@entry.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="xlsx or csv (UTF-8 with a BOM, which Excel reads). Default: from PATH's ending; csv for -.")
@filter_options
@client_options
def entry_export(path: str, fmt: str | None, provider, region, category, share_type, update_cycle, origin,
                 target: Target) -> None:
    """Write the node's live entries (under the filters) to PATH as a responsibility list, in the
    columns `cascade entry import` reads, so that the file imports back unchanged; - for CSV on
    stdout."""
    from node import wire
    from node.catalog import lists

    if path == "-":
        fmt = fmt or "csv"
        if fmt != "csv":
            fail("only CSV goes to stdout (-): give a file name for xlsx")
    elif fmt is None:
        try:
            fmt = lists.format_of(path)
        except lists.ListFileError as exc:
            fail(f"{exc}, or give --format")
    import grpc

    where = make_filter(provider, region, category, share_type, update_cycle, origin)
    try:
        with progress("export", None) as advance:
            messages = list(_list_all(catalog_stub(target), where, advance))
    except grpc.RpcError as exc:
        rpc_failed(exc)
    headers, rows = lists.entries_to_rows(wire.entry_from_proto(m) for m in messages)
    try:
        lists.write_sheet(path, headers, rows, fmt, stream=sys.stdout.buffer if path == "-" else None)
    except OSError as exc:
        fail(f"{path}: cannot be written: {exc.strerror or exc}")
    if path != "-":
        click.echo(f"exported {len(rows)} entries to {path}")
