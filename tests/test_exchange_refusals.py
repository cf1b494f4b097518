"""Every refusal of a data fetch: a clear status naming the reason, and nothing delivered."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import grpc
import pytest

from exchange_support import CONSUMER, OWNER, ROWS, fetch, granted, refusal
from exchange_support import fed  # noqa: F401 (fixture)
from node.model import rules
from node.exchange.relay import fetch_call
from node.proto import catalog_pb2, exchange_pb2, sharing_pb2
from test_sharing import sharing, submit, wait_state


# --- refusals: each a clear status, nothing delivered ---------------------------------------------

def test_no_such_request(fed):
    code, details = refusal(fed.peers["hebei"], "hebei-nosuchrequest")
    assert code == grpc.StatusCode.NOT_FOUND and "hebei-nosuchrequest" in details


def test_consumer_code_not_the_requests_consumer(fed):
    request_id = granted(fed)
    code, details = refusal(fed.peers["hebei"], request_id, consumer="130000001")
    assert code == grpc.StatusCode.PERMISSION_DENIED and details.startswith("consumer_code")


def test_not_granted_rejected_and_withdrawn(fed):
    hebei, guangdong = fed.peers["hebei"], fed.peers["guangdong"]
    pending = submit(hebei, CONSUMER, "440300002/000002", items=("注册资本",)).request_id
    wait_state(hebei, pending, {"pending"})
    code, details = refusal(hebei, pending)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not_granted" in details

    sharing(guangdong).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=pending, department_code=OWNER, approve=False, reason="用途不明确"))
    wait_state(hebei, pending, {"rejected"})
    code, details = refusal(hebei, pending)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "rejected" in details and "用途不明确" in details

    withdrawn = submit(hebei, CONSUMER, "440300002/000002", items=("注册资本",)).request_id
    wait_state(guangdong, withdrawn, {"pending"})
    sharing(hebei).WithdrawRequest(sharing_pb2.WithdrawRequestRequest(request_id=withdrawn, consumer_code=CONSUMER))
    wait_state(guangdong, withdrawn, {"withdrawn"})
    code, details = refusal(hebei, withdrawn)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "withdrawn" in details


def test_a_fetch_after_valid_until_is_refused(fed):
    filed = submit(fed.peers["hebei"], CONSUMER, "440300002/000002", items=("注册资本",))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    today = rules.utcnow().date()
    sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code=OWNER, approve=True,
        valid_until=(today + timedelta(days=30)).isoformat()))
    wait_state(fed.peers["hebei"], filed.request_id, {"granted"})
    assert fetch(fed.peers["hebei"], filed.request_id)[2] == ROWS  # valid today
    fed.peers["guangdong"].node.sharing.clock = lambda: rules.utcnow() + timedelta(days=32)
    code, details = refusal(fed.peers["hebei"], filed.request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "expired" in details


def test_entry_withdrawn_or_not_mounted(fed):
    unmounted = granted(fed, "440300002/000003")
    code, details = refusal(fed.peers["hebei"], unmounted)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "not_mounted" in details
    request_id = granted(fed, "440300002/000004")
    fed.peers["guangdong"].catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="440300002/000004"))
    code, details = refusal(fed.peers["hebei"], request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "entry_withdrawn" in details


def test_owners_node_unreachable_is_unavailable(fed):
    request_id = granted(fed)
    fed.stop_peer("guangdong")
    code, details = refusal(fed.peers["hebei"], request_id)
    assert code == grpc.StatusCode.UNAVAILABLE and "guangdong" in details
    records = fed.hub.node.store.exchanges(request_id)
    assert [r.outcome for r in records] == ["refused"] and "guangdong" in records[0].detail


def test_a_source_that_no_longer_covers_the_items_names_them(fed):
    request_id = granted(fed, items=("企业名称", "法定代表人", "注册资本"))
    with sqlite3.connect(fed.source) as db:
        db.execute("ALTER TABLE enterprises DROP COLUMN 法定代表人")
        db.execute("ALTER TABLE enterprises RENAME COLUMN 注册资本 TO registered_capital")
    code, details = refusal(fed.peers["hebei"], request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "source_columns" in details
    assert "法定代表人" in details and "注册资本" in details and "企业名称" not in details


def test_a_relayed_call_must_come_from_the_requests_consumer_node(fed):
    request_id = granted(fed)
    hub = fetch_call(fed.hub.channel)
    with pytest.raises(grpc.RpcError) as caught:
        list(hub(exchange_pb2.FetchDataRequest(request_id=request_id, consumer_code=CONSUMER, from_node="xpcc"),
                 timeout=30))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
