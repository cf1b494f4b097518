"""Entry rules of docs/domain.md and the entry <-> protobuf round-trip."""

import dataclasses
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from conftest import make_entry
from node.model import rules
from node import wire
from node.model.rules import DataItem, InvalidEntry

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
INVISIBLE = " \t\u3000" + ZERO_WIDTH


def shows_as_a_name(value: str) -> bool:
    """No control (C0, C1) nor bidirectional control character, and not only invisible ones."""
    return (not any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in value)
            and not all(ch.isspace() or ch in ZERO_WIDTH for ch in value))


name = (st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=BIDI_CONTROLS),
               min_size=1, max_size=30).filter(shows_as_a_name))
items = st.lists(
    st.builds(DataItem, name=name, type=st.sampled_from(rules.ITEM_TYPES),
              length=st.integers(0, 10_000), description=text),
    min_size=1, max_size=5, unique_by=lambda i: i.name,
)


def valid_entries():
    return st.builds(
        lambda provider, seq, name, summary, cat, items, share, method, open_, cycle, kws, version, withdrawn:
        make_entry(provider, seq, name=name, summary=summary, category=cat, data_items=tuple(items),
                   share_type=share, share_condition="须说明用途" if share == "conditional" else "",
                   not_shared_basis="《中华人民共和国保守国家秘密法》" if share == "not_shared" else "",
                   share_method=method, open_type=open_, update_cycle=cycle, keywords=tuple(kws),
                   version=version, withdrawn=withdrawn, origin="hebei",
                   published_at=rules.utcnow(), updated_at=rules.utcnow()),
        st.sampled_from(["130100005", "130000001", "440300002"]), st.integers(0, 999_999),
        name, text, st.sampled_from(rules.CATEGORIES), items,
        st.sampled_from(rules.SHARE_TYPES), st.sampled_from(rules.SHARE_METHODS),
        st.sampled_from(rules.OPEN_TYPES), st.sampled_from(rules.UPDATE_CYCLES),
        st.lists(name.filter(lambda s: len(s) <= rules.MAX_KEYWORD), max_size=3), st.integers(1, 2**40), st.booleans(),
    )


@given(valid_entries())
def test_valid_entries_pass_and_round_trip_through_protobuf(entry):
    rules.validate_entry(entry)
    again = wire.entry_from_proto(wire.entry_to_proto(entry))
    assert again == entry
    encoded = wire.entry_to_proto(entry).SerializeToString()
    from node.proto import catalog_pb2

    assert wire.entry_from_proto(catalog_pb2.Entry.FromString(encoded)) == entry


@given(valid_entries())
def test_an_entry_as_stored_encodes_as_the_entry_does(entry):
    """A peer sends the rows it reads without decoding them (wire.stored_entry_to_proto): the
    message must be the one the decoded entry gives."""
    from node.proto import catalog_pb2
    from node.store.rows import StoredEntry, prepare

    assert wire.stored_entry_to_proto(StoredEntry(*prepare(entry)[1]), catalog_pb2.Entry()) == wire.entry_to_proto(entry)


def test_caller_cannot_set_node_fields():
    entry = make_entry(origin="elsewhere", version=99, withdrawn=True, published_at=rules.utcnow())
    stripped = wire.entry_from_proto(wire.entry_to_proto(entry), with_node_fields=False)
    assert (stripped.origin, stripped.version, stripped.withdrawn, stripped.published_at) == ("", 0, False, None)


