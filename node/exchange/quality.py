"""The format check of a mounted source (`cascade data check`): the rules of the entry's
elements run over every row, column by column, a batch at a time, so that memory stays flat
however many rows the source holds. Counts per item the rows that break the rule and the
empty ones (NULL or blank)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Sequence

from node.model import formats, quality
from node.model.exchange import Mount
from node.model.quality import ItemQuality, Quality

BATCH = 5000


def rule_items(items: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(item, element, rule) of the items whose element has a format rule."""
    return [(item, element, rule) for item, element, rule in items if rule in formats.RULES]


def check_rows(batches: Iterable[Sequence[Sequence[str]]], checks: Sequence[Callable[[str], bool]],
               ) -> tuple[int, list[int], list[int]]:
    """(rows, failed per column, empty per column) of rows whose columns are in `checks`' order."""
    rows = 0
    failed = [0] * len(checks)
    empty = [0] * len(checks)
    for batch in batches:
        rows += len(batch)
        for k, (column, check) in enumerate(zip(zip(*batch), checks)):
            present = [v for v in column if v and not v.isspace()]
            empty[k] += len(column) - len(present)
            failed[k] += len(present) - sum(map(check, present))
    return rows, failed, empty


def check_source(source, mount: Mount, items: list[tuple[str, str, str]], now: datetime) -> Quality:
    """The quality of the source's rows for these (item, element, rule) items."""
    checked = rule_items(items)
    if not checked:
        return Quality(100.0, now, source.count(), ())
    columns = [mount.column_of(item) for item, _, _ in checked]
    rows, failed, empty = check_rows(source.batches(columns, size=BATCH),
                                     [formats.RULES[rule].check for _, _, rule in checked])
    measured = tuple(ItemQuality(item, element, rule, failed[k], empty[k])
                     for k, (item, element, rule) in enumerate(checked))
    return Quality(quality.score(rows, measured), now, rows, measured)
