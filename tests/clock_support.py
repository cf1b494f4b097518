"""A clock a test sets by hand, so that deadlines, overdue flags and grant validity never depend
on the day the suite happens to run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta


class Clock:
    """Reads `at`, a millisecond later at each reading, so that a node's events keep their order
    (requests list by creation time); a test moves it with `at = ...`."""

    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("a test clock needs a timezone-aware instant")
        self.at = at
        self._readings = itertools.count()

    def __call__(self) -> datetime:
        return self.at + timedelta(milliseconds=next(self._readings))


def fix_clock(clients, at: datetime) -> Clock:
    """One clock for the sharing (and with it the exchange) side of every node in `clients`."""
    clock = Clock(at)
    for client in clients:
        client.node.sharing.clock = clock
    return clock
