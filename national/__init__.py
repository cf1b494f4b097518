"""The national hub (国家政务大数据平台): pulls every provincial and ministry node on a schedule."""

from node.hub.courier import Courier
from node.store.compactor import Compactor
from node.roles import Role
from node.hub.scheduler import Hub

ROLE = Role(
    name="national",
    title="national hub",
    jobs=lambda node: [Compactor(node), Hub(node), Courier(node)],
    is_hub=True,
)
