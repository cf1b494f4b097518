"""Helpers for the tests of the Kubernetes tree: building it (kubectl kustomize), a federation's
PKI made with `cascade pki` as the operator would, the Secrets from the tree's secrets.sh, and a
node's config "mounted" on this machine (its volume paths mapped to a directory)."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

from deploy import manifests
from node.security import pki

KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")


def kustomize(directory: pathlib.Path) -> list[dict]:
    """Every object `kubectl kustomize DIR` builds (offline: kustomize needs no cluster)."""
    if not KUBECTL:
        pytest.skip("kubectl is not installed: the tree cannot be built with kustomize here")
    out = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def make_pki(directory: pathlib.Path, node_ids: list[str], namespace: str = "cascade") -> pathlib.Path:
    """The federation's CA and certificates, issued as secrets.sh's comments tell the operator."""
    pki.init_ca(directory)
    for node_id in node_ids:
        service = manifests.service_name(node_id)
        pki.issue(directory, node_id, hosts=(service, f"{service}.{namespace}", f"{service}.{namespace}.svc"))
    pki.issue(directory, "portal-operator", kind="operator")
    pki.issue(directory, "portal", kind="client")
    return directory


def secrets(tree: pathlib.Path, pki_dir: pathlib.Path) -> list[dict]:
    """The Secrets the tree's secrets.sh prints for this PKI directory."""
    if not KUBECTL:
        pytest.skip("kubectl is not installed")
    out = subprocess.run(["sh", str(tree / "secrets.sh"), str(pki_dir)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "KUBECTL": KUBECTL})
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def node_configs(objects: list[dict]) -> dict[str, dict]:
    """node id -> the config its ConfigMap holds."""
    configs = {}
    for obj in objects:
        if obj["kind"] == "ConfigMap" and "node.yaml" in obj.get("data", {}):
            config = yaml.safe_load(obj["data"]["node.yaml"])
            configs[config["node"]["id"]] = config
    return configs


def mount(config: dict, pki_dir: pathlib.Path, data_dir: pathlib.Path) -> dict:
    """The config as the node reads it inside its pod, with the pod's volumes at local paths:
    the TLS Secret's keys at this node's PKI files, the data volume at data_dir."""
    node_id = config["node"]["id"]
    files = {"tls.crt": pki_dir / f"{node_id}.pem", "tls.key": pki_dir / f"{node_id}.key", "ca.crt": pki_dir / "ca.pem"}
    mounted = yaml.safe_load(yaml.safe_dump(config))
    for key, path in mounted["tls"].items():
        assert path.startswith(manifests.TLS_DIR + "/"), f"{node_id}: tls.{key} is not on the Secret's volume"
        mounted["tls"][key] = str(files[path.rsplit("/", 1)[1]])
    for key in ("database",):
        assert mounted[key].startswith(manifests.DATA_DIR + "/"), f"{node_id}: {key} is not on the data volume"
        mounted[key] = str(data_dir / mounted[key][len(manifests.DATA_DIR) + 1:])
    mounted["resources"]["allow"] = {code: [str(data_dir / p[len(manifests.DATA_DIR) + 1:]) for p in places]
                                     for code, places in mounted["resources"]["allow"].items()}
    return mounted
