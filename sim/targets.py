"""Where a simulation's faults land: a small interface with two implementations. The harness's
acts on the processes and the fault proxy of a federation it started (as `cascade harness kill`
and `partition` do); Kubernetes' acts through `kubectl` on a deployed one: kill deletes the
node's pod (its StatefulSet makes a new one on the same volume), partition replaces the node's
NetworkPolicy by one that no longer admits the hub, heal puts the policy back."""

from __future__ import annotations

import json
import subprocess
from typing import Callable, Protocol

from harness.processes import HarnessError

ALL_KINDS = frozenset({"kill", "pause", "partition", "delay", "restore_backup"})


class Faults(Protocol):
    kinds: frozenset[str]  # the fault kinds (sim/scenario.py FAULT_KINDS) this target can apply

    def kill(self, node: str) -> None: ...
    def revive(self, node: str) -> None: ...  # after a kill: the node serves again
    def pause(self, node: str) -> None: ...
    def resume(self, node: str) -> None: ...
    def partition(self, node: str) -> None: ...
    def delay(self, node: str, ms: int) -> None: ...
    def heal(self, node: str) -> None: ...  # ends a partition or a delay
    def backup(self, node: str, path: str) -> None: ...
    def restore(self, node: str, path: str, while_stopped: Callable[[], None]) -> None: ...
    # restore: stops the node, restores the backup, calls while_stopped(), starts the node


class HarnessFaults:
    """Faults on a federation the harness runs (harness/runner.py's Federation)."""

    kinds = ALL_KINDS

    def __init__(self, fed):
        self.fed = fed

    def kill(self, node: str) -> None:
        self.fed.kill(node)

    def revive(self, node: str) -> None:
        self.fed.start(node)

    def pause(self, node: str) -> None:
        self.fed.pause(node)

    def resume(self, node: str) -> None:
        self.fed.resume(node)

    def partition(self, node: str) -> None:
        self.fed.partition(node)

    def delay(self, node: str, ms: int) -> None:
        self.fed.delay(node, ms)

    def heal(self, node: str) -> None:
        self.fed.heal(node)

    def backup(self, node: str, path: str) -> None:
        from node.store import backup  # the node's own backup, safe while it runs

        backup(self.fed.node(node)["database"], path)

    def restore(self, node: str, path: str, while_stopped: Callable[[], None]) -> None:
        from node.store import restore

        self.fed.stop(node)
        restore(path, self.fed.node(node)["database"])
        while_stopped()
        self.fed.start(node)


def service(node: str) -> str:
    """The node's Service, StatefulSet and NetworkPolicy name in a tree from `cascade deploy kubernetes`."""
    return "cascade-" + node.replace("_", "-")


class KubernetesFaults:
    """Faults on a federation deployed from `cascade deploy kubernetes`, through kubectl (which
    must be configured for the cluster). A paused process, a slow link and a database restored
    under a running pod have no plain kubectl equivalent: a scenario with them is refused."""

    kinds = frozenset({"kill", "partition"})

    def __init__(self, namespace: str, context: str = "", kubectl: str = "kubectl", timeout: float = 600):
        self.namespace, self.context, self.kubectl_path, self.timeout = namespace, context, kubectl, timeout

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        command = [self.kubectl_path, "--namespace", self.namespace, *(["--context", self.context] if self.context else []),
                   *args]
        out = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=self.timeout)
        if out.returncode != 0:
            raise HarnessError(f"{' '.join(command)}: {out.stderr.strip() or out.stdout.strip()}")
        return out.stdout

    def kill(self, node: str) -> None:
        # the StatefulSet's one replica: its pod is <name>-0; --wait=false returns as it is deleted
        self.kubectl("delete", "pod", f"{service(node)}-0", "--wait=false", "--grace-period=0")

    def revive(self, node: str) -> None:
        self.kubectl("rollout", "status", f"statefulset/{service(node)}", f"--timeout={int(self.timeout)}s")

    def _admitted(self, node: str, hub_admitted: bool) -> None:
        """The node's own policy with or without the hub among the callers of its gRPC port
        (policies only ever add what they allow, so a partition must narrow the node's own)."""
        callers = [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "portal"}}}]
        if hub_admitted:
            callers.insert(0, {"podSelector": {"matchLabels": {"cascade/role": "national"}}})
        patch = [{"op": "replace", "path": "/spec/ingress/0/from", "value": callers}]
        self.kubectl("patch", "networkpolicy", service(node), "--type=json", "-p", json.dumps(patch))

    def partition(self, node: str) -> None:
        self._admitted(node, hub_admitted=False)

    def heal(self, node: str) -> None:
        self._admitted(node, hub_admitted=True)

    def _refused(self, *_args) -> None:
        raise HarnessError(f"not applied through kubectl (kubernetes faults: {', '.join(sorted(self.kinds))})")

    pause = resume = delay = backup = restore = _refused


def unsupported(faults: Faults, kinds: set[str]) -> list[str]:
    """The fault kinds of a scenario that this target cannot apply."""
    return sorted(kinds - faults.kinds)
