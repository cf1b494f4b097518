"""The Sharing service: sharing requests filed, read, decided and withdrawn at this node, the
lifecycle's steps (review, resubmission, extension, objection, coordination), and
DeliverRequest, by which the hub hands a node a request version."""

from __future__ import annotations

from node import wire
from node.api.status_codes import rpc
from node.errors import InvalidRequest
from node.proto import sharing_pb2, sharing_pb2_grpc
from node.model.request import Request
from node.sharing.fields import Scope
from node.sharing.workflow import Sharing


class SharingServicer(sharing_pb2_grpc.SharingServicer):
    def __init__(self, sharing: Sharing, max_page_size: int):
        self.sharing = sharing
        self.max_page_size = max_page_size

    def _reply(self, request: Request) -> sharing_pb2.SharingRequest:
        return wire.request_to_proto(request, overdue=self.sharing.overdue(request), at_node=self.sharing.node_id,
                                     escalated=self.sharing.escalated(request),
                                     authority_code=self.sharing.authority.code)

    @rpc
    def SubmitRequest(self, request, context):
        return self._reply(self.sharing.submit(request.consumer_code, request.resource_code, request.purpose,
                                               request.basis, list(request.data_items), list(request.modes)))

    @rpc
    def GetRequest(self, request, context):
        return self._reply(self.sharing.get(request.request_id))

    @rpc
    def ListRequests(self, request, context):
        found, token = self.sharing.list(request.consumer_code, request.owner_code, request.state,
                                         request.overdue_only, request.page_size, request.page_token,
                                         self.max_page_size, request.authority_code, request.inbox)
        reply = sharing_pb2.ListRequestsResponse(next_page_token=token)
        for item in found:
            reply.requests.append(self._reply(item))
        return reply

    @rpc
    def DecideRequest(self, request, context):
        return self._reply(self.sharing.decide(request.request_id, request.department_code, request.approve,
                                               request.reason, (request.row_filter.column, request.row_filter.prefix),
                                               request.valid_until, list(request.modes), request.daily_quota,
                                               request.rate, list(request.plain), list(request.items)))

    @rpc
    def WithdrawRequest(self, request, context):
        return self._reply(self.sharing.withdraw(request.request_id, request.consumer_code, request.reason))

    @rpc
    def ReviewRequest(self, request, context):
        passed = _decision(request.decision, {"pass": True, "return": False})
        return self._reply(self.sharing.review(request.request_id, request.department_code, passed, request.reason))

    @rpc
    def ResubmitRequest(self, request, context):
        return self._reply(self.sharing.resubmit(request.request_id, request.consumer_code, request.purpose,
                                                 request.basis, list(request.data_items)))

    @rpc
    def ExtendRequest(self, request, context):
        return self._reply(self.sharing.extend(request.request_id, request.department_code, request.reason))

    @rpc
    def ObjectRequest(self, request, context):
        return self._reply(self.sharing.object(request.request_id, request.consumer_code, request.reason))

    @rpc
    def CoordinateRequest(self, request, context):
        scope = Scope((request.row_filter.column, request.row_filter.prefix), request.valid_until,
                      tuple(request.modes), request.daily_quota, request.rate, items=tuple(request.items))
        share = _decision(request.decision, {"share": True, "uphold": False})
        return self._reply(self.sharing.coordinate(request.request_id, request.department_code, share,
                                                   request.reason, scope))

    @rpc
    def DeliverRequest(self, request, context):
        if not request.HasField("request"):
            raise InvalidRequest("request", "is required")
        # A refused version (forged, or unsigned at a secure node) is answered `applied: false`, not
        # with an error: the sender would only retry it, and the refusal is on the audit trail.
        applied, version, _ = self.sharing.receive(wire.request_from_proto(request.request), request.from_node)
        return sharing_pb2.DeliverRequestResponse(applied=applied, version=version)


def _decision(value: str, choices: dict[str, bool]) -> bool:
    if value not in choices:
        raise InvalidRequest("decision", f"must be one of {', '.join(choices)}")
    return choices[value]
