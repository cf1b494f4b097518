"""Decisions only their maker can make, through real nodes over mutual TLS: a hostile member node
(Hebei) writes versions of requests into its own database, as a compromised node can. The hub
and the owner's node (Guangdong) refuse them, put the refusal on their audit trail and count it
in Status, and the owner's node serves nothing the owner did not grant."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import grpc

from exchange_support import CONSUMER, OWNER, ROWS, source_rows
from node import wire
from node.proto import sharing_pb2, sharing_pb2_grpc
from node.security import pki
from node.security.client import Credentials, open_channel
from node.workers import MIN_ITEMS
from signed_support import DEADLINE, MPS_DEPARTMENT, NATIONAL, fetch, forge, refused_fetch
from signed_support import federation  # noqa: F401 (fixture)

UNCONDITIONAL, CONDITIONAL = "440300002/000001", "440300002/000002"
WORKER_BATCH = 60  # request versions of about 1 KB each: a pulled message of well over MIN_ITEMS entries' bytes


def now() -> datetime:
    return datetime.now(timezone.utc)


def refusals_at_hub(federation, request_id: str) -> int:
    return len(federation.hub.denied(request_id))


def deliver_as_hub(federation, member, request) -> sharing_pb2.DeliverRequestResponse:
    """The hub's DeliverRequest, made with the hub's own certificate: what a hub relaying a forged
    version (a compromised hub) would hand the owner's node."""
    ca = member.ca
    channel = open_channel(member.node.address, Credentials(str(ca / "national.pem"), str(ca / "national.key"),
                                                            str(ca / pki.CA_CERT)))
    try:
        return sharing_pb2_grpc.SharingStub(channel).DeliverRequest(sharing_pb2.DeliverRequestRequest(
            request=wire.request_to_proto(request), from_node="national"), timeout=DEADLINE)
    finally:
        channel.close()


def test_a_grant_forged_by_the_consumers_node_is_refused_everywhere_and_nothing_is_served(federation):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    request_id = federation.request(CONSUMER, CONDITIONAL, ("企业名称",))
    pending = hebei.held(request_id)
    assert (pending.state, pending.signer) == ("pending", "guangdong")
    refused_before = federation.hub.status().refused_versions

    # Hebei grants its own request in the owner's department's name, signed with its own node key.
    forged = hebei.node.seal.sign(pending.advanced("granted", OWNER, now(), "approved by the owner"))
    forge(hebei, forged)
    federation.settle(lambda: refusals_at_hub(federation, request_id) >= 1, "the hub's refusal of the forged grant")

    assert hub.held(request_id).state == guangdong.held(request_id).state == "pending"
    (record,) = hub.denied(request_id)
    assert record.actor == "node:hebei" and record.method == "sharing.refused_version"
    assert "version 3 (granted) claimed by hebei" in record.detail
    assert "granted is made only by the owner's node guangdong, not by hebei" in record.detail
    status = hub.status()
    assert status.refused_versions == refused_before + 1
    assert {p.node_id: p for p in status.peers}["hebei"].refused >= 1
    assert any(c.peer == "hebei" and c.resource_code == request_id and "request version refused" in c.reason
               for c in status.conflicts)
    code, details = refused_fetch(hebei, request_id)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "pending, not granted" in details

    # Handed to the owner's node directly (a hub that relays it), the owner refuses it on its own:
    # made by the wrong node, or with the owner's signature of the pending version borrowed.
    borrowed = dataclasses.replace(pending.advanced("granted", OWNER, now(), "approved"), signer=pending.signer,
                                   signature=pending.signature, signer_cert=pending.signer_cert)
    unsigned = dataclasses.replace(borrowed, signature=b"", signer_cert=b"")
    for attempt in (forged, borrowed, unsigned):
        assert not deliver_as_hub(federation, guangdong, attempt).applied
    assert guangdong.held(request_id).state == "pending"
    details = [r.detail for r in guangdong.denied(request_id)]
    assert len(details) == 3, details
    assert "not by hebei" in details[0] and "the signature of guangdong does not match the version" in details[1]
    assert details[2].endswith("claimed by guangdong: unsigned")
    assert guangdong.status().refused_versions >= 3

    # A forged grant that reached the owner's store some other way is still not served.
    with guangdong.node.store.transaction() as tx:
        tx.put_requests([forged], log=False)
    code, details = refused_fetch(hebei, request_id)
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert "does not check out: the grant is signed by hebei, not by its owner's node guangdong" in details


