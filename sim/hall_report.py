"""The service-hall report: report.json with every figure, report.md, and three charts (calls a
second through the day with the hub's fault marked, latency p50/p99 through the day, and per
owner department: calls answered, mismatches and quota refusals)."""

from __future__ import annotations

import json
import pathlib
from datetime import datetime

from sim.charts import pyplot, save

CHARTS = {"calls": "calls_per_second.png", "latency": "latency.png", "owners": "owners.png"}
OWNERS_CHARTED = 30  # the busiest owners in the chart (the table below it lists every one)
BUCKET = 2.0  # wall seconds per point of the charts


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def build(hall, day, checks: dict, started: datetime) -> dict:
    calls = day.calls
    answered = [c for c in calls if c.outcome == "ok"]
    buckets: dict[int, list] = {}
    for c in calls:
        buckets.setdefault(int(c.at // BUCKET), []).append(c)
    timeline = []
    for b in sorted(buckets):
        done = [c for c in buckets[b] if c.outcome == "ok"]
        timeline.append({"at": b * BUCKET, "minute": round(hall.minute_at(b * BUCKET), 1),
                         "answered_per_second": round(len(done) / BUCKET, 1),
                         "refused_per_second": round(sum(c.outcome != "ok" for c in buckets[b]) / BUCKET, 1),
                         "p50_ms": round(_percentile([c.seconds for c in done], 50) * 1000, 1),
                         "p99_ms": round(_percentile([c.seconds for c in done], 99) * 1000, 1)})
    owners: dict[str, dict] = {}
    for c in calls:
        o = owners.setdefault(c.grant.source.entry.provider_code, {
            "department": c.grant.source.entry.provider_name, "node": c.grant.source.node, "calls": 0, "answered": 0,
            "keys": 0, "match": 0, "mismatch": 0, "not_found": 0, "quota_refusals": 0, "other_refusals": 0})
        o["calls"] += 1
        if c.outcome == "ok":
            o["answered"] += 1
            o["keys"] += c.keys
            for verdict, n in c.verdicts.items():
                o[verdict] = o.get(verdict, 0) + n
        elif c.outcome == "daily_quota":
            o["quota_refusals"] += 1
        else:
            o["other_refusals"] += 1
    modes = {}
    for mode in ("verify", "batch", "query"):
        done = [c.seconds for c in answered if c.mode == mode]
        modes[mode] = {"answered": len(done), "p50_ms": round(_percentile(done, 50) * 1000, 1),
                       "p99_ms": round(_percentile(done, 99) * 1000, 1)}
    peak = [c for c in answered if hall.peak[0] <= hall.minute_at(c.at) < hall.peak[1]]
    peak_wall = hall.wall_at(hall.peak[1]) - hall.wall_at(hall.peak[0])
    return {
        "scenario": {"name": hall.name, "description": hall.description, "file": hall.scenario_file,
                     "started": started.isoformat(timespec="seconds"), "wall_seconds": hall.wall_seconds,
                     "day": f"{hall.open_minute // 60:02d}:{hall.open_minute % 60:02d}-"
                            f"{hall.close_minute // 60:02d}:{hall.close_minute % 60:02d}",
                     "halls": sorted({f"{g.hall}@{g.hall_node}" for g in day.grants}), "grants": len(day.grants),
                     "default_daily_quota": hall.default_daily_quota, "conditional_quota": hall.conditional_quota,
                     "calls_per_second": hall.calls_per_second, "peak_factor": hall.peak_factor},
        "calls": {"made": len(calls), "answered": len(answered), "keys_answered": sum(c.keys for c in answered),
                  "per_second": round(len(answered) / hall.wall_seconds, 1),
                  "per_second_in_peak": round(len(peak) / peak_wall, 1) if peak_wall else 0.0,
                  "p50_ms": round(_percentile([c.seconds for c in answered], 50) * 1000, 1),
                  "p99_ms": round(_percentile([c.seconds for c in answered], 99) * 1000, 1),
                  "by_mode": modes, "outcomes": _count(c.outcome for c in calls),
                  "retried": sum(1 for c in calls if c.attempts > 1)},
        "fault": {"kind": "hub killed (SIGKILL) and started again", **day.fault,
                  "minute": f"{hall.fault_minute // 60:02d}:{hall.fault_minute % 60:02d}"},
        "owners": owners,
        "timeline": timeline,
        "invariants": checks,
        "all_invariants_held": all(c["held"] for c in checks.values()),
    }


def _count(values) -> dict[str, int]:
    found: dict[str, int] = {}
    for v in values:
        found[v] = found.get(v, 0) + 1
    return found


def write(result: dict, out: pathlib.Path) -> None:
    (out / "report.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    drawn(result, out)


def drawn(result: dict, out: pathlib.Path) -> None:
    """The charts and report.md of `result` (a run's, or its report.json's again) in `out`."""
    charts(result, out)
    (out / "report.md").write_text(markdown(result), encoding="utf-8")


def charts(result: dict, out: pathlib.Path) -> None:
    plt = pyplot()
    points, fault = result["timeline"], result["fault"]
    minutes = [p["minute"] / 60 for p in points]

    def mark(ax) -> None:
        if "killed_at" in fault:
            span = [p for p in points if fault["killed_at"] <= p["at"] + 2 and p["at"] <= fault.get("back_at", p["at"])]
            if span:
                ax.axvspan(span[0]["minute"] / 60, span[-1]["minute"] / 60 + 0.05, color="tab:red", alpha=0.15)
                ax.annotate("国家平台被杀", (span[0]["minute"] / 60, 1), xycoords=("data", "axes fraction"), va="top",
                            fontsize=8)

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(minutes, [p["answered_per_second"] for p in points], label="已答复")
    ax.plot(minutes, [p["refused_per_second"] for p in points], label="拒绝或失败（含超出限额）")
    mark(ax)
    ax.set(title="各省政务服务大厅经国家平台的核验与查询调用（每秒）", xlabel="时刻（时，一天压缩为数十秒墙钟）",
           ylabel="调用／秒")
    ax.legend(fontsize=8)
    save(fig, out / CHARTS["calls"])

    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(minutes, [p["p50_ms"] for p in points], label="p50")
    ax.plot(minutes, [p["p99_ms"] for p in points], label="p99")
    mark(ax)
    ax.set(title="调用延迟（毫秒，含重试）", xlabel="时刻（时）", ylabel="毫秒")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    save(fig, out / CHARTS["latency"])

    every = sorted(result["owners"].values(), key=lambda o: -o["calls"])
    rows = every[:OWNERS_CHARTED]
    fig, (ax, refusals) = plt.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 1]},
                                       figsize=(11, max(3, 0.4 * len(rows) + 1.8)))
    labels = [f"{o['department']}（{o['node']}）" for o in rows] or ["（无）"]
    left = [0] * len(labels)
    for key, color, label in (("match", "tab:green", "核验一致／查得"), ("mismatch", "tab:orange", "核验不一致"),
                              ("not_found", "tab:grey", "查无此人／此企业")):
        values = [o[key] for o in rows] or [0]
        ax.barh(labels, values, left=left, color=color, label=label)
        left = [a + b for a, b in zip(left, values)]
    shown = f"调用最多的 {len(rows)} 个（共 {len(every)} 个）" if len(every) > len(rows) else f"{len(every)} 个"
    ax.set(title=f"提供方部门{shown}：核验与查询结果（按键计）", xlabel="键数")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    refusals.barh(labels, [o["quota_refusals"] for o in rows] or [0], color="tab:red")
    refusals.set(title="超出每日限额被拒（按次计）", xlabel="次数")
    save(fig, out / CHARTS["owners"])


