"""The rule table of node/security/authz.py walked both ways: each rule lets in whom it names and no one else."""

from __future__ import annotations

import dataclasses
from typing import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from node.proto import corrections_pb2
from node.proto import (admin_pb2, admin_pb2_grpc, cascade_pb2, catalog_pb2, catalog_pb2_grpc, exchange_pb2,
                        governance_pb2, sharing_pb2)
from node.security import authz
from security_support import (A, ADM, B, C, CAS, CAT, DEADLINE, EXC, GOV, HEALTH, OK, PERMISSION_DENIED, REFLECTION,
                              SERVED, SERVICES, SHR, UNAUTHENTICATED, Site, Who, World, denial_recorded, entry_proto,
                              invoke, outcome, tool)
from security_support import ca, dial, hebei, hub, world  # noqa: F401 (fixtures)

COR = authz.CORRECTIONS


# --- 1. every method has a rule ------------------------------------------------------------------

def test_every_method_the_node_serves_has_a_rule(hebei, dial):
    reflection = reflection_pb2_grpc.ServerReflectionStub(dial.channel(hebei, Who("tool")))
    replies = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                              timeout=DEADLINE)
    served = {s.name for reply in replies for s in reply.list_services_response.service}
    assert served == set(SERVICES), "the node serves other services than this test walks"
    missing = [method for method in SERVED if method not in authz.RULES]
    assert not missing, f"methods without a rule in authz.RULES (denied by default, but say so): {missing}"




# --- 2. every rule, allowed and denied -----------------------------------------------------------



@dataclasses.dataclass(frozen=True)
class Case:
    method: str
    who: Who
    request: Callable[[World], object]
    expect: grpc.StatusCode = OK
    at: str = "hebei"  # or "hub"
    writes_for: str = ""  # an allowed department write: the department its `ok` record names
    note: str = ""

    def __str__(self) -> str:
        verdict = "allowed" if self.expect == OK else self.expect.name
        return "-".join(filter(None, [self.method.rsplit("/", 1)[1], str(self.who), verdict, self.note,
                                      "at-hub" if self.at == "hub" else ""]))


def publish(provider: str, seq: int):
    return lambda w: catalog_pb2.PublishEntryRequest(entry=entry_proto(provider, seq))


def bulk(*chunks: tuple[tuple[str, int], ...]):
    """A PublishEntries stream: one message per chunk; a chunk of one entry uses the `entry` field."""
    def build(w):
        messages = []
        for chunk in chunks:
            entries = [entry_proto(provider, seq) for provider, seq in chunk]
            messages.append(catalog_pb2.PublishEntriesRequest(entry=entries[0]) if len(entries) == 1
                            else catalog_pb2.PublishEntriesRequest(entries=entries))
        return messages
    return build


def withdraw_entry(code: Callable[[World], str]):
    return lambda w: catalog_pb2.WithdrawEntryRequest(resource_code=code(w))


def list_requests(**fields):
    return lambda w: sharing_pb2.ListRequestsRequest(**fields)


def get_request(w):
    return sharing_pb2.GetRequestRequest(request_id=w.request.request_id)


def file_correction(filer: str):
    return lambda w: corrections_pb2.FileCorrectionRequest(
        filer_code=filer, resource_code=w.mounted, data_items=["企业名称"], key={"统一社会信用代码": "91130100X"},
        kind="missing", evidence="名称为空")


def get_correction(department: str):
    return lambda w: corrections_pb2.GetCorrectionRequest(correction_id=w.correction.correction_id,
                                                          department_code=department)


def deliver_correction(w):
    copy = corrections_pb2.Correction()
    copy.CopyFrom(w.correction)
    copy.ClearField("key")
    return corrections_pb2.DeliverCorrectionRequest(correction=copy, from_node="national")


def decide(request_id: Callable[[World], str], department: str):
    return lambda w: sharing_pb2.DecideRequestRequest(request_id=request_id(w), department_code=department,
                                                      approve=True)


def submit(consumer: str):
    return lambda w: sharing_pb2.SubmitRequestRequest(consumer_code=consumer, resource_code=w.conditional,
                                                      purpose="办理企业开办", basis="《优化营商环境条例》",
                                                      data_items=["企业名称"])




def fetch(consumer: str, from_node: str = ""):
    return lambda w: exchange_pb2.FetchDataRequest(request_id=w.fetchable, consumer_code=consumer, from_node=from_node)


