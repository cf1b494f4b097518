"""Whether each mounted source is updated as often as its entry's update cycle promises
(更新及时率), from the source's own modification time: the file's, for a CSV or XLSX file; the
database's or its write-ahead log's, whichever is later, for an SQLite table. An HTTP source
tells nothing reliable about itself and is not judged; nor is an entry updated 不定期."""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime, timedelta, timezone
from typing import Iterable

from node.model.exchange import Mount

# How old a source may be, by its entry's update cycle, before it counts as late; a day more
# for the time of day the source is written at.
ALLOWED_AGE = {"realtime": timedelta(days=1), "daily": timedelta(days=1), "weekly": timedelta(days=7),
               "monthly": timedelta(days=31), "quarterly": timedelta(days=92), "half_yearly": timedelta(days=183),
               "yearly": timedelta(days=366)}
GRACE = timedelta(days=1)


@dataclasses.dataclass
class Sources:
    """One department's mounted sources: how many, how many could be judged, how many in time."""

    mounted: int = 0
    checked: int = 0
    fresh: int = 0


def modified_at(mount: Mount) -> datetime | None:
    """The source's last modification, or None when it cannot tell (an HTTP source, a file gone)."""
    if mount.kind == "http":
        return None
    paths = [mount.location] + ([mount.location + "-wal"] if mount.kind == "sqlite" else [])
    times = []
    for path in paths:
        try:
            times.append(os.stat(path).st_mtime)
        except OSError:
            continue
    return datetime.fromtimestamp(max(times), timezone.utc) if times else None


def is_fresh(cycle: str, modified: datetime, at: datetime) -> bool | None:
    """Whether a source modified at `modified` keeps the cycle's promise at `at` (None: the cycle
    promises nothing). A source modified after `at` was updated since, and counts as in time."""
    allowed = ALLOWED_AGE.get(cycle)
    if allowed is None:
        return None
    return at - modified <= allowed + GRACE


def freshness(mounts: Iterable[Mount], cycles: dict[str, str], at: datetime) -> dict[str, Sources]:
    """Department code -> its mounted sources judged at `at`; `cycles` maps each live entry of the
    node to its update cycle (a mount on an entry no longer live is left out)."""
    found: dict[str, Sources] = {}
    for mount in mounts:
        cycle = cycles.get(mount.resource_code)
        if cycle is None:
            continue
        sources = found.setdefault(mount.resource_code[:9], Sources())
        sources.mounted += 1
        modified = modified_at(mount)
        verdict = None if modified is None else is_fresh(cycle, modified, at)
        if verdict is not None:
            sources.checked += 1
            sources.fresh += verdict
    return found
