"""The harness's fault proxy: every link into a node goes through here, so a test can cut it
(partition), slow it (delay), make it drop connections mid-stream or hold it still after a
number of bytes (so that a test can act while a transfer is stopped part-way), then heal it.

One process serves every link on loopback (asyncio). It is steered through a control port
that takes one JSON object per line and answers one:

    {"cmd": "set", "link": "hebei", "target": "127.0.0.1:50123"}
    {"cmd": "set", "link": "hebei", "partitioned": true}        # cuts open connections too
    {"cmd": "set", "link": "hebei", "delay_ms": 300}
    {"cmd": "set", "link": "hebei", "drop_after_bytes": 20000}   # each connection cut after N bytes
    {"cmd": "set", "link": "hebei", "hold_after_bytes": 300000}  # the link stops after N more bytes
    {"cmd": "heal", "link": "hebei"}                             # back to a clean link
    {"cmd": "status"}    # per link: its settings, open connections, counts, and why the last refusal

A link refuses a connection (accepts it and closes it at once) when it is partitioned, has no
target yet, or cannot connect on to its node; `last_refusal` says which.

    python -m harness.proxy --links national,hebei,uplink:hebei --ready FILE
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import resource
import signal

CHUNK = 64 * 1024
CONNECT_TIMEOUT = 5.0  # a node that does not take a connection in this time is counted as refusing


def uplink(node_id: str) -> str:
    """The name of the link that a peer's calls to its hub take (the peer's own link, named after
    it, takes the hub's calls to the peer)."""
    return f"uplink:{node_id}"


class Link:
    def __init__(self, name: str):
        self.name = name
        self.target: tuple[str, int] | None = None
        self.partitioned = False
        self.delay_ms = 0
        self.drop_after_bytes = 0
        self.hold_after_bytes = 0
        self.passed = 0  # bytes from the node to the caller since the hold was set, all connections
        self.lifted = asyncio.Event()
        self.holding = 0  # connections stopped by the hold right now
        self.connections: set[asyncio.Task] = set()
        self.port = 0
        self.stats = {"connections": 0, "refused": 0, "dropped": 0, "bytes": 0}
        self.last_refusal = ""  # why the last connection was refused: a cut, no target, or the node's error

    def state(self) -> dict:
        target = f"{self.target[0]}:{self.target[1]}" if self.target else ""
        return {"port": self.port, "target": target, "partitioned": self.partitioned, "delay_ms": self.delay_ms,
                "drop_after_bytes": self.drop_after_bytes, "hold_after_bytes": self.hold_after_bytes,
                "holding": self.holding, "open": len(self.connections), "last_refusal": self.last_refusal,
                **self.stats}

    def cut(self) -> None:
        for task in list(self.connections):
            task.cancel()

    def hold(self, after_bytes: int) -> None:
        """From now on, pass after_bytes more from the node (counted over every connection, to
        the end of the chunk that reaches it), then stop each connection until the hold is lifted
        (0). Connections stay open: the caller sees a transfer that stalls, not one that fails."""
        self.hold_after_bytes, self.passed = after_bytes, 0
        if after_bytes:
            self.lifted.clear()
        else:
            self.lifted.set()

    async def _held(self) -> None:
        while self.hold_after_bytes and self.passed >= self.hold_after_bytes:
            self.holding += 1
            try:
                await self.lifted.wait()
            finally:
                self.holding -= 1

    def refuse(self, writer: asyncio.StreamWriter, why: str) -> None:
        self.stats["refused"] += 1
        self.last_refusal = why
        writer.transport.abort()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.partitioned or self.target is None:
            self.refuse(writer, "partitioned" if self.partitioned else "no target")
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*self.target), CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            self.refuse(writer, f"connecting to {self.target[0]}:{self.target[1]}: {exc!r}")
            return
        self.stats["connections"] += 1
        task = asyncio.current_task()
        self.connections.add(task)
        sent = [0]  # bytes from the node to the caller on this connection
        pipes = [asyncio.ensure_future(self._pipe(reader, up_writer, None)),
                 asyncio.ensure_future(self._pipe(up_reader, writer, sent))]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            pass
        finally:
            self.connections.discard(task)
            writer.transport.abort()
            up_writer.transport.abort()
            # Either side ending ends both: a pipe stopped by a hold would otherwise wait on.
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sent: list[int] | None) -> None:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                writer.transport.abort()
                raise ConnectionError("closed")
            if self.delay_ms:
                await asyncio.sleep(self.delay_ms / 1000)
            if sent is not None:
                await self._held()
                self.passed += len(data)
                limit = self.drop_after_bytes
                if limit and sent[0] + len(data) >= limit:
                    writer.write(data[: max(0, limit - sent[0])])
                    await writer.drain()
                    self.stats["dropped"] += 1
                    raise ConnectionError("dropped mid-stream")
                sent[0] += len(data)
            self.stats["bytes"] += len(data)
            writer.write(data)
            await writer.drain()


class Proxy:
    def __init__(self, names: list[str]):
        self.links = {name: Link(name) for name in names}

    async def serve(self, ready: pathlib.Path) -> None:
        servers = []
        for link in self.links.values():
            server = await asyncio.start_server(link.handle, "127.0.0.1", 0)
            link.port = server.sockets[0].getsockname()[1]
            servers.append(server)
        control = await asyncio.start_server(self.control, "127.0.0.1", 0)
        info = {"pid": os.getpid(), "control": control.sockets[0].getsockname()[1],
                "links": {name: link.port for name, link in self.links.items()}}
        tmp = ready.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(ready)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        for server in [*servers, control]:
            server.close()
        for link in self.links.values():
            link.cut()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    answer = self.command(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    def command(self, message: dict) -> dict:
        cmd = message["cmd"]
        if cmd == "status":
            return {"ok": True, "links": {n: link.state() for n, link in self.links.items()}}
        link = self.links[message["link"]]
        if cmd == "heal":
            link.partitioned, link.delay_ms, link.drop_after_bytes = False, 0, 0
            link.hold(0)
        elif cmd == "set":
            if "target" in message:
                host, port = message["target"].rsplit(":", 1)
                link.target = (host, int(port))
            link.delay_ms = int(message.get("delay_ms", link.delay_ms))
            link.drop_after_bytes = int(message.get("drop_after_bytes", link.drop_after_bytes))
            if "hold_after_bytes" in message:
                link.hold(int(message["hold_after_bytes"]))
            if "partitioned" in message:
                link.partitioned = bool(message["partitioned"])
                if link.partitioned:
                    link.cut()
        else:
            raise ValueError(f"unknown cmd {cmd!r}")
        return {"ok": True, "link": link.state()}


def _open_files_to_the_hard_limit() -> None:
    """Each connection through the proxy holds two descriptors. At the limit a link still accepts
    (one descriptor) but cannot connect on to its node (the second): every new connection on it
    is refused while the connections made before keep working, so one peer looks unreachable
    and the others fine until some connections close."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    _open_files_to_the_hard_limit()
    parser = argparse.ArgumentParser(description="Fault proxy for the compose harness.")
    parser.add_argument("--links", required=True, help="comma-separated link names")
    parser.add_argument("--ready", required=True, help="file to write ports to once listening")
    args = parser.parse_args()
    asyncio.run(Proxy(args.links.split(",")).serve(pathlib.Path(args.ready)))


if __name__ == "__main__":
    main()
