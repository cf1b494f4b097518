"""The one table printer of the command line: columns measured in terminal cells, so that Chinese
names (two cells a character) line up with Latin ones."""

from __future__ import annotations

import unicodedata
from typing import Iterable, Sequence

import click


def display_width(text: str) -> int:
    """Terminal cells TEXT takes: two for wide and full-width characters (汉字, ＡＢＣ), one otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]], footer: str | None = None) -> None:
    """HEADER, then ROWS (every cell a string), columns two spaces apart and padded to their widest
    cell, no trailing blanks; then FOOTER on its own line if given."""
    rows = list(rows)
    widths = [max([display_width(h)] + [display_width(row[i]) for row in rows]) for i, h in enumerate(header)]
    for row in [header, *rows]:
        click.echo("  ".join(pad(cell, w) for cell, w in zip(row, widths)).rstrip())
    if footer is not None:
        click.echo(footer)


def ago(seconds: float) -> str:
    """Seconds since something happened, or `never` for a negative count (it never happened)."""
    return "never" if seconds < 0 else f"{seconds:.1f}s"