def test_widening_a_narrow_grant_is_refused_and_only_the_granted_rows_are_served(federation):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    request_id = federation.request(CONSUMER, CONDITIONAL, ("公民身份号码", "注册资本"))
    guangdong.sharing(OWNER).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=request_id, department_code=OWNER, approve=True, reason="限深圳市户籍人员",
        row_filter=sharing_pb2.RowFilter(column="公民身份号码", prefix="4403"), valid_until="2099-12-31"),
        timeout=DEADLINE)
    federation.settle(lambda: hebei.held(request_id).state == "granted", "the grant back at Hebei")
    narrow = source_rows(federation.source, ["公民身份号码", "注册资本"], "WHERE 公民身份号码 LIKE '4403%'")
    assert 0 < len(narrow) < ROWS and fetch(hebei, request_id) == narrow
    grant = hebei.held(request_id)

    # Hebei drops the filter and the end date: once with its own signature, once keeping the owner's.
    widened = dataclasses.replace(grant.advanced("granted", OWNER, now(), grant.reason), filter_column="",
                                  filter_prefix="", valid_until="")
    own = hebei.node.seal.sign(widened)
    kept = dataclasses.replace(widened, signer=grant.signer, signature=grant.signature, signer_cert=grant.signer_cert)
    for attempt, why in ((own, "granted is made only by the owner's node guangdong, not by hebei"),
                         (kept, "the signature of guangdong does not match the version")):
        forge(hebei, attempt)
        federation.settle(lambda: any(why in r.detail for r in hub.denied(request_id)),
                          f"the hub's refusal: {why}")

    for member in (hub, guangdong):
        held = member.held(request_id)
        assert (held.version, held.filter_prefix, held.valid_until) == (grant.version, "4403", "2099-12-31")
    assert fetch(hebei, request_id) == narrow  # 9-odd rows, not every row of the source


def test_a_wider_quota_forged_by_the_consumers_node_is_refused_and_the_owners_quota_holds(federation):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    request_id = federation.request(CONSUMER, CONDITIONAL, ("企业名称",))
    guangdong.sharing(OWNER).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=request_id, department_code=OWNER, approve=True, reason="每日一次", modes=["fetch"],
        daily_quota=1), timeout=DEADLINE)
    federation.settle(lambda: hebei.held(request_id).state == "granted", "the grant back at Hebei")
    grant = hebei.held(request_id)

    # Hebei lifts the quota and adds query, as a withdrawal of its own and as the owner's grant.
    wider = dict(daily_quota=0, modes=("fetch", "query"))
    own = hebei.node.seal.sign(dataclasses.replace(grant.advanced("withdrawn", CONSUMER, now(), "x"), **wider))
    kept = dataclasses.replace(grant.advanced("granted", OWNER, now(), grant.reason), signer=grant.signer,
                               signature=grant.signature, signer_cert=grant.signer_cert, **wider)
    for attempt, why in ((own, "changes the grant's scope, which only the owner's node sets"),
                         (kept, "the signature of guangdong does not match the version")):
        forge(hebei, attempt)
        federation.settle(lambda: any(why in r.detail for r in hub.denied(request_id)), f"the hub's refusal: {why}")

    held = guangdong.held(request_id)
    assert (held.version, held.modes, held.daily_quota) == (grant.version, ("fetch",), 1)
    assert len(fetch(hebei, request_id)) == ROWS
    code, details = refused_fetch(hebei, request_id)
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "allows 1 calls a day" in details


def test_a_node_restamping_another_nodes_grant_as_its_own_is_refused_and_the_real_consumer_is_served(federation):
    hebei, guangdong, mps, hub = (federation.members["hebei"], federation.members["guangdong"],
                                  federation.members["mps"], federation.hub)
    request_id = federation.request(MPS_DEPARTMENT, UNCONDITIONAL, ("企业名称",))
    grant = mps.held(request_id)
    assert (grant.state, grant.signer) == ("granted", "guangdong")

    # The same request re-stamped with Hebei as its consumer (its own signature), and a copy under
    # a Hebei request id that keeps the owner's signature.
    restamped = hebei.node.seal.sign(dataclasses.replace(
        grant.advanced("granted", OWNER, now(), grant.reason), consumer_node="hebei", consumer_code=CONSUMER))
    renamed = dataclasses.replace(grant, request_id="hebei-" + request_id.split("-", 1)[1], consumer_node="hebei",
                                  consumer_code=CONSUMER)
    forge(hebei, restamped)
    forge(hebei, renamed)
    federation.settle(lambda: hub.denied(request_id) and hub.denied(renamed.request_id), "the hub's refusals")
    assert "does not name its consumer's node hebei" in hub.denied(request_id)[0].detail
    assert "the signature of guangdong does not match" in hub.denied(renamed.request_id)[0].detail
    assert renamed.request_id not in hub.node.store.get_requests([renamed.request_id])

    for member in (hub, guangdong, mps):
        assert (member.held(request_id).consumer_node, member.held(request_id).version) == ("mps", grant.version)
    for stolen in (request_id, renamed.request_id):
        code, _ = refused_fetch(hebei, stolen)
        assert code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND), code
    assert len(fetch(mps, request_id, MPS_DEPARTMENT)) == ROWS  # the real consumer is still served


