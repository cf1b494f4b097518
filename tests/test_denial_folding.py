"""Refusals repeated by one caller for one reason are counted, not written one record each:
a garbage token sent 500 times leaves a handful of `denied` records whose counts add up to 500,
and the audit chain still verifies."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import types

import grpc

from node.api.interceptors.denials import Denials, count_of
from node.logs import logger
from node.proto import catalog_pb2, catalog_pb2_grpc
from node.security import audit, authz
from node.security.client import Credentials, open_channel
from node.server import Node
from security_support import DEADLINE, tls_config
from security_support import ca  # noqa: F401 (fixtures)

GARBAGE = "cct_0badf00d_" + "z" * 43
LIST = "/node.proto.Catalog/ListEntries"


def test_500_refusals_of_one_garbage_token_make_few_records_that_count_500(ca, tmp_path):
    node = Node(tls_config(ca, tmp_path, "hebei", "provincial", "130000", departments=("130000001",),
                           limits={"denial_fold_seconds": 10})).start()
    try:
        with node.store.reading() as conn:
            before = audit.head(conn)[0]
        channel = open_channel(node.address, Credentials(str(ca / "tool.pem"), str(ca / "tool.key"),
                                                         str(ca / "ca.pem"), GARBAGE))
        catalog = catalog_pb2_grpc.CatalogStub(channel)
        started = time.monotonic()
        for _ in range(500):
            try:
                catalog.ListEntries(catalog_pb2.ListEntriesRequest(), timeout=DEADLINE)
            except grpc.RpcError as refused:
                assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
        elapsed = time.monotonic() - started
        channel.close()
    finally:
        node.stop(0)  # flushes what was folded
    conn = sqlite3.connect(node.config.database)
    try:
        records = [r for r in audit.tail(conn, 1000) if r.seq > before and r.method == LIST]
        assert audit.verify(conn).ok
    finally:
        conn.close()
    assert all(r.outcome == "denied" and r.actor == "client:tool" for r in records), records
    assert sum(count_of(r.detail) for r in records) == 500
    # One at the start of each 10-second interval the calls spanned, and the flush at the end.
    assert len(records) <= 2 + elapsed // 10, [r.detail for r in records]


class _Store:
    """Just enough of a Store for Denials: one SQLite connection, one transaction at a time."""

    def __init__(self):
        self.conn = sqlite3.connect(":memory:")
        audit.create_tables(self.conn)

    @contextlib.contextmanager
    def transaction(self):
        with self.conn:
            yield types.SimpleNamespace(conn=self.conn)


def test_folding_by_caller_method_and_reason_over_a_fixed_clock():
    now = [0.0]
    store = _Store()
    denials = Denials(store, logger("test", "provincial"), fold_seconds=10, clock=lambda: now[0])
    scanner, other = authz.Caller(name="tool", kind="client"), authz.Caller(name="hebei", kind="node")
    request = catalog_pb2.ListEntriesRequest()
    for second in range(25):  # 3 a second for 25 seconds
        now[0] = float(second)
        for _ in range(3):
            denials.record(LIST, scanner, request, "the bearer token is unknown")
    denials.record(LIST, other, request, "the bearer token is unknown")  # another caller: recorded at once
    denials.record("/node.proto.Admin/Status", scanner, request, "the bearer token is unknown")  # another method
    denials.flush()
    records = audit.tail(store.conn, 100)
    mine = [r for r in records if r.actor == "client:tool" and r.method == LIST]
    assert [count_of(r.detail) for r in mine] == [1, 30, 30, 14]  # at 0 s, 10 s, 20 s, then the flush
    assert sum(count_of(r.detail) for r in mine) == 75
    assert {(r.actor, r.method) for r in records if r not in mine} == {
        ("node:hebei", LIST), ("client:tool", "/node.proto.Admin/Status")}
    assert audit.verify(store.conn).ok
    denials.flush()
    assert len(audit.tail(store.conn, 100)) == len(records), "a second flush has nothing to add"
