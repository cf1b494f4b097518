"""Single Query and Verify calls on one grant that the consumer's node has in hand at the same
moment go on to the hub as one batch, the way a database commits the transactions waiting on
its log together (group commit).

A service hall's windows check people one at a time, many at once, all under the same grant.
Relayed one by one, each call costs the hub and the owner's node a whole gRPC call (most of the
time a verification takes: the look-up itself is microseconds). Here the first call on a grant
goes on at once; calls that arrive while it is on its way wait for it to come back and then go
on together, each still a call of its own: it keeps its call id (`call_ids`, one per key), and
the hub and the owner count, charge and record it as one call. So a lone call waits for nothing,
and under load the batches grow with the load.

A batch refused as a whole (one call's claim on an item not granted, a quota with room for some
of the calls only) sends each of its calls on alone, so that each gets its own answer, exactly
as if it had never waited with others. A path that broke (UNAVAILABLE) fails every call in the
batch: the consumer retries with its call id, and is charged once.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from typing import Any, Callable

from node.errors import Unavailable
from node.proto import exchange_pb2

MAX_BATCH = 200  # calls in one relayed batch: enough to carry a busy hall, small enough to answer fast
# Batches of one lane on their way at once. One: the calls that come while it is on its way make
# the next. Two (the hub relaying one while the owner answers the other) made batches half as big
# at 32 callers (5 calls, not 9) and so twice the hub's and the owner's gRPC calls, for no gain in
# latency on two cores (bench/call_bench.py: CPU per call through the hub 1.4-1.8 ms against 1.1-1.3).
ON_THE_WAY = 1

Send = Callable[[str, Any, "float | None"], Any]  # (mode, message, timeout) -> reply, to the next hop


def single(mode: str, message) -> bool:
    """Whether a message is one call on one key (a batch a department sent goes on as it is)."""
    return not (message.keys if mode == "query" else message.batch) and not message.call_ids


class _Signal:
    """Set once by another thread, waited for by the call's own: a bare lock, which costs the
    call a fraction of what a threading.Event does (a condition, a lock and a waiter lock of its
    own), on every call of a busy hall."""

    __slots__ = ("_lock",)

    def __init__(self):
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        if self._lock.locked():
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        if self._lock.acquire(timeout=-1 if timeout is None else timeout):
            self._lock.release()  # it stays set, as an Event does
            return True
        return False


@dataclasses.dataclass(eq=False, slots=True)
class _Waiting:
    message: Any
    deadline: float | None
    done: _Signal = dataclasses.field(default_factory=_Signal)
    reply: Any = None
    error: BaseException | None = None
    alone: bool = False  # its batch was refused as a whole: it goes on by itself
    leads: bool = False  # it sends `batch` (itself first), then hands the lane on
    batch: list["_Waiting"] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(eq=False)
class _Lane:
    """The calls on one grant in one mode waiting to go on, and whether a batch is on its way."""
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    waiting: list[_Waiting] = dataclasses.field(default_factory=list)
    on_the_way: int = 0  # batches


class Coalescer:
    """`send(mode, message, timeout)` makes the call to the next hop (raising what the hop
    answered, or node.errors.Unavailable when it broke)."""

    def __init__(self, send: Send, max_batch: int = MAX_BATCH, on_the_way: int = ON_THE_WAY):
        self.send = send
        self.max_batch = max_batch
        self.on_the_way = on_the_way
        self._lanes: dict[tuple[str, str, str], _Lane] = {}
        self._lock = threading.Lock()
        self._prefix, self._numbers = uuid.uuid4().hex, itertools.count(1)  # ids for calls sent without one

    def call(self, mode: str, message, timeout: float | None):
        """The reply to one call (`single(mode, message)`), relayed alone or with others."""
        if not message.call_id:  # so that the call counts once, whichever way it goes on
            message.call_id = f"{self._prefix}-{next(self._numbers)}"
        me = _Waiting(message, None if timeout is None else time.monotonic() + timeout)
        key = (mode, message.request_id, message.consumer_code)
        lane = self._lane(key)
        with lane.lock:
            if lane.on_the_way < self.on_the_way:
                lane.on_the_way += 1
                me.leads, me.batch = True, [me]
            else:
                lane.waiting.append(me)
        if not me.leads and not me.done.wait(_remaining(me.deadline)):
            with lane.lock:  # its deadline passed while it waited to go on: it leaves the lane
                if me in lane.waiting:
                    lane.waiting.remove(me)
                    raise Unavailable("the call's deadline passed while it waited to go on with others on its grant")
            me.done.wait()  # taken into a batch, or handed the lead, just as its deadline passed
        if me.leads:
            self._lead(mode, lane, key, me.batch)
        if me.alone:
            return self.send(mode, message, _remaining(me.deadline))
        if me.error is not None:
            raise me.error
        return me.reply

    def _lane(self, key: tuple[str, str, str]) -> _Lane:
        with self._lock:
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane()
            return lane

    def _lead(self, mode: str, lane: _Lane, key: tuple[str, str, str], batch: list[_Waiting]) -> None:
        """Sends the batch (this call first) and answers each of its calls; then hands the lane
        on with the calls that came meanwhile as the next batch, or leaves it idle (and
        forgotten: the lanes held are those of the grants being called now, not of every grant)."""
        idle = False
        try:
            self._send(mode, batch)
        finally:
            with lane.lock:
                if lane.waiting:  # taken now, so that two batches coming back at once take different calls
                    after, lane.waiting = lane.waiting[:self.max_batch], lane.waiting[self.max_batch:]
                    after[0].leads, after[0].batch = True, after
                    after[0].done.set()
                else:
                    lane.on_the_way -= 1
                    idle = lane.on_the_way == 0
            for waiting in batch:
                waiting.leads = False
                waiting.done.set()
            # The leader is in its own batch: left so, every call of the batch would be garbage in a
            # cycle, freed only by the collector, which then held the interpreter 30-80 ms at a time
            # on a busy node (some 45,000 objects every few seconds at 1,400 calls/s).
            batch.clear()
        if idle:
            with self._lock, lane.lock:
                if lane.on_the_way == 0 and not lane.waiting and self._lanes.get(key) is lane:
                    del self._lanes[key]

    def _send(self, mode: str, batch: list[_Waiting]) -> None:
        if len(batch) == 1:  # nothing to put together: it goes on as it came, its answer its own
            waiting = batch[0]
            try:
                waiting.reply = self.send(mode, waiting.message, _remaining(waiting.deadline))
            except Exception as refused:
                waiting.error = refused
            return
        # As long as its most patient call waits: a call with a short deadline fails the batch for no other.
        deadlines = [w.deadline for w in batch]
        try:
            reply = self.send(mode, _together(mode, [w.message for w in batch]),
                              None if None in deadlines else _remaining(max(deadlines)))
            replies = _apart(mode, reply, len(batch))
        except Unavailable as broke:
            for waiting in batch:
                waiting.error = broke
            return
        except Exception:  # refused as a whole: each call asks again alone, for its own answer
            for waiting in batch:
                waiting.alone = True
            return
        for waiting, answer in zip(batch, replies):
            waiting.reply = answer


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _together(mode: str, messages: list) -> Any:
    first = messages[0]
    if mode == "query":
        batch = exchange_pb2.QueryRequest(request_id=first.request_id, consumer_code=first.consumer_code)
        for m in messages:
            batch.keys.add().items.update(m.key)
    else:
        batch = exchange_pb2.VerifyClaimsRequest(request_id=first.request_id, consumer_code=first.consumer_code)
        for m in messages:
            batch.batch.add(key=m.key, claims=m.claims)
    batch.call_ids.extend(m.call_id for m in messages)
    return batch


def _apart(mode: str, reply, n: int) -> list:
    """The batch's reply as n single replies, in the batch's order."""
    if mode == "query":
        if len(reply.answers) != n:
            raise ValueError(f"{len(reply.answers)} answers to {n} keys")
        return [exchange_pb2.QueryResponse(columns=reply.columns, rows=a.rows) for a in reply.answers]
    if len(reply.verdicts) != n:
        raise ValueError(f"{len(reply.verdicts)} verdicts on {n} claims")
    return [exchange_pb2.VerifyClaimsResponse(results=v.results, overall=v.overall) for v in reply.verdicts]
