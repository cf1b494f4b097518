"""The harness's fault proxy at its open-file limit. Each connection through it holds two
descriptors; at the limit a link still accepts a connection but cannot connect on to its node,
so every new connection on it is refused (the caller sees its handshake reset) while the
connections made before keep working: one peer looks unreachable, the others fine. The proxy
raises its limit as far as it may, and says why it refused."""

import json
import pathlib
import resource
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, wait_until


class Proxy:
    def __init__(self, tmp_path: pathlib.Path, links: str, nofile: tuple[int, int]):
        ready = tmp_path / "proxy.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness.proxy", "--links", links, "--ready", str(ready)], cwd=ROOT,
            stderr=subprocess.DEVNULL, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile))
        self.info = json.loads(wait_until(lambda: ready.exists() and ready.read_text(), 30, "the proxy to listen"))

    def command(self, **message) -> dict:
        with socket.create_connection(("127.0.0.1", self.info["control"]), timeout=10) as control:
            control.sendall(json.dumps(message).encode() + b"\n")
            return json.loads(control.makefile().readline())

    def links(self) -> dict:
        return self.command(cmd="status")["links"]

    def connect(self, link: str) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.info["links"][link]), timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


@pytest.fixture
def node_port():
    """A listening socket standing for a node: the kernel completes each connection's handshake."""
    with socket.create_server(("127.0.0.1", 0), backlog=512) as server:
        yield server.getsockname()[1]


@pytest.fixture
def proxy(tmp_path, node_port):
    started = []

    def start(nofile: tuple[int, int]) -> Proxy:
        started.append(Proxy(tmp_path, "a,b", nofile))
        for link in ("a", "b"):
            started[-1].command(cmd="set", link=link, target=f"127.0.0.1:{node_port}")
        return started[-1]

    yield start
    for p in started:
        p.stop()


def test_the_proxy_raises_its_open_file_limit_to_the_hard_limit(proxy):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1024:
        pytest.skip(f"this machine's hard limit on open files is {hard}")
    p = proxy((64, hard))
    held = [p.connect("a") for _ in range(100)]  # 200 descriptors: three times the soft limit it started with
    links = wait_until(p.links, 30, "the proxy to take every connection", until=lambda ls: ls["a"]["open"] == 100)
    assert links["a"]["refused"] == 0
    for connection in held:
        connection.close()


def test_a_link_at_the_limit_says_why_it_refuses_and_recovers_when_connections_close(proxy):
    p = proxy((48, 48))
    held = []
    # hold connections until the proxy cannot take one more (one descriptor short of connecting on)
    wait_until(lambda: held.append(p.connect("a")) or p.links()["a"]["refused"], 30,
               "link a to refuse a connection at the limit", poll=0.01)
    other = p.connect("b")  # a connection on another link, made at the limit: refused too
    links = wait_until(p.links, 30, "link b to refuse", until=lambda ls: ls["b"]["refused"] >= 1)
    assert "Too many open files" in links["a"]["last_refusal"] and "Too many open files" in links["b"]["last_refusal"]
    assert links["a"]["open"] > 10  # the connections made before are still open
    other.close()
    for connection in held:
        connection.close()
    wait_until(lambda: p.links()["a"]["open"], 30, "the held connections to close", until=lambda n: n == 0)
    again = p.connect("b")
    wait_until(p.links, 30, "a new connection on b to be taken", until=lambda ls: ls["b"]["open"] == 1)
    again.close()
