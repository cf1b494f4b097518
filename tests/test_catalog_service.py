"""The Catalog service over real gRPC on a free loopback port, as a department would use it."""

import grpc
import pytest
from click.testing import CliRunner
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from conftest import make_entry
from node import wire
from node.model.rules import DataItem
from cli import main
from node.proto import catalog_pb2
from node.store import entries as entries_mod


def publish(client, entry):
    return client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))


def rpc_error(fn, request) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        fn(request)
    return caught.value


def test_every_field_round_trips_and_node_sets_its_own(node):
    entry = make_entry(
        share_type="conditional", share_condition="须提供办理事项编码", keywords=("企业", "信用", "e证通"),
        data_items=(DataItem("统一社会信用代码", "string", 18, "代码"), DataItem("注册资本", "decimal", 20, ""),
                    DataItem("成立日期", "date"), DataItem("吊销", "boolean")),
        origin="forged", version=77, withdrawn=True,
    )
    reply = publish(node, entry)
    assert reply.created and reply.outcome == "created"
    got = wire.entry_from_proto(node.catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code=entry.resource_code)))
    for field in ("resource_code", "name", "summary", "provider_code", "provider_name", "region_code", "category",
                  "data_items", "share_type", "share_condition", "not_shared_basis", "share_method", "open_type",
                  "update_cycle", "source_system", "keywords"):
        assert getattr(got, field) == getattr(entry, field), field
    assert (got.origin, got.version, got.withdrawn) == ("hebei", 1, False)
    assert got.published_at is not None and got.updated_at == got.published_at


def test_update_bumps_version_and_same_content_does_not(node):
    first = publish(node, make_entry()).entry
    again = publish(node, make_entry())
    assert again.outcome == "unchanged" and again.entry.version == 1
    changed = publish(node, make_entry(name="企业法人登记信息（新）"))
    assert changed.outcome == "updated" and changed.entry.version == 2
    assert changed.entry.published_at == first.published_at


def test_withdraw_leaves_tombstone_that_pull_returns(node):
    publish(node, make_entry())
    tomb = node.catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000001"))
    assert tomb.withdrawn and tomb.version == 2
    from node.proto import cascade_pb2

    batches = list(node.cascade.PullChanges(cascade_pb2.PullChangesRequest()))
    changes = [c for b in batches for c in b.changes]
    assert [(c.key, c.version, c.op) for c in changes] == [("130100005/000001", 1, "upsert"), ("130100005/000001", 2, "withdraw")]
    assert [e.withdrawn for b in batches for e in b.entries] == [True]
    listed = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest())
    assert list(listed.entries) == []
    found = node.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="企业"))
    assert found.total == 0
    # GetEntry still shows the tombstone, so a caller learns it was withdrawn.
    assert node.catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code="130100005/000001")).withdrawn


@pytest.mark.parametrize("change, field", [
    (dict(share_type="conditional", share_condition=""), "share_condition"),
    (dict(share_type="not_shared"), "not_shared_basis"),
    (dict(category="nope"), "category"),
    (dict(resource_code="130100005/12"), "resource_code"),
    (dict(data_items=()), "data_items"),
])
def test_bad_entry_is_invalid_argument_naming_field_and_stores_nothing(node, change, field):
    err = rpc_error(node.catalog.PublishEntry,
                    catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(make_entry(**change))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details().startswith(field)
    assert node.node.store.head_seq() == 0 and node.node.store.count_entries() == (0, 0)


def test_only_configured_departments_may_publish(node):
    err = rpc_error(node.catalog.PublishEntry,
                    catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(make_entry("130100009"))))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "130100009" in err.details()


def test_bulk_load_is_all_or_nothing(node):
    good = [make_entry(seq=i) for i in range(1, 50)]
    bad = good + [make_entry(seq=50, update_cycle="hourly")]
    err = rpc_error(node.catalog.PublishEntries,
                    iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in bad))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("entries[49].update_cycle")
    assert node.node.store.count_entries() == (0, 0)
    reply = node.catalog.PublishEntries(iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in good))
    assert (reply.created, reply.updated, reply.unchanged) == (49, 0, 0)
    reply = node.catalog.PublishEntries(iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in good[:10]))
    assert (reply.created, reply.updated, reply.unchanged) == (0, 0, 10)


def test_bulk_load_refuses_a_code_twice(node):
    twice = [make_entry(seq=1), make_entry(seq=1, name="另一个")]
    err = rpc_error(node.catalog.PublishEntries,
                    iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in twice))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "repeats" in err.details()


def test_list_filters_and_pages_in_code_order(node):
    entries = [make_entry(seq=i, share_type="unconditional" if i % 2 else "conditional",
                          share_condition="" if i % 2 else "须审核") for i in range(1, 26)]
    entries += [make_entry("130000001", seq=i, category="theme") for i in range(1, 6)]
    node.catalog.PublishEntries(iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in entries))
    seen, token = [], ""
    while True:
        page = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=7, page_token=token))
        seen += [e.resource_code for e in page.entries]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(e.resource_code for e in entries)
    only = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(provider_code="130100005", share_type="conditional"), page_size=100))
    assert {e.resource_code for e in only.entries} == {f"130100005/{i:06d}" for i in range(2, 26, 2)}
    region = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(region_code="130100"), page_size=100))
    assert len(region.entries) == 25
    province = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(region_code="130000", category="theme"), page_size=100))
    assert len(province.entries) == 5


