"""Reading a responsibility list from .xlsx or .csv into a Sheet, and writing one."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import pathlib
import unicodedata
import zipfile
from typing import Sequence

from node import csvcells
from node.catalog.lists.columns import COLUMNS
from node.catalog.lists.rows import Sheet, locate_header

FORMATS = ("xlsx", "csv")
SHEET_TITLE = "共享责任清单"
_BOM = b"\xef\xbb\xbf"


class ListFileError(Exception):
    """A file that holds no list that can be read; the message names the file."""


@dataclasses.dataclass(frozen=True)
class FileLimits:
    """What a list file may be before it is read. A list of tens of thousands of entries fits
    well within them; a workbook is a zip, and one that unzips to gigabytes (a zip bomb) would
    hold the reader for minutes and take gigabytes of memory before it failed."""

    max_bytes: int = 20 * 2**20  # the file as it is on disk
    max_expanded: int = 64 * 2**20  # a workbook's parts unzipped, all together
    max_ratio: int = 100  # a part's unzipped size over its zipped size ...
    ratio_from: int = 2**20  # ... for parts that unzip to more than this (tiny parts vary widely)


LIMITS = FileLimits()


def format_of(path: str | pathlib.Path) -> str:
    suffix = pathlib.Path(path).suffix.lower().lstrip(".")
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("csv", "txt"):
        return "csv"
    raise ListFileError(f"{path}: not a list file: the name must end in .xlsx or .csv")


def read_sheet(path: str | pathlib.Path, limits: FileLimits = LIMITS) -> Sheet:
    """The list in PATH: the first worksheet with a header row (.xlsx), or the file (.csv). A
    file past the limits is refused before it is parsed."""
    fmt = format_of(path)
    _check_size(path, limits)
    if fmt == "xlsx":
        _check_zip(path, limits)
    grids = _xlsx_grids(path) if fmt == "xlsx" else [_csv_grid(path)]
    for grid in grids:
        sheet = locate_header(grid)
        if sheet is not None:
            return sheet
    known = "、".join(c.header for c in COLUMNS if c.required)
    raise ListFileError(f"{path}: no header row: none of the first rows names two columns of a list ({known}, ...)")


def _check_size(path, limits: FileLimits) -> None:
    try:
        size = pathlib.Path(path).stat().st_size
    except OSError as exc:
        raise ListFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if size > limits.max_bytes:
        raise ListFileError(f"{path}: refused: {size:,} bytes, over the limit of {limits.max_bytes:,} for a list file")


def _check_zip(path, limits: FileLimits) -> None:
    """Refuses a workbook whose parts would unzip to too much, from the sizes its central
    directory declares; nothing is unzipped. Declared sizes bind: zipfile, which openpyxl reads
    with, stops a part at its declared size (and fails its checksum if there was more)."""
    try:
        with zipfile.ZipFile(path) as book:
            parts = book.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ListFileError(f"{path}: cannot be read as an Excel workbook: {type(exc).__name__}: {exc}") from None
    expanded = sum(p.file_size for p in parts)
    if expanded > limits.max_expanded:
        raise ListFileError(f"{path}: refused: its parts unzip to {expanded:,} bytes, over the limit of "
                            f"{limits.max_expanded:,} for a workbook")
    for part in parts:
        if part.file_size > limits.ratio_from and part.file_size > limits.max_ratio * max(part.compress_size, 1):
            raise ListFileError(f"{path}: refused: its part {part.filename} unzips {part.file_size:,} bytes from "
                                f"{part.compress_size:,}, more than the limit of {limits.max_ratio} times")


def _text(value) -> str:
    """A cell's value as the text a reader sees: 130100005, not 130100005.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _xlsx_grids(path) -> list[list[tuple[int, list[str]]]]:
    """Every worksheet's rows as text. Cells merged across rows (a department written once for
    its rows, as lists often do) give every row the merged value."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not read_only: a read-only worksheet does not know its merged cells. Lists are small.
        book = openpyxl.load_workbook(path, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise ListFileError(f"{path}: cannot be read as an Excel workbook: {exc}") from None
    except Exception as exc:  # zipfile.BadZipFile and the like, from a file that is not a workbook
        raise ListFileError(f"{path}: cannot be read as an Excel workbook: {type(exc).__name__}: {exc}") from None
    grids = []
    for sheet in book.worksheets:
        rows = [[_text(v) for v in values] for values in sheet.iter_rows(values_only=True)]
        for merged in sheet.merged_cells.ranges:
            value = _text(sheet.cell(merged.min_row, merged.min_col).value)
            for r in range(merged.min_row, min(merged.max_row, len(rows)) + 1):
                row = rows[r - 1]
                row.extend([""] * (merged.max_col - len(row)))
                for c in range(merged.min_col, merged.max_col + 1):
                    row[c - 1] = value
        grids.append(list(enumerate(rows, start=1)))
    book.close()
    return grids


def _csv_grid(path) -> list[tuple[int, list[str]]]:
    """The rows of a CSV file in UTF-8 (with or without a BOM) or GB18030 (Excel's 'CSV' on a
    Chinese Windows); comma- or tab-separated. A row is a record: a cell may hold new lines."""
    try:
        data = pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise ListFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        text = data[len(_BOM):].decode("utf-8") if data.startswith(_BOM) else data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ListFileError(f"{path}: cannot be read: neither UTF-8 nor GB18030 text "
                                f"({exc.reason} at byte {exc.start})") from None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ListFileError(f"{path}: not a CSV file: {exc}") from None
    # A cell our export quoted (csvcells) reads back as the value it was.
    return [(i, [_text(csvcells.restore(c)) for c in record]) for i, record in enumerate(records, start=1)]


def write_sheet(path: str | pathlib.Path, headers: Sequence[str], rows: Sequence[Sequence[str]],
                fmt: str | None = None, *, stream=None) -> None:
    """Writes a list: CSV in UTF-8 with a BOM (so that Excel reads the Chinese right), no cell
    a formula (see node.csvcells), or a workbook with one sheet. With `stream` (a binary file),
    CSV goes there instead of PATH."""
    fmt = fmt or format_of(path)
    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csvcells.Writer(buffer, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(rows)
        data = _BOM + buffer.getvalue().encode("utf-8")
        if stream is not None:
            stream.write(data)
        else:
            pathlib.Path(path).write_bytes(data)
        return
    book = workbook(headers, rows)
    book.save(path)


def _width(text: str) -> int:
    """Characters of the longest line, a Chinese one counting two, as Excel's widths do."""
    return max((sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
                for line in text.split("\n")), default=0)


def workbook(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = SHEET_TITLE):
    """A workbook of one sheet: the header in bold and frozen, every cell text (a value that
    starts with = stays text, not a formula), columns as wide as their text allows."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, values in enumerate([headers, *rows], start=1):
        for c, value in enumerate(values, start=1):
            cell = sheet.cell(r, c)
            cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters: a workbook cannot hold them
            cell.data_type = "s"
            if r == 1:
                cell.font, cell.fill = bold, fill
            elif "\n" in value or len(value) > 30:
                cell.alignment = wrap
    for c, header in enumerate(headers, start=1):
        longest = max([_width(header)] + [_width(row[c - 1]) for row in rows[:500]])
        sheet.column_dimensions[get_column_letter(c)].width = min(max(longest + 2, 8), 60)
    sheet.freeze_panes = "A2"
    return book
