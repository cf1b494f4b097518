"""Entry files (`cascade entry publish FILE`) are checked like configs: snake_case names, every
bad field at once, "did you mean" for a near miss, and a responsibility list's spellings."""

import pytest
import yaml
from click.testing import CliRunner

from cli import main
from node.catalog.entry_files import EntryFileError, read_entries
from test_cli_security import tls_node  # noqa: F401 (fixture)

GOOD = {
    "resource_code": "130000001/000001", "name": "全员人口基础信息", "provider_code": "130000001",
    "provider_name": "河北省公安厅", "region_code": "130000", "category": "base",
    "data_items": [{"name": "公民身份号码", "type": "string", "length": 18}, {"name": "姓名"}],
    "share_type": "conditional", "share_condition": "需说明办理事项", "share_method": "api",
    "open_type": "not_open", "update_cycle": "daily",
}


def problems(entry: dict) -> list[str]:
    with pytest.raises(EntryFileError) as caught:
        read_entries([entry])
    return caught.value.problems


def test_a_good_entry_reads_unchanged_but_for_item_types():
    assert read_entries([GOOD]) == [GOOD | {"data_items": [GOOD["data_items"][0], {"name": "姓名", "type": "string"}]}]


def test_a_misspelt_field_is_named_with_the_nearest_and_the_snake_case_names():
    found = problems({k: v for k, v in GOOD.items() if k != "share_method"} | {"share_methd": "api"})
    assert len(found) == 1, found
    assert found[0].startswith("entry 0: share_methd: unknown field (did you mean share_method?); the fields are ")
    assert "share_method" in found[0] and "shareMethod" not in found[0]


def test_every_bad_field_is_reported_at_once():
    entry = {k: v for k, v in GOOD.items() if k not in ("name", "update_cycle")}
    entry |= {"share_type": "maybe", "data_items": [{"name": "姓名", "lenght": 50}, {"name": "x", "type": "strng"}]}
    found = problems(entry)
    assert [p.split(":")[1].strip() for p in found] == \
        ["data_items[0].lenght", "data_items[1].type", "share_type", "name", "update_cycle"], found
    assert "(did you mean length?)" in found[0] and "(did you mean string?)" in found[1]
    assert "'maybe' is not a share_type; one of unconditional (无条件共享) | conditional (有条件共享)" in found[2]
    assert found[3].endswith("name: is required") and found[4].endswith("update_cycle: is required")


@pytest.mark.parametrize("field, spelling, value", [
    ("share_type", "有条件", "conditional"), ("share_type", "无条件共享", "unconditional"),
    ("update_cycle", "每日", "daily"), ("update_cycle", "按季度", "quarterly"), ("share_method", "库表", "database"),
    ("open_type", "不予开放", "not_open"), ("category", "基础", "base"),
])
def test_the_spellings_the_excel_import_takes_are_taken(field, spelling, value):
    assert read_entries([GOOD | {field: spelling}])[0][field] == value


def test_item_types_keywords_and_unquoted_codes_as_people_write_them():
    entry = GOOD | {"region_code": 130000, "provider_code": 130000001, "keywords": "人口、户籍,身份证",
                    "data_items": [{"name": "出生日期", "type": "日期"}, "姓名(varchar,50)"]}
    read = read_entries([entry])[0]
    assert read["region_code"] == "130000" and read["provider_code"] == "130000001"
    assert read["keywords"] == ["人口", "户籍", "身份证"]
    assert read["data_items"] == [{"name": "出生日期", "type": "date"}, {"name": "姓名", "type": "string", "length": 50}]


def test_the_apis_camel_case_is_read_too():
    entry = {k: v for k, v in GOOD.items() if k != "update_cycle"} | {"updateCycle": "weekly"}
    assert read_entries([entry])[0]["update_cycle"] == "weekly"


def cascade(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_publish_reports_every_problem_before_calling_a_node(tmp_path):
    path = tmp_path / "entry.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in GOOD.items() if k not in ("name", "open_type")}
                                   | {"nmae": "x"}, allow_unicode=True))
    result = cascade("entry", "publish", path, "--target", "127.0.0.1:1")  # nothing listens: never reached
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: {path}: entry 0: nmae: unknown field (did you mean name?)")
    assert lines[1] == f"error: {path}: entry 0: open_type: is required"
    assert len(lines) == 2 and "node.proto.Entry" not in result.stderr


def test_an_entry_in_a_lists_spellings_is_published_in_the_domains(tls_node, tmp_path):  # noqa: F811
    token = cascade("token", "issue", "--config", tls_node.config, "--department", "130000001", "-q").stdout.strip()
    police = ["--target", tls_node.address, *tls_node.police, "--server-name", "hebei", "--token", token]
    path = tmp_path / "entry.yaml"
    path.write_text(yaml.safe_dump(GOOD | {"share_type": "有条件", "update_cycle": "每月", "share_method": "库表",
                                           "category": "主题"}, allow_unicode=True))
    published = cascade("entry", "publish", path, *police)
    assert published.exit_code == 0, published.output
    got = yaml.safe_load(cascade("entry", "get", "130000001/000001", *police).stdout)
    assert (got["share_type"], got["update_cycle"], got["share_method"], got["category"]) == \
        ("conditional", "monthly", "database", "theme")
