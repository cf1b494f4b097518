"""Reading a mounted source: an SQLite table or view, a CSV or XLSX file, or an HTTP JSON API,
behind one protocol. A source yields rows in batches, already projected onto the wanted
columns and filtered by a column prefix, every value a string; the order is stable (SQLite
tables by rowid, files and APIs in their own order), so that a row offset means the same row
on every read."""

from __future__ import annotations

import datetime as dt
import json
import operator
import pathlib
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterator, Mapping, Protocol, Sequence

from node.model.exchange import Mount

BATCH = 1000
HTTP_TIMEOUT = 30.0
Batch = list[tuple[str, ...]]


class SourceError(Exception):
    """The source cannot be read as mounted (missing file, table, sheet; unreachable API)."""


class Source(Protocol):
    def columns(self) -> list[str]:
        """The source's column names, in its order."""

    def count(self, filter_column: str = "", filter_prefix: str = "") -> int:
        """Rows inside the filter, or -1 when only reading them all would tell."""

    def batches(self, columns: Sequence[str], filter_column: str = "", filter_prefix: str = "",
                size: int = BATCH) -> Iterator[Batch]:
        """Lists of rows (tuples of strings, in the order of `columns`) from row 0, only those whose
        filter_column starts with filter_prefix."""

    def close(self) -> None: ...


