"""A clock a test sets by hand, so that deadlines, overdue flags and grant validity never depend
on the day the suite happens to run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta


class Clock:
    """Reads `at`, a microsecond later at each reading since it was set, so that a node's events
    keep their order (requests list by creation time); a test moves it with `clock.at = ...`."""

    def __init__(self, at: datetime):
        self.at = at

    @property
    def at(self) -> datetime:
        return self._at

    @at.setter
    def at(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a test clock needs a timezone-aware instant")
        self._at, self._readings = at, itertools.count()

    def __call__(self) -> datetime:
        return self._at + timedelta(microseconds=next(self._readings))


def fix_clock(clients, at: datetime) -> Clock:
    """One clock for the sharing (and with it the exchange) side of every node in `clients`."""
    clock = Clock(at)
    for client in clients:
        client.node.sharing.clock = clock
    return clock
