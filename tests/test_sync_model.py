"""A hypothesis state machine: random interleavings of publish, update, withdraw, pull, hub
restart, peer restore and log compaction always end with the hub equal to the union of its
peers after a final pull."""

import dataclasses
import shutil
import tempfile
import pathlib

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from conftest import make_entry, node_config, wait_until
from node.proto import catalog_pb2
from node import wire
from node.server import Node
from node.store import backup, restore

import grpc

PEERS = {"hebei": ("provincial", "130000", "130100005"), "mps": ("ministry", "100000", "100000011")}


class CascadeModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="cascade-model-"))
        self.peers: dict[str, Node] = {}
        self.channels: dict[str, grpc.Channel] = {}
        self.backups: dict[str, str] = {}
        for peer_id in PEERS:
            self.start_peer(peer_id, 0)
        self.hub = self.start_hub()

    # -- nodes ---------------------------------------------------------------------------

    def start_peer(self, peer_id: str, port: int) -> None:
        role, region, dept = PEERS[peer_id]
        cfg = node_config(self.folder, peer_id, role, region, departments=[dept])
        node = Node(dataclasses.replace(cfg, listen=f"127.0.0.1:{port}")).start()
        self.peers[peer_id] = node
        self.channels[peer_id] = grpc.insecure_channel(node.address)

    def stop_peer(self, peer_id: str) -> int:
        self.channels.pop(peer_id).close()
        node = self.peers.pop(peer_id)
        node.stop(0)
        return node.port

    def start_hub(self) -> Node:
        peers = [{"id": p, "role": PEERS[p][0], "address": n.address, "region_code": PEERS[p][1], "interval": 3600}
                 for p, n in self.peers.items()]
        cfg = node_config(self.folder, "national", "national", "100000", peers=peers)
        return Node(cfg).start()

    def catalog(self, peer_id: str):
        from node.proto import catalog_pb2_grpc

        return catalog_pb2_grpc.CatalogStub(self.channels[peer_id])

    # -- rules ---------------------------------------------------------------------------

    @rule(peer=st.sampled_from(sorted(PEERS)), seq=st.integers(1, 3), name=st.sampled_from(["人口", "企业", "信用"]))
    def publish(self, peer, seq, name):
        entry = make_entry(PEERS[peer][2], seq=seq, name=f"{name}资源{seq}")
        self.catalog(peer).PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))

    @rule(peer=st.sampled_from(sorted(PEERS)), seq=st.integers(1, 3))
    def withdraw(self, peer, seq):
        code = f"{PEERS[peer][2]}/{seq:06d}"
        entry = self.peers[peer].store.get_entry(code)
        if entry is not None and not entry.withdrawn:
            self.catalog(peer).WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code=code))

    @rule(peer=st.sampled_from(sorted(PEERS)))
    def pull(self, peer):
        self.hub.scheduler.sync_now(peer, wait=True, timeout=30)

    @rule()
    def restart_hub(self):
        self.hub.stop(0)
        self.hub = self.start_hub()

    @rule(peer=st.sampled_from(sorted(PEERS)))
    def take_backup(self, peer):
        path = str(self.folder / f"{peer}-{len(self.backups)}.backup")
        backup(self.peers[peer].config.database, path)
        self.backups[peer] = path

    @precondition(lambda self: self.backups)
    @rule(data=st.data())
    def restore_peer(self, data):
        peer = data.draw(st.sampled_from(sorted(self.backups)))
        database = self.peers[peer].config.database
        port = self.stop_peer(peer)
        restore(self.backups[peer], database)
        self.start_peer(peer, port)

    @rule(peer=st.sampled_from(sorted(PEERS)), keep=st.integers(0, 3))
    def compact(self, peer, keep):
        self.peers[peer].store.compact(keep)

    def pull_until_ok(self, peer: str) -> None:
        """A final pull that succeeds: a restarted peer may take the hub's channel a moment."""
        hub = self.hub.scheduler

        source = self.peers[peer].store

        def pulled():
            _, finished = hub.sync_now(peer, wait=True, timeout=30)
            return finished, next(s for s in hub.peer_states() if s.node_id == peer)

        # Settled means the hub's cursor stands at the peer's own epoch and head with no failure:
        # "no failure" alone was not enough (a pull still running when sync_now's wait ended).
        wait_until(pulled, 60, f"a successful pull of {peer} up to its head",
                   until=lambda seen: seen[1].failures == 0
                   and (seen[1].cursor.epoch, seen[1].cursor.seq) == (source.epoch, source.head_seq()))

    # -- the property --------------------------------------------------------------------

    def teardown(self):
        try:
            for peer in sorted(self.peers):
                self.pull_until_ok(peer)
            for peer, node in self.peers.items():
                at_peer = node.store.digest(origin=peer)
                at_hub = self.hub.store.digest(origin=peer)
                assert at_hub == at_peer, f"{peer}: hub {at_hub} != peer {at_peer}"
            assert self.hub.store.count_entries()[1] == sum(n.store.count_entries()[1] for n in self.peers.values())
        finally:
            self.hub.stop(0)
            for peer in list(self.peers):
                self.stop_peer(peer)
            shutil.rmtree(self.folder, ignore_errors=True)


CascadeModel.TestCase.settings = settings(max_examples=50, stateful_step_count=25, deadline=None)
TestCascadeModel = CascadeModel.TestCase
