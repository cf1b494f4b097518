"""What a grant still allows at the owner's node: its daily quota (calls per Beijing day) and its
rate (calls per second), counted per grant where the data leaves (docs/exchange.md "Modes and
quotas"). A batch counts its keys; a fetch counts one, and its resumption from an offset none;
a batch the consumer's node made of single calls counts each call under its own id.

The rate is a token bucket per grant in memory that holds a second's worth of calls. The quota
is counted in the node's database, one row per call by the client's call id, so that a restart
keeps the day's count and a call retried with its id (the hub or the owner killed before the
answer came back) is counted once. A grant with a rate and no quota remembers the ids of the
last minute's calls in memory, so that a retry does not take a second token either. A call
refused here uses neither, so a consumer that retries a refused call is not charged for it; the
owner's node takes a call's charge only once every other check of it has passed
(node/exchange/provider.py `charge`).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Callable, Sequence

from node.errors import ResourceExhausted
from node.model.calendar import CHINA
from node.model.request import Request


RECALL_SECONDS = 60.0  # a grant with a rate only: how long a retry is known as one
RECALL_CALLS = 100_000  # ... and at most how many call ids per grant are kept for it

Charge = tuple[str, int]  # (the client's call id or "", the calls it counts)


def charges(calls: int, call_id: str = "", call_ids: Sequence[str] = ()) -> list[Charge]:
    """What a message counts against the grant: `calls` under its one `call_id`, or, for a batch
    the consumer's node made of single calls, one call per id of `call_ids`."""
    return [(i, 1) for i in call_ids] if call_ids else [(call_id, calls)] if calls else []


def next_midnight(now: datetime) -> datetime:
    """The next Beijing midnight after `now`, when a daily quota resets."""
    day = now.astimezone(CHINA).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


class Allowance:
    """Per grant: calls today against `daily_quota` (in `store`), and a bucket of `rate` tokens
    refilled at `rate` a second. `clock` is the node's (for the day), `monotonic` measures the refill."""

    def __init__(self, store, clock: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic):
        self.store, self.clock, self.monotonic = store, clock, monotonic
        self._lock = threading.Lock()  # one check and count at a time: no two calls take the last one
        self._buckets: dict[str, tuple[float, float]] = {}  # request id -> (tokens, when counted)
        self._recent: dict[str, collections.OrderedDict[str, float]] = {}  # rate only: request id -> call id -> when
        self._pruned_day = ""

    def take(self, request: Request, charges: Sequence[Charge]) -> None:
        """Counts each (call id, calls) of `charges` against the grant, or refuses them all
        (ResourceExhausted naming the limit and when it allows them again) without counting any.
        A call whose id was counted already (a retry) is not counted again."""
        if not charges or not (request.daily_quota or request.rate):
            return
        now, tick = self.clock(), self.monotonic()
        day = now.astimezone(CHINA).date().isoformat()
        rid = request.request_id
        # A grant with a rate only is counted in memory: no write for it.
        with self._lock, self.store.transaction() if request.daily_quota else contextlib.nullcontext() as tx:
            if tx is not None and day != self._pruned_day:  # the day turned: yesterday's count is kept for a look, older dropped
                tx.prune_grant_calls((now.astimezone(CHINA).date() - timedelta(days=1)).isoformat())
                self._pruned_day = day
            if request.daily_quota:
                used, seen = tx.grant_calls(rid, day, [i for i, _ in charges])
            else:
                used, seen = 0, set(self._recalled(rid, [i for i, _ in charges], tick))
            new: list[Charge] = []
            for call_id, calls in charges:
                if call_id in seen:  # a retry, or the same call twice in one batch
                    continue
                new.append((call_id or uuid.uuid4().hex, calls))
                if call_id:  # a call without an id is never anyone's retry
                    seen.add(call_id)
            calls = sum(n for _, n in new)
            if calls <= 0:
                return
            if request.daily_quota and used + calls > request.daily_quota:
                resets = next_midnight(now).isoformat(timespec="minutes")
                batch = "" if calls == 1 else f"; this batch asks {calls}"
                raise ResourceExhausted(f"daily_quota: request {rid} allows {request.daily_quota} calls a day and has "
                                        f"used {used} on {day} (Beijing){batch}; the quota resets at {resets}")
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
            if request.daily_quota:
                tx.charge_grant(rid, day, new)
            else:
                self._remember(rid, [i for i, _ in new], tick)

    def _recalled(self, rid: str, call_ids: list[str], tick: float) -> list[str]:
        """Those of `call_ids` counted in the last RECALL_SECONDS (a grant with a rate only)."""
        recent = self._recent.get(rid)
        if not recent:
            return []
        while recent and (len(recent) > RECALL_CALLS or next(iter(recent.values())) < tick - RECALL_SECONDS):
            recent.popitem(last=False)
        return [i for i in call_ids if i and i in recent]

    def _remember(self, rid: str, call_ids: list[str], tick: float) -> None:
        recent = self._recent.setdefault(rid, collections.OrderedDict())
        for call_id in call_ids:
            recent[call_id] = tick
