"""The exchange's dataclasses: a mount, the credential of an HTTP source and when a URL lies under
a prefix, what a grant lets out, and the record of one exchange."""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from datetime import datetime

from node.errors import InvalidRequest
from node.model.masking import RULES as MASK_RULES

KINDS = ("sqlite", "csv", "xlsx", "http")
INDEX_CHOICES = ("", "create")  # a keyed SQLite source's index: must exist already, or the node may create it


def check_marks(keys: tuple[str, ...], index: str, personal: Mapping[str, str]) -> None:
    """The rules a mount's marks keep whatever its entry holds (InvalidRequest naming the field):
    no key item named twice, a known index choice, a known masking rule for each personal item.
    Whether the items are the entry's is checked against the entry (node/exchange/mounts.py)."""
    if len(set(keys)) != len(keys):
        raise InvalidRequest("keys", "names a data item twice")
    if index not in INDEX_CHOICES:
        raise InvalidRequest("index", 'must be "" (the index must exist) or "create"')
    for item, rule in personal.items():
        if rule not in MASK_RULES:
            raise InvalidRequest(f"personal[{item}]", f"must be one of {', '.join(MASK_RULES)}")


# The source kinds that fit an entry's share_method (共享方式).
KINDS_FOR_METHOD = {"database": ("sqlite",), "file": ("csv", "xlsx"), "api": ("http",)}


@dataclasses.dataclass(frozen=True)
class Mount:
    """A source mounted on an entry at its owner's node. `credential` names a block of the node
    config's resources.credentials: the secret itself is never stored here."""

    resource_code: str
    kind: str
    location: str
    table: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # (data item, source column) where they differ
    credential: str = ""
    mounted_at: datetime | None = None
    mounted_by: str = ""
    origin: str = "rpc"  # rpc, or config (resources.mounts of the node config)
    keys: tuple[str, ...] = ()  # the data items a record is looked up by (Query, Verify)
    personal: tuple[tuple[str, str], ...] = ()  # (data item, masking rule): masked before leaving
    index: str = ""  # a config mount's `index`: "create" lets the node create the key's index at start

    def column_of(self, item: str) -> str:
        return dict(self.columns).get(item, item)

    def mask_of(self, item: str) -> str:
        """The masking rule of a personal item, "" for any other."""
        return dict(self.personal).get(item, "")


@dataclasses.dataclass(frozen=True)
class Credential:
    """HTTP headers (e.g. Authorization) that one department's http sources send, and only to
    URLs under `prefix`; from the node config's resources.credentials, never stored or sent on."""

    department: str
    prefix: str
    headers: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"Credential(department={self.department!r}, prefix={self.prefix!r}, headers=<{len(self.headers)}>)"


def is_url(location: str) -> bool:
    return urllib.parse.urlsplit(location).scheme in ("http", "https")


def url_problem(url: str) -> str | None:
    """Why a URL cannot be compared with a prefix safely, or None: user info in the address, dot
    segments or backslashes in the path (a server may resolve them out of the prefix)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL with a host"
    if "@" in parts.netloc:
        return "must not carry a user name or password in the address"
    try:
        parts.port
    except ValueError:
        return "has a port that is not a number"
    path = urllib.parse.unquote(parts.path)
    if "\\" in path or any(segment in (".", "..") for segment in path.split("/")):
        return "must not hold '.' or '..' segments or backslashes in its path"
    return None


def url_under(url: str, prefix: str) -> bool:
    """Whether the URL lies under the prefix: the same scheme, host and port, and a path that is
    the prefix's or below it (segment by segment: /api does not cover /api-admin)."""
    if url_problem(url) is not None or url_problem(prefix) is not None:
        return False
    u, p = urllib.parse.urlsplit(url), urllib.parse.urlsplit(prefix)
    default = {"http": 80, "https": 443}
    if (u.scheme, u.hostname, u.port or default[u.scheme]) != (p.scheme, p.hostname, p.port or default[p.scheme]):
        return False
    if p.query and (u.path != p.path or u.query != p.query):
        return False
    base = p.path or "/"
    path = u.path or "/"
    return path.startswith(base) if base.endswith("/") else path == base or path.startswith(base + "/")


@dataclasses.dataclass(frozen=True)
class Grant:
    """What may leave the owner's node for one request: the granted data items (in the
    request's order, each read from its source column) and the rows inside the filter."""

    items: tuple[str, ...]
    source_columns: tuple[str, ...]
    filter_column: str = ""  # a source column
    filter_prefix: str = ""
    masks: tuple[str, ...] = ()  # per item: its masking rule, "" for plain (node/model/masking.py)

    @property
    def masked(self) -> bool:
        return any(self.masks)


@dataclasses.dataclass
class CallCount:
    """Query or verify calls at one node, in one part, for one request, in one hour (UTC)."""

    request_id: str
    role: str  # consumer, hub or owner
    mode: str  # query or verify
    hour: str  # YYYY-MM-DDTHH
    calls: int = 0
    keys: int = 0
    hits: int = 0
    not_found: int = 0
    mismatches: int = 0
    refusals: int = 0
    millis: int = 0

    def add(self, other: "CallCount") -> None:
        """Adds the other's sums (COUNTED) to this one's."""
        for name in COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))


COUNTED = ("calls", "keys", "hits", "not_found", "mismatches", "refusals", "millis")  # CallCount's sums


@dataclasses.dataclass
class ExchangeRecord:
    """One exchange as a node saw it: its part (role), how much went through, how it ended."""

    request_id: str
    role: str
    consumer_code: str
    owner_code: str
    resource_code: str
    offset: int
    started: datetime
    rows: int = 0
    bytes: int = 0
    sha256: str = ""
    finished: datetime | None = None
    outcome: str = ""  # ok, or the status that ended it (UNAVAILABLE, FAILED_PRECONDITION, ...)
    detail: str = ""
