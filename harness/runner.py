"""A running federation: every node its own OS process on loopback, the hub's links through
the fault proxy, and a state directory that records where everything is.

Each peer has two links in the proxy: its own (named after it), which the hub's calls to it take
(pulls, deliveries), and its uplink (`uplink:<id>`), which its calls to the hub take (Notify,
entry look-ups). So a link can be cut both ways or one way (`partition(node, way)`)."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
from concurrent import futures
from typing import Callable

import grpc
import yaml

from harness import compose as compose_mod
from harness.clients import FederationClients
from harness.credentials import FederationCredentials
from harness.processes import ROOT, HarnessError, alive, env, reap, terminate, wait_file, wait_healthy, wait_http
from harness.proxy import uplink
from node.store.private import make_dirs

START_TIMEOUT = 60.0
WAYS = ("both", "to-node", "to-hub")  # what partition() cuts: both ways, the hub's calls to the node, the node's to the hub


class Federation(FederationClients):
    """Brings a federation up from a compose file, and steers it afterwards from its state dir."""

    def __init__(self, state_dir: str | pathlib.Path):
        self.dir = pathlib.Path(state_dir).resolve()
        self.state_path = self.dir / "state.json"
        self.state: dict = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.credentials = FederationCredentials(self.dir)
        self._channels: dict[tuple[str, str], grpc.Channel] = {}
        self._on_ready: Callable[[str], None] | None = None
        self.already_up = False  # set by up() when the same compose file was up already

    # -- bringing it up --------------------------------------------------------------------

    def is_up(self) -> bool:
        """Whether a node this state dir records is running."""
        return bool(self.state) and any(alive(n.get("pid")) for n in self.state.get("nodes", {}).values())

    @classmethod
    def up(cls, compose_path: str | pathlib.Path, state_dir: str | pathlib.Path,
           on_ready: Callable[[str], None] | None = None) -> "Federation":
        """Starts the federation; on_ready(node_id) is told of each node once it is healthy."""
        compose = compose_mod.load(compose_path)
        fed = cls(state_dir)
        fed._on_ready = on_ready
        if fed.is_up():
            # the same file twice is what a script re-run does: nothing to do, and not an error
            if fed.state.get("compose") == str(pathlib.Path(compose_path).resolve()):
                fed.already_up = True
                return fed
            raise HarnessError(f"a federation of {fed.state.get('compose')} is already up in {fed.dir}: "
                               "`cascade harness down` first")
        for sub in ("configs", "logs", "data", "run"):
            make_dirs(fed.dir / sub)  # the federation's state: owner-only
        fed.state = {"compose": str(pathlib.Path(compose_path).resolve()), "name": compose.name,
                     "hub": compose.hub.id, "nodes": {}, "proxy": {}, "secure": compose.secure}
        try:
            if compose.secure:
                fed.credentials.create([n.id for n in compose.all])
            fed._start_proxy([n.id for n in compose.all] + [uplink(n.id) for n in compose.nodes])
            links = fed.state["proxy"]["links"]
            for spec in compose.nodes:
                fed._write_config(compose, spec, hub_address=f"127.0.0.1:{links[uplink(spec.id)]}")
            fed._start_many([s.id for s in compose.nodes])
            peer_addresses = {s.id: f"127.0.0.1:{links[s.id]}" for s in compose.nodes}
            fed._write_config(compose, compose.hub, peer_addresses=peer_addresses)
            fed._start_many([compose.hub.id])
            if compose.portal:
                fed.start_portal()
            for spec in compose.nodes:
                link = spec.link
                if link.delay_ms or link.partitioned or link.drop_after_bytes:
                    fed.proxy("set", spec.id, delay_ms=link.delay_ms, partitioned=link.partitioned,
                              drop_after_bytes=link.drop_after_bytes)
            fed._write_prometheus_config()
        except BaseException:
            fed.down(purge=False)
            raise
        return fed

    def _start_proxy(self, links: list[str]) -> None:
        ready = self.dir / "run" / "proxy.json"
        ready.unlink(missing_ok=True)
        log = open(self.dir / "logs" / "proxy.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--links", ",".join(links), "--ready", str(ready)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True, env=env())
        log.close()
        self.state["proxy"] = dict(json.loads(wait_file(ready, START_TIMEOUT, proc)), pid=proc.pid)
        self._save()

    def _write_config(self, compose, spec, *, hub_address=None, peer_addresses=None) -> None:
        data = compose_mod.node_yaml(compose, spec, "127.0.0.1:0", peer_addresses or {},
                                     str(self.dir / "data" / f"{spec.id}.db"), hub_address,
                                     self.credentials.tls(spec.id) if compose.secure else None)
        if compose.secure:
            self.credentials.issue_tokens(spec.id, data["database"], [code for code, _ in spec.departments],
                                          spec.data_authority)
        path = self.dir / "configs" / f"{spec.id}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        self.state["nodes"][spec.id] = {
            "role": spec.role, "region_code": spec.region_code, "config": str(path),
            "data_authority": spec.data_authority,
            "log": str(self.dir / "logs" / f"{spec.id}.log"), "database": data["database"],
            "link_port": self.state["proxy"]["links"][spec.id], "port": 0, "pid": None, "paused": False,
        }

    def _spawn(self, node_id: str) -> subprocess.Popen:
        node = self.state["nodes"][node_id]
        port_file = self.dir / "run" / f"{node_id}.port"
        port_file.unlink(missing_ok=True)
        metrics_port_file = self.dir / "run" / f"{node_id}.metrics-port"
        metrics_port_file.unlink(missing_ok=True)
        log = open(node["log"], "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "node", "run", "--config", node["config"], "--port-file", str(port_file),
             "--metrics-port-file", str(metrics_port_file)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True, env=env(),
        )
        log.close()
        node["pid"] = proc.pid
        node["paused"] = False
        return proc

    def _start_many(self, node_ids: list[str]) -> None:
        procs = {node_id: self._spawn(node_id) for node_id in node_ids}
        self._save()

        def ready(node_id: str) -> None:
            node = self.state["nodes"][node_id]
            port = int(wait_file(self.dir / "run" / f"{node_id}.port", START_TIMEOUT, procs[node_id]))
            # The node writes its metrics port before its gRPC port, when its config has `metrics:`.
            metrics_file = self.dir / "run" / f"{node_id}.metrics-port"
            metrics_port = int(metrics_file.read_text()) if metrics_file.exists() else None
            if node["port"] != port or node.get("metrics_port") != metrics_port:
                # The first start picked free ports: keep them for restarts (and for scrapers).
                node["port"], node["metrics_port"] = port, metrics_port
                config = yaml.safe_load(pathlib.Path(node["config"]).read_text())
                config["listen"] = f"127.0.0.1:{port}"
                if metrics_port:
                    config["metrics"] = {"listen": f"127.0.0.1:{metrics_port}"}
                pathlib.Path(node["config"]).write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
            # the hub is reached through its own link and every peer's uplink
            for link in self.links_into(node_id):
                self.proxy("set", link, target=f"127.0.0.1:{port}")
            wait_healthy(f"127.0.0.1:{port}", START_TIMEOUT, credentials=self.client())
            if self._on_ready is not None:
                self._on_ready(node_id)

        with futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(ready, node_ids))
        self._save()

    def _write_prometheus_config(self) -> None:
        """prometheus.yml in the state dir: every node's metrics endpoint and the alert rules, for
        `prometheus --config.file=STATE/prometheus.yml` on this machine."""
        targets = [self.metrics_address(n) for n in self.state["nodes"] if self.metrics_address(n)]
        config = {
            "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
            "rule_files": [str(ROOT / "configs" / "prometheus" / "alerts.yml")],
            "scrape_configs": [{"job_name": "cascade", "static_configs": [{"targets": targets}]}],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, ensure_ascii=False))
        tmp.replace(self.state_path)

    # -- the portal --------------------------------------------------------------------------

    def start_portal(self) -> str:
        """Serves the web portal in front of the hub (the operator's certificate for its reads, its
        own client certificate for departments' calls, each node reached directly); returns its URL."""
        if alive(self.state.get("portal", {}).get("pid")):
            raise HarnessError(f"the portal is already running (pid {self.state['portal']['pid']})")
        port_file = self.dir / "run" / "portal.port"
        port_file.unlink(missing_ok=True)
        listen = f"127.0.0.1:{self.state.get('portal', {}).get('port') or 0}"
        args = [sys.executable, "-m", "cli", "portal", "--target", self.address(self.hub_id), "--listen", listen,
                "--port-file", str(port_file)]
        args += [a for node_id in self.state["nodes"] for a in ("--node", f"{node_id}={self.address(node_id)}")]
        environment = env()
        if self.secure:
            operator, department = self.client(), self.credentials.portal_client()
            args += ["--cert", operator.cert, "--key", operator.key, "--ca", operator.ca,
                     "--department-cert", department.cert, "--department-key", department.key]
        log_path = self.dir / "logs" / "portal.log"
        log = open(log_path, "ab")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
                                env=environment)
        log.close()
        self.state["portal"] = {"pid": proc.pid, "port": self.state.get("portal", {}).get("port", 0), "log": str(log_path)}
        self._save()
        port = int(wait_file(port_file, START_TIMEOUT, proc))
        self.state["portal"]["port"] = port
        self._save()
        wait_http(f"http://127.0.0.1:{port}/healthz", START_TIMEOUT, proc)
        return self.portal_url()

    def portal_url(self) -> str:
        portal = self.state.get("portal")
        if not portal or not portal.get("port"):
            raise HarnessError("this federation has no portal (compose `portal: true`)")
        return f"http://127.0.0.1:{portal['port']}/"

    # -- steering --------------------------------------------------------------------------

    def node(self, node_id: str) -> dict:
        if not self.state:
            raise HarnessError(f"no federation in {self.dir}: `cascade harness up FILE` first")
        if node_id not in self.state["nodes"]:
            raise HarnessError(f"no node {node_id!r} (known: {', '.join(sorted(self.state['nodes']))})")
        return self.state["nodes"][node_id]

    @property
    def hub_id(self) -> str:
        return self.state["hub"]

    @property
    def peer_ids(self) -> list[str]:
        return [n for n in self.state["nodes"] if n != self.hub_id]

    def address(self, node_id: str) -> str:
        return f"127.0.0.1:{self.node(node_id)['port']}"

    def metrics_address(self, node_id: str) -> str | None:
        """The node's Prometheus endpoint, HOST:PORT (None before its first start)."""
        port = self.node(node_id).get("metrics_port")
        return f"127.0.0.1:{port}" if port else None

    def signal(self, node_id: str, sig: signal.Signals) -> None:
        node = self.node(node_id)
        if not alive(node["pid"]):
            raise HarnessError(f"{node_id} is not running")
        os.kill(node["pid"], sig)

    def stop(self, node_id: str, timeout: float = 20.0) -> None:
        """SIGTERM, as an operator stops a node: it finishes in-flight calls and closes its database."""
        node = self.node(node_id)
        if node["paused"]:
            self.resume(node_id)
        terminate(node["pid"], timeout)
        self._save()

    def kill(self, node_id: str) -> None:
        """SIGKILL: the node dies at once, wherever it is."""
        node = self.node(node_id)
        if alive(node["pid"]):
            os.kill(node["pid"], signal.SIGKILL)
            reap(node["pid"], 10)
        node["paused"] = False
        self._save()

    def start(self, node_id: str) -> None:
        if alive(self.node(node_id)["pid"]):
            raise HarnessError(f"{node_id} is already running (pid {self.node(node_id)['pid']})")
        self._start_many([node_id])

    def restart(self, node_id: str) -> None:
        self.stop(node_id)
        self.start(node_id)

    def pause(self, node_id: str) -> None:
        """SIGSTOP: the node holds its connections but answers nothing."""
        self.signal(node_id, signal.SIGSTOP)
        self.node(node_id)["paused"] = True
        self._save()

    def resume(self, node_id: str) -> None:
        self.signal(node_id, signal.SIGCONT)
        self.node(node_id)["paused"] = False
        self._save()

    def proxy(self, cmd: str, link: str | None = None, **fields) -> dict:
        message = {"cmd": cmd, **({"link": link} if link else {}), **fields}
        with socket.create_connection(("127.0.0.1", self.state["proxy"]["control"]), timeout=10) as sock:
            sock.sendall(json.dumps(message).encode() + b"\n")
            answer = json.loads(sock.makefile().readline())
        if not answer.get("ok"):
            raise HarnessError(f"proxy: {answer.get('error')}")
        return answer

    def links_into(self, node_id: str) -> list[str]:
        """The proxy links whose target is this node: a peer's own; for the hub, its own and every
        peer's uplink."""
        links = self.state["proxy"]["links"]
        if node_id != self.state["hub"]:
            return [node_id]
        return [node_id] + [uplink(p) for p in self.state["nodes"] if uplink(p) in links]

    def links_between(self, node_id: str, way: str = "both") -> list[str]:
        """The proxy links that carry the traffic between the hub and node_id (for the hub:
        between it and every peer), one way ("to-node": the hub's calls; "to-hub": the node's
        calls) or both."""
        if way not in WAYS:
            raise HarnessError(f"way must be one of {', '.join(WAYS)}, not {way!r}")
        self.node(node_id)
        links = self.state["proxy"]["links"]
        peers = self.peer_ids if node_id == self.hub_id else [node_id]
        names = []
        if way in ("both", "to-node"):
            names += peers
        if way in ("both", "to-hub"):
            ups = [uplink(p) for p in peers if uplink(p) in links]
            # a federation brought up before uplinks existed: its peers reach the hub through the hub's link
            names += ups if len(ups) == len(peers) and node_id != self.hub_id else [self.hub_id, *ups]
        return names

    def partition(self, node_id: str, way: str = "both") -> None:
        """Cuts the link between the hub and node_id: new connections are refused, open ones cut.
        way: "both", "to-node" (the hub cannot reach the node, the node can still Notify the hub)
        or "to-hub" (the reverse)."""
        for link in self.links_between(node_id, way):
            self.proxy("set", link, partitioned=True)

    def delay(self, node_id: str, ms: int) -> None:
        """Delays every chunk on the links into the node."""
        for link in self.links_into(node_id):
            self.proxy("set", link, delay_ms=ms)

    def drop(self, node_id: str, after_bytes: int) -> None:
        """Cuts each connection into the node after after_bytes from it."""
        for link in self.links_into(node_id):
            self.proxy("set", link, drop_after_bytes=after_bytes)

    def heal(self, node_id: str) -> None:
        """Gives every link between the hub and node_id its clean state, both ways."""
        for link in self.links_between(node_id, "both"):
            self.proxy("heal", link)

    # -- tearing down -------------------------------------------------------------------------

    def down(self, purge: bool = False, timeout: float = 20.0) -> None:
        """Stops every node and the proxy; with purge, removes the state directory too."""
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        if self.state_path.exists():  # another process (a simulator driving this state dir) may have restarted nodes
            self.state = json.loads(self.state_path.read_text())
        pids = [n.get("pid") for n in self.state.get("nodes", {}).values()]
        for node in self.state.get("nodes", {}).values():
            if node.get("paused") and alive(node.get("pid")):
                os.kill(node["pid"], signal.SIGCONT)
        pids.append(self.state.get("portal", {}).get("pid"))
        with futures.ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda pid: terminate(pid, timeout), pids))
        terminate(self.state.get("proxy", {}).get("pid"), timeout)
        if purge:
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.state:
            for node in self.state["nodes"].values():
                node["pid"] = None
            self.state["proxy"]["pid"] = None
            if self.state.get("portal"):
                self.state["portal"]["pid"] = None
            self._save()
