"""A node's searches and listings answered by its reader processes (node/api/readers.py): the same
answers, byte for byte, as the node's own; a commit seen at once; errors with the same status; a
reader killed mid-service replaced without a failed call; readers ended with the node."""

from __future__ import annotations

import multiprocessing
import os
import signal

import grpc
import pytest

from conftest import make_entry, node_config, wait_until
from node.api import readers
from node.api.reads import list_reply, search_reply
from node.errors import ConfigError
from node.proto import catalog_pb2

PROVIDERS = ("130100005", "130000001", "130200003")


def with_readers(tmp_path, start_node, readers_setting):
    client = start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=PROVIDERS,
                                    extra={"store": {"synchronous": "normal", "readers": readers_setting}}))
    catalog = client.node.catalog
    catalog.publish([make_entry(provider, seq, share_type=share, update_cycle=cycle, name=f"{name}{seq}",
                                share_condition="仅用于政务服务" if share == "conditional" else "")
                     for provider in PROVIDERS for seq in range(1, 41)
                     for share, cycle, name in [(("unconditional", "conditional")[seq % 2],
                                                 ("daily", "monthly", "yearly")[seq % 3],
                                                 ("企业法人登记信息", "户籍人口信息", "企业纳税信息")[seq % 3])]])
    return client


def serving(client, count: int) -> list[int]:
    """The reader processes' ids, once `count` serve (the first search starts them)."""
    client.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="企业"))
    wait_until(lambda: client.node.readers.serving() == count, 30, f"{count} readers never served")
    return sorted(r.process.pid for r in client.node.readers._all)


REQUESTS = [
    catalog_pb2.SearchEntriesRequest(query="企业", page_size=7, with_facets=True),
    catalog_pb2.SearchEntriesRequest(query="企业", page_size=7, page_token="7"),
    catalog_pb2.SearchEntriesRequest(query="户籍", filter=catalog_pb2.EntryFilter(share_type="conditional"),
                                     page_size=50),
    catalog_pb2.SearchEntriesRequest(query="信息", filter=catalog_pb2.EntryFilter(provider_code="130200003",
                                                                                 update_cycle="monthly")),
    catalog_pb2.ListEntriesRequest(page_size=1000, with_total=True, with_facets=True),
    catalog_pb2.ListEntriesRequest(filter=catalog_pb2.EntryFilter(region_code="130100"), page_size=9),
    catalog_pb2.ListEntriesRequest(filter=catalog_pb2.EntryFilter(update_cycle="yearly"), page_size=5,
                                   page_token="130000001000010", with_total=True),
]


def call(client, request):
    if isinstance(request, catalog_pb2.SearchEntriesRequest):
        return client.catalog.SearchEntries(request, timeout=30), search_reply
    return client.catalog.ListEntries(request, timeout=30), list_reply


def test_readers_answer_every_search_and_listing_as_the_node_itself_does(tmp_path, start_node):
    client = with_readers(tmp_path, start_node, 2)
    serving(client, 2)
    answered = client.node.readers.answered
    for request in REQUESTS:
        reply, here = call(client, request)
        assert reply.entries, request  # each finds something: an empty page would prove little
        assert reply.SerializeToString() == here(client.node.catalog, request).SerializeToString(), request
    assert client.node.readers.answered == answered + len(REQUESTS)  # every one a reader's


def test_a_commit_is_seen_by_the_next_search_through_a_reader(tmp_path, start_node):
    client = with_readers(tmp_path, start_node, 1)
    serving(client, 1)
    query = catalog_pb2.SearchEntriesRequest(query="不动产", page_size=10)
    assert client.catalog.SearchEntries(query).total == 0  # the reader keeps this query's name tier
    client.node.catalog.publish([make_entry("130100005", 900, name="不动产登记信息")])
    found = client.catalog.SearchEntries(query)
    assert [e.resource_code for e in found.entries] == ["130100005/000900"]
    listed = client.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=1000, with_total=True))
    assert listed.total == 121 and listed.entries[-1].resource_code == "130200003/000040"


def test_a_readers_refusal_reaches_the_caller_as_the_nodes_own_would(tmp_path, start_node):
    client = with_readers(tmp_path, start_node, 1)
    serving(client, 1)
    bad = [
        (catalog_pb2.SearchEntriesRequest(query="!!"), "query: must hold at least one letter"),
        (catalog_pb2.SearchEntriesRequest(query="企业", filter=catalog_pb2.EntryFilter(region_code="999999")),
         "filter.region_code: must be a known 6-digit GB/T 2260 code"),
        (catalog_pb2.ListEntriesRequest(filter=catalog_pb2.EntryFilter(share_type="sometimes")),
         "filter.share_type: must be one of"),
        (catalog_pb2.ListEntriesRequest(page_token="not-a-position"), "page_token"),
    ]
    answered = client.node.readers.answered
    for request, details in bad:
        with pytest.raises(grpc.RpcError) as refused:
            call(client, request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert refused.value.details().startswith(details), refused.value.details()
    assert client.node.readers.answered == answered + len(bad)
    assert client.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="企业")).total == 120
    assert client.node.readers.answered == answered + len(bad) + 1  # a refusal is an answer: the reader serves on


def test_a_reader_killed_is_replaced_and_no_call_fails(tmp_path, start_node):
    client = with_readers(tmp_path, start_node, 2)
    before = serving(client, 2)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    request = catalog_pb2.SearchEntriesRequest(query="企业", page_size=3)
    for _ in range(4):  # the calls that find a dead reader are read in the node's process
        assert len(client.catalog.SearchEntries(request).entries) == 3
    after = serving(client, 2)
    assert set(after).isdisjoint(before)


