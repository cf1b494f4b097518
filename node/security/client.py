"""How a client reaches a node: mutual TLS with a certificate from the federation CA (or
plaintext, where the node's config says `insecure: true`), plus a department's bearer token as
`authorization: Bearer ...` metadata. Used by nodes (the hub's peer channels, a node's link to
its hub), by the CLI, the harness and tests."""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import grpc

from node.security.tls import channel_credentials, peer_options


class ChannelClosed(grpc.RpcError):
    """What a node's own outgoing call gets once it has closed its channels (it is stopping).
    grpc registers a stub's methods on its channel when the stub is made, and doing that on a
    closed channel crashes the process (seen once under load: a pull starting as the hub
    stopped), so the node's channel holders make stubs under the lock their close takes and
    make none once closed."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "the node is stopping: its channels are closed"

    def __str__(self) -> str:
        return self.details()


@dataclasses.dataclass(frozen=True)
class Credentials:
    """A client certificate, its key and the CA it trusts (all three, or none for plaintext),
    and optionally a bearer token."""

    cert: str = ""
    key: str = ""
    ca: str = ""
    token: str = ""

    @property
    def secure(self) -> bool:
        return bool(self.cert)

    @classmethod
    def from_env(cls, environ=os.environ) -> "Credentials":
        """CASCADE_CERT, CASCADE_KEY, CASCADE_CA and CASCADE_TOKEN."""
        return cls(environ.get("CASCADE_CERT", ""), environ.get("CASCADE_KEY", ""), environ.get("CASCADE_CA", ""),
                   environ.get("CASCADE_TOKEN", ""))


class _Bearer(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
              grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the token to every call's metadata (plaintext channels cannot carry call credentials)."""

    def __init__(self, token: str):
        self.metadata = (("authorization", f"Bearer {token}"),)

    def _details(self, details):
        return details._replace(metadata=tuple(details.metadata or ()) + self.metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


def open_channel(target: str, credentials: Credentials | None = None, *, server_name: str = "",
                 options: Sequence[tuple[str, object]] = ()) -> grpc.Channel:
    """A channel to `target`. With a certificate, the server must present one from the same CA,
    naming `server_name` when given (a node id: how nodes check each other), else the target's
    host (an operator's tool reaching `127.0.0.1:PORT`)."""
    credentials = credentials or Credentials()
    options = list(options)
    if credentials.secure:
        if server_name:
            options += peer_options(server_name)
        channel = grpc.secure_channel(target, channel_credentials(credentials.cert, credentials.key, credentials.ca),
                                      options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    if credentials.token:
        channel = grpc.intercept_channel(channel, _Bearer(credentials.token))
    return channel
