"""Times as the store keeps them: UTC, microseconds, sortable text."""

from __future__ import annotations

import functools
from datetime import datetime, timezone


@functools.lru_cache(maxsize=4096)  # a bulk write stamps every entry with the same moment
def format_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