def open_source(mount: Mount, credentials: Mapping[str, Mapping[str, str]] | None = None) -> Source:
    """The source a mount names; SourceError says why it cannot be opened."""
    if mount.kind == "sqlite":
        return SqliteSource(mount.location, mount.table)
    if mount.kind == "csv":
        return CsvSource(mount.location)
    if mount.kind == "xlsx":
        return XlsxSource(mount.location, mount.table)
    if mount.kind == "http":
        headers = {}
        if mount.credential:
            if credentials is None or mount.credential not in credentials:
                raise SourceError(f"credential {mount.credential!r} is not in the node config's resources.credentials")
            headers = dict(credentials[mount.credential])
        return HttpSource(mount.location, headers)
    raise SourceError(f"kind {mount.kind!r} is not one of sqlite, csv, xlsx, http")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteSource:
    """A table or view of an SQLite file, opened read-only; one read transaction per source, so
    the count and the rows come from the same snapshot."""

    def __init__(self, path: str, table: str):
        if not table:
            raise SourceError("an sqlite source needs a table or view (--table)")
        if not pathlib.Path(path).is_file():
            raise SourceError(f"no SQLite file at {path}")
        self.path, self.table = path, table
        try:
            self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                                        isolation_level=None)
            self.conn.execute("BEGIN")
            found = self.conn.execute("SELECT type, sql FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')",
                                      (table,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise SourceError(f"{path} is not a readable SQLite file: {exc}") from None
        if found is None:
            self.close()
            raise SourceError(f"{path} has no table or view {table!r}")
        kind, sql = found
        # Tables are read in rowid order, so an offset means the same row every time; a view in
        # the order SQLite produces it (stable while its tables do not change).
        self.order = " ORDER BY rowid" if kind == "table" and "WITHOUT ROWID" not in (sql or "").upper() else ""

    def columns(self) -> list[str]:
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({_quote(self.table)})")]

    def _where(self, filter_column: str, filter_prefix: str) -> tuple[str, tuple]:
        if not filter_column:
            return "", ()
        return (f" WHERE substr(CAST({_quote(filter_column)} AS TEXT), 1, ?) = ?",
                (len(filter_prefix), filter_prefix))

    def count(self, filter_column: str = "", filter_prefix: str = "") -> int:
        where, params = self._where(filter_column, filter_prefix)
        return self.conn.execute(f"SELECT count(*) FROM {_quote(self.table)}{where}", params).fetchone()[0]

    def batches(self, columns, filter_column="", filter_prefix="", size=BATCH):
        # Every value as text in SQL (blobs as hex, NULL as ""): no per-value work in Python.
        select = ", ".join(f"ifnull(CASE typeof({_quote(c)}) WHEN 'blob' THEN hex({_quote(c)}) "
                           f"ELSE CAST({_quote(c)} AS TEXT) END, '')" for c in columns)
        where, params = self._where(filter_column, filter_prefix)
        cursor = self.conn.execute(f"SELECT {select} FROM {_quote(self.table)}{where}{self.order}", params)
        while True:
            batch = cursor.fetchmany(size)
            if not batch:
                return
            yield batch

    def close(self) -> None:
        self.conn.close()


def _projected(header: list[str], rows: Iterator[Sequence[str]], columns: Sequence[str], filter_column: str,
               filter_prefix: str, size: int) -> Iterator[Batch]:
    """Batches of rows of a header-first source, projected onto `columns` and filtered."""
    indices = [header.index(c) for c in columns]
    width = max(indices, default=-1) + 1
    pick = operator.itemgetter(*indices) if len(indices) > 1 else (lambda row: (row[indices[0]],))
    at = header.index(filter_column) if filter_column else -1
    batch: Batch = []
    for row in rows:
        if len(row) < width:  # a short line: the missing fields are empty
            row = list(row) + [""] * (width - len(row))
        if at >= 0 and not (row[at] if at < len(row) else "").startswith(filter_prefix):
            continue
        batch.append(pick(row))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class CsvSource:
    """A CSV file with a header line (UTF-8, with or without a BOM, as Excel writes it)."""

    def __init__(self, path: str):
        if not pathlib.Path(path).is_file():
            raise SourceError(f"no CSV file at {path}")
        self.path = path

    def _open(self):
        import csv

        handle = open(self.path, newline="", encoding="utf-8-sig")
        return handle, csv.reader(handle)

    def columns(self) -> list[str]:
        handle, reader = self._open()
        with handle:
            try:
                return [name.strip() for name in next(reader)]
            except StopIteration:
                return []
            except UnicodeDecodeError as exc:
                raise SourceError(f"{self.path} is not UTF-8 text: {exc.reason}") from None

    def count(self, filter_column="", filter_prefix="") -> int:
        return -1

    def batches(self, columns, filter_column="", filter_prefix="", size=BATCH):
        handle, reader = self._open()
        with handle:
            header = [name.strip() for name in next(reader, [])]
            yield from _projected(header, reader, columns, filter_column, filter_prefix, size)

    def close(self) -> None:
        pass


def cell_text(value) -> str:
    """A spreadsheet cell as text: dates as YYYY-MM-DD (with the time when there is one),
    whole numbers without a decimal point, empty cells as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class XlsxSource:
    """A sheet of an XLSX workbook (the first unless named), header in the first row; read in
    openpyxl's read-only mode, which streams the sheet instead of loading it."""

    def __init__(self, path: str, sheet: str = ""):
        if not pathlib.Path(path).is_file():
            raise SourceError(f"no XLSX file at {path}")
        self.path, self.sheet = path, sheet
        self._sheet_rows()[1].close()  # fails now, not at fetch time, if the sheet is missing

    def _sheet_rows(self):
        import openpyxl

        try:
            book = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise SourceError(f"{self.path} is not a readable XLSX workbook: {exc}") from None
        if self.sheet and self.sheet not in book.sheetnames:
            book.close()
            raise SourceError(f"{self.path} has no sheet {self.sheet!r} (it has: {', '.join(book.sheetnames)})")
        sheet = book[self.sheet] if self.sheet else book.worksheets[0]
        rows = ([cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True))
        return rows, book

    def columns(self) -> list[str]:
        rows, book = self._sheet_rows()
        try:
            return [name.strip() for name in next(rows, [])]
        finally:
            book.close()

    def count(self, filter_column="", filter_prefix="") -> int:
        return -1

    def batches(self, columns, filter_column="", filter_prefix="", size=BATCH):
        rows, book = self._sheet_rows()
        try:
            header = [name.strip() for name in next(rows, [])]
            yield from _projected(header, rows, columns, filter_column, filter_prefix, size)
        finally:
            book.close()

    def close(self) -> None:
        pass


def json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class HttpSource:
    """An HTTP(S) API answering JSON: an array of objects, or an object whose `rows`, `data`,
    `items` or `records` holds them and whose `next` (if not null) is the URL of the next page.
    The columns are the keys of the first object. `headers` come from the node config's
    resources.credentials and go only to this API."""

    LISTS = ("rows", "data", "items", "records")

    def __init__(self, url: str, headers: Mapping[str, str] | None = None):
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise SourceError(f"{url} is not an http(s) URL")
        self.url, self.headers = url, dict(headers or {})

    def _page(self, url: str) -> tuple[list, str]:
        request = urllib.request.Request(url, headers={"Accept": "application/json", **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:
                body = json.load(answer)
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SourceError(f"{url} cannot be reached: {getattr(exc, 'reason', exc)}") from None
        except ValueError as exc:
            raise SourceError(f"{url} did not answer JSON: {exc}") from None
        if isinstance(body, list):
            return body, ""
        if isinstance(body, dict):
            for key in self.LISTS:
                if isinstance(body.get(key), list):
                    following = body.get("next")
                    return body[key], urllib.parse.urljoin(url, following) if isinstance(following, str) else ""
        raise SourceError(f"{url} answered neither a JSON array nor an object with one of {', '.join(self.LISTS)}")

    def _objects(self) -> Iterator[dict]:
        url, seen = self.url, set()
        while url and url not in seen:
            seen.add(url)
            objects, url = self._page(url)
            for item in objects:
                if isinstance(item, dict):
                    yield item

    def columns(self) -> list[str]:
        objects, _ = self._page(self.url)
        first = next((o for o in objects if isinstance(o, dict)), None)
        return list(first) if first else []

    def count(self, filter_column="", filter_prefix="") -> int:
        return -1

    def batches(self, columns, filter_column="", filter_prefix="", size=BATCH):
        batch: Batch = []
        for item in self._objects():
            if filter_column and not json_text(item.get(filter_column)).startswith(filter_prefix):
                continue
            batch.append(tuple(json_text(item.get(c)) for c in columns))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        pass