@pytest.mark.parametrize("request_, field", [
    (catalog_pb2.ListEntriesRequest(page_size=100_000), "page_size"),
    (catalog_pb2.ListEntriesRequest(page_size=-1), "page_size"),
    (catalog_pb2.ListEntriesRequest(page_token="garbage"), "page_token"),
    (catalog_pb2.ListEntriesRequest(filter=catalog_pb2.EntryFilter(share_type="maybe")), "filter.share_type"),
    (catalog_pb2.ListEntriesRequest(filter=catalog_pb2.EntryFilter(region_code="12")), "filter.region_code"),
])
def test_bad_list_requests_name_the_field(node, request_, field):
    err = rpc_error(node.catalog.ListEntries, request_)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith(field)


def test_oversized_message_is_refused(node):
    entry = catalog_pb2.Entry(name="名" * 3_000_000)
    err = rpc_error(node.catalog.PublishEntry, catalog_pb2.PublishEntryRequest(entry=entry))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unknown_and_missing_entries(node):
    err = rpc_error(node.catalog.GetEntry, catalog_pb2.GetEntryRequest(resource_code="130100005/999999"))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = rpc_error(node.catalog.WithdrawEntry, catalog_pb2.WithdrawEntryRequest(resource_code="x"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("resource_code")


def test_search_serves_short_chinese_queries_and_mixed_text(node):
    entries = [
        make_entry(seq=1, name="全员人口基础信息", summary="户籍人口与常住人口", keywords=("人口",)),
        make_entry(seq=2, name="企业信用信息", summary="企业公共信用评价结果", keywords=("信用",)),
        make_entry(seq=3, name="社保缴费记录", summary="职工社会保险缴费明细", keywords=("社保",),
                   data_items=(DataItem("个人社保编号", "string", 20),)),
        make_entry(seq=4, name="e证通电子证照目录", summary="GDP2023统计口径", keywords=()),
    ]
    node.catalog.PublishEntries(iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in entries))

    def codes(query, **filters):
        reply = node.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(
            query=query, filter=catalog_pb2.EntryFilter(**filters)))
        return {e.resource_code[-1] for e in reply.entries}

    assert codes("人口") == {"1"}
    assert codes("社保") == {"3"}
    assert codes("企业") >= {"2"}
    assert codes("口基础") == {"1"}
    assert codes("证") == {"4"}
    assert codes("e证通") == {"4"}
    assert codes("gdp") == {"4"}
    assert codes("GDP2023统计") == {"4"}
    assert codes("保编号") == {"3"}  # a data item name
    assert codes("信用", category="theme") == set()
    assert codes("不存在的词") == set()
    err = rpc_error(node.catalog.SearchEntries, catalog_pb2.SearchEntriesRequest(query="  ,. "))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("query")


def test_search_ranks_name_matches_first_and_pages(node):
    entries = [make_entry(seq=i, name=f"数据资源{i}", summary="人口统计" if i != 7 else "无关") for i in range(1, 13)]
    entries.append(make_entry(seq=20, name="人口普查数据", summary="普查"))
    node.catalog.PublishEntries(iter(catalog_pb2.PublishEntriesRequest(entry=wire.entry_to_proto(e)) for e in entries))
    first = node.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="人口", page_size=5))
    assert first.total == 12 and first.entries[0].resource_code == "130100005/000020"
    seen = [e.resource_code for e in first.entries]
    token = first.next_page_token
    while token:
        page = node.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="人口", page_size=5, page_token=token))
        seen += [e.resource_code for e in page.entries]
        token = page.next_page_token
    assert len(seen) == len(set(seen)) == 12
    assert not first.total_is_lower_bound


def test_a_broad_search_counts_to_the_cap_and_pages_through_the_first_matches(node, monkeypatch):
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", 50)
    entries = [make_entry(seq=i, name=f"人口数据{i}" if i % 2 else f"数据资源{i}", summary="人口统计") for i in range(1, 81)]
    node.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in entries])]))
    seen, token = [], None
    while token != "":
        page = node.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="人口", page_size=20, page_token=token))
        assert (page.total, page.total_is_lower_bound) == (50, True)
        seen += [e.name for e in page.entries]
        token = page.next_page_token
    assert len(seen) == len(set(seen)) == 50
    assert all(name.startswith("人口数据") for name in seen[:40])  # the 40 name matches come first
    shown = CliRunner().invoke(main, ["entry", "search", "人口", "--target", node.node.address])
    assert shown.exit_code == 0 and "(20 shown of 50+)" in shown.stdout, shown.output


