"""Serving the portal: uvicorn on a socket bound here (so that port 0 picks a free port and the
harness can read it back), stopped gracefully on SIGTERM or Ctrl-C."""

from __future__ import annotations

import gc
import logging
import pathlib
import re
import socket

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

NON_ASCII = re.compile(rb"[\x80-\xff]")


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--listen: {listen!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def bind(listen: str) -> socket.socket:
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without
    # it every response written in two parts waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class RawUtf8Targets(H11Protocol):
    """h11 with a request line written as people type it: `curl '/search?q=社保'` sends the query's
    UTF-8 unescaped, which h11 refuses (400) since a request target must be ASCII; its bytes past
    ASCII are percent-encoded first, as a browser would have sent them."""

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:  # this chunk begins a request: its first line is the target's
            end = data.find(b"\r\n")
            line = data if end < 0 else data[:end]
            if any(byte >= 0x80 for byte in line):
                data = NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], line) + data[len(line):]
        super().data_received(data)


def serve(app, sock: socket.socket, port_file: str | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3,
                            proxy_headers=False, http=RawUtf8Targets)
    server = uvicorn.Server(config)
    host, port = sock.getsockname()[:2]
    logging.getLogger("portal").info("portal.started listening on http://%s:%d/", host, port)
    if port_file:
        tmp = pathlib.Path(port_file).with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(port_file)
    # What is loaded by now (the web framework, gRPC, the templates' code) lives as long as the
    # portal: out of the collector's sight, a full collection walks only what serving made. It
    # walked everything, 16-32 ms a time, every few seconds under a harvester's pages of 1,000.
    gc.freeze()
    server.run(sockets=[sock])
