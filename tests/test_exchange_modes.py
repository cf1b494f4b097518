"""Grants say which modes of call they allow (fetch, query, verify), with the owner's daily quota
and rate, through real nodes (Hebei's department asks, the hub relays, Guangdong's node answers
and counts): a mode not granted is refused naming it, the quota and the rate are refused naming
the limit and when it allows calls again, the owner's decision only narrows the modes, and a
retried call is counted once, across a restart too."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import grpc
from click.testing import CliRunner

from cli import main
from conftest import wait_until
from exchange_support import CONSUMER, OWNER, entry, exchange
from node.errors import ResourceExhausted
from node.exchange.allowance import Allowance
from node.exchange.client import keyed_call
from node.model.request import Request
from node.proto import exchange_pb2, sharing_pb2
from node.store import Store
from test_exchange_query import fed, query, refused, source_rows, verify  # noqa: F401 (fed: fixture)
from test_sharing import publish, sharing, submit, wait_state

DENIED, EXHAUSTED, INVALID = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                              grpc.StatusCode.INVALID_ARGUMENT)
CONDITIONAL = "440300002/000002"  # keyed by 公民身份号码
ITEMS = ("企业名称", "公民身份号码")


def file(fed, asked=()):
    return sharing(fed.peers["hebei"]).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=CONSUMER, resource_code=CONDITIONAL, purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=list(ITEMS), modes=list(asked)))


def decide(fed, request_id, **scope):
    return sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=request_id, department_code=OWNER, approve=True, reason="同意", **scope))


def granted(fed, asked=(), **scope) -> str:
    """A conditional request filed asking for the modes `asked`, granted by the owner with
    `scope`, back at Hebei."""
    filed = file(fed, asked)
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    decide(fed, filed.request_id, **scope)
    wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    return filed.request_id


def fetch_once(fed, request_id):
    return list(exchange(fed.peers["hebei"]).FetchData(exchange_pb2.FetchDataRequest(
        request_id=request_id, consumer_code=CONSUMER), timeout=60))


def keys(fed, n):
    return [{"公民身份号码": code} for (code,) in source_rows(fed.source, ("公民身份号码",))[:n]]


def test_a_grant_of_verify_only_answers_verify_and_refuses_query_and_fetch_naming_the_mode(fed):
    request_id = granted(fed, asked=("fetch", "query", "verify"), modes=["verify"])
    held = sharing(fed.peers["hebei"]).GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id))
    assert list(held.modes) == ["verify"]
    (key,) = keys(fed, 1)
    name = source_rows(fed.source, ("企业名称",), f"WHERE 公民身份号码 = '{key['公民身份号码']}'")[0][0]
    assert verify(fed.peers["hebei"], request_id, key, {"企业名称": name}).overall == "match"
    code, details = refused(lambda: query(fed.peers["hebei"], request_id, key))
    assert code == DENIED and "does not allow query (it allows verify)" in details
    code, details = refused(lambda: fetch_once(fed, request_id))
    assert code == DENIED and "does not allow fetch (it allows verify)" in details


def test_the_owner_only_narrows_the_modes_asked_for_and_a_filing_names_known_modes(fed):
    code, details = refused(lambda: file(fed, ("verify", "download")))
    assert code == INVALID and "modes[1]" in details and "must be one of fetch, query, verify" in details
    filed = file(fed, ("query",))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    code, details = refused(lambda: decide(fed, filed.request_id, modes=["query", "fetch"]))
    assert code == INVALID and "modes[1]" in details and "'fetch' was not asked for" in details
    assert list(decide(fed, filed.request_id, modes=["query"], daily_quota=5, rate=2).modes) == ["query"]
    held = wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    assert (list(held.modes), held.daily_quota, held.rate) == (["query"], 5, 2)
    # Filed without modes, as before modes existed: all three.
    assert list(file(fed).modes) == ["fetch", "query", "verify"]


def test_a_daily_quota_of_three_allows_three_calls_then_says_when_it_resets(fed):
    request_id = granted(fed, daily_quota=3)
    two, one = keys(fed, 2), keys(fed, 1)
    assert len(query(fed.peers["hebei"], request_id, keys=two).answers) == 2  # a batch counts its keys
    code, details = refused(lambda: query(fed.peers["hebei"], request_id, keys=two))
    assert code == EXHAUSTED and "allows 3 calls a day and has used 2" in details and "this batch asks 2" in details
    assert query(fed.peers["hebei"], request_id, one[0]).rows  # the refused batch was not counted
    code, details = refused(lambda: verify(fed.peers["hebei"], request_id, one[0], {"企业名称": "某"}))
    assert code == EXHAUSTED and details.startswith("daily_quota:") and "has used 3" in details
    resets = datetime.fromisoformat(details.rsplit("the quota resets at ", 1)[1])
    assert (resets.utcoffset(), resets.hour, resets.minute) == (timedelta(hours=8), 0, 0)  # a Beijing midnight
    assert timedelta(0) < resets - datetime.now(timezone.utc) <= timedelta(days=1)  # the next one
    code, _ = refused(lambda: fetch_once(fed, request_id))  # a fetch is a call too
    assert code == EXHAUSTED


def test_a_rate_refuses_a_burst_and_a_batch_larger_than_a_seconds_calls(fed):
    request_id = granted(fed, rate=1)
    code, details = refused(lambda: query(fed.peers["hebei"], request_id, keys=keys(fed, 2)))
    assert code == EXHAUSTED and details.startswith("rate:") and "allows 1 calls a second and 2 were asked" in details
    (key,) = keys(fed, 1)
    outcomes = []
    for _ in range(10):  # back to back: far more than one a second
        try:
            outcomes.append(bool(query(fed.peers["hebei"], request_id, key).rows))
        except grpc.RpcError as exc:
            outcomes.append(exc.code())
    assert outcomes[0] is True and EXHAUSTED in outcomes, outcomes


def test_a_call_retried_with_its_id_is_counted_once_against_the_quota(fed):
    request_id = granted(fed, daily_quota=2)
    (key,) = keys(fed, 1)

    def ask(call_id):
        return exchange(fed.peers["hebei"]).Query(exchange_pb2.QueryRequest(
            request_id=request_id, consumer_code=CONSUMER, key=key, call_id=call_id), timeout=30)

    assert ask("call-1").rows and ask("call-1").rows  # the answer was lost: the client asks again, same id
    assert ask("call-2").rows
    code, details = refused(lambda: ask("call-3"))
    assert code == EXHAUSTED and "has used 2" in details
    assert ask("call-2").rows  # a retry of a counted call is still answered


def test_the_days_count_survives_a_restart_of_the_owners_node(tmp_path):
    now = datetime(2026, 3, 3, 15, 59, tzinfo=timezone.utc)  # 23:59 in Beijing
    grant = Request("hebei-1", CONSUMER, "hebei", CONDITIONAL, OWNER, "guangdong", "p", "b", ITEMS, "conditional",
                    "granted", "", 3, now, now, daily_quota=3)
    store = Store(tmp_path / "owner.db", synchronous="normal")
    Allowance(store, lambda: now).take(grant, [("batch-1", 2)])
    store.close()
    store = Store(tmp_path / "owner.db", synchronous="normal")  # the owner's node restarted
    allowance = Allowance(store, lambda: now)
    allowance.take(grant, [("batch-1", 2)])  # the batch retried after the restart: already counted
    allowance.take(grant, [("call-2", 1)])
    try:
        allowance.take(grant, [("call-3", 1)])
        raise AssertionError("a fourth call was allowed")
    except ResourceExhausted as exc:
        assert "has used 3 on 2026-03-03 (Beijing)" in str(exc) and "resets at 2026-03-04T00:00+08:00" in str(exc)
    allowance.clock = lambda: now + timedelta(minutes=1)  # past Beijing midnight: a new day
    allowance.take(grant, [("call-4", 3)])
    store.close()


def test_a_retry_under_a_rate_only_grant_takes_no_second_token():
    now = datetime(2026, 3, 3, 2, 0, tzinfo=timezone.utc)
    grant = Request("hebei-2", CONSUMER, "hebei", CONDITIONAL, OWNER, "guangdong", "p", "b", ITEMS, "conditional",
                    "granted", "", 3, now, now, rate=1)
    tick = [100.0]
    allowance = Allowance(None, lambda: now, monotonic=lambda: tick[0])  # a rate only: nothing is written
    allowance.take(grant, [("call-1", 1)])
    allowance.take(grant, [("call-1", 1)])  # its answer was lost on the way: the retry is the same call
    try:
        allowance.take(grant, [("call-2", 1)])
        raise AssertionError("a second call in the same second was allowed")
    except ResourceExhausted as exc:
        assert str(exc).startswith("rate:")
    tick[0] += 61  # a minute on: the bucket is full again, and call-1 is forgotten
    allowance.take(grant, [("call-1", 1)])
    try:
        allowance.take(grant, [("call-3", 1)])
        raise AssertionError("call-1 taken again did not use the second's token")
    except ResourceExhausted:
        pass


def first_answer_held(fed) -> tuple[threading.Event, threading.Event]:
    """(counted, release): the owner's node answers its first verification (counting it), then
    holds the answer until `release` is set, so that the hub can be killed with it on its way."""
    answers = fed.peers["guangdong"].node.calls.answers
    counted, release, original = threading.Event(), threading.Event(), answers.verify

    def held(*args, **kwargs):
        verdicts = original(*args, **kwargs)
        if not counted.is_set():
            counted.set()
            release.wait(30)
        return verdicts

    answers.verify = held
    return counted, release


def test_a_call_whose_answer_was_lost_when_the_hub_was_killed_is_retried_and_counted_once(fed):
    """The owner's node counted the call, then the hub died before the answer came back: the
    client retries with the same call id until the hub is back, and the quota counts it once;
    `cascade data verify --call-id` run twice is charged once too."""
    request_id = granted(fed, daily_quota=3)
    (key,) = keys(fed, 1)
    counted, release = first_answer_held(fed)
    message = exchange_pb2.VerifyClaimsRequest(request_id=request_id, consumer_code=CONSUMER, key=key,
                                               claims={"企业名称": "某"})
    outcome = {}
    caller = threading.Thread(target=lambda: outcome.update(reply=keyed_call(
        exchange(fed.peers["hebei"]).Verify, message, retry_for=60, timeout=10, sleep=lambda s: time.sleep(min(s, 0.2)))))
    caller.start()
    assert counted.wait(30), "the owner's node never took the call"
    fed.hub.channel.close()
    fed.hub.node.stop(0)  # the hub dies mid-call: the answer is lost on the way back
    release.set()
    fed.hub = fed.start_hub()
    caller.join(60)
    assert outcome["reply"].overall == "mismatch" and message.call_id  # answered, on a retry with its id
    target = ("--target", fed.peers["hebei"].node.address)
    for _ in range(2):  # the same call id twice: charged once
        result = CliRunner().invoke(main, ["data", "verify", request_id, "--consumer", CONSUMER, "--by",
                                           f"公民身份号码={key['公民身份号码']}", "--claim", "企业名称=某",
                                           "--call-id", "window-7-0001", *target])
        assert result.exit_code == 3 and "overall: mismatch" in result.output, result.output
    assert query(fed.peers["hebei"], request_id, key).rows  # the third call of the day
    code, details = refused(lambda: query(fed.peers["hebei"], request_id, key))
    assert code == EXHAUSTED and "has used 3" in details


def test_an_unconditional_grant_takes_the_owners_default_daily_quota(cluster):
    c = cluster(interval=3600, notify=True, peer_extra={"guangdong": {"sharing": {"default_daily_quota": 500}}})
    publish(c.peers["guangdong"], entry(1, share_type="unconditional"))
    c.sync()
    filed = submit(c.peers["hebei"], CONSUMER, "440300002/000001")
    at_consumer = wait_state(c.peers["hebei"], filed.request_id, {"granted"})
    assert at_consumer.daily_quota == 500  # signed by the owner's node, seen by the consumer
    assert wait_state(c.hub, filed.request_id, {"granted"}).daily_quota == 500


def test_the_owners_decision_lets_a_personal_item_out_plain_or_leaves_it_masked(fed):
    (key,) = keys(fed, 1)
    number = key["公民身份号码"]
    masked = granted(fed)
    assert [tuple(r.values)[1] for r in query(fed.peers["hebei"], masked, key).rows] == [
        number[:6] + "*" * (len(number) - 10) + number[-4:]]
    plain = granted(fed, plain=["公民身份号码"])
    assert [tuple(r.values)[1] for r in query(fed.peers["hebei"], plain, key).rows] == [number]
    got = sharing(fed.peers["hebei"]).GetRequest(sharing_pb2.GetRequestRequest(request_id=plain))
    assert list(got.plain) == ["公民身份号码"]  # part of the grant the consumer holds
    filed = file(fed)
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    code, details = refused(lambda: decide(fed, filed.request_id, plain=["法定代表人"]))
    assert code == INVALID and details.startswith("plain[0]: 法定代表人 is not a data item the request asks for")


def test_a_call_id_sent_again_with_another_question_is_a_new_call_and_charged(fed):
    """A retry asks what its call asked, and is counted once; a department that sends one call
    id with every question would otherwise ask without end under a quota of a few calls."""
    request_id = granted(fed, daily_quota=3)
    first, second, third = keys(fed, 3)
    hebei = fed.peers["hebei"]

    def ask(key, claims, call_id="window-9-0001"):
        return exchange(hebei).Verify(exchange_pb2.VerifyClaimsRequest(
            request_id=request_id, consumer_code=CONSUMER, key=key, claims=claims, call_id=call_id), timeout=30)

    ask(first, {"企业名称": "某"})
    ask(first, {"企业名称": "某"})  # the same question again: a retry, not charged
    ask(first, {"企业名称": "另一个名称"})  # another claim on the same key: a question of its own
    ask(second, {"企业名称": "某"})  # another key
    code, details = refused(lambda: ask(third, {"企业名称": "某"}))
    assert code == EXHAUSTED and "has used 3" in details
    ask(first, {"企业名称": "另一个名称"})  # still a retry of a call that was counted


def test_a_call_is_the_same_call_alone_or_in_a_batch_its_node_made(fed):
    """The consumer's node sends single calls on one grant that arrive at once on as one batch,
    each under its own id (node/exchange/coalesce.py). A call whose batch broke off on the way
    is retried alone, or in another batch: it is the call that was counted, either way."""
    request_id = granted(fed, daily_quota=3)
    first, second, third, fourth = keys(fed, 4)
    claims = {"企业名称": "某"}

    def alone(key, call_id):
        return exchange(fed.peers["hebei"]).Verify(exchange_pb2.VerifyClaimsRequest(
            request_id=request_id, consumer_code=CONSUMER, key=key, claims=claims, call_id=call_id), timeout=30)

    def batched(*calls):  # what Hebei's node relays to the hub for calls that arrived at once
        message = exchange_pb2.VerifyClaimsRequest(request_id=request_id, consumer_code=CONSUMER, from_node="hebei",
                                                   call_ids=[call_id for _, call_id in calls])
        for key, _ in calls:
            message.batch.add(key=key, claims=claims)
        return exchange(fed.hub).Verify(message, timeout=30)

    alone(first, "window-1")  # used 1
    assert len(batched((first, "window-1"), (second, "window-2")).verdicts) == 2  # window-1 again: used 2
    alone(second, "window-2")  # window-2 retried alone: still 2
    alone(third, "window-3")  # used 3
    code, details = refused(lambda: alone(fourth, "window-4"))
    assert code == EXHAUSTED and "has used 3" in details


def test_a_refused_question_uses_none_of_the_quota(fed):
    """A key naming another item, a claim on an item not granted, a key lacking its item: each
    refused with its own status, and none of them charged against the day's quota."""
    request_id = granted(fed, daily_quota=1)
    (key,) = keys(fed, 1)
    hebei = fed.peers["hebei"]
    assert refused(lambda: query(hebei, request_id, {"统一社会信用代码": "91440300MA5XXXXXX1"}))[0] == INVALID
    assert refused(lambda: verify(hebei, request_id, key, {"法定代表人": "张三"}))[0] == DENIED
    assert refused(lambda: verify(hebei, request_id, batch=[(key, {"企业名称": "某"}), ({}, {"企业名称": "某"})]))[0] \
        == INVALID
    assert query(hebei, request_id, key).rows  # the day's one call, still there
    code, details = refused(lambda: query(hebei, request_id, key))
    assert code == EXHAUSTED and "has used 1" in details


