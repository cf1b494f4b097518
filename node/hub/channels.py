"""The hub's channels to its peers: one per peer, opened on first use, shared by the pull
schedule, digest checks and the courier, closed once at stop."""

from __future__ import annotations

import threading
from typing import Callable

import grpc

from node.config import Peer
from node.errors import NotFound

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]


class PeerChannels:
    def __init__(self, peers: tuple[Peer, ...], open_channel: Callable[[Peer], grpc.Channel]):
        self.peers: dict[str, Peer] = {p.id: p for p in peers}
        self._open = open_channel
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def peer(self, peer_id: str) -> Peer:
        try:
            return self.peers[peer_id]
        except KeyError:
            raise NotFound(f"peer: no peer {peer_id!r} (known: {', '.join(sorted(self.peers))})") from None

    def get(self, peer: Peer) -> grpc.Channel:
        with self._lock:
            channel = self._channels.get(peer.id)
            if channel is None:
                channel = self._channels[peer.id] = self._open(peer)
            return channel

    def close(self) -> None:
        """Closes every channel; calls in flight on them are cancelled."""
        with self._lock:
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()
