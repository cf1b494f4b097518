"""The Kubernetes objects of one node and of the portal, as plain mappings ready for YAML.

A node is a StatefulSet of one replica (its SQLite file on a persistent volume that follows the
pod), a Service for its gRPC and metrics ports, and a NetworkPolicy. Its config lives in a
ConfigMap that the node's overlay generates; its certificate, key and CA in a Secret the
operator creates (never in the tree). Names: node `hebei` is the Service `cascade-hebei`, which
is how the hub and the portal address it.
"""

from __future__ import annotations

from deploy import sizing

IMAGE = "catalog-cascade:0.1.0"
GRPC_PORT = 50051
METRICS_PORT = 9464
PORTAL_PORT = 8080
UID = 10001  # the image's user (Dockerfile)
MONITORING_NAMESPACE = "monitoring"

CONFIG_DIR = "/etc/cascade/config"
CONFIG_FILE = f"{CONFIG_DIR}/node.yaml"
TLS_DIR = "/etc/cascade/tls"
DATA_DIR = "/var/lib/cascade"

APP = {"app.kubernetes.io/name": "catalog-cascade", "app.kubernetes.io/part-of": "catalog-cascade"}
NODE_LABEL = "cascade/node"
ROLE_LABEL = "cascade/role"

# The probe runs inside the pod: `cascade node probe` asks the node's own Health service over
# mutual TLS with the node's own certificate (docs/deploy.md, "Probes", says why not gRPC probes).
PROBE = ["cascade", "node", "probe", "--config", CONFIG_FILE]


def service_name(node_id: str) -> str:
    """The node's Service, the DNS name other pods reach it by (a node id may hold '_', a DNS label not)."""
    return "cascade-" + node_id.replace("_", "-")


def node_labels(role: str) -> dict:
    return {**APP, "app.kubernetes.io/component": "node", ROLE_LABEL: role}


def _exec_probe(period: int, failures: int, timeout: int = 5) -> dict:
    return {"exec": {"command": PROBE}, "periodSeconds": period, "timeoutSeconds": timeout,
            "failureThreshold": failures}


def _container_security() -> dict:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}}


def _pod_security() -> dict:
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"}}


def statefulset(role: str, grace: float) -> dict:
    """The base StatefulSet of a role (named `cascade`; a node's overlay adds its suffix and label)."""
    labels = node_labels(role)
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "cascade", "labels": labels},
        "spec": {
            "serviceName": "cascade", "replicas": 1,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    # SIGTERM: health NOT_SERVING, in-flight calls get shutdown_grace, the database
                    # closes; the pod's grace covers that with room to spare before SIGKILL.
                    "terminationGracePeriodSeconds": int(grace) + 15,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": _pod_security(),
                    "containers": [{
                        "name": "node", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                        "args": ["node", "run", "--config", CONFIG_FILE],
                        "ports": [{"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
                        "resources": sizing.resources(role),
                        "securityContext": _container_security(),
                        # migrations and a first open of a large file may take a while: up to 5 min
                        "startupProbe": _exec_probe(5, 60),
                        "readinessProbe": _exec_probe(10, 3),
                        "livenessProbe": _exec_probe(30, 4),
                        "volumeMounts": [
                            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                            {"name": "data", "mountPath": DATA_DIR},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "cascade-config"}},
                        # the node's overlay names its own Secret (cascade-<node>-tls)
                        {"name": "tls", "secret": {"secretName": "cascade-tls", "defaultMode": 0o440}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                    ],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": sizing.STORAGE[role]}}},
            }],
        },
    }


def service(role: str) -> dict:
    labels = node_labels(role)
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "cascade", "labels": labels},
        "spec": {"selector": dict(labels),
                 "ports": [{"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc", "protocol": "TCP"},
                           {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"}]},
    }


def network_policy(role: str) -> dict:
    """Who may open a connection to the node: for a peer, only the hub (pulls, deliveries) and the
    portal (signed-in departments' calls) reach gRPC; for the hub, the federation's own pods
    (peers' Notify, the portal); metrics only from the monitoring namespace."""
    if role == "national":
        callers = [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": APP["app.kubernetes.io/name"]}}}]
    else:
        callers = [{"podSelector": {"matchLabels": {ROLE_LABEL: "national"}}},
                   {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "portal"}}}]
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "cascade", "labels": node_labels(role)},
        "spec": {
            "podSelector": {"matchLabels": node_labels(role)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": callers, "ports": [{"port": GRPC_PORT, "protocol": "TCP"}]},
                {"from": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}],
                 "ports": [{"port": METRICS_PORT, "protocol": "TCP"}]},
            ],
        },
    }


BACKUP_DIR = "/var/backups/cascade"
BACKUP_SCHEDULE = "17 2 * * *"  # nightly, off the hour
BACKUP_KEEP_DAYS = 14


