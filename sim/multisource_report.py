"""The report of a `multi-source` run (sim/multisource.py): the figures and invariants as
report.json, report.md for people, and two charts (discrepancies injected, found and answered per
copy; time from filing to the owner's answer), in the CJK font of sim/report.py."""

from __future__ import annotations

import json
import pathlib
import statistics

from node.model.correction import ANSWERS
from node.proto import corrections_pb2, corrections_pb2_grpc
from sim.charts import pyplot, save

CHARTS = {"found": "discrepancies.png", "time": "time_to_correct.png"}
OUTCOME_NAMES = {"corrected": "已更正", "no_fault": "无误", "rejected": "驳回"}


def hub_database(fed) -> bytes:
    """Everything the hub's SQLite file holds on disk, its write-ahead log included."""
    path = pathlib.Path(fed.state["nodes"][fed.hub_id]["database"])
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def copies_at(play, node_id: str, department: str = "", **fields) -> dict:
    return {c.correction_id: c for c in play.listed(node_id, department, **fields)}


def build(play, timings: dict[str, float]) -> dict:
    fed, scenario = play.fed, play.scenario
    at_hub = copies_at(play, fed.hub_id, filer_code="hub")
    copies, lost, twice, disagree, wrong_outcome = [], [], [], [], []
    for copy in scenario["copies"]:
        code, node_id, department = f"{copy['department']}/000001", copy["node"], copy["department"]
        mine = {i: c for i, c in at_hub.items() if c.resource_code == code}
        at_owner = copies_at(play, node_id, department, owner_code=department)
        stub = corrections_pb2_grpc.CorrectionsStub(fed.channel(node_id, department))
        keys = [dict(stub.GetCorrection(corrections_pb2.GetCorrectionRequest(
            correction_id=i, department_code=department), timeout=30).key).get("公民身份号码") for i in at_owner]
        lost += [i for i in mine if i not in at_owner] + [i for i in at_owner if i not in mine]
        disagree += [i for i in mine if i in at_owner and (mine[i].state, mine[i].version) !=
                     (at_owner[i].state, at_owner[i].version)]
        for i, c in mine.items():
            states = [e.state for e in c.history]
            if len(states) != len(set(states)) or sum(s in ANSWERS for s in states) > 1:
                twice.append(i)
            if i in play.answered and play.answered[i] != c.state:
                wrong_outcome.append(i)
        seconds = sorted(_answered(c) - c.created_at.ToDatetime().timestamp() for c in mine.values()
                         if c.state in ANSWERS)
        outcomes = {a: sum(c.state == a for c in mine.values()) for a in ANSWERS}
        injected = play.injected[code]
        copies.append(dict(
            resource_code=code, department=department, node=node_id, name=copy["name"], people=copy["people"],
            injected=len(injected), found=len(mine), found_exactly=sorted(filter(None, keys)) == sorted(injected),
            **outcomes, open=sum(c.state == "open" for c in mine.values()),
            seconds_to_answer=[round(s, 3) for s in seconds],
            median_seconds=round(statistics.median(seconds), 2) if seconds else None,
            p90_seconds=round(seconds[int(0.9 * (len(seconds) - 1))], 2) if seconds else None))
    held = hub_database(fed)
    leaked = sum(key.encode() in held for keys in play.injected.values() for key in keys)
    invariants = {
        "exactly_the_injected_errors_found": all(c["found_exactly"] and c["found"] == c["injected"] for c in copies),
        "no_correction_lost": not lost and not disagree,
        "none_answered_twice": not twice and not wrong_outcome,
        "no_key_in_the_hubs_database": leaked == 0,
        "every_correction_answered": all(c["open"] == 0 for c in copies),
    }
    return dict(name=scenario["name"], description=scenario["description"], timings={k: round(v, 1) for k, v in
                timings.items()}, copies=copies, faults=play.faults, second_answers_refused=play.refused_answers,
                lost=lost, disagree=disagree, twice=twice, keys_in_hub_database=leaked, invariants=invariants,
                all_invariants_held=all(invariants.values()))


def _answered(c) -> float:
    return next(e.at.ToDatetime().timestamp() for e in c.history if e.state in ANSWERS)


def write(result: dict, out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    drawn(result, out)


def drawn(result: dict, out: pathlib.Path) -> None:
    """The charts and report.md of `result` (a run's, or its report.json's again) in `out`."""
    charts(result, out)
    (out / "report.md").write_text(markdown(result), encoding="utf-8")


def charts(result: dict, out: pathlib.Path) -> None:
    plt = pyplot()
    copies = result["copies"]
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = [("注入错误", "injected"), ("校核发现", "found"), *((OUTCOME_NAMES[a], a) for a in ANSWERS)]
    width = 0.8 / len(bars)
    for i, (label, key) in enumerate(bars):
        ax.bar([j + i * width for j in range(len(copies))], [c[key] for c in copies], width, label=label)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(copies))], [c["name"] for c in copies], fontsize=8)
    ax.set_ylabel("记录数")
    ax.set_title("多源校核：注入、发现与答复的差异")
    ax.legend(fontsize=8)
    save(fig, out / CHARTS["found"])

    fig, ax = plt.subplots(figsize=(8, 4))
    for c in copies:
        seconds = c["seconds_to_answer"]
        if seconds:
            ax.step(seconds, [(i + 1) / len(seconds) for i in range(len(seconds))], where="post", label=c["name"])
    ax.set_xlabel("从中枢立单到所有方答复（秒，墙钟）")
    ax.set_ylabel("已答复的纠错单占比")
    ax.set_title("纠错用时")
    ax.legend(fontsize=8)
    save(fig, out / CHARTS["time"])


def markdown(result: dict) -> str:
    lines = [f"# {result['name']}", "", result["description"], "",
             f"Phases (wall seconds): {', '.join(f'{k} {v}' for k, v in result['timings'].items())}.", "",
             "| copy | node | people | injected | found | exactly those | corrected | no fault | rejected | open | "
             "median s to answer | p90 s |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in result["copies"]:
        lines.append(f"| {c['name']} (`{c['resource_code']}`) | {c['node']} | {c['people']} | {c['injected']} | "
                     f"{c['found']} | {'yes' if c['found_exactly'] else 'NO'} | {c['corrected']} | {c['no_fault']} | "
                     f"{c['rejected']} | {c['open']} | {c['median_seconds']} | {c['p90_seconds']} |")
    lines += ["", "Faults: " + ("; ".join(f"{f['node']} killed (SIGKILL) with {f['filed_at_kill']} filed at the hub "
                                         f"and {f['answered_at_kill']} answered, down {f['down_seconds']} s"
                                         for f in result["faults"]) or "none") + ".",
              f"Second answers tried by owners and refused by their nodes: {result['second_answers_refused']}.", "",
              "| invariant | held |", "| --- | --- |"]
    lines += [f"| {name.replace('_', ' ')} | {'yes' if held else '**NO**'} |"
              for name, held in result["invariants"].items()]
    lines += ["", f"![discrepancies]({CHARTS['found']})", "", f"![time to correct]({CHARTS['time']})", ""]
    return "\n".join(lines)
