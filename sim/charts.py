"""The charts of a run's report, drawn for a Chinese operator to read at a glance (matplotlib, Agg,
a CJK font): lag per peer over time, convergence after each fault, throughput, latency
percentiles, memory, requests answered in time per owner. Counts get integer ticks and their
values on the bars; faults are named in Chinese inside the plot; lines that sit on the same
value (every peer at zero lag) stay told apart by their dash and marker."""

from __future__ import annotations

import pathlib

from sim import memory

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK JP", "Noto Serif CJK SC", "WenQuanYi Zen Hei")
CHARTS = {"lag": "lag.png", "convergence": "convergence.png", "throughput": "throughput.png",
          "latency": "latency.png", "requests": "requests_in_time.png", "memory": "memory.png",
          "steps": "lifecycle_steps.png"}
MAX_BARS = 25  # more owner departments than this: the requests chart has a bar per node
MAX_LINES = 8  # more peers than this: the lag chart names the most lagging, the others are grey
KIND_NAMES = {"publish": "发布", "update": "更新", "withdraw": "撤销", "request": "共享申请", "decide": "审批答复",
              "search": "检索", "review": "符合性审查", "resubmit": "重新提交", "extend": "延期", "object": "异议",
              "coordinate": "协调", "escalate": "督办核查"}
# the lifecycle's steps (sim/steps.py), in the order a request meets them
STEP_NAMES = {"pass": "审查通过", "return": "审查退回", "resubmit": "修改后重新提交", "decide": "提供方答复",
              "extend": "延期答复", "object": "提出异议", "share": "协调：同意共享", "uphold": "协调：维持拒绝",
              "escalate": "逾期督办"}
FAULT_NAMES = {"kill": "进程被杀", "pause": "进程暂停", "partition": "断网", "delay": "链路延迟",
               "restore_backup": "恢复旧备份"}
# (dash, marker) per coloured line: lines on top of each other at zero still show each one
LINE_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ("-", "v"), ("--", "P"), (":", "X"), ("-.", "*"))
DAY = 86400.0


def cjk_font() -> str | None:
    """The first CJK font matplotlib knows of (Debian's fonts-noto-cjk gives Noto Sans CJK SC)."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def node_names(result: dict) -> dict[str, str]:
    """Node id -> a short Chinese name (河北省 for hebei) from the run's compose file, when the
    checkout holds it; a run's file named elsewhere is looked up under configs/ by its name."""
    import yaml

    compose = pathlib.Path(result["scenario"].get("compose") or "")
    here = pathlib.Path(__file__).resolve().parent.parent / "configs" / compose.name
    path = compose if compose.is_file() else here
    if not compose.name or not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    nodes = [data.get("hub") or {}, *(data.get("nodes") or [])]
    return {n["id"]: short(n["name"]) for n in nodes if n.get("id") and n.get("name")}


def short(name: str) -> str:
    """河北省政务数据平台 -> 河北省: the platform's place is what tells two lines apart."""
    for tail in ("政务数据平台", "政务大数据平台", "数据平台"):
        if name.endswith(tail) and len(name) > len(tail):
            return name[: -len(tail)]
    return name


def fault_label(fault: dict, names: dict[str, str]) -> str:
    """断网：广东省、四川省 for a partition of guangdong and sichuan."""
    nodes = fault.get("nodes") or ([fault["node"]] if fault.get("node") else [])
    kind = fault.get("kind") or fault["fault"].split()[0]
    if kind not in FAULT_NAMES:
        return fault["fault"]
    return f"{FAULT_NAMES[kind]}：" + "、".join(names.get(n, n) for n in nodes)


