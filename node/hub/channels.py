"""The hub's channels to its peers: one per peer, opened on first use, shared by the pull
schedule, digest checks and the courier, closed once at stop."""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

import grpc

from node.config import Peer
from node.errors import NotFound
from node.security.client import ChannelClosed

T = TypeVar("T")

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 256 * 1024 * 1024),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.initial_reconnect_backoff_ms", 200),
    # A channel that lost its peer fails every call at once until its next reconnect attempt:
    # with attempts at most a second apart, a healed link is used by the next pull (at 5 s, the
    # chaos scenario saw pulls after a heal fail twice and the hub converge in 8 intervals).
    ("grpc.max_reconnect_backoff_ms", 1_000),
]


def describe(exc: Exception) -> str:
    """One line for an operator about a failed call: the gRPC status and details, or the exception."""
    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        return f"{exc.code().name}: {exc.details()}"
    return f"{type(exc).__name__}: {exc}"


def unreachable(exc: BaseException) -> bool:
    """Whether a failed call says the link to the peer is down (the channel could not connect,
    or lost its connection) rather than that the peer answered badly or too slowly."""
    return isinstance(exc, grpc.RpcError) and hasattr(exc, "code") and exc.code() == grpc.StatusCode.UNAVAILABLE


class PeerChannels:
    def __init__(self, peers: tuple[Peer, ...], open_channel: Callable[[Peer], grpc.Channel]):
        self.peers: dict[str, Peer] = {p.id: p for p in peers}
        self._open = open_channel
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()
        self._closed = False

    def peer(self, peer_id: str) -> Peer:
        try:
            return self.peers[peer_id]
        except KeyError:
            raise NotFound(f"peer: no peer {peer_id!r} (known: {', '.join(sorted(self.peers))})") from None

    def stub(self, peer: Peer, make: Callable[[grpc.Channel], T]) -> T:
        """`make(channel)` (a stub, or one method's callable) on the peer's channel, made under
        the lock close() takes; raises ChannelClosed once closed (see there why)."""
        with self._lock:
            if self._closed:
                raise ChannelClosed()
            channel = self._channels.get(peer.id)
            if channel is None:
                channel = self._channels[peer.id] = self._open(peer)
            return make(channel)

    def close(self) -> None:
        """Closes every channel; calls in flight on them are cancelled, and no stub is made after."""
        with self._lock:
            self._closed = True
            channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            channel.close()
