"""Looking a key up in a source without scanning it (node/exchange/lookup.py): an XLSX sheet's
lookup index, rebuilt when the file changes; an SQLite view refused as a keyed source; a batch
of keys answered like the same keys one by one."""

from __future__ import annotations

import os
import sqlite3

import openpyxl
import pytest

from node.exchange.lookup import FileIndexes, check_sqlite_key, sqlite_lookup
from node.exchange.sources import SourceError, SqliteSource, XlsxSource
from node.exchange.access import anywhere

HEADER = ["公民身份号码", "姓名", "住所"]
PEOPLE = [["44030519800101123X", "张三丰", "广东省深圳市南山区科技园路1号"],
          ["440305199002022345", "李四", "广东省深圳市福田区福华路8号"],
          ["110101198503033456", "王五", "北京市东城区东长安街1号"]]


def workbook(path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)


def test_an_xlsx_sheet_is_indexed_once_and_again_when_it_changes(tmp_path):
    path = tmp_path / "people.xlsx"
    workbook(path, PEOPLE)
    indexes = FileIndexes()
    source = XlsxSource(str(path), gate=anywhere())
    keys = [("44030519800101123x",), ("110101198503033456",), ("110101198503030000",)]
    assert indexes.lookup(source, ["姓名"], ["公民身份号码"], keys) == [[("张三丰",)], [("王五",)], []]
    # Inside a filter only: the key outside it finds nothing, like a key that is not there.
    assert indexes.lookup(source, ["姓名"], ["公民身份号码"], keys, "住所", "广东省") == [[("张三丰",)], [], []]
    assert indexes.builds == 1
    workbook(path, PEOPLE[:1])
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert indexes.lookup(source, ["姓名"], ["公民身份号码"], keys) == [[("张三丰",)], [], []]
    assert indexes.builds == 2


@pytest.fixture
def people_db(tmp_path):
    path = tmp_path / "people.db"
    with sqlite3.connect(path) as db:
        db.execute('CREATE TABLE people ("公民身份号码" TEXT, "姓名" TEXT, "住所" TEXT)')
        db.executemany("INSERT INTO people VALUES (?, ?, ?)", PEOPLE * 2)  # each person twice: two rows a key
        db.execute("CREATE VIEW people_view AS SELECT * FROM people")
    db.close()
    return str(path)


def test_a_view_cannot_be_keyed_and_a_table_needs_its_index(people_db):
    view = SqliteSource(people_db, "people_view", anywhere())
    with pytest.raises(SourceError, match="is a view"):
        check_sqlite_key(view, ["公民身份号码"], True, anywhere())
    view.close()
    table = SqliteSource(people_db, "people", anywhere())
    with pytest.raises(SourceError, match="no index on the key column 公民身份号码"):
        check_sqlite_key(table, ["公民身份号码"], False, anywhere())
    assert check_sqlite_key(table, ["公民身份号码"], True, anywhere()).startswith("cascade_key_people")
    table.close()


def test_an_integer_primary_key_is_the_index_of_its_table(tmp_path):
    """The rowid's alias needs no index of its own: a table keyed by one is mounted as it is."""
    location = tmp_path / "codes.db"
    with sqlite3.connect(location) as db:
        db.execute("CREATE TABLE registered (code INTEGER PRIMARY KEY, name TEXT)")
        db.execute("CREATE TABLE listed (code INTEGER, name TEXT, PRIMARY KEY (code, name))")
        db.execute("INSERT INTO registered VALUES (4403, '深圳')")
    registered = SqliteSource(str(location), "registered", anywhere())
    assert check_sqlite_key(registered, ["code"], False, anywhere()) == ""  # no index made: none needed
    assert sqlite_lookup(registered, ["name"], ["code"], [("4403",)]) == [[("深圳",)]]
    registered.close()
    listed = SqliteSource(str(location), "listed", anywhere())  # a composite key is no rowid: its own index
    assert check_sqlite_key(listed, ["code", "name"], False, anywhere()) == ""
    with pytest.raises(SourceError, match="no index on the key column name"):
        check_sqlite_key(listed, ["name"], False, anywhere())
    listed.close()


def test_a_batch_answers_as_the_keys_one_by_one(people_db):
    source = SqliteSource(people_db, "people", anywhere())
    keys = [("44030519800101123x",), ("110101198503033456",), ("nobody",), ("４４０３０５１９９００２０２２３４５",),
            ("44030519800101123X",)]
    batch = sqlite_lookup(source, ["姓名"], ["公民身份号码"], keys)
    assert batch == [sqlite_lookup(source, ["姓名"], ["公民身份号码"], [key])[0] for key in keys]
    assert batch == [[("张三丰",)] * 2, [("王五",)] * 2, [], [("李四",)] * 2, [("张三丰",)] * 2]
    source.close()
