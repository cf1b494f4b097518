"""Node configuration: YAML validated into frozen dataclasses; every default lives here.

An unknown key, a missing key or a bad value stops start-up with a ConfigError that names the
file, the key path and the rule.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from typing import Any

from node import roles
from node.model import regions
from node.config_rules import (Reader, is_address, is_auto_or, is_boolean, is_choice, is_file_at, is_list, is_node_id,
                               is_number, is_region, is_text, data_authority, lifecycle_settings, official_calendar,
                               read_yaml)
from node.errors import ConfigError
from node.model.rules import PROVIDER_CODE
from node.config_resources import Resources, parse_resources
from node.crosschecks import CrossChecks, parse_crosschecks
from node.model.calendar import OFFICIAL, Calendar
from node.model.lifecycle import LIFECYCLE_KEYS, Lifecycle


@dataclasses.dataclass(frozen=True)
class Department:
    code: str
    name: str


@dataclasses.dataclass(frozen=True)
class Peer:
    id: str
    role: str
    address: str
    region_code: str
    interval: float = 30.0
    name: str = ""  # display name, e.g. 河北省政务数据平台 (the portal shows it)


@dataclasses.dataclass(frozen=True)
class SyncSettings:
    max_concurrent: int = 8
    jitter: float = 0.1
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    call_deadline: float = 120.0
    batch_size: int = 1000


@dataclasses.dataclass(frozen=True)
class Tls:
    """The node's certificate and key, and the federation CA that every caller's certificate
    must come from (mutual TLS)."""

    cert: str
    key: str
    ca: str


@dataclasses.dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 4 * 1024 * 1024
    max_page_size: int = 1000
    # Calls one identity may have under way at once; more get RESOURCE_EXHAUSTED.
    max_calls_per_caller: int = 16
    # Query and Verify calls one identity may have under way at once (their own budget).
    max_keyed_calls_per_caller: int = 48
    # Data fetches of one consumer department under way through this node, whoever relays them.
    max_fetches_per_department: int = 4
    # Bytes of entries one PublishEntries call may carry; the call is refused once past it.
    max_publish_bytes: int = 64 * 1024 * 1024
    # A stream that sends or takes nothing for this long is cancelled.
    idle_stream_seconds: float = 30.0
    # The same refusal (caller, method, reason) is recorded once per this many seconds, with a count.
    denial_fold_seconds: float = 10.0
    # Days the hourly counts of query and verify calls are kept (node/exchange/usage.py).
    call_retention_days: int = 90


@dataclasses.dataclass(frozen=True)
class Uplink:
    """A provincial or ministry node's link to its hub (the `hub:` block): where to send Notify
    and look up entries held elsewhere."""

    address: str
    notify: bool = True
    id: str = "national"  # the hub's node id: the only certificate allowed to pull this node


@dataclasses.dataclass(frozen=True)
class MetricsSettings:
    """Where the node serves Prometheus metrics over plain HTTP (the `metrics:` block)."""

    listen: str


@dataclasses.dataclass(frozen=True)
class Config:
    source: str
    node_id: str
    role: str
    region_code: str
    listen: str
    database: str
    name: str = ""
    data_authority: str = ""  # the department code of the node's data authority (数据主管部门)
    departments: tuple[Department, ...] = ()
    peers: tuple[Peer, ...] = ()
    sync: SyncSettings = SyncSettings()
    uplink: Uplink | None = None
    change_log_keep: int = 0
    compact_every: float = 300.0
    synchronous: str = "full"
    warm_cache: bool = True  # read the search tables into the system's cache after start (node/store/warming.py)
    workers: int | None = None  # processes for bulk decoding and row building; None: node.workers.default_workers()
    readers: int | None = None  # processes that answer searches and listings; None: auto (node/api/readers.py)
    log_level: str = "info"
    log_format: str = "auto"
    limits: Limits = Limits()
    tls: Tls | None = None
    insecure: bool = False
    grace: float = 5.0
    calendar: Calendar = OFFICIAL
    # The daily quota (calls per Beijing day) of a grant made on arrival for an unconditional
    # entry; 0: none. A conditional grant's is the owner's decision.
    default_daily_quota: int = 0
    resources: Resources = Resources()
    metrics: MetricsSettings | None = None
    lifecycle: Lifecycle = Lifecycle()
    crosschecks: CrossChecks | None = None  # a hub's cross-source checks (node/crosschecks.py)

    @property
    def hub_id(self) -> str:
        """The node id of this node's hub (the default when the config names no hub link)."""
        return self.uplink.id if self.uplink else _default(Uplink, "id")

    def department(self, code: str) -> Department | None:
        return next((d for d in self.departments if d.code == code), None)


def load(path: str | pathlib.Path) -> Config:
    """Reads and validates a node config file."""
    return parse(read_yaml(path), str(path), base_dir=pathlib.Path(path).parent)


