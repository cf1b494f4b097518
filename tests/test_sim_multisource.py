"""The multi-source scenario's file: the committed one loads, a bad one is refused naming the key
(the run itself is `cascade sim run scenarios/multi-source.yaml`, committed under reports/)."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from conftest import ROOT
from node.errors import ConfigError
from sim import multisource

SCENARIO = ROOT / "scenarios" / "multi-source.yaml"


def test_the_committed_scenario_loads():
    scenario = multisource.load(SCENARIO)
    assert [c["department"] for c in scenario["copies"]] == ["130000002", "440000003"]
    assert pathlib.Path(scenario["compose"]).exists()


@pytest.mark.parametrize("change, key", [
    ({"copies": [{"node": "hebei", "department": "130000002", "name": "x", "province": "130000", "people": 5,
                  "errors": 9}]}, "copies[0].errors"),
    ({"surprise": 1}, "surprise"),
    ({"compose": "nowhere.yaml"}, "compose"),
])
def test_a_bad_scenario_names_the_key(tmp_path, change, key):
    data = yaml.safe_load(SCENARIO.read_text(encoding="utf-8")) | change
    data["compose"] = str(SCENARIO.parent / data["compose"])
    if "nowhere" in str(change):
        data["compose"] = "nowhere.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        multisource.load(path)
    assert key in str(caught.value)