def markdown(result: dict) -> str:
    s, c, f, inv = result["scenario"], result["calls"], result["fault"], result["invariants"]
    lines = [f"# Simulation report: {s['name']}", "", s["description"], "",
             f"Run {s['started']} (Beijing); one working day ({s['day']}) in {s['wall_seconds']:.0f} s of wall time; "
             f"{len(s['halls'])} service halls ({', '.join(s['halls'])}) under {s['grants']} grants; owners' default "
             f"daily quota {s['default_daily_quota']}, conditional grants' {s['conditional_quota']}.", "",
             "## Invariants", "", "| invariant | held | detail |", "| --- | --- | --- |"]
    for name, check in inv.items():
        detail = ", ".join(f"{k}: {v}" for k, v in check.items() if k != "held")
        lines.append(f"| {name} | {'yes' if check['held'] else '**NO**'} | {detail} |")
    lines += ["", "## Calls", "",
              f"- {c['made']:,} calls made, {c['answered']:,} answered ({c['keys_answered']:,} keys); "
              f"{c['per_second']} answered/s over the day, {c['per_second_in_peak']}/s in the morning peak",
              f"- latency p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms (with retries); "
              + "; ".join(f"{m} {v['answered']:,} answered, p50/p99 {v['p50_ms']}/{v['p99_ms']} ms"
                          for m, v in c["by_mode"].items()),
              f"- outcomes: {', '.join(f'{k} {v:,}' for k, v in sorted(c['outcomes'].items()))}; "
              f"{c['retried']:,} calls needed more than one attempt",
              f"- fault: {f['kind']} at {f['minute']} (wall {f.get('killed_at', '-')} s), back at wall "
              f"{f.get('back_at', '-')} s; calls under way when it was killed: {f.get('under_way', {})}",
              "", f"![calls per second](calls_per_second.png)", "", "![latency](latency.png)", "",
              "## Per owner department", "",
              "| owner | node | calls | answered | keys | match | mismatch | not found | quota refusals | other |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for code, o in sorted(result["owners"].items()):
        lines.append(f"| {o['department']} ({code}) | {o['node']} | {o['calls']:,} | {o['answered']:,} | {o['keys']:,} | "
                     f"{o['match']:,} | {o['mismatch']:,} | {o['not_found']:,} | {o['quota_refusals']:,} | "
                     f"{o['other_refusals']:,} |")
    lines += ["", "![owners](owners.png)", ""]
    return "\n".join(lines)
