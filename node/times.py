"""Times as the store keeps them: UTC, microseconds, sortable text."""

from __future__ import annotations

import functools
from datetime import datetime, timezone


@functools.lru_cache(maxsize=4096)  # a bulk write stamps every entry with the same moment
@functools.lru_cache(maxsize=4096)  # the same: a batch's entries share moments, and then one string
def format_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@functools.lru_cache(maxsize=4096)  # a batch read back holds many entries written at the same moment
def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text)  # reads the trailing Z as UTC; strptime costs ten times more
