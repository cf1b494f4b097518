"""Looking a record up by its key without scanning the source: the checks a keyed mount must
meet (an SQLite source has an index on the key columns, or the node creates one when told
to), the look-up itself on an SQLite table, the lookup index the node keeps for a CSV or
XLSX file, built on first use and rebuilt when the file changes, and an HTTP JSON API that
takes the key in its URL template.

Key values are compared as node/model/masking.normalise makes them: an ID number asked with a
lower-case x, or in full-width digits, finds the record."""

from __future__ import annotations

import collections
import os
import sqlite3
import threading
import urllib.parse
from typing import Sequence

from node.exchange.access import Gate
from node.exchange.sources import Batch, HttpSource, SourceError, SqliteSource, _quote, json_text
from node.model.masking import normalise

Key = tuple[str, ...]  # the values of the key columns, in the mount's key order
MAX_FILES = 8  # file indexes kept at once: the node's memory does not grow with its mounts
IN_LIMIT = 900  # spellings in one IN (...): under SQLite's limit on parameters, whatever its build


def key_variants(value: str) -> list[str]:
    """The spellings of a key value a source may hold: as asked (without surrounding spaces) and
    normalised (half-width, an ID number's X in upper case), and that X in lower case."""
    plain, norm = value.strip(), normalise(value)
    found = dict.fromkeys([plain, norm])
    if norm.endswith("X"):
        found[norm[:-1] + "x"] = None
    return list(found)


# -- SQLite ------------------------------------------------------------------------------------

def indexed_columns(conn: sqlite3.Connection, table: str) -> list[list[str]]:
    """The columns of each index of the table, in index order; an INTEGER PRIMARY KEY, which is
    the table's rowid (its own b-tree, listed by no index), counts as one."""
    found = []
    for row in conn.execute(f"PRAGMA index_list({_quote(table)})").fetchall():
        found.append([info[2] for info in conn.execute(f"PRAGMA index_info({_quote(row[1])})").fetchall()])
    primary = [(name, kind) for _, name, kind, _, _, pk in conn.execute(f"PRAGMA table_info({_quote(table)})")
               if pk]
    if len(primary) == 1 and primary[0][1].upper() == "INTEGER":
        found.append([primary[0][0]])
    return found


def has_key_index(conn: sqlite3.Connection, table: str, key_columns: Sequence[str]) -> bool:
    """Whether an index leads with exactly the key's columns (in any order): a look-up then
    reads a few pages of the index, not the table."""
    wanted = set(key_columns)
    return any(set(columns[:len(wanted)]) == wanted for columns in indexed_columns(conn, table))


class NoKeyIndex(SourceError):
    """A keyed SQLite source without an index to look its key up by (or a view, which has none)."""


def check_sqlite_key(source: SqliteSource, key_columns: Sequence[str], create: bool, gate: Gate) -> str:
    """Refuses (SourceError, naming the column) a keyed mount whose table has no index on the
    key; with `create`, creates the index in the source file (the node must be able to write
    it). Returns what was done: "" or the index created."""
    kind = source.conn.execute("SELECT type FROM sqlite_master WHERE name = ?", (source.table,)).fetchone()
    if kind and kind[0] == "view":
        raise NoKeyIndex(f"{source.table!r} is a view: it has no index to look a key up by; mount the table itself")
    if has_key_index(source.conn, source.table, key_columns):
        return ""
    named = ", ".join(key_columns)
    if not create:
        raise NoKeyIndex(f"{source.table!r} has no index on the key column {named}: create one "
                          f"(CREATE INDEX ... ON {source.table}({named})) or mount with index: create")
    name = "cascade_key_" + "_".join([source.table, *key_columns])
    source.conn.execute("COMMIT")  # our own read transaction would hold the writer off
    fd, real = gate.open_file(source.path)  # the department's own file, checked again before writing it
    os.close(fd)
    try:
        with sqlite3.connect(f"file:{urllib.parse.quote(real)}?mode=rw", uri=True, timeout=10) as db:
            db.execute(f"CREATE INDEX IF NOT EXISTS {_quote(name)} ON {_quote(source.table)}("
                       f"{', '.join(map(_quote, key_columns))})")
        db.close()
    except sqlite3.DatabaseError as exc:
        raise SourceError(f"the node cannot create an index on {named} in {source.path}: {exc}") from None
    return name


