"""A provincial platform (省级政务数据平台): publishes its region's catalog and tells the hub."""

from node.store.compactor import Compactor
from node.source.uplink import HubNotifier
from node.roles import Role

ROLE = Role(
    name="provincial",
    title="provincial platform",
    jobs=lambda node: [Compactor(node), HubNotifier(node)],
)
