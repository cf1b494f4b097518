"""Working days for reply deadlines: the State Council's published holidays and make-up working
days (调休), read from the `chinesecalendar` package, plus a node's own local days off.

The package is pure data (no I/O), so the lookup lives here with the rest of the model. It covers
the years whose holiday notice it carries; a day outside them has no answer, and a deadline that
would need one fails with CalendarNotCovered instead of guessing Monday to Friday, unless the
node's operator chose that explicitly (`sharing.beyond_calendar: weekdays`).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone

import chinese_calendar

from node.errors import FailedPrecondition

CHINA = timezone(timedelta(hours=8))  # deadlines count in Beijing working days

# The years the installed package carries a notice for (each has holidays in its table).
OFFICIAL_YEARS = range(min(d.year for d in chinese_calendar.holidays),
                       max(d.year for d in chinese_calendar.holidays) + 1)
PACKAGE = f"chinesecalendar {getattr(chinese_calendar, '__version__', '')}".strip()
BEYOND = ("refuse", "weekdays")


def covered_years() -> str:
    return f"{OFFICIAL_YEARS.start}–{OFFICIAL_YEARS.stop - 1}"


class CalendarNotCovered(FailedPrecondition):
    """A working day was asked of a year the official calendar does not cover."""

    def __init__(self, day: date):
        super().__init__("calendar", f"no official holidays known for {day.year} ({day.isoformat()}): "
                                     f"{PACKAGE} covers {covered_years()}; upgrade it once the State Council's "
                                     f"notice for {day.year} is out, or type the notice into sharing.notices, "
                                     f"or set sharing.beyond_calendar: weekdays")
        self.day = day


@dataclasses.dataclass(frozen=True)
class Calendar:
    """Working days for reply deadlines. With `official`, the State Council's days within
    OFFICIAL_YEARS (outside them: refused, or Monday to Friday if `beyond` says `weekdays`);
    without, Monday to Friday. `holidays` are days off added on top (a local day off), `workdays`
    days worked on top (kept for simulations that make up their own year)."""

    answer_days: int = 10
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    official: bool = False
    beyond: str = "refuse"
    # Years past the package whose State Council notice the operator typed into the config
    # (`sharing.notices`): their days off are in `holidays`, their make-up working days in `workdays`.
    noticed: frozenset[int] = frozenset()

    def covers(self, day: date) -> bool:
        """Whether this calendar can say if `day` is worked."""
        return (not self.official or self.beyond == "weekdays" or day.year in OFFICIAL_YEARS
                or day.year in self.noticed)

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if self.official and day.year in OFFICIAL_YEARS:
            return chinese_calendar.is_workday(day)
        if not self.covers(day):
            raise CalendarNotCovered(day)
        return day.weekday() < 5

    def deadline(self, start: datetime) -> date:
        return self.after(start.astimezone(CHINA).date(), self.answer_days)

    def after(self, day: date, working_days: int) -> date:
        """The `working_days`-th working day after `day`."""
        counted = 0
        while counted < working_days:
            day += timedelta(days=1)
            counted += self.is_working(day)
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days after `first` up to and including `last` (0 when last <= first)."""
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working(day)
        return count


OFFICIAL = Calendar(official=True)