BREAKS = [
    ("resource_code", dict(resource_code="130100005-000001"), "resource_code"),
    ("code of another provider", dict(resource_code="130100006/000001"), "resource_code"),
    ("provider code shape", dict(provider_code="13010005"), "provider_code"),
    ("provider code in other digits", dict(provider_code="13010000\u0665", resource_code="13010000\u0665/000001"),
     "provider_code"),
    ("provider code with a final newline", dict(provider_code="130100005\n"), "provider_code"),
    ("resource code with a final newline", dict(resource_code="130100005/000001\n"), "resource_code"),
    ("region code with a final newline", dict(region_code="130100\n"), "region_code"),
    ("unknown region", dict(region_code="990000", provider_code="990000001", resource_code="990000001/000001"), "region_code"),
    ("provider outside region", dict(region_code="130200"), "provider_code"),
    ("blank name", dict(name="   "), "name"),
    ("long name", dict(name="名" * 201), "name"),
    ("long summary", dict(summary="x" * 2001), "summary"),
    ("blank provider name", dict(provider_name=""), "provider_name"),
    ("category", dict(category="basic"), "category"),
    ("share_type", dict(share_type="open"), "share_type"),
    ("conditional without condition", dict(share_type="conditional", share_condition=""), "share_condition"),
    ("not_shared without basis", dict(share_type="not_shared", not_shared_basis=""), "not_shared_basis"),
    ("share_method", dict(share_method="ftp"), "share_method"),
    ("open_type", dict(open_type="public"), "open_type"),
    ("update_cycle", dict(update_cycle="hourly"), "update_cycle"),
    ("no data items", dict(data_items=()), "data_items"),
    ("repeated item", dict(data_items=(DataItem("a", "string"), DataItem("a", "integer"))), "data_items[1].name"),
    ("item type", dict(data_items=(DataItem("a", "text"),)), "data_items[0].type"),
    ("negative length", dict(data_items=(DataItem("a", "string", -1),)), "data_items[0].length"),
    ("blank keyword", dict(keywords=("人口", " ")), "keywords[1]"),
    ("NUL in name", dict(name="企业\x00信息"), "name"),
    ("ESC in name", dict(name="\x1b[2J企业信息"), "name"),
    ("C1 control in name", dict(name="企业\x85信息"), "name"),
    ("line break in name", dict(name="企业\n信息"), "name"),
    ("bidi override in provider name", dict(provider_name="市场监督\u202e局理管"), "provider_name"),
    ("bidi isolate in source system", dict(source_system="\u2066登记系统\u2069"), "source_system"),
    ("only zero-width name", dict(name="\u200b\u200d\ufeff"), "name"),
    ("only invisible source system", dict(source_system="\u2060 "), "source_system"),
    ("bidi mark in item name", dict(data_items=(DataItem("名称\u200f", "string"),)), "data_items[0].name"),
    ("only zero-width item name", dict(data_items=(DataItem("a", "string"), DataItem("\u200c", "string"))),
     "data_items[1].name"),
    ("ESC in keyword", dict(keywords=("人口", "\x1b]0;")), "keywords[1]"),
]


@pytest.mark.parametrize("why, change, field", BREAKS, ids=[b[0] for b in BREAKS])
def test_each_rule_names_its_field(why, change, field):
    with pytest.raises(InvalidEntry) as caught:
        rules.validate_entry(make_entry(**change))
    assert caught.value.field == field
    assert caught.value.rule


@settings(max_examples=200)
@given(valid_entries(), st.sampled_from(BREAKS))
def test_any_broken_rule_is_caught(entry, brk):
    _, change, field = brk
    broken = dataclasses.replace(entry, **change)
    with pytest.raises(InvalidEntry):
        rules.validate_entry(broken)


# Names as a hostile member might send them: ordinary text with control, bidirectional control and
# invisible characters mixed in, or made only of those.
hostile_name = st.text(st.one_of(st.sampled_from(["\x00", "\x1b", "\x7f", "\x9b", "\n"]),
                                  st.sampled_from(BIDI_CONTROLS), st.sampled_from(INVISIBLE),
                                  st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=12)
NAME_FIELDS = ("name", "provider_name", "source_system", "data_items[0].name", "keywords[0]")


def _with_name(entry, field, value):
    if field == "data_items[0].name":
        return dataclasses.replace(entry, data_items=(DataItem(value, "string", 10),))
    if field == "keywords[0]":
        return dataclasses.replace(entry, keywords=(value,))
    return dataclasses.replace(entry, **{field: value})


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    from node.catalog.publishing import Catalog
    from node.store import Store

    store = Store(tmp_path_factory.mktemp("names") / "node.db", synchronous="normal")
    yield Catalog(store, "hebei", {"130100005"})
    store.close()


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(NAME_FIELDS), value=hostile_name)
def test_no_name_with_control_bidi_or_only_invisible_characters_is_ever_stored(catalog, field, value):
    entry = _with_name(make_entry(resource_code=""), field, value)
    try:
        [stored], _ = catalog.publish([entry])
    except InvalidEntry as exc:
        assert exc.field == field, exc
        assert not shows_as_a_name(value), exc
        return
    kept = catalog.get(stored.resource_code)
    names = [kept.name, kept.provider_name, kept.source_system, *kept.keywords, *(i.name for i in kept.data_items)]
    assert all(shows_as_a_name(n) for n in names), names
    assert value in names
