"""The report of a run: report.json with every figure, report.md for people, and PNG charts
(matplotlib, Agg, a CJK font so that Chinese labels render): lag per peer over time, convergence
after each fault, throughput, latency percentiles, requests answered in time per department."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import pathlib
import statistics

from sim.charts import (CHARTS, CJK_FONTS, KIND_NAMES, MAX_BARS, STEP_NAMES, charts,  # noqa: F401 (the report's names)
                        cjk_font)
from sim import memory
from sim.invariants import Books
from sim.workload import Metrics

@dataclasses.dataclass(frozen=True)
class Played:
    """What a run hands to its report once it has played: the figures it gathered on the way."""

    hub_id: str
    timings: dict[str, float]  # wall seconds of each phase (up, publish, seed, play)
    metrics: Metrics  # every call's outcome and latency
    books: Books  # acknowledged writes and filed requests
    lag: list[dict]  # the hub's samples of each peer, with every node's memory
    faults: list[dict]  # each fault's record: its span, and the hub's convergence after it
    planned: int  # events the workload planned
    unplayed: int  # of those, still queued when the clock ran out
    ingest: list[dict] = dataclasses.field(default_factory=list)  # memory while the catalog was taken in, by wall s


def shown(path) -> str:
    """A file as a report names it: relative to where the run was started when it lies below it,
    else by its name (a report is committed and read on other machines)."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else pathlib.Path(path).name


