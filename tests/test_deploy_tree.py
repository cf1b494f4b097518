"""`cascade deploy kubernetes`: the kustomize tree of the whole 1+32+10 federation and of one node
builds with kustomize, every object is valid against the Kubernetes API schemas of a current
release, every node's config passes `cascade node check-config`, and no secret value is found
anywhere but in a Secret."""

from __future__ import annotations

import base64
import pathlib

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from cli import main
from deploy_support import kustomize, make_pki, mount, node_configs, secrets
from harness import compose as compose_mod
from node.security import tokens
from node.store import Store

from conftest import ROOT

FULL = ROOT / "configs" / "federation-full.yaml"
K8S_VERSION = "1.32.0"  # the schemas bundled with kubernetes-validate; the release on this machine's kubectl
CRDS = {"monitoring.coreos.com/v1"}  # the Prometheus Operator's kinds: no schema in the Kubernetes API


def deploy(*args: str) -> None:
    result = CliRunner().invoke(main, ["deploy", "kubernetes", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The full federation's tree, its PKI, and what kustomize builds from it."""
    base = tmp_path_factory.mktemp("deploy")
    compose = compose_mod.load(FULL)
    deploy(str(FULL), "--out", str(base / "tree"))
    pki_dir = make_pki(base / "pki", [n.id for n in compose.all])
    return {"tree": base / "tree", "pki": pki_dir, "objects": kustomize(base / "tree"), "compose": compose,
            "base": base}


def validate(objects: list[dict]) -> None:
    for obj in objects:
        if obj["apiVersion"] in CRDS:
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_the_full_federation_is_one_statefulset_service_configmap_and_policy_per_node(full):
    objects, compose = full["objects"], full["compose"]
    assert len(compose.all) == 43
    sets = of_kind(objects, "StatefulSet")
    assert sorted(sets) == sorted(f"cascade-{n.id}" for n in compose.all)
    services = of_kind(objects, "Service")
    assert set(services) == set(sets) | {"cascade-portal"}
    assert len(node_configs(objects)) == 43
    assert set(of_kind(objects, "NetworkPolicy")) == set(sets) | {"cascade-portal"}
    assert "cascade-portal" in of_kind(objects, "Deployment")
    for name, sts in sets.items():
        assert sts["spec"]["replicas"] == 1
        assert sts["spec"]["serviceName"] == name
        assert sts["metadata"]["namespace"] == "cascade"
        # each Service picks exactly its own node's pod
        assert services[name]["spec"]["selector"] == sts["spec"]["template"]["metadata"]["labels"]
        pod = sts["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["args"] == ["node", "run", "--config", "/etc/cascade/config/node.yaml"]
        assert {"requests", "limits"} <= set(container["resources"])
        assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
        tls = next(v for v in pod["volumes"] if v["name"] == "tls")
        assert tls["secret"]["secretName"] == f"{name}-tls"
    backups = of_kind(objects, "CronJob")
    assert len(backups) == 43
    for name in sets:
        job = backups[name.replace("cascade-", "cascade-backup-", 1)]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert "cascade node backup --config /etc/cascade/config/node.yaml" in job["containers"][0]["command"][-1]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in job["volumes"] if "persistentVolumeClaim" in v}
        # the StatefulSet's claim of its one pod, and a volume of its own for the copies
        assert claims == {"data": f"data-{name}-0", "backups": name.replace("cascade-", "cascade-backups-", 1)}
        assert claims["backups"] in of_kind(objects, "PersistentVolumeClaim")
        (same_machine,) = job["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert same_machine["labelSelector"]["matchLabels"] == sets[name]["spec"]["template"]["metadata"]["labels"]
    hub = sets["cascade-national"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert hub["limits"]["memory"] == "1Gi"  # the hub holds every node's catalog: more than a province


def test_every_object_is_valid_against_the_kubernetes_schemas(full):
    validate(full["objects"])


def test_the_monitoring_is_built_and_valid(full):
    objects = kustomize(full["tree"] / "monitoring")
    validate(objects)
    kinds = {o["kind"]: o for o in objects}
    assert set(kinds) == {"ServiceMonitor", "PrometheusRule", "ConfigMap"}
    alerts = yaml.safe_load((ROOT / "configs" / "prometheus" / "alerts.yml").read_text())
    assert kinds["PrometheusRule"]["spec"]["groups"] == alerts["groups"]
    assert kinds["ServiceMonitor"]["spec"]["endpoints"][0]["port"] == "metrics"
    assert kinds["ConfigMap"]["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "cascade.json" in kinds["ConfigMap"]["data"]


def test_every_node_config_passes_check_config(full, tmp_path):
    configs = node_configs(full["objects"])
    runner = CliRunner()
    for node_id, config in sorted(configs.items()):
        path = tmp_path / f"{node_id}.yaml"
        path.write_text(yaml.safe_dump(mount(config, full["pki"], tmp_path / node_id), allow_unicode=True))
        result = runner.invoke(main, ["node", "check-config", str(path)])
        assert result.exit_code == 0, f"{node_id}: {result.output}"
    hub = configs["national"]
    assert {p["id"]: p["address"] for p in hub["peers"]}["hebei"] == "cascade-hebei:50051"
    assert configs["hebei"]["hub"] == {"address": "cascade-national:50051", "notify": True, "id": "national"}


def test_a_peer_takes_grpc_only_from_the_hub_and_portal_and_metrics_only_from_monitoring(full):
    policy = of_kind(full["objects"], "NetworkPolicy")["cascade-hebei"]["spec"]
    sets = of_kind(full["objects"], "StatefulSet")
    labels = {name: s["spec"]["template"]["metadata"]["labels"] for name, s in sets.items()}
    grpc_rule, metrics_rule = policy["ingress"]
    assert grpc_rule["ports"] == [{"port": 50051, "protocol": "TCP"}]
    admitted = [name for name, pod in labels.items()
                if any(all(pod.get(k) == v for k, v in peer["podSelector"]["matchLabels"].items())
                       for peer in grpc_rule["from"])]
    assert admitted == ["cascade-national"]  # of the nodes, only the hub
    assert metrics_rule == {"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}], "ports": [{"port": 9464, "protocol": "TCP"}]}
    assert all(labels["cascade-hebei"].get(k) == v for k, v in policy["podSelector"]["matchLabels"].items())
    assert not all(labels["cascade-guangdong"].get(k) == v for k, v in policy["podSelector"]["matchLabels"].items())


def test_secrets_come_from_pki_files_and_no_secret_value_is_outside_a_secret(full):
    made = secrets(full["tree"], full["pki"])
    validate(made)
    assert {s["metadata"]["name"] for s in made} == {f"cascade-{n.id}-tls" for n in full["compose"].all} | {
        "cascade-portal"}
    # A department token, issued in the node's database as docs/deploy.md shows, is a secret value too.
    store = Store(full["base"] / "hebei.db", synchronous="normal")
    with store.transaction() as tx:
        token, _ = tokens.issue(tx.conn, "130000001")
    store.close()
    values = {token} | {base64.b64decode(v).decode() for s in made for v in s["data"].values()}
    values |= {p.read_text() for p in full["pki"].iterdir() if p.suffix == ".key"}
    assert all(len(v) >= 32 for v in values)
    outside = [o for o in full["objects"] if o["kind"] != "Secret"]
    text = yaml.safe_dump_all(outside, allow_unicode=True)
    text += "".join(p.read_text(errors="replace") for p in full["tree"].rglob("*") if p.is_file())
    for value in values:
        for line in value.strip().splitlines():
            if len(line) >= 16 and "-----" not in line:  # PEM armour lines are not secret
                assert line not in text, "a secret value is in the tree or in an object that is not a Secret"
    assert not any(o["kind"] == "Secret" for o in full["objects"]), "the tree itself holds no Secret"


def test_one_province_deploys_its_own_node(tmp_path):
    deploy(str(FULL), "--out", str(tmp_path / "hebei"), "--node", "hebei", "--hub-address", "hub.example.cn:443")
    objects = kustomize(tmp_path / "hebei")
    validate(objects)
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "StatefulSet"] == ["cascade-hebei"]
    assert not [o for o in objects if o["kind"] == "Deployment"]  # the portal stays with the hub
    (config,) = node_configs(objects).values()
    assert config["hub"]["address"] == "hub.example.cn:443"
    assert sorted(p.name for p in (tmp_path / "hebei" / "base").iterdir()) == ["provincial"]


def test_an_unknown_node_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["deploy", "kubernetes", str(FULL), "--out", str(tmp_path), "--node", "atlantis"])
    assert result.exit_code == 1 and "no node 'atlantis'" in result.output


def test_plain_prometheus_scrapes_the_nodes_with_the_alert_rules(full):
    import shutil
    import subprocess

    config = yaml.safe_load((full["tree"] / "monitoring" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"] and (full["tree"] / "monitoring" / "alerts.yml").exists()
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "endpoints", "namespaces": {"names": ["cascade"]}}]
    if not shutil.which("promtool"):
        pytest.skip("promtool (Debian's prometheus package) is not installed")
    path = full["tree"] / "monitoring" / "prometheus.yml"
    out = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    if "kubernetes_sd_configs not found" in out.stdout + out.stderr:
        # Debian's prometheus is built without Kubernetes discovery: check the rest of the file
        # (relabelling, rule files) with the discovery swapped for a static target.
        job["static_configs"] = [{"targets": ["cascade-hebei:9464"]}]
        del job["kubernetes_sd_configs"]
        path = path.with_name("prometheus-static.yml")
        path.write_text(yaml.safe_dump(config))
        out = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
