"""The `resources:` block of a node config: data sources mounted from the config, the credentials
of HTTP sources, and where each department's sources may lie; validated into frozen dataclasses
(node/config.py reads the rest of the config)."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

from node.config_rules import Reader, is_choice, is_list, is_text
from node.model.rules import PROVIDER_CODE, RESOURCE_CODE, RESOURCE_CODE_RULE
from node.errors import InvalidRequest
from node.model.exchange import KINDS, Credential, Mount, check_marks, is_url, url_problem, url_under
from node.model.masking import RULES as MASK_RULES


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


def parse_resources(r: Reader, value: Any, base_dir: pathlib.Path | None, departments: set[str],
               secure: bool) -> Resources:
    if value is None:
        return Resources()
    top = r.mapping(value, "resources", {"mounts", "credentials", "allow"})
    allow = _allow(r, top.get("allow") or {}, base_dir, departments)
    credentials = _credentials(r, top.get("credentials") or {}, departments)
    mounts: list[Mount] = []
    for i, item in enumerate(r.get(top, "resources", "mounts", is_list, default=[])):
        path = f"resources.mounts[{i}]"
        item = r.mapping(item, path, {"resource_code", "kind", "location", "table", "columns", "credential", "keys",
                                      "index", "personal"})
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
        keys, index, personal = _marks(r, item, path)
        mounts.append(Mount(code, kind, location, r.get(item, path, "table", is_text(), ""),
                            tuple(sorted(columns.items())), credential, None, "config", "config", keys,
                            tuple(sorted(personal.items())), index))
    return Resources(tuple(mounts), credentials, allow)


def _marks(r: Reader, item: dict, path: str) -> tuple[tuple[str, ...], str, dict[str, str]]:
    """A config mount's key items (none named: the entry's), whether the node may create the
    index on them, and its personal items with their masking rules (none named: the entry's)."""
    keys = r.get(item, path, "keys", lambda v: None if isinstance(v, list) and all(
        isinstance(k, str) and k.strip() for k in v) else "must list the data items a record is looked up by "
                                                          "(e.g. [公民身份号码])", [])
    index = r.get(item, path, "index", lambda v: None if isinstance(v, str) else "must be text", "")
    personal = r.get(item, path, "personal", lambda v: None if isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(rule, str) for k, rule in v.items()) else
        f"must map data items to a masking rule ({', '.join(MASK_RULES)})", {})
    try:
        check_marks(tuple(keys), index, personal)
    except InvalidRequest as exc:
        r.fail(f"{path}.{exc.field}", exc.rule)
    return tuple(keys), index, personal


def _lies_under(location: str, directory: str) -> bool:
    real = pathlib.Path(location).resolve()
    return real.is_relative_to(pathlib.Path(directory).resolve())
