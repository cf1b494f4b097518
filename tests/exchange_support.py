"""Shared by the exchange tests: a source mounted at Guangdong's node, granted requests, and fetching them."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from conftest import make_entry
from harness import data
from node.model.rules import DataItem
from node.exchange.digest import RowsHash
from node.proto import exchange_pb2, exchange_pb2_grpc
from test_sharing import publish, submit, wait_state


OWNER = "440300002"  # Shenzhen's department at Guangdong's node
CONSUMER = "130100005"  # Shijiazhuang's, at Hebei's
ITEMS = (("统一社会信用代码", "string"), ("企业名称", "string"), ("法定代表人", "string"), ("公民身份号码", "string"),
         ("注册资本", "decimal"))
SOURCE_ITEMS = ITEMS + (("内部备注", "string"),)  # a column the entry does not share: it never leaves
ROWS = 240


def entry(seq: int, keys: tuple[str, ...] = (), **fields):
    """Entry `seq` of the owner's, its items marked as keys where named (a record may be asked for by them)."""
    fields = dict(name=f"深圳市企业法人登记信息{seq}", share_method="database",
                  data_items=tuple(DataItem(name, kind, 0, key=name in keys) for name, kind in ITEMS)) | fields
    return make_entry(OWNER, seq, **fields)


ENTRIES = [
    entry(1, share_type="unconditional"),
    entry(2, share_type="conditional", share_condition="须说明办理事项"),
    entry(3, share_type="unconditional"),  # never mounted
    entry(4, share_type="unconditional"),  # withdrawn after mounting
]


def exchange(client):
    return exchange_pb2_grpc.ExchangeStub(client.channel)


def mount(client, code, location, table="enterprises", kind="sqlite", **columns):
    return exchange(client).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=code, kind=kind, location=str(location), table=table, columns=columns), timeout=30)


def fetch(client, request_id, consumer=CONSUMER, offset=0):
    """(columns, rows, total_rows, sha256) of one FetchData call at the node."""
    columns, rows, tail = [], [], None
    for chunk in exchange(client).FetchData(exchange_pb2.FetchDataRequest(
            request_id=request_id, consumer_code=consumer, offset=offset), timeout=60):
        columns = columns or list(chunk.columns)
        rows.extend(tuple(r.values) for r in chunk.rows)
        if chunk.last:
            tail = chunk
    assert tail is not None, "the stream ended without its last chunk"
    return columns, rows, tail.total_rows, tail.sha256


def refusal(client, request_id, consumer=CONSUMER):
    with pytest.raises(grpc.RpcError) as caught:
        fetch(client, request_id, consumer)
    return caught.value.code(), caught.value.details()


def source_rows(path, columns, where=""):
    with sqlite3.connect(path) as db:
        names = ", ".join(f'"{c}"' for c in columns)
        return [tuple(r) for r in db.execute(f"SELECT {names} FROM enterprises {where} ORDER BY rowid")]


def digest(rows):
    h = RowsHash()
    h.add_rows(rows)
    return h.hexdigest()


@pytest.fixture
def fed(cluster, tmp_path):
    c = cluster(interval=3600, notify=True)
    publish(c.peers["guangdong"], *ENTRIES)
    c.source = str(tmp_path / "shenzhen-market.db")
    data.write_sqlite(c.source, "enterprises", SOURCE_ITEMS, ROWS, seed="exchange", province="440000")
    for code in ("440300002/000001", "440300002/000002", "440300002/000004"):
        mount(c.peers["guangdong"], code, c.source)
    c.sync()
    return c


def granted(fed, code="440300002/000001", items=("企业名称", "统一社会信用代码")):
    filed = submit(fed.peers["hebei"], CONSUMER, code, items=items)
    return wait_state(fed.peers["hebei"], filed.request_id, {"granted"}).request_id
