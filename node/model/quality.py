"""The quality of an entry's data as its last format check found it (`cascade data check`):
per data item, the share of rows whose value breaks its element's format rule and the share of
empty values; and the summary that travels with the entry (score and time checked)."""

from __future__ import annotations

import dataclasses
from datetime import datetime


@dataclasses.dataclass(frozen=True)
class ItemQuality:
    item: str
    element: str
    rule: str
    failed: int  # rows whose non-empty value breaks the rule
    empty: int  # rows whose value is empty (NULL or blank)


@dataclasses.dataclass(frozen=True)
class Quality:
    """Score: 100 x the share of the checked values (rows x items with a rule) that are present
    and well-formed; 100 when no item has a rule to check."""

    score: float
    checked_at: datetime
    rows: int
    items: tuple[ItemQuality, ...] = ()


def score(rows: int, items: tuple[ItemQuality, ...]) -> float:
    checked = rows * len(items)
    if not checked:
        return 100.0
    bad = sum(i.failed + i.empty for i in items)
    return round(100.0 * (checked - bad) / checked, 2)


def share(count: int, rows: int) -> float:
    return count / rows if rows else 0.0
