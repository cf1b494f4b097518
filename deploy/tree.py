"""Writes the kustomize tree of a federation (or of one of its nodes) from its compose file:

    kustomization.yaml        the whole federation (namespace, every node, the portal)
    base/<role>/              StatefulSet, Service, NetworkPolicy, backup CronJob of a national, provincial or ministry node
    base/portal/              the portal's Deployment, Service, NetworkPolicy
    nodes/<id>/               one overlay per node: its config (node.yaml, into a ConfigMap) and its patches
    monitoring/               ServiceMonitor, PrometheusRule, the Grafana dashboard; prometheus.yml for plain Prometheus
    secrets.sh                makes the Secrets from `cascade pki` files (the values never enter the tree)

Each node's config is the harness's (`harness.compose.node_yaml`) with Kubernetes addresses: peers
and hub by their Service names, the database on the volume, TLS files from the mounted Secret.
"""

from __future__ import annotations

import pathlib
import shutil

import yaml

from deploy import manifests as m
from deploy import monitoring, secrets_script
from harness import compose as compose_mod

KUSTOMIZATION = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
SHUTDOWN_GRACE = 15  # seconds in-flight calls get on SIGTERM; the pod's grace is longer (manifests)
DEFAULT_NAMESPACE = "cascade"


def node_config(compose: compose_mod.Compose, spec: compose_mod.NodeSpec, hub_address: str = "") -> dict:
    """The node's config as it runs in its pod."""
    peers = {n.id: f"{m.service_name(n.id)}:{m.GRPC_PORT}" for n in compose.nodes}
    hub = hub_address or f"{m.service_name(compose.hub.id)}:{m.GRPC_PORT}"
    tls = {"cert": f"{m.TLS_DIR}/tls.crt", "key": f"{m.TLS_DIR}/tls.key", "ca": f"{m.TLS_DIR}/ca.crt"}
    data = compose_mod.node_yaml(compose, spec, f"0.0.0.0:{m.GRPC_PORT}", peers, f"{m.DATA_DIR}/node.db", hub, tls)
    data["metrics"] = {"listen": f"0.0.0.0:{m.METRICS_PORT}"}  # the NetworkPolicy keeps it to monitoring
    data["shutdown_grace"] = SHUTDOWN_GRACE
    return data


def _dump(path: pathlib.Path, *documents: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False))


def _base(out: pathlib.Path, role: str) -> None:
    base = out / "base" / role
    _dump(base / "statefulset.yaml", m.statefulset(role, SHUTDOWN_GRACE))
    _dump(base / "service.yaml", m.service(role))
    _dump(base / "networkpolicy.yaml", m.network_policy(role))
    _dump(base / "backup.yaml", *m.backup_objects(role))
    _dump(base / "kustomization.yaml", {**KUSTOMIZATION, "resources": [
        "statefulset.yaml", "service.yaml", "networkpolicy.yaml", "backup.yaml"]})


def _overlay(out: pathlib.Path, compose: compose_mod.Compose, spec: compose_mod.NodeSpec, hub_address: str) -> None:
    overlay = out / "nodes" / spec.id
    _dump(overlay / "node.yaml", node_config(compose, spec, hub_address))
    _dump(overlay / "patch.yaml", *m.node_patch(spec.id, spec.role))
    _dump(overlay / "kustomization.yaml", {
        **KUSTOMIZATION,
        "resources": [f"../../base/{spec.role}"],
        "nameSuffix": m.service_name(spec.id)[len("cascade"):],
        "labels": [{"pairs": {m.NODE_LABEL: spec.id}}],
        "configMapGenerator": [{"name": "cascade-config", "files": ["node.yaml"]}],
        "patches": [{"path": "patch.yaml"}],
    })


def _portal(out: pathlib.Path, compose: compose_mod.Compose) -> None:
    base = out / "base" / "portal"
    deployment, svc, policy = m.portal_objects(compose.hub.id, [n.id for n in compose.all])
    _dump(base / "deployment.yaml", deployment)
    _dump(base / "service.yaml", svc)
    _dump(base / "networkpolicy.yaml", policy)
    _dump(base / "kustomization.yaml", {**KUSTOMIZATION,
                                        "resources": ["deployment.yaml", "service.yaml", "networkpolicy.yaml"]})


def write(compose_path: str | pathlib.Path, out: str | pathlib.Path, *, node_id: str | None = None,
          hub_address: str = "", namespace: str = DEFAULT_NAMESPACE) -> list[str]:
    """Writes the tree into `out` (replacing a tree written there before); returns the node ids
    it holds. With node_id, only that node (and the base of its role): a province deploying its
    own node, reaching a hub elsewhere at hub_address when given."""
    compose = compose_mod.load(compose_path)
    specs = [compose.node(node_id)] if node_id else list(compose.all)
    out = pathlib.Path(out)
    for part in ("base", "nodes", "monitoring"):
        shutil.rmtree(out / part, ignore_errors=True)
    for role in sorted({spec.role for spec in specs}):
        _base(out, role)
    for spec in specs:
        _overlay(out, compose, spec, hub_address)
    resources = ["namespace.yaml", *(f"nodes/{spec.id}" for spec in specs)]
    whole = node_id is None
    if whole and compose.portal:
        _portal(out, compose)
        resources.append("base/portal")
    _dump(out / "namespace.yaml", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    _dump(out / "kustomization.yaml", {**KUSTOMIZATION, "namespace": namespace, "resources": resources})
    monitoring.write(out / "monitoring", namespace)
    secrets_script.write(out / "secrets.sh", specs, namespace, portal=whole and compose.portal)
    return [spec.id for spec in specs]
