"""The processes of a federation: starting, watching and ending them."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.security.client import Credentials, open_channel

ROOT = pathlib.Path(__file__).resolve().parent.parent


class HarnessError(RuntimeError):
    pass


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited: reap it if it is ours
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        status = pathlib.Path(f"/proc/{pid}/stat")
        return status.exists() and status.read_text().split(") ", 1)[1][:1] != "Z"


def resident_kib(pid: int | None) -> int:
    """The process's resident memory (VmRSS) in KiB; 0 when it is not running."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError):
        pass
    return 0


def children(pid: int | None) -> list[int]:
    """The running processes whose parent is `pid`: a node's worker and reader processes."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat") if pid else ():
        try:
            if int(stat.read_text().rsplit(") ", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    return found


def children_resident_kib(pid: int | None) -> int:
    """The resident memory (VmRSS) of the process's children, in KiB: a node's worker and reader
    processes."""
    return sum(resident_kib(child) for child in children(pid))


def wait_file(path: pathlib.Path, timeout: float, proc: subprocess.Popen | None = None) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"process {proc.args[-3:]} exited with {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise HarnessError(f"{path} did not appear within {timeout:.0f}s")
        time.sleep(0.02)
    return path.read_text()


def wait_healthy(address: str, timeout: float, proc: subprocess.Popen | None = None,
                 credentials: Credentials | None = None) -> None:
    """Polls gRPC health until SERVING; fails early if the node's process exits."""
    deadline = time.monotonic() + timeout
    with open_channel(address, credentials) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if proc is not None and proc.poll() is not None:
                raise HarnessError(f"node at {address} exited with {proc.returncode}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise HarnessError(f"node at {address} is not healthy after {timeout:.0f}s")
            time.sleep(0.05)


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Polls a web server until it answers 200 (the portal's /healthz); fails early if it exits."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"web server at {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise HarnessError(f"{url} is not answering after {timeout:.0f}s")
        time.sleep(0.05)


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def reap(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def terminate(pid: int | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within the timeout."""
    if not alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not reap(pid, timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        reap(pid, 10)
