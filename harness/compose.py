"""The compose file: a whole federation (hub, provincial and ministry nodes) in one YAML file.

    name: federation-small
    secure: true                         # mutual TLS and department tokens (the default)
    portal: true                         # also serve the web portal in front of the hub
    defaults: {interval: 2, notify: true, review: false}   # review: member nodes' requests wait for
                                                           # their data authority's conformity review
    hub:
      id: national
      departments: [{code: "100000001", name: 国家数据局}]     # data authority: the national data administration
      sync: {max_concurrent: 8}
    nodes:
      - id: hebei
        role: provincial
        region_code: "130000"
        departments: [{code: "130000001", name: 河北省公安厅}, {code: "130000008", name: 河北省政务服务和数据管理局}]
        data_authority: "130000008"      # optional: else the node's own 数据局 (data_authority_of)
        interval: 2                      # optional, else defaults.interval
        link: {delay_ms: 0}              # optional fault on the hub's link at start
    seed: {entries_per_department: 20}

Each node's config names its data authority (数据主管部门, docs/sharing.md): the `data_authority`
given, else `data_authority_of` picks it from the node's departments.

Validated like a node config: errors name the file, the key path and the rule.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any

from node import config as node_config
from node.config_rules import Reader, is_boolean, is_node_id, is_number, is_region, is_text, read_yaml
from node.errors import ConfigError

LINK_KEYS = {"delay_ms", "partitioned", "drop_after_bytes"}


@dataclasses.dataclass(frozen=True)
class Link:
    delay_ms: int = 0
    partitioned: bool = False
    drop_after_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    id: str
    role: str
    region_code: str
    departments: tuple[tuple[str, str], ...]
    interval: float
    link: Link = Link()
    name: str = ""
    data_authority: str = ""  # the department code of the node's data authority, "" for none


@dataclasses.dataclass(frozen=True)
class Compose:
    source: str
    name: str
    hub: NodeSpec
    nodes: tuple[NodeSpec, ...]
    notify: bool = True
    sync: dict = dataclasses.field(default_factory=dict)
    change_log_keep: int = 0
    default_daily_quota: int = 0  # each node's sharing.default_daily_quota (unconditional grants)
    entries_per_department: int = 20
    secure: bool = True
    portal: bool = False
    review: bool = False  # member nodes turn `sharing.review` on
    crosschecks: dict | None = None  # the hub's `crosschecks:` (node/crosschecks.py), as written

    def node(self, node_id: str) -> NodeSpec:
        for spec in (self.hub, *self.nodes):
            if spec.id == node_id:
                return spec
        raise KeyError(node_id)

    @property
    def all(self) -> tuple[NodeSpec, ...]:
        return (self.hub, *self.nodes)


def load(path: str | pathlib.Path) -> Compose:
    return parse(read_yaml(path), str(path))


# A department whose name says it is the region's data administration: 国家数据局, 河北省政务服务和
# 数据管理局, 衡水市数据和政务服务局, 贵州省大数据发展管理局.
AUTHORITY_NAME = re.compile(r"数据局$|数据管理局$|数据和政务服务局$|大数据.*局$")


def data_authority_of(role: str, region_code: str, departments: tuple[tuple[str, str], ...]) -> str:
    """The data authority a node gets when its compose entry names none: the data administration
    of the node's own region (a province's, not one of its cities'), else any of the node's; at a
    ministry, which has no such bureau, the ministry itself (its first department); else none."""
    named = [code for code, name in departments if AUTHORITY_NAME.search(name)]
    own = [code for code in named if code[:6] == region_code]
    if own or named:
        return (own or named)[0]
    return departments[0][0] if role == "ministry" and departments else ""


def _authority(r: Reader, item: dict, path: str, role: str, region_code: str,
               departments: tuple[tuple[str, str], ...]) -> str:
    given = r.get(item, path, "data_authority", is_text(), "")
    if given and given not in {code for code, _ in departments}:
        r.fail(f"{path}.data_authority", f"must be one of the node's departments (got {given})")
    return given or data_authority_of(role, region_code, departments)


def _departments(r: Reader, items: Any, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list) or not items:
        r.fail(path, "must be a non-empty list of {code, name}")
    out = []
    for i, item in enumerate(items):
        item = r.mapping(item, f"{path}[{i}]", {"code", "name"})
        out.append((r.get(item, f"{path}[{i}]", "code", is_text()), r.get(item, f"{path}[{i}]", "name", is_text())))
    return tuple(out)


def parse(data: Any, file: str = "<compose>") -> Compose:
    r = Reader(file)
    top = r.mapping(data, "", {"name", "secure", "portal", "defaults", "hub", "nodes", "seed"})
    defaults = r.mapping(top.get("defaults") or {}, "defaults", {"interval", "notify", "sync", "change_log_keep",
                                                                      "review", "default_daily_quota"})
    interval = float(r.get(defaults, "defaults", "interval", is_number(0.05, 86400), 5.0))
    hub = r.mapping(r.get(top, "", "hub", lambda v: None), "hub", {"id", "name", "departments", "sync", "data_authority",
                                                                   "crosschecks"})
    hub_departments = _departments(r, hub.get("departments") or [], "hub.departments") if hub.get("departments") else ()
    hub_spec = NodeSpec(
        id=r.get(hub, "hub", "id", is_node_id), role="national", region_code="100000",
        departments=hub_departments, interval=interval, name=r.get(hub, "hub", "name", is_text(), ""),
        data_authority=_authority(r, hub, "hub", "national", "100000", hub_departments),
    )
    nodes = []
    raw_nodes = r.get(top, "", "nodes", lambda v: None if isinstance(v, list) and v else "must be a non-empty list")
    for i, item in enumerate(raw_nodes):
        path = f"nodes[{i}]"
        item = r.mapping(item, path, {"id", "role", "region_code", "departments", "interval", "link", "name",
                                           "data_authority"})
        link = r.mapping(item.get("link") or {}, f"{path}.link", LINK_KEYS)
        role = r.get(item, path, "role", lambda v: None if v in ("provincial", "ministry") else "must be provincial or ministry")
        region_code = r.get(item, path, "region_code", is_region)
        departments = _departments(r, item.get("departments"), f"{path}.departments")
        spec = NodeSpec(
            id=r.get(item, path, "id", is_node_id), role=role, region_code=region_code, departments=departments,
            data_authority=_authority(r, item, path, role, region_code, departments),
            interval=float(r.get(item, path, "interval", is_number(0.05, 86400), interval)),
            link=Link(
                delay_ms=r.get(link, f"{path}.link", "delay_ms", is_number(0, 600_000, True), 0),
                partitioned=r.get(link, f"{path}.link", "partitioned", is_boolean, False),
                drop_after_bytes=r.get(link, f"{path}.link", "drop_after_bytes", is_number(0, 10**12, True), 0),
            ),
            name=r.get(item, path, "name", is_text(), ""),
        )
        if any(n.id == spec.id for n in [hub_spec, *nodes]):
            r.fail(f"{path}.id", f"repeats {spec.id}")
        nodes.append(spec)
    seed = r.mapping(top.get("seed") or {}, "seed", {"entries_per_department"})
    compose = Compose(
        source=file, name=r.get(top, "", "name", is_node_id), hub=hub_spec, nodes=tuple(nodes),
        notify=r.get(defaults, "defaults", "notify", is_boolean, True),
        sync=r.mapping(defaults.get("sync") or hub.get("sync") or {}, "defaults.sync",
                       {f.name for f in dataclasses.fields(node_config.SyncSettings)}),
        change_log_keep=r.get(defaults, "defaults", "change_log_keep", is_number(0, 10**12, True), 0),
        default_daily_quota=r.get(defaults, "defaults", "default_daily_quota", is_number(0, 10**9, True), 0),
        entries_per_department=r.get(seed, "seed", "entries_per_department", is_number(0, 1_000_000, True), 20),
        secure=r.get(top, "", "secure", is_boolean, True),
        portal=r.get(top, "", "portal", is_boolean, False),
        review=r.get(defaults, "defaults", "review", is_boolean, False),
        crosschecks=hub.get("crosschecks"),  # checked with the hub's own config below
    )
    if compose.review and (without := [n.id for n in compose.nodes if not n.data_authority]):
        r.fail("defaults.review", f"needs a data authority at every member node: none at {', '.join(without)} "
                                  "(name one with `data_authority`)")
    # Every node's own config must be valid too: build each once, naming the node on error.
    for spec in compose.all:
        try:
            node_config.parse(node_yaml(compose, spec, "127.0.0.1:1", {n.id: "127.0.0.1:1" for n in compose.nodes}, "x.db"),
                              f"{file} (node {spec.id})")
        except ConfigError as exc:
            raise ConfigError(file, f"node {spec.id}: {exc.key}", exc.rule) from None
    return compose


def department_sources(database: str | pathlib.Path, department: str) -> pathlib.Path:
    """The directory of one department's sources, beside the node's database: its own, so that
    no department of the node mounts another's."""
    return pathlib.Path(database).parent / "sources" / department


