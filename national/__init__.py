"""The national hub (国家政务大数据平台): pulls every provincial and ministry node on a schedule,
routes sharing requests between them, and answers nation-wide search."""

from node.catalog import regions
from node.roles import Role

ROLE = Role(
    name="national",
    title="national hub",
    jobs=lambda node: [node.compactor, node.scheduler, node.courier],
    region_rule=lambda code: None if code == regions.CENTRAL else f"must be {regions.CENTRAL} (central) for the national hub",
    pulls_peers=True,
)
