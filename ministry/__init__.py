"""A ministry platform (国务院部门政务数据平台): publishes its sector's catalog and tells the hub."""

from node.store.compactor import Compactor
from node.source.uplink import HubNotifier
from node.roles import Role

ROLE = Role(
    name="ministry",
    title="ministry platform",
    jobs=lambda node: [Compactor(node), HubNotifier(node)],
)