def node_yaml(compose: Compose, spec: NodeSpec, listen: str, peer_addresses: dict[str, str], database: str,
              hub_address: str | None = None, tls: dict | None = None) -> dict:
    """The node config of one member of the federation, as a mapping ready for YAML; with `tls`
    (the node's certificate files) it speaks mutual TLS, else plaintext."""
    data: dict = {
        "node": {"id": spec.id, "role": spec.role, "region_code": spec.region_code},
        "listen": listen,
        "database": database,
        "departments": [{"code": code, "name": name} for code, name in spec.departments],
        "log": {"level": "info", "format": "json"},
        "metrics": {"listen": "127.0.0.1:0"},  # the harness reads the bound port back (--metrics-port-file)
    }
    if tls:
        data["tls"] = tls
    else:
        data["insecure"] = True
    # A federation on one machine, to try and to test: past the years the official calendar
    # covers it counts Monday to Friday, so that it files requests on any day; a real node
    # refuses them instead (docs/calendar.md).
    data["sharing"] = {"beyond_calendar": "weekdays"}
    # Where the harness writes each department's synthetic data (harness/clients.py mount_data):
    # a directory of its own, which only that department may mount.
    data["resources"] = {"allow": {code: [str(department_sources(database, code))] for code, _ in spec.departments}}
    if spec.data_authority:
        data["data_authority"] = spec.data_authority
        # a member node's departments' requests wait for its review; the hub files none of its own to review
        if compose.review and spec.role != "national":
            data["sharing"]["review"] = True
    if spec.name:
        data["node"]["name"] = spec.name
    if compose.change_log_keep:
        data["change_log"] = {"keep": compose.change_log_keep, "compact_every": 30}
    if compose.default_daily_quota:
        data["sharing"] = {"default_daily_quota": compose.default_daily_quota}
    if spec.role == "national":
        data["peers"] = [
            {"id": n.id, "role": n.role, "address": peer_addresses[n.id], "region_code": n.region_code,
             "interval": n.interval, **({"name": n.name} if n.name else {})}
            for n in compose.nodes
        ]
        if compose.sync:
            data["sync"] = dict(compose.sync)
        if compose.crosschecks:
            data["crosschecks"] = compose.crosschecks
    elif hub_address:
        data["hub"] = {"address": hub_address, "notify": compose.notify, "id": compose.hub.id}
    return data
