"""A provincial platform (省级政务数据平台): publishes its region's catalog and tells the hub."""

from node.model import regions
from node.roles import Role

ROLE = Role(
    name="provincial",
    title="provincial platform",
    jobs=lambda jobs: [jobs.compactor, jobs.notifier],
    region_rule=lambda code: None if code == regions.province_of(code) else
    "must be a province-level code (ending in 0000) for a provincial node",
)
