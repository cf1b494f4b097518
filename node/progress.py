"""Progress of long work: a bar on a terminal (stderr), plain lines otherwise, so that a log of a
scripted run shows how far it got without a screenful of redraws. It sits below everything that
shows progress (the CLI, the harness, the simulator) and imports none of them."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Callable, Iterable, Iterator

Advance = Callable[[int], None]


class Progress:
    """How far WHAT has got out of TOTAL (None: not known yet, or one blocking call). On a
    terminal rich draws a bar; elsewhere a line `WHAT: DONE/TOTAL UNIT (P%)` (`WHAT: P%` with
    unit=None, for a total that is not a count, such as simulated seconds) each time another
    STEP percent is done, or, with no total, a line when the work starts and one when it ends.
    Thread-safe: workers may advance it together."""

    def __init__(self, what: str, total: float | None = None, *, unit: str | None = "entries", step: int = 10,
                 live: bool | None = None):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.live = self.console.is_terminal if live is None else live
        self.what, self.total, self.unit, self.step = what, total, unit, step
        self.done: float = 0
        self.text = ""
        self.next_mark = step
        self.started = time.monotonic()
        self.closed = False
        self.lock = threading.Lock()
        self.bar = self._bar() if self.live else None
        if self.bar is None and total is None:
            self._line(f"{what}: started")

    def _bar(self):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, SpinnerColumn, TaskProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)
        from rich.markup import escape

        columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
        if self.unit is None:
            columns.append(TaskProgressColumn())
        else:
            columns += [MofNCompleteColumn(), TextColumn(self.unit), TimeRemainingColumn()]
        bar = Bar(*columns, TimeElapsedColumn(), console=self.console)
        self.task = bar.add_task(escape(self.what), total=self.total)
        bar.start()
        return bar

    def advance(self, n: float = 1) -> None:
        """N more done."""
        with self.lock:
            self._move(self.done + n)

    def update(self, done: float, total: float | None = None, text: str | None = None) -> None:
        """DONE so far (of TOTAL, once it is known), with TEXT after WHAT (what is going on now)."""
        with self.lock:
            if total is not None:
                self.total = total
            if text is not None:
                self.text = text
            self._move(done)

    def _move(self, done: float) -> None:
        self.done = done
        if self.bar is not None:
            from rich.markup import escape

            described = f"{self.what} {self.text}" if self.text else self.what  # "[partition hebei]" is not markup
            self.bar.update(self.task, completed=min(done, self.total) if self.total else done, total=self.total,
                            description=escape(described))
            return
        if not self.total:
            return
        percent = int(done * 100 / self.total)
        if percent >= self.next_mark:
            self.next_mark = (percent // self.step + 1) * self.step
            figures = f"{min(percent, 100)}%" if self.unit is None else f"{done}/{self.total} {self.unit} ({percent}%)"
            self._line(f"{self.what}: {figures}" + (f" {self.text}" if self.text else ""))

    def note(self, line: str) -> None:
        """A line of its own (above the bar, on a terminal)."""
        with self.lock:
            if self.bar is not None:
                self.console.print(line, markup=False, highlight=False)
            else:
                self._line(line)

    def close(self, finished: bool = True) -> None:
        """Ends the bar; off a terminal, work with no total says how long it took (if FINISHED)."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.bar is not None:
                self.bar.stop()
            elif self.total is None and finished:
                self._line(f"{self.what}: done in {time.monotonic() - self.started:.1f}s")

    @staticmethod
    def _line(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


@contextlib.contextmanager
def progress(what: str, total: int | None = None, *, unit: str = "entries", step: int = 10,
             show: bool = True) -> Iterator[Advance]:
    """Yields `advance(n)`: n more of TOTAL units done, shown as `Progress` shows them. With no
    TOTAL (one blocking call) a spinner and the time taken. show=False: nothing (work too short
    to show)."""
    if not show:
        yield lambda n=1: None
        return
    shown = Progress(what, total, unit=unit, step=step)
    try:
        yield shown.advance
    except BaseException:
        shown.close(finished=False)
        raise
    shown.close()


def sending(chunks: Iterable, advance: Advance) -> Iterator:
    """The messages of a client stream (each with a repeated `entries`), counting each message's
    entries as done once gRPC has taken it."""
    for chunk in chunks:
        yield chunk
        advance(len(chunk.entries))
