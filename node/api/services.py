"""Every service a node serves, registered on its gRPC server in one place."""

from __future__ import annotations

import grpc

from node.api import handlers
from node.api.admin_service import AdminServicer
from node.api.cascade_service import CascadeServicer
from node.api.catalog_service import CatalogServicer
from node.api.corrections_service import CorrectionsServicer
from node.api.exchange_service import ExchangeServicer
from node.api.governance_service import GovernanceServicer
from node.api.sharing_service import SharingServicer
from node.proto import admin_pb2, cascade_pb2, catalog_pb2, corrections_pb2, exchange_pb2, governance_pb2, sharing_pb2

SERVICES = (
    catalog_pb2.DESCRIPTOR.services_by_name["Catalog"],
    cascade_pb2.DESCRIPTOR.services_by_name["Cascade"],
    admin_pb2.DESCRIPTOR.services_by_name["Admin"],
    sharing_pb2.DESCRIPTOR.services_by_name["Sharing"],
    exchange_pb2.DESCRIPTOR.services_by_name["Exchange"],
    governance_pb2.DESCRIPTOR.services_by_name["Governance"],
    corrections_pb2.DESCRIPTOR.services_by_name["Corrections"],
)


def add_to_server(server: grpc.Server, *, catalog: CatalogServicer, sharing: SharingServicer,
                  cascade: CascadeServicer, admin: AdminServicer, exchange: ExchangeServicer,
                  governance: GovernanceServicer, corrections: CorrectionsServicer) -> list[str]:
    """Registers the node's servicers; returns the full service names."""
    for service, servicer in zip(SERVICES, (catalog, cascade, admin, sharing, exchange, governance, corrections)):
        handlers.add(server, service, servicer)
    return [service.full_name for service in SERVICES]
