"""Sharing requests across real nodes: filed at the consumer's node, routed by the hub,
answered at the owner's node, the answer back at the consumer, with deadlines and a trail."""

import time
from datetime import datetime

import grpc
import pytest

from clock_support import fix_clock
from conftest import make_entry, wait_until
from node.model import rules
from node import wire
from node.proto import admin_pb2, catalog_pb2, sharing_pb2, sharing_pb2_grpc
from node.model.calendar import CHINA
from node.store import backup, restore


def sharing(client):
    return sharing_pb2_grpc.SharingStub(client.channel)


def publish(client, *entries):
    for entry in entries:
        client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))


def submit(client, consumer, code, items=("统一社会信用代码",), purpose="办理企业开办", basis="《优化营商环境条例》",
           modes=()):
    return sharing(client).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=consumer, resource_code=code, purpose=purpose, basis=basis, data_items=list(items),
        modes=list(modes)))


def wait_state(client, request_id, states, timeout=30.0):
    """The request as that node holds it, once it is in one of the states."""
    seen = {}

    def state():
        try:
            seen["request"] = sharing(client).GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return "absent"
        return seen["request"].state

    wait_until(state, timeout, f"{request_id} at {client.node.config.node_id} to be {' or '.join(sorted(states))}",
               until=lambda held: held in states)
    return seen["request"]


GUANGDONG_ENTRIES = [
    make_entry("440300002", seq=1, name="深圳市企业登记信息", share_type="unconditional"),
    make_entry("440300002", seq=2, name="深圳市社保缴费信息", share_type="conditional", share_condition="须说明办理事项"),
    make_entry("440300002", seq=3, name="涉密地理信息", share_type="not_shared",
               not_shared_basis="《中华人民共和国测绘法》第三十四条"),
]


@pytest.fixture
def fed(cluster):
    c = cluster(interval=3600, notify=True)
    publish(c.peers["guangdong"], *GUANGDONG_ENTRIES)
    c.sync()
    return c


def test_unconditional_request_across_provinces_is_granted(fed):
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000001", items=["统一社会信用代码", "企业名称"])
    assert filed.state == "submitted" and filed.owner_node == "guangdong" and filed.consumer_node == "hebei"
    at_consumer = wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    at_owner = wait_state(fed.peers["guangdong"], filed.request_id, {"granted"})
    assert at_consumer.version == at_owner.version == 2
    assert [e.state for e in at_consumer.history] == ["submitted", "granted"]
    assert list(at_consumer.data_items) == ["统一社会信用代码", "企业名称"]


def test_conditional_request_waits_for_the_owner_and_the_decision_travels_back(fed):
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000002")
    pending = wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    assert pending.deadline and not pending.overdue
    assert wait_state(fed.peers["hebei"], filed.request_id, {"pending"}).deadline == pending.deadline
    with pytest.raises(grpc.RpcError) as caught:  # only the owner department decides
        sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
            request_id=filed.request_id, department_code="440000001", approve=True))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as caught:  # a refusal states its reason
        sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
            request_id=filed.request_id, department_code="440300002", approve=False))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in caught.value.details()
    sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code="440300002", approve=True, reason="用途合规，同意共享"))
    granted = wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    assert granted.reason == "用途合规，同意共享"
    assert [(e.state, e.actor) for e in granted.history] == [
        ("submitted", "130100005"), ("pending", "guangdong"), ("granted", "440300002")]
    assert wait_state(fed.hub, filed.request_id, {"granted"}).version == 3


def test_not_shared_request_is_rejected_with_the_basis(fed):
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000003")
    rejected = wait_state(fed.peers["hebei"], filed.request_id, {"rejected"})
    assert "测绘法" in rejected.reason


def test_data_items_outside_the_entry_are_invalid_argument(fed):
    with pytest.raises(grpc.RpcError) as caught:
        submit(fed.peers["hebei"], "130100005", "440300002/000001", items=["统一社会信用代码", "身高"])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("data_items[1]") and "身高" in caught.value.details()
    assert fed.peers["hebei"].node.store.head_seq() == 0  # nothing was filed


