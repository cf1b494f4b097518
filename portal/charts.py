"""Charts for the scorecard as inline SVG drawn on the server: no script, no library, readable
by a screen reader through their title and the table beside them."""

from __future__ import annotations

from markupsafe import Markup, escape

SHARE_COLOURS = (("unconditional", "无条件共享", "#2e7d32"), ("conditional", "有条件共享", "#f9a825"),
                 ("not_shared", "不予共享", "#c62828"))
ROW = 26
LABEL_W = 120
BAR_W = 360
VALUE_W = 90


def _frame(title: str, rows: int, body: list[str], legend: list[tuple[str, str]]) -> Markup:
    height = rows * ROW + 36
    width = LABEL_W + BAR_W + VALUE_W
    keys = []
    x = LABEL_W
    for label, colour in legend:
        keys.append(f'<rect x="{x}" y="{height - 22}" width="12" height="12" fill="{colour}"/>'
                    f'<text x="{x + 16}" y="{height - 12}" font-size="12">{escape(label)}</text>')
        x += 16 + 14 * len(label) + 16
    return Markup(f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
                  f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}{"".join(keys)}</svg>')


def _short(name: str) -> str:
    """A node's name short enough for the label column: 河北省政务数据平台 -> 河北省 (whole if short)."""
    for cut in ("政务数据平台", "数据平台", "平台"):
        if name.endswith(cut) and len(name) > len(cut):
            return name[:-len(cut)]
    return name


def share_mix(nodes, name=str) -> Markup:
    """Entries per node, stacked by share type; `name` gives a node's name for its id."""
    rows = [n for n in nodes if n.entries > 0]
    top = max((n.entries for n in rows), default=0) or 1
    body = []
    for i, n in enumerate(rows):
        y = i * ROW + 4
        label = escape(_short(name(n.node_id)))
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" font-size="13" text-anchor="end">{label}</text>')
        x = float(LABEL_W)
        for field, label, colour in SHARE_COLOURS:
            w = BAR_W * getattr(n, field) / top
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" fill="{colour}">'
                            f'<title>{escape(name(n.node_id))} {label}: {getattr(n, field)}</title></rect>')
            x += w
        body.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-size="12">{n.entries}</text>')
    return _frame("各节点目录条目数（按共享类型）", len(rows), body, [(label, c) for _, label, c in SHARE_COLOURS])


def answered(nodes, name=str) -> Markup:
    """Share of received requests answered in time, per node; `name` gives a node's name for its id."""
    rows = [n for n in nodes if n.requests_received > 0]
    body = []
    for i, n in enumerate(rows):
        y = i * ROW + 4
        share = n.answered_in_time / n.requests_received
        label = escape(_short(name(n.node_id)))
        body.append(f'<text x="{LABEL_W - 6}" y="{y + 15}" font-size="13" text-anchor="end">{label}</text>')
        body.append(f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W}" height="18" fill="#e0e0e0"/>')
        body.append(f'<rect x="{LABEL_W}" y="{y}" width="{BAR_W * share:.1f}" height="18" fill="#1565c0">'
                    f'<title>{escape(name(n.node_id))}: {n.answered_in_time}/{n.requests_received}</title></rect>')
        body.append(f'<text x="{LABEL_W + BAR_W + 6}" y="{y + 15}" font-size="12">{share:.0%} '
                    f'({n.answered_in_time}/{n.requests_received})</text>')
    if not rows:
        body.append(f'<text x="{LABEL_W}" y="18" font-size="13">尚无共享申请</text>')
    return _frame("各节点按时答复率", max(1, len(rows)), body, [("按时答复", "#1565c0"), ("未按时或未答复", "#e0e0e0")])
