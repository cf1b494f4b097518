"""A department speaks only for itself, whatever it names: a department that names itself in
another's request, or another department as a publisher, is refused over mutual TLS with the
field at fault, nothing changes, and the refusal is a `denied` record on the audit trail. (The
rule table itself, each method allowed and denied: tests/test_authz_rules.py.)"""

from __future__ import annotations

from hypothesis import assume, given, settings, strategies as st

from node.proto import catalog_pb2, sharing_pb2, sharing_pb2_grpc
from security_support import (A, B, C, CAT, DEADLINE, PERMISSION_DENIED, SHR, Who, denial_recorded, entry_proto,
                              invoke, outcome)
from security_support import ca, dial, hebei, world  # noqa: F401 (fixtures)


def test_a_department_naming_itself_still_cannot_decide_or_withdraw_anothers_request(hebei, dial, world):
    sharing_b = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "B")))
    sharing_a = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "A")))
    before = hebei.state()
    code, details = outcome(lambda: sharing_b.DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=world.not_to_decide, department_code=B, approve=True), timeout=DEADLINE))
    assert (code, "department_code" in details) == (PERMISSION_DENIED, True), details
    code, details = outcome(lambda: sharing_a.WithdrawRequest(sharing_pb2.WithdrawRequestRequest(
        request_id=world.request.request_id, consumer_code=A), timeout=DEADLINE))
    assert (code, "consumer_code" in details) == (PERMISSION_DENIED, True), details
    assert hebei.state() == before
    still = sharing_b.GetRequest(sharing_pb2.GetRequestRequest(request_id=world.not_to_decide), timeout=DEADLINE)
    assert still.state == "pending"


def test_a_refusal_by_the_sharing_rules_is_on_the_audit_trail(hebei, dial, world):
    sharing = sharing_pb2_grpc.SharingStub(dial.channel(hebei, Who("tool", "B")))
    since = hebei.audit_seq()
    code, _ = outcome(lambda: sharing.DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=world.not_to_decide, department_code=B, approve=True), timeout=DEADLINE))
    assert code == PERMISSION_DENIED
    assert denial_recorded(hebei, since, SHR + "DecideRequest", f"{B}@tool"), hebei.audit_since(since)


@settings(max_examples=25, deadline=None, database=None)
@given(provider=st.one_of(st.sampled_from([B, C]), st.from_regex(r"[0-9]{9}", fullmatch=True)),
       how=st.sampled_from(["PublishEntry", "PublishEntries", "WithdrawEntry"]), seq=st.integers(1, 999))
def test_a_department_never_writes_in_another_departments_name(hebei, dial, world, provider, how, seq):
    assume(provider != A)
    requests = {
        "PublishEntry": catalog_pb2.PublishEntryRequest(entry=entry_proto(provider, seq)),
        # Its own entry first: the stream is refused whole.
        "PublishEntries": [catalog_pb2.PublishEntriesRequest(entries=[entry_proto(A, 500), entry_proto(provider, seq)])],
        "WithdrawEntry": catalog_pb2.WithdrawEntryRequest(resource_code=f"{provider}/{seq:06d}"),
    }
    before, since = hebei.state(), hebei.audit_seq()
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), CAT + how, requests[how]))
    assert code == PERMISSION_DENIED and provider in details, details
    assert hebei.state() == before
    assert denial_recorded(hebei, since, CAT + how, f"{A}@tool")
