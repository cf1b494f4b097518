"""A federation the simulator did not start, described by a file (`cascade sim run SCENARIO.yaml
--federation FILE`): where each node answers, who the simulator speaks as (the operator's
certificate; each department's token), and where faults land:

    hub: national
    operator: {cert: pki/operator.pem, key: pki/operator.key, ca: pki/ca.pem}   # relative to FILE
    nodes:
      national: {address: cascade.example.cn:50051}
      hebei:
        address: hebei.example.cn:50051
        server_name: hebei                      # the node's certificate names its id (default)
        tokens: {"130000001": cct_...}          # a token per department that the scenario uses
    faults: {kind: kubernetes, namespace: cascade, context: prod}   # or {kind: harness, state: DIR}

The file holds credentials: keep it owner-only, next to the PKI files, out of git."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import grpc

from harness.clients import FederationClients
from harness.runner import Federation
from node.config_rules import Reader, is_address, is_choice, is_node_id, is_text, read_yaml
from node.security.client import Credentials, open_channel
from sim import targets


class RemoteFederation(FederationClients):
    """The harness's clients (publish, status, verify, convergence) over nodes it does not run."""

    def __init__(self, hub: str, nodes: dict[str, dict], operator: Credentials | None, faults: targets.Faults):
        self.state = {"hub": hub, "secure": operator is not None,
                      "nodes": {node_id: {"role": "", "pid": None, **node} for node_id, node in nodes.items()}}
        self.operator = operator
        self.faults = faults
        self._channels: dict[tuple[str, str], grpc.Channel] = {}

    def node(self, node_id: str) -> dict:
        try:
            return self.state["nodes"][node_id]
        except KeyError:
            raise KeyError(f"the federation file names no node {node_id!r}") from None

    @property
    def hub_id(self) -> str:
        return self.state["hub"]

    @property
    def peer_ids(self) -> list[str]:
        return [n for n in self.state["nodes"] if n != self.hub_id]

    def address(self, node_id: str) -> str:
        return self.node(node_id)["address"]

    def client(self, token: str = "") -> Credentials | None:
        if self.operator is None:
            return Credentials(token=token) if token else None
        return Credentials(self.operator.cert, self.operator.key, self.operator.ca, token)

    def token(self, node_id: str, department: str) -> str:
        tokens = self.node(node_id).get("tokens", {})
        if self.secure and department not in tokens:
            raise KeyError(f"the federation file holds no token for department {department!r} at {node_id!r}")
        return tokens.get(department, "")

    def channel(self, node_id: str, department: str = "") -> grpc.Channel:
        """As the harness's, but checking that the server's certificate names the node (its
        address may be a Service or load balancer name the certificate need not hold)."""
        key = (self.address(node_id), department)
        if key not in self._channels:
            token = self.token(node_id, department) if department else ""
            self._channels[key] = open_channel(key[0], self.client(token),
                                               server_name=self.node(node_id).get("server_name", node_id)
                                               if self.secure else "")
        return self._channels[key]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


def _faults(r: Reader, data: Any, base: pathlib.Path) -> targets.Faults:
    top = r.mapping(data, "faults", {"kind", "state", "namespace", "context", "kubectl"})
    kind = r.get(top, "faults", "kind", is_choice(("harness", "kubernetes")))
    if kind == "harness":
        state = base / r.get(top, "faults", "state", is_text())
        if not (state / "state.json").exists():
            r.fail("faults.state", f"holds no harness federation ({state})")
        return targets.HarnessFaults(Federation(state))
    return targets.KubernetesFaults(r.get(top, "faults", "namespace", is_text(), "cascade"),
                                    r.get(top, "faults", "context", is_text(), ""),
                                    r.get(top, "faults", "kubectl", is_text(), "kubectl"))


def load(path: str | pathlib.Path) -> RemoteFederation:
    """Reads and checks a federation file; errors name the file, the key path and the rule."""
    file, base = str(path), pathlib.Path(path).resolve().parent
    r = Reader(file)
    top = r.mapping(read_yaml(path), "", {"hub", "operator", "nodes", "faults"})
    hub = r.get(top, "", "hub", is_node_id)
    operator = None
    if top.get("operator") is not None:
        o = r.mapping(top["operator"], "operator", {"cert", "key", "ca"})
        files = {}
        for key in ("cert", "key", "ca"):
            files[key] = str(base / r.get(o, "operator", key, is_text()))
            if not pathlib.Path(files[key]).is_file():
                r.fail(f"operator.{key}", f"names no readable file ({files[key]})")
        operator = Credentials(files["cert"], files["key"], files["ca"])
    nodes = {}
    for node_id, item in r.mapping(top.get("nodes"), "nodes", set(top.get("nodes") or {})).items():
        path = f"nodes.{node_id}"
        if problem := is_node_id(node_id):
            r.fail(path, problem)
        item = r.mapping(item, path, {"address", "server_name", "tokens"})
        tokens = r.mapping(item.get("tokens") or {}, f"{path}.tokens", set(item.get("tokens") or {}))
        for code, token in tokens.items():
            if problem := is_text()(token):
                r.fail(f"{path}.tokens.{code}", problem)
        nodes[node_id] = {"address": r.get(item, path, "address", is_address),
                          "server_name": r.get(item, path, "server_name", is_node_id, node_id),
                          "tokens": {str(code): token for code, token in tokens.items()}}
    if hub not in nodes:
        r.fail("hub", f"names no node of `nodes` ({hub})")
    return RemoteFederation(hub, nodes, operator, _faults(r, top.get("faults") or {"kind": "kubernetes"}, base))


def describe_harness(fed: Federation, faults: bool = True) -> dict:
    """The federation file of a federation the harness runs (its addresses, operator, tokens), with
    the harness's faults: what `cascade sim run --federation` is tested against."""
    out: dict = {"hub": fed.hub_id, "nodes": {}}
    known = json.loads(fed.credentials.tokens_path.read_text()) if fed.secure else {}
    if fed.secure:
        operator = fed.client()
        out["operator"] = {"cert": operator.cert, "key": operator.key, "ca": operator.ca}
    for node_id in fed.state["nodes"]:
        tokens = known.get(node_id, {})
        out["nodes"][node_id] = {"address": fed.address(node_id), "tokens": dict(tokens)}
    if faults:
        out["faults"] = {"kind": "harness", "state": str(fed.dir)}
    return out
