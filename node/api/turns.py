"""Turns for searches and listings: how many run at once, served in the order the calls came.

Sixteen searches at once on two cores share the interpreter lock sixteen ways, each stretched to
sixteen times its cost; so a node runs as many at once as it has cores (`READERS`) and the others
wait their turn, first come first served.

A lane of its own for heavy calls (pages of more than 100 entries, facet counts) was tried at
3,000,000 entries and dropped: the light calls waited no less (the two cores, not the turns, were
what they waited for), and the harvesters' pages of 1,000 queued behind each other, p99 926 ms,
the whole mix's p99 642 ms at 16 clients against 292-357 ms in one lane.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator

from node.workers import usable_cores

# Calls under way at once: one per core (two at a time served 45% more calls a second than
# sixteen at 1,000,000 entries, p99 203 ms against 649).
READERS = usable_cores()


class Lane:
    """A number of turns, handed to waiting calls in the order they came. (A plain semaphore lets
    a call that arrives just as a turn is given back take it before the call woken for it runs:
    under load some calls waited many turns, the tail of the latencies.)"""

    def __init__(self, turns: int):
        self._free = turns
        self._lock = threading.Lock()
        self._waiting: collections.deque[threading.Lock] = collections.deque()

    @property
    def waiting(self) -> int:
        """Calls waiting for a turn."""
        with self._lock:
            return len(self._waiting)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            waiter = None
            if self._free and not self._waiting:
                self._free -= 1
            else:
                waiter = threading.Lock()
                waiter.acquire()
                self._waiting.append(waiter)
        if waiter is not None:
            waiter.acquire()  # released by the call that hands this one its turn
        try:
            yield
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting.popleft().release()  # the turn passes on: never free in between
                else:
                    self._free += 1