def build(scenario, clock, run: Played, checks: dict, known) -> dict:
    """Every figure of the run, as one JSON-ready mapping."""
    metrics, books = run.metrics, run.books
    faults = [dict(r, planned_at_time=clock.at(r["planned_at"]).isoformat(),
                   converge_sim_hours=round(clock.sim(r.get("converge_wall_seconds", 0)) / 3600, 2))
              for r in run.faults]
    day = 86400.0
    per_day: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for at, kind in metrics.done:
        per_day[int(at // day)][kind] += 1
    lag_max = collections.defaultdict(int)
    for sample in run.lag:
        for peer, figures in sample["peers"].items():
            lag_max[peer] = max(lag_max[peer], figures["behind"])
    return {
        "scenario": {"name": scenario.name, "description": scenario.description, "source": scenario.source,
                     "compose": shown(scenario.compose), "seed": scenario.seed, "start": scenario.start.isoformat(),
                     "factor": scenario.factor, "sim_days": round(scenario.duration / day, 2),
                     "planned_wall_seconds": round(scenario.wall_seconds, 1), "answer_days": scenario.calendar.answer_days,
                     "hub": run.hub_id},
        "timings": run.timings,
        "catalog": _catalog(known),
        "workload": {"planned_events": run.planned, "outcomes": {k: dict(v) for k, v in metrics.outcomes.items()},
                     "unplayed": run.unplayed},
        "latency_ms": metrics.percentiles(),
        "throughput": {"per_sim_day": {str(d): dict(c) for d, c in sorted(per_day.items())},
                       "acknowledged_calls": len(metrics.done),
                       "per_wall_second": round(len(metrics.done) / max(run.timings.get("play_wall_seconds", 1), 0.1), 2)},
        "lag": {"samples": len(run.lag), "max_behind": dict(lag_max),
                "hub_unreachable_samples": sum(1 for s in run.lag if "error" in s)},
        "memory_mib": memory.peaks(run.lag, run.hub_id, run.ingest),
        "ingest_memory": run.ingest,
        "faults": [dict(f, requests=_requests_during(f, clock, books)) for f in faults],
        "requests": _requests(clock, books, known),
        "pairs": _pairs(scenario, clock, books, known),
        "steps": _steps(books),
        "invariants": checks,
        "all_invariants_held": all(c["held"] for c in checks.values()),
    }


def _requests_during(fault: dict, clock, books) -> dict:
    """Requests filed while the fault lasted by or to a department of a node it hit: how many,
    how many conditional ones were answered and in time (what a cut-off province costs)."""
    began, ended = fault.get("began"), fault.get("ended", fault.get("began"))
    if began is None:
        return {}
    hit = set(fault["nodes"])
    filed = [f for f in books.requests.values() if began <= f.at <= ended and {f.consumer_node, f.owner_node} & hit]
    conditional = [f for f in filed if f.share_type == "conditional"]
    answered = [f for f in conditional if f.decided_at is not None]
    return {"filed": len(filed), "conditional": len(conditional), "answered": len(answered),
            "in_time": sum(clock.in_time(f.at, f.decided_at) for f in answered)}


def _catalog(known) -> dict:
    """The seeded catalog, as tallied while it was published."""
    t = known.tally
    return {"entries": t.entries, "departments": len(known.departments), "data_items": t.data_items,
            "share_types": dict(t.share_types), "update_cycles": dict(t.update_cycles), "per_node": dict(t.per_node)}


def _requests(clock, books, known) -> dict:
    rows: dict[str, dict] = {}
    for filed in books.requests.values():
        row = rows.setdefault(filed.owner_code, {"department": known.departments[filed.owner_code][1],
                                                  "node": known.departments[filed.owner_code][0], "received": 0,
                                                  "conditional": 0, "answered": 0, "in_time": 0, "answer_days": []})
        row["received"] += 1
        if filed.share_type != "conditional":
            continue
        row["conditional"] += 1
        if filed.decided_at is not None:
            row["answered"] += 1
            sent = filed.at if filed.sent_at is None else filed.sent_at  # its answer is due from its arrival
            row["in_time"] += clock.in_time(sent, filed.decided_at)
            row["answer_days"].append(clock.working_days_between(sent, filed.decided_at))
    nodes: dict[str, dict] = {}
    for row in rows.values():
        days = row.pop("answer_days")
        row["median_working_days"] = statistics.median(days) if days else None
        total = nodes.setdefault(row["node"], {"department": row["node"], "received": 0, "conditional": 0,
                                               "answered": 0, "in_time": 0})
        for key in ("received", "conditional", "answered", "in_time"):
            total[key] += row[key]
    states = collections.Counter(f.decision or "" for f in books.requests.values())
    return {"filed": len(books.requests), "decided_by_owner": sum(v for k, v in states.items() if k),
            "per_owner_department": dict(sorted(rows.items())), "per_owner_node": dict(sorted(nodes.items())),
            "filed_requests": [dataclasses.asdict(f) for f in books.requests.values()]}


def _steps(books) -> dict:
    """Each lifecycle step taken (sim/steps.py): how many, and how long its party took, in
    simulated days from the moment it could be taken (median, 90th percentile, longest)."""
    out = {}
    for step in STEP_NAMES:
        days = sorted(s["waited"] / 86400 for s in books.steps if s["step"] == step)
        pick = lambda q: round(days[min(len(days) - 1, int(q * len(days)))], 2) if days else 0.0  # noqa: E731
        out[step] = {"count": len(days), "median_days": pick(0.5), "p90_days": pick(0.9),
                     "max_days": round(days[-1], 2) if days else 0.0}
    return out


def _pairs(scenario, clock, books, known) -> list[dict]:
    """The consumer/owner pairs the scenario watches (e.g. Hengshui's transport bureau asking the
    data bureau): how many of their requests were answered, how fast, and whether in time."""
    out = []
    for consumer, owner in dict.fromkeys(scenario.workload.pairs):
        filed = [f for f in books.requests.values() if f.consumer_code == consumer and f.owner_code == owner]
        answered = [f for f in filed if f.decided_at is not None]
        hours = [round((f.decided_at - f.at) / 3600, 1) for f in answered]
        out.append({"consumer": consumer, "consumer_name": known.departments[consumer][1], "owner": owner,
                    "owner_name": known.departments[owner][1], "filed": len(filed),
                    "conditional": sum(f.share_type == "conditional" for f in filed), "answered": len(answered),
                    "in_time": sum(clock.in_time(f.at, f.decided_at) for f in answered), "hours_to_answer": hours})
    return out


# -- writing ------------------------------------------------------------------------------------

def write(result: dict, lag: list[dict], out: pathlib.Path) -> None:
    (out / "report.json").write_text(json.dumps(dict(result, lag_samples=lag), ensure_ascii=False, indent=2,
                                                default=str))
    charts(result, lag, out)
    (out / "report.md").write_text(markdown(result))


def redraw(out: pathlib.Path) -> None:
    """report.md and the charts again from out/report.json (a report written before a section
    was added gets what can be derived from its figures)."""
    result = json.loads((out / "report.json").read_text())
    if "lag_samples" not in result:  # a service hall's day (sim/hall.py) or a multi-source run (sim/multisource.py)
        from sim import hall_report, multisource_report

        (hall_report if "timeline" in result else multisource_report).drawn(result, out)
        return
    lag = result.pop("lag_samples")
    requests = result["requests"]
    if "per_owner_node" not in requests:
        node_of = {f["owner_code"]: f["owner_node"] for f in requests["filed_requests"]}
        nodes: dict[str, dict] = {}
        for code, row in requests["per_owner_department"].items():
            total = nodes.setdefault(node_of[code], {"department": node_of[code], "received": 0, "conditional": 0,
                                                     "answered": 0, "in_time": 0})
            for key in total.keys() - {"department"}:
                total[key] += row[key]
        requests["per_owner_node"] = dict(sorted(nodes.items()))
    if any("requests" not in f for f in result["faults"]):
        from sim import scenario as scenario_mod
        from sim.clock import SimClock
        from sim.invariants import Filed

        scenario = scenario_mod.load(result["scenario"]["source"])
        clock = SimClock(scenario.start, scenario.factor, scenario.calendar)
        books = Books()
        for filed in requests["filed_requests"]:
            books.filed(Filed(**filed))
        result["faults"] = [dict(f, requests=_requests_during(dict(f, nodes=f.get("nodes") or [f["node"]]), clock, books))
                            for f in result["faults"]]
    write(result, lag, out)


def markdown(result: dict) -> str:
    s, inv = result["scenario"], result["invariants"]
    lines = [f"# Simulation report: {s['name']}", ""]
    if s["description"]:
        lines += [s["description"], ""]
    lines += [f"Seed {s['seed']}, {s['sim_days']} simulated days from {s['start']} at {s['factor']:g}x "
              f"(planned {s['planned_wall_seconds']} s of wall time); an owner answers within {s['answer_days']} "
              f"working day{'s' if s['answer_days'] != 1 else ''}.", "",
              f"**Invariants: {'every invariant held' if result['all_invariants_held'] else 'AN INVARIANT FAILED'}**", "",
              "| invariant | held | figures |", "| --- | --- | --- |"]
    conv, writes, reqs = (inv["hub_converged_after_every_fault"], inv["every_acknowledged_write_at_hub"],
                          inv["no_request_lost_or_answered_twice"])
    lines += [
        f"| hub converged after every fault (digest) | {_yes(conv['held'])} | {conv['after_faults']}/{conv['faults']} "
        f"faults, final: {'equal' if conv['final'].get('converged') else conv['final'].get('error')} |",
        f"| every acknowledged write at the hub | {_yes(writes['held'])} | {writes['acknowledged_writes']} writes, "
        f"{writes['found_at_hub']}/{writes['resource_codes']} resource codes at their newest version |",
        f"| no request lost or answered twice | {_yes(reqs['held'])} | {reqs['filed']} filed, final states "
        f"{', '.join(f'{k} {v}' for k, v in sorted(reqs['final_states'].items()))} |", ""]
    cat, t, mem = result["catalog"], result["timings"], result["memory_mib"]
    lines += ["## Catalog", "", f"{cat['entries']:,} entries of {cat['departments']} departments, "
              f"{cat['data_items']:,} data items; share types "
              + ", ".join(f"{k} {v:,}" for k, v in sorted(cat["share_types"].items())) + ".", "",
              f"The federation came up in {t.get('up_seconds')} s; the seeded catalog was published at the nodes in "
              f"{t.get('publish_seconds')} s and the hub held all of it (digest equal for every peer) "
              f"{t.get('seed_seconds')} s after publishing began. The workload then ran for "
              f"{t.get('play_wall_seconds')} s of wall time.", "",
              f"Peak resident memory: the hub {mem['hub_peak']} MiB"
              + (f" (while taking the catalog in {mem['hub_ingest_peak']} MiB, its worker processes together "
                 f"{mem.get('hub_workers_ingest_peak', 0)} MiB)" if "hub_ingest_peak" in mem else "")
              + (f"; its worker and reader processes together at most {mem['hub_workers_peak']} MiB over the run"
                 if "hub_workers_peak" in mem else "")
              + f"; the largest other node ({mem['largest_other']}) {mem['largest_other_peak']} MiB.", "",
              f"![memory]({CHARTS['memory']})", ""]
    lines += ["## Faults", "", "Convergence is timed from the moment a fault is undone until the hub's digest of every "
              "peer equals the peer's. The requests a fault touched were filed while it lasted by or to a "
              "department of a node it hit.", "", "| fault | at | converged | wall s | simulated h | requests it touched: filed, conditional answered in time | note |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {f['fault']} | {f['planned_at_time'][:16]} | {_yes(f.get('converged'))} | "
              f"{f.get('converge_wall_seconds', '')} | {f['converge_sim_hours']} | {_touched(f.get('requests'))} | "
              f"{_note(f)} |" for f in result["faults"]]
    lines += ["", f"![convergence]({CHARTS['convergence']})", "", f"![lag]({CHARTS['lag']})", ""]
    lines += ["## Calls", "", "| call | ok | failed | p50 ms | p90 ms | p99 ms |", "| --- | --- | --- | --- | --- | --- |"]
    for kind, outcomes in sorted(result["workload"]["outcomes"].items()):
        p = result["latency_ms"].get(kind, {})
        failed = ", ".join(f"{k} {v}" for k, v in outcomes.items() if k != "ok") or "0"
        lines.append(f"| {kind} | {outcomes.get('ok', 0)} | {failed} | {p.get('p50', '')} | {p.get('p90', '')} | "
                     f"{p.get('p99', '')} |")
    lines += ["", f"{result['throughput']['acknowledged_calls']} calls acknowledged, "
              f"{result['throughput']['per_wall_second']} a wall second.", "",
              f"![throughput]({CHARTS['throughput']})", "", f"![latency]({CHARTS['latency']})", ""]
    per_department = result["requests"]["per_owner_department"]
    if len(per_department) > MAX_BARS:  # a national run: per owner node (report.json has every department)
        lines += ["## Requests answered in time", "", f"Per owner node ({len(per_department)} owner departments: "
                  "report.json lists each).", "", "| owner node | received | conditional | answered | in time |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {node} | {r['received']} | {r['conditional']} | {r['answered']} | {r['in_time']} |"
                  for node, r in result["requests"]["per_owner_node"].items()]
    else:
        lines += ["## Requests answered in time", "", "| owner department | received | conditional | answered | "
                  "in time | median working days |", "| --- | --- | --- | --- | --- | --- |"]
        for code, r in per_department.items():
            lines.append(f"| {r['department']} ({code}) | {r['received']} | {r['conditional']} | {r['answered']} | "
                         f"{r['in_time']} | {'' if r['median_working_days'] is None else r['median_working_days']} |")
    lines += ["", f"![requests]({CHARTS['requests']})", ""]
    if any(v["count"] for v in result.get("steps", {}).values()):
        lines += ["## The request lifecycle", "", "Each step taken, and how long its party took, in simulated days "
                  "from the moment it could be taken (a review from filing or resubmission, an answer from its "
                  "arrival at the owner, an objection from the refusal, a coordination from the objection, an "
                  "escalation from the start of the wait it escalates).", "",
                  "| step | count | median days | p90 days | longest |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {STEP_NAMES[k]} ({k}) | {v['count']} | {v['median_days']} | {v['p90_days']} | {v['max_days']} |"
                  for k, v in result["steps"].items()]
        lines += ["", f"![steps]({CHARTS['steps']})", ""]
    if result["pairs"]:
        lines += ["## Watched pairs", "", "| consumer | owner | filed | answered | in time | simulated hours to answer |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {p['consumer_name']} | {p['owner_name']} | {p['filed']} | {p['answered']} | {p['in_time']} | "
                  f"{', '.join(map(str, p['hours_to_answer']))} |" for p in result["pairs"]]
        lines.append("")
    return "\n".join(lines)


def _touched(requests: dict | None) -> str:
    if not requests:
        return ""
    return f"{requests['filed']} filed, {requests['in_time']}/{requests['conditional']} in time"


def _note(fault: dict) -> str:
    if "rolled_back_writes" in fault:
        return f"{fault['rolled_back_writes']} acknowledged writes rolled back by the old backup (not required at the hub)"
    return fault.get("error", "")


def _yes(value) -> str:
    return "yes" if value else "**no**"
