"""The exchange's dataclasses: a mount, what a grant lets out, and the record of one exchange."""

from __future__ import annotations

import dataclasses
from datetime import datetime

KINDS = ("sqlite", "csv", "xlsx", "http")
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

    def column_of(self, item: str) -> str:
        return dict(self.columns).get(item, item)


@dataclasses.dataclass(frozen=True)
class Grant:
    """What may leave the owner's node for one request: the granted data items (in the
    request's order, each read from its source column) and the rows inside the filter."""

    items: tuple[str, ...]
    source_columns: tuple[str, ...]
    filter_column: str = ""  # a source column
    filter_prefix: str = ""


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