@pytest.mark.parametrize("field, change", [
    ("purpose", dict(purpose=" ")), ("basis", dict(basis="")), ("resource_code", dict(code="44/1")),
])
def test_bad_requests_name_the_field(fed, field, change):
    args = dict(code="440300002/000001") | change
    code = args.pop("code")
    with pytest.raises(grpc.RpcError) as caught:
        submit(fed.peers["hebei"], "130100005", code, **args)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and caught.value.details().startswith(field)


def test_unknown_and_withdrawn_entries_are_rejected_with_that_reason(fed):
    unknown = submit(fed.peers["hebei"], "130100005", "440300002/000999")
    assert unknown.state == "rejected" and "no catalog entry" in unknown.reason
    fed.peers["guangdong"].catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="440300002/000001"))
    fed.sync("guangdong")
    gone = submit(fed.peers["hebei"], "130100005", "440300002/000001")
    assert gone.state == "rejected" and "withdrawn" in gone.reason


def test_request_between_departments_of_one_node_never_leaves_it(fed):
    publish(fed.peers["hebei"], make_entry("130000001", seq=1, share_type="unconditional"))
    filed = submit(fed.peers["hebei"], "130100005", "130000001/000001")
    assert filed.state == "granted" and filed.owner_node == "hebei"
    fed.sync("hebei")
    with pytest.raises(grpc.RpcError):
        sharing(fed.hub).GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id))
    assert fed.hub.node.store.due_deliveries(time.time() + 1e6) == []


def test_request_to_the_hubs_own_department_is_answered_at_the_hub(fed):
    publish(fed.hub, make_entry("100000001", seq=1, share_type="conditional", share_condition="须经国家数据局审核"))
    filed = submit(fed.peers["mps"], "100000011", "100000001/000001")
    wait_state(fed.hub, filed.request_id, {"pending"})
    sharing(fed.hub).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code="100000001", approve=False, reason="超出职责范围"))
    assert wait_state(fed.peers["mps"], filed.request_id, {"rejected"}).reason == "超出职责范围"


def test_consumer_withdraws_before_the_decision(fed):
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000002")
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    # the consumer withdraws a request it knows is pending (under load, Hebei may hear of it later
    # than Guangdong; withdrawing earlier is a withdrawal of the submitted version 1)
    wait_state(fed.peers["hebei"], filed.request_id, {"pending"})
    sharing(fed.peers["hebei"]).WithdrawRequest(sharing_pb2.WithdrawRequestRequest(
        request_id=filed.request_id, consumer_code="130100005", reason="已通过其他渠道获取"))
    assert wait_state(fed.peers["guangdong"], filed.request_id, {"withdrawn"}).version == 3
    with pytest.raises(grpc.RpcError) as caught:
        sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
            request_id=filed.request_id, department_code="440300002", approve=True))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_owner_node_down_for_a_while_gets_the_request_once_it_is_back(fed):
    port = fed.peers["guangdong"].node.port
    fed.stop_peer("guangdong")
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000002")
    count, error = wait_until(lambda: fed.hub.node.store.outbox_summary().get("guangdong", (0, "")), 60,
                              "a failed delivery to Guangdong in the hub's outbox", until=lambda waiting: waiting[1])
    assert count == 1 and "UNAVAILABLE" in error  # waiting in the hub's outbox, with why
    fed.peers["guangdong"] = fed.start_peer("guangdong", port)
    pending = wait_state(fed.peers["guangdong"], filed.request_id, {"pending"}, timeout=40)
    assert [e.state for e in pending.history] == ["submitted", "pending"]  # arrived exactly once
    assert wait_state(fed.peers["hebei"], filed.request_id, {"pending"}).version == 2


