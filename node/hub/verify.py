"""Proving the hub's copy equals each source: each peer's digest of its own live entries
against the digest of the hub's copy of them ("one source per datum, checked against many")."""

from __future__ import annotations

import grpc

from node.config import Peer
from node.hub.channels import PeerChannels
from node.model.sync import Digest, Verdict
from node.hub.channels import describe
from node.proto import cascade_pb2, cascade_pb2_grpc
from node.store import Store


def verify(store: Store, channels: PeerChannels, peers: list[Peer], deadline: float) -> list[Verdict]:
    verdicts = []
    for peer in peers:
        count, digest = store.digest(origin=peer.id)
        at_hub = Digest(count, digest, store.epoch, store.head_seq())
        try:
            reply = channels.stub(peer, cascade_pb2_grpc.CascadeStub).GetDigest(
                cascade_pb2.DigestRequest(origin=peer.id), timeout=deadline)
        except grpc.RpcError as exc:
            verdicts.append(Verdict(peer.id, False, None, at_hub, describe(exc)))
            continue
        at_peer = Digest(reply.count, reply.hash, reply.epoch, reply.seq)
        verdicts.append(Verdict(peer.id, (at_peer.count, at_peer.hash) == (count, digest), at_peer, at_hub))
    return verdicts
