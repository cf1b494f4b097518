"""The hub's cross-source checks (多源校核) as its config names them (`crosschecks:`), validated
into frozen dataclasses: per check, the element compared, the key it is compared by, the
authoritative resource, the copies, the sample, the schedule and the day's quota. The job that
runs them is node/hub/crosscheck.py; docs/governance.md says how to set one up."""

from __future__ import annotations

import dataclasses
from typing import Any

from node.config_rules import Reader, is_list, is_number, is_text
from node.model import rules


@dataclasses.dataclass(frozen=True)
class CrossCheck:
    name: str
    element: str  # the data item compared, e.g. 姓名
    key: str  # the data item records are matched by, e.g. 公民身份号码
    authority: str  # the authoritative resource's code
    copies: tuple[str, ...]  # the resources checked against it
    sample: int = 1000  # records of each copy checked a run
    every: float = 86400.0  # seconds between runs
    quota: int = 0  # records checked a Beijing day, all copies together; 0 = no limit


@dataclasses.dataclass(frozen=True)
class CrossChecks:
    department: str  # the hub's department (the data authority) that holds the grants the checks use
    checks: tuple[CrossCheck, ...] = ()


def _code(value: Any) -> str | None:
    return None if isinstance(value, str) and rules.RESOURCE_CODE.match(value) else rules.RESOURCE_CODE_RULE


def parse_crosschecks(r: Reader, data: Any, departments: set[str], hub: bool) -> CrossChecks | None:
    if data is None:
        return None
    if not hub:
        r.fail("crosschecks", "only a hub (a node that pulls peers) runs cross-source checks")
    top = r.mapping(data, "crosschecks", {"department", "checks"})
    department = r.get(top, "crosschecks", "department", is_text())
    if department not in departments:
        r.fail("crosschecks.department", f"must be one of this node's departments ({', '.join(sorted(departments))})")
    checks, names = [], set()
    for i, raw in enumerate(r.get(top, "crosschecks", "checks", is_list)):
        path = f"crosschecks.checks[{i}]"
        c = r.mapping(raw, path, {f.name for f in dataclasses.fields(CrossCheck)})
        copies = r.get(c, path, "copies", is_list)
        for j, code in enumerate(copies):
            if _code(code):
                r.fail(f"{path}.copies[{j}]", rules.RESOURCE_CODE_RULE)
        check = CrossCheck(
            name=r.get(c, path, "name", is_text()), element=r.get(c, path, "element", is_text()),
            key=r.get(c, path, "key", is_text()), authority=r.get(c, path, "authority", _code),
            copies=tuple(copies), sample=r.get(c, path, "sample", is_number(1, 1_000_000, True), CrossCheck.sample),
            every=float(r.get(c, path, "every", is_number(0.1, 365 * 86400), CrossCheck.every)),
            quota=r.get(c, path, "quota", is_number(0, 10**9, True), CrossCheck.quota))
        if check.name in names:
            r.fail(f"{path}.name", f"{check.name!r} names another check too")
        if check.authority in check.copies:
            r.fail(f"{path}.copies", "must not name the authoritative resource")
        if not copies:
            r.fail(f"{path}.copies", "must name at least one copy")
        names.add(check.name)
        checks.append(check)
    return CrossChecks(department, tuple(checks))
