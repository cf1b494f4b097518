"""The metrics endpoint: prometheus_client's WSGI app on a one-thread HTTP server that stops
with the node. One thread serves scrapes one at a time, so a scrape's store reads always use
the same reader connection, and a flood of scrapes cannot start threads."""

from __future__ import annotations

import socket
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

TIMEOUT = 10.0  # seconds a scraper may take to send its request


class _Handler(WSGIRequestHandler):
    timeout = TIMEOUT

    def log_message(self, format, *args):  # scrapes are not worth a log line each
        pass


class MetricsServer:
    """Binds `listen` (HOST:PORT, port 0 picks one) on construction; start() serves, stop() ends."""

    def __init__(self, listen: str, registry: CollectorRegistry):
        host, port = listen.rsplit(":", 1)
        host = host.strip("[]")

        class Server(WSGIServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        self._server = make_server(host, int(port), make_wsgi_app(registry), server_class=Server,
                                   handler_class=_Handler)
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="metrics-http", daemon=True)

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Waits for a scrape under way, then closes the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
