"""`cascade requests ...`: file, follow and answer sharing requests (供需对接)."""

from __future__ import annotations

import click

from cli.common import Target, call, channel, client_options, echo_next_page, page_options, quiet_option
from node.model.request import MODES, STATES


@click.group()
def requests() -> None:
    """File, follow and answer sharing requests (供需对接)."""


def sharing_stub(target: Target):
    from node.proto import sharing_pb2_grpc

    return sharing_pb2_grpc.SharingStub(channel(target))


def print_request(r, history: bool = False) -> None:
    flag = ("  OVERDUE" if r.overdue else "") + ("  ESCALATED" if r.escalated else "")
    click.echo(f"{r.request_id}  {r.state}{flag}  v{r.version}  {r.consumer_code}@{r.consumer_node} -> "
               f"{r.resource_code} ({r.owner_code}@{r.owner_node or '?'})"
               f"{'  due ' + r.deadline if r.deadline else ''}{'  ' + r.reason if r.reason else ''}")
    if r.row_filter.column or r.valid_until:
        scope = [f"rows whose {r.row_filter.column} starts with {r.row_filter.prefix}"] if r.row_filter.column else []
        scope += [f"valid until {r.valid_until}"] if r.valid_until else []
        click.echo(f"    granted: {'; '.join(scope)}")
    if list(r.modes) not in ([], list(MODES)) or r.daily_quota or r.rate:
        limits = [f"{r.daily_quota} calls a day"] if r.daily_quota else []
        limits += [f"{r.rate} calls a second"] if r.rate else []
        click.echo(f"    modes: {', '.join(r.modes) or ', '.join(MODES)}{'; ' if limits else ''}{'; '.join(limits)}")
    if r.granted_items:
        click.echo(f"    items granted: {', '.join(r.granted_items)} (of {', '.join(r.data_items)} asked for)")
    if r.plain:
        click.echo(f"    plain: {', '.join(r.plain)} (other personal items masked)")
    if history:
        for e in r.history:
            number = f"{e.version}·{e.maker}" if e.maker else str(e.version)
            click.echo(f"    v{number} {e.at.ToDatetime():%Y-%m-%d %H:%M:%S}Z {e.state:<10} by {e.actor}  {e.note}")


@requests.command("submit")
@click.option("--consumer", required=True, help="The asking department's code (a department of the node at --target).")
@click.option("--resource", "resource_code", required=True, help="The resource_code asked for.")
@click.option("--purpose", required=True, help="用途: what the data is for.")
@click.option("--basis", required=True, help="依据: the legal or business basis.")
@click.option("--item", "items", multiple=True, required=True,
              help="A data item of the entry wanted, by name (repeat for several; at least one).")
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODES),
              help="A mode of call asked for (repeat for several). Default: all of fetch, query, verify.")
@click.option("--wait", "wait_seconds", default=0.0, show_default=True,
              help="Seconds to wait for the owner's node to answer (granted, rejected or pending) before "
                   "printing the request; 0 prints it at once, as filed.")
@quiet_option
@client_options
def requests_submit(consumer, resource_code, purpose, basis, items, modes, wait_seconds, quiet, target):
    """File a request at the consumer's own node and print it (its id comes first; with -q only its id)."""
    import time

    from node.proto import sharing_pb2

    stub = sharing_stub(target)
    reply = call(stub.SubmitRequest, sharing_pb2.SubmitRequestRequest(
        consumer_code=consumer, resource_code=resource_code, purpose=purpose, basis=basis, data_items=list(items),
        modes=list(modes)))
    deadline = time.monotonic() + wait_seconds
    while reply.state == "submitted" and time.monotonic() < deadline:
        time.sleep(0.2)
        reply = call(stub.GetRequest, sharing_pb2.GetRequestRequest(request_id=reply.request_id))
    if quiet:
        click.echo(reply.request_id)
    else:
        print_request(reply)


@requests.command("get")
@click.argument("request_id")
@client_options
def requests_get(request_id, target):
    """Show the request REQUEST_ID and its history as this node holds it."""
    from node.proto import sharing_pb2

    print_request(call(sharing_stub(target).GetRequest, sharing_pb2.GetRequestRequest(request_id=request_id)), True)


