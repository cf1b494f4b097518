"""Working days for reply deadlines: Monday to Friday, less holidays, plus make-up workdays (调休)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))  # deadlines count in Beijing working days


@dataclasses.dataclass(frozen=True)
class Calendar:
    """Working days for reply deadlines: Monday to Friday, less holidays, plus make-up workdays."""

    answer_days: int = 10
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def is_working(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)

    def deadline(self, start: datetime) -> date:
        day, counted = start.astimezone(CHINA).date(), 0
        while counted < self.answer_days:
            day += timedelta(days=1)
            counted += self.is_working(day)
        return day
