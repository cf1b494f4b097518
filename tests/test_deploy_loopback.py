"""The configs the Kubernetes tree holds run as a federation: each node's ConfigMap config, with
the pod's volumes at local paths and every Service name mapped to a loopback port (what cluster
DNS does for the pods), starts, the hub pulls its peers by those names over mutual TLS with
certificates made by `cascade pki`, `cascade node probe` answers as the pod's probes ask, and
SIGTERM stops each node well within the pod's grace period."""

from __future__ import annotations

import os
import signal
import time
import subprocess
import sys

import grpc
import pytest
import yaml
from click.testing import CliRunner

from cli import main
from conftest import ROOT, free_port, make_entry
from deploy import manifests
from deploy_support import kustomize, make_pki, mount, node_configs
from harness.processes import HarnessError
from node import wire
from grpc_health.v1 import health_pb2, health_pb2_grpc
from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security import pki, tokens
from node.security.client import Credentials, open_channel
from node.store import Store


def loopback(config: dict, addresses: dict[str, str], pki_dir, data_dir) -> dict:
    """The pod's view on this machine: volumes mounted locally, and each Service name resolved
    to the loopback port its node listens on (a name the map does not hold fails the test)."""
    mounted = mount(config, pki_dir, data_dir)
    node_id = config["node"]["id"]
    assert mounted["listen"] == f"0.0.0.0:{manifests.GRPC_PORT}"
    mounted["listen"] = addresses[f"{manifests.service_name(node_id)}:{manifests.GRPC_PORT}"]
    mounted["metrics"] = {"listen": "127.0.0.1:0"}
    mounted.setdefault("sharing", {})["beyond_calendar"] = "weekdays"  # any day of any year
    for peer in mounted.get("peers", []):
        peer["address"] = addresses[peer["address"]]
    if "hub" in mounted:
        mounted["hub"]["address"] = addresses[mounted["hub"]["address"]]
    return mounted


def wait_serving(address: str, node_id: str, operator: Credentials, proc: subprocess.Popen, timeout: float,
                 log) -> None:
    """Polls the node's health as the operator, checking that its certificate names the node (the
    certificate names its Service, not the loopback address it is reached at here)."""
    deadline = time.monotonic() + timeout
    with open_channel(address, operator, server_name=node_id) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
    raise HarnessError(f"{node_id} at {address} is not serving (exit status {proc.poll()}):\n{tail}")


def run_tree(tmp_path, compose_file: str, province: str, department: str):
    tree = tmp_path / "tree"
    result = CliRunner().invoke(main, ["deploy", "kubernetes", str(ROOT / compose_file), "--out", str(tree)])
    assert result.exit_code == 0, result.output
    configs = node_configs(kustomize(tree))
    pki_dir = make_pki(tmp_path / "pki", list(configs))
    pki.issue(pki_dir, "operator", kind="operator", hosts=("127.0.0.1",))
    operator = Credentials(str(pki_dir / "operator.pem"), str(pki_dir / "operator.key"), str(pki_dir / "ca.pem"))
    addresses = {f"{manifests.service_name(n)}:{manifests.GRPC_PORT}": f"127.0.0.1:{free_port()}" for n in configs}
    paths, procs = {}, {}
    for node_id, config in configs.items():
        (tmp_path / "data" / node_id).mkdir(parents=True)
        paths[node_id] = tmp_path / f"{node_id}.yaml"
        paths[node_id].write_text(yaml.safe_dump(loopback(config, addresses, pki_dir, tmp_path / "data" / node_id),
                                                 allow_unicode=True))
    # a department's token, issued in its node's database before the node starts (docs/deploy.md)
    store = Store(yaml.safe_load(paths[province].read_text())["database"], synchronous="normal")
    with store.transaction() as tx:
        token, _ = tokens.issue(tx.conn, department)
    store.close()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        for node_id, path in paths.items():
            log = open(tmp_path / f"{node_id}.log", "ab")
            procs[node_id] = subprocess.Popen([sys.executable, "-m", "cli", "node", "run", "--config", str(path)],
                                              stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            log.close()
        address = lambda n: addresses[f"{manifests.service_name(n)}:{manifests.GRPC_PORT}"]  # noqa: E731
        for node_id, proc in procs.items():
            wait_serving(address(node_id), node_id, operator, proc, 120, tmp_path / f"{node_id}.log")
        yield {"address": address, "operator": operator, "token": token, "paths": paths, "procs": procs,
               "env": env, "hub": next(n for n, c in configs.items() if c["node"]["role"] == "national")}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def the_hub_pulls_by_service_name(fed, province: str, department: str) -> None:
    entry = make_entry(department, 1, region_code=department[:6], provider_name="公安厅")
    as_department = Credentials(**{**fed["operator"].__dict__, "token": fed["token"]})
    with open_channel(fed["address"](province), as_department, server_name=province) as ch:
        catalog_pb2_grpc.CatalogStub(ch).PublishEntry(
            catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)), timeout=30)
    with open_channel(fed["address"](fed["hub"]), fed["operator"], server_name=fed["hub"]) as ch:
        reply = admin_pb2_grpc.AdminStub(ch).SyncNow(admin_pb2.SyncNowRequest(peer=province, wait=True), timeout=120)
        assert reply.finished
        status = {p.node_id: p for p in admin_pb2_grpc.AdminStub(ch).Status(admin_pb2.StatusRequest(), timeout=30).peers}
        assert status[province].last_error == "" and status[province].entries_at_hub == 1
        got = catalog_pb2_grpc.CatalogStub(ch).GetEntry(
            catalog_pb2.GetEntryRequest(resource_code=entry.resource_code), timeout=30)
        assert got.name == entry.name


