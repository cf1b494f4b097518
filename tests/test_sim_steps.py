"""The simulator and the request lifecycle: the scenario's step proportions, the invariants that
read a lifecycle's history (a coordinator's grant after a refusal is not a second answer), and
the report's count and time of each step. The disputes run itself is committed under
reports/disputes (scenarios/disputes.yaml); the smoke run in tests/test_sim.py plays the steps
through real nodes."""

from __future__ import annotations

import pytest
import yaml

from conftest import ROOT
from node.errors import ConfigError
from node.proto import sharing_pb2
from sim import report, scenario as scenario_mod
from sim.invariants import Books, Filed, history_problems

DISPUTES = ROOT / "scenarios" / "disputes.yaml"


def copy(*states: str) -> sharing_pb2.SharingRequest:
    return sharing_pb2.SharingRequest(history=[sharing_pb2.RequestEvent(version=i + 1, state=s)
                                               for i, s in enumerate(states)])


@pytest.mark.parametrize("states", [
    ("review", "returned", "resubmitted", "returned", "resubmitted", "passed", "pending", "extended", "rejected",
     "objected", "granted"),  # returned twice, refused, then shared by the coordinator
    ("submitted", "rejected", "objected", "rejected"),  # the coordinator upholds the refusal
    ("submitted", "pending", "withdrawn"),
])
def test_a_lifecycle_history_is_not_answered_twice(states):
    assert history_problems(copy(*states)) == []


@pytest.mark.parametrize("states, problem", [
    (("submitted", "pending", "granted", "rejected"), "answered twice"),
    (("submitted", "rejected", "objected", "granted", "rejected"), "answered twice"),
    (("submitted", "pending", "extended", "extended", "granted"), "extended twice"),
    (("submitted", "pending", "objected", "granted"), "objected to what was not refused"),
])
def test_what_the_lifecycle_forbids_is_still_found(states, problem):
    assert any(problem in p for p in history_problems(copy(*states)))


def test_the_final_state_is_the_coordinators_when_there_was_one():
    filed = Filed("r", "130000001", "hebei", "440000001", "guangdong", "440000001/1", "conditional", 0.0,
                  decided_at=1.0, decision="rejected")
    assert filed.final == "rejected"
    filed.objected_at = 2.0
    assert filed.final == "objected"  # the run ended before the coordinator decided
    filed.coordination = "granted"
    assert filed.final == "granted"


def test_disputes_scenario_makes_coordination_common():
    s = scenario_mod.load(DISPUTES)
    steps = s.workload.steps
    assert steps.object_share >= 0.5 and steps.return_share > 0 and steps.extend_share > 0
    assert s.workload.approve_share < 0.5  # refusals, and with them objections, are common
    assert s.wall_seconds <= 120


def test_bad_step_proportions_name_the_key():
    data = yaml.safe_load(DISPUTES.read_text())
    data["workload"]["steps"]["object_share"] = 2
    with pytest.raises(ConfigError) as caught:
        scenario_mod.parse(data, "d.yaml", base_dir=DISPUTES.parent)
    assert caught.value.key == "workload.steps.object_share"
    data["workload"]["steps"] = {"escalate_share": 0.1}
    with pytest.raises(ConfigError, match="escalate_share"):
        scenario_mod.parse(data, "d.yaml", base_dir=DISPUTES.parent)


def test_the_report_counts_and_times_each_step():
    books = Books()
    filed = Filed("r", "130000001", "hebei", "440000001", "guangdong", "440000001/1", "conditional", 0.0)
    for step, days in (("pass", 1), ("object", 2), ("object", 4), ("share", 3)):
        books.step(step, filed, 0.0, days * 86400)
    steps = report._steps(books)
    assert steps["object"] == {"count": 2, "median_days": 4.0, "p90_days": 4.0, "max_days": 4.0}
    assert steps["share"]["count"] == 1 and steps["escalate"]["count"] == 0
    assert set(steps) == set(report.STEP_NAMES)  # every step a row, in Chinese in the charts
