"""The service-hall scenario's file and its invariants, on made-up calls (the scenario itself runs
against a whole federation: `cascade sim run scenarios/service-hall.yaml`, reports/service-hall/)."""

from __future__ import annotations

import types

import pytest
import yaml

from conftest import ROOT
from node.errors import ConfigError
from sim import hall_plan
from sim.hall import Call, Grant, check


def test_the_bundled_scenario_loads_and_its_day_peaks_in_the_morning():
    hall = hall_plan.load(ROOT / "scenarios" / "service-hall.yaml")
    assert hall.rate_at(hall.wall_at(9 * 60 + 30)) == hall.calls_per_second * hall.peak_factor
    assert hall.rate_at(hall.wall_at(15 * 60)) == hall.calls_per_second
    assert hall.open_minute <= hall.fault_minute < hall.peak[1]  # the hub dies in the morning's peak


def test_a_bad_value_is_named_with_its_key(tmp_path):
    data = yaml.safe_load((ROOT / "scenarios" / "service-hall.yaml").read_text(encoding="utf-8"))
    data["compose"] = str(ROOT / "configs" / "federation-small.yaml")
    data["fault"] = {"at": "25:00"}
    path = tmp_path / "hall.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        hall_plan.load(path)
    assert caught.value.key == "fault.at" and "HH:MM" in caught.value.rule


def grant(request_id: str, quota: int) -> Grant:
    source = hall_plan.Source(types.SimpleNamespace(provider_code="100000110"), "mps", "公民身份号码", ("姓名",))
    return Grant("hebei", "130100005", source, request_id, quota, ("公民身份号码", "姓名"))


def day_of(*calls: Call):
    return types.SimpleNamespace(calls=list(calls), grants=sorted({id(c.grant): c.grant for c in calls}.values(),
                                                                  key=lambda g: g.request_id))


def test_each_answered_call_counted_once_by_its_id_holds_and_anything_else_does_not():
    g = grant("hebei-1", 50)
    batch, single = Call(1.0, 0.01, g, "batch", 40, "c1", "ok", attempts=2), Call(1.1, 0.01, g, "verify", 1, "c2", "ok")
    refused = Call(1.2, 0.01, g, "verify", 1, "c3", "daily_quota")
    day = day_of(batch, single, refused)
    held = check(day, {"hebei-1": {"c1": 40, "c2": 1}})
    assert all(c["held"] for c in held.values()) and held["no_call_counted_twice"]["retried_calls"] == 1
    assert held["quotas_held"]["quota_refusals"] == 1
    assert not check(day, {"hebei-1": {"c1": 80, "c2": 1}})["no_call_counted_twice"]["held"]  # the batch twice
    assert not check(day, {"hebei-1": {"c1": 40, "c2": 1, "c9": 1}})["no_call_counted_twice"]["held"]  # an id never sent
    assert not check(day_of(Call(1.0, 0.01, grant("hebei-2", 10), "batch", 40, "c1", "ok")),
                     {"hebei-2": {"c1": 40}})["quotas_held"]["held"]  # beyond the quota
    leaked = Call(1.0, 0.01, g, "verify", 1, "c1", "ok", leaks=1)
    assert not check(day_of(leaked), {"hebei-1": {"c1": 1}})["verify_returned_no_value"]["held"]


def test_a_service_halls_report_is_drawn_again_from_its_report_json(tmp_path):
    from click.testing import CliRunner

    from cli import main

    out = tmp_path / "service-hall"
    out.mkdir()
    (out / "report.json").write_bytes((ROOT / "reports" / "service-hall" / "report.json").read_bytes())
    result = CliRunner().invoke(main, ["sim", "report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").read_text(encoding="utf-8") == \
        (ROOT / "reports" / "service-hall" / "report.md").read_text(encoding="utf-8")
    for chart in ("calls_per_second.png", "latency.png", "owners.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_query_answer_is_held_to_the_record_masked_by_each_items_rule():
    from conftest import make_entry
    from node.model.rules import DataItem
    from sim.hall import granted_row
    from sim.hall_plan import Source

    entry = make_entry("440000001", data_items=(DataItem("公民身份号码", "string", 18, key=True, personal="id_number"),
                                                DataItem("姓名", "string", 0, personal="name"),
                                                DataItem("民族", "string", 0)))
    source = Source(entry, "guangdong", "公民身份号码", ("姓名", "民族"),
                    [("44010319900101123X", {"姓名": "许华", "民族": "汉族"})])
    g = Grant("hebei", "130100005", source, "hebei-1", 0, ("公民身份号码", "姓名", "民族"))
    assert granted_row(g, {"公民身份号码": "44010319900101123X"}) == ("440103********123X", "许*", "汉族")
    assert granted_row(g, {"公民身份号码": "Z4010319900101123X"}) is None  # no such record
