"""The sharing request's whole lifecycle across real nodes (docs/sharing.md): the consumer's data
authority reviews (pass, return, resubmission), the owner extends once, the consumer objects to a
refusal and the coordinator decides, late answers are escalated; every refusal names its rule,
changes nothing and is on the audit trail. Hebei files with review on (its data authority is
130000001), Guangdong owns (440000001 its authority), the hub's authority is 100000001. One
federation for the module, on a fixed clock (Monday 2 March 2026, Beijing)."""

from __future__ import annotations

from datetime import datetime, timedelta

import grpc
import pytest

from clock_support import fix_clock
from conftest import Client, Cluster, make_entry, wait_until
from node import wire
from node.model.calendar import CHINA
from node.model.request import Event, Request
from node.proto import admin_pb2, catalog_pb2, sharing_pb2, sharing_pb2_grpc
from node.security import audit
from node.server import Node

CONSUMER, AUTHORITY = "130100005", "130000001"  # Hebei
OWNER, OWNER_AUTHORITY = "440300002", "440000001"  # Guangdong
NATIONAL = "100000001"  # the hub's data authority
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
PEERS = {"hebei": ("provincial", "130000", [AUTHORITY, CONSUMER]),
         "guangdong": ("provincial", "440000", [OWNER_AUTHORITY, OWNER])}
ENTRIES = [
    make_entry(OWNER, seq=1, share_type="unconditional"),
    make_entry(OWNER, seq=2, share_type="conditional", share_condition="须说明办理事项"),
    make_entry(OWNER, seq=3, share_type="not_shared", not_shared_basis="《中华人民共和国测绘法》第三十四条"),
    make_entry(AUTHORITY, seq=1, share_type="not_shared", not_shared_basis="涉及个人隐私"),  # Hebei's own
]


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    started: list[Client] = []

    def start(cfg):
        node = Node(cfg).start()
        started.append(Client(node, grpc.insecure_channel(node.address)))
        return started[-1]

    cluster = Cluster(tmp_path_factory.mktemp("lifecycle"), start, notify=True, peers=PEERS, peer_extra={
        "hebei": {"data_authority": AUTHORITY, "sharing": {"review": True}},
        "guangdong": {"data_authority": OWNER_AUTHORITY, "sharing": {"extension_days": 5}},
    }, hub_extra={"data_authority": NATIONAL})
    for entry in ENTRIES:
        node = cluster.peers["guangdong" if entry.provider_code == OWNER else "hebei"]
        node.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))
    cluster.sync()
    cluster.clock = fix_clock([cluster.hub, *cluster.peers.values()], MONDAY)
    yield cluster
    for client in reversed(started):
        client.channel.close()
        if not client.node.store._closed:  # a node a test stopped is stopped already
            client.node.stop(0)


@pytest.fixture(autouse=True)
def monday(fed):
    fed.clock.at = MONDAY


def stub(client) -> sharing_pb2_grpc.SharingStub:
    return sharing_pb2_grpc.SharingStub(client.channel)


def held(client, request_id):
    return client.node.store.get_requests([request_id]).get(request_id)


def settle(fed, request_id, state, *where):
    """Pulls (the hub delivers between pulls) until every node named holds one same version of the
    request, in `state`."""
    def versions():
        fed.sync()
        copies = [held(fed.peers.get(name) or fed.hub, request_id) for name in where]
        return {(c.state, c.version, c.maker, c.deadline, c.reason, len(c.history)) if c else None for c in copies}
    wait_until(versions, 30, f"{request_id} {state} at {', '.join(where)}, one version",
               until=lambda seen: len(seen) == 1 and None not in seen and next(iter(seen))[0] == state, poll=0.05)
    return held(fed.peers.get(where[0]) or fed.hub, request_id)


def file(fed, code, consumer=CONSUMER, client="hebei", basis="《优化营商环境条例》"):
    return stub(fed.peers[client]).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=consumer, resource_code=code, purpose="办理企业开办", basis=basis, data_items=["企业名称"]))


