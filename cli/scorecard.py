"""`cascade scorecard`: the evaluation by period (考核) per department or per node, on the
terminal or as a workbook (`scorecard export --format xlsx`)."""

from __future__ import annotations

import click

from cli.common import Target, admin_stub, call, client_options, fail
from cli.tables import print_table


def _field(name: str):
    return lambda r: getattr(r, name)


# One column each: its Chinese and English headers, the value, and whether it is a rate (a share
# from 0 to 1; -1 when there is nothing to divide by). The table and the workbook show the same.
COLUMNS = (
    ("节点", "node", _field("node_id"), False),
    ("部门代码", "department", _field("department_code"), False),
    ("部门名称", "name", _field("department_name"), False),
    ("目录", "entries", _field("entries"), False),
    ("可共享", "shareable", _field("shareable"), False),
    ("已挂接", "mounted", _field("mounted"), False),
    ("挂接率", "mounted %", _field("mounted_rate"), True),
    ("收到需求", "received", _field("requests_received"), False),
    ("已答复", "answered", _field("answered"), False),
    ("按时答复", "in time", _field("answered_in_time"), False),
    ("逾期", "overdue", _field("overdue_now"), False),
    ("按时答复率", "in time %", _field("in_time_rate"), True),
    ("同意", "granted", _field("granted"), False),
    ("拒绝", "rejected", _field("rejected"), False),
    ("需求满足率", "granted %", _field("granted_rate"), True),
    ("提出需求", "asked", _field("requests_made"), False),
    ("审查", "reviewed", _field("reviewed"), False),
    ("按时审查", "reviewed in time", _field("reviewed_in_time"), False),
    ("延期", "extensions", _field("extensions"), False),
    ("异议", "objections", _field("objections"), False),
    ("维持", "upheld", _field("objections_upheld"), False),
    ("改为共享", "shared", _field("objections_shared"), False),
    ("重复收集", "duplicates", _field("duplicate_collections"), False),
    ("数据质量", "quality", _field("quality_score"), False),
    ("收到纠错", "corrections", _field("corrections_received"), False),
    ("已答复纠错", "corrections answered", _field("corrections_answered"), False),
    ("按时答复纠错", "corrections in time", _field("corrections_in_time"), False),
    ("已更正", "corrected", _field("corrections_corrected"), False),
    ("更正率", "corrected %", _field("corrected_rate"), True),
    ("已检查数据源", "sources checked", _field("sources_checked"), False),
    ("按时更新", "updated in time", _field("sources_fresh"), False),
    ("更新及时率", "fresh %", _field("fresh_rate"), True),
    ("提供行数", "rows out", _field("rows_provided"), False),
    ("获得行数", "rows in", _field("rows_received"), False),
    ("提供核验查询", "calls out", _field("calls_provided"), False),
    ("发起核验查询", "calls in", _field("calls_made"), False),
)
# What the terminal shows (all of it is in the workbook).
TERMINAL = ("node", "department", "entries", "mounted %", "received", "answered", "in time %", "overdue",
            "granted %", "asked", "reviewed", "extensions", "objections", "fresh %", "rows out", "rows in",
            "calls out", "calls in")


def _period_options(command):
    command = click.option("--to", "to_date", default="", metavar="DATE",
                           help="The period's last day (YYYY-MM-DD, Beijing), included; default: today.")(command)
    return click.option("--from", "from_date", default="", metavar="DATE",
                        help="The period's first day (YYYY-MM-DD, Beijing): requests filed and exchanges "
                             "started from it; default: since the beginning.")(command)


def _card(target: Target, from_date: str, to_date: str):
    from node.proto import admin_pb2

    reply = call(admin_stub(target).Scorecard, admin_pb2.ScorecardRequest(from_date=from_date, to_date=to_date))
    if reply.unreachable:
        click.echo(f"note: no figures of their own from {', '.join(reply.unreachable)} (not reachable): "
                   "their requests between their own departments and their mounts are missing", err=True)
    return reply


def _period(from_date: str, to_date: str) -> str:
    return f"{from_date or '…'} – {to_date or '…'}"


def _cell(value, is_rate: bool) -> str:
    if is_rate:
        return "-" if value < 0 else f"{value:.0%}"
    return f"{value:,}" if isinstance(value, int) else str(value)


@click.group(invoke_without_command=True)
@_period_options
@click.option("--nodes", "by_node", is_flag=True, help="One row per node instead of one per department.")
@client_options
@click.pass_context
def scorecard(ctx, from_date: str, to_date: str, by_node: bool, target: Target) -> None:
    """The evaluation by period (考核), from the hub: per department (or node) entries and how many
    have a mounted source (挂接率), requests received, answered, answered in time and overdue,
    granted (需求满足率), requests made, the lifecycle's reviews, extensions and objections,
    sources updated as often as promised (更新及时率), rows of data provided and received.
    Requests between two departments of one node count too. docs/evaluation.md says how each
    figure is counted."""
    if ctx.invoked_subcommand is not None:
        return
    reply = _card(target, from_date, to_date)
    shown = [c for c in COLUMNS if c[1] in TERMINAL]
    rows = []
    for r in reply.nodes if by_node else reply.departments:
        cells = [_cell(get(r), is_rate) for _, _, get, is_rate in shown]
        cells[1] = f"{r.department_code} {r.department_name}".strip()
        rows.append(cells)
    print_table([english for _, english, _, _ in shown], rows, footer=f"period: {_period(from_date, to_date)}")


@scorecard.command("export")
@_period_options
@click.option("--format", "form", type=click.Choice(["xlsx"]), default="xlsx", show_default=True,
              help="The file's format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The file to write.")
@client_options
def scorecard_export(from_date: str, to_date: str, form: str, out: str, target: Target) -> None:
    """Write the evaluation for the period to a workbook: a sheet per department (部门) and one per
    node (节点), Chinese headers, counts as numbers and rates as percentages."""
    reply = _card(target, from_date, to_date)
    book = workbook(reply, _period(from_date, to_date))
    try:
        book.save(out)
    except OSError as exc:
        fail(f"{out}: cannot be written: {exc.strerror or exc}")
    click.echo(f"wrote {out}: {len(reply.departments)} departments, {len(reply.nodes)} nodes, "
               f"period {_period(from_date, to_date)}")


def workbook(reply, period: str):
    """The scorecard as a workbook: a title row naming the period, then the header, then a row each."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    for index, (title, rows) in enumerate((("部门", reply.departments), ("节点", reply.nodes))):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append([f"共享考核 {period}"])
        sheet.append([chinese for chinese, _, _, _ in COLUMNS])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for r, row in enumerate(rows, start=3):
            for c, (_, _, get, is_rate) in enumerate(COLUMNS, start=1):
                value, cell = get(row), sheet.cell(r, c)
                if isinstance(value, str):
                    # a name that starts with = stays text, never a formula
                    cell.value, cell.data_type = ILLEGAL_CHARACTERS_RE.sub("", value), "s"
                elif is_rate:
                    cell.value = None if value < 0 else round(value, 4)
                    cell.number_format = "0.0%"
                else:
                    cell.value = value
        sheet.freeze_panes = "A3"
    return book
