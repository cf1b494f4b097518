"""Entry rules of docs/domain.md and the entry <-> protobuf round-trip."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import make_entry
from node.catalog import rules
from node.api import serde
from node.catalog.rules import DataItem, InvalidEntry

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
items = st.lists(
    st.builds(DataItem, name=text.filter(lambda s: s.strip()), type=st.sampled_from(rules.ITEM_TYPES),
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
        text.filter(lambda s: s.strip()), text, st.sampled_from(rules.CATEGORIES), items,
        st.sampled_from(rules.SHARE_TYPES), st.sampled_from(rules.SHARE_METHODS),
        st.sampled_from(rules.OPEN_TYPES), st.sampled_from(rules.UPDATE_CYCLES),
        st.lists(text.filter(lambda s: s.strip()), max_size=3), st.integers(1, 2**40), st.booleans(),
    )


@given(valid_entries())
def test_valid_entries_pass_and_round_trip_through_protobuf(entry):
    rules.validate_entry(entry)
    again = serde.entry_from_proto(serde.entry_to_proto(entry))
    assert again == entry
    wire = serde.entry_to_proto(entry).SerializeToString()
    from node.proto import catalog_pb2

    assert serde.entry_from_proto(catalog_pb2.Entry.FromString(wire)) == entry


@given(valid_entries())
def test_an_entry_as_stored_encodes_as_the_entry_does(entry):
    """A peer sends the rows it reads without decoding them (serde.stored_entry_to_proto): the
    message must be the one the decoded entry gives."""
    from node.proto import catalog_pb2
    from node.store.rows import StoredEntry, prepare

    assert serde.stored_entry_to_proto(StoredEntry(*prepare(entry)[1]), catalog_pb2.Entry()) == serde.entry_to_proto(entry)


def test_caller_cannot_set_node_fields():
    entry = make_entry(origin="elsewhere", version=99, withdrawn=True, published_at=rules.utcnow())
    stripped = serde.entry_from_proto(serde.entry_to_proto(entry), with_node_fields=False)
    assert (stripped.origin, stripped.version, stripped.withdrawn, stripped.published_at) == ("", 0, False, None)


BREAKS = [
    ("resource_code", dict(resource_code="130100005-000001"), "resource_code"),
    ("code of another provider", dict(resource_code="130100006/000001"), "resource_code"),
    ("provider code shape", dict(provider_code="13010005"), "provider_code"),
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
