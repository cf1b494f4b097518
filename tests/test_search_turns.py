"""Searches and listings take their turns first come, first served (node/api/turns.py), and a node
reads its search tables into the system's cache after start (node/store/warming.py)."""

from __future__ import annotations

import threading

import grpc
import pytest

from node import config as config_mod
from node.api.turns import Lane
from node.errors import ConfigError
from node.store import Store
from cli.hub import cache_line
from conftest import node_config, wait_until
from node.proto import admin_pb2, admin_pb2_grpc
from node.server import Node
from node.store import warming
from node.store.warming import FIRST, TABLES, CacheWarmer


def wait_for(condition, message: str, timeout: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(message)


def test_calls_waiting_for_a_turn_get_it_in_the_order_they_came():
    lane = Lane(1)
    served: list[int] = []
    holder = lane.turn()
    holder.__enter__()  # every turn taken: the calls below queue

    def call(n: int) -> None:
        with lane.turn():
            served.append(n)

    threads = []
    for n in range(6):
        threads.append(threading.Thread(target=call, args=(n,)))
        threads[-1].start()
        wait_for(lambda: lane.waiting == n + 1, f"call {n} never queued")
    holder.__exit__(None, None, None)
    for t in threads:
        t.join(10)
    assert served == list(range(6))
    assert lane.waiting == 0
    with lane.turn():  # the turn came back free once nobody waited
        pass


def test_a_lane_runs_as_many_calls_at_once_as_it_has_turns():
    lane = Lane(2)
    inside, most = 0, 0
    lock, release = threading.Lock(), threading.Event()

    def call() -> None:
        nonlocal inside, most
        with lane.turn():
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait(10)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    wait_for(lambda: lane.waiting == 3, "three calls should wait while two run")
    release.set()
    for t in threads:
        t.join(10)
    assert most == 2


class Log:
    def __init__(self):
        self.lines: list[tuple[str, dict]] = []

    def info(self, event: str, **fields) -> None:
        self.lines.append((event, fields))

    warning = info


def test_a_node_reads_its_search_tables_after_start_and_says_so(tmp_path):
    store = Store(tmp_path / "hub.db")
    try:
        log = Log()
        assert not CacheWarmer(store.read_only_connection, store.path, log).enabled()  # a small file is left alone
        warmer = CacheWarmer(store.read_only_connection, store.path, log, small=0)
        warmer.start()
        wait_for(lambda: any(event == "store.warmed" for event, _ in log.lines), "the warmer never finished")
        warmer.stop()
        warmed = [fields["table"] for event, fields in log.lines if event == "store.warmed_table"]
        assert warmed[:len(FIRST)] == list(FIRST) and sorted(warmed) == sorted(TABLES)  # the small ones first
        assert log.lines[-1][1]["left"] == []
        assert [fields["done"] for event, fields in log.lines if event == "store.warmed_table"][-1] == f"{len(TABLES)}/{len(TABLES)}"
    finally:
        store.close()


def test_the_warmer_stops_at_its_memory_budget_and_says_what_it_left(tmp_path, monkeypatch):
    """A file bigger than half the memory available: the warmer reads a table at a time and stops
    once the budget is spent (here at once: the budget is a byte), naming the tables it left."""
    monkeypatch.setattr(warming, "available_bytes", lambda: 2)
    store = Store(tmp_path / "hub.db")
    try:
        log = Log()
        warmer = CacheWarmer(store.read_only_connection, store.path, log, small=0)
        warmer.start()
        wait_for(lambda: any(event == "store.warmed" for event, _ in log.lines), "the warmer never finished")
        warmer.stop()
        warmed = [fields["table"] for event, fields in log.lines if event == "store.warmed_table"]
        assert warmed == [TABLES[0]]
        assert log.lines[-1][1]["left"] == list(TABLES[1:])
        assert warmer.progress.state == "stopped" and warmer.progress.tables_done == 1
    finally:
        store.close()


def test_warming_is_a_switch_in_the_config(tmp_path):
    settings = {"node": {"id": "national", "role": "national", "region_code": "100000"}, "listen": "127.0.0.1:0",
                "database": str(tmp_path / "n.db"), "insecure": True}
    assert config_mod.parse(settings, "<hub>").warm_cache is True
    off = config_mod.parse(settings | {"store": {"warm_cache": False}}, "<hub>")
    assert off.warm_cache is False
    (tmp_path / "n.db").write_bytes(b"\0" * 4096)
    assert not CacheWarmer(lambda: None, off.database, Log(), enabled=off.warm_cache, small=0).enabled()
    assert CacheWarmer(lambda: None, off.database, Log(), enabled=True, small=0).enabled()
    with pytest.raises(ConfigError) as caught:
        config_mod.parse(settings | {"store": {"warm_cache": "yes"}}, "<hub>")
    assert "store.warm_cache" in str(caught.value)


def test_the_node_s_status_says_whether_its_cache_is_warm(tmp_path):
    """An operator sees the warming as it goes and when it is done (`cascade status`), and nothing
    about it on a node whose file is too small to need it."""
    small = Node(node_config(tmp_path / "small", "hebei", "provincial", "130000")).start()
    try:
        status = admin_pb2_grpc.AdminStub(grpc.insecure_channel(small.address)).Status(admin_pb2.StatusRequest(),
                                                                                        timeout=10)
        assert status.cache.state == "off"
    finally:
        small.stop(0)
    node = Node(node_config(tmp_path / "hub", "national", "national", "100000"))
    node.warmer.small = 0  # as a hub whose file is big enough
    node.start()
    try:
        admin = admin_pb2_grpc.AdminStub(grpc.insecure_channel(node.address))
        cache = wait_until(lambda: admin.Status(admin_pb2.StatusRequest(), timeout=10).cache, 30,
                           "the status saying the cache is warm", until=lambda c: c.state == "warm")
        assert cache.tables_done == cache.tables == len(TABLES)
        assert cache_line(cache).startswith(f"cache: warm ({len(TABLES)}/{len(TABLES)} tables, ")
    finally:
        node.stop(0)
    warming = admin_pb2.CacheWarming(state="warming", tables_done=2, tables=6, mib_read=1234, seconds=21)
    assert cache_line(warming) == ("cache: warming (2/6 tables, 1,234 MiB in 21s); until it is warm, searches may "
                                   "wait on the disk")