def refused(call, code):
    """Calls, expecting a refusal with this status; the status's details."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    assert caught.value.code() == code, caught.value.details()
    return caught.value.details()


def denied_about(client, request_id, since):
    with client.node.store.reading() as conn:
        return [r for r in audit.tail(conn, 200)
                if r.seq > since and r.outcome == "denied" and request_id in r.object]


def audit_head(client):
    with client.node.store.reading() as conn:
        return audit.head(conn)[0]


def unchanged(client, request_id, call, code, rule):
    """A refused step: the status and its rule, the copy as it was, a `denied` record on the trail."""
    before, since = held(client, request_id), audit_head(client)
    details = refused(call, code)
    assert rule in details, details
    assert held(client, request_id) == before
    assert denied_about(client, request_id, since), f"no denied record for {request_id}"
    return details


def review(fed, request_id, decision, department=AUTHORITY, reason=""):
    return stub(fed.peers["hebei"]).ReviewRequest(sharing_pb2.ReviewRequestRequest(
        request_id=request_id, department_code=department, decision=decision, reason=reason))


# -- conformity review ---------------------------------------------------------------------------

def test_a_request_waits_for_its_data_authority_and_a_pass_sends_it_to_the_owner(fed):
    filed = file(fed, f"{OWNER}/000002")
    assert filed.state == "review" and filed.deadline == "2026-03-04"  # two working days
    hebei = fed.peers["hebei"]
    unchanged(hebei, filed.request_id, lambda: review(fed, filed.request_id, "pass", department=CONSUMER),
              grpc.StatusCode.PERMISSION_DENIED, "only the data authority of node hebei (130000001) reviews")
    inbox = stub(hebei).ListRequests(sharing_pb2.ListRequestsRequest(authority_code=AUTHORITY, inbox="review"))
    assert filed.request_id in [r.request_id for r in inbox.requests]
    fed.sync()
    assert held(fed.peers["guangdong"], filed.request_id) is None  # it has not left its consumer's side
    fed.clock.at = MONDAY + timedelta(days=3)  # Thursday: past the review's deadline
    assert stub(hebei).GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).overdue

    passed = review(fed, filed.request_id, "pass", reason="符合要求")
    assert passed.state == "submitted" and not passed.overdue
    pending = settle(fed, filed.request_id, "pending", "hebei", "guangdong", "national")
    assert [e.state for e in pending.history] == ["review", "passed", "pending"]
    assert [e.actor for e in pending.history][:2] == [CONSUMER, AUTHORITY]
    unchanged(hebei, filed.request_id, lambda: review(fed, filed.request_id, "pass"),
              grpc.StatusCode.FAILED_PRECONDITION, "not_in_review")


def test_a_returned_request_is_amended_and_resubmitted_as_the_same_request(fed):
    filed = file(fed, f"{OWNER}/000002", basis="不明")
    assert "what to correct" in refused(lambda: review(fed, filed.request_id, "return"),
                                        grpc.StatusCode.INVALID_ARGUMENT)
    returned = review(fed, filed.request_id, "return", reason="依据不明确，请补充")
    assert (returned.state, returned.reason) == ("returned", "依据不明确，请补充")
    hebei = stub(fed.peers["hebei"])
    unchanged(fed.peers["hebei"], filed.request_id, lambda: hebei.ResubmitRequest(sharing_pb2.ResubmitRequestRequest(
        request_id=filed.request_id, consumer_code=AUTHORITY, basis="x")), grpc.StatusCode.PERMISSION_DENIED,
        "only 130100005 resubmits")
    again = hebei.ResubmitRequest(sharing_pb2.ResubmitRequestRequest(
        request_id=filed.request_id, consumer_code=CONSUMER, basis="《优化营商环境条例》第十条"))
    assert (again.request_id, again.state, again.basis, again.purpose) == (
        filed.request_id, "review", "《优化营商环境条例》第十条", "办理企业开办")
    assert again.version == returned.version + 1
    review(fed, filed.request_id, "pass")
    at_owner = settle(fed, filed.request_id, "pending", "hebei", "guangdong", "national")
    assert at_owner.basis == "《优化营商环境条例》第十条"
    assert [e.state for e in at_owner.history] == ["review", "returned", "resubmitted", "passed", "pending"]


# -- extension -----------------------------------------------------------------------------------

def extend(fed, request_id, department=OWNER, reason="需核实数据口径"):
    return stub(fed.peers["guangdong"]).ExtendRequest(sharing_pb2.ExtendRequestRequest(
        request_id=request_id, department_code=department, reason=reason))


def pending_request(fed, code=f"{OWNER}/000002"):
    filed = file(fed, code)
    review(fed, filed.request_id, "pass")
    return settle(fed, filed.request_id, "pending", "hebei", "guangdong", "national")


def test_the_owner_extends_once_and_every_copy_shows_the_new_deadline(fed):
    pending = pending_request(fed)
    assert pending.deadline == "2026-03-16"  # ten working days after Monday 2 March
    extended = extend(fed, pending.request_id)
    assert (extended.state, extended.deadline) == ("pending", "2026-03-23")  # five more working days
    copy = settle(fed, pending.request_id, "pending", "hebei", "guangdong", "national")
    assert copy.deadline == "2026-03-23" and copy.history[-1].state == "extended"
    unchanged(fed.peers["guangdong"], pending.request_id, lambda: extend(fed, pending.request_id),
              grpc.StatusCode.FAILED_PRECONDITION, "already_extended")
    unchanged(fed.peers["guangdong"], pending.request_id, lambda: extend(fed, pending.request_id,
                                                                         department=OWNER_AUTHORITY),
              grpc.StatusCode.PERMISSION_DENIED, "only 440300002 at node guangdong decides")


# -- objection and coordination --------------------------------------------------------------------

def objection(fed, request_id, reason="依据《优化营商环境条例》应予共享", client="hebei"):
    return stub(fed.peers[client]).ObjectRequest(sharing_pb2.ObjectRequestRequest(
        request_id=request_id, consumer_code=CONSUMER, reason=reason))


def coordinate(client, request_id, department, decision, **scope):
    return stub(client).CoordinateRequest(sharing_pb2.CoordinateRequestRequest(
        request_id=request_id, department_code=department, decision=decision, reason="经协调", **scope))


def refused_request(fed, code=f"{OWNER}/000003"):
    filed = file(fed, code)
    review(fed, filed.request_id, "pass")
    return settle(fed, filed.request_id, "rejected", "hebei", "guangdong", "national")


def test_an_objection_between_nodes_is_coordinated_at_the_hub_and_its_grant_binds(fed):
    rejected = refused_request(fed)
    objected = objection(fed, rejected.request_id)
    assert objected.state == "objected" and objected.deadline == "2026-03-16"
    settle(fed, rejected.request_id, "objected", "hebei", "guangdong", "national")
    inbox = stub(fed.hub).ListRequests(sharing_pb2.ListRequestsRequest(authority_code=NATIONAL, inbox="coordinate"))
    assert rejected.request_id in [r.request_id for r in inbox.requests]
    # Guangdong's data authority is not the coordinator between two nodes; nor is a hub department other than it.
    unchanged(fed.peers["guangdong"], rejected.request_id,
              lambda: coordinate(fed.peers["guangdong"], rejected.request_id, OWNER_AUTHORITY, "share"),
              grpc.StatusCode.PERMISSION_DENIED, "coordinated by the data authority of node national")
    shared = coordinate(fed.hub, rejected.request_id, NATIONAL, "share",
                        row_filter=sharing_pb2.RowFilter(column="企业名称", prefix="深圳"), valid_until="2026-12-31")
    assert shared.state == "granted" and shared.maker == "national"
    copy = settle(fed, rejected.request_id, "granted", "hebei", "guangdong", "national")
    assert (copy.filter_column, copy.filter_prefix, copy.valid_until) == ("企业名称", "深圳", "2026-12-31")
    assert [e.state for e in copy.history][-3:] == ["rejected", "objected", "granted"]
    assert copy.history[-1].actor == NATIONAL
    unchanged(fed.peers["hebei"], rejected.request_id, lambda: objection(fed, rejected.request_id),
              grpc.StatusCode.FAILED_PRECONDITION, "not_rejected")


def test_an_objection_within_one_node_is_coordinated_there_and_may_uphold_the_refusal(fed):
    rejected = file(fed, f"{AUTHORITY}/000001")  # Hebei's own entry, not shared
    review(fed, rejected.request_id, "pass")
    assert held(fed.peers["hebei"], rejected.request_id).state == "rejected"
    objection(fed, rejected.request_id)
    fed.sync()  # a request within one node never leaves it: the hub has nothing to coordinate
    refused(lambda: coordinate(fed.hub, rejected.request_id, NATIONAL, "share"), grpc.StatusCode.NOT_FOUND)
    unchanged(fed.peers["hebei"], rejected.request_id,
              lambda: coordinate(fed.peers["hebei"], rejected.request_id, CONSUMER, "share"),
              grpc.StatusCode.PERMISSION_DENIED, "only the data authority of node hebei (130000001) coordinates")
    upheld = coordinate(fed.peers["hebei"], rejected.request_id, AUTHORITY, "uphold")
    assert upheld.state == "rejected" and upheld.reason == "coordination: 经协调"
    unchanged(fed.peers["hebei"], rejected.request_id, lambda: objection(fed, rejected.request_id),
              grpc.StatusCode.FAILED_PRECONDITION, "already_objected")


def test_an_objection_after_its_period_is_refused(fed):
    rejected = refused_request(fed)
    fed.clock.at = MONDAY + timedelta(days=8)  # Tuesday 10 March: past the five working days the consumer's node gives
    unchanged(fed.peers["hebei"], rejected.request_id, lambda: objection(fed, rejected.request_id),
              grpc.StatusCode.FAILED_PRECONDITION, "objection_period_over: the period to object to request")


# -- escalation ------------------------------------------------------------------------------------

def test_a_late_answer_is_escalated_to_the_owners_authority_and_the_national_one(fed):
    pending = pending_request(fed)
    inbox = sharing_pb2.ListRequestsRequest(authority_code=OWNER_AUTHORITY, inbox="escalated")
    assert pending.request_id not in [r.request_id for r in stub(fed.peers["guangdong"]).ListRequests(inbox).requests]
    fed.clock.at = MONDAY + timedelta(days=17)  # Thursday 19 March: the 17th and 18th, two working days, past the 16th
    for client, authority in ((fed.peers["guangdong"], OWNER_AUTHORITY), (fed.hub, NATIONAL)):
        listed = stub(client).ListRequests(sharing_pb2.ListRequestsRequest(
            authority_code=authority, inbox="escalated")).requests
        found = [r for r in listed if r.request_id == pending.request_id]
        assert found and found[0].escalated and found[0].overdue
    status = fed.hub.admin.Status(admin_pb2.StatusRequest())
    assert status.requests_escalated >= 1 and status.requests_overdue >= status.requests_escalated
    assert not stub(fed.peers["hebei"]).ListRequests(sharing_pb2.ListRequestsRequest(
        authority_code=AUTHORITY, inbox="escalated")).requests  # not the owner's node, nor the hub
    refused(lambda: stub(fed.peers["guangdong"]).ListRequests(sharing_pb2.ListRequestsRequest(
        authority_code=OWNER, inbox="escalated")), grpc.StatusCode.PERMISSION_DENIED)


# -- one merge rule --------------------------------------------------------------------------------

def test_a_withdrawal_crossing_the_owners_answer_converges_and_numbers_differ(fed):
    """Guangdong's department asks for Hebei's entry (no review at Guangdong). Hebei answers
    pending while Guangdong withdraws, each on version 1, before either has heard of the other:
    both make a version 2, held apart by their makers (the crossing is held open: version 1 is
    put at Guangdong unlogged and handed to Hebei as the hub would)."""
    entry = make_entry(AUTHORITY, seq=2, share_type="conditional", share_condition="须审核")
    fed.peers["hebei"].catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))
    fed.sync()
    at = fed.clock()
    filed = Request(
        request_id="guangdong-0123456789abcdef0123", consumer_code=OWNER, consumer_node="guangdong",
        resource_code=entry.resource_code, owner_code=AUTHORITY, owner_node="hebei", purpose="核验", basis="依据",
        data_items=("企业名称",), share_type="conditional", state="submitted", reason="", version=1, created_at=at,
        updated_at=at, history=(Event(1, "submitted", OWNER, at, "核验"),)).made_by("guangdong")
    with fed.peers["guangdong"].node.store.transaction() as tx:
        tx.put_requests([filed], log=False)
    fed.peers["hebei"].node.sharing.receive(filed, "national")
    withdrawn = stub(fed.peers["guangdong"]).WithdrawRequest(sharing_pb2.WithdrawRequestRequest(
        request_id=filed.request_id, consumer_code=OWNER, reason="不再需要"))
    at_owner = held(fed.peers["hebei"], filed.request_id)
    assert withdrawn.version == at_owner.version == 2 and at_owner.state == "pending"
    assert (withdrawn.history[-1].maker, at_owner.history[-1].maker) == ("guangdong", "hebei")  # 2·guangdong ≠ 2·hebei
    final = settle(fed, filed.request_id, "withdrawn", "hebei", "guangdong", "national")
    assert [e.number for e in final.history] == ["1·guangdong", "2·guangdong"]


# -- the command line ------------------------------------------------------------------------------

def cascade(*args, target):
    from click.testing import CliRunner

    from cli import main

    return CliRunner().invoke(main, [*args, "--target", target.node.address])


def last_line(result) -> str:
    """What the command printed last (the in-process nodes' logs share its stdout)."""
    return result.output.strip().splitlines()[-1]


def test_the_steps_from_the_command_line(fed):
    hebei, guangdong = fed.peers["hebei"], fed.peers["guangdong"]
    filed = file(fed, f"{OWNER}/000002")
    result = cascade("requests", "review", filed.request_id, "--department", AUTHORITY, "--return",
                     "--reason", "请补充依据", "-q", target=hebei)
    assert result.exit_code == 0 and last_line(result) == filed.request_id, result.output
    result = cascade("requests", "resubmit", filed.request_id, "--consumer", CONSUMER, "--basis", "《条例》第十条",
                     target=hebei)
    assert result.exit_code == 0 and "  review  " in result.output, result.output
    cascade("requests", "review", filed.request_id, "--department", AUTHORITY, "--pass", target=hebei)
    settle(fed, filed.request_id, "pending", "hebei", "guangdong")
    result = cascade("requests", "extend", filed.request_id, "--department", OWNER, "--reason", "需核实", target=guangdong)
    assert result.exit_code == 0 and "due 2026-03-23" in result.output, result.output
    result = cascade("requests", "extend", filed.request_id, "--department", OWNER, "--reason", "再议", target=guangdong)
    assert result.exit_code != 0 and "FAILED_PRECONDITION: already_extended" in result.output, result.output
    cascade("requests", "decide", filed.request_id, "--department", OWNER, "--reject", "--reason", "不符合条件",
            target=guangdong)
    settle(fed, filed.request_id, "rejected", "hebei", "guangdong", "national")
    result = cascade("requests", "object", filed.request_id, "--consumer", CONSUMER, "--reason", "依据充分", "-q",
                     target=hebei)
    assert last_line(result) == filed.request_id, result.output
    settle(fed, filed.request_id, "objected", "hebei", "guangdong", "national")
    listed = cascade("requests", "list", "--inbox", "coordinate", "--authority", NATIONAL, target=fed.hub)
    assert filed.request_id in listed.output, listed.output
    result = cascade("requests", "coordinate", filed.request_id, "--department", NATIONAL, "--share",
                     "--reason", "经协调同意", "--filter", "企业名称=深圳", target=fed.hub)
    assert result.exit_code == 0 and "granted" in result.output and "starts with 深圳" in result.output, result.output
    settle(fed, filed.request_id, "granted", "hebei", "guangdong", "national")
    shown = cascade("requests", "get", filed.request_id, target=hebei)
    assert "v1·hebei" in shown.output and "·national" in shown.output, shown.output


# -- a node down in the middle -----------------------------------------------------------------------

def test_a_coordination_made_while_the_owners_node_is_down_reaches_it_when_it_is_back(fed):
    rejected = refused_request(fed)
    objection(fed, rejected.request_id)
    settle(fed, rejected.request_id, "objected", "hebei", "guangdong", "national")
    fed.stop_peer("guangdong")  # down between the objection and the decision
    try:
        coordinate(fed.hub, rejected.request_id, NATIONAL, "share")
        fed.sync("hebei")
        assert held(fed.hub, rejected.request_id).state == "granted"
        assert fed.hub.node.store.due_deliveries(fed.clock().timestamp() + 10**9)  # waiting for Guangdong
    finally:
        fed.peers["guangdong"] = fed.start_peer("guangdong", fed.peers["guangdong"].node.port)
        fed.peers["guangdong"].node.sharing.clock = fed.clock
    copy = settle(fed, rejected.request_id, "granted", "hebei", "guangdong", "national")
    assert copy.maker == "national"
