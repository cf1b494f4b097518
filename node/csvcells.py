"""CSV that a spreadsheet opens without running anything: every CSV the node's tools write goes
through `Writer`, and the tools that read their own CSV back undo it with `restore`.

A cell that starts with =, +, -, @, a tab or a carriage return is a formula to Excel and
LibreOffice (=HYPERLINK(...), -2+3+cmd|'/C calc'!A0), so such a cell is written with a single
quote before it, as OWASP recommends against CSV injection. Two exceptions keep files usable and
their reading exact:

- a plain number (-12.5, +3, 1e-3) runs nothing and stays as it is, so a column of
  negative numbers is still numbers;
- a cell that already starts with quotes before one of those characters ('=x) gets one more, so
  that `restore` can tell the quote it must take off from one that was in the value.
"""

from __future__ import annotations

import csv
import re
from typing import Any, Iterable

FORMULA_START = frozenset("=+-@\t\r")
_QUOTE = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RISKY_START = FORMULA_START | {_QUOTE}  # the first characters worth a closer look
# A row whose cells, joined by NUL, hold none of those at a cell's start is written as it is: one
# search per row, not a look per cell (a fetch writes millions). A NUL in a cell only costs the
# closer look.
_RISKY_ROW = re.compile("(?:^|\x00)[=+\\-@\t\r']")


def _runs(cell: str) -> bool:
    """Whether the cell, behind any quotes, starts as a formula (and is not a plain number)."""
    return cell.lstrip(_QUOTE)[:1] in FORMULA_START and not _PLAIN_NUMBER.fullmatch(cell)


def neutralise(cell: Any) -> Any:
    """The cell as written: a quote before one a spreadsheet would run; anything else as it is."""
    if type(cell) is str and cell[:1] in _RISKY_START and _runs(cell):
        return _QUOTE + cell
    return cell


def restore(cell: str) -> str:
    """The value `neutralise` wrote this cell for: the quote it added taken off, no other."""
    if cell[:1] == _QUOTE and _runs(cell[1:]):
        return cell[1:]
    return cell


def restore_row(row: list[str]) -> list[str]:
    return [restore(c) if c[:1] == _QUOTE else c for c in row]


class Writer:
    """csv.writer whose cells are neutralised; the same options."""

    def __init__(self, stream, **options):
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(_neutral_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows(map(_neutral_row, rows))


def _neutral_row(row: Iterable[Any]) -> Iterable[Any]:
    if iter(row) is row:  # a generator: joining it would use it up
        row = list(row)
    try:
        if _RISKY_ROW.search("\x00".join(row)) is None:
            return row
    except TypeError:  # a cell that is not text (a number): look at each
        pass
    return [neutralise(c) for c in row]
