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
from node.config_rules import (Reader, is_address, is_boolean, is_choice, is_file_at, is_list, is_node_id, is_number,
                               is_region, is_text, data_authority, lifecycle_settings, official_calendar, read_yaml)
from node.errors import ConfigError
from node.model.rules import PROVIDER_CODE, RESOURCE_CODE, RESOURCE_CODE_RULE
from node.model.exchange import KINDS, Credential, Mount, is_url, url_problem, url_under
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
class Resources:
    """The data sources mounted on this node's entries from its config (`resources.mounts`), and
    the credentials of HTTP sources (`resources.credentials`: name -> one department's headers
    for one URL prefix). Both stay on this node: a mount names a credential, and the secret is
    never stored or sent anywhere else."""

    mounts: tuple[Mount, ...] = ()
    credentials: dict[str, Credential] = dataclasses.field(default_factory=dict)
    # Where each department's sources may be (department code -> directories, a file must lie
    # under one, and URL prefixes). A department reads only what the operator set aside for it;
    # none set, it mounts nothing (a plaintext node, open to anyone anyway, has no such limit).
    allow: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

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
    workers: int | None = None  # processes for bulk decoding and row building; None: node.workers.default_workers()
    log_level: str = "info"
    log_format: str = "auto"
    limits: Limits = Limits()
    tls: Tls | None = None
    insecure: bool = False
    grace: float = 5.0
    calendar: Calendar = OFFICIAL
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
    store = r.mapping(top.get("store") or {}, "store", {"synchronous", "workers"})
    log = r.mapping(top.get("log") or {}, "log", {"level", "format"})
    limits = r.mapping(top.get("limits") or {}, "limits", {f.name for f in dataclasses.fields(Limits)})
    default_limits = Limits()
    sharing = r.mapping(top.get("sharing") or {}, "sharing", {"answer_days", "holidays", "workdays", "beyond_calendar",
                                                              *LIFECYCLE_KEYS})
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
        log_level=r.get(log, "log", "level", is_choice(("debug", "info", "warning", "error")), d("log_level")),
        log_format=r.get(log, "log", "format", is_choice(("auto", "json", "console")), d("log_format")),
        limits=Limits(
            max_message_bytes=r.get(limits, "limits", "max_message_bytes", is_number(1024, 256 * 1024 * 1024, True),
                                    default_limits.max_message_bytes),
            max_page_size=r.get(limits, "limits", "max_page_size", is_number(1, 10000, True),
                                default_limits.max_page_size),
            max_calls_per_caller=r.get(limits, "limits", "max_calls_per_caller", is_number(1, 10000, True),
                                       default_limits.max_calls_per_caller),
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
        resources=_resources(r, top.get("resources"), base_dir, {d.code for d in departments}, tls is not None),
        metrics=metrics,
        lifecycle=lifecycle_settings(r, sharing, "data_authority" in top),
        crosschecks=parse_crosschecks(r, top.get("crosschecks"), {d.code for d in departments}, role.pulls_peers),
    )



def _place(r: Reader, path: str, place: Any, base_dir: pathlib.Path | None) -> str:
    """A directory (relative to the config file) or an http(s) URL prefix of resources.allow."""
    if not isinstance(place, str) or not place.strip():
        r.fail(path, "must be a directory or an http(s) URL prefix")
    if is_url(place):
        problem = url_problem(place)
        if problem:
            r.fail(path, problem)
        return place
    if base_dir is not None and not pathlib.Path(place).is_absolute():
        return str((base_dir / place).resolve())
    return str(pathlib.Path(place).resolve())


def _allow(r: Reader, value: Any, base_dir: pathlib.Path | None, departments: set[str]) -> dict[str, tuple[str, ...]]:
    if isinstance(value, list):
        r.fail("resources.allow", "must map each department code to its own directories and URL prefixes "
                                  "({\"130000001\": [sources/130000001]}); one list for the whole node is no longer "
                                  "read, as every department could then read the others' sources")
    allow = {}
    for code, places in r.mapping(value, "resources.allow", set(value) if isinstance(value, dict) else set()).items():
        path = f"resources.allow.{code}"
        if not isinstance(code, str) or code not in departments:
            r.fail(path, "must be the code of one of this node's departments (departments[].code), quoted")
        if not isinstance(places, list):
            r.fail(path, "must be a list of directories and http(s) URL prefixes")
        allow[code] = tuple(_place(r, f"{path}[{i}]", place, base_dir) for i, place in enumerate(places))
    return allow


