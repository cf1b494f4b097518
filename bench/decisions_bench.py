"""What signed decisions cost (run through `python bench/security_bench.py --decisions`): signing
and checking one request version, a request's round trip through a TLS federation, and the hub's
initial sync of a node holding requests, with the signatures made and checked and without.

"Without" switches the nodes' seal off in place (`Sharing.seal = None`: nothing signed, nothing
checked), so both modes run on the same nodes and the same TLS connections; the modes alternate
and the best of each is compared (noise only ever slows a run down).
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from datetime import datetime, timezone

from common import report, scratch

from harness.seed import entries_for
from node import config as config_mod
from node.model.request import Event, Request
from node.security import pki
from node.security.signing import NodeKey, Verifier
from node.server import Node
from node.sharing.seals import Seal

HOSTS = ("127.0.0.1",)
OWNER, CONSUMER = "440300002", "130100005"


def node_config(folder, node_id: str, role: str, region: str, departments, *, hub: str = "", peers=(),
                listen: str = "127.0.0.1:0", database: str = "") -> config_mod.Config:
    ca = folder / "pki"
    settings = {
        "node": {"id": node_id, "role": role, "region_code": region},
        "listen": listen,
        "database": str(folder / (database or f"{node_id}.db")),
        "departments": [{"code": code, "name": f"部门{code}"} for code in departments],
        "tls": {"cert": str(ca / f"{node_id}.pem"), "key": str(ca / f"{node_id}.key"), "ca": str(ca / "ca.pem")},
        "store": {"synchronous": "normal"},
        "log": {"level": "error", "format": "json"},
    }
    if hub:
        settings["hub"] = {"address": hub, "notify": True}
    if peers:
        settings["peers"] = list(peers)
        settings["sync"] = {"backoff_initial": 0.05, "backoff_max": 0.5, "call_deadline": 600, "batch_size": 1000}
    return config_mod.parse(settings, f"<{node_id}>")


def free_address() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def sample_request() -> Request:
    at = datetime(2025, 3, 3, 1, 2, 3, tzinfo=timezone.utc)
    return Request(
        request_id="hebei-0123456789abcdef0123", consumer_code=CONSUMER, consumer_node="hebei",
        resource_code=f"{OWNER}/000002", owner_code=OWNER, owner_node="guangdong", purpose="办理企业开办",
        basis="《优化营商环境条例》", data_items=("企业名称", "统一社会信用代码"), share_type="conditional",
        state="pending", reason="conditional: 须说明办理事项", version=2, created_at=at, updated_at=at,
        deadline="2025-03-14", history=(Event(1, "submitted", CONSUMER, at, "办理企业开办"),
                                        Event(2, "pending", "guangdong", at, "conditional")))


def seal_cost(folder, n: int = 2000) -> list[tuple[str, str]]:
    """µs per version: signing, checking (maker rule + signature, certificate already known), and
    the first sight of a certificate (chain to the CA)."""
    ca = folder / "pki"
    verifier = Verifier(ca / "ca.pem")
    owner = Seal("guangdong", NodeKey(ca / "guangdong.pem", ca / "guangdong.key").sign, verifier.verify)
    version = sample_request()
    start = time.perf_counter()
    for _ in range(n):
        signed = owner.sign(version)
    sign_us = (time.perf_counter() - start) / n * 1e6
    assert owner.refusal(signed, None) is None
    start = time.perf_counter()
    for _ in range(n):
        owner.refusal(signed, None, at=datetime.now(timezone.utc))
    check_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n // 10):
        Seal("hebei", None, Verifier(ca / "ca.pem").verify).refusal(signed, None)
    first_us = (time.perf_counter() - start) / (n // 10) * 1e6
    return [("sign one version", f"{sign_us:,.0f} µs"), ("check one version", f"{check_us:,.0f} µs"),
            ("check, certificate first seen", f"{first_us:,.0f} µs (read the CA file, chain, then check)")]


def seal_switch(nodes: list[Node], on: bool) -> None:
    for node in nodes:
        node.sharing.seal = node.seal if on else None


def round_trips(folder, count: int) -> dict[bool, list[float]]:
    """Seconds from filing at Hebei to the owner's answer stored at Hebei, per request."""
    hub_address = free_address()
    hebei = Node(node_config(folder, "hebei", "provincial", "130000", (CONSUMER,), hub=hub_address)).start()
    guangdong = Node(node_config(folder, "guangdong", "provincial", "440000", (OWNER,), hub=hub_address)).start()
    peers = [{"id": n.config.node_id, "role": "provincial", "address": n.address, "region_code": n.config.region_code,
              "interval": 3600} for n in (hebei, guangdong)]
    hub = Node(node_config(folder, "national", "national", "100000", ("100000001",), peers=peers,
                           listen=hub_address)).start()
    nodes = [hub, hebei, guangdong]
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        entry = next(e for e in entries_for(OWNER, "深圳市市场监督管理局", 50, seed="decisions", place="深圳市")
                     if e.share_type == "unconditional")  # answered on arrival, by the owner's node
        guangdong.catalog.publish([entry])
        hub.scheduler.sync_now("", wait=True, timeout=60)
        code, items = entry.resource_code, [entry.data_items[0].name]
        committed = threading.Event()
        hebei.store.on_commit(committed.set)
        for i in range(2 * count + 2):
            signed = i % 2 == 0
            seal_switch(nodes, signed)
            start = time.perf_counter()
            filed = hebei.sharing.submit(CONSUMER, code, "办理企业开办", "《优化营商环境条例》", items)
            # Look again only after a commit at Hebei: polling would compete with the nodes for the GIL.
            while hebei.store.get_requests([filed.request_id])[filed.request_id].state == "submitted":
                if not committed.wait(60):
                    raise RuntimeError(f"no answer to {filed.request_id} within 60 s")
                committed.clear()
            if i >= 2:  # the first of each mode warms the connections up
                times[signed].append(time.perf_counter() - start)
    finally:
        for node in reversed(nodes):
            node.stop(0)
    return times