def mount_source():
    return lambda w: exchange_pb2.MountResourceRequest(resource_code=w.mounted, kind="sqlite", location=w.source,
                                                       table="t", keys=["统一社会信用代码"])


def query(consumer: str, from_node: str = ""):
    return lambda w: exchange_pb2.QueryRequest(request_id=w.fetchable, consumer_code=consumer, from_node=from_node,
                                               key={"统一社会信用代码": "91130100MA00000000"})


def verify(consumer: str, from_node: str = ""):
    return lambda w: exchange_pb2.VerifyClaimsRequest(request_id=w.fetchable, consumer_code=consumer,
                                                      from_node=from_node, key={"统一社会信用代码": "91130100MA00000000"},
                                                      claims={"企业名称": "某公司"})


def get_mount(w):
    return exchange_pb2.GetMountRequest(resource_code=w.mounted)


def put_element(w):
    return governance_pb2.PutElementRequest(element=governance_pb2.DataElement(name="测试数据元", type="string"))


def check_data(w):
    return governance_pb2.CheckDataRequest(resource_code=w.mounted)


READS = {
    CAT + "GetEntry": lambda w: catalog_pb2.GetEntryRequest(resource_code=w.entry),
    CAT + "ListEntries": lambda w: catalog_pb2.ListEntriesRequest(),
    CAT + "SearchEntries": lambda w: catalog_pb2.SearchEntriesRequest(query="企业"),
    ADM + "Scorecard": lambda w: admin_pb2.ScorecardRequest(),
}
HUB_ONLY = {
    CAS + "PullChanges": lambda w: cascade_pb2.PullChangesRequest(),
    CAS + "Snapshot": lambda w: cascade_pb2.SnapshotRequest(),
    CAS + "GetDigest": lambda w: cascade_pb2.DigestRequest(),
}
FOR_ANYONE = {
    HEALTH + "Check": lambda w: health_pb2.HealthCheckRequest(),
    HEALTH + "Watch": lambda w: health_pb2.HealthCheckRequest(),
    REFLECTION + "ServerReflectionInfo": lambda w: [reflection_pb2.ServerReflectionRequest(list_services="")],
}

