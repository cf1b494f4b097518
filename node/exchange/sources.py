"""Reading a mounted source: an SQLite table or view, a CSV or XLSX file, or an HTTP JSON API,
behind one protocol. A source yields rows in batches, already projected onto the wanted
columns and filtered by a column prefix, every value a string; the order is stable (SQLite
tables by rowid, files and APIs in their own order), so that a row offset means the same row
on every read. Every open of a file and every URL called passes the mount's Gate
(node/exchange/access.py): the department's own places and credential, checked again each time."""

from __future__ import annotations

import datetime as dt
import io
import json
import operator
import os
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from typing import Iterator, Protocol, Sequence

from node.exchange.access import Gate, SourceError, SourceRefused, anywhere
from node.model.exchange import Mount

BATCH = 1000
HTTP_TIMEOUT = 30.0
MAX_REDIRECTS = 5
Batch = list[tuple[str, ...]]

__all__ = ["Source", "SourceError", "SourceRefused", "open_source", "SqliteSource", "CsvSource", "XlsxSource",
           "HttpSource"]


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


def open_source(mount: Mount, gate: Gate | None = None) -> Source:
    """The source a mount names, opened through `gate` (the mount's department's rules: its
    places, its credential); SourceError says why it cannot be opened. No gate: anywhere, no
    credential (reading a file outside a node)."""
    gate = gate or anywhere(mount.resource_code[:9])
    if mount.kind == "sqlite":
        return SqliteSource(mount.location, mount.table, gate)
    if mount.kind == "csv":
        return CsvSource(mount.location, gate)
    if mount.kind == "xlsx":
        return XlsxSource(mount.location, mount.table, gate)
    if mount.kind == "http":
        return HttpSource(mount.location, gate)
    raise SourceError(f"kind {mount.kind!r} is not one of sqlite, csv, xlsx, http")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteSource:
    """A table or view of an SQLite file, opened read-only; one read transaction per source, so
    the count and the rows come from the same snapshot."""

    def __init__(self, path: str, table: str, gate: Gate | None = None):
        if not table:
            raise SourceError("an sqlite source needs a table or view (--table)")
        self.path, self.table = path, table
        # SQLite opens the file by name: hold the checked file open meanwhile, and confirm that
        # the file SQLite opened (it resolves links itself) is that one, before reading a row.
        gate = gate or anywhere()
        fd, real = gate.open_file(path)
        self.conn = None
        try:
            self.conn = sqlite3.connect(f"file:{urllib.parse.quote(real)}?mode=ro", uri=True, check_same_thread=False,
                                        isolation_level=None)
            self.conn.execute("BEGIN")
            found = self.conn.execute("SELECT type, sql FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')",
                                      (table,)).fetchone()
            gate.confirm(fd, real, self.conn.execute("PRAGMA database_list").fetchone()[2])
            st = os.fstat(fd)
            self.identity = (real, st.st_dev, st.st_ino)  # the file read: a kept source is known by it
        except sqlite3.DatabaseError as exc:
            self.close()
            raise SourceError(f"{path} is not a readable SQLite file: {exc}") from None
        except BaseException:
            self.close()
            raise
        finally:
            os.close(fd)
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
        if self.conn is not None:
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

    def __init__(self, path: str, gate: Gate | None = None):
        self.path, self.gate = path, gate or anywhere()
        os.close(self.gate.open_file(path)[0])  # refused or missing: now, not at fetch time

    def _open(self):
        import csv

        fd, _ = self.gate.open_file(self.path)  # checked again at every read: the file may have been swapped
        handle = open(fd, newline="", encoding="utf-8-sig")
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


class _Book:
    """An openpyxl workbook read from a file it does not own: closing it closes both."""

    def __init__(self, book, handle: io.BufferedReader):
        self.book, self.handle = book, handle
        self.sheetnames, self.worksheets = book.sheetnames, book.worksheets

    def __getitem__(self, name):
        return self.book[name]

    def close(self) -> None:
        try:
            self.book.close()
        finally:
            self.handle.close()


class XlsxSource:
    """A sheet of an XLSX workbook (the first unless named), header in the first row; read in
    openpyxl's read-only mode, which streams the sheet instead of loading it."""

    def __init__(self, path: str, sheet: str = "", gate: Gate | None = None):
        self.path, self.sheet, self.gate = path, sheet, gate or anywhere()
        self._sheet_rows()[1].close()  # fails now, not at fetch time, if the sheet is missing

    def _sheet_rows(self):
        import openpyxl

        fd, _ = self.gate.open_file(self.path)  # checked again at every read: the file may have been swapped
        handle = open(fd, "rb")
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            handle.close()
            raise SourceError(f"{self.path} is not a readable XLSX workbook: {exc}") from None
        book = _Book(book, handle)
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follows no redirect by itself: HttpSource checks the target like the first URL first."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class HttpSource:
    """An HTTP(S) API answering JSON: an array of objects, or an object whose `rows`, `data`,
    `items` or `records` holds them and whose `next` (if not null) is the URL of the next page.
    The columns are the keys of the first object. Every URL called, the first, a redirect's
    target and each `next` page, passes the gate first: inside the department's URL prefixes and
    its credential's own prefix, or refused; the gate gives the headers (the credential) for it."""

    LISTS = ("rows", "data", "items", "records")

    def __init__(self, url: str, gate: Gate | None = None):
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise SourceError(f"{url} is not an http(s) URL")
        self.url, self.gate = url, gate or anywhere()

    def _answer(self, url: str):
        """The JSON body at the URL and the URL that answered, following redirects only where the
        gate lets each one go."""
        for _ in range(MAX_REDIRECTS + 1):
            request = urllib.request.Request(url, headers={"Accept": "application/json", **self.gate.headers_for(url)})
            try:
                with _OPENER.open(request, timeout=HTTP_TIMEOUT) as answer:
                    return json.load(answer), url
            except urllib.error.HTTPError as exc:
                target = exc.headers.get("Location") if 300 <= exc.code < 400 else None
                exc.close()
                if not target:
                    raise SourceError(f"{url} answered HTTP {exc.code}") from None
                url = urllib.parse.urljoin(url, target)
            except (urllib.error.URLError, OSError) as exc:
                raise SourceError(f"{url} cannot be reached: {getattr(exc, 'reason', exc)}") from None
            except ValueError as exc:
                raise SourceError(f"{url} did not answer JSON: {exc}") from None
        raise SourceError(f"{self.url} redirected more than {MAX_REDIRECTS} times")

    def _page(self, url: str) -> tuple[list, str]:
        body, url = self._answer(url)
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
