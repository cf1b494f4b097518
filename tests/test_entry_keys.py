"""The entry says which of its items a record is asked by (`key`) and which are personal data
(`personal`, with the masking rule they leave under): the marks travel with the entry to the
hub and to every reader, a mount takes them when it names none of its own, and a mount keyed by
other items than the entry names is refused."""

from __future__ import annotations

import csv
import dataclasses

import grpc
import pytest

from conftest import make_entry
from exchange_support import CONSUMER, OWNER, exchange
from node import wire
from node.errors import InvalidEntry
from node.model.rules import DataItem, content_hash, validate_entry
from node.proto import catalog_pb2, exchange_pb2
from test_sharing import publish, submit, wait_state

PERSONS = [("44030519800101123X", "张三丰", "13812345678"), ("440305199002022345", "李四", "13987654321")]
ITEMS = (DataItem("公民身份号码", "string", 18, key=True, personal="id_number"),
         DataItem("姓名", "string", 50, personal="name"), DataItem("联系电话", "string", 20, personal="phone"))


def test_key_and_personal_marks_travel_to_the_hub_and_steer_the_mount_and_the_masking(cluster, tmp_path):
    c = cluster(interval=3600, notify=True)
    persons = make_entry(OWNER, 21, name="深圳市常住人口信息", share_method="file", share_type="unconditional",
                         data_items=ITEMS)
    guangdong = c.peers["guangdong"]
    publish(guangdong, persons)
    c.sync()
    at_hub = wire.entry_from_proto(c.hub.catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=persons.resource_code)))
    assert at_hub.data_items == ITEMS  # every mark, as published
    source = tmp_path / "persons.csv"
    with open(source, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([[i.name for i in ITEMS], *PERSONS])
    with pytest.raises(grpc.RpcError) as other_keys:
        exchange(guangdong).MountResource(exchange_pb2.MountResourceRequest(
            resource_code=persons.resource_code, kind="csv", location=str(source), keys=["姓名"]), timeout=30)
    assert other_keys.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert other_keys.value.details().startswith("keys: ") and "公民身份号码" in other_keys.value.details()
    mounted = exchange(guangdong).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=persons.resource_code, kind="csv", location=str(source)), timeout=30)
    assert list(mounted.keys) == ["公民身份号码"]
    assert dict(mounted.personal) == {"公民身份号码": "id_number", "姓名": "name", "联系电话": "phone"}
    filed = submit(c.peers["hebei"], CONSUMER, persons.resource_code, items=("姓名", "联系电话"))
    request_id = wait_state(c.peers["hebei"], filed.request_id, {"granted"}).request_id
    reply = exchange(c.peers["hebei"]).Query(exchange_pb2.QueryRequest(
        request_id=request_id, consumer_code=CONSUMER, key={"公民身份号码": PERSONS[0][0]}), timeout=30)
    assert [tuple(r.values) for r in reply.rows] == [("张**", "138****5678")]


def test_marks_are_checked_and_are_part_of_the_content():
    entry = make_entry(OWNER, 22, data_items=ITEMS)
    validate_entry(entry)
    for field, item in (("personal", dataclasses.replace(ITEMS[1], personal="secret")),
                        ("key", dataclasses.replace(ITEMS[1], key="yes"))):
        with pytest.raises(InvalidEntry) as refused:
            validate_entry(dataclasses.replace(entry, data_items=(ITEMS[0], item)))
        assert str(refused.value).startswith(f"data_items[1].{field}: ")
    plain = dataclasses.replace(entry, data_items=tuple(dataclasses.replace(i, key=False, personal="") for i in ITEMS))
    assert content_hash(plain) != content_hash(entry)  # marking an item is a change a reader sees


def test_a_list_row_updating_an_entry_keeps_the_marks_a_sheet_has_no_column_for():
    from node.catalog.lists.rows import _kept_governance

    held = make_entry(OWNER, 23, data_items=(dataclasses.replace(ITEMS[0], element="公民身份号码"), *ITEMS[1:]))
    from_sheet = dataclasses.replace(held, data_items=tuple(DataItem(i.name, i.type, i.length, "更新的说明")
                                                            for i in ITEMS))
    kept = _kept_governance(from_sheet, held)
    assert [(i.description, i.element, i.key, i.personal) for i in kept.data_items] == [
        ("更新的说明", "公民身份号码", True, "id_number"), ("更新的说明", "", False, "name"),
        ("更新的说明", "", False, "phone")]