CASES = [
    # A department publishes and withdraws its own entries only.
    Case(CAT + "PublishEntry", Who("tool", "A"), publish(A, 100), writes_for=A),
    Case(CAT + "PublishEntry", Who("tool", "B"), publish(A, 101), PERMISSION_DENIED, note="for-A"),
    Case(CAT + "PublishEntry", Who("tool", "A-read"), publish(A, 101), PERMISSION_DENIED, note="no-publish-scope"),
    Case(CAT + "PublishEntry", Who("tool", "op"), publish(A, 101), PERMISSION_DENIED, note="operator-token"),
    Case(CAT + "PublishEntry", tool, publish(A, 101), UNAUTHENTICATED),
    Case(CAT + "PublishEntry", Who("operator"), publish(A, 101), UNAUTHENTICATED),
    Case(CAT + "PublishEntry", Who("hebei"), publish(A, 101), UNAUTHENTICATED),
    Case(CAT + "PublishEntries", Who("tool", "A"), bulk(((A, 110),), ((A, 111), (A, 112))), writes_for=A),
    Case(CAT + "PublishEntries", Who("tool", "B"), bulk(((B, 113),), ((A, 114),)), PERMISSION_DENIED,
         note="own-then-A"),
    Case(CAT + "PublishEntries", Who("tool", "B"), bulk(((B, 115), (A, 116))), PERMISSION_DENIED, note="chunk-with-A"),
    Case(CAT + "PublishEntries", tool, bulk(((A, 117),)), UNAUTHENTICATED),
    Case(CAT + "WithdrawEntry", Who("tool", "A"), withdraw_entry(lambda w: w.to_withdraw), writes_for=A),
    Case(CAT + "WithdrawEntry", Who("tool", "B"), withdraw_entry(lambda w: w.entry), PERMISSION_DENIED, note="A's"),
    Case(CAT + "WithdrawEntry", tool, withdraw_entry(lambda w: w.entry), UNAUTHENTICATED),
    # Reads of the catalog: any valid token, or a node's or an operator's certificate.
    *[Case(method, who, request) for method, request in READS.items()
      for who in (Who("tool", "B"), Who("tool", "A-read"), Who("mps"), Who("operator"))],
    *[Case(method, who, request, UNAUTHENTICATED) for method, request in READS.items()
      for who in (tool, Who("nameless"))],
    # The cascade's source side: the hub's certificate only.
    *[Case(method, Who("national"), request) for method, request in HUB_ONLY.items()],
    *[Case(method, who, request, PERMISSION_DENIED) for method, request in HUB_ONLY.items()
      for who in (Who("tool", "A"), Who("mps"), Who("hebei"), Who("operator"))],
    Case(CAS + "Notify", Who("hebei"), lambda w: cascade_pb2.NotifyRequest(node_id="hebei"), at="hub"),
    Case(CAS + "Notify", Who("mps"), lambda w: cascade_pb2.NotifyRequest(node_id="mps"), PERMISSION_DENIED, at="hub"),
    Case(CAS + "Notify", Who("operator"), lambda w: cascade_pb2.NotifyRequest(node_id="hebei"), PERMISSION_DENIED,
         at="hub"),
    Case(CAS + "Notify", Who("national"), lambda w: cascade_pb2.NotifyRequest(node_id="national"), PERMISSION_DENIED,
         note="hebei-has-no-peers"),
    # Sharing requests: a department acts and reads only for itself; an operator may read.
    Case(SHR + "SubmitRequest", Who("tool", "B"), submit(B), writes_for=B),
    Case(SHR + "SubmitRequest", Who("tool", "B"), submit(A), PERMISSION_DENIED, note="as-A"),
    Case(SHR + "SubmitRequest", Who("tool", "A-read"), submit(A), PERMISSION_DENIED, note="no-request-scope"),
    Case(SHR + "SubmitRequest", tool, submit(B), UNAUTHENTICATED),
    Case(SHR + "WithdrawRequest", Who("tool", "B"),
         lambda w: sharing_pb2.WithdrawRequestRequest(request_id=w.to_withdraw_request, consumer_code=B),
         writes_for=B),
    Case(SHR + "WithdrawRequest", Who("tool", "A"),
         lambda w: sharing_pb2.WithdrawRequestRequest(request_id=w.request.request_id, consumer_code=B),
         PERMISSION_DENIED, note="B's"),
    Case(SHR + "DecideRequest", Who("tool", "A"), decide(lambda w: w.to_decide, A), writes_for=A),
    Case(SHR + "DecideRequest", Who("tool", "B"), decide(lambda w: w.not_to_decide, A), PERMISSION_DENIED,
         note="as-A"),
    Case(SHR + "DecideRequest", Who("tool", "A-read"), decide(lambda w: w.not_to_decide, A), PERMISSION_DENIED,
         note="no-decide-scope"),
    Case(SHR + "DecideRequest", tool, decide(lambda w: w.not_to_decide, A), UNAUTHENTICATED),
    *[Case(SHR + "GetRequest", who, get_request) for who in
      (Who("tool", "B"), Who("tool", "A"), Who("operator"), Who("tool", "op"))],
    Case(SHR + "GetRequest", Who("tool", "C"), get_request, PERMISSION_DENIED, note="not-C's"),
    Case(SHR + "GetRequest", tool, get_request, UNAUTHENTICATED),
    Case(SHR + "GetRequest", Who("national"), get_request, UNAUTHENTICATED),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(consumer_code=B)),
    Case(SHR + "ListRequests", Who("tool", "A"), list_requests(owner_code=A)),
    Case(SHR + "ListRequests", Who("operator"), list_requests()),
    Case(SHR + "ListRequests", Who("tool", "op"), list_requests()),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(consumer_code=A), PERMISSION_DENIED, note="A's"),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(), PERMISSION_DENIED, note="naming-none"),
    Case(SHR + "ListRequests", Who("tool", "B"), list_requests(consumer_code=B, owner_code=A), PERMISSION_DENIED,
         note="and-A's"),
    Case(SHR + "ListRequests", Who("tool", "C"), list_requests(consumer_code=B), PERMISSION_DENIED, note="B's"),
    Case(SHR + "ListRequests", tool, list_requests(consumer_code=B), UNAUTHENTICATED),
    # The lifecycle: the owner extends, the consumer objects and resubmits, the data authority (B,
    # with a token carrying `review` and `coordinate`) reviews and coordinates.
    Case(SHR + "ExtendRequest", Who("tool", "A"), lambda w: sharing_pb2.ExtendRequestRequest(
        request_id=w.to_extend, department_code=A, reason="需核实"), writes_for=A),
    Case(SHR + "ExtendRequest", Who("tool", "B"), lambda w: sharing_pb2.ExtendRequestRequest(
        request_id=w.to_extend, department_code=A, reason="需核实"), PERMISSION_DENIED, note="as-A"),
    Case(SHR + "ObjectRequest", Who("tool", "B"), lambda w: sharing_pb2.ObjectRequestRequest(
        request_id=w.to_object, consumer_code=B, reason="依据充分"), writes_for=B),
    Case(SHR + "ObjectRequest", Who("tool", "A"), lambda w: sharing_pb2.ObjectRequestRequest(
        request_id=w.to_object, consumer_code=B, reason="依据充分"), PERMISSION_DENIED, note="as-B"),
    Case(SHR + "CoordinateRequest", Who("tool", "B-auth"), lambda w: sharing_pb2.CoordinateRequestRequest(
        request_id=w.to_coordinate, department_code=B, decision="share", reason="依据充分"), writes_for=B),
    Case(SHR + "CoordinateRequest", Who("tool", "B"), lambda w: sharing_pb2.CoordinateRequestRequest(
        request_id=w.to_coordinate, department_code=B, decision="share", reason="依据充分"), PERMISSION_DENIED,
         note="no-coordinate-scope"),
    Case(SHR + "CoordinateRequest", Who("tool", "A"), lambda w: sharing_pb2.CoordinateRequestRequest(
        request_id=w.to_coordinate, department_code=A, decision="share", reason="依据充分"), PERMISSION_DENIED,
         note="A-not-the-authority"),
    Case(SHR + "ReviewRequest", Who("tool", "B-auth"), lambda w: sharing_pb2.ReviewRequestRequest(
        request_id=w.to_review, department_code=B, decision="pass"), writes_for=B),
    Case(SHR + "ReviewRequest", Who("tool", "A"), lambda w: sharing_pb2.ReviewRequestRequest(
        request_id=w.to_review, department_code=B, decision="pass"), PERMISSION_DENIED, note="as-B"),
    Case(SHR + "ResubmitRequest", Who("tool", "B"), lambda w: sharing_pb2.ResubmitRequestRequest(
        request_id=w.to_resubmit, consumer_code=B, basis="《优化营商环境条例》第十条"), writes_for=B),
    Case(SHR + "ResubmitRequest", Who("tool", "A"), lambda w: sharing_pb2.ResubmitRequestRequest(
        request_id=w.to_resubmit, consumer_code=B, basis="x"), PERMISSION_DENIED, note="as-B"),
    Case(SHR + "ListRequests", Who("tool", "B-auth"), list_requests(authority_code=B, inbox="coordinate")),
    Case(SHR + "ListRequests", Who("tool", "A"), list_requests(authority_code=A, inbox="coordinate"),
         PERMISSION_DENIED, note="A-not-the-authority"),
    Case(SHR + "DeliverRequest", Who("national"),
         lambda w: sharing_pb2.DeliverRequestRequest(request=w.request, from_node="national")),
    *[Case(SHR + "DeliverRequest", who, lambda w: sharing_pb2.DeliverRequestRequest(request=w.request,
                                                                                    from_node="national"),
           PERMISSION_DENIED) for who in (Who("mps"), Who("hebei"), Who("tool", "A"))],
    # Corrections: a department files and reads its own, the owner answers; the hub delivers.
    Case(COR + "FileCorrection", Who("tool", "B"), file_correction(B), writes_for=B),
    Case(COR + "FileCorrection", Who("tool", "A"), file_correction(B), PERMISSION_DENIED, note="as-B"),
    Case(COR + "FileCorrection", tool, file_correction(B), UNAUTHENTICATED),
    Case(COR + "AnswerCorrection", Who("tool", "A"), lambda w: corrections_pb2.AnswerCorrectionRequest(
        correction_id=w.to_answer, department_code=A, outcome="corrected"), writes_for=A),
    Case(COR + "AnswerCorrection", Who("tool", "B"), lambda w: corrections_pb2.AnswerCorrectionRequest(
        correction_id=w.to_answer, department_code=A, outcome="corrected"), PERMISSION_DENIED, note="as-A"),
    *[Case(COR + "GetCorrection", Who("tool", name), get_correction(code)) for name, code in (("A", A), ("B", B))],
    Case(COR + "GetCorrection", Who("tool", "C"), get_correction(C), PERMISSION_DENIED, note="not-C's"),
    Case(COR + "GetCorrection", Who("tool", "C"), get_correction(A), PERMISSION_DENIED, note="as-A"),
    Case(COR + "GetCorrection", Who("operator"), get_correction(""), UNAUTHENTICATED),
    Case(COR + "ListCorrections", Who("tool", "B"), lambda w: corrections_pb2.ListCorrectionsRequest(filer_code=B)),
    Case(COR + "ListCorrections", Who("operator"), lambda w: corrections_pb2.ListCorrectionsRequest()),
    Case(COR + "ListCorrections", Who("tool", "B"), lambda w: corrections_pb2.ListCorrectionsRequest(owner_code=A),
         PERMISSION_DENIED, note="A's"),
    Case(COR + "DeliverCorrection", Who("national"), deliver_correction),
    *[Case(COR + "DeliverCorrection", who, deliver_correction, PERMISSION_DENIED)
      for who in (Who("hebei"), Who("tool", "A"))],
    # The operator's calls: an operator certificate, or an operator token.
    Case(ADM + "Status", Who("operator"), lambda w: admin_pb2.StatusRequest()),
    Case(ADM + "Status", Who("tool", "op"), lambda w: admin_pb2.StatusRequest()),
    *[Case(ADM + "Status", who, lambda w: admin_pb2.StatusRequest(), PERMISSION_DENIED)
      for who in (Who("tool", "A"), Who("national"), tool)],
    *[Case(ADM + method, who, request, at="hub")
      for method, request in (("SyncNow", lambda w: admin_pb2.SyncNowRequest(wait=True)),
                              ("Verify", lambda w: admin_pb2.VerifyRequest()))
      for who in (Who("operator"), Who("tool", "op"))],
    Case(ADM + "SyncNow", Who("hebei"), lambda w: admin_pb2.SyncNowRequest(wait=True), PERMISSION_DENIED, at="hub"),
    Case(ADM + "SyncNow", Who("tool", "A"), lambda w: admin_pb2.SyncNowRequest(), PERMISSION_DENIED),
    Case(ADM + "Verify", Who("mps"), lambda w: admin_pb2.VerifyRequest(), PERMISSION_DENIED, at="hub"),
    Case(ADM + "Verify", Who("tool", "B"), lambda w: admin_pb2.VerifyRequest(), PERMISSION_DENIED),
    # Health and reflection: any certificate of the federation that names a caller.
    *[Case(method, who, request) for method, request in FOR_ANYONE.items()
      for who in (tool, Who("mps"), Who("operator"))],
    *[Case(method, Who("nameless"), request, UNAUTHENTICATED) for method, request in FOR_ANYONE.items()],
    # The exchange: the consumer department at its own node, or a node relaying in its own name.
    Case(EXC + "FetchData", Who("tool", "B"), fetch(B)),
    Case(EXC + "FetchData", Who("tool", "A"), fetch(B), PERMISSION_DENIED, note="for-B"),
    Case(EXC + "FetchData", Who("tool", "op"), fetch(B), PERMISSION_DENIED, note="operator-token"),
    Case(EXC + "FetchData", tool, fetch(B), UNAUTHENTICATED),
    Case(EXC + "FetchData", Who("national"), fetch(B, from_node="national"), note="the-hub-relaying"),
    Case(EXC + "FetchData", Who("national"), fetch(B), PERMISSION_DENIED, note="the-hub-not-naming-itself"),
    Case(EXC + "FetchData", Who("mps"), fetch(B, from_node="mps"), PERMISSION_DENIED, note="not-its-hub"),
    Case(EXC + "FetchData", Who("mps"), fetch(B, from_node="mps"), PERMISSION_DENIED, at="hub", note="not-a-peer"),
    Case(EXC + "Query", Who("tool", "B"), query(B)),
    Case(EXC + "Query", Who("tool", "A"), query(B), PERMISSION_DENIED, note="for-B"),
    Case(EXC + "Query", tool, query(B), UNAUTHENTICATED),
    Case(EXC + "Query", Who("national"), query(B, from_node="national"), note="the-hub-relaying"),
    Case(EXC + "Query", Who("mps"), query(B, from_node="mps"), PERMISSION_DENIED, note="not-its-hub"),
    Case(EXC + "Verify", Who("tool", "B"), verify(B)),
    Case(EXC + "Verify", Who("tool", "A"), verify(B), PERMISSION_DENIED, note="for-B"),
    Case(EXC + "Verify", Who("national"), verify(B, from_node="national"), note="the-hub-relaying"),
    Case(EXC + "Verify", Who("national"), verify(B), PERMISSION_DENIED, note="the-hub-not-naming-itself"),
    Case(EXC + "ListCalls", Who("operator"), lambda w: exchange_pb2.ListCallsRequest()),
    Case(EXC + "ListCalls", Who("tool", "B"), lambda w: exchange_pb2.ListCallsRequest(), PERMISSION_DENIED),
    Case(EXC + "MountResource", Who("tool", "A"), mount_source(), writes_for=A),
    Case(EXC + "MountResource", Who("tool", "B"), mount_source(), PERMISSION_DENIED, note="for-A"),
    Case(EXC + "MountResource", Who("tool", "A-read"), mount_source(), PERMISSION_DENIED, note="no-publish-scope"),
    Case(EXC + "GetMount", Who("tool", "A"), get_mount),
    Case(EXC + "GetMount", Who("operator"), get_mount),
    Case(EXC + "GetMount", Who("tool", "B"), get_mount, PERMISSION_DENIED, note="for-A"),
    Case(EXC + "ListExchanges", Who("operator"), lambda w: exchange_pb2.ListExchangesRequest()),
    Case(EXC + "ListExchanges", Who("tool", "B"), lambda w: exchange_pb2.ListExchangesRequest(), PERMISSION_DENIED),
    # The registry of data elements: read by anyone with a token or a node's certificate, changed by the operator.
    Case(GOV + "GetElements", Who("tool", "B"), lambda w: governance_pb2.GetElementsRequest()),
    Case(GOV + "GetElements", Who("hebei"), lambda w: governance_pb2.GetElementsRequest(), at="hub"),
    Case(GOV + "GetElements", tool, lambda w: governance_pb2.GetElementsRequest(), UNAUTHENTICATED),
    Case(GOV + "PutElement", Who("operator"), put_element, at="hub"),
    Case(GOV + "PutElement", Who("tool", "B"), put_element, PERMISSION_DENIED),
    Case(GOV + "ListDuplicates", Who("tool", "B"), lambda w: governance_pb2.DuplicatesRequest()),
    Case(GOV + "ListDuplicates", tool, lambda w: governance_pb2.DuplicatesRequest(), UNAUTHENTICATED),
    Case(GOV + "CheckData", Who("tool", "A"), check_data, writes_for=A),
    Case(GOV + "CheckData", Who("tool", "B"), check_data, PERMISSION_DENIED, note="for-A"),
]