def test_every_version_a_secure_node_makes_is_signed_by_it(federation):
    hebei, guangdong = federation.members["hebei"], federation.members["guangdong"]
    request_id = federation.request(CONSUMER, UNCONDITIONAL, ("企业名称",))
    held = hebei.held(request_id)
    assert [e.state for e in held.history] == ["submitted", "granted"] and held.signer == "guangdong"
    assert guangdong.node.seal.refusal(held, None) is None
    reply = hebei.sharing(CONSUMER).GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id),
                                               timeout=DEADLINE)
    assert reply.signer == "guangdong" and reply.signature and reply.signer_cert  # readers can check it too


def test_forged_versions_in_a_pulled_batch_large_enough_for_a_worker_are_still_refused(federation, monkeypatch):
    hebei, hub = federation.members["hebei"], federation.hub
    first, second = (hebei.held(federation.request(CONSUMER, CONDITIONAL, ("企业名称",))) for _ in range(2))
    refused_before = hub.status().refused_versions
    # The hub stages the batch in a worker process, which checks its signatures there: the hub's
    # applying thread checks none itself.
    monkeypatch.setattr(hub.node.workers, "workers", 2)
    staged_items = []
    run = hub.node.workers.run
    monkeypatch.setattr(hub.node.workers, "run", lambda fn, *args, items: staged_items.append(items) or run(
        fn, *args, items=items))
    checked_here = []
    verify = hub.node.seal.verify_bytes
    monkeypatch.setattr(hub.node.seal, "verify_bytes", lambda *args, **kw: checked_here.append(args) or verify(
        *args, **kw))

    # Hebei's own filings, enough to make its next batch a worker's, written in one transaction
    # with a grant it made itself and one that borrows the owner's signature.
    filings = [hebei.node.seal.sign(dataclasses.replace(
        first, request_id=f"hebei-bulk{i:04d}{first.request_id[-6:]}", state="submitted", version=1, reason="",
        deadline="", history=first.history[:1])) for i in range(WORKER_BATCH)]
    forged = hebei.node.seal.sign(first.advanced("granted", OWNER, now(), "approved by the owner"))
    borrowed = dataclasses.replace(second.advanced("granted", OWNER, now(), "approved"), signer=second.signer,
                                   signature=second.signature, signer_cert=second.signer_cert)
    with hebei.node.store.transaction() as tx:
        tx.put_requests([*filings, forged, borrowed], log=True)
    federation.settle(lambda: hub.denied(first.request_id) and hub.denied(second.request_id),
                      "the hub's refusals of both forged grants")

    assert max(staged_items) >= MIN_ITEMS, staged_items  # the batch went to a worker
    assert checked_here == []
    assert hub.held(first.request_id).state == hub.held(second.request_id).state == "pending"
    (made,), (signed,) = hub.denied(first.request_id), hub.denied(second.request_id)
    assert "granted is made only by the owner's node guangdong, not by hebei" in made.detail
    assert "claimed by guangdong: the signature of guangdong does not match the version" in signed.detail
    assert hub.status().refused_versions == refused_before + 2
    # The filings themselves were taken: each copy at the hub starts with hebei's version (the owner's
    # answer to one of them may have come back by now, a later version signed by guangdong).
    assert all(hub.held(f.request_id).history[0].maker == "hebei" for f in filings)


