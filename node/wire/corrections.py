"""Correction notices (protos/node/proto/corrections.proto) to and from their plain data
(node/model/correction.py): part of the one codec, node/wire."""

from __future__ import annotations

from node.errors import InvalidRequest
from node.model import correction as corrections
from node.model.correction import Correction
from node.model.request import Event
from node.proto import corrections_pb2
from node.wire import moment, timestamp


def correction_to_proto(correction: Correction, message: corrections_pb2.Correction | None = None, *,
                        overdue: bool = False, at_node: str = "",
                        key: dict[str, str] | None = None) -> corrections_pb2.Correction:
    msg = corrections_pb2.Correction() if message is None else message
    for name in ("correction_id", "filer_code", "filer_node", "resource_code", "owner_code", "owner_node", "kind",
                 "evidence", "sealed_key", "state", "reason", "version", "deadline", "signer", "signature",
                 "signer_cert"):
        setattr(msg, name, getattr(correction, name))
    msg.data_items.extend(correction.data_items)
    msg.key_items.extend(correction.key_items)
    timestamp(correction.created_at, msg.created_at)
    timestamp(correction.updated_at, msg.updated_at)
    msg.overdue, msg.at_node = overdue, at_node
    msg.key.update(key or {})
    for event in correction.history:
        msg.history.add(version=event.version, state=event.state, actor=event.actor, at=timestamp(event.at),
                        note=event.note)
    return msg


def correction_from_proto(msg: corrections_pb2.Correction) -> Correction:
    """A correction copy from another node; InvalidRequest names the first field that cannot be one.
    A key in clear is never taken from the wire: a copy carries only the sealed key."""
    if msg.state not in corrections.STATES:
        raise InvalidRequest("correction.state", f"must be one of {', '.join(corrections.STATES)}")
    for field in ("correction_id", "filer_code", "filer_node", "resource_code", "owner_code", "owner_node"):
        if not getattr(msg, field):
            raise InvalidRequest(f"correction.{field}", "is required")
    if msg.version < 1:
        raise InvalidRequest("correction.version", "must be at least 1")
    if msg.key:
        raise InvalidRequest("correction.key", "a copy between nodes carries only the sealed key")
    return Correction(
        correction_id=msg.correction_id, filer_code=msg.filer_code, filer_node=msg.filer_node,
        resource_code=msg.resource_code, owner_code=msg.owner_code, owner_node=msg.owner_node,
        data_items=tuple(msg.data_items), kind=msg.kind, evidence=msg.evidence, key_items=tuple(msg.key_items),
        sealed_key=msg.sealed_key, state=msg.state, reason=msg.reason, version=msg.version,
        created_at=moment(msg.created_at), updated_at=moment(msg.updated_at), deadline=msg.deadline,
        history=tuple(Event(e.version, e.state, e.actor, moment(e.at), e.note) for e in msg.history),
        signer=msg.signer, signature=msg.signature, signer_cert=msg.signer_cert)
