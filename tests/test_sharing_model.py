"""A hypothesis state machine: random requests, decisions, extensions, withdrawals, objections,
the hub's coordinations and node restarts always end with the consumer's, the owner's and the
hub's copies of every request agreeing."""

import dataclasses
import pathlib
import shutil
import tempfile
import time

import grpc
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from conftest import free_port, make_entry, node_config, wait_until
from node import wire
from node.errors import FailedPrecondition
from node.proto import catalog_pb2, catalog_pb2_grpc
from node.server import Node

PEERS = {"hebei": ("130000", "130100005"), "guangdong": ("440000", "440300002")}
NATIONAL = "100000001"  # the hub's data authority: it coordinates objections between the two provinces
SHARE = {1: dict(share_type="unconditional"), 2: dict(share_type="conditional", share_condition="须审核"),
         3: dict(share_type="not_shared", not_shared_basis="《保守国家秘密法》")}


class SharingModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="cascade-sharing-"))
        self.hub_address = f"127.0.0.1:{free_port()}"
        self.peers: dict[str, Node] = {}
        for peer in PEERS:
            self.start_peer(peer, 0)
        self.hub = self.start_hub()
        for peer, node in self.peers.items():
            with grpc.insecure_channel(node.address) as channel:
                stub = catalog_pb2_grpc.CatalogStub(channel)
                for seq, share in SHARE.items():
                    stub.PublishEntry(catalog_pb2.PublishEntryRequest(
                        entry=wire.entry_to_proto(make_entry(PEERS[peer][1], seq=seq, **share))))
        self.hub.scheduler.sync_now("", wait=True, timeout=30)
        self.requests: list[str] = []

    def start_peer(self, peer: str, port: int) -> None:
        region, dept = PEERS[peer]
        cfg = node_config(self.folder, peer, "provincial", region, departments=[dept], hub=self.hub_address)
        self.peers[peer] = Node(dataclasses.replace(cfg, listen=f"127.0.0.1:{port}")).start()

    def start_hub(self) -> Node:
        peers = [{"id": p, "role": "provincial", "address": n.address, "region_code": PEERS[p][0], "interval": 3600}
                 for p, n in self.peers.items()]
        cfg = node_config(self.folder, "national", "national", "100000", departments=[NATIONAL], peers=peers,
                          extra={"data_authority": NATIONAL})
        return Node(dataclasses.replace(cfg, listen=self.hub_address)).start()

    @rule(consumer=st.sampled_from(sorted(PEERS)), seq=st.sampled_from(sorted(SHARE)), deliver=st.booleans())
    def submit(self, consumer, seq, deliver):
        owner = next(p for p in PEERS if p != consumer)
        request = self.peers[consumer].sharing.submit(PEERS[consumer][1], f"{PEERS[owner][1]}/{seq:06d}",
                                                      "办事", "依据", ["企业名称"])
        self.requests.append(request.request_id)
        self.round_trip(deliver)

    @staticmethod
    def pick(data, found: list):
        """One of `found`, or None when it is empty. The draw is made either way, from a range that
        does not depend on `found`: which requests are eligible depends on deliveries made in the
        background, and hypothesis requires the same choices to draw the same way in every run."""
        index = data.draw(st.integers(0, 63), label="which eligible request")
        return found[index % len(found)] if found else None

    def eligible(self, side: str, states: tuple[str, ...]) -> list:
        """(node, copy) of each request whose copy at its consumer's or owner's node (`side`), or
        at the hub, is in one of `states`: the step drawn acts on one of them, so that it comes up
        as soon as any request allows it (drawn among all, a step rarely met its state)."""
        found = []
        for request_id in self.requests:
            nodes = [self.hub] if side == "hub" else list(self.peers.values())
            for node in nodes:
                held = node.store.get_requests([request_id]).get(request_id)
                mine = side == "hub" or getattr(held, f"{side}_node", None) == node.config.node_id
                if held is not None and mine and held.state in states:
                    found.append((node, held))
        return found

    @rule(data=st.data(), approve=st.booleans(), deliver=st.booleans())
    def decide(self, data, approve, deliver):
        found = self.eligible("owner", ("pending",))
        picked = self.pick(data, found)
        if picked:
            node, held = picked
            node.sharing.decide(held.request_id, held.owner_code, approve, "" if approve else "不符合条件")
            self.round_trip(deliver)

    @precondition(lambda self: self.requests)
    @rule(data=st.data())
    def withdraw(self, data):
        request_id = data.draw(st.sampled_from(self.requests))
        for node in self.peers.values():
            held = node.store.get_requests([request_id]).get(request_id)
            if held is not None and held.consumer_node == node.config.node_id:
                try:
                    node.sharing.withdraw(request_id, held.consumer_code, "不再需要")
                except FailedPrecondition:
                    pass

    @rule(data=st.data(), deliver=st.booleans())
    def extend(self, data, deliver):
        found = [(node, held) for node, held in self.eligible("owner", ("pending",)) if not held.steps("extended")]
        picked = self.pick(data, found)
        if picked:
            node, held = picked
            node.sharing.extend(held.request_id, held.owner_code, "需核实")
            self.round_trip(deliver)

    @rule(data=st.data(), deliver=st.booleans())
    def object(self, data, deliver):
        found = [(node, held) for node, held in self.eligible("consumer", ("rejected",))
                 if held.owner_node and not held.steps("objected")]
        picked = self.pick(data, found)
        if picked:
            node, held = picked
            node.sharing.object(held.request_id, held.consumer_code, "依据充分")
            self.round_trip(deliver)

    @rule(data=st.data(), share=st.booleans())
    def coordinate(self, data, share):
        found = self.eligible("hub", ("objected",))
        picked = self.pick(data, found)
        if picked:
            _, held = picked
            self.hub.sharing.coordinate(held.request_id, NATIONAL, share, "经协调")

    def round_trip(self, deliver: bool = True) -> None:
        """With `deliver`, every log pulled and every delivery made, twice: a step made at one end
        is at the other before the next rule, so that the later steps come up within a run (a
        step not delivered at once crosses the next ones, as before)."""
        for _ in range(2 if deliver else 0):
            self.hub.scheduler.sync_now("", wait=True, timeout=30)
            wait_until(lambda: self.hub.store.due_deliveries(time.time() + 3600), 30, "the hub's outbox to drain",
                       until=lambda due: not due, poll=0.02, ignoring=(Exception,))

    @rule(peer=st.sampled_from(sorted(PEERS)))
    def pull(self, peer):
        self.hub.scheduler.sync_now(peer, wait=True, timeout=30)

    @rule(peer=st.sampled_from(sorted(PEERS)))
    def restart_peer(self, peer):
        port = self.peers[peer].port
        self.peers[peer].stop(0)
        self.start_peer(peer, port)

    @rule()
    def restart_hub(self):
        self.hub.stop(0)
        self.hub = self.start_hub()

    def settle(self) -> None:
        """Pull and deliver until nothing moves: every queued delivery made, every log pulled."""

        clean: list[bool] = []

        def unsettled():
            # A cursor counts only at the peer's own epoch (a restored peer's head may equal an old
            # seq); the pulls that had not finished are shown when the wait fails. The outbox, the
            # cursors and the heads are read one after another while the courier and the pulls go
            # on: a delivery made between two of the reads, or a pull that queued one, can make a
            # moving federation look still once; it is settled when it looks still twice running,
            # with a pull of every peer in between.
            unfinished = [peer for peer in PEERS if not self.hub.scheduler.sync_now(peer, wait=True, timeout=30)[1]]
            heads = {peer: (node.store.epoch, node.store.head_seq()) for peer, node in self.peers.items()}
            behind = [(s.node_id, s.cursor.epoch, s.cursor.seq, heads[s.node_id], s.failures, s.last_error)
                      for s in self.hub.scheduler.peer_states()
                      if (s.cursor.epoch, s.cursor.seq) != heads[s.node_id] or s.failures]
            pending = self.hub.store.due_deliveries(time.time() + 3600)
            moved = heads != {peer: (node.store.epoch, node.store.head_seq()) for peer, node in self.peers.items()}
            clean.append(not pending and not behind and not moved)
            return {"outbox": pending, "behind": behind, "moved": moved, "unfinished": unfinished}

        wait_until(unsettled, 60, "the hub to settle, nothing in its outbox and no peer behind, twice running",
                   until=lambda left: clean[-2:] == [True, True], poll=0.1)

    def teardown(self):
        try:
            self.settle()
            for request_id in self.requests:
                copies = {}
                for name, node in (("hub", self.hub), *self.peers.items()):
                    held = node.store.get_requests([request_id]).get(request_id)
                    if held is not None:
                        copies[name] = (held.state, held.version, held.maker, held.reason, len(held.history))
                consumer, owner = request_id.split("-")[0], next(p for p in PEERS if p != request_id.split("-")[0])
                assert consumer in copies and owner in copies and "hub" in copies, (request_id, copies)
                assert copies[consumer] == copies[owner] == copies["hub"], (request_id, copies)
        finally:
            self.hub.stop(0)
            for node in self.peers.values():
                node.stop(0)
            shutil.rmtree(self.folder, ignore_errors=True)


SharingModel.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestSharingModel = SharingModel.TestCase
