"""The node's sharing scorecard as the portal holds it: read once, then refreshed in the
background; a period's (考核 by period) read when asked and kept as long; and the departments
that publish at the node, read from it."""

from __future__ import annotations

import threading
import time
from datetime import date

from portal.client import NodeClient, NodeRefused, NodeUnreachable


class Scorecard:
    """The node's scorecard (an evaluation over every entry and request: hundreds of
    milliseconds at 100,000 entries), read once and then refreshed in the background every
    `every` seconds, so that no page waits for it after the first."""

    def __init__(self, client: NodeClient, every: float = 30.0):
        self.client = client
        self.every = every
        self.card = None
        self.error = ""
        self.at = 0.0
        self._refreshing = False
        self._reads = 0  # reads finished, failed ones included
        # Pages that arrive together before there is a card wait for one read, not one read each.
        self._first = threading.Lock()
        self._periods: dict[tuple[str, str], tuple[object, float]] = {}  # (from, to) -> (card, read at)

    def _refresh(self) -> None:
        try:
            self.card, self.error, self.at = self.client.scorecard(), "", time.monotonic()
        except (NodeUnreachable, NodeRefused) as exc:
            self.error = "无法读取共享考核数据，请稍后刷新。"  # not the detail: it names addresses
            if self.card is None:
                self.at = 0.0
        finally:
            self._reads += 1
            self._refreshing = False

    def get(self):
        """(scorecard or None, error message)."""
        if self.card is None:
            reads = self._reads
            with self._first:
                if self.card is None and self._reads == reads:  # a page that waited shares that read's outcome
                    self._refresh()
        elif time.monotonic() - self.at > self.every and not self._refreshing:
            self._refreshing = True
            threading.Thread(target=self._refresh, daemon=True).start()
        return self.card, self.error


    def for_period(self, first: str, last: str):
        """(scorecard or None, error message) for the days from `first` to `last` (YYYY-MM-DD,
        either may be empty); a period's card is kept `every` seconds, a few periods at most."""
        if not first and not last:
            return self.get()
        try:
            days = [date.fromisoformat(d) for d in (first, last) if d]
        except ValueError:
            return None, "日期须为 YYYY-MM-DD 格式。"
        if len(days) == 2 and days[1] < days[0]:
            return None, "截止日期不能早于起始日期。"
        held = self._periods.get((first, last))
        if held is not None and time.monotonic() - held[1] < self.every:
            return held[0], ""
        try:
            card = self.client.scorecard(first, last)
        except (NodeUnreachable, NodeRefused):
            return None, "无法读取共享考核数据，请稍后刷新。"
        if len(self._periods) >= MAX_PERIODS:
            self._periods.clear()
        self._periods[(first, last)] = (card, time.monotonic())
        return card, ""


MAX_PERIODS = 16


class Departments:
    """The departments that publish at the node, from its (cached) scorecard."""

    def __init__(self, scorecard: Scorecard):
        self.scorecard = scorecard
        self._rows: list[tuple[str, str]] = []
        self._of = None

    def all(self) -> list[tuple[str, str]]:
        card, _ = self.scorecard.get()
        if card is not None and card is not self._of:
            self._rows = sorted({(r.department_code, r.department_name or r.department_code)
                                 for r in card.departments if r.department_code and r.entries > 0})
            self._of = card
        return self._rows

    def name(self, code: str) -> str:
        return dict(self.all()).get(code, code)
