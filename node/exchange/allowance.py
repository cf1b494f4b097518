"""What a grant still allows at the owner's node: its daily quota (calls per Beijing day) and its
rate (calls per second), counted per grant where the data leaves (docs/exchange.md "Modes and
quotas"). A batch counts its keys; a fetch counts one, and its resumption from an offset none.

The counts are held in memory: the rate by a token bucket per grant that holds a second's worth
of calls, the quota by a count per grant for the current Beijing day. A call refused here uses
neither, so a consumer that retries a refused call is not charged for it.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable

from node.errors import ResourceExhausted
from node.model.calendar import CHINA
from node.model.request import Request


def next_midnight(now: datetime) -> datetime:
    """The next Beijing midnight after `now`, when a daily quota resets."""
    day = now.astimezone(CHINA).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


class Allowance:
    """Per grant: calls today against `daily_quota`, and a bucket of `rate` tokens refilled at
    `rate` a second. `clock` is the node's (for the day), `monotonic` measures the refill."""

    def __init__(self, clock: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic):
        self.clock, self.monotonic = clock, monotonic
        self._lock = threading.Lock()
        self._today: dict[str, tuple[str, int]] = {}  # request id -> (Beijing day, calls that day)
        self._buckets: dict[str, tuple[float, float]] = {}  # request id -> (tokens, when counted)

    def take(self, request: Request, calls: int) -> None:
        """Counts `calls` against the grant, or refuses them all (ResourceExhausted naming the
        limit and when it allows them again) without counting any."""
        if calls <= 0 or not (request.daily_quota or request.rate):
            return
        now, tick = self.clock(), self.monotonic()
        day = now.astimezone(CHINA).date().isoformat()
        rid = request.request_id
        with self._lock:
            counted_day, used = self._today.get(rid, (day, 0))
            used = used if counted_day == day else 0
            if request.daily_quota and used + calls > request.daily_quota:
                resets = next_midnight(now).isoformat(timespec="minutes")
                raise ResourceExhausted(
                    f"daily_quota: request {rid} allows {request.daily_quota} calls a day and has used {used} on "
                    f"{day} (Beijing){'' if calls == 1 else f'; this batch asks {calls}'}; the quota resets at {resets}")
            if request.rate:
                tokens, then = self._buckets.get(rid, (float(request.rate), tick))
                tokens = min(float(request.rate), tokens + (tick - then) * request.rate)
                if calls > tokens:
                    if calls > request.rate:
                        wait = "a batch this size is never allowed: split it"
                    else:
                        wait = f"try again in {(calls - tokens) / request.rate:.2f} s"
                    raise ResourceExhausted(f"rate: request {rid} allows {request.rate} calls a second and "
                                            f"{calls} {'was' if calls == 1 else 'were'} asked; {wait}")
                self._buckets[rid] = (tokens - calls, tick)
            self._today[rid] = (day, used + calls)
