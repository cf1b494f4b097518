"""The national hub (国家政务大数据平台): pulls every provincial and ministry node on a schedule,
routes sharing requests between them, and answers nation-wide search."""

from node.model import regions
from node.roles import Role

ROLE = Role(
    name="national",
    title="national hub",
    jobs=lambda jobs: [jobs.compactor, jobs.scheduler, jobs.courier],
    region_rule=lambda code: None if code == regions.CENTRAL else f"must be {regions.CENTRAL} (central) for the national hub",
    pulls_peers=True,
)
