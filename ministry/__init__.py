"""A ministry platform (国务院部门政务数据平台): one State Council department's sector catalog,
published under the central region code and pulled by the hub like a province."""

from node.model import regions
from node.roles import Role

ROLE = Role(
    name="ministry",
    title="ministry platform",
    jobs=lambda jobs: [jobs.compactor, jobs.notifier],
    region_rule=lambda code: None if code == regions.CENTRAL else f"must be {regions.CENTRAL} (central) for a ministry node",
)
