"""Prometheus on Kubernetes for the nodes' metrics: a ServiceMonitor and a PrometheusRule for the
Prometheus Operator, the Grafana dashboard as a ConfigMap (the label Grafana's dashboard sidecar
looks for), and, for a plain Prometheus, `prometheus.yml` that finds the nodes' Services through
Kubernetes service discovery, with the same alert rules beside it. The rules and the dashboard are
the ones in configs/ (read when the tree is written), so there is one copy to maintain."""

from __future__ import annotations

import pathlib
import shutil

import yaml

from deploy import manifests as m

ROOT = pathlib.Path(__file__).resolve().parent.parent
ALERTS = ROOT / "configs" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "configs" / "grafana" / "cascade.json"
SCRAPE_INTERVAL = "30s"
LABELS = {**m.APP, "app.kubernetes.io/component": "monitoring"}


def service_monitor(namespace: str) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "cascade-nodes", "labels": LABELS},
        "spec": {
            "namespaceSelector": {"matchNames": [namespace]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": m.APP["app.kubernetes.io/name"],
                                         "app.kubernetes.io/component": "node"}},
            "targetLabels": [m.NODE_LABEL, m.ROLE_LABEL],
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": SCRAPE_INTERVAL, "scheme": "http"}],
        },
    }


def prometheus_rule() -> dict:
    rules = yaml.safe_load(ALERTS.read_text())
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "cascade-alerts", "labels": LABELS},
            "spec": {"groups": rules["groups"]}}


def plain_prometheus(namespace: str) -> dict:
    """scrape_configs for a Prometheus that is not run by the operator (in-cluster, with RBAC to
    list endpoints): every endpoint named `metrics` of a node's Service."""
    keep = [
        {"source_labels": ["__meta_kubernetes_service_label_app_kubernetes_io_component"], "regex": "node",
         "action": "keep"},
        {"source_labels": ["__meta_kubernetes_endpoint_port_name"], "regex": "metrics", "action": "keep"},
        {"source_labels": ["__meta_kubernetes_service_label_cascade_node"], "target_label": "cascade_node"},
        {"source_labels": ["__meta_kubernetes_service_label_cascade_role"], "target_label": "cascade_role"},
    ]
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [{
            "job_name": "cascade-nodes",
            "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": [namespace]}}],
            "relabel_configs": keep,
        }],
    }


def write(out: pathlib.Path, namespace: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    dump = lambda name, doc: (out / name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))  # noqa: E731
    dump("servicemonitor.yaml", service_monitor(namespace))
    dump("prometheusrule.yaml", prometheus_rule())
    shutil.copyfile(DASHBOARD, out / "cascade.json")
    dump("kustomization.yaml", {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": namespace,
        "resources": ["servicemonitor.yaml", "prometheusrule.yaml"],
        "configMapGenerator": [{"name": "cascade-grafana-dashboard", "files": ["cascade.json"],
                                "options": {"disableNameSuffixHash": True,
                                            "labels": {"grafana_dashboard": "1", **LABELS}}}],
    })
    dump("prometheus.yml", plain_prometheus(namespace))
    shutil.copyfile(ALERTS, out / "alerts.yml")