def test_calls_going_on_together_when_the_hub_is_killed_are_each_counted_once(fed):
    """One call is counted at the owner's node and its answer lost with the hub; three more wait
    at the consumer's node to go on together behind it and meet the dead hub. Each window retries
    with its own call id, alone or batched as the retries happen to arrive: four calls, charged four."""
    request_id = granted(fed, daily_quota=6)
    asked = keys(fed, 6)
    lanes = fed.peers["hebei"].node.calls.coalescer._lanes
    counted, release = first_answer_held(fed)
    replies = {}

    def window(i):
        message = exchange_pb2.VerifyClaimsRequest(request_id=request_id, consumer_code=CONSUMER, key=asked[i],
                                                   claims={"企业名称": "某"}, call_id=f"window-{i}")
        replies[i] = keyed_call(exchange(fed.peers["hebei"]).Verify, message, retry_for=60, timeout=10,
                                sleep=lambda s: time.sleep(min(s, 0.2)))

    windows = [threading.Thread(target=window, args=(i,)) for i in range(4)]
    windows[0].start()
    assert counted.wait(30), "the owner's node never took the first call"
    for thread in windows[1:]:
        thread.start()
    wait_until(lambda: sum(len(lane.waiting) for lane in lanes.values()) == 3, 30,
               "the three calls to wait at Hebei's node to go on together")
    fed.hub.channel.close()
    fed.hub.node.stop(0)
    release.set()
    fed.hub = fed.start_hub()
    for thread in windows:
        thread.join(90)
    assert sorted(replies) == [0, 1, 2, 3] and {r.overall for r in replies.values()} == {"mismatch"}
    for key in asked[4:]:  # the day's fifth and sixth calls
        assert query(fed.peers["hebei"], request_id, key).rows
    code, details = refused(lambda: query(fed.peers["hebei"], request_id, asked[0]))
    assert code == EXHAUSTED and "has used 6" in details


def test_the_owners_decision_may_narrow_the_items_and_only_those_leave(fed):
    """The decision keeps some of the items asked for: a query answers those alone, a claim on
    another is refused naming what is granted, a fetch carries those columns; the copy at the
    consumer's node says so, and an item that was not asked for cannot be granted."""
    filed = file(fed, ("query", "verify", "fetch"))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    code, details = refused(lambda: decide(fed, filed.request_id, items=["法定代表人"]))
    assert code == INVALID and details.startswith("items[0]: 法定代表人 was not asked for")
    decide(fed, filed.request_id, items=["公民身份号码"])
    held = wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    assert (list(held.data_items), list(held.granted_items)) == (list(ITEMS), ["公民身份号码"])
    (key,) = keys(fed, 1)
    reply = query(fed.peers["hebei"], filed.request_id, key)
    assert list(reply.columns) == ["公民身份号码"] and [len(r.values) for r in reply.rows] == [1]
    code, details = refused(lambda: verify(fed.peers["hebei"], filed.request_id, key, {"企业名称": "某"}))
    assert code == DENIED and "claims[企业名称]: is not a granted item" in details and "(granted: 公民身份号码)" in details
    assert list(fetch_once(fed, filed.request_id)[0].columns) == ["公民身份号码"]
