"""The nodes' resident memory in a run's report: peaks over every sample (the catalog's ingestion
included: that is where the hub holds the most in flight) and the memory chart, with the ingestion
by wall time beside the played days by simulated time."""

from __future__ import annotations

import collections


def peaks(lag: list[dict], hub: str, ingest: list[dict] = ()) -> dict:
    """Peak resident memory of the hub and of the largest other node over the run's samples,
    ingestion included; the hub's peak while it took the catalog in, with its worker processes'; and
    the peak of the hub's worker and reader processes together over the whole run."""
    highest: dict[str, float] = collections.defaultdict(float)
    for sample in [*ingest, *lag]:
        for node, mib in sample.get("rss_mib", {}).items():
            highest[node] = max(highest[node], mib)
    others = {n: v for n, v in highest.items() if n != hub}
    top = max(others, key=others.get) if others else ""
    return {"hub_peak": highest.get(hub, 0.0), "largest_other": top, "largest_other_peak": others.get(top, 0.0),
            "hub_ingest_peak": max((s["rss_mib"].get(hub, 0.0) for s in ingest), default=0.0),
            "hub_workers_ingest_peak": max((s.get("hub_workers_mib", 0.0) for s in ingest), default=0.0),
            "hub_workers_peak": max((s.get("hub_workers_mib", 0.0) for s in [*ingest, *lag]), default=0.0),
            "peaks": dict(highest)}


def chart(plt, result: dict, lag: list[dict]):
    """The memory chart's figure (matplotlib's pyplot given, set up by the caller)."""
    day = 86400.0
    hub = result["scenario"]["hub"]
    nodes = ((hub, f"国家平台 {hub}"), (result["memory_mib"]["largest_other"], "其他节点中最大者"))
    ingest = result.get("ingest_memory") or []
    fig, axes = plt.subplots(1, 2 if ingest else 1, figsize=(12 if ingest else 9, 3.8), squeeze=False)
    if ingest:  # the catalog taken in, by wall time: the simulated clock starts after it
        ax = axes[0][0]
        for node, label in nodes:
            points = [(s["wall"] / 60, s["rss_mib"][node]) for s in ingest if s["rss_mib"].get(node)]
            if node and points:
                ax.plot([x for x, _ in points], [y for _, y in points], label=label)
        ax.plot([s["wall"] / 60 for s in ingest], [s.get("hub_workers_mib", 0) for s in ingest], label="国家平台工作进程合计")
        ax.set(title="目录汇聚阶段常驻内存（RSS）", xlabel="墙钟时间（分钟）", ylabel="MiB")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    ax = axes[0][-1]
    for node, label in nodes:
        points = [(s["at"] / day, s["rss_mib"][node]) for s in lag if s.get("rss_mib", {}).get(node)]
        if node and points:
            ax.plot([x for x, _ in points], [y for _, y in points], label=f"{label} ({node})" if node != hub else label)
    others = [(s["at"] / day, s["hub_workers_mib"]) for s in lag if "hub_workers_mib" in s]
    if any(mib for _, mib in others):
        ax.plot([x for x, _ in others], [y for _, y in others], label="国家平台工作与读取进程合计")
    ax.set(title="节点进程常驻内存（RSS）", xlabel="模拟时间（天）", ylabel="MiB")
    ax.set_ylim(bottom=0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    else:  # a run too short for a sample of its nodes' memory
        ax.text(0.5, 0.5, "无内存采样", transform=ax.transAxes, ha="center", va="center")
    return fig
