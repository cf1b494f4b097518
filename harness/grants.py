"""Sharing requests carried to a grant in one step, as a tester wants them: filed by a department
at its node, passed by that node's data authority when it reviews requests, answered by the owner
department at its node when the entry is conditional, and waited for until the grant is back at
the consumer's node. `cascade harness grant` and the service-hall simulator (sim/hall.py) use it;
each step is the same call a department makes (its own certificate and token)."""

from __future__ import annotations

import time
from typing import Sequence

import grpc

from harness.processes import HarnessError
from node.proto import sharing_pb2

PURPOSE, BASIS = "政务服务窗口核验申请人信息", "《优化营商环境条例》第三十五条"


def file(fed, node: str, department: str, resource_code: str, items: Sequence[str], modes: Sequence[str] = (),
         purpose: str = PURPOSE, basis: str = BASIS) -> str:
    """The request's id, filed by DEPARTMENT at NODE for the entry's ITEMS in MODES (none: all)."""
    reply = fed.sharing(node, department).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=department, resource_code=resource_code, purpose=purpose, basis=basis, data_items=list(items),
        modes=list(modes)), timeout=30)
    return reply.request_id


def see_granted(fed, node: str, department: str, request_id: str, *, modes: Sequence[str] = (),
                daily_quota: int = 0, rate: int = 0, timeout: float = 90.0):
    """The request as granted at NODE: passed by NODE's data authority if it waits for its review,
    approved by its owner department if it waits for its answer (narrowed to MODES, with DAILY_QUOTA
    and RATE), then waited for. A request rejected or withdrawn on the way is a HarnessError."""
    consumer = fed.sharing(node, department)
    deadline, reviewed, decided = time.monotonic() + timeout, False, False
    while True:
        held = consumer.GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id), timeout=10)
        if held.state == "granted":
            return held
        if held.state in ("rejected", "withdrawn", "returned"):
            raise HarnessError(f"request {request_id} was {held.state}: {held.reason}")
        if held.state == "review" and not reviewed:
            authority = fed.node(node).get("data_authority", "")
            fed.sharing(node, authority).ReviewRequest(sharing_pb2.ReviewRequestRequest(
                request_id=request_id, department_code=authority, decision="pass"), timeout=30)
            reviewed = True
        elif held.state not in ("submitted", "review") and not decided:
            decided = _answer_if_pending(fed, held, modes, daily_quota, rate)
        if time.monotonic() > deadline:
            raise HarnessError(f"request {request_id} was not granted at {node} within {timeout:.0f} s "
                               f"(it is {held.state})")
        time.sleep(0.2)


def _answer_if_pending(fed, held, modes: Sequence[str], daily_quota: int, rate: int) -> bool:
    """Approves the request at its owner's node if it waits there for an answer; False while it
    has not reached the owner's node yet."""
    owner = fed.sharing(held.owner_node, held.owner_code)
    try:
        state = owner.GetRequest(sharing_pb2.GetRequestRequest(request_id=held.request_id), timeout=10).state
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return False
    if state == "pending":
        owner.DecideRequest(sharing_pb2.DecideRequestRequest(
            request_id=held.request_id, department_code=held.owner_code, approve=True, reason="同意，限额使用",
            modes=list(modes), daily_quota=daily_quota, rate=rate), timeout=30)
    return True
