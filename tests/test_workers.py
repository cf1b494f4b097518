"""Worker processes for bulk loads: a large bulk publish and a large pulled batch are checked and
turned into rows in worker processes, with the same outcome as on the node's own thread; a
worker that dies costs nothing but time; an idle pool and a killed node leave no processes."""

import os

import grpc
import pytest

from conftest import make_entry, node_config, wait_until
from node import wire, workers as workers_mod
from node.model.rules import DataItem
from node.proto import catalog_pb2, catalog_pb2_grpc
from node.workers import MIN_ITEMS, WorkerPool
from processes import NodeProcess


def pid() -> int:
    return os.getpid()


def die_unless_in(parent: int) -> str:
    """Kills the worker it runs in; on the parent's own thread it answers."""
    if os.getpid() != parent:
        os._exit(3)
    return "answered by the parent"


def test_large_work_runs_in_a_worker_and_small_work_here():
    pool = WorkerPool(2)
    try:
        assert pool.run(pid, items=MIN_ITEMS).result() != os.getpid()
        assert pool.run(pid, items=MIN_ITEMS - 1).result() == os.getpid()
        assert WorkerPool(0).run(pid, items=10**6).result() == os.getpid()
    finally:
        pool.close()


def test_a_dead_worker_costs_time_not_the_work():
    pool = WorkerPool(1)
    try:
        assert pool.run(die_unless_in, os.getpid(), items=MIN_ITEMS).result() == "answered by the parent"
        assert pool.run(pid, items=MIN_ITEMS).result() != os.getpid()  # a new worker took over
    finally:
        pool.close()


def test_an_idle_pool_stops_its_workers(monkeypatch):
    monkeypatch.setattr(workers_mod, "IDLE_SECONDS", 0.4)
    pool = WorkerPool(1)
    try:
        worker = pool.run(pid, items=MIN_ITEMS).result()
        wait_until(lambda: pool._executor is None, 10, "the idle pool to stop")
        wait_until(lambda: not _alive(worker), 10, f"worker {worker} to exit")
        assert pool.run(pid, items=MIN_ITEMS).result() not in (worker, os.getpid())  # starts again when needed
    finally:
        pool.close()


def _alive(process: int) -> bool:
    try:
        os.kill(process, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited; its parent (this process) has not reaped it yet
        return open(f"/proc/{process}/stat").read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _entries(count: int, **fields):
    return [make_entry(seq=i, name=f"批量资源{i}", keywords=("批量", f"第{i}号"),
                       data_items=(DataItem("统一社会信用代码", "string", 18, "代码"), DataItem(f"字段{i % 7}", "integer", 0)),
                       **fields) for i in range(1, count + 1)]


def _bulk(stub, entries, per_message: int):
    return stub.PublishEntries(iter([catalog_pb2.PublishEntriesRequest(
        entries=[wire.entry_to_proto(e) for e in entries[i:i + per_message]])
        for i in range(0, len(entries), per_message)]))


def test_bulk_publish_through_workers_stores_every_field_and_names_the_bad_entry(tmp_path, start_node):
    node = start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=["130100005"],
                                  extra={"store": {"synchronous": "normal", "workers": 2}}))
    entries = _entries(3 * MIN_ITEMS)
    bad = list(entries)
    bad[2 * MIN_ITEMS + 10] = make_entry(seq=2 * MIN_ITEMS + 11, update_cycle="hourly")
    with pytest.raises(grpc.RpcError) as caught:
        _bulk(node.catalog, bad, MIN_ITEMS)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith(f"entries[{2 * MIN_ITEMS + 10}].update_cycle")
    assert node.node.store.count_entries() == (0, 0)

    wanting = [make_entry(resource_code="", name=f"待编码{i}") for i in range(MIN_ITEMS)]
    reply = _bulk(node.catalog, entries + wanting, MIN_ITEMS)
    assert (reply.created, reply.updated, reply.unchanged) == (4 * MIN_ITEMS, 0, 0)
    assert node.node.workers._executor is not None  # the work went to the workers
    for sent in entries[::37]:
        got = wire.entry_from_proto(node.catalog.GetEntry(catalog_pb2.GetEntryRequest(
            resource_code=sent.resource_code)))
        assert (got.origin, got.version, got.withdrawn) == ("hebei", 1, False)
        assert got.published_at == got.updated_at is not None
        for field in ("name", "summary", "provider_code", "provider_name", "region_code", "category", "data_items",
                      "share_type", "share_method", "open_type", "update_cycle", "source_system", "keywords"):
            assert getattr(got, field) == getattr(sent, field), field
    # codes past the highest the call named, in the order sent
    listed = node.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=1000)).entries
    given = {e.name: e.resource_code for e in listed if e.name.startswith("待编码")}
    assert [given[f"待编码{i}"] for i in range(MIN_ITEMS)] == [
        f"130100005/{3 * MIN_ITEMS + i:06d}" for i in range(1, MIN_ITEMS + 1)]
    found = node.catalog.SearchEntries(catalog_pb2.SearchEntriesRequest(query="第17号"))
    assert [e.resource_code for e in found.entries] == ["130100005/000017"]

    changed = [make_entry(seq=i, name=e.name + "（修订）", keywords=e.keywords, data_items=e.data_items)
               for i, e in enumerate(entries[:MIN_ITEMS], start=1)]
    reply = _bulk(node.catalog, changed + entries[MIN_ITEMS:], MIN_ITEMS)
    assert (reply.created, reply.updated, reply.unchanged) == (0, MIN_ITEMS, 2 * MIN_ITEMS)
    got = node.catalog.GetEntry(catalog_pb2.GetEntryRequest(resource_code="130100005/000001"))
    assert (got.version, got.name) == (2, "批量资源1（修订）")


def test_a_killed_node_leaves_no_worker_behind(tmp_path):
    """SIGKILL gives the node no chance to stop its workers: they notice on their own."""
    node = NodeProcess(tmp_path, {
        "node": {"id": "hebei", "role": "provincial", "region_code": "130000"},
        "database": str(tmp_path / "hebei.db"), "departments": [{"code": "130100005", "name": "部门"}],
        "store": {"synchronous": "normal", "workers": 2}, "log": {"level": "warning", "format": "json"},
    }).start()
    try:
        with grpc.insecure_channel(node.address) as channel:
            reply = _bulk(catalog_pb2_grpc.CatalogStub(channel), _entries(MIN_ITEMS), MIN_ITEMS)
        assert reply.created == MIN_ITEMS
        children = _children(node.proc.pid)
        assert len(children) >= 2, children  # the two workers (and multiprocessing's resource tracker)
    finally:
        node.kill()
    wait_until(lambda: [c for c in children if _alive(c)], 30, "the workers of the killed node to exit", until=lambda
               left: not left)


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
    return found