def the_probe_and_sigterm_behave_as_the_pod_expects(fed, province: str) -> None:
    probe = subprocess.run([sys.executable, "-m", "cli", "node", "probe", "--config", str(fed["paths"][province])],
                           capture_output=True, text=True, env=fed["env"], cwd=ROOT, timeout=60)
    assert probe.returncode == 0 and "SERVING" in probe.stdout, probe.stderr
    # the backup CronJob's command, on the running node's volume
    copy = fed["paths"][province].with_name("backup.db")
    backup = subprocess.run([sys.executable, "-m", "cli", "node", "backup", "--config", str(fed["paths"][province]),
                             str(copy)], capture_output=True, text=True, env=fed["env"], cwd=ROOT, timeout=60)
    assert backup.returncode == 0 and copy.stat().st_size > 0, backup.stderr
    grace = manifests.statefulset("provincial", 15)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    for proc in fed["procs"].values():
        proc.send_signal(signal.SIGTERM)
    for node_id, proc in fed["procs"].items():
        assert proc.wait(grace) == 0, f"{node_id} did not stop cleanly on SIGTERM"
    down = subprocess.run([sys.executable, "-m", "cli", "node", "probe", "--config", str(fed["paths"][province]),
                           "--timeout", "1"], capture_output=True, text=True, env=fed["env"], cwd=ROOT, timeout=60)
    assert down.returncode == 1 and "UNAVAILABLE" in down.stderr


def test_the_small_federation_runs_from_its_generated_configs(tmp_path):
    for fed in run_tree(tmp_path, "configs/federation-small.yaml", "hebei", "130000001"):
        the_hub_pulls_by_service_name(fed, "hebei", "130000001")
        the_probe_and_sigterm_behave_as_the_pod_expects(fed, "hebei")


@pytest.mark.slow
def test_the_full_federation_runs_from_its_generated_configs(tmp_path):
    for fed in run_tree(tmp_path, "configs/federation-full.yaml", "guangdong", "440000001"):
        the_hub_pulls_by_service_name(fed, "guangdong", "440000001")
        with open_channel(fed["address"](fed["hub"]), fed["operator"], server_name=fed["hub"]) as ch:
            peers = admin_pb2_grpc.AdminStub(ch).Status(admin_pb2.StatusRequest(), timeout=30).peers
        assert len(peers) == 42
        the_probe_and_sigterm_behave_as_the_pod_expects(fed, "guangdong")
