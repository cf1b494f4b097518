"""Single calls on one grant that reach the consumer's node at once go on as one batch
(node/exchange/coalesce.py). Whatever arrives when, each call gets the answer it would have got
alone: its own verdict, its own refusal, a quota that lets exactly as many calls through as it
would one by one, and no call charged twice. The next hop here is a stand-in owner that answers
and charges as the owner's node does (a batch is refused as a whole or answered as a whole)."""

from __future__ import annotations

import gc
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
from hypothesis import given, settings, strategies as st

from node.errors import PermissionDenied, Unavailable
from node.exchange.coalesce import Coalescer, _Waiting
from node.exchange.relay import Upstream
from node.proto import exchange_pb2

RECORDS = {f"9144030000000000{i:02d}": f"法人{i}" for i in range(8)}
GRANTED = "法定代表人"


class StandInOwner:
    """Answers verifications of RECORDS under a daily quota, refusing a batch as a whole when the
    quota has no room for all of it or a claim names an item not granted."""

    def __init__(self, quota: int, broken: bool = False, takes: float = 0.002):
        self.quota, self.broken, self.takes = quota, broken, takes
        self.sent = threading.Semaphore(0)
        self.charged: list[str] = []
        self.messages: list[exchange_pb2.VerifyClaimsRequest] = []
        self.lock = threading.Lock()

    def send(self, mode: str, message, timeout):
        self.sent.release()  # one more call or batch on its way
        if timeout is not None and timeout < self.takes:
            time.sleep(timeout)
            raise Unavailable("DEADLINE_EXCEEDED")
        time.sleep(self.takes)  # on its way: calls arriving meanwhile wait and go on together
        with self.lock:
            self.messages.append(message)
            if self.broken:
                raise Unavailable("the hub cannot be reached")
            claims = [(dict(c.key), dict(c.claims)) for c in message.batch] or [(dict(message.key), dict(message.claims))]
            ids = list(message.call_ids) or [message.call_id]
            for _, claimed in claims:
                if set(claimed) - {GRANTED}:
                    raise Upstream(grpc.StatusCode.PERMISSION_DENIED, "claims: not a granted item")
            new = [i for i in ids if i not in self.charged]
            if len(self.charged) + len(new) > self.quota:
                raise Upstream(grpc.StatusCode.RESOURCE_EXHAUSTED, "daily_quota")
            self.charged.extend(new)
            verdicts = ["not_found" if key["code"] not in RECORDS else
                        "match" if RECORDS[key["code"]] == claimed[GRANTED] else "mismatch"
                        for key, claimed in claims]
        if message.batch:
            reply = exchange_pb2.VerifyClaimsResponse()
            for v in verdicts:
                reply.verdicts.add(results={GRANTED: v}, overall=v)
            return reply
        return exchange_pb2.VerifyClaimsResponse(results={GRANTED: verdicts[0]}, overall=verdicts[0])


def alone(code: str, claimed: str) -> str:
    return "not_found" if code not in RECORDS else "match" if RECORDS[code] == claimed else "mismatch"


a_call = st.tuples(st.sampled_from(sorted(RECORDS) + ["914403000000009999"]),
                   st.sampled_from(sorted(set(RECORDS.values())) + ["某某"]),
                   st.booleans().map(lambda bad: "学历" if bad else GRANTED))


def run(owner: StandInOwner, calls, coalescer: Coalescer | None = None) -> list:
    coalescer = coalescer or Coalescer(owner.send)

    def one(n: int, call):
        code, value, item = call
        message = exchange_pb2.VerifyClaimsRequest(request_id="hebei-1", consumer_code="130000001",
                                                   key={"code": code}, claims={item: value}, call_id=f"window-{n}")
        try:
            return coalescer.call("verify", message, timeout=10).overall
        except Upstream as exc:
            return exc.code
        except Unavailable:
            return "unavailable"

    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(one, range(len(calls)), calls))
    assert coalescer._lanes == {}  # every lane handed on to the end and left idle: none holds a batch's place
    return answers


