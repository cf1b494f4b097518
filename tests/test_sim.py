"""The simulator: scenarios validated with errors naming file, key and rule; the simulated clock
and working days; the seeded catalog generator; and the smoke scenario end to end."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
import yaml

from conftest import ROOT
from node.model.rules import validate_entry
from node.errors import ConfigError
from node.model.calendar import CHINA, Calendar
from sim import hall_plan, scenario as scenario_mod, synthetic, workload
from sim.clock import SimClock
from sim.scenario import CatalogSpec

SMOKE = ROOT / "scenarios" / "smoke.yaml"


def smoke_data() -> dict:
    return yaml.safe_load(SMOKE.read_text())


def fast_smoke(directory) -> str:
    """The smoke scenario with its clock twice as fast, written to `directory`: one simulated day
    in two wall seconds instead of four. Every event, fault and sample stays at its simulated time,
    so a run plays the same scenario (the partition still spans more than a 2 s pull interval, the
    killed node is still down for two seconds) in half the wall time."""
    data = smoke_data()
    data["compose"] = str((SMOKE.parent / data["compose"]).resolve())
    data["clock"]["factor"] = 2 * data["clock"]["factor"]
    path = directory / "smoke-fast.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


def parse(data: dict):
    return scenario_mod.parse(data, "s.yaml", base_dir=SMOKE.parent)


# -- scenarios ---------------------------------------------------------------------------------

def test_smoke_scenario_loads():
    s = scenario_mod.load(SMOKE)
    assert s.name == "smoke" and s.duration == 10 * 86400 and s.factor == 21600
    assert 30 <= s.wall_seconds <= 60
    assert [f.kind for f in s.faults] == ["partition", "kill", "delay"]
    assert s.faults[0].at == 2 * 86400 and s.faults[0].lasts == 36 * 3600
    assert s.catalog.share_types == (("unconditional", 45.0), ("conditional", 45.0), ("not_shared", 10.0))
    assert s.calendar.answer_days == 5


@pytest.mark.parametrize("change, key, rule", [
    (lambda d: d.update(colour="red"), "colour", "unknown key"),
    (lambda d: d.pop("compose"), "compose", "is required"),
    (lambda d: d.update(compose="nowhere.yaml"), "compose", "no such file"),
    (lambda d: d["clock"].update(duration="ten days"), "clock.duration", "must be a duration"),
    (lambda d: d["clock"].update(factor=0), "clock.factor", "must be a number"),
    (lambda d: d["catalog"].update(share_types={"sometimes": 1}), "catalog.share_types", "'sometimes' is not one of"),
    (lambda d: d["catalog"].update(data_items=[5, 2]), "catalog.data_items", "min <= max"),
    (lambda d: d["workload"].update(requests=-1), "workload.requests", "must be an integer"),
    (lambda d: d["workload"].update(pairs=[{"consumer": "999999999", "owner": "130000001"}]),
     "workload.pairs[0].consumer", "must be one of"),
    (lambda d: d["faults"][1].update(node="atlantis"), "faults[1].node", "must be one of"),
    (lambda d: d["faults"][0].update(kind="flood"), "faults[0].kind", "must be one of"),
    (lambda d: d["faults"][0].update(at="11d"), "faults[0].at", "before the end of the run"),
    (lambda d: d["faults"][1].update({"for": "6d"}), "faults[1].for", "end before the end of the run"),
    (lambda d: d["faults"][0].update(delay_ms=5), "faults[0].delay_ms", "only a delay fault"),
    (lambda d: d["faults"].append({"at": "1d", "kind": "restore_backup", "node": "national", "backup_age": "1h"}),
     "faults[3].node", "not the hub"),
    (lambda d: d["faults"][0].update(node=["hebei", "atlantis"]), "faults[0].node", "'atlantis' must be one of"),
    (lambda d: d["faults"][0].update(node=["hebei", "hebei"]), "faults[0].node", "each once"),
    (lambda d: d.update(chaos={"from": "1d", "until": "12d", "faults": 3, "for": ["1h", "2h"]}), "chaos.until",
     "before the end of the run"),
    (lambda d: d.update(chaos={"from": "1d", "until": "9d", "faults": 3, "kinds": ["flood"], "for": ["1h", "2h"]}),
     "chaos.kinds[0]", "must be one of"),
    (lambda d: d.update(chaos={"from": "1d", "until": "2d", "faults": 20, "for": ["1h", "2h"]}), "chaos.faults",
     "too many for the span"),
    (lambda d: d.update(chaos={"from": "1d", "until": "9d", "faults": 3, "for": "1h"}), "chaos.for",
     "[shortest, longest]"),
])
def test_a_bad_scenario_is_refused_naming_file_key_and_rule(change, key, rule):
    data = smoke_data()
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert caught.value.file == "s.yaml" and caught.value.key == key
    assert rule in str(caught.value) and str(caught.value).startswith(f"s.yaml: {key}: ")


def test_one_fault_may_cut_off_several_nodes_at_once():
    data = smoke_data()
    data["faults"] = [{"at": "2d", "kind": "partition", "node": ["guangdong", "hebei", "xpcc"], "for": "1d"}]
    (fault,) = parse(data).faults
    assert fault.nodes == ("guangdong", "hebei", "xpcc") and fault.lasts == 86400


def test_chaos_draws_the_same_faults_from_the_same_seed_one_after_another():
    data = smoke_data()
    data["faults"] = []
    data["chaos"] = {"from": "1d", "until": "9d", "faults": 6, "kinds": ["kill", "partition", "pause"],
                     "for": ["2h", "10h"], "max_nodes": 2, "hub": True}
    first = parse(data).faults
    assert first == parse(data).faults and len(first) == 6
    assert first != parse(dict(data, seed=8)).faults
    for before, after in zip(first, first[1:]):
        assert before.at + before.lasts < after.at  # each is undone (and timed) before the next begins
    for fault in first:
        assert 86400 <= fault.at and fault.at + fault.lasts <= 9 * 86400 and 2 * 3600 <= fault.lasts <= 10 * 3600
        assert 1 <= len(fault.nodes) <= 2 and fault.kind in ("kill", "partition", "pause")
        assert "national" not in fault.nodes or (fault.kind != "partition" and fault.nodes == ("national",))


def test_every_bundled_scenario_loads():
    from node.config_rules import read_yaml
    from sim import multisource

    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        if path.name.endswith("-compose.yaml"):
            continue
        if hall_plan.is_kind(path):  # the service hall's day (sim/hall.py) has a file of its own kind
            assert hall_plan.load(path).name == path.stem
        elif read_yaml(path).get("kind") == "multi-source":  # a scenario of its own (sim/multisource.py)
            assert multisource.load(path)["name"] == path.stem
        else:
            assert scenario_mod.load(path).name == path.stem


# -- the clock ---------------------------------------------------------------------------------

def test_clock_maps_simulated_and_wall_time():
    clock = SimClock(datetime(2026, 3, 2, 9, tzinfo=CHINA), factor=86400)  # a simulated day a wall second
    assert clock.wall(3 * 86400) == 3 and clock.sim(0.5) == 43200
    assert clock.at(86400 * 1.5) == datetime(2026, 3, 3, 21, tzinfo=CHINA)
    assert clock.offset(clock.at(12345)) == 12345


def test_working_days_skip_weekends_and_holidays():
    friday = datetime(2026, 3, 6, 9, tzinfo=CHINA)
    clock = SimClock(friday, factor=1000, calendar=Calendar(answer_days=1, holidays=frozenset({
        datetime(2026, 3, 9).date()})))
    # one working day after Friday morning: Monday is a holiday, so Tuesday
    assert clock.at(clock.add_working_days(0, 1)).date().isoformat() == "2026-03-10"
    assert clock.at(clock.add_working_days(0, 0.5)) == datetime(2026, 3, 6, 21, tzinfo=CHINA)
    assert clock.working_days_between(0, 4 * 86400) == 1  # Sat, Sun, the holiday, then Tuesday
    assert clock.in_time(0, clock.offset(datetime(2026, 3, 10, 17, tzinfo=CHINA)))
    assert not clock.in_time(0, clock.offset(datetime(2026, 3, 11, 9, tzinfo=CHINA)))


# -- the generator -----------------------------------------------------------------------------

SPEC = CatalogSpec(entries_per_department=2000)


def test_same_seed_same_entries_in_any_order():
    departments = synthetic.synthetic_departments(4)
    first = list(synthetic.catalog(departments, SPEC, seed=3))
    again = list(synthetic.catalog(reversed(departments), SPEC, seed=3))
    assert sorted(first, key=lambda e: e.resource_code) == sorted(again, key=lambda e: e.resource_code)
    assert first != list(synthetic.catalog(departments, SPEC, seed=4))
    assert len({e.resource_code for e in first}) == len(first) == 8000


def test_generated_entries_are_valid_and_follow_the_mix():
    spec = CatalogSpec(entries_per_department=6000, data_items=(3, 5),
                       share_types=(("unconditional", 60), ("conditional", 30), ("not_shared", 10)))
    entries = list(synthetic.department_entries("130000099", "河北省文化和旅游厅", spec, seed=1))
    for entry in entries[:500]:
        validate_entry(entry)
    share = collections.Counter(e.share_type for e in entries)
    assert abs(share["unconditional"] / 6000 - 0.6) < 0.03 and abs(share["not_shared"] / 6000 - 0.1) < 0.02
    assert all(3 <= len(e.data_items) <= 5 for e in entries)
    assert len({e.update_cycle for e in entries}) == 8
    assert any("（" in e.name for e in entries) and all(e.region_code == "130000" for e in entries)


def test_a_kind_of_department_leans_its_own_way():
    police = collections.Counter(e.share_type for e in synthetic.department_entries("130000001", "河北省公安厅", SPEC))
    data = collections.Counter(e.share_type for e in synthetic.department_entries("130000008", "河北省政务服务和数据管理局", SPEC))
    assert police["not_shared"] > 2 * data["not_shared"] and data["unconditional"] > police["unconditional"]
    cycles = collections.Counter(e.update_cycle for e in synthetic.department_entries("130000001", "河北省公安厅", SPEC))
    assert cycles.most_common(1)[0][0] == "realtime"


def test_the_workload_plan_is_deterministic():
    from harness import compose
    s = scenario_mod.load(SMOKE)
    known = workload.Catalog(s, compose.load(s.compose))
    first, again = workload.plan(s, known), workload.plan(s, workload.Catalog(s, compose.load(s.compose)))
    assert first == again
    kinds = collections.Counter(e.kind for e in first)
    assert kinds == {"publish": 30, "update": 15, "withdraw": 6, "request": 30, "search": 40}
    assert all(0 < e.at < s.duration for e in first)


def test_a_big_catalog_is_published_in_chunks_and_only_a_sample_is_held(monkeypatch):
    from harness import compose
    s = scenario_mod.load(SMOKE)
    s = dataclasses.replace(s, catalog=dataclasses.replace(s.catalog, entries_per_department=450))
    monkeypatch.setattr(workload.Catalog, "KEEP", 100)
    known = workload.Catalog(s, compose.load(s.compose))
    assert len(known.entries) == 100 * len(known.departments)
    chunks = list(known.seed_chunks("hebei", size=200))
    published = [e for chunk in chunks for e in chunk]
    assert max(map(len, chunks)) == 200 and len(published) == 450 * 9
    assert len({e.resource_code for e in published}) == len(published)
    assert chunks == list(known.seed_chunks("hebei", size=200))  # the same seed, the same entries
    # the sample the workload draws on is what was published
    code = published[0].provider_code
    assert [e for c, e in known.entries.items() if c.startswith(code)] == published[:100]


# -- end to end --------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(180)
def test_smoke_scenario_runs_and_every_invariant_holds(tmp_path):
    from click.testing import CliRunner

    from cli import main

    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["sim", "run", fast_smoke(tmp_path), "--out", str(out), "--state", str(tmp_path / "fed")])
    assert result.exit_code == 0, result.output
    assert "every invariant held" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["all_invariants_held"] and all(c["held"] for c in report["invariants"].values())
    assert report["invariants"]["hub_converged_after_every_fault"]["after_faults"] == 3
    assert report["invariants"]["no_request_lost_or_answered_twice"]["filed"] > 10
    assert report["lag"]["samples"] > 50 and report["latency_ms"]["search"]["count"] == 40
    assert report["catalog"]["entries"] == 5 * 33 and report["memory_mib"]["hub_peak"] > 20
    for chart in ("lag.png", "convergence.png", "throughput.png", "latency.png", "requests_in_time.png", "memory.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "every invariant held" in (out / "report.md").read_text()
    # the report can be drawn again from report.json alone
    (out / "report.md").unlink()
    (out / "lag.png").unlink()
    redrawn = CliRunner().invoke(main, ["sim", "report", str(out)])
    assert redrawn.exit_code == 0, redrawn.output
    assert "every invariant held" in (out / "report.md").read_text() and (out / "lag.png").stat().st_size > 10_000


def test_charts_find_a_cjk_font():
    from sim import report

    assert report.cjk_font() in report.CJK_FONTS  # fonts-noto-cjk, as .ci/run installs it


def test_the_report_is_built_from_what_the_run_hands_it():
    from harness import compose
    from sim import report
    from sim.invariants import Books

    s = scenario_mod.load(SMOKE)
    known = workload.Catalog(s, compose.load(s.compose))
    hebei = {"behind": 3, "since_success": 2.0, "state": "ok"}
    played = report.Played(hub_id="national", timings={"up_seconds": 4.0, "play_wall_seconds": 40.0},
                           metrics=workload.Metrics(), books=Books(),
                           lag=[{"at": 0.0, "rss_mib": {"national": 80.0, "hebei": 50.0}, "peers": {"hebei": hebei}},
                                {"at": 60.0, "rss_mib": {"national": 90.0, "hebei": 40.0}, "peers": {}, "error": "UNAVAILABLE"}],
                           faults=[], planned=121, unplayed=2)
    result = report.build(s, SimClock(s.start, s.factor, s.calendar), played, {"writes": {"held": True}}, known)
    assert result["workload"]["planned_events"] == 121 and result["workload"]["unplayed"] == 2
    assert result["scenario"]["hub"] == "national" and result["timings"]["up_seconds"] == 4.0
    assert result["lag"] == {"samples": 2, "max_behind": {"hebei": 3}, "hub_unreachable_samples": 1}
    assert result["memory_mib"]["hub_peak"] == 90.0 and result["memory_mib"]["largest_other_peak"] == 50.0
    assert result["all_invariants_held"]


def test_a_run_ended_by_sigterm_brings_its_federation_down(tmp_path):
    from harness.processes import alive

    state = tmp_path / "fed"
    run = subprocess.Popen([sys.executable, "-m", "cli", "sim", "run", fast_smoke(tmp_path), "--out",
                            str(tmp_path / "report"), "--state", str(state)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, pids = time.monotonic() + 120, []
        while not pids:  # every node of the federation up and recorded
            assert time.monotonic() < deadline and run.poll() is None, "the federation did not come up"
            time.sleep(0.2)
            try:
                nodes = json.loads((state / "state.json").read_text()).get("nodes", {})
            except (OSError, ValueError):
                continue
            if len(nodes) == 6 and all(alive(n.get("pid")) for n in nodes.values()):
                pids = [n["pid"] for n in nodes.values()]
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
        assert not [pid for pid in pids if alive(pid)]
    finally:
        if run.poll() is None:
            run.kill()