def sqlite_lookup(source: SqliteSource, columns: Sequence[str], key_columns: Sequence[str], keys: Sequence[Key],
                  filter_column: str = "", filter_prefix: str = "") -> list[Batch]:
    """The rows (projected onto `columns`, in rowid order) of each key, inside the filter."""
    select = ", ".join(f"ifnull(CASE typeof({_quote(c)}) WHEN 'blob' THEN hex({_quote(c)}) "
                       f"ELSE CAST({_quote(c)} AS TEXT) END, '')" for c in columns)
    where, params = source._where(filter_column, filter_prefix)
    if len(key_columns) == 1 and len(keys) > 1:
        return _sqlite_batch(source, select, key_columns[0], keys, where, params)
    answers = []
    for key in keys:
        variants = [key_variants(v) for v in key]
        clauses = " AND ".join(f"{_quote(c)} IN ({', '.join('?' * len(v))})" for c, v in zip(key_columns, variants))
        sql = f"SELECT {select} FROM {_quote(source.table)} WHERE {clauses}{where.replace(' WHERE', ' AND')}{source.order}"
        answers.append(source.conn.execute(sql, [v for vs in variants for v in vs] + list(params)).fetchall())
    return answers


def _sqlite_batch(source: SqliteSource, select: str, key_column: str, keys: Sequence[Key], where: str,
                  params: tuple) -> list[Batch]:
    """A batch of single-column keys in a few statements (one per IN_LIMIT spellings) instead of
    one per key: each row found goes to every key it is a spelling of, in rowid order."""
    asked: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        for variant in key_variants(key[0]):
            asked.setdefault(variant, []).append(i)
    answers: list[Batch] = [[] for _ in keys]
    spellings = list(asked)
    column = _quote(key_column)
    for start in range(0, len(spellings), IN_LIMIT):
        part = spellings[start:start + IN_LIMIT]
        sql = (f"SELECT CAST({column} AS TEXT), {select} FROM {_quote(source.table)} WHERE {column} IN "
               f"({', '.join('?' * len(part))}){where.replace(' WHERE', ' AND')}{source.order}")
        for row in source.conn.execute(sql, [*part, *params]):
            for i in asked.get(row[0], ()):
                answers[i].append(row[1:])
    return answers


# -- CSV and XLSX --------------------------------------------------------------------------------

class FileIndex:
    """One file's rows by normalised key, and the file's identity when it was read."""

    def __init__(self, stamp: tuple, header: list[str], key_columns: Sequence[str], rows: dict[Key, list[tuple]]):
        self.stamp, self.header, self.key_columns, self.rows = stamp, header, tuple(key_columns), rows


