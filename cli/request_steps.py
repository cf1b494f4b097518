"""`cascade requests review | resubmit | extend | object | coordinate`: the lifecycle's steps beyond
filing and answering (docs/sharing.md): the data authority's conformity review, the consumer's
resubmission of a returned request, the owner's one extension, the consumer's objection to a
refusal and the coordinator's decision. Each prints the request as it stands (-q: its id only)."""

from __future__ import annotations

import click

from cli.common import call, client_options, fail, quiet_option
from cli.requests import print_request, requests, sharing_stub
from node.model.request import MODES


def _show(reply, quiet: bool) -> None:
    if quiet:
        click.echo(reply.request_id)
    else:
        print_request(reply)


@requests.command("review")
@click.argument("request_id")
@click.option("--department", required=True, help="The node's data authority (its code): only it reviews.")
@click.option("--pass/--return", "passed", required=True,
              help="Send the request on to its owner, or back to the consumer for correction (one is required).")
@click.option("--reason", default="", help="What to correct; required to return.")
@quiet_option
@client_options
def requests_review(request_id, department, passed, reason, quiet, target):
    """Pass or return the request REQUEST_ID waiting for review (符合性审查), at the consumer's node."""
    from node.proto import sharing_pb2

    _show(call(sharing_stub(target).ReviewRequest, sharing_pb2.ReviewRequestRequest(
        request_id=request_id, department_code=department, decision="pass" if passed else "return",
        reason=reason)), quiet)


@requests.command("resubmit")
@click.argument("request_id")
@click.option("--consumer", required=True, help="The consumer department that filed the request (its code).")
@click.option("--purpose", default="", help="The amended 用途. Default: as it was.")
@click.option("--basis", default="", help="The amended 依据. Default: as it was.")
@click.option("--item", "items", multiple=True,
              help="The data items, amended (repeat for several). Default: as they were.")
@quiet_option
@client_options
def requests_resubmit(request_id, consumer, purpose, basis, items, quiet, target):
    """Amend the returned request REQUEST_ID and file it for review again (the same request, a new version)."""
    from node.proto import sharing_pb2

    _show(call(sharing_stub(target).ResubmitRequest, sharing_pb2.ResubmitRequestRequest(
        request_id=request_id, consumer_code=consumer, purpose=purpose, basis=basis, data_items=list(items))), quiet)


@requests.command("extend")
@click.argument("request_id")
@click.option("--department", required=True, help="The owner department (its code).")
@click.option("--reason", required=True, help="Why the answer needs longer.")
@quiet_option
@client_options
def requests_extend(request_id, department, reason, quiet, target):
    """Extend the answer to the pending request REQUEST_ID, once, by the owner node's sharing.extension_days."""
    from node.proto import sharing_pb2

    _show(call(sharing_stub(target).ExtendRequest, sharing_pb2.ExtendRequestRequest(
        request_id=request_id, department_code=department, reason=reason)), quiet)


@requests.command("object")
@click.argument("request_id")
@click.option("--consumer", required=True, help="The consumer department that filed the request (its code).")
@click.option("--reason", required=True, help="The objection's reasons (异议).")
@quiet_option
@client_options
def requests_object(request_id, consumer, reason, quiet, target):
    """Object to the refusal of REQUEST_ID, within sharing.objection_days working days, at the consumer's node."""
    from node.proto import sharing_pb2

    _show(call(sharing_stub(target).ObjectRequest, sharing_pb2.ObjectRequestRequest(
        request_id=request_id, consumer_code=consumer, reason=reason)), quiet)


@requests.command("coordinate")
@click.argument("request_id")
@click.option("--department", required=True,
              help="The coordinator's data authority (its code): the owner node's when both parties are on it, "
                   "the hub's (national) otherwise.")
@click.option("--share/--uphold", required=True, help="Grant the request, or let the refusal stand (one is required).")
@click.option("--reason", required=True, help="The decision's reason.")
@click.option("--filter", "row_filter", default="", metavar="ITEM=PREFIX",
              help="Share only the rows whose data item ITEM starts with PREFIX. Default: every row.")
@click.option("--valid-until", default="", metavar="YYYY-MM-DD", help="The last day the data may be fetched.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODES),
              help="Share only this mode of call, one the request asks for (repeat for several). Default: as asked.")
@quiet_option
@client_options
def requests_coordinate(request_id, department, share, reason, row_filter, valid_until, modes, quiet, target):
    """Decide the objection to REQUEST_ID (协调): the decision binds the owner's node."""
    from node.proto import sharing_pb2

    column, sep, prefix = row_filter.partition("=")
    if row_filter and not (sep and column and prefix):
        fail(f"--filter {row_filter!r}: must be ITEM=PREFIX")
    _show(call(sharing_stub(target).CoordinateRequest, sharing_pb2.CoordinateRequestRequest(
        request_id=request_id, department_code=department, decision="share" if share else "uphold", reason=reason,
        row_filter=sharing_pb2.RowFilter(column=column, prefix=prefix), valid_until=valid_until,
        modes=list(modes))), quiet)
