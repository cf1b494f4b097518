"""Responsibility list files refused before they are parsed (size, expansion), and the cells
departments write data items and keywords in, read back as they were written."""

from __future__ import annotations

import pathlib

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from cli import main
from node.catalog import lists
from node.catalog.lists import cells
from node.model.rules import ITEM_TYPES, DataItem


def cascade(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def zip_bomb(path: pathlib.Path, mib: int) -> pathlib.Path:
    """A workbook-shaped zip whose one sheet unzips to about MIB mebibytes of empty rows."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        rows = b"<row/>" * (2**20 // 6)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for _ in range(mib):
                sheet.write(rows)
    return path


@pytest.fixture
def parsing_forbidden(monkeypatch):
    """openpyxl refuses to open anything: a file refused by its limits never gets that far."""
    def parse(*args, **kwargs):
        raise RuntimeError("the workbook was handed to openpyxl")

    monkeypatch.setattr(openpyxl, "load_workbook", parse)


def test_a_zip_bomb_is_refused_before_it_is_parsed(tmp_path, parsing_forbidden):
    bomb = zip_bomb(tmp_path / "清单.xlsx", 80)
    assert bomb.stat().st_size < 2**20
    result = cascade("entry", "import", bomb, "--dry-run")
    assert result.exit_code != 0
    assert f"{bomb}: refused: its parts unzip to {80 * (2**20 // 6 * 6) + 8:,} bytes, over the limit of " \
           f"{lists.files.LIMITS.max_expanded:,}" in result.output, result.output


def test_a_part_that_unzips_too_many_times_its_size_or_a_file_too_large_is_refused(tmp_path, parsing_forbidden):
    dense = zip_bomb(tmp_path / "dense.xlsx", 8)  # under the total, but ~600 times its zipped size
    with pytest.raises(lists.ListFileError, match=r"dense.xlsx: refused: its part xl/worksheets/sheet1.xml "
                                                  r"unzips 8,388,576 bytes from [\d,]+, more than the limit of 100 times"):
        lists.read_sheet(dense)
    big = tmp_path / "big.csv"
    big.write_text("共享信息名称,数据项\n" + "名称,数据项\n" * 1000, encoding="utf-8")
    with pytest.raises(lists.ListFileError, match=r"big.csv: refused: [\d,]+ bytes, over the limit of 4,096"):
        lists.read_sheet(big, lists.files.FileLimits(max_bytes=4096))


# -- the cell parsers -----------------------------------------------------------------------------

_SPECIAL = "、，,;；\n\r()（）"
_text = st.text(st.characters(blacklist_characters=_SPECIAL, blacklist_categories=("Cs", "Cc")), min_size=1,
                max_size=12).map(str.strip).filter(bool)
_items = st.lists(st.builds(DataItem, _text, st.sampled_from(ITEM_TYPES), st.integers(0, 100_000),
                            st.one_of(st.just(""), _text)), min_size=1, max_size=8)


@given(_items)
def test_data_items_round_trip_through_their_cell(items):
    assert cells.parse_items(cells.format_items(tuple(items))) == tuple(items)


@given(st.lists(_text, max_size=6))
def test_keywords_round_trip_through_their_cell(keywords):
    assert cells.parse_keywords(cells.format_keywords(tuple(keywords))) == tuple(keywords)


@pytest.mark.parametrize("text, item", [
    ("姓名", DataItem("姓名", "string")),
    ("姓名（字符串，50）", DataItem("姓名", "string", 50)),
    ("出生日期(date)", DataItem("出生日期", "date")),
    ("备注(varchar(200))", DataItem("备注", "string", 200)),
    ("金额（元）", DataItem("金额（元）", "string")),
    ("说明(字符串,10,见(附件)，含逗号)", DataItem("说明", "string", 10, "见(附件)，含逗号")),
])
def test_a_data_item_in_the_ways_departments_write_it(text, item):
    assert cells.parse_item(text) == item


@pytest.mark.parametrize("text, rule", [
    ("姓名(整数x,5)", "the type '整数x' is none of"),
    ("年龄(整数,abc)", "the length 'abc' is not a whole number"),
    ("姓名(字符串,50", "a bracket is opened and not closed"),
])
def test_a_data_item_that_cannot_be_read_says_why(text, rule):
    with pytest.raises(cells.CellError, match=rule.replace("(", r"\(")):
        cells.parse_items(text)
