"""The CKAN package of an entry, field for field, and the bytes the open-data API writes: the
package is built on a fast path (times, organizations and item lists reused, a compiled JSON
encoder), so these pin what it must keep answering: every field of the package spelled out, no
package sharing anything a caller may change with another, times as CKAN writes them, and the
encoder's bytes the same as the standard library's for any value a package can hold."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from conftest import make_entry
from hypothesis import given
from hypothesis import strategies as st
from node import wire
from node.model.rules import DataItem
from portal import ckan

BASE = "http://portal.example"


def open_entry(**overrides):
    entry = wire.entry_to_proto(make_entry(open_type="open", **overrides))
    entry.published_at.FromSeconds(1767225600)
    entry.published_at.nanos = 123456789
    entry.updated_at.FromSeconds(1772438400)
    entry.origin, entry.version = "hebei", 7
    return entry


def test_a_package_spells_out_every_field_of_its_entry():
    entry = open_entry(share_type="conditional", share_condition="仅用于“社保”核验", name='名称 "带引号" \\ 与换行\n第二行',
                       keywords=("企业", 'a"b'), data_items=(DataItem("统一社会信用代码", "string", 18, "18位代码"),
                                                            DataItem("备注", "string", 0, "制表\t符")))
    page = f"{BASE}/entries/130100005/000001"
    created, modified = "2026-01-01T00:00:00.123456", "2026-03-02T08:00:00.000000"
    items = [{"name": "统一社会信用代码", "type": "string", "length": 18, "description": "18位代码"},
             {"name": "备注", "type": "string", "length": 0, "description": "制表\t符"}]
    assert ckan.package(entry, BASE) == {
        "id": "130100005-000001", "name": "130100005-000001", "title": '名称 "带引号" \\ 与换行\n第二行',
        "notes": "全省企业法人的登记、变更与注销信息", "type": "dataset", "state": "active", "private": False, "isopen": True,
        "version": "7", "url": page, "author": "市场监督管理局", "maintainer": "市场监督管理局", "license_id": "",
        "license_title": "", "metadata_created": created, "metadata_modified": modified, "owner_org": "130100005",
        "organization": {
            "id": "130100005", "name": "130100005", "title": "市场监督管理局", "display_name": "市场监督管理局",
            "description": "政务数据提供部门 市场监督管理局（部门代码 130100005，河北 130100）", "type": "organization",
            "is_organization": True, "state": "active", "approval_status": "approved", "image_url": "",
            "image_display_url": "", "created": None},
        "tags": [{"name": "企业", "display_name": "企业", "state": "active", "vocabulary_id": None},
                 {"name": 'a"b', "display_name": 'a"b', "state": "active", "vocabulary_id": None}],
        "num_tags": 2, "groups": [], "relationships_as_object": [], "relationships_as_subject": [],
        "resources": [{
            "id": "130100005-000001-items", "package_id": "130100005-000001", "name": "数据项", "position": 0,
            "state": "active", "description": "统一社会信用代码、备注", "format": "HTML", "url": page, "url_type": None,
            "resource_type": "documentation", "mimetype": "text/html", "created": created, "last_modified": modified}],
        "num_resources": 1,
        "data_items": items,
        "resource_code": "130100005/000001", "region_code": "130100", "category": "base", "share_type": "conditional",
        "update_cycle": "daily", "origin": "hebei",
        "extras": [
            {"key": "resource_code", "value": "130100005/000001"}, {"key": "provider_code", "value": "130100005"},
            {"key": "region_code", "value": "130100"}, {"key": "region", "value": "河北 130100"},
            {"key": "category", "value": "base"}, {"key": "share_type", "value": "conditional"},
            {"key": "share_condition", "value": "仅用于“社保”核验"}, {"key": "not_shared_basis", "value": ""},
            {"key": "share_method", "value": "api"}, {"key": "open_type", "value": "open"},
            {"key": "update_cycle", "value": "daily"}, {"key": "source_system", "value": "企业登记系统"},
            {"key": "origin", "value": "hebei"}, {"key": "version", "value": "7"},
            {"key": "data_items", "value": '[{"name": "统一社会信用代码", "type": "string", "length": 18, "description": '
                                           '"18位代码"}, {"name": "备注", "type": "string", "length": 0, '
                                           '"description": "制表\\t符"}]'}]}
    # the key order too: a harvester diffing the JSON text sees the same document
    assert list(ckan.package(entry, BASE)) == list(json.loads(json.dumps(ckan.package(entry, BASE))))


def test_an_entry_without_times_keywords_or_items():
    entry = open_entry(keywords=(), data_items=())
    entry.ClearField("published_at")
    entry.ClearField("updated_at")
    package = ckan.package(entry, BASE)
    assert package["metadata_created"] is package["metadata_modified"] is None
    assert package["resources"][0]["created"] is package["resources"][0]["last_modified"] is None
    assert package["tags"] == [] and package["num_tags"] == 0 and package["data_items"] == []
    assert package["resources"][0]["description"] == ""
    assert {x["key"]: x["value"] for x in package["extras"]}["data_items"] == "[]"


def test_packages_share_nothing_a_caller_may_change():
    """Two packages of one department: changing what one holds leaves the other (and the next) alone."""
    first, second = ckan.package(open_entry(), BASE), ckan.package(open_entry(seq=2), BASE)
    first["organization"]["title"] = "改过"
    first["tags"].append({"name": "x"})
    first["resources"][0]["url"] = "改过"
    first["extras"][0]["value"] = "改过"
    for package in (second, ckan.package(open_entry(seq=3), BASE)):
        assert package["organization"]["title"] == "市场监督管理局"
        assert [t["name"] for t in package["tags"]] == ["企业", "法人"]
        assert package["resources"][0]["url"].startswith(BASE)
        assert package["extras"][0]["value"].startswith("130100005/")


@given(st.integers(-62135596800, 253402300799), st.integers(0, 999_999_999))
def test_times_read_as_ckan_writes_them(seconds, nanos):
    entry = open_entry()
    entry.updated_at.seconds, entry.updated_at.nanos = seconds, nanos
    moment = datetime(1970, 1, 1) + timedelta(seconds=seconds, microseconds=nanos // 1000)
    expected = None if not seconds and not nanos else moment.isoformat(timespec="microseconds")
    assert ckan.package(entry, BASE)["metadata_modified"] == expected
    assert ckan.ckan_time(entry.updated_at) == expected


TEXT = st.text(st.characters(exclude_categories=("Cs",)))  # any code point a protobuf string can hold


@given(st.lists(st.tuples(TEXT, TEXT, st.integers(-(2**31), 2**31 - 1), TEXT), max_size=5))
def test_the_data_items_extra_is_the_standard_json_of_the_items(items):
    package = ckan.package(open_entry(data_items=tuple(DataItem(*item) for item in items)), BASE)
    assert package["data_items"] == [{"name": n, "type": t, "length": k, "description": d} for n, t, k, d in items]
    extra = {x["key"]: x["value"] for x in package["extras"]}["data_items"]
    assert extra == json.dumps(package["data_items"], ensure_ascii=False)
VALUES = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | TEXT,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                      max_leaves=20)


@given(VALUES)
def test_the_api_writes_the_same_bytes_as_the_standard_encoder(value):
    assert ckan.dumps(value) == json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
