"""`cascade element ...`: the registry of data elements (数据元) the hub keeps and every node
holds a copy of; `cascade governance duplicates`: the entries that re-collect an element whose
source is another department (不得重复收集); `cascade data check`: the format check of an
entry's mounted source, which becomes part of the entry."""

from __future__ import annotations

import click

from cli.common import Target, call, channel, client_options, fail
from cli.data import data
from cli.tables import print_table


def governance_stub(target: Target):
    from node.proto import governance_pb2_grpc

    return governance_pb2_grpc.GovernanceStub(channel(target))


def _sources(element) -> str:
    return "; ".join(f"{s.scope}:{s.department_code}{' ' + s.department_name if s.department_name else ''}"
                     for s in element.sources) or "-"


@click.group()
def element() -> None:
    """The registry of data elements (数据元): kept at the hub, taken by every node from it."""


@element.command("list")
@client_options
def element_list(target):
    """The elements the node holds (at any node: its copy of the hub's registry)."""
    from node.proto import governance_pb2

    registry = call(governance_stub(target).GetElements, governance_pb2.GetElementsRequest())
    print_table(("element", "type", "rule", "synonyms", "sources"),
                [(e.name, e.type, e.rule or "-", "、".join(e.synonyms) or "-", _sources(e)) for e in registry.elements],
                footer=f"registry version {registry.version}, {len(registry.elements)} elements")


@element.command("show")
@click.argument("name")
@client_options
def element_show(name, target):
    """One element: its type, format rule, synonyms and sources."""
    from node.proto import governance_pb2

    registry = call(governance_stub(target).GetElements, governance_pb2.GetElementsRequest())
    found = [e for e in registry.elements if e.name == name or name in e.synonyms]
    if not found:
        fail(f"no element is named {name!r} (registry version {registry.version}); `cascade element list` lists them")
    e = found[0]
    click.echo(f"{e.name}  ({e.type}{', rule ' + e.rule if e.rule else ''})  registry version {registry.version}")
    if e.description:
        click.echo(f"    {e.description}")
    click.echo(f"    synonyms: {'、'.join(e.synonyms) or '-'}")
    for s in e.sources:
        scope = "nation-wide" if s.scope == "100000" else s.scope
        click.echo(f"    source: {scope}  {s.department_code}  {s.department_name}")


@element.command("add")
@click.option("--name", required=True, help="The element's name, e.g. 公民身份号码.")
@click.option("--type", "type_", default="string", show_default=True,
              help="The data item type a column of it has: string, integer, decimal, date, datetime, boolean, binary.")
@click.option("--rule", default="", help="Its format rule: id_number, credit_code, date, region_code, phone, text "
                                         "(none if not given).")
@click.option("--synonym", "synonyms", multiple=True, help="Another name a data item may give it (repeat).")
@click.option("--description", default="", help="What it is.")
@click.option("--source", "sources", multiple=True, metavar="SCOPE:DEPARTMENT[:NAME]",
              help="Its authoritative source: SCOPE 100000 (nation-wide), a province's code, or each_province "
                   "with a 3-digit department number; DEPARTMENT the department code (repeat).")
@client_options
def element_add(name, type_, rule, synonyms, description, sources, target):
    """Add an element to the hub's registry, or replace the one of that name (operator, at the hub).
    Every node takes the new version from the hub."""
    from node.proto import governance_pb2

    message = governance_pb2.DataElement(name=name, type=type_, rule=rule, synonyms=synonyms, description=description)
    for text in sources:
        parts = text.split(":", 2)
        if len(parts) < 2:
            fail(f"--source {text!r}: must be SCOPE:DEPARTMENT[:NAME]")
        message.sources.add(scope=parts[0], department_code=parts[1], department_name=parts[2] if len(parts) > 2 else "")
    registry = call(governance_stub(target).PutElement, governance_pb2.PutElementRequest(element=message))
    click.echo(f"element {name} in registry version {registry.version}")


@click.group()
def governance() -> None:
    """Data governance at the hub: duplicate collections (不得重复收集)."""


@governance.command("duplicates")
@click.option("--provider", "provider_code", default="", help="Only this department's entries.")
@client_options
def governance_duplicates(provider_code, target):
    """Entries that collect an element themselves while another department is its source for their
    region, and name no `derived_from`; at the hub, the nation's."""
    from node.proto import governance_pb2

    reply = call(governance_stub(target).ListDuplicates, governance_pb2.DuplicatesRequest(provider_code=provider_code),
                 timeout=120.0)
    departments = {d.provider_code for d in reply.duplicates}
    print_table(("resource_code", "department", "item", "element", "source"),
                [(d.resource_code, f"{d.provider_code} {d.provider_name}", d.item, d.element,
                  f"{d.source_code} {d.source_name}".strip()) for d in reply.duplicates],
                footer=f"{len(reply.duplicates)} duplicate collection{'' if len(reply.duplicates) == 1 else 's'} by "
                       f"{len(departments)} department{'' if len(departments) == 1 else 's'} "
                       f"(registry version {reply.registry_version})")


@data.command("check")
@click.argument("resource_code")
@client_options
def data_check(resource_code, target):
    """Run the format rules of the entry's elements over its mounted source, at the entry's own node:
    per item the share of rows that break the rule and of empty values. The summary (score, time
    checked) becomes part of the entry and travels to the hub."""
    from node.proto import governance_pb2

    reply = call(governance_stub(target).CheckData, governance_pb2.CheckDataRequest(resource_code=resource_code),
                 timeout=600.0)
    q = reply.entry.quality
    rows = q.rows
    print_table(("item", "element", "rule", "failed", "empty"),
                [(i.item, i.element, i.rule, f"{i.failed} ({i.failed / rows:.2%})" if rows else "0",
                  f"{i.empty} ({i.empty / rows:.2%})" if rows else "0") for i in q.items],
                footer=f"{reply.entry.resource_code} version {reply.entry.version}: {rows} rows, "
                       f"score {q.score:.2f}, checked {q.checked_at.ToJsonString()}")