@requests.command("list")
@click.option("--consumer", default="", help="Only requests of this consumer department (its code). Default: any.")
@click.option("--owner", default="", help="Only requests to this owner department (its code). Default: any.")
@click.option("--state", default="", help=f"Only requests in this state: {', '.join(STATES)}. Default: any.")
@click.option("--overdue", is_flag=True, help="Only requests waiting past the deadline of their step (a review, the "
                                             "owner's answer, a coordination); --state is then ignored.")
@click.option("--inbox", default="", type=click.Choice(["", "review", "coordinate", "escalated"]),
              help="The data authority's inbox (with --authority): requests waiting for its review, objections it "
                   "coordinates, answers and coordinations escalated to it (督办).")
@click.option("--authority", default="", help="The node's data authority (its code), for --inbox.")
@page_options("requests", 50)
@client_options
def requests_list(consumer, owner, state, overdue, inbox, authority, page_size, page_token, target):
    """List requests held at a node (at the hub: every request that crossed nodes)."""
    from node.proto import sharing_pb2

    reply = call(sharing_stub(target).ListRequests, sharing_pb2.ListRequestsRequest(
        consumer_code=consumer, owner_code=owner, state=state, overdue_only=overdue, page_size=page_size,
        page_token=page_token, authority_code=authority, inbox=inbox))
    for r in reply.requests:
        print_request(r)
    click.echo(f"({len(reply.requests)} shown)")
    echo_next_page(reply.next_page_token)


@requests.command("decide")
@click.argument("request_id")
@click.option("--department", required=True, help="The owner department deciding (its code).")
@click.option("--approve/--reject", required=True, help="Grant the request, or reject it (one is required).")
@click.option("--reason", default="", help="Why; required to reject.")
@click.option("--filter", "row_filter", default="", metavar="ITEM=PREFIX",
              help="Approve only the rows whose data item ITEM (one the request asks for) starts with PREFIX, "
                   "e.g. 公民身份号码=1311. Default: every row.")
@click.option("--valid-until", default="", metavar="YYYY-MM-DD",
              help="The last day the data may be fetched. Default: until the entry is withdrawn.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(MODES),
              help="Grant only this mode of call, one the request asks for (repeat for several). Default: as asked.")
@click.option("--daily-quota", default=0, show_default=True, type=click.IntRange(min=0),
              help="Calls a Beijing day the grant allows (a batch counts its keys); 0 = no limit.")
@click.option("--rate", default=0, show_default=True, type=click.IntRange(min=0),
              help="Calls a second the grant allows; 0 = no limit.")
@click.option("--plain", "plain", multiple=True, metavar="ITEM",
              help="Let this personal item (one the request asks for) out plain under this grant (repeat for "
                   "several). Default: every item the mount marks personal leaves masked.")
@click.option("--grant-item", "items", multiple=True, metavar="ITEM",
              help="Grant only this data item, one the request asks for (repeat for several). Default: every "
                   "item asked for.")
@client_options
def requests_decide(request_id, department, approve, reason, row_filter, valid_until, modes, daily_quota, rate,
                    plain, items, target):
    """Approve or reject the pending request REQUEST_ID, at the owner's node."""
    from cli.common import fail
    from node.proto import sharing_pb2

    column, sep, prefix = row_filter.partition("=")
    if row_filter and not (sep and column and prefix):
        fail(f"--filter {row_filter!r}: must be ITEM=PREFIX")
    print_request(call(sharing_stub(target).DecideRequest, sharing_pb2.DecideRequestRequest(
        request_id=request_id, department_code=department, approve=approve, reason=reason,
        row_filter=sharing_pb2.RowFilter(column=column, prefix=prefix), valid_until=valid_until,
        modes=list(modes), daily_quota=daily_quota, rate=rate, plain=list(plain), items=list(items))))


@requests.command("withdraw")
@click.argument("request_id")
@click.option("--consumer", required=True, help="The consumer department that filed the request (its code).")
@click.option("--reason", default="", help="Why it is withdrawn (optional).")
@client_options
def requests_withdraw(request_id, consumer, reason, target):
    """Withdraw the open request REQUEST_ID, at the consumer's node."""
    from node.proto import sharing_pb2

    print_request(call(sharing_stub(target).WithdrawRequest, sharing_pb2.WithdrawRequestRequest(
        request_id=request_id, consumer_code=consumer, reason=reason)))