def _credentials(r: Reader, value: Any, departments: set[str]) -> dict[str, Credential]:
    credentials = {}
    for name, block in r.mapping(value, "resources.credentials", set(value) if isinstance(value, dict) else set()).items():
        path = f"resources.credentials.{name}"
        if isinstance(block, dict) and "headers" not in block:
            r.fail(path, "must be {department, prefix, headers: {HEADER: value}}: a credential belongs to one "
                         "department and is sent only under one URL prefix")
        block = r.mapping(block, path, {"department", "prefix", "headers"})
        department = r.get(block, path, "department", is_text(PROVIDER_CODE, "must be a 9-digit department code"))
        if department not in departments:
            r.fail(f"{path}.department", "must be one of this node's departments (departments[].code)")
        prefix = r.get(block, path, "prefix", lambda v: url_problem(v) if isinstance(v, str) else "must be a URL")
        headers = r.get(block, path, "headers", lambda v: None if isinstance(v, dict) and v and all(
            isinstance(k, str) and isinstance(h, str) for k, h in v.items()) else
            "must map HTTP header names to values (strings), e.g. {Authorization: \"Bearer ...\"}")
        credentials[str(name)] = Credential(department, prefix, tuple(headers.items()))
    return credentials


def _resources(r: Reader, value: Any, base_dir: pathlib.Path | None, departments: set[str],
               secure: bool) -> Resources:
    if value is None:
        return Resources()
    top = r.mapping(value, "resources", {"mounts", "credentials", "allow"})
    allow = _allow(r, top.get("allow") or {}, base_dir, departments)
    credentials = _credentials(r, top.get("credentials") or {}, departments)
    mounts: list[Mount] = []
    for i, item in enumerate(r.get(top, "resources", "mounts", is_list, default=[])):
        path = f"resources.mounts[{i}]"
        item = r.mapping(item, path, {"resource_code", "kind", "location", "table", "columns", "credential"})
        code = r.get(item, path, "resource_code", is_text(RESOURCE_CODE, RESOURCE_CODE_RULE))
        if any(m.resource_code == code for m in mounts):
            r.fail(f"{path}.resource_code", f"repeats {code}")
        kind = r.get(item, path, "kind", is_choice(KINDS))
        location = r.get(item, path, "location", is_text())
        if kind != "http" and base_dir is not None and not pathlib.Path(location).is_absolute():
            location = str((base_dir / location).resolve())
        department = code[:9]
        # A mount in the config reads as its department would: only its places (on a node that
        # checks callers) and its own credential, covering the URL.
        if secure and not any(url_under(location, p) if kind == "http" else _lies_under(location, p)
                              for p in allow.get(department, ()) if is_url(p) == (kind == "http")):
            r.fail(f"{path}.location", f"must lie under one of resources.allow.{department}")
        columns = r.get(item, path, "columns", lambda v: None if isinstance(v, dict) and all(
            isinstance(k, str) and isinstance(c, str) for k, c in v.items()) else "must map data items to source "
                                                                                  "columns (strings)", {})
        credential = r.get(item, path, "credential", is_text(), "")
        if credential:
            if credential not in credentials:
                r.fail(f"{path}.credential", "names no block of resources.credentials")
            if kind != "http":
                r.fail(f"{path}.credential", "only an http source takes a credential")
            if credentials[credential].department != department:
                r.fail(f"{path}.credential", f"belongs to department {credentials[credential].department}, "
                                             f"not to {department}, whose entry this is")
            if not url_under(location, credentials[credential].prefix):
                r.fail(f"{path}.credential", f"is sent only under its prefix, {credentials[credential].prefix}, "
                                             "and the location is not under it")
        mounts.append(Mount(code, kind, location, r.get(item, path, "table", is_text(), ""),
                            tuple(sorted(columns.items())), credential, None, "config", "config"))
    return Resources(tuple(mounts), credentials, allow)


def _lies_under(location: str, directory: str) -> bool:
    real = pathlib.Path(location).resolve()
    return real.is_relative_to(pathlib.Path(directory).resolve())