def test_a_filtered_listing_counts_to_the_cap_and_says_so_yet_pages_to_the_end(node, monkeypatch):
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", 50)
    entries = [make_entry(seq=9000 + i, category="theme" if i % 4 else "base", update_cycle="half_yearly")
               for i in range(1, 81)]
    node.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in entries])]))
    where = catalog_pb2.EntryFilter(provider_code="130100005", category="theme", update_cycle="half_yearly")
    first = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(filter=where, page_size=20, with_total=True))
    assert (first.total, first.total_is_lower_bound) == (50, True)
    seen, token = [e.resource_code for e in first.entries], first.next_page_token
    while token:
        page = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(filter=where, page_size=20, page_token=token))
        seen += [e.resource_code for e in page.entries]
        token = page.next_page_token
    assert seen == [f"130100005/{9000 + i:06d}" for i in range(1, 81) if i % 4]  # all 60, in code order
    few = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(category="base", update_cycle="half_yearly"), page_size=5, with_total=True))
    assert (few.total, few.total_is_lower_bound) == (20, False)


def test_health_and_reflection(node):
    health = health_pb2_grpc.HealthStub(node.channel)
    assert health.Check(health_pb2.HealthCheckRequest(service="")).status == health_pb2.HealthCheckResponse.SERVING
    assert health.Check(health_pb2.HealthCheckRequest(service="node.proto.Catalog")).status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(node.channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in replies for s in r.list_services_response.service}
    assert {"node.proto.Catalog", "node.proto.Cascade", "node.proto.Admin"} <= names


def test_node_assigns_the_next_free_code_and_never_reuses_one(node):
    publish(node, make_entry(seq=7))
    node.catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000007"))
    reply = publish(node, make_entry(resource_code="", name="新资源"))
    assert reply.outcome == "created" and reply.entry.resource_code == "130100005/000008"  # past the tombstone
    reply = publish(node, make_entry(resource_code="130100005/", name="又一个"))
    assert reply.entry.resource_code == "130100005/000009"
    bulk = [make_entry(resource_code="", name="甲"), make_entry(seq=20, name="乙"), make_entry(resource_code="", name="丙"),
            make_entry("130000001", resource_code="", name="丁")]
    reply = node.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(
        entries=[wire.entry_to_proto(e) for e in bulk])]))
    assert (reply.created, reply.updated, reply.unchanged) == (4, 0, 0)
    names = {e.resource_code: e.name for e in node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=100)).entries}
    # past the highest code of the call too; each department counts on its own
    assert {names[c] for c in ("130100005/000021", "130100005/000022", "130000001/000001")} == {"甲", "丙", "丁"}


def test_a_code_named_far_ahead_does_not_stop_code_assignment(node):
    """Someone publishes /999999: the department still gets codes, the lowest free ones, never
    one held (a tombstone included) nor one its call names."""
    for seq in (1, 2, 4, 999_999):
        publish(node, make_entry(seq=seq, name=f"资源{seq}"))
    node.catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000002"))
    reply = publish(node, make_entry(resource_code="", name="新资源"))
    assert reply.outcome == "created" and reply.entry.resource_code == "130100005/000003"
    bulk = [make_entry(resource_code="", name="甲"), make_entry(seq=6, name="乙"), make_entry(resource_code="", name="丙")]
    reply = node.catalog.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(
        entries=[wire.entry_to_proto(e) for e in bulk])]))
    assert (reply.created, reply.updated, reply.unchanged) == (3, 0, 0)
    names = {e.resource_code: e.name for e in node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=100)).entries}
    assert (names["130100005/000005"], names["130100005/000006"], names["130100005/000007"]) == ("甲", "乙", "丙")
    assert publish(node, make_entry(seq=999_999, name="资源999999")).outcome == "unchanged"


def test_code_assignment_is_all_or_nothing_and_checks_the_provider(node):
    bad = [make_entry(resource_code="", name="甲"), make_entry(resource_code="", name="乙", update_cycle="hourly")]
    err = rpc_error(node.catalog.PublishEntries,
                    iter([catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in bad])]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("entries[1].update_cycle")
    assert node.node.store.count_entries() == (0, 0)
    assert publish(node, make_entry(resource_code="")).entry.resource_code == "130100005/000001"  # 1 was not used up
    err = rpc_error(node.catalog.PublishEntry, catalog_pb2.PublishEntryRequest(
        entry=wire.entry_to_proto(make_entry("130100009", resource_code=""))))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED and "130100009" in err.details()
    err = rpc_error(node.catalog.PublishEntry, catalog_pb2.PublishEntryRequest(
        entry=wire.entry_to_proto(make_entry("1301", resource_code=""))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("provider_code")


def test_concurrent_publishers_never_get_the_same_code(node):
    from concurrent import futures

    def one(i):
        return publish(node, make_entry(resource_code="", name=f"并发{i}")).entry.resource_code

    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(one, range(40)))
    assert sorted(codes) == [f"130100005/{i:06d}" for i in range(1, 41)]