def test_the_hubs_coordination_binds_the_owners_node_and_a_coordination_forged_by_the_consumers_node_does_not(
        federation):
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    forged_id = federation.request(CONSUMER, CONDITIONAL, ("企业名称",))
    request_id = federation.request(CONSUMER, CONDITIONAL, ("企业名称", "公民身份号码"))
    for refused_id in (forged_id, request_id):
        guangdong.sharing(OWNER).DecideRequest(sharing_pb2.DecideRequestRequest(
            request_id=refused_id, department_code=OWNER, approve=False, reason="不符合共享条件"), timeout=DEADLINE)
        federation.settle(lambda: federation.state_at(hebei, refused_id) == "rejected", "the refusal at Hebei")
        hebei.sharing(CONSUMER).ObjectRequest(sharing_pb2.ObjectRequestRequest(
            request_id=refused_id, consumer_code=CONSUMER, reason="依据充分"), timeout=DEADLINE)
        federation.settle(lambda: federation.state_at(hub, refused_id) == "objected", "the objection at the hub")

    # Hebei decides its own objection, in the national authority's name: no node takes it.
    objected = hebei.held(forged_id)
    forged = hebei.node.seal.sign(objected.advanced("granted", NATIONAL, now(), "coordination: 同意"))
    forge(hebei, forged)
    federation.settle(lambda: refusals_at_hub(federation, forged_id) >= 1, "the hub's refusal of the forged decision")
    assert "made only by the coordinator's node national, not by hebei" in hub.denied(forged_id)[0].detail
    assert hub.held(forged_id).state == guangdong.held(forged_id).state == "objected"
    assert not deliver_as_hub(federation, guangdong, forged).applied

    # The hub's data authority shares, narrowed: the owner's node serves exactly that grant.
    shared = hub.sharing(NATIONAL).CoordinateRequest(sharing_pb2.CoordinateRequestRequest(
        request_id=request_id, department_code=NATIONAL, decision="share", reason="经协调同意共享",
        row_filter=sharing_pb2.RowFilter(column="公民身份号码", prefix="4403")), timeout=DEADLINE)
    assert (shared.state, shared.signer) == ("granted", "national")
    federation.settle(lambda: federation.state_at(guangdong, request_id) == federation.state_at(
        hebei, request_id) == "granted", "the coordinator's grant at the owner's and the consumer's nodes")
    assert guangdong.held(request_id).signer == "national"
    rows = fetch(hebei, request_id)
    expected = source_rows(federation.source, ["企业名称", "公民身份号码"], "WHERE 公民身份号码 LIKE '4403%'")
    assert rows == expected and 0 < len(rows) < ROWS


def test_a_returned_request_amended_at_the_consumers_node_is_taken_everywhere(federation):
    """Only a resubmission after a return may change what the first version fixed; the hub, which
    held the request as returned and is handed it already passed, takes it as the consumer's node signed it."""
    hebei, guangdong, hub = federation.members["hebei"], federation.members["guangdong"], federation.hub
    sharing = hebei.node.sharing
    before = sharing.authority
    # Hebei reviews, its only department its data authority (the fixture's config names none).
    sharing.authority = dataclasses.replace(before, code=CONSUMER,
                                            settings=dataclasses.replace(before.settings, review=True))
    try:
        filed = sharing.submit(CONSUMER, CONDITIONAL, "办理企业开办", "不明", ["企业名称"])
        sharing.review(filed.request_id, CONSUMER, False, "依据不明确")
        federation.settle(lambda: federation.state_at(hub, filed.request_id) == "returned", "the return at the hub")
        sharing.resubmit(filed.request_id, CONSUMER, "", "《优化营商环境条例》第十条", ["企业名称", "公民身份号码"])
        sharing.review(filed.request_id, CONSUMER, True, "符合要求")
    finally:
        sharing.authority = before
    federation.settle(lambda: federation.state_at(hebei, filed.request_id) == "pending", "the owner's answer at Hebei")
    for member in (hub, guangdong):
        copy = member.held(filed.request_id)
        assert (copy.basis, copy.data_items) == ("《优化营商环境条例》第十条", ("企业名称", "公民身份号码"))
    assert not hub.denied(filed.request_id) and not guangdong.denied(filed.request_id)

    # A version that changes the basis without a resubmission is still refused.
    pending = hebei.held(filed.request_id)
    forged = hebei.node.seal.sign(dataclasses.replace(pending.advanced("withdrawn", CONSUMER, now(), "撤回"),
                                                      basis="另一依据"))
    forge(hebei, forged)
    federation.settle(lambda: refusals_at_hub(federation, filed.request_id) >= 1, "the hub's refusal of the change")
    assert "changes basis, which the request's first version fixed" in hub.denied(filed.request_id)[0].detail
