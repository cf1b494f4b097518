"""Bad input with a valid token at a node: INVALID_ARGUMENT naming the field, and nothing stored."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given, settings, strategies as st

from conftest import make_entry
from node import wire
from node.model.rules import DataItem
from node.proto import catalog_pb2, catalog_pb2_grpc
from security_support import A, CAT, DEADLINE, Who, entry_proto, invoke, outcome
from security_support import ca, dial, hebei, world  # noqa: F401 (fixtures)


# --- 5. what a refusal and a write leave behind ----------------------------------------------------

BAD_ENTRIES = {
    "name": dict(name="  "),
    "provider_name": dict(provider_name=""),
    "category": dict(category="misc"),
    "share_type": dict(share_type="sometimes"),
    "share_method": dict(share_method="fax"),
    "open_type": dict(open_type="ajar"),
    "update_cycle": dict(update_cycle="hourly"),
    "share_condition": dict(share_type="conditional", share_condition=""),
    "not_shared_basis": dict(share_type="not_shared", not_shared_basis=""),
    "region_code": dict(region_code="999999"),
    "resource_code": dict(resource_code=f"{A}/12"),
    "data_items": dict(data_items=()),
    "data_items[0].type": dict(data_items=(DataItem("企业名称", "blob", 200),)),
    "data_items[1].name": dict(data_items=(DataItem("企业名称", "string", 200), DataItem("企业名称", "string", 200))),
    "keywords[0]": dict(keywords=(" ",)),
}


@settings(max_examples=30, deadline=None, database=None)
@given(field=st.sampled_from(sorted(BAD_ENTRIES)), seq=st.integers(600, 699), in_bulk=st.booleans())
def test_bad_input_with_a_valid_token_is_invalid_argument_naming_the_field(hebei, dial, world, field, seq, in_bulk):
    bad = wire.entry_to_proto(make_entry(A, seq, **BAD_ENTRIES[field]))
    if in_bulk:  # a good entry first: all or nothing
        method, request, named = CAT + "PublishEntries", [catalog_pb2.PublishEntriesRequest(
            entries=[entry_proto(A, seq + 100), bad])], f"entries[1].{field}"
    else:
        method, request, named = CAT + "PublishEntry", catalog_pb2.PublishEntryRequest(entry=bad), field
    before = hebei.state()
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), method, request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{named}:"), details
    assert hebei.state() == before


BAD_NAMES = [
    ("name", dict(name="企业\x00登记"), "control"),
    ("name", dict(name="\x1b]8;;http://x\x07企业登记"), "control"),
    ("provider_name", dict(provider_name="市场监督\u202e局理管"), "bidirectional"),
    ("source_system", dict(source_system="\u2067登记系统"), "bidirectional"),
    ("data_items[0].name", dict(data_items=(DataItem("\u200b\u200d", "string", 20),)), "invisible"),
    ("keywords[0]", dict(keywords=("\ufeff",)), "invisible"),
]


@pytest.mark.parametrize("field, change, rule", BAD_NAMES, ids=[f"{f}-{r}" for f, _, r in BAD_NAMES])
def test_a_name_with_control_bidi_or_only_invisible_characters_is_invalid_argument(hebei, dial, world, field,
                                                                                   change, rule):
    before = hebei.state()
    request = catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(make_entry(A, 700, **change)))
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), CAT + "PublishEntry", request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith(f"{field}:") and rule in details, details
    assert hebei.state() == before


def test_a_malformed_resource_code_to_withdraw_is_invalid_argument(hebei, dial, world):
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "A")))
    before = hebei.state()
    code, details = outcome(lambda: catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code=f"{A}/12"),
                                                           timeout=DEADLINE))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "resource_code" in details, details
    assert hebei.state() == before


@pytest.mark.parametrize("method, request_, field", [
    (CAT + "PublishEntry", catalog_pb2.PublishEntryRequest(), "entry"),
    (CAT + "WithdrawEntry", catalog_pb2.WithdrawEntryRequest(), "resource_code"),
], ids=["publish-without-entry", "withdraw-without-code"])
def test_a_missing_field_with_a_valid_token_is_invalid_argument(hebei, dial, method, request_, field):
    before = hebei.state()
    code, details = outcome(lambda: invoke(dial.channel(hebei, Who("tool", "A")), method, request_))
    assert hebei.state() == before
    assert code == grpc.StatusCode.INVALID_ARGUMENT and field in details, f"{code.name}: {details}"