def test_hub_restarted_between_pulling_and_delivering(fed):
    port = fed.peers["guangdong"].node.port
    fed.stop_peer("guangdong")  # the delivery cannot happen yet
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000001")
    wait_state(fed.hub, filed.request_id, {"submitted"})
    # Pulled and queued in one transaction; Guangdong is down, so it cannot have left yet.
    assert fed.hub.node.store.outbox_summary()["guangdong"][0] == 1, "the delivery is not queued at the hub"
    fed.restart_hub()  # with the delivery still queued in its outbox
    fed.peers["guangdong"] = fed.start_peer("guangdong", port)
    granted = wait_state(fed.peers["hebei"], filed.request_id, {"granted"}, timeout=40)
    at_owner = wait_state(fed.peers["guangdong"], filed.request_id, {"granted"})
    assert [e.state for e in at_owner.history] == ["submitted", "granted"] and granted.version == at_owner.version == 2


def test_consumer_restored_from_an_older_copy_gets_its_requests_back(fed, tmp_path):
    hebei = fed.peers["hebei"]
    backup(hebei.node.config.database, str(tmp_path / "hebei.backup"))
    filed = submit(hebei, "130100005", "440300002/000002")
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code="440300002", approve=True, reason="同意"))
    wait_state(hebei, filed.request_id, {"granted"})
    port = hebei.node.port
    fed.stop_peer("hebei")
    restore(str(tmp_path / "hebei.backup"), hebei.node.config.database)
    fed.peers["hebei"] = fed.start_peer("hebei", port)
    fed.sync("hebei")  # new epoch: the hub resyncs and redelivers the requests Hebei is a party to
    restored = wait_state(fed.peers["hebei"], filed.request_id, {"granted"}, timeout=30)
    assert restored.version == 3 and [e.state for e in restored.history] == ["submitted", "pending", "granted"]


def test_deadline_counts_working_days_and_overdue_is_flagged_at_owner_and_hub(fed):
    # Filed on a Saturday in Beijing: ten working days are the next two working weeks.
    clock = fix_clock([*fed.peers.values(), fed.hub], datetime(2026, 12, 5, 10, 0, tzinfo=CHINA))
    filed = submit(fed.peers["hebei"], "130100005", "440300002/000002")
    pending = wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    assert pending.deadline == "2026-12-18"  # Mon 7 - Fri 11, Mon 14 - Fri 18 December
    wait_state(fed.hub, filed.request_id, {"pending"})
    clock.at = datetime(2026, 12, 18, 23, 59, tzinfo=CHINA)  # the last day still is in time
    assert not sharing(fed.hub).GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).overdue
    clock.at = datetime(2026, 12, 19, 0, 0, tzinfo=CHINA)
    for client in (fed.peers["guangdong"], fed.hub):
        assert sharing(client).GetRequest(sharing_pb2.GetRequestRequest(request_id=filed.request_id)).overdue
        listed = sharing(client).ListRequests(sharing_pb2.ListRequestsRequest(overdue_only=True))
        assert [r.request_id for r in listed.requests] == [filed.request_id]
    card = fed.hub.admin.Scorecard(admin_pb2.ScorecardRequest())
    owner = next(r for r in card.departments if r.department_code == "440300002")
    assert owner.overdue_now == 1 and owner.requests_received == 1 and owner.answered == 0


def test_scorecard_per_department_and_node(fed):
    ids = [submit(fed.peers["hebei"], "130100005", f"440300002/00000{i}").request_id for i in (1, 3)]
    for request_id in ids:
        wait_state(fed.hub, request_id, {"granted", "rejected"})
    card = fed.hub.admin.Scorecard(admin_pb2.ScorecardRequest())
    owner = next(r for r in card.departments if r.department_code == "440300002")
    assert (owner.entries, owner.unconditional, owner.conditional, owner.not_shared) == (3, 1, 1, 1)
    assert (owner.requests_received, owner.answered, owner.answered_in_time) == (2, 2, 2)
    assert owner.median_hours_to_answer >= 0
    consumer = next(r for r in card.departments if r.department_code == "130100005")
    assert consumer.requests_made == 2
    node = next(r for r in card.nodes if r.node_id == "guangdong")
    assert node.entries == 3 and node.requests_received == 2
