"""Every service a node serves, registered on its gRPC server in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc

from node.api.admin import AdminServicer
from node.api.cascade import CascadeServicer
from node.api.catalog import CatalogServicer
from node.api import exchange
from node.api.sharing import SharingServicer
from node.proto import (admin_pb2, admin_pb2_grpc, cascade_pb2, cascade_pb2_grpc, catalog_pb2, catalog_pb2_grpc,
                        exchange_pb2, sharing_pb2, sharing_pb2_grpc)

if TYPE_CHECKING:
    from node.server import Node

SERVICES = (
    catalog_pb2.DESCRIPTOR.services_by_name["Catalog"],
    cascade_pb2.DESCRIPTOR.services_by_name["Cascade"],
    admin_pb2.DESCRIPTOR.services_by_name["Admin"],
    sharing_pb2.DESCRIPTOR.services_by_name["Sharing"],
    exchange_pb2.DESCRIPTOR.services_by_name["Exchange"],
)


def add_to_server(server: grpc.Server, node: "Node") -> list[str]:
    """Registers every servicer of a node; returns the full service names."""
    catalog_pb2_grpc.add_CatalogServicer_to_server(CatalogServicer(node.catalog, node.workers), server)
    sharing_pb2_grpc.add_SharingServicer_to_server(SharingServicer(node.sharing, node.config.limits.max_page_size), server)
    cascade_pb2_grpc.add_CascadeServicer_to_server(CascadeServicer(node.store, node.notified), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(node), server)
    exchange.add_to_server(exchange.ExchangeServicer(node.exchange, node.mounts), server)
    return [service.full_name for service in SERVICES]
