"""Mounting a source on an entry (资源挂接) at the entry's own node: the checks, and the mounts
in force (those of the node config's resources.mounts first, then those made by MountResource).
A mount never travels: it is not in the change log, and credentials stay in the node config."""

from __future__ import annotations

import pathlib
import urllib.parse
from datetime import datetime
from typing import Callable, Mapping

from node.model import rules
from node.model.rules import Entry
from node.errors import FailedPrecondition, InvalidRequest, NotFound, PermissionDenied
from node.model.exchange import KINDS, KINDS_FOR_METHOD, Mount
from node.exchange.sources import Source, SourceError, open_source


def missing_items(items, mount: Mount, source_columns: list[str]) -> list[str]:
    """The data items whose column the source lacks."""
    have = set(source_columns)
    return [item for item in items if mount.column_of(item) not in have]


class Mounts:
    def __init__(self, store, node_id: str, department_codes: set[str], configured: tuple[Mount, ...] = (),
                 credentials: Mapping[str, Mapping[str, str]] | None = None,
                 clock: Callable[[], datetime] = rules.utcnow, allow: tuple[str, ...] | None = (),
                 database: str = ""):
        self.store = store
        # Where a department may point a source (None: anywhere, on a plaintext node); never at
        # the node's own database.
        self.allow = allow
        self.database = database
        self.node_id = node_id
        self.department_codes = department_codes
        self.configured = {m.resource_code: m for m in configured}
        self.credentials = dict(credentials or {})
        self.clock = clock

    def get(self, resource_code: str) -> Mount | None:
        return self.configured.get(resource_code) or self.store.get_mount(resource_code)

    def open(self, mount: Mount) -> Source:
        return open_source(mount, self.credentials)

    def mount(self, resource_code: str, kind: str, location: str, table: str = "",
              columns: Mapping[str, str] | None = None, credential: str = "", department: str = "") -> tuple[Mount, list[str]]:
        """Mounts the source on the entry; returns the mount and the source's columns. The
        source must be readable now and its columns must cover every data item of the entry."""
        if not rules.RESOURCE_CODE.match(resource_code):
            raise InvalidRequest("resource_code", rules.RESOURCE_CODE_RULE)
        entry = self._own_entry(resource_code)
        if kind not in KINDS:
            raise InvalidRequest("kind", f"must be one of {', '.join(KINDS)}")
        fitting = KINDS_FOR_METHOD.get(entry.share_method, KINDS)
        if kind not in fitting:
            raise InvalidRequest("kind", f"entry {resource_code} is shared by {entry.share_method}: "
                                         f"mount a {' or '.join(fitting)} source")
        if kind == "http":
            if urllib.parse.urlsplit(location).scheme not in ("http", "https"):
                raise InvalidRequest("location", "must be an http(s) URL for an http source")
        elif not pathlib.Path(location).is_absolute():
            raise InvalidRequest("location", "must be an absolute path on the node's machine")
        self._allowed(kind, location)
        if credential and credential not in self.credentials:
            raise InvalidRequest("credential", f"names no credential in the node config's resources.credentials "
                                               f"(it has: {', '.join(sorted(self.credentials)) or 'none'})")
        if credential and kind != "http":
            raise InvalidRequest("credential", "only an http source takes a credential")
        items = [item.name for item in entry.data_items]
        for item in columns or {}:
            if item not in items:
                raise InvalidRequest(f"columns[{item}]", f"is not a data item of {resource_code}")
        mount = Mount(resource_code, kind, location, table, tuple(sorted((columns or {}).items())), credential,
                      self.clock(), department)
        try:
            source = self.open(mount)
            try:
                source_columns = source.columns()
            finally:
                source.close()
        except SourceError as exc:
            raise InvalidRequest("location", str(exc)) from None
        missing = missing_items(items, mount, source_columns)
        if missing:
            raise InvalidRequest("columns", f"the source has no column for the data items {', '.join(missing)} "
                                            f"of {resource_code} (it has: {', '.join(source_columns) or 'none'}); "
                                            "name them in --column ITEM=COLUMN if they are called otherwise")
        with self.store.transaction() as tx:
            tx.put_mount(mount)
        return mount, source_columns

    def _allowed(self, kind: str, location: str) -> None:
        if kind == "http":
            if self.allow is not None and not any(location.startswith(p) for p in self.allow
                                                  if p.startswith(("http://", "https://"))):
                raise InvalidRequest("location", f"must start with one of the URLs in the node config's resources.allow "
                                                 f"({', '.join(self.allow) or 'none set'})")
            return
        real = pathlib.Path(location).resolve()
        if self.database and real.name.startswith(pathlib.Path(self.database).resolve().name) and (
                real.parent == pathlib.Path(self.database).resolve().parent):
            raise InvalidRequest("location", "is the node's own database")
        if self.allow is not None and not any(real.is_relative_to(pathlib.Path(p).resolve()) for p in self.allow
                                              if not p.startswith(("http://", "https://"))):
            raise InvalidRequest("location", f"must lie under one of the directories in the node config's "
                                             f"resources.allow ({', '.join(self.allow) or 'none set'})")

    def describe(self, resource_code: str) -> tuple[Mount, list[str]]:
        """The entry's mount and the columns its source has now."""
        mount = self.get(resource_code)
        if mount is None:
            raise NotFound(f"resource_code: nothing is mounted on {resource_code} at node {self.node_id}")
        try:
            source = self.open(mount)
            try:
                return mount, source.columns()
            finally:
                source.close()
        except SourceError as exc:
            raise FailedPrecondition("source_unreadable", f"the source of {resource_code} cannot be read: {exc}") from None

    def _own_entry(self, resource_code: str) -> Entry:
        entry = self.store.get_entry(resource_code)
        if entry is None:
            raise NotFound(f"resource_code: no entry {resource_code} at node {self.node_id}")
        if entry.origin != self.node_id:
            raise PermissionDenied(f"resource_code: {resource_code} is published at node {entry.origin}; "
                                   "mount its source there")
        if entry.provider_code not in self.department_codes:
            raise PermissionDenied(f"resource_code: {entry.provider_code} is not a department of node {self.node_id}")
        if entry.withdrawn:
            raise FailedPrecondition("entry_withdrawn", f"entry {resource_code} was withdrawn")
        return entry
