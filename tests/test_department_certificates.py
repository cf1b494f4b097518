"""A department's own certificate (`<code>.<node>`, kind `department`) makes its holder that
department and nothing more: it reads and writes for itself with its own token, and never makes
an operator's call, acts for another department, carries another's token or an operator's, or
counts at another node."""

from __future__ import annotations

import pytest

from node.proto import admin_pb2, catalog_pb2, exchange_pb2, sharing_pb2
from node.security import pki
from security_support import (A, ADM, B, CAT, EXC, OK, PERMISSION_DENIED, SHR, UNAUTHENTICATED, Who, denial_recorded,
                              entry_proto, invoke, outcome)
from security_support import ca, dial, hebei, world  # noqa: F401 (fixtures)

B_CERT = f"{B}.hebei"
OPERATOR_CALLS = {
    ADM + "Status": admin_pb2.StatusRequest(),
    ADM + "SyncNow": admin_pb2.SyncNowRequest(),
    ADM + "Verify": admin_pb2.VerifyRequest(),
    EXC + "ListExchanges": exchange_pb2.ListExchangesRequest(),
}


def test_the_certificate_names_the_department_and_its_node(ca):
    assert pki.identity_of((ca / f"{B_CERT}.pem").read_bytes()) == (B_CERT, "department")
    assert pki.department_of(B_CERT) == (B, "hebei")
    assert pki.department_of("hebei") is None
    with pytest.raises(pki.PkiError, match="CODE|code"):
        pki.issue(ca, "hebei", kind="department")


def test_a_department_reads_and_files_for_itself(hebei, dial, world):
    channel = dial.channel(hebei, Who(B_CERT, "B"))
    mine = invoke(channel, SHR + "ListRequests", sharing_pb2.ListRequestsRequest(consumer_code=B))
    assert world.request.request_id in {r.request_id for r in mine.requests}
    assert invoke(channel, SHR + "GetRequest", sharing_pb2.GetRequestRequest(
        request_id=world.request.request_id)).consumer_code == B
    assert invoke(channel, CAT + "GetEntry", catalog_pb2.GetEntryRequest(resource_code=world.entry)).name


@pytest.mark.parametrize("method", OPERATOR_CALLS)
def test_a_department_certificate_never_makes_an_operator_call(hebei, dial, method):
    for who in (Who(B_CERT, "B"), Who(B_CERT)):
        since = hebei.audit_seq()
        code, details = outcome(lambda: invoke(dial.channel(hebei, who), method, OPERATOR_CALLS[method]))
        assert code == PERMISSION_DENIED, f"{who} {method}: {code.name}: {details}"
        assert denial_recorded(hebei, since, method, f"{B}@{B_CERT}"), hebei.audit_since(since)


def test_a_department_certificate_never_lists_or_writes_for_another(hebei, dial, world):
    channel = dial.channel(hebei, Who(B_CERT, "B"))
    before = hebei.state()
    for method, request in (
            (SHR + "ListRequests", sharing_pb2.ListRequestsRequest(owner_code=A)),
            (SHR + "ListRequests", sharing_pb2.ListRequestsRequest()),
            (CAT + "PublishEntry", catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 600))),
            (SHR + "DecideRequest", sharing_pb2.DecideRequestRequest(request_id=world.not_to_decide,
                                                                     department_code=A, approve=True))):
        code, details = outcome(lambda: invoke(channel, method, request))
        assert code == PERMISSION_DENIED, f"{method}: {code.name}: {details}"
    assert hebei.state() == before


@pytest.mark.parametrize("token", ["A", "op"], ids=["another-departments-token", "an-operator-token"])
def test_a_department_certificate_carries_only_its_own_token(hebei, dial, token):
    channel = dial.channel(hebei, Who(B_CERT, token))
    for method in (SHR + "ListRequests", ADM + "Status"):
        request = sharing_pb2.ListRequestsRequest(owner_code=A) if method.endswith("ListRequests") \
            else admin_pb2.StatusRequest()
        code, details = outcome(lambda: invoke(channel, method, request))
        assert code == UNAUTHENTICATED, f"{method}: {code.name}: {details}"
        assert "certificate" in details


def test_a_department_certificate_of_another_node_is_refused(hebei, dial):
    channel = dial.channel(hebei, Who(f"{B}.guangdong", "B"))
    since = hebei.audit_seq()
    code, details = outcome(lambda: invoke(channel, SHR + "ListRequests", sharing_pb2.ListRequestsRequest(
        consumer_code=B)))
    assert code == UNAUTHENTICATED and "guangdong" in details, details
    assert denial_recorded(hebei, since, SHR + "ListRequests", f"{B}@{B}.guangdong"), hebei.audit_since(since)


def test_the_operator_certificate_still_makes_operator_calls(hebei, dial):
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("operator")), ADM + "Status",
                                           admin_pb2.StatusRequest()))
    assert code == OK, details
