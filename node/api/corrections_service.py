"""The Corrections service: correction notices filed, read and answered at this node, and
DeliverCorrection, by which the hub hands a node a correction version."""

from __future__ import annotations

from node import wire
from node.api.status_codes import rpc
from node.errors import InvalidRequest
from node.model.correction import Correction
from node.proto import corrections_pb2, corrections_pb2_grpc
from node.sharing.corrections import Corrections


class CorrectionsServicer(corrections_pb2_grpc.CorrectionsServicer):
    def __init__(self, corrections: Corrections, max_page_size: int):
        self.corrections = corrections
        self.max_page_size = max_page_size

    def _reply(self, correction: Correction, department_code: str = "") -> corrections_pb2.Correction:
        return wire.correction_to_proto(correction, overdue=self.corrections.overdue(correction),
                                        at_node=self.corrections.node_id,
                                        key=self.corrections.key(correction, department_code))

    @rpc
    def FileCorrection(self, request, context):
        return self._reply(self.corrections.file(request.filer_code, request.resource_code, list(request.data_items),
                                                 dict(request.key), request.kind, request.evidence))

    @rpc
    def AnswerCorrection(self, request, context):
        answered = self.corrections.answer(request.correction_id, request.department_code, request.outcome,
                                           request.reason)
        return self._reply(answered, request.department_code)

    @rpc
    def GetCorrection(self, request, context):
        return self._reply(self.corrections.get(request.correction_id), request.department_code)

    @rpc
    def ListCorrections(self, request, context):
        found, token = self.corrections.list(request.filer_code, request.owner_code, request.state,
                                             request.overdue_only, request.page_size, request.page_token,
                                             self.max_page_size)
        reply = corrections_pb2.ListCorrectionsResponse(next_page_token=token)
        for item in found:
            reply.corrections.append(self._reply(item))
        return reply

    @rpc
    def DeliverCorrection(self, request, context):
        if not request.HasField("correction"):
            raise InvalidRequest("correction", "is required")
        applied, version, _ = self.corrections.receive(wire.correction_from_proto(request.correction),
                                                       request.from_node)
        return corrections_pb2.DeliverCorrectionResponse(applied=applied, version=version)
