"""Where each department's sources may be: its own directories and URL prefixes, its own HTTP
credentials, never the node's own files. Checked when a source is mounted and again at every
open of it (every fetch, every read of a file, every page or redirect of an API), because a
file can be swapped for a symbolic link, and an API can point elsewhere, after mounting.

A refusal says which rule failed for the department in question, and never lists the places
or the credentials set aside for anyone (they are the operator's to know)."""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
import urllib.parse
from typing import Iterable, Mapping

from node.errors import InvalidRequest
from node.model.exchange import Credential, is_url, url_problem, url_under

# Files next to the node's database that are the database too: SQLite's own, and copies of it.
DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")
OWN_FILE = "is one of the node's own files: its own database, its configuration or its keys"


class SourceError(Exception):
    """The source cannot be read as mounted (missing file, table, sheet; unreachable API)."""


class SourceRefused(SourceError):
    """The source lies, or now leads, where its department may not read. `field` is the part of
    the mount at fault (location or credential)."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


class SourceAccess:
    """The node's rules on sources. `allow` maps a department code to its directories and URL
    prefixes (None: anywhere, on a plaintext node that anyone may call anyway); `credentials`
    maps a name to its Credential; `database`, `config_file` and `key_files` are the node's own
    files, which no department reads whatever the allow list says."""

    def __init__(self, allow: Mapping[str, tuple[str, ...]] | None, credentials: Mapping[str, Credential],
                 node_id: str, *, database: str = "", config_file: str = "", key_files: Iterable[str] = ()):
        self.allow = None if allow is None else {code: tuple(places) for code, places in allow.items()}
        self.credentials = dict(credentials)
        self.node_id = node_id
        self.database = os.path.realpath(database) if database and database != ":memory:" else ""
        own = [self.database + suffix for suffix in ("", *DATABASE_COMPANIONS)] if self.database else []
        keys = [os.path.realpath(f) for f in key_files if f]
        self.own_files = tuple(own + keys + ([os.path.realpath(config_file)] if config_file else []))
        # The directories of the TLS files: the PKI, where the CA key and token files sit too.
        self.key_dirs = frozenset(os.path.dirname(f) for f in keys)

    def gate(self, department: str, credential: str = "") -> Gate:
        return Gate(self, department, credential)

    # -- at mount time -------------------------------------------------------------------------

    def check_mount(self, department: str, kind: str, location: str, credential: str) -> None:
        """The rules a new mount must meet, as InvalidRequest naming the field at fault."""
        try:
            if kind == "http":
                self.headers_for(department, location, credential)
            else:
                self.check_path(department, location)
        except SourceRefused as exc:
            raise InvalidRequest(exc.field, exc.rule) from None

    # -- files ---------------------------------------------------------------------------------

    def _is_own(self, real: str) -> bool:
        if real in self.own_files or os.path.dirname(real) in self.key_dirs:
            return True
        # Copies beside the database (hebei.db.bak, hebei.db-wal) are the database too.
        return bool(self.database) and os.path.dirname(real) == os.path.dirname(self.database) and (
            os.path.basename(real).startswith(os.path.basename(self.database)))

    def _own_identities(self) -> set[tuple[int, int]]:
        found = set()
        for path in self.own_files:
            try:
                found.add(_identity(os.stat(path)))
            except OSError:
                pass  # a -wal that is not there now cannot be opened as it either
        return found

    def check_path(self, department: str, location: str) -> str:
        """The location with every symbolic link resolved, if the department may read it now."""
        if not os.path.isabs(location):
            raise SourceRefused("location", "must be an absolute path on the node's machine")
        real = os.path.realpath(location)
        if self._is_own(real):
            raise SourceRefused("location", OWN_FILE)
        if self.allow is not None:
            places = [os.path.realpath(p) for p in self.allow.get(department, ()) if not is_url(p)]
            if not any(os.path.commonpath([real, place]) == place for place in places):
                raise SourceRefused("location", f"lies outside the directories node {self.node_id} sets aside for "
                                                f"department {department}")
        return real

    def open_file(self, department: str, location: str) -> tuple[int, str]:
        """A file descriptor of the file, opened read-only, and its resolved path; refused if the
        path now leads outside the department's directories or to one of the node's own files,
        or changed as it was opened."""
        real = self.check_path(department, location)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(real, flags)
        except FileNotFoundError:
            raise SourceError(f"no file at {location}") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # the final component became a link after it was resolved
                raise SourceRefused("location", "was swapped for a symbolic link as it was opened") from None
            raise SourceError(f"{location} cannot be read: {exc.strerror}") from None
        try:
            self.confirm(fd, real, real)
        except BaseException:
            os.close(fd)
            raise
        return fd, real

    def confirm(self, fd: int, real: str, opened: str) -> None:
        """That what is open (fd, and `opened` as the reader names it) is the checked file:
        a regular file, at `real`, not one of the node's own (a hard link included)."""
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"{real} is not a regular file")
        if _identity(st) in self._own_identities():
            raise SourceRefused("location", OWN_FILE)
        try:
            now = _identity(os.lstat(real))
        except OSError:
            now = None
        through_proc = f"/proc/self/fd/{fd}"
        actual = os.readlink(through_proc) if os.path.islink(through_proc) else real
        if opened != real or actual != real or now != _identity(st):
            raise SourceRefused("location", "changed as it was opened (swapped or moved)")

    # -- HTTP ----------------------------------------------------------------------------------

    def headers_for(self, department: str, url: str, credential: str) -> dict[str, str]:
        """The headers to send to this URL for the department's source, if it may call the URL:
        under one of its URL prefixes and under the credential's own prefix."""
        problem = url_problem(url)
        if problem:
            raise SourceRefused("location", f"{_shown(url)} {problem}")
        if self.allow is not None and not any(url_under(url, p) for p in self.allow.get(department, ()) if is_url(p)):
            raise SourceRefused("location", f"{_shown(url)} is not under a URL prefix node {self.node_id} sets aside "
                                            f"for department {department}")
        if not credential:
            return {}
        found = self.credentials.get(credential)
        if found is None or found.department != department:
            raise SourceRefused("credential", f"{credential!r} is not a credential of department {department} "
                                              f"at node {self.node_id}")
        if not url_under(url, found.prefix):
            raise SourceRefused("credential", f"{credential!r} is sent only under its own URL prefix, and "
                                              f"{_shown(url)} is not under it")
        return dict(found.headers)


def _shown(url: str) -> str:
    """A URL as an error shows it: without its query, which may hold a key."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(query="", fragment="")) or url


@dataclasses.dataclass(frozen=True)
class Gate:
    """The rules as one mount meets them: its department and credential bound, handed to the
    source so that it checks every file it opens and every URL it calls."""

    access: SourceAccess
    department: str
    credential: str = ""

    def open_file(self, location: str) -> tuple[int, str]:
        return self.access.open_file(self.department, location)

    def confirm(self, fd: int, real: str, opened: str) -> None:
        self.access.confirm(fd, real, opened)

    def headers_for(self, url: str) -> dict[str, str]:
        return self.access.headers_for(self.department, url, self.credential)


def anywhere(department: str = "", credentials: Mapping[str, Credential] | None = None, credential: str = "") -> Gate:
    """A gate with no allow list (a plaintext node's), for reading a source outside a node."""
    return SourceAccess(None, credentials or {}, "local").gate(department, credential)
