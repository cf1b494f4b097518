"""Every service a node serves, registered on its gRPC server in one place."""

from __future__ import annotations

import grpc

from node.api import catalog_service, exchange_service
from node.api.admin_service import AdminServicer
from node.api.cascade_service import CascadeServicer
from node.api.catalog_service import CatalogServicer
from node.api.corrections_service import CorrectionsServicer
from node.api.exchange_service import ExchangeServicer
from node.api.governance_service import GovernanceServicer
from node.api.sharing_service import SharingServicer
from node.proto import (admin_pb2, admin_pb2_grpc, cascade_pb2, cascade_pb2_grpc, catalog_pb2,
                        corrections_pb2, corrections_pb2_grpc, exchange_pb2, governance_pb2, governance_pb2_grpc, sharing_pb2, sharing_pb2_grpc)

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
    catalog_service.add_to_server(catalog, server)
    sharing_pb2_grpc.add_SharingServicer_to_server(sharing, server)
    cascade_pb2_grpc.add_CascadeServicer_to_server(cascade, server)
    admin_pb2_grpc.add_AdminServicer_to_server(admin, server)
    exchange_service.add_to_server(exchange, server)
    governance_pb2_grpc.add_GovernanceServicer_to_server(governance, server)
    corrections_pb2_grpc.add_CorrectionsServicer_to_server(corrections, server)
    return [service.full_name for service in SERVICES]
