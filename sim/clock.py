"""Simulated time: a start instant and a factor (simulated seconds per wall second), the
mapping between the two, and working days counted in simulated time."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta

from node.model.calendar import CHINA, Calendar


@dataclasses.dataclass(frozen=True)
class SimClock:
    """Simulated time runs `factor` times faster than the wall clock from `start`."""

    start: datetime
    factor: float
    calendar: Calendar = Calendar()

    def wall(self, sim_seconds: float) -> float:
        """Wall seconds after the run's start at which `sim_seconds` of simulated time have passed."""
        return sim_seconds / self.factor

    def sim(self, wall_seconds: float) -> float:
        return wall_seconds * self.factor

    def at(self, sim_seconds: float) -> datetime:
        """The simulated instant `sim_seconds` after the start (Beijing time)."""
        return (self.start + timedelta(seconds=sim_seconds)).astimezone(CHINA)

    def offset(self, instant: datetime) -> float:
        return (instant - self.start).total_seconds()

    def add_working_days(self, sim_seconds: float, days: float) -> float:
        """The simulated time `days` working days after `sim_seconds`: whole days skip weekends and
        holidays; the fraction is of a 24-hour working day."""
        instant = self.at(sim_seconds)
        whole, part = int(days), days - int(days)
        while not self.calendar.is_working(instant.date()):
            instant = (instant + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
        for _ in range(whole):
            instant += timedelta(days=1)
            while not self.calendar.is_working(instant.date()):
                instant += timedelta(days=1)
        instant += timedelta(days=part)
        return self.offset(instant)

    def in_time(self, filed: float, decided: float) -> bool:
        """Whether a decision at `decided` meets the deadline of a request filed at `filed`: on or
        before the calendar's answer_days-th working day after the filing day (as nodes count)."""
        return self.at(decided).date() <= self.calendar.deadline(self.at(filed))

    def working_days_between(self, a: float, b: float) -> int:
        """Working days strictly after a's day up to and including b's day."""
        day, end, count = self.at(a).date(), self.at(b).date(), 0
        while day < end:
            day += timedelta(days=1)
            count += self.calendar.is_working(day)
        return count


class Pacer:
    """A run's simulated time, read off the wall clock from the moment play began."""

    def __init__(self, clock: SimClock):
        self.clock = clock
        self.began = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since the run's start."""
        return self.clock.sim(time.monotonic() - self.began)