# grpcio-health-checking's servicer answers List with UNIMPLEMENTED: it has a rule, but nothing to allow.
NOT_IMPLEMENTED = {HEALTH + "List"}


def test_the_cases_try_every_rule_both_ways():
    allowed = {case.method for case in CASES if case.expect == OK}
    denied = {case.method for case in CASES if case.expect != OK}
    served_rules = [method for method in authz.RULES if method in SERVED and method not in NOT_IMPLEMENTED]
    assert not [m for m in served_rules if m not in allowed], "rules never tried with a caller they allow"
    assert not [m for m in served_rules if m not in denied], "rules never tried with a caller they refuse"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_rule_lets_in_whom_it_names_and_no_one_else(case, request, dial, world):
    site: Site = request.getfixturevalue(case.at)
    if case.at == "hub":  # let the hub finish the pulls it has started or been asked for (Notify)
        admin_pb2_grpc.AdminStub(dial.channel(site, Who("operator"))).SyncNow(admin_pb2.SyncNowRequest(wait=True),
                                                                             timeout=60)
    channel = dial.channel(site, case.who)
    before, since = site.state(), site.audit_seq()
    code, details = outcome(lambda: invoke(channel, case.method, case.request(world)))
    assert code == case.expect, f"{case}: {code.name}: {details}"
    if case.expect != OK:
        assert site.state() == before, "a refused call changed the catalog or the change log"
        assert denial_recorded(site, since, case.method, site.actor(case.who)), \
            f"no `denied` record naming {case.method} and {site.actor(case.who)}: {site.audit_since(since)}"
    elif case.writes_for:
        actor = f"{case.writes_for}@{case.who.cert}"
        assert any(r.outcome == "ok" and r.method == case.method and r.actor == actor
                   for r in site.audit_since(since)), f"no `ok` record by {actor}: {site.audit_since(since)}"


def test_a_refused_stream_stores_none_of_it(hebei, dial, world):
    """B's own entry came first in the stream that was refused: it is not in the catalog."""
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "B")))
    for code in (f"{B}/000113", f"{B}/000115", f"{A}/000101"):
        found, details = outcome(lambda: catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=code),
                                                          timeout=DEADLINE))
        assert found == grpc.StatusCode.NOT_FOUND, (code, found, details)