def pyplot():
    """matplotlib's pyplot, drawing to files (no display), in a CJK font where the machine has one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    plt.rcParams.update({"font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                         "font.family": "sans-serif", "axes.unicode_minus": False, "figure.dpi": 110})
    return plt


def charts(result: dict, lag: list[dict], out: pathlib.Path) -> None:
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    names = node_names(result)
    faults = result["faults"]
    # counts get MaxNLocator(integer=True): a count has no quarter of a request

    fig, ax = plt.subplots(figsize=(9, 4.5))
    peers = sorted({p for s in lag for p in s["peers"]})
    peak = {p: max((s["peers"][p]["behind"] for s in lag if p in s["peers"]), default=0) for p in peers}
    named = sorted(peers, key=lambda p: (-peak[p], p))[:MAX_LINES] if len(peers) > MAX_LINES else peers
    for peer in peers:  # a national run: the peers that lagged most in colour, the others in grey
        points = [(s["at"] / DAY, s["peers"][peer]["behind"]) for s in lag if peer in s["peers"]]
        if peer in named:
            dash, marker = LINE_STYLES[named.index(peer) % len(LINE_STYLES)]
            style = dict(label=names.get(peer, peer), linewidth=1.4, linestyle=dash, marker=marker, markersize=4,
                         markevery=(named.index(peer), max(1, len(points) // 12)))
        else:
            style = dict(color="0.75", linewidth=0.8, zorder=1)
        ax.plot([x for x, _ in points], [y for _, y in points], **style)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=-0.05 * max(1, max(peak.values(), default=1)))  # lines at zero above the axis, visible
    for i, f in enumerate(faults):
        start = f.get("began", f["planned_at"]) / DAY
        stop = f.get("ended", f.get("began", f["planned_at"])) / DAY
        ax.axvspan(start, max(stop, start + 0.02), alpha=0.15, color=f"C{i % 10}")
        ax.annotate(fault_label(f, names), (start, 0.97 - 0.07 * (i % 6)), xycoords=("data", "axes fraction"),
                    xytext=(3, 0), textcoords="offset points", va="top", fontsize=8,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
    ax.set(title="各节点相对国家平台的同步滞后（未拉取变更数）" + ("；滞后最多的节点着色，其余为灰色"
                                                         if len(named) < len(peers) else ""),
           xlabel="模拟时间（天）", ylabel="滞后变更数")
    if peers:
        ax.legend(fontsize=8, ncol=3, loc="upper right")
    save(fig, out / CHARTS["lag"])

    fig, ax = plt.subplots(figsize=(8, max(3, 0.45 * len(faults) + 1.5)))
    labels = [fault_label(f, names) for f in faults] or ["（无故障）"]
    seconds = [f.get("converge_wall_seconds", 0) for f in faults] or [0]
    colors = ["tab:green" if f.get("converged") else "tab:red" for f in faults] or ["grey"]
    bars = ax.barh(range(len(labels)), seconds, color=colors)
    ax.set_yticks(range(len(labels)), labels)
    for bar, f in zip(bars, faults):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                f" {f.get('converge_wall_seconds', 0)} 秒（模拟 {f['converge_sim_hours']} 小时）", va="center", fontsize=8)
    ax.set(title="故障恢复后国家平台收敛用时（摘要一致）", xlabel="墙钟秒（绿：已收敛，红：未收敛）")
    ax.margins(x=0.35)
    ax.invert_yaxis()  # the first fault on top
    save(fig, out / CHARTS["convergence"])

    fig, ax = plt.subplots(figsize=(9, 4))
    per_day = result["throughput"]["per_sim_day"]
    days = sorted(per_day, key=int)
    bottom = [0] * len(days)
    for kind in KIND_NAMES:
        values = [per_day[d].get(kind, 0) for d in days]
        if any(values):
            ax.bar([int(d) + 1 for d in days], values, bottom=bottom, label=KIND_NAMES[kind])
            bottom = [a + b for a, b in zip(bottom, values)]
    for x, total in zip([int(d) + 1 for d in days], bottom):
        ax.annotate(f"{total:,}", (x, total), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.12)
    ax.set(title="吞吐量：每个模拟日完成的调用（柱顶为合计）", xlabel="模拟日", ylabel="调用数")
    ax.legend(fontsize=8, ncol=3)
    save(fig, out / CHARTS["throughput"])

    fig, ax = plt.subplots(figsize=(8, 4))
    latency = result["latency_ms"]
    kinds = list(latency)
    width = 0.25
    for i, q in enumerate(("p50", "p90", "p99")):
        bars = ax.bar([k + (i - 1) * width for k in range(len(kinds))], [latency[k][q] for k in kinds], width, label=q)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    ax.set_xticks(range(len(kinds)), [KIND_NAMES.get(k, k) for k in kinds])
    ax.margins(y=0.12)
    ax.set(title="调用延迟百分位（毫秒，墙钟）", ylabel="毫秒")
    ax.legend()
    save(fig, out / CHARTS["latency"])

    fig = memory.chart(plt, result, lag)
    save(fig, out / CHARTS["memory"])

    # one bar per owner department, or per owner node where a national run has too many to read
    per_department = [r for r in result["requests"]["per_owner_department"].values() if r["conditional"]]
    by_node = len(per_department) > MAX_BARS
    rows = [r for r in result["requests"]["per_owner_node"].values() if r["conditional"]] if by_node else per_department
    fig, ax = plt.subplots(figsize=(9, max(3, (0.3 if by_node else 0.45) * len(rows) + 1.5)))
    labels = [names.get(r["department"], r["department"]) for r in rows] or ["（无有条件共享申请）"]
    in_time = [r["in_time"] for r in rows] or [0]
    late = [r["answered"] - r["in_time"] for r in rows] or [0]
    open_ = [r["conditional"] - r["answered"] for r in rows] or [0]
    left = [0] * len(labels)
    for values, color, label in ((in_time, "tab:green", "按期答复"), (late, "tab:orange", "逾期答复"),
                                 (open_, "tab:grey", "尚未答复")):
        bars = ax.barh(labels, values, left=left, color=color, label=label)
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center", fontsize=7, color="white")
        left = [a + b for a, b in zip(left, values)]
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title=f"各提供方{'节点' if by_node else '部门'}有条件共享申请的按期答复情况（时限 "
                 f"{result['scenario']['answer_days']} 个工作日）", xlabel="申请数")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    save(fig, out / CHARTS["requests"])
    if any(v["count"] for v in (result.get("steps") or {}).values()):  # a run that used the lifecycle's steps
        steps_chart(result, out)


def steps_chart(result: dict, out: pathlib.Path) -> None:
    """Each lifecycle step: how many were taken, and how long their party took (median and p90,
    simulated days from the moment the step could be taken)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    steps = {k: v for k, v in (result.get("steps") or {}).items() if v["count"]}
    labels = [STEP_NAMES.get(k, k) for k in steps] or ["（无）"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, max(3, 0.45 * len(labels) + 1.5)), sharey=True)
    bars = left.barh(labels, [v["count"] for v in steps.values()] or [0], color="tab:blue")
    left.bar_label(bars, fontsize=8, padding=2)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.margins(x=0.15)
    left.set(title="申请全流程各环节次数", xlabel="次数")
    y = range(len(steps))
    for offset, q, color in ((-0.2, "median_days", "tab:green"), (0.2, "p90_days", "tab:orange")):
        bars = right.barh([i + offset for i in y], [v[q] for v in steps.values()], 0.4, color=color,
                          label="中位数" if q == "median_days" else "90 分位")
        right.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    right.margins(x=0.15)
    right.set(title="各环节用时（模拟天，自可办理时起）", xlabel="模拟天")
    if steps:
        right.legend(fontsize=8)
    left.invert_yaxis()
    save(fig, out / CHARTS["steps"])


def save(fig, path: pathlib.Path) -> None:
    fig.tight_layout()
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