def granted_requests(folder, count: int) -> list[Request]:
    """Hebei's requests for Guangdong's entries as Hebei holds them once answered: filed and
    signed by Hebei, granted and signed by Guangdong."""
    ca, verifier = folder / "pki", Verifier(folder / "pki" / "ca.pem")
    seals = {name: Seal(name, NodeKey(ca / f"{name}.pem", ca / f"{name}.key").sign, verifier.verify)
             for name in ("hebei", "guangdong")}
    at = datetime.now(timezone.utc)
    made = []
    for i in range(count):
        filed = seals["hebei"].sign(dataclasses.replace(
            sample_request(), request_id=f"hebei-{i:020x}", resource_code=f"{OWNER}/{i + 1:06d}", state="submitted",
            version=1, reason="", deadline="", history=sample_request().history[:1], created_at=at, updated_at=at))
        made.append(seals["guangdong"].sign(filed.advanced("granted", OWNER, at, "approved by the owner")))
    return made


def initial_syncs(folder, entries: int, requests: int, rounds: int) -> dict[bool, list[float]]:
    """Seconds a fresh hub takes to pull Hebei: its entries and its answered requests."""
    hebei = Node(node_config(folder, "hebei", "provincial", "130000", (CONSUMER,), database="hebei-sync.db")).start()
    times: dict[bool, list[float]] = {False: [], True: []}
    try:
        made = list(entries_for(CONSUMER, "石家庄市市场监督管理局", entries, seed="decisions", place="石家庄市"))
        for start in range(0, len(made), 5000):
            hebei.catalog.publish(made[start:start + 5000])
        with hebei.store.transaction() as tx:
            tx.put_requests(granted_requests(folder, requests), log=True)
        head = hebei.store.head_seq()
        peers = [{"id": "hebei", "role": "provincial", "address": hebei.address, "region_code": "130000",
                  "interval": 3600}]
        for run in range(2 * rounds):
            signed = run % 2 == 0
            hub = Node(node_config(folder, "national", "national", "100000", ("100000001",), peers=peers,
                                   database=f"hub-{run}.db"))
            seal_switch([hub], signed)
            start = time.perf_counter()
            hub.start()
            try:
                hub.scheduler.sync_now("hebei", wait=True, timeout=600)
                while hub.store.peers()["hebei"].seq < head:  # a pull already under way finishes first
                    time.sleep(0.005)
                times[signed].append(time.perf_counter() - start)
                held = hub.store.all_requests()
                if len(held) != requests or any(r.state != "granted" for r in held):
                    raise RuntimeError(f"the hub holds {len(held)} requests, not the {requests} granted ones")
            finally:
                hub.stop(0)
    finally:
        hebei.stop(0)
    return times


def decisions(count: int, entries: int, requests: int, rounds: int) -> None:
    with scratch() as folder:
        ca = folder / "pki"
        pki.init_ca(ca)
        for name in ("national", "hebei", "guangdong"):
            pki.issue(ca, name, hosts=HOSTS)
        rows = seal_cost(folder)
        trips = round_trips(folder, count)
        syncs = initial_syncs(folder, entries, requests, rounds)
    plain, signed = statistics.median(trips[False]), statistics.median(trips[True])
    rows += [("request round trip, unsigned", f"{plain * 1000:,.1f} ms median of {len(trips[False])}"),
             ("request round trip, signed + checked", f"{signed * 1000:,.1f} ms median of {len(trips[True])}"),
             ("round trip, signed / unsigned", f"{signed / plain:.1%}  (goal <= 110%)")]
    plain, signed = min(syncs[False]), min(syncs[True])
    rows += [("initial sync, unchecked", f"{plain:,.2f} s  (runs: {', '.join(f'{t:.2f}' for t in syncs[False])})"),
             ("initial sync, checked", f"{signed:,.2f} s  (runs: {', '.join(f'{t:.2f}' for t in syncs[True])})"),
             ("initial sync, checked / unchecked", f"{signed / plain:.1%}  (goal <= 110%)")]
    report(f"signed decisions: {count} round trips per mode (hub, Hebei, Guangdong over mutual TLS); a fresh hub's "
           f"initial sync of {entries:,} entries and {requests:,} signed requests, best of {rounds}", rows)
