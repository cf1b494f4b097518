"""The README and docs/ cannot drift: every `sh` block in them runs, exactly as written, in one
bash shell against one fresh harness federation (README.md first, then docs/*.md by name, each
file top to bottom), the way a user pastes them one after another. A block fails its test when
any command in it fails (`set -e -o pipefail`).

A block runs as a user's shell would: from a directory that looks like the checkout (its files
linked in), with the venv's `cascade` on PATH, no CASCADE_* settings but CASCADE_HARNESS_DIR (the
harness's state, in the test's temporary directory, as the README documents) and TMPDIR. What a
block sets (`eval $(cascade harness creds ...)`, `REQ=$(... -q)`) holds for the blocks after it.

To add a block, write it as a fenced `sh` block; it runs here. A block that must not run as it
stands (an install, a synopsis with placeholders, a machine the test does not have) carries
`<!-- not run: why -->` on the line above its fence, and its test is skipped with that reason.
Other fences (`text`, `yaml`, `python`, none) are not shell to paste and are not read."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import threading
from dataclasses import dataclass

import pytest

from conftest import ROOT

FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.S | re.M)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->\s*\n\s*$")
SHELL = {"sh", "bash", "shell", "console"}
BLOCK_SECONDS = 90
SENTINEL = "__block_done__"


@dataclass(frozen=True)
class Block:
    path: pathlib.Path
    line: int
    text: str
    not_run: str  # why it is not run, or ""

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def documents() -> list[pathlib.Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks_of(path: pathlib.Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        if match.group(1) not in SHELL:
            continue
        before = text[: match.start()]
        reason = NOT_RUN.search(before[-300:])
        found.append(Block(path, before.count("\n") + 1, match.group(2), reason.group(1) if reason else ""))
    return found


BLOCKS = [block for path in documents() for block in blocks_of(path)]


class Shell:
    """One bash process that the blocks are pasted into, in order; it outlives a failed block."""

    def __init__(self, cwd: pathlib.Path, env: dict[str, str], outputs: pathlib.Path):
        self.outputs = outputs
        self.process = subprocess.Popen(["bash", "--norc", "--noprofile"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.count = 0

    def run(self, block: Block) -> tuple[int, str]:
        """Paste the block; its exit status (the first failing command's) and what it printed."""
        self.count += 1
        script = self.outputs / f"block{self.count}.sh"
        output = self.outputs / f"block{self.count}.out"
        script.write_text(block.text, encoding="utf-8")
        # `set -e` inside a function called in an `if` would be ignored, so the block runs in the
        # shell itself; an ERR trap records the status and returns from the sourced file, which
        # keeps the shell (and what earlier blocks set) for the blocks after a failure.
        self.process.stdin.write(
            f"__status=0; trap '__status=$?; trap - ERR; return $__status 2>/dev/null' ERR; set -o pipefail\n"
            f"source {script} >{output} 2>&1 </dev/null; __s=$?; [ $__status -ne 0 ] || __status=$__s\n"
            f"trap - ERR; set +o pipefail; echo {SENTINEL} $__status\n")
        self.process.stdin.flush()
        timer = threading.Timer(BLOCK_SECONDS, self.process.kill)
        timer.start()
        try:
            line = self.process.stdout.readline()
        finally:
            timer.cancel()
        printed = output.read_text(encoding="utf-8", errors="replace") if output.exists() else ""
        if not line.startswith(SENTINEL):
            return -1, printed + f"\n(the shell ended or the block ran past {BLOCK_SECONDS} s: {line!r})"
        return int(line.split()[1]), printed

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def user_environment(tmp: pathlib.Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASCADE_")}
    env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["CASCADE_HARNESS_DIR"] = str(tmp / "harness")
    env["TMPDIR"] = str(tmp / "tmp")
    (tmp / "tmp").mkdir()
    return env


def checkout_view(tmp: pathlib.Path) -> pathlib.Path:
    """A directory holding links to the checkout's files: relative paths resolve as in the
    checkout, and what a block writes stays out of it."""
    view = tmp / "checkout"
    view.mkdir()
    for item in ROOT.iterdir():
        if item.name not in {".git", ".venv", "data", ".cascade-harness", "tests"}:
            (view / item.name).symlink_to(item)
    return view


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    env = user_environment(tmp)
    outputs = tmp / "outputs"
    outputs.mkdir()
    running = Shell(checkout_view(tmp), env, outputs)
    yield running
    running.close()
    # From the checkout's view: in `tmp`, `python -m` would import the harness's state folder
    # (tmp/harness) as the `harness` package.
    down = subprocess.run([sys.executable, "-m", "cli", "harness", "down", "--purge"], env=env, cwd=tmp / "checkout",
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_block_runs_as_written(block, shell):
    if block.not_run:
        pytest.skip(f"marked not run: {block.not_run}")
    status, printed = shell.run(block)
    assert status == 0, f"{block.name} failed (exit {status}):\n{block.text}\n--- it printed:\n{printed[-4000:]}"


def test_every_document_has_a_block_that_runs():
    """The README's tour is run, not only skipped (a marker on everything would pass silently)."""
    readme = [block for block in BLOCKS if block.path.name == "README.md"]
    assert any(not block.not_run for block in readme), "README.md: no sh block runs"
    assert any("harness up" in block.text for block in readme if not block.not_run), \
        "README.md: the first block that runs must start the federation (harness up)"


def test_a_marker_belongs_to_the_fence_below_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("a\n<!-- not run: an install -->\n```sh\npip install x\n```\n\n```sh\necho ok\n```\n"
                    "```text\nnot shell\n```\n", encoding="utf-8")
    assert [(block.line, block.not_run) for block in blocks_of(page)] == [(3, "an install"), (7, "")]