def backup_objects(role: str) -> list[dict]:
    """`cascade node backup` (SQLite's online backup, safe while the node runs) as a nightly
    CronJob onto a volume of its own, keeping BACKUP_KEEP_DAYS days. The node's volume is
    ReadWriteOnce, so the job runs on the machine where the node's pod runs (pod affinity)."""
    labels = {**APP, "app.kubernetes.io/component": "backup", ROLE_LABEL: role}
    script = (f'set -eu; cascade node backup --config {CONFIG_FILE} "{BACKUP_DIR}/node-$(date -u +%Y%m%dT%H%M%SZ).db"; '
              f"find {BACKUP_DIR} -name 'node-*.db' -mtime +{BACKUP_KEEP_DAYS} -delete")
    job_pod = {
        "metadata": {"labels": dict(labels)},
        "spec": {
            "restartPolicy": "OnFailure", "automountServiceAccountToken": False, "enableServiceLinks": False,
            "securityContext": _pod_security(),
            "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": node_labels(role)}, "topologyKey": "kubernetes.io/hostname"}]}},
            "containers": [{
                "name": "backup", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/sh", "-c", script],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                "securityContext": _container_security(),
                "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                 {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                                 # not read-only: SQLite reads a WAL database through its -shm file
                                 {"name": "data", "mountPath": DATA_DIR},
                                 {"name": "backups", "mountPath": BACKUP_DIR}],
            }],
            "volumes": [
                {"name": "config", "configMap": {"name": "cascade-config"}},
                {"name": "tls", "secret": {"secretName": "cascade-tls", "defaultMode": 0o440}},
                # the StatefulSet's claim: data-<statefulset>-0 (the overlay names it)
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-cascade-0"}},
                {"name": "backups", "persistentVolumeClaim": {"claimName": "cascade-backups"}},
            ],
        },
    }
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cascade-backup", "labels": labels},
               "spec": {"schedule": BACKUP_SCHEDULE, "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3,
                        "failedJobsHistoryLimit": 3,
                        "jobTemplate": {"spec": {"backoffLimit": 2, "template": job_pod}}}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "cascade-backups", "labels": labels},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": sizing.STORAGE[role]}}}}
    return [cronjob, claim]


def node_patch(node_id: str, role: str) -> list[dict]:
    """The overlay's strategic merge patches: the node's label on every selector (so that each
    Service and policy picks its one pod) and its own TLS Secret."""
    mine = {NODE_LABEL: node_id}
    return [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cascade"},
         "spec": {"serviceName": service_name(node_id), "selector": {"matchLabels": mine},
                  "template": {"metadata": {"labels": mine}, "spec": {"volumes": [
                      {"name": "tls", "secret": {"secretName": f"{service_name(node_id)}-tls"}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cascade"}, "spec": {"selector": mine}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "cascade"},
         "spec": {"podSelector": {"matchLabels": mine}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cascade-backup"},
         "spec": {"jobTemplate": {"spec": {"template": {"spec": {
             "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                 "labelSelector": {"matchLabels": {**node_labels(role), **mine}},
                 "topologyKey": "kubernetes.io/hostname"}]}},
             "volumes": [{"name": "tls", "secret": {"secretName": f"{service_name(node_id)}-tls"}},
                         {"name": "data", "persistentVolumeClaim": {
                             "claimName": f"data-{service_name(node_id)}-0"}}]}}}}}},
    ]


# -- the portal ----------------------------------------------------------------------------------

PORTAL_LABELS = {**APP, "app.kubernetes.io/component": "portal"}
PORTAL_SECRET = "cascade-portal"  # operator.crt/.key, department.crt/.key, ca.crt, session-secret


def portal_objects(hub_id: str, node_ids: list[str]) -> list[dict]:
    """The portal: a Deployment (it keeps no data, so it may run several replicas sharing one
    session secret), its Service and a policy that opens only its HTTP port."""
    tls = TLS_DIR
    args = ["portal", "--target", f"{service_name(hub_id)}:{GRPC_PORT}", "--listen", f"0.0.0.0:{PORTAL_PORT}",
            "--cert", f"{tls}/operator.crt", "--key", f"{tls}/operator.key", "--ca", f"{tls}/ca.crt",
            "--department-cert", f"{tls}/department.crt", "--department-key", f"{tls}/department.key"]
    for node_id in node_ids:
        args += ["--node", f"{node_id}={service_name(node_id)}:{GRPC_PORT}"]
    http_probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 5}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "cascade-portal", "labels": PORTAL_LABELS},
        "spec": {
            "replicas": 2, "selector": {"matchLabels": dict(PORTAL_LABELS)},
            "template": {"metadata": {"labels": dict(PORTAL_LABELS)}, "spec": {
                "automountServiceAccountToken": False, "enableServiceLinks": False,
                "securityContext": _pod_security(),
                "containers": [{
                    "name": "portal", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "args": args,
                    "env": [{"name": "CASCADE_PORTAL_SECRET", "valueFrom": {"secretKeyRef": {
                        "name": PORTAL_SECRET, "key": "session-secret"}}}],
                    "ports": [{"name": "http", "containerPort": PORTAL_PORT, "protocol": "TCP"}],
                    "resources": sizing.portal_resources(),
                    "securityContext": _container_security(),
                    "readinessProbe": http_probe, "livenessProbe": {**http_probe, "periodSeconds": 30},
                    "volumeMounts": [{"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                                     {"name": "tmp", "mountPath": "/tmp"}],
                }],
                "volumes": [{"name": "tls", "secret": {"secretName": PORTAL_SECRET, "defaultMode": 0o440,
                                                       "items": [{"key": k, "path": k} for k in (
                                                           "operator.crt", "operator.key", "department.crt",
                                                           "department.key", "ca.crt")]}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
            }},
        },
    }
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "cascade-portal", "labels": PORTAL_LABELS},
           "spec": {"selector": dict(PORTAL_LABELS),
                    "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "cascade-portal", "labels": PORTAL_LABELS},
              "spec": {"podSelector": {"matchLabels": dict(PORTAL_LABELS)}, "policyTypes": ["Ingress"],
                       "ingress": [{"ports": [{"port": PORTAL_PORT, "protocol": "TCP"}]}]}}
    return [deployment, svc, policy]
