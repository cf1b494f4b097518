"""The Governance service: the registry of data elements (read anywhere, changed by the operator
at the hub), the duplicate collections among the entries a node holds, and the format check of
an entry's mounted source at its own node."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from node import wire
from node.api.status_codes import rpc
from node.catalog.elements import ElementRegistry
from node.catalog.governance import Governance
from node.errors import FailedPrecondition, Invalid
from node.exchange import quality
from node.exchange.mounts import Mounts
from node.exchange.sources import SourceError
from node.proto import governance_pb2, governance_pb2_grpc


class GovernanceServicer(governance_pb2_grpc.GovernanceServicer):
    """`is_hub`: whether this node keeps the registry (elsewhere it is a copy taken from the hub)."""

    def __init__(self, registry: ElementRegistry, governance: Governance, mounts: Mounts, is_hub: bool,
                 clock: Callable[[], datetime]):
        self.registry = registry
        self.governance = governance
        self.mounts = mounts
        self.is_hub = is_hub
        self.clock = clock

    @rpc
    def GetElements(self, request, context):
        registry = self.registry.current()
        return wire.registry_to_proto(registry, with_elements=registry.version > request.known_version)

    @rpc
    def PutElement(self, request, context):
        if not self.is_hub:
            raise FailedPrecondition("not_a_hub", "the registry of data elements is kept at the national hub; "
                                                  "other nodes take it from there")
        if not request.HasField("element"):
            raise Invalid("element", "is required")
        return wire.registry_to_proto(self.registry.add(wire.element_from_proto(request.element)))

    @rpc
    def ListDuplicates(self, request, context):
        found = self.governance.duplicates(request.provider_code, request.resource_code)
        reply = governance_pb2.DuplicatesResponse(registry_version=self.registry.version())
        for duplicate in found:
            wire.duplicate_to_proto(duplicate, reply.duplicates.add())
        return reply

    @rpc
    def CheckData(self, request, context):
        entry = self.governance.own_entry(request.resource_code)
        mount = self.mounts.get(entry.resource_code)
        if mount is None:
            raise FailedPrecondition("not_mounted", f"resource_code: no source is mounted on {entry.resource_code} "
                                                    "(cascade data mount)")
        try:
            source = self.mounts.open(mount)
            try:
                measured = quality.check_source(source, mount, self.governance.rule_items(entry), self.clock())
            finally:
                source.close()
        except SourceError as exc:
            raise FailedPrecondition("source", f"resource_code: the source of {entry.resource_code} "
                                               f"cannot be read: {exc}") from None
        stored = self.governance.set_quality(entry.resource_code, measured)
        return governance_pb2.CheckDataResponse(entry=wire.entry_to_proto(stored))
