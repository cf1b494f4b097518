"""Mounting a source on an entry (资源挂接) at the entry's own node: the checks, and the mounts
in force (those of the node config's resources.mounts first, then those made by MountResource).
A mount never travels: it is not in the change log, and credentials stay in the node config."""

from __future__ import annotations

import dataclasses
import urllib.parse
from datetime import datetime
from typing import Callable, Mapping

from node.model import rules
from node.model.rules import Entry
from node.errors import ConfigError, FailedPrecondition, InvalidRequest, NotFound, PermissionDenied
from node.model.exchange import KINDS, KINDS_FOR_METHOD, Mount, check_marks
from node.exchange.access import SourceAccess
from node.exchange.kept import KeptSources
from node.exchange.lookup import FileIndexes, HttpKeyedSource, NoKeyIndex, check_sqlite_key, fill, placeholders
from node.exchange.sources import Source, SourceError, SourceRefused, open_source


def missing_items(items, mount: Mount, source_columns: list[str]) -> list[str]:
    """The data items whose column the source lacks."""
    have = set(source_columns)
    return [item for item in items if mount.column_of(item) not in have]


def with_marks(entry: Entry, keys: tuple[str, ...], personal: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """A mount's keys and personal items: as asked, else as the entry's items are marked."""
    named = tuple(i.name for i in entry.data_items if i.key)
    return keys or named, {**{i.name: i.personal for i in entry.data_items if i.personal}, **personal}


def marked(entry: Entry, keys: tuple[str, ...], personal: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
    """with_marks(), where keys asked for an entry that names its own must be those."""
    named, _ = with_marks(entry, (), {})
    if keys and named and set(keys) != set(named):
        raise InvalidRequest("keys", f"entry {entry.resource_code} is asked by {' + '.join(named)} (its key items): "
                                     "mount by them, or publish the entry with other key items first")
    return with_marks(entry, keys, personal)


class Mounts:
    def __init__(self, store, node_id: str, department_codes: set[str], configured: tuple[Mount, ...] = (),
                 access: SourceAccess | None = None, clock: Callable[[], datetime] = rules.utcnow):
        self.store = store
        # Where each department may point a source and which credentials are its own; never at
        # the node's own files. None: anywhere (the node's own files still never).
        self.access = access or SourceAccess(None, {}, node_id)
        self.node_id = node_id
        self.department_codes = department_codes
        self.configured = {m.resource_code: m for m in configured}
        self.clock = clock
        self.file_indexes = FileIndexes()  # the lookup indexes of keyed CSV and XLSX mounts
        self.kept = KeptSources()  # the SQLite sources of keyed mounts, open between look-ups
        self._indexed: set[tuple] = set()  # keyed SQLite config mounts whose key index was found or made

    def get(self, resource_code: str, entry: Entry | None = None) -> Mount | None:
        """The entry's mount; `entry`, when the caller has just read it, spares reading it again."""
        configured = self.configured.get(resource_code)
        if configured is None:
            return self.store.get_mount(resource_code)
        # A config mount takes the entry's marks where it names none, as a mount by MountResource
        # does (read each time: the entry may be published after the node's start).
        entry = entry or self.store.get_entry(resource_code)
        if entry is None:
            return configured
        keys, personal = with_marks(entry, configured.keys, dict(configured.personal))
        personal = tuple(sorted(personal.items()))
        if (keys, personal) == (configured.keys, configured.personal):
            return configured
        return dataclasses.replace(configured, keys=keys, personal=personal)

    def check_configured(self, config_file: str, log) -> None:
        """At the node's start: each config mount's marks against its entry, when the entry is
        here, and the index on a keyed SQLite source's key (created with `index: create`); a
        rule broken is a ConfigError naming the file and the mount's key. A source that cannot
        be opened now is only logged: it is opened, and refused, at each call as any mount is."""
        for i, configured in enumerate(self.configured.values()):
            path = f"resources.mounts[{i}]"
            entry = self.store.get_entry(configured.resource_code)
            try:
                if entry is not None and entry.origin == self.node_id:
                    keys, personal = marked(entry, configured.keys, dict(configured.personal))
                    self._check_keys(configured.resource_code, [item.name for item in entry.data_items],
                                     configured.kind, configured.location, keys, configured.index, personal)
                mount = self.get(configured.resource_code, entry)
                if mount.keys and mount.kind == "sqlite":
                    self._check_index(mount)
            except InvalidRequest as exc:
                raise ConfigError(config_file, f"{path}.{exc.field.split('[')[0]}", exc.rule) from None
            except NoKeyIndex as exc:
                raise ConfigError(config_file, f"{path}.keys", str(exc)) from None
            except (SourceError, SourceRefused) as exc:
                log.warning("mount.unreadable", resource_code=configured.resource_code, error=str(exc))

    def all(self) -> list[Mount]:
        """Every mount of the node, the config's before those made by MountResource."""
        return list({**{m.resource_code: m for m in self.store.all_mounts()},
                     **{code: self.get(code) for code in self.configured}}.values())

    def open(self, mount: Mount, keyed: bool = False) -> Source:
        """The mount's source, opened under its department's rules as they stand now: the
        entry's provider is the department that mounted it. `keyed`: for a look-up by key (an
        SQLite source kept open between look-ups, node/exchange/kept.py)."""
        gate = self.access.gate(mount.resource_code[:9], mount.credential)
        if mount.kind == "http" and mount.keys:
            return HttpKeyedSource(mount.location, [mount.column_of(k) for k in mount.keys], gate)
        if keyed and mount.kind == "sqlite":
            if mount.origin == "config" and mount.keys:
                self._check_index(mount)
            return self.kept.open(mount, gate)
        return open_source(mount, gate)

    def _check_index(self, mount: Mount) -> None:
        """A keyed SQLite config mount's source has an index on the key (made with `index:
        create`), checked once per source and key: NoKeyIndex (a SourceError) if it has none."""
        checked = (mount.resource_code, mount.location, mount.table, mount.keys)
        if checked in self._indexed:
            return
        gate = self.access.gate(mount.resource_code[:9])
        source = open_source(mount, gate)
        try:
            check_sqlite_key(source, [mount.column_of(k) for k in mount.keys], mount.index == "create", gate)
        finally:
            source.close()
        self._indexed.add(checked)

    def mount(self, resource_code: str, kind: str, location: str, table: str = "",
              columns: Mapping[str, str] | None = None, credential: str = "", department: str = "",
              keys: tuple[str, ...] = (), index: str = "",
              personal: Mapping[str, str] | None = None) -> tuple[Mount, list[str]]:
        """Mounts the source on the entry; returns the mount and the source's columns. The
        source must be readable now and its columns must cover every data item of the entry.
        `keys` are the data items a record is looked up by: an sqlite source must have an index
        on their columns (or `index` "create": the node creates it). `personal` maps a data item
        to its masking rule (node/model/masking.py). Both default to what the entry's items say
        (`key`, `personal`), and keys that the entry names must be the entry's: a consumer asks
        by what the catalog tells it."""
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
        if credential and kind != "http":
            raise InvalidRequest("credential", "only an http source takes a credential")
        # The entry's provider mounts: only its own places and credentials (a URL template as it
        # would be called).
        sample = fill(location, {name: "0" for name in placeholders(location)}) if kind == "http" else location
        self.access.check_mount(entry.provider_code, kind, sample, credential)
        items = [item.name for item in entry.data_items]
        for item in columns or {}:
            if item not in items:
                raise InvalidRequest(f"columns[{item}]", f"is not a data item of {resource_code}")
        keys, personal = marked(entry, tuple(keys), personal or {})
        self._check_keys(resource_code, items, kind, location, keys, index, personal)
        mount = Mount(resource_code, kind, location, table, tuple(sorted((columns or {}).items())), credential,
                      self.clock(), department, keys=keys, personal=tuple(sorted(personal.items())))
        try:
            source = self.open(mount)
            try:
                source_columns = source.columns()
                # An API asked by key tells its columns only in an answer: they are checked as they come.
                missing = [] if source_columns is None else missing_items(items, mount, source_columns)
                source_columns = source_columns or []
                if keys and kind == "sqlite" and not missing:
                    try:
                        check_sqlite_key(source, [mount.column_of(k) for k in keys], index == "create",
                                         self.access.gate(mount.resource_code[:9]))
                    except SourceError as exc:  # no index on the key: the field at fault is keys
                        raise InvalidRequest("keys", str(exc)) from None
            finally:
                source.close()
        except SourceRefused as exc:
            raise InvalidRequest(exc.field, exc.rule) from None
        except SourceError as exc:
            raise InvalidRequest("location", str(exc)) from None
        if missing:
            raise InvalidRequest("columns", f"the source has no column for the data items {', '.join(missing)} "
                                            f"of {resource_code} (it has: {', '.join(source_columns) or 'none'}); "
                                            "name them in --column ITEM=COLUMN if they are called otherwise")
        with self.store.transaction() as tx:
            tx.put_mount(mount)
        return mount, source_columns

    @staticmethod
    def _check_keys(resource_code: str, items: list[str], kind: str, location: str, keys: tuple[str, ...], index: str,
                    personal: Mapping[str, str]) -> None:
        check_marks(keys, index, personal)
        for i, key in enumerate(keys):
            if key not in items:
                raise InvalidRequest(f"keys[{i}]", f"{key} is not a data item of {resource_code}")
        if kind == "http" and keys:
            named = placeholders(location)
            if sorted(named) != sorted(keys):
                raise InvalidRequest("location", f"an http source looked up by key takes the key in its URL: name each "
                                                 f"key item once as {{ITEM}} ({', '.join('{' + k + '}' for k in keys)}), "
                                                 f"and nothing else (it names: {', '.join(named) or 'none'})")
        elif kind == "http" and placeholders(location):
            raise InvalidRequest("location", "a URL template ({ITEM}) takes --key-item for each item it names")
        for item in personal:
            if item not in items:
                raise InvalidRequest(f"personal[{item}]", f"is not a data item of {resource_code}")

    def describe(self, resource_code: str) -> tuple[Mount, list[str]]:
        """The entry's mount and the columns its source has now."""
        mount = self.get(resource_code)
        if mount is None:
            raise NotFound(f"resource_code: nothing is mounted on {resource_code} at node {self.node_id}")
        try:
            source = self.open(mount)
            try:
                return mount, source.columns() or []
            finally:
                source.close()
        except SourceRefused as exc:
            raise FailedPrecondition("source_refused", f"the source of {resource_code} is refused: {exc}") from None
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