def file_stamp(gate: Gate, path: str) -> tuple:
    """What tells one state of a file from another: its device, inode, size and modification time."""
    fd, real = gate.open_file(path)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class FileIndexes:
    """The lookup indexes of a node's CSV and XLSX mounts: built on the first look-up of a file,
    rebuilt when its identity, size or modification time changes, the least recently used
    dropped past MAX_FILES. Thread-safe; a build happens once however many callers wait on it."""

    def __init__(self, max_files: int = MAX_FILES):
        self.max_files = max_files
        self._indexes: collections.OrderedDict[tuple, FileIndex] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0  # how many times a file was read whole (the tests count them)

    def index(self, source, key_columns: Sequence[str]) -> FileIndex:
        """The current index of the source's file by these key columns."""
        stamp = file_stamp(source.gate, source.path)
        slot = (stamp[0], tuple(key_columns))
        with self._lock:
            found = self._indexes.get(slot)
            if found is not None and found.stamp == stamp:
                self._indexes.move_to_end(slot)
                return found
            header = source.columns()
            at = [header.index(c) for c in key_columns]
            rows: dict[Key, list[tuple]] = {}
            for batch in source.batches(header):
                for row in batch:
                    rows.setdefault(tuple(normalise(row[i]) for i in at), []).append(row)
            self.builds += 1
            built = FileIndex(stamp, header, key_columns, rows)
            if file_stamp(source.gate, source.path) == stamp:  # unchanged while read: keep it
                self._indexes[slot] = built
                while len(self._indexes) > self.max_files:
                    self._indexes.popitem(last=False)
            return built

    def lookup(self, source, columns: Sequence[str], key_columns: Sequence[str], keys: Sequence[Key],
               filter_column: str = "", filter_prefix: str = "") -> list[Batch]:
        index = self.index(source, key_columns)
        picks = [index.header.index(c) for c in columns]
        at = index.header.index(filter_column) if filter_column else -1
        answers = []
        for key in keys:
            rows = index.rows.get(tuple(normalise(v) for v in key), [])
            answers.append([tuple(row[i] for i in picks) for row in rows
                            if at < 0 or row[at].startswith(filter_prefix)])
        return answers


# -- HTTP ----------------------------------------------------------------------------------------

def placeholders(template: str) -> list[str]:
    """The {ITEM} names in a URL template, in order."""
    found, rest = [], template
    while "{" in rest:
        _, _, rest = rest.partition("{")
        name, closed, rest = rest.partition("}")
        if not closed:
            break
        found.append(name)
    return found


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each {ITEM} replaced by its value, normalised and URL-quoted."""
    url = template
    for item, value in values.items():
        url = url.replace("{" + item + "}", urllib.parse.quote(normalise(value), safe=""))
    return url


class HttpKeyedSource(HttpSource):
    """An HTTP JSON API asked one key at a time: the mount's location is a URL template naming
    every key item ({统一社会信用代码}). It cannot list every row, so it serves no fetch; its
    columns are known only from an answer (columns() is None). Every URL passes the gate."""

    def __init__(self, template: str, key_items: Sequence[str], gate: Gate | None = None):
        super().__init__(template, gate)
        self.key_items = tuple(key_items)

    def columns(self):
        return None

    def count(self, filter_column="", filter_prefix="") -> int:
        return -1

    def batches(self, columns, filter_column="", filter_prefix="", size=1000):
        raise SourceError("an http source mounted with a URL template answers by key only (query, verify), "
                          "not a whole fetch")

    def lookup(self, columns: Sequence[str], key_columns: Sequence[str], keys: Sequence[Key], filter_column: str = "",
               filter_prefix: str = "") -> list[Batch]:
        """Per key: the objects of the answer whose key columns hold the key (an API may answer
        more than was asked), inside the filter, projected onto `columns`."""
        answers = []
        for key in keys:
            url = fill(self.url, dict(zip(self.key_items, key)))
            wanted = tuple(normalise(v) for v in key)
            rows = []
            for item in self._objects_at(url):
                if tuple(normalise(json_text(item.get(c))) for c in key_columns) != wanted:
                    continue
                if filter_column and not json_text(item.get(filter_column)).startswith(filter_prefix):
                    continue
                lacking = [c for c in columns if c not in item]
                if lacking:
                    raise SourceError(f"the API's answer has no field {', '.join(lacking)}")
                rows.append(tuple(json_text(item.get(c)) for c in columns))
            answers.append(rows)
        return answers

    def _objects_at(self, url: str):
        try:
            objects, _ = self._page(url)
        except SourceError as exc:
            if "HTTP 404" in str(exc):  # an API that says "no such record" so
                return []
            raise
        return [o for o in objects if isinstance(o, dict)]
