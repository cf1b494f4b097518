"""`cascade sim run SCENARIO --federation FILE`: the simulator drives a federation it did not
start, described by a file (addresses, the operator's certificate, departments' tokens, where
faults land). Here the federation is a harness one with the harness's faults, so the code that
drives a deployed federation is the code under test; the Kubernetes fault target is checked
against a stand-in kubectl that records what it is asked to do."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from conftest import ROOT
from harness.processes import HarnessError
from node.errors import ConfigError
from sim import remote, targets
from test_sim import fast_smoke

SMOKE = ROOT / "scenarios" / "smoke.yaml"


def write(path, data: dict):
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    path.chmod(0o600)
    return path


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_scenario_through_a_federation_file_holds_every_invariant(federation, tmp_path):
    fed = federation("configs/federation-small.yaml")
    described = remote.describe_harness(fed)
    assert described["faults"] == {"kind": "harness", "state": str(fed.dir)}
    file = write(tmp_path / "federation.yaml", described)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["sim", "run", fast_smoke(tmp_path), "--out", str(out), "--federation", str(file)])
    assert result.exit_code == 0, result.output
    assert "driving the federation of" in result.output and "every invariant held" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["all_invariants_held"] and all(c["held"] for c in report["invariants"].values())
    assert report["invariants"]["hub_converged_after_every_fault"]["after_faults"] == 3
    assert all(f.get("converged") and "error" not in f for f in report["faults"]), report["faults"]
    assert report["invariants"]["no_request_lost_or_answered_twice"]["filed"] > 10
    # the run did not start the federation, so it leaves it running (read its state again: the
    # harness's faults restarted a node under another pid)
    from harness.runner import Federation

    assert {row["node"]: row["health"] for row in Federation(fed.dir).ps()} == {n: "serving" for n in fed.state["nodes"]}


def test_a_federation_file_is_checked_naming_file_key_and_rule(tmp_path):
    good = {"hub": "national", "nodes": {"national": {"address": "127.0.0.1:1"}}, "faults": {"kind": "kubernetes"}}
    assert remote.load(write(tmp_path / "ok.yaml", good)).hub_id == "national"
    for change, key, rule in [
        ({"hub": "hebei"}, "hub", "names no node"),
        ({"nodes": {"national": {"address": "nowhere"}}}, "nodes.national.address", "HOST:PORT"),
        ({"operator": {"cert": "a.pem", "key": "a.key", "ca": "ca.pem"}}, "operator.cert", "no readable file"),
        ({"faults": {"kind": "docker"}}, "faults.kind", "must be one of"),
        ({"faults": {"kind": "harness", "state": "nowhere"}}, "faults.state", "no harness federation"),
        ({"extra": 1}, "extra", "unknown"),
    ]:
        with pytest.raises(ConfigError) as caught:
            remote.load(write(tmp_path / "bad.yaml", {**good, **change}))
        assert caught.value.key == key and rule in caught.value.rule, (change, caught.value)


def test_a_scenario_whose_faults_kubernetes_cannot_apply_is_refused(tmp_path):
    compose = yaml.safe_load((ROOT / "configs" / "federation-small.yaml").read_text())
    nodes = {n["id"]: {"address": "127.0.0.1:1"} for n in [compose["hub"], *compose["nodes"]]}
    file = write(tmp_path / "federation.yaml", {"hub": "national", "nodes": nodes, "faults": {"kind": "kubernetes"}})
    result = CliRunner().invoke(main, ["sim", "run", str(SMOKE), "--out", str(tmp_path / "r"), "--federation", str(file)])
    assert result.exit_code == 1
    assert "does not fit the scenario: its faults cannot apply delay" in result.output  # smoke delays mps's link


@pytest.fixture
def kubectl(tmp_path):
    """A stand-in kubectl: records each call's arguments, answers like kubectl does."""
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "kubectl"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, lambda: [json.loads(line) for line in log.read_text().splitlines()]


def test_kubernetes_faults_delete_the_pod_and_narrow_the_nodes_policy(kubectl):
    path, calls = kubectl
    faults = targets.KubernetesFaults("cascade", context="prod", kubectl=str(path))
    faults.kill("hebei")
    faults.revive("hebei")
    faults.partition("guangdong")
    faults.heal("guangdong")
    kill, revive, cut, heal = calls()
    ns = ["--namespace", "cascade", "--context", "prod"]
    assert kill == ns + ["delete", "pod", "cascade-hebei-0", "--wait=false", "--grace-period=0"]
    assert revive[:len(ns) + 2] == ns + ["rollout", "status"] and "statefulset/cascade-hebei" in revive
    assert cut[len(ns):len(ns) + 4] == ["patch", "networkpolicy", "cascade-guangdong", "--type=json"]
    cut_callers = json.loads(cut[-1])[0]["value"]
    heal_callers = json.loads(heal[-1])[0]["value"]
    hub = {"podSelector": {"matchLabels": {"cascade/role": "national"}}}
    assert hub not in cut_callers and hub in heal_callers
    # heal gives back exactly the policy the tree generated (deploy/manifests.py)
    from deploy import manifests

    assert heal_callers == manifests.network_policy("provincial")["spec"]["ingress"][0]["from"]
    with pytest.raises(HarnessError, match="not applied through kubectl"):
        faults.pause("hebei")