@settings(max_examples=40, deadline=None)
@given(calls=st.lists(a_call, min_size=1, max_size=24), quota=st.integers(0, 30), on_the_way=st.sampled_from([1, 2]))
def test_each_call_gets_what_it_would_get_alone(calls, quota, on_the_way):
    """With one batch of a grant on its way at a time (the node's) or two (two batches coming
    back at once must not hand the lane to the same call)."""
    owner = StandInOwner(quota)
    answers = run(owner, calls, Coalescer(owner.send, on_the_way=on_the_way))
    allowed = [n for n, (_, _, item) in enumerate(calls) if item == GRANTED]
    for n, (code, value, item) in enumerate(calls):
        if item != GRANTED:
            assert answers[n] == grpc.StatusCode.PERMISSION_DENIED
        elif answers[n] != grpc.StatusCode.RESOURCE_EXHAUSTED:
            assert answers[n] == alone(code, value), (n, calls[n])
    served = [n for n in allowed if answers[n] != grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert len(served) == min(quota, len(allowed))  # as many as one by one: none lost to a shared refusal
    assert sorted(owner.charged) == sorted(f"window-{n}" for n in served)  # each charged once, the refused none


@settings(max_examples=10, deadline=None)
@given(calls=st.lists(a_call.filter(lambda c: c[2] == GRANTED), min_size=1, max_size=12))
def test_a_broken_path_fails_every_call_as_unavailable_and_charges_none(calls):
    owner = StandInOwner(quota=100, broken=True)
    assert run(owner, calls) == ["unavailable"] * len(calls)
    assert owner.charged == []


def test_a_lone_call_goes_on_as_it_came_and_calls_at_once_go_on_together():
    owner = StandInOwner(quota=100)
    assert run(owner, [(sorted(RECORDS)[0], "法人0", GRANTED)]) == ["match"]
    assert [list(m.call_ids) for m in owner.messages] == [[]]  # not wrapped in a batch: it waited for nothing
    owner = StandInOwner(quota=100)
    calls = [(code, value, GRANTED) for code, value in RECORDS.items()] * 3
    assert run(owner, calls) == ["match"] * len(calls)
    assert len(owner.messages) < len(calls)  # some went on together
    assert sum(len(m.call_ids) or 1 for m in owner.messages) == len(calls)


def test_a_hop_refusing_a_lone_call_refuses_that_call_only():
    owner = StandInOwner(quota=100)

    def refusing(mode, message, timeout):
        if not message.batch and message.claims.get(GRANTED) == "某某":
            raise PermissionDenied("claims: refused for this call")
        return owner.send(mode, message, timeout)

    coalescer = Coalescer(refusing)
    message = exchange_pb2.VerifyClaimsRequest(request_id="hebei-1", consumer_code="130000001",
                                               key={"code": "x"}, claims={GRANTED: "某某"})
    try:
        coalescer.call("verify", message, timeout=5)
        raise AssertionError("the refusal did not reach the caller")
    except PermissionDenied:
        pass
    assert message.call_id  # given one, so that the call counts once however it goes on


def test_a_call_with_a_short_deadline_fails_alone_not_the_calls_it_waited_with():
    owner = StandInOwner(quota=100, takes=1.0)
    coalescer = Coalescer(owner.send)
    code, person = sorted(RECORDS.items())[0]

    def ask(timeout: float):
        message = exchange_pb2.VerifyClaimsRequest(request_id="hebei-1", consumer_code="130000001",
                                                   key={"code": code}, claims={GRANTED: person})
        try:
            return coalescer.call("verify", message, timeout=timeout).overall
        except Unavailable:
            return "unavailable"

    with ThreadPoolExecutor(4) as pool:
        first = [pool.submit(ask, 5.0), pool.submit(ask, 5.0)]  # on their way alone, for 1 s
        assert owner.sent.acquire(timeout=10) and owner.sent.acquire(timeout=10), "the first two never went on"
        hurried, patient = pool.submit(ask, 0.1), pool.submit(ask, 5.0)  # both places taken: these wait
        assert hurried.result() == "unavailable"  # its deadline passed while it waited
        assert patient.result() == "match" and [f.result() for f in first] == ["match", "match"]


def test_a_grant_no_longer_called_leaves_no_lane_behind():
    owner = StandInOwner(quota=1000)
    coalescer = Coalescer(owner.send)
    for n in range(30):  # thirty grants, each called a few times at once
        message = exchange_pb2.VerifyClaimsRequest(request_id=f"hebei-{n}", consumer_code="130000001",
                                                   key={"code": "x"}, claims={GRANTED: "某"})
        assert coalescer.call("verify", message, timeout=5).overall == "not_found"
    assert run(owner, [(code, value, GRANTED) for code, value in RECORDS.items()] * 3, coalescer) == ["match"] * 24
    assert coalescer._lanes == {}


def test_calls_that_went_on_together_are_freed_when_answered_not_left_to_the_collector():
    """A busy consumer's node answers over a thousand calls a second. Calls of a batch left in a
    reference cycle are freed only by the cycle collector, which holds the interpreter, every
    call of the node with it, while it frees them: 30-80 ms every few seconds at 32 callers."""
    owner = StandInOwner(quota=100)
    calls = [(code, value, GRANTED) for code, value in RECORDS.items()] * 3
    gc.collect()
    gc.disable()
    try:
        assert run(owner, calls) == ["match"] * len(calls)
        left = [o for o in gc.get_objects() if isinstance(o, _Waiting)]
    finally:
        gc.enable()
    assert len(owner.messages) < len(calls)  # some went on together
    assert left == []
