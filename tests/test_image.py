"""The container image and its locked dependencies: the Dockerfile installs the exact versions of
requirements.lock (made by pip-compile from pyproject.toml), runs as the user the manifests run
the pod as, and starts the node as the StatefulSet does. (No engine builds the image here.)"""

from __future__ import annotations

import json
import re
import tomllib

from conftest import ROOT
from deploy import manifests

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", re.M)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(lock: str) -> dict[str, str]:
    return {canonical(n): v for n, v in PIN.findall((ROOT / lock).read_text())}


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0]) for r in requirements}


def test_every_dependency_is_pinned_in_the_locks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = pinned("requirements.lock"), pinned("requirements-dev.lock")
    assert requirement_names(project["dependencies"]) <= set(runtime)
    assert requirement_names(project["dependencies"] + project["optional-dependencies"]["dev"]) <= set(dev)
    # one resolution: what both locks hold, they hold at the same version
    assert {n: v for n, v in runtime.items() if dev.get(n) != v} == {}
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert "pip-compile" in (ROOT / lock).read_text().splitlines()[1], f"{lock} was not made by pip-compile"


def test_the_image_installs_the_lock_and_runs_the_node_as_the_pod_does():
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --disable-pip-version-check -r requirements.lock" in text
    assert "--no-deps ." in text  # the project itself resolves nothing again
    assert re.search(rf"^USER {manifests.UID}:{manifests.UID}$", text, re.M)
    entrypoint = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1))
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.M).group(1))
    sts = manifests.statefulset("provincial", 15)
    assert entrypoint == ["cascade"] and cmd == sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()


def test_ci_installs_from_the_lock():
    run = (ROOT / ".ci" / "run").read_text()
    assert "pip install -r requirements-dev.lock" in run and "pip install --no-deps -e ." in run
