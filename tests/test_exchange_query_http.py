"""Query and Verify against an HTTP JSON API that takes the key in its URL template: the owner's
node calls the API with the key (normalised, quoted), keeps only the objects that hold that key,
and answers as from any other source; the API cannot be fetched whole."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse

import grpc
import pytest

from conftest import make_entry
from exchange_support import CONSUMER, OWNER, exchange, fetch
from node.model.rules import DataItem
from test_exchange_query import granted, query, refused, rows_of, verify
from test_sharing import publish

ITEMS = ("统一社会信用代码", "企业名称", "法定代表人")
RECORDS = {
    "91440300MA5F000001": {"统一社会信用代码": "91440300MA5F000001", "企业名称": "深圳市甲公司", "法定代表人": "张三丰"},
    "91440300MA5F00000X": {"统一社会信用代码": "91440300MA5F00000X", "企业名称": "深圳市乙公司", "法定代表人": "李四"},
}


class Api(http.server.ThreadingHTTPServer):
    """GET /enterprises/CODE answers [the record] (or, for /enterprises/any, every record: an API
    that answers more than it was asked); anything else 404. Records the paths it was called with."""

    def __init__(self):
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        code = urllib.parse.unquote(self.path.rpartition("/")[2])
        body = list(RECORDS.values()) if code == "any" else [RECORDS[code]] if code in RECORDS else None
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if body is not None:
            self.wfile.write(json.dumps(body, ensure_ascii=False).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = Api()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def mount_api(client, location, keys=("统一社会信用代码",)):
    from node.proto import exchange_pb2

    return exchange(client).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=f"{OWNER}/000020", kind="http", location=location, keys=list(keys)), timeout=30)


@pytest.fixture
def fed(cluster):
    c = cluster(interval=3600, notify=True)
    publish(c.peers["guangdong"], make_entry(OWNER, 20, name="深圳市企业信息接口", share_method="api",
                                             share_type="unconditional",
                                             data_items=tuple(DataItem(n, "string", 0, key=n == ITEMS[0])
                                                             for n in ITEMS)))
    c.sync()
    return c


def test_an_api_takes_the_key_in_its_url_and_answers_query_and_verify(fed, api):
    mounted = mount_api(fed.peers["guangdong"], api.base + "/enterprises/{统一社会信用代码}")
    assert list(mounted.keys) == ["统一社会信用代码"] and api.paths == []  # nothing called without a key
    request_id = granted(fed, f"{OWNER}/000020", ("企业名称", "法定代表人"))
    hebei = fed.peers["hebei"]
    assert rows_of(query(hebei, request_id, {"统一社会信用代码": "91440300MA5F000001"})) == [("深圳市甲公司", "张三丰")]
    # Normalised before it goes into the URL: the lower-case x of the check character.
    assert rows_of(query(hebei, request_id, {"统一社会信用代码": "91440300ma5f00000x"})) == []  # not an ID number
    assert rows_of(query(hebei, request_id, {"统一社会信用代码": "nobody"})) == []  # the API's 404
    assert rows_of(query(hebei, request_id, {"统一社会信用代码": "any"})) == []  # it answered others: none is the key
    assert api.paths[-1] == "/enterprises/any"
    verdict = verify(hebei, request_id, {"统一社会信用代码": "91440300MA5F00000X"}, {"法定代表人": "李四"})
    assert verdict.overall == "match"
    code, details = refused(lambda: fetch(hebei, request_id))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "key_only" in details


def test_a_keyed_api_names_each_key_in_its_url(fed, api):
    guangdong = fed.peers["guangdong"]
    for location, keys in ((api.base + "/enterprises", ("统一社会信用代码",)),
                           (api.base + "/enterprises/{企业名称}", ("统一社会信用代码",))):
        code, details = refused(lambda: mount_api(guangdong, location, keys))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("location"), details
    # A mount that names no keys asks by the entry's key items: the URL must name them.
    mount_api(guangdong, api.base + "/enterprises/{统一社会信用代码}", ())
    code, details = refused(lambda: mount_api(guangdong, api.base + "/enterprises", ()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("location"), details
