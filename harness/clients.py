"""What the harness says to a running federation's nodes: channels as the operator or as a
department (its own certificate and token), stubs, publishing and seeding, status, convergence. A part of
`Federation` (harness/runner.py), which holds the processes and the state directory."""

from __future__ import annotations

import time
from concurrent import futures
from typing import Callable

import grpc

from harness import compose as compose_mod, data as data_mod
from harness.processes import HarnessError, alive, wait_http
from harness.proxy import uplink
from harness.seed import entries_for
from node import wire
from node.proto import (admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc, exchange_pb2, exchange_pb2_grpc,
                        sharing_pb2_grpc)
from node.security.client import open_channel


class FederationClients:
    # -- looking -----------------------------------------------------------------------------

    @property
    def secure(self) -> bool:
        return self.state.get("secure", False)

    def client(self, token: str = ""):
        """What the harness presents: the operator's certificate (in a secure federation), and a token."""
        return self.credentials.client(token) if self.secure else None

    def token(self, node_id: str, department: str) -> str:
        """The bearer token of a department of that node ("" in a plaintext federation)."""
        self.node(node_id)
        return self.credentials.token(node_id, department) if self.secure else ""

    def channel(self, node_id: str, department: str = "") -> grpc.Channel:
        """A channel to the node as the operator, or as one of its departments (its own certificate and token)."""
        key = (self.address(node_id), department)
        if key not in self._channels:
            self._channels[key] = open_channel(key[0], self.department_client(node_id, department) if department
                                               else self.client())
        return self._channels[key]

    def department_client(self, node_id: str, department: str):
        """What a department of that node presents: its certificate and its token (None in a plaintext federation)."""
        if not self.secure:
            return None
        return self.credentials.department_client(node_id, department, self.token(node_id, department))

    def catalog(self, node_id: str, department: str = ""):
        return catalog_pb2_grpc.CatalogStub(self.channel(node_id, department))

    def sharing(self, node_id: str, department: str = ""):
        return sharing_pb2_grpc.SharingStub(self.channel(node_id, department))

    def publish(self, node_id: str, entries: list, timeout: float = 300,
                on_published: Callable[[int], None] | None = None) -> int:
        """Publishes entries at their node, each department's with its own token, in bulk;
        returns how many were created, updated or unchanged. on_published(n) after each department."""
        by_department: dict[str, list] = {}
        for entry in entries:
            by_department.setdefault(entry.provider_code, []).append(entry)
        done = 0
        for department, own in by_department.items():
            chunks = [catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in own[i:i + 500]])
                      for i in range(0, len(own), 500)]
            reply = self.catalog(node_id, department).PublishEntries(iter(chunks), timeout=timeout)
            done += reply.created + reply.updated + reply.unchanged
            if on_published is not None:
                on_published(len(own))
        return done

    def admin(self, node_id: str | None = None):
        return admin_pb2_grpc.AdminStub(self.channel(node_id or self.hub_id))

    def status(self, node_id: str, timeout: float = 2.0):
        return self.admin(node_id).Status(admin_pb2.StatusRequest(), timeout=timeout)

    def ps(self) -> list[dict]:
        """One row per node: role, address, health, pid, live entries; for the hub, its peers' lag."""
        links = {}
        try:
            links = self.proxy("status")["links"]
        except (OSError, HarnessError, ValueError):
            pass

        def row(node_id: str) -> dict:
            node = self.node(node_id)
            out = {"node": node_id, "role": node["role"], "address": self.address(node_id),
                   "metrics": self.metrics_address(node_id), "pid": node["pid"],
                   "running": alive(node["pid"]), "paused": node["paused"], "health": "down", "entries": None,
                   "link": links.get(node_id, {}), "uplink": links.get(uplink(node_id), {})}
            if out["running"] and not node["paused"]:
                try:
                    status = self.status(node_id)
                    out["health"], out["entries"] = "serving", status.live_entries
                    if status.peers:
                        out["peers"] = {p.node_id: p for p in status.peers}
                except grpc.RpcError as exc:
                    out["health"] = exc.code().name.lower()
            elif node["paused"]:
                out["health"] = "paused"
            return out

        with futures.ThreadPoolExecutor(max_workers=16) as pool:
            rows = list(pool.map(row, list(self.state["nodes"])))
        portal = self.state.get("portal")
        if portal:
            running = alive(portal.get("pid"))
            health = "down"
            if running:
                try:
                    wait_http(f"http://127.0.0.1:{portal['port']}/healthz", 2.0)
                    health = "serving"
                except HarnessError:
                    health = "not answering"
            rows.append({"node": "portal", "role": "portal", "address": self.portal_url(), "pid": portal.get("pid"),
                         "running": running, "paused": False, "health": health, "entries": None, "link": {}})
        return rows

    def sync_now(self, timeout: float = 120.0) -> None:
        reply = self.admin().SyncNow(admin_pb2.SyncNowRequest(wait=True), timeout=timeout)
        if not reply.finished:
            raise HarnessError(f"the hub was still pulling after {timeout:.0f}s: {', '.join(reply.started)}")

    def verify(self, timeout: float = 60.0) -> dict:
        return {v.peer: v for v in self.admin().Verify(admin_pb2.VerifyRequest(), timeout=timeout).peers}

    def wait_converged(self, timeout: float = 120.0, poll: float = 0.5) -> float:
        """Waits, without pulling, until the hub's copy of every peer equals the peer (by digest).
        Returns the seconds it took; raises with the peers that still differ."""
        start = time.monotonic()
        differing: list[str] = []
        while time.monotonic() - start < timeout:
            try:
                verdicts = self.verify()
                differing = [p for p, v in verdicts.items() if not v.equal]
                if not differing:
                    return time.monotonic() - start
            except grpc.RpcError as exc:
                differing = [f"hub: {exc.code().name}"]
            time.sleep(poll)
        raise HarnessError(f"hub did not converge within {timeout:.0f}s; differing: {', '.join(differing)}")

    # -- seeding ----------------------------------------------------------------------------

    def seed_size(self, per_department: int | None = None) -> int:
        """How many entries seed(per_department) publishes."""
        compose = compose_mod.load(self.state["compose"])
        count = compose.entries_per_department if per_department is None else per_department
        return count * sum(len(spec.departments) for spec in compose.all)

    def seed(self, per_department: int | None = None, *, seed: int | str = 0,
             on_published: Callable[[int], None] | None = None, data: bool = True) -> int:
        """Publishes a realistic responsibility list for every department of every node;
        on_published(n) is told of each department's n entries once its node has them. With
        data, mounts synthetic rows on each entry shared by database or file (see mount_data)."""
        compose = compose_mod.load(self.state["compose"])
        count = compose.entries_per_department if per_department is None else per_department

        def publish(spec) -> int:
            entries = []
            for code, name in spec.departments:
                entries.extend(entries_for(code, name, count, seed=seed))
            done = self.publish(spec.id, entries, on_published=on_published)
            if data:
                for entry in entries:
                    if entry.share_method in data_mod.KIND_FOR_METHOD:
                        self.mount_data(spec.id, entry, data_mod.seed_size(entry.resource_code, seed), seed=seed)
            return done

        with futures.ThreadPoolExecutor(max_workers=8) as pool:
            return sum(pool.map(publish, compose.all))

    def mount_data(self, node_id: str, entry, rows: int, *, seed: int | str = 0) -> str:
        """Writes `rows` synthetic rows for the entry's data items (an SQLite table for an entry
        shared by database, a CSV file for one shared by file) in its department's own directory, and
        mounts them on the entry at its node with the owner department's token, keyed by its ID number
        or credit code when it has one (data.KEY_ITEMS). Returns the location."""
        kind = data_mod.KIND_FOR_METHOD[entry.share_method]
        items = [(item.name, item.type) for item in entry.data_items]
        sources = compose_mod.department_sources(self.state["nodes"][node_id]["database"], entry.provider_code)
        sources.mkdir(parents=True, exist_ok=True)
        table = "t" + entry.resource_code.replace("/", "_")
        province = entry.region_code[:2] + "0000"
        if kind == "sqlite":
            location = sources / f"{entry.provider_code}.db"
            data_mod.write_sqlite(location, table, items, rows, seed=f"{seed}:{entry.resource_code}", province=province)
        else:
            location = sources / f"{table}.csv"
            data_mod.write_csv(location, items, rows, seed=f"{seed}:{entry.resource_code}", province=province)
        # A person's or an enterprise's record is looked up by its ID number or credit code (query,
        # verify): the seed's entries name it as their key item; an entry made elsewhere may not.
        keys = [i.name for i in entry.data_items if i.key] or [n for n in data_mod.KEY_ITEMS if n in dict(items)][:1]
        stub = exchange_pb2_grpc.ExchangeStub(self.channel(node_id, entry.provider_code))
        stub.MountResource(exchange_pb2.MountResourceRequest(
            resource_code=entry.resource_code, kind=kind, location=str(location), table=table if kind == "sqlite" else "",
            keys=keys, index="create" if keys and kind == "sqlite" else ""), timeout=60)
        return str(location)

    def exchange(self, node_id: str, department: str = ""):
        return exchange_pb2_grpc.ExchangeStub(self.channel(node_id, department))