def _auto_or(value: Any) -> Any:
    """None for `auto` (the node decides), else the value."""
    return None if value == "auto" else value


def _default(cls: type, name: str) -> Any:
    """The default of a config dataclass field: defaults are written once, on the dataclasses."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


def parse(data: Any, file: str = "<config>", base_dir: pathlib.Path | None = None) -> Config:
    r = Reader(file)
    d = functools.partial(_default, Config)
    top = r.mapping(data, "", {"node", "listen", "database", "departments", "peers", "sync", "hub",
                               "change_log", "store", "log", "limits", "shutdown_grace", "sharing", "tls", "insecure",
                               "resources", "metrics", "data_authority", "crosschecks"})
    node = r.mapping(r.get(top, "", "node", lambda v: None), "node", {"id", "role", "region_code", "name"})
    role_name = r.get(node, "node", "role", is_choice(roles.NAMES))
    role = roles.get(role_name)
    region = r.get(node, "node", "region_code", is_region)
    problem = role.region_rule(region)
    if problem:
        r.fail("node.region_code", problem)
    database = r.get(top, "", "database", is_text())
    if database != ":memory:" and base_dir is not None and not pathlib.Path(database).is_absolute():
        database = str((base_dir / database).resolve())

    departments = []
    for i, item in enumerate(r.get(top, "", "departments", is_list, default=[])):
        path = f"departments[{i}]"
        item = r.mapping(item, path, {"code", "name"})
        code = r.get(item, path, "code", is_text(PROVIDER_CODE, "must be 9 digits: region code + department number"))
        if not regions.within(code[:6], region):
            r.fail(f"{path}.code", f"must lie in the node's region {region}")
        if any(d.code == code for d in departments):
            r.fail(f"{path}.code", f"repeats {code}")
        departments.append(Department(code=code, name=r.get(item, path, "name", is_text())))


    peers = []
    raw_peers = r.get(top, "", "peers", is_list, default=[])
    if raw_peers and not role.pulls_peers:
        r.fail("peers", f"only a {' or '.join(roles.hub_roles())} node pulls from peers; this one is {role_name}")
    for i, item in enumerate(raw_peers):
        path = f"peers[{i}]"
        item = r.mapping(item, path, {f.name for f in dataclasses.fields(Peer)})
        peer = Peer(
            id=r.get(item, path, "id", is_node_id),
            role=r.get(item, path, "role", is_choice(roles.pulled_roles())),
            address=r.get(item, path, "address", is_address),
            region_code=r.get(item, path, "region_code", is_region),
            interval=float(r.get(item, path, "interval", is_number(0.05, 86400), _default(Peer, "interval"))),
            name=r.get(item, path, "name", is_text(), ""),
        )
        if any(p.id == peer.id for p in peers):
            r.fail(f"{path}.id", f"repeats {peer.id}")
        peers.append(peer)

    sync = SyncSettings()
    if "sync" in top:
        if not role.pulls_peers:
            r.fail("sync", f"only a {' or '.join(roles.hub_roles())} node pulls from peers; this one is {role_name}")
        s = r.mapping(top["sync"], "sync", {f.name for f in dataclasses.fields(SyncSettings)})
        sync = SyncSettings(
            max_concurrent=r.get(s, "sync", "max_concurrent", is_number(1, 256, True), sync.max_concurrent),
            jitter=float(r.get(s, "sync", "jitter", is_number(0, 1), sync.jitter)),
            backoff_initial=float(r.get(s, "sync", "backoff_initial", is_number(0.01, 3600), sync.backoff_initial)),
            backoff_max=float(r.get(s, "sync", "backoff_max", is_number(0.01, 86400), sync.backoff_max)),
            call_deadline=float(r.get(s, "sync", "call_deadline", is_number(0.1, 86400), sync.call_deadline)),
            batch_size=r.get(s, "sync", "batch_size", is_number(1, 5000, True), sync.batch_size),
        )

    uplink = None
    if "hub" in top and top["hub"] is not None:
        if role.pulls_peers:
            r.fail("hub", f"a {role_name} node is the hub; it has no hub link")
        h = r.mapping(top["hub"], "hub", {f.name for f in dataclasses.fields(Uplink)})
        uplink = Uplink(address=r.get(h, "hub", "address", is_address),
                        notify=r.get(h, "hub", "notify", is_boolean, _default(Uplink, "notify")),
                        id=r.get(h, "hub", "id", is_node_id, _default(Uplink, "id")))

    insecure = r.get(top, "", "insecure", is_boolean, d("insecure"))
    tls = None
    if top.get("tls") is not None:
        if insecure:
            r.fail("insecure", "must not be true when tls is given")
        t = r.mapping(top["tls"], "tls", {f.name for f in dataclasses.fields(Tls)})
        tls = Tls(**{f.name: is_file_at(r, t, "tls", f.name, base_dir) for f in dataclasses.fields(Tls)})
    elif not insecure:
        r.fail("tls", "is required: name the node's cert, key and ca (see `cascade pki`), "
                      "or set `insecure: true` for plaintext on a trusted network")

    change_log = r.mapping(top.get("change_log") or {}, "change_log", {"keep", "compact_every"})
    store = r.mapping(top.get("store") or {}, "store", {"synchronous", "workers", "readers", "warm_cache"})
    log = r.mapping(top.get("log") or {}, "log", {"level", "format"})
    limits = r.mapping(top.get("limits") or {}, "limits", {f.name for f in dataclasses.fields(Limits)})
    default_limits = Limits()
    sharing = r.mapping(top.get("sharing") or {}, "sharing", {"answer_days", "holidays", "workdays", "notices",
                                                              "beyond_calendar", "default_daily_quota", *LIFECYCLE_KEYS})
    calendar = official_calendar(r, sharing)
    metrics = None
    if top.get("metrics") is not None:
        m = r.mapping(top["metrics"], "metrics", {f.name for f in dataclasses.fields(MetricsSettings)})
        metrics = MetricsSettings(listen=r.get(m, "metrics", "listen", is_address))
        if metrics.listen == top.get("listen") and not metrics.listen.endswith(":0"):
            r.fail("metrics.listen", "must differ from listen (the gRPC address)")
    return Config(
        source=file,
        node_id=r.get(node, "node", "id", is_node_id),
        role=role_name,
        region_code=region,
        name=r.get(node, "node", "name", is_text(), default=d("name")),
        data_authority=data_authority(r, top, {d.code for d in departments}),
        listen=r.get(top, "", "listen", is_address),
        database=database,
        departments=tuple(departments),
        peers=tuple(peers),
        sync=sync,
        uplink=uplink,
        change_log_keep=r.get(change_log, "change_log", "keep", is_number(0, 10**12, True), d("change_log_keep")),
        compact_every=float(r.get(change_log, "change_log", "compact_every", is_number(0.1, 86400), d("compact_every"))),
        synchronous=r.get(store, "store", "synchronous", is_choice(("full", "normal")), d("synchronous")),
        workers=r.get(store, "store", "workers", is_number(0, 64, True), d("workers")),
        readers=_auto_or(r.get(store, "store", "readers", is_auto_or(is_number(0, 16, True)), "auto")),
        warm_cache=r.get(store, "store", "warm_cache", is_boolean, d("warm_cache")),
        log_level=r.get(log, "log", "level", is_choice(("debug", "info", "warning", "error")), d("log_level")),
        log_format=r.get(log, "log", "format", is_choice(("auto", "json", "console")), d("log_format")),
        limits=Limits(
            max_message_bytes=r.get(limits, "limits", "max_message_bytes", is_number(1024, 256 * 1024 * 1024, True),
                                    default_limits.max_message_bytes),
            max_page_size=r.get(limits, "limits", "max_page_size", is_number(1, 10000, True),
                                default_limits.max_page_size),
            max_calls_per_caller=r.get(limits, "limits", "max_calls_per_caller", is_number(1, 10000, True),
                                       default_limits.max_calls_per_caller),
            max_keyed_calls_per_caller=r.get(limits, "limits", "max_keyed_calls_per_caller", is_number(1, 10000, True),
                                             default_limits.max_keyed_calls_per_caller),
            max_fetches_per_department=r.get(limits, "limits", "max_fetches_per_department",
                                             is_number(1, 10000, True), default_limits.max_fetches_per_department),
            max_publish_bytes=r.get(limits, "limits", "max_publish_bytes", is_number(1024, 16 * 1024 ** 3, True),
                                    default_limits.max_publish_bytes),
            idle_stream_seconds=float(r.get(limits, "limits", "idle_stream_seconds", is_number(0.1, 86400),
                                            default_limits.idle_stream_seconds)),
            denial_fold_seconds=float(r.get(limits, "limits", "denial_fold_seconds", is_number(0, 3600),
                                            default_limits.denial_fold_seconds)),
            call_retention_days=r.get(limits, "limits", "call_retention_days", is_number(1, 3650, True),
                                      default_limits.call_retention_days),
        ),
        tls=tls,
        insecure=insecure,
        grace=float(r.get(top, "", "shutdown_grace", is_number(0, 600), d("grace"))),
        calendar=calendar,
        default_daily_quota=r.get(sharing, "sharing", "default_daily_quota", is_number(0, 10**9, True), 0),
        resources=parse_resources(r, top.get("resources"), base_dir, {d.code for d in departments}, tls is not None),
        metrics=metrics,
        lifecycle=lifecycle_settings(r, sharing, "data_authority" in top),
        crosschecks=parse_crosschecks(r, top.get("crosschecks"), {d.code for d in departments}, role.pulls_peers),
    )
