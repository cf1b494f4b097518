"""Sources mounted from the node config (`resources.mounts`) answer Query and Verify as a mount by
MountResource does: by the keys the config names or, naming none, by the entry's key items, with
the entry's masking rules; the key's index is created with `index: create`, and a keyed SQLite
source without one stops the node at its start, naming the file and the mount's key."""

from __future__ import annotations

import sqlite3

import pytest

from exchange_support import OWNER, SOURCE_ITEMS, entry, exchange, source_rows
from harness import data
from node import config as config_mod
from node.errors import ConfigError
from node.model.masking import mask
from node.proto import exchange_pb2
from test_exchange_query import granted, query, refused, rows_of, verify
from test_sharing import publish

CODE = f"{OWNER}/000011"


def indexes(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [name for name, in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]


def test_a_config_mount_is_asked_by_the_entrys_keys_and_masks_by_its_rules(cluster, tmp_path):
    path = tmp_path / "configured.db"
    data.write_sqlite(path, "enterprises", SOURCE_ITEMS, 60, seed="config", province="440000")
    assert indexes(path) == []
    resources = {"mounts": [{"resource_code": CODE, "kind": "sqlite", "location": str(path),
                             "table": "enterprises", "index": "create", "personal": {"法定代表人": "name"}}]}
    c = cluster(interval=3600, notify=True, peer_extra={"guangdong": {"resources": resources}})
    # Published after the node started: the mount takes the entry's key when it is first asked by it.
    publish(c.peers["guangdong"], entry(11, keys=("统一社会信用代码",), share_type="unconditional"))
    c.sync()
    request_id = granted(c, CODE, ("企业名称", "法定代表人"))
    (code, name, person), (other, other_name, _) = source_rows(path, ("统一社会信用代码", "企业名称", "法定代表人"))[:2]
    assert rows_of(query(c.peers["hebei"], request_id, {"统一社会信用代码": code})) == [(name, mask(person, "name"))]
    assert indexes(path) == ["cascade_key_enterprises_统一社会信用代码"]
    shown = exchange(c.peers["guangdong"]).GetMount(exchange_pb2.GetMountRequest(resource_code=CODE), timeout=10)
    assert (shown.origin, list(shown.keys), dict(shown.personal)) == ("config", ["统一社会信用代码"], {"法定代表人": "name"})
    reply = verify(c.peers["hebei"], request_id, {"统一社会信用代码": other}, {"企业名称": other_name})
    assert reply.overall == "match"
    code_, details = refused(lambda: query(c.peers["hebei"], request_id, {"公民身份号码": "x"}))
    assert details.startswith("key[公民身份号码]: is not a key") and "ask by 统一社会信用代码" in details


def hebei_config(tmp_path, mount: dict) -> dict:
    return {"node": {"id": "guangdong", "role": "provincial", "region_code": "440000"}, "listen": "127.0.0.1:0",
            "database": str(tmp_path / "g.db"), "insecure": True,
            "departments": [{"code": OWNER, "name": "深圳市市场监督管理局"}],
            "resources": {"mounts": [{"resource_code": CODE, "kind": "sqlite", "table": "enterprises"} | mount]}}


def test_a_keyed_config_mount_without_an_index_on_its_key_stops_the_node_naming_it(tmp_path):
    from node.server import Node

    path = tmp_path / "plain.db"
    data.write_sqlite(path, "enterprises", SOURCE_ITEMS, 10, seed="config", province="440000")
    config = config_mod.parse(hebei_config(tmp_path, {"location": str(path), "keys": ["统一社会信用代码"]}),
                              "guangdong.yaml")
    with pytest.raises(ConfigError) as caught:
        Node(config)
    assert str(caught.value).startswith("guangdong.yaml: resources.mounts[0].keys: 'enterprises' has no index "
                                        "on the key column 统一社会信用代码"), str(caught.value)
    assert indexes(path) == []  # nothing was made without `index: create`


@pytest.mark.parametrize("mount, key, rule", [
    ({"keys": "统一社会信用代码"}, "resources.mounts[0].keys", "must list the data items"),
    ({"keys": ["统一社会信用代码", "统一社会信用代码"]}, "resources.mounts[0].keys", "names a data item twice"),
    ({"index": "maybe"}, "resources.mounts[0].index", 'must be "" (the index must exist) or "create"'),
    ({"personal": {"法定代表人": "blur"}}, "resources.mounts[0].personal[法定代表人]", "must be one of id_number"),
    ({"personal": ["法定代表人"]}, "resources.mounts[0].personal", "must map data items to a masking rule"),
])
def test_a_config_mounts_bad_marks_name_the_key_and_the_rule(tmp_path, mount, key, rule):
    with pytest.raises(ConfigError) as caught:
        config_mod.parse(hebei_config(tmp_path, {"location": str(tmp_path / "x.db")} | mount), "guangdong.yaml")
    assert str(caught.value).startswith(f"guangdong.yaml: {key}: {rule}"), str(caught.value)