def test_readers_end_with_their_node(tmp_path, start_node):
    client = with_readers(tmp_path, start_node, 2)
    pids = serving(client, 2)
    client.node.stop(0)
    for pid in pids:
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 10, f"reader {pid} outlived its node")


def _zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_by_default_readers_start_only_on_a_big_catalog(tmp_path, start_node, monkeypatch):
    monkeypatch.setattr(readers, "usable_cores", lambda: 2)
    client = with_readers(tmp_path, start_node, "auto")
    client.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="企业"))
    assert client.node.readers.processes == 2 and client.node.readers.serving() == 0  # 120 entries: small
    monkeypatch.setattr(readers, "MIN_ENTRIES", 100)
    client.node.readers._counted_at = -readers.RECOUNT_SECONDS  # as if a minute had passed
    serving(client, 2)


def test_one_core_and_a_database_in_memory_start_no_readers(monkeypatch):
    monkeypatch.setattr(readers, "usable_cores", lambda: 1)
    assert readers.wanted(None, "/var/lib/cascade/node.db") == 0
    assert readers.wanted(3, "/var/lib/cascade/node.db") == 3
    assert readers.wanted(3, ":memory:") == 0


@pytest.mark.parametrize("value", ["many", -1, 17, 2.5, True])
def test_a_bad_readers_setting_names_the_file_the_key_and_the_rule(tmp_path, value):
    with pytest.raises(ConfigError) as bad:
        node_config(tmp_path, "hebei", "provincial", "130000", extra={"store": {"readers": value}})
    assert str(bad.value) == "<hebei>: store.readers: must be auto or an integer from 0 to 16"


def test_readers_auto_and_a_number_are_read_from_the_config(tmp_path):
    assert node_config(tmp_path, "hebei", "provincial", "130000").readers is None
    assert node_config(tmp_path, "hebei", "provincial", "130000", extra={"store": {"readers": "auto"}}).readers is None
    assert node_config(tmp_path, "hebei", "provincial", "130000", extra={"store": {"readers": 0}}).readers == 0


def test_cascade_status_shows_the_readers(tmp_path, start_node, monkeypatch):
    from cli.hub import readers_line
    from node.proto import admin_pb2

    monkeypatch.setattr(readers, "usable_cores", lambda: 2)
    client = with_readers(tmp_path, start_node, "auto")
    line = readers_line(client.admin.Status(admin_pb2.StatusRequest()).readers)
    assert line == "readers: 2 to start at the first search once the catalog holds 100,000 entries (store.readers: auto)"
    monkeypatch.setattr(readers, "MIN_ENTRIES", 100)
    client.node.readers._counted_at = -readers.RECOUNT_SECONDS
    serving(client, 2)
    answered = client.node.readers.answered
    line = readers_line(client.admin.Status(admin_pb2.StatusRequest()).readers)
    assert line == f"readers: 2 of 2 serving, {answered:,} searches and listings answered"


def test_readers_that_cannot_open_the_file_leave_every_read_to_the_node_and_wait_to_retry(tmp_path):
    pool = readers.Readers(readers.Opening(str(tmp_path / "gone.db"), "hebei", 1000), 1, automatic=False,
                           live_entries=lambda: 0)
    request = catalog_pb2.SearchEntriesRequest(query="企业")
    assert pool.read("search", request, 0) is None  # the node reads it; the readers start meanwhile
    wait_until(lambda: not pool._starting, 60, "the readers never finished starting")
    assert pool.serving() == 0 and pool._retry_at > 0
    assert pool.read("search", request, 0) is None and not pool._starting  # no second try at once
    assert not (tmp_path / "gone.db").exists()
    assert not [c for c in multiprocessing.active_children() if c.name == "reader"]


def test_usable_cores_follow_a_containers_cpu_limit(tmp_path, monkeypatch):
    from node import workers

    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(32)))
    v2, v1, none = tmp_path / "v2", tmp_path / "v1", tmp_path / "none"
    v2.mkdir(), (v1 / "cpu").mkdir(parents=True), none.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")  # limits.cpu: 1.5
    assert workers.usable_cores(str(v2)) == 2
    (v2 / "cpu.max").write_text("max 100000\n")
    assert workers.usable_cores(str(v2)) == 32
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert workers.usable_cores(str(v1)) == 1
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert workers.usable_cores(str(v1)) == 32
    assert workers.usable_cores(str(none)) == 32
    monkeypatch.setattr(readers, "usable_cores", lambda: 32)
    assert readers.wanted(None, "node.db") == readers.MOST  # each reader holds memory: a few serve


def test_the_metrics_count_the_readers_and_their_answers(tmp_path, start_node):
    from metrics_support import METRICS_ON, scrape

    client = start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=PROVIDERS,
                                    extra={"store": {"synchronous": "normal", "readers": 2}, **METRICS_ON}))
    client.node.catalog.publish([make_entry("130100005", seq) for seq in range(1, 6)])
    before = scrape(client)
    assert before.value("cascade_readers", state="wanted") == 2
    assert before.value("cascade_readers", state="serving") == 0  # none until the first search
    serving(client, 2)
    for _ in range(3):
        client.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=2))
    after = scrape(client)
    assert after.value("cascade_readers", state="serving") == 2
    assert after.value("cascade_reader_answers_total") == client.node.readers.answered >= 3
