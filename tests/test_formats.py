"""The format rules of data elements: a valid generated 公民身份号码 or 统一社会信用代码 passes its
check character, and any single character changed fails (property tests); dates, region codes,
telephone numbers; and the rules on elements and their sources."""

from __future__ import annotations

import dataclasses
import string
from datetime import date

import pytest
from hypothesis import given, strategies as st

from node.errors import Invalid
from node.model import elements, formats
from node.model.elements import EACH_PROVINCE, Element, Registry, Source
from node.model.rules import DataItem
from conftest import make_entry

ID_CHARS = string.digits + "X"


@st.composite
def id_numbers(draw) -> str:
    region = draw(st.sampled_from(["110101", "130102", "440305", "660000"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    first = region + born.strftime("%Y%m%d") + draw(st.text(alphabet=string.digits, min_size=3, max_size=3))
    return first + formats.id_check_character(first)


@st.composite
def credit_codes(draw) -> str:
    first = draw(st.text(alphabet=formats.CREDIT_ALPHABET, min_size=17, max_size=17))
    return first + formats.credit_check_character(first)


def changed(value: str, draw, alphabet: str) -> str:
    at = draw(st.integers(0, len(value) - 1))
    other = draw(st.sampled_from([c for c in alphabet if c != value[at]]))
    return value[:at] + other + value[at + 1:]


@given(id_numbers(), st.data())
def test_a_valid_id_number_passes_and_any_single_character_changed_fails(number, data):
    assert formats.is_id_number(number)
    assert not formats.is_id_number(changed(number, data.draw, ID_CHARS + "AZ -٠５"))  # other scripts' digits too


@given(credit_codes(), st.data())
def test_a_valid_credit_code_passes_and_any_single_character_changed_fails(code, data):
    assert formats.is_credit_code(code)
    assert not formats.is_credit_code(changed(code, data.draw, formats.CREDIT_ALPHABET + "IOZSV a-"))


@given(st.text(max_size=20))
def test_no_text_is_taken_for_an_id_number_or_a_credit_code_unless_its_check_character_is_right(text):
    if formats.is_id_number(text):
        assert formats.id_check_character(text[:17]) == text[17]
    if formats.is_credit_code(text):
        assert formats.credit_check_character(text[:17]) == text[17]


def test_known_numbers_from_the_standards():
    assert formats.is_id_number("11010519491231002X")  # the example of GB 11643
    assert formats.is_credit_code("91350100M000100Y43")
    assert not formats.is_id_number("110105194912310021") and not formats.is_id_number("11010519491331002X")


@pytest.mark.parametrize("value, good", [("2024-02-29", True), ("20240229", True), ("2023-02-29", False),
                                         ("2024-02-29 08:00:00", True), ("2024-02-29x", False), ("昨天", False)])
def test_dates(value, good):
    assert formats.is_date(value) is good


def test_region_codes_and_phones():
    assert formats.is_region_code("130102") and not formats.is_region_code("990000")
    assert formats.is_phone("13812345678") and formats.is_phone("010-12345678") and not formats.is_phone("12345")


POLICE = Element("公民身份号码", "string", "id_number", ("身份证号",), sources=(
    Source("100000", "100000110", "公安部"), Source(EACH_PROVINCE, "001", "省级公安厅")))


def test_the_source_of_an_element_is_the_province_s_own_else_every_province_s_else_the_nation_s():
    assert elements.source_department(POLICE, "130102") == "130000001"
    assert elements.source_department(POLICE, "100000") == "100000110"
    own = Element("公民身份号码", "string", sources=(*POLICE.sources, Source("440000", "440000009")))
    assert elements.source_department(own, "440300") == "440000009"


def test_an_item_refers_to_the_element_it_names_else_to_the_one_its_name_is():
    registry = Registry(1, (POLICE,))
    assert elements.element_of(DataItem("身份证号", "string", 18), registry) is POLICE
    assert elements.element_of(DataItem("号码", "string", 18, element="公民身份号码"), registry) is POLICE
    assert elements.element_of(DataItem("号码", "string", 18), registry) is None


def test_derived_from_must_be_another_entry_s_code():
    from node.model import rules

    with pytest.raises(Invalid, match="^derived_from:"):
        rules.validate_entry(make_entry("130000002", 1, derived_from="公安厅"))
    with pytest.raises(Invalid, match="^derived_from: must name another entry"):
        rules.validate_entry(make_entry("130000002", 1, derived_from="130000002/000001"))
    rules.validate_entry(make_entry("130000002", 1, derived_from="130000001/000001"))


def test_the_bundled_registry_is_valid():
    from node.catalog.elements import bundled_default

    registry = bundled_default()
    assert registry.version == 1 and registry.named("身份证号").name == "公民身份号码"


def test_a_responsibility_list_row_keeps_the_elements_and_derived_from_of_the_entry_it_updates():
    import dataclasses

    from node.catalog import lists

    held = make_entry("130000002", 1, data_items=(DataItem("号码", "string", 18, element="公民身份号码"),
                                                  DataItem("姓名", "string", 50)), derived_from="130000001/000001")
    row = dataclasses.replace(held, resource_code="", derived_from="",  # as a sheet gives it: no such columns
                              data_items=tuple(dataclasses.replace(i, element="") for i in held.data_items))
    planned, problems = lists.plan(lists.rows.Read([lists.Row(2, row)], [], [], {}), [held])
    assert not problems and planned[0].outcome == "unchanged"
    assert planned[0].entry.data_items[0].element == "公民身份号码" and planned[0].entry.derived_from


def governed_entries():
    """Entries whose items name elements, with derived_from and a quality: as test_domain's, plus these."""
    from test_domain import valid_entries

    from node.model.quality import ItemQuality, Quality
    from node.model.rules import utcnow

    qualities = st.one_of(st.none(), st.builds(
        lambda score, rows, failed: Quality(score, utcnow(), rows, (ItemQuality("号码", "公民身份号码", "id_number",
                                                                              failed, rows - failed),)),
        st.floats(0, 100), st.integers(0, 10**9), st.integers(0, 10)))
    return st.builds(
        lambda entry, elements_named, derived, quality: dataclasses.replace(
            entry, quality=quality, derived_from=f"130000001/{derived:06d}" if derived else "",
            data_items=tuple(dataclasses.replace(i, element=e) for i, e in zip(entry.data_items, elements_named))),
        valid_entries(), st.lists(st.sampled_from(["", "公民身份号码", "姓名"]), max_size=5), st.integers(0, 99),
        qualities)


@given(governed_entries())
def test_elements_derived_from_and_quality_round_trip_through_protobuf_and_the_store(entry):
    from node import wire
    from node.proto import catalog_pb2
    from node.store.rows import StoredEntry, prepare, row_entry

    assert wire.entry_from_proto(catalog_pb2.Entry.FromString(wire.entry_to_proto(entry).SerializeToString())) == entry
    assert row_entry(prepare(entry)[1]) == entry
    assert wire.stored_entry_to_proto(StoredEntry(*prepare(entry)[1]), catalog_pb2.Entry()) == wire.entry_to_proto(entry)
    caller = wire.entry_from_proto(wire.entry_to_proto(entry), with_node_fields=False)
    assert caller.quality is None and caller.derived_from == entry.derived_from  # the node sets the quality
