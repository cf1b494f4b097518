"""Progress of long work: a bar (or a spinner) on a terminal, plain lines on stderr otherwise, so
that a log of a scripted run shows how far it got without a screenful of redraws."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Callable, Iterable, Iterator

import click

Advance = Callable[[int], None]


@contextlib.contextmanager
def progress(what: str, total: int | None = None, *, unit: str = "entries", step: int = 10,
             show: bool = True) -> Iterator[Advance]:
    """Yields `advance(n)`: n more of TOTAL units done (thread-safe). With no TOTAL (one blocking
    call) it shows a spinner and the time taken. On a terminal (stderr) rich draws it; elsewhere a
    line `WHAT: DONE/TOTAL UNIT (P%)` each time another STEP percent is done, or, with no total,
    a line when the work starts and one when it ends. show=False: nothing (work too short to show)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not show:
        yield lambda n=1: None
    elif console.is_terminal:
        with _bar(console, what, total, unit) as advance:
            yield advance
    else:
        lines = _Lines(what, total, unit, step)
        yield lines.advance
        lines.finish()


@contextlib.contextmanager
def _bar(console, what: str, total: int | None, unit: str) -> Iterator[Advance]:
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TextColumn(unit), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n=1: bar.advance(task, n)


class _Lines:
    def __init__(self, what: str, total: int | None, unit: str, step: int):
        self.what, self.total, self.unit, self.step = what, total, unit, step
        self.done = 0
        self.next_mark = step
        self.started = time.monotonic()
        self.lock = threading.Lock()
        if total is None:
            click.echo(f"{what}: started", err=True)

    def advance(self, n: int = 1) -> None:
        with self.lock:
            self.done += n
            if not self.total:
                return
            percent = self.done * 100 // self.total
            if percent >= self.next_mark:
                self.next_mark = (percent // self.step + 1) * self.step
                click.echo(f"{self.what}: {self.done}/{self.total} {self.unit} ({percent}%)", err=True)

    def finish(self) -> None:
        if self.total is None:
            click.echo(f"{self.what}: done in {time.monotonic() - self.started:.1f}s", err=True)


def sending(chunks: Iterable, advance: Advance) -> Iterator:
    """The messages of a client stream (each with a repeated `entries`), counting each message's
    entries as done once gRPC has taken it."""
    for chunk in chunks:
        yield chunk
        advance(len(chunk.entries))
