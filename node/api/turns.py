"""Turns for searches and listings: how many run at once, in two lanes, each served in the order
the calls came.

Sixteen searches at once on two cores share the interpreter lock sixteen ways, each stretched to
sixteen times its cost; so a node runs as many at once as it has cores (`READERS`) and the others
wait their turn. But a harvester's page of 1,000 (25-30 ms of Python) or a page with its facet
counts (fifty counts) holds a turn ten times as long as a portal's page of 20: with one lane, two
of them took both turns and every light call queued behind them. Heavy calls now take turns in
a lane of their own (`HEAVY_TURNS`), so a page of 20 waits only for other light calls, and a
heavy one only for other heavy ones.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from collections.abc import Iterator

# Light calls under way at once: one per core (two at a time served 45% more calls a second than
# sixteen at 1,000,000 entries, p99 203 ms against 649).
READERS = os.cpu_count() or 2
# Heavy calls under way at once, besides the light ones.
HEAVY_TURNS = 1
# A call that serves more entries than this, or counts facets, is heavy.
HEAVY_PAGE = 100


class Lane:
    """A number of turns, handed to waiting calls in the order they came. (A plain semaphore lets
    a call that arrives just as a turn is given back take it before the call woken for it runs:
    under load some calls waited many turns, the tail of the latencies.)"""

    def __init__(self, turns: int):
        self._free = turns
        self._lock = threading.Lock()
        self._waiting: collections.deque[threading.Lock] = collections.deque()

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


class Turns:
    """The light and the heavy lane of a node's searches and listings."""

    def __init__(self, light: int = READERS, heavy: int = HEAVY_TURNS):
        self.light, self.heavy = Lane(light), Lane(heavy)

    def turn(self, page_size: int, with_facets: bool) -> contextlib.AbstractContextManager[None]:
        return (self.heavy if page_size > HEAVY_PAGE or with_facets else self.light).turn()
