"""Running real `cascade` node processes in tests: start, wait for health, stop, kill."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import yaml

from conftest import ROOT, free_port
from harness.runner import wait_healthy


class NodeProcess:
    """`cascade node run` in its own process, on a free loopback port."""

    def __init__(self, tmp_path: pathlib.Path, config: dict):
        self.port = config.get("_port") or free_port()
        config = {k: v for k, v in config.items() if k != "_port"}
        config["listen"] = f"127.0.0.1:{self.port}"
        config.setdefault("insecure", True)
        config.setdefault("sharing", {"beyond_calendar": "weekdays"})  # any day of any year
        self.config_path = tmp_path / f"{config['node']['id']}.yaml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.log_path = tmp_path / f"{config['node']['id']}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> "NodeProcess":
        log = open(self.log_path, "ab")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "node", "run", "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )
        log.close()
        wait_healthy(self.address, timeout, self.proc)
        return self

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)
