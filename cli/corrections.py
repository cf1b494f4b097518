"""`cascade corrections ...`: file a correction on one record of a resource received (校核纠错),
follow it, and answer it as its owner."""

from __future__ import annotations

import click

from cli.common import Target, call, channel, client_options, echo_next_page, fail, page_options, quiet_option
from node.model.correction import ANSWERS, KINDS, STATES


@click.group()
def corrections() -> None:
    """File, follow and answer corrections on received data (校核纠错)."""


def corrections_stub(target: Target):
    from node.proto import corrections_pb2_grpc

    return corrections_pb2_grpc.CorrectionsStub(channel(target))


def print_correction(c, history: bool = False) -> None:
    flag = "  OVERDUE" if c.overdue else ""
    click.echo(f"{c.correction_id}  {c.state}{flag}  v{c.version}  {c.filer_code}@{c.filer_node} -> "
               f"{c.resource_code} ({c.owner_code}@{c.owner_node})  {c.kind}: {', '.join(c.data_items)}"
               f"{'  due ' + c.deadline if c.deadline else ''}{'  ' + c.reason if c.reason else ''}")
    if history:
        key = ", ".join(f"{name}={value}" for name, value in c.key.items()) or \
            f"{', '.join(c.key_items)} (sealed to {c.owner_node}: shown only to {c.owner_code} there)"
        click.echo(f"    key: {key}")
        click.echo(f"    evidence: {c.evidence}")
        for e in c.history:
            click.echo(f"    v{e.version} {e.at.ToDatetime():%Y-%m-%d %H:%M:%S}Z {e.state:<10} by {e.actor}  {e.note}")


def _key(pairs: tuple[str, ...]) -> dict[str, str]:
    key = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not (sep and name and value):
            fail(f"--record {pair!r}: must be ITEM=VALUE")
        key[name] = value
    return key


@corrections.command("file")
@click.option("--filer", required=True, help="The department filing it (its code): one holding a grant for the resource.")
@click.option("--resource", "resource_code", required=True, help="The resource_code whose record is wrong.")
@click.option("--item", "items", multiple=True, required=True,
              help="A data item the record has wrong, by name (repeat for several; at least one).")
@click.option("--record", "record", multiple=True, required=True, metavar="ITEM=VALUE",
              help="The record's key, e.g. 公民身份号码=110101199003070011 (repeat for a key of several items). "
                   "Sealed to the owner's node: only it reads the value.")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What is wrong with the items.")
@click.option("--evidence", required=True, help="Why the record is wrong: what the filer has seen.")
@quiet_option
@client_options
def corrections_file(filer, resource_code, items, record, kind, evidence, quiet, target):
    """File a correction at the filer's own node and print it (with -q only its id)."""
    from node.proto import corrections_pb2

    reply = call(corrections_stub(target).FileCorrection, corrections_pb2.FileCorrectionRequest(
        filer_code=filer, resource_code=resource_code, data_items=list(items), key=_key(record), kind=kind,
        evidence=evidence))
    if quiet:
        click.echo(reply.correction_id)
    else:
        print_correction(reply)


@corrections.command("answer")
@click.argument("correction_id")
@click.option("--department", required=True, help="The owner department answering (its code).")
@click.option("--outcome", type=click.Choice(ANSWERS), required=True,
              help="corrected: the record is fixed; no_fault: it was right; rejected: it cannot be acted on.")
@click.option("--reason", default="", help="Why; required for no_fault and rejected.")
@client_options
def corrections_answer(correction_id, department, outcome, reason, target):
    """Answer the open correction CORRECTION_ID, at the owner's node."""
    from node.proto import corrections_pb2

    print_correction(call(corrections_stub(target).AnswerCorrection, corrections_pb2.AnswerCorrectionRequest(
        correction_id=correction_id, department_code=department, outcome=outcome, reason=reason)))


@corrections.command("show")
@click.argument("correction_id")
@click.option("--department", required=True,
              help="The department reading (its code): the filer's, or the owner's (who sees the key at its node).")
@client_options
def corrections_show(correction_id, department, target):
    """Show the correction CORRECTION_ID and its history as this node holds it."""
    from node.proto import corrections_pb2

    print_correction(call(corrections_stub(target).GetCorrection, corrections_pb2.GetCorrectionRequest(
        correction_id=correction_id, department_code=department)), True)


@corrections.command("list")
@click.option("--filer", default="", help="Only corrections this department filed (its code).")
@click.option("--owner", default="", help="Only corrections to this owner department (its code).")
@click.option("--state", default="", help=f"Only corrections in this state: {', '.join(STATES)}. Default: any.")
@click.option("--overdue", is_flag=True, help="Only open corrections past their deadline (--state is then ignored).")
@page_options("corrections", 50)
@client_options
def corrections_list(filer, owner, state, overdue, page_size, page_token, target):
    """List corrections held at a node (at the hub: every one that crossed nodes, without keys)."""
    from node.proto import corrections_pb2

    reply = call(corrections_stub(target).ListCorrections, corrections_pb2.ListCorrectionsRequest(
        filer_code=filer, owner_code=owner, state=state, overdue_only=overdue, page_size=page_size,
        page_token=page_token))
    for c in reply.corrections:
        print_correction(c)
    click.echo(f"({len(reply.corrections)} shown)")
    echo_next_page(reply.next_page_token)
