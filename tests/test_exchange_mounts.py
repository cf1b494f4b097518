"""Mounting a source on an entry: what is refused and why, and mounts never leave the owner's node."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from exchange_support import mount
from exchange_support import fed  # noqa: F401 (fixture)
from harness import data


# --- mounting ----------------------------------------------------------------------------------

def test_a_mount_whose_source_lacks_data_items_is_refused_naming_them(fed, tmp_path):
    path = tmp_path / "thin.db"
    data.write_sqlite(path, "enterprises", (("统一社会信用代码", "string"), ("企业名称", "string")), 5)
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.peers["guangdong"], "440300002/000003", path)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "法定代表人" in caught.value.details() and "注册资本" in caught.value.details()
    # Named otherwise in the source: the mount says which column holds which item.
    with sqlite3.connect(path) as db:
        for column in ("legal_person", "id_no", "capital"):
            db.execute(f"ALTER TABLE enterprises ADD COLUMN {column}")
    made = mount(fed.peers["guangdong"], "440300002/000003", path, 法定代表人="legal_person", 公民身份号码="id_no",
                 注册资本="capital")
    assert made.kind == "sqlite" and "legal_person" in made.source_columns


def test_the_nodes_own_database_is_never_a_source(fed):
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.peers["guangdong"], "440300002/000003", fed.peers["guangdong"].node.config.database, table="tokens")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "own database" in caught.value.details()


@pytest.mark.parametrize("kind, location, field", [
    ("csv", "/tmp/x.csv", "kind"),  # the entry is shared by database
    ("sqlite", "relative/path.db", "location"),
    ("sqlite", "/nonexistent/file.db", "location"),
])
def test_bad_mounts_name_the_field(fed, kind, location, field):
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.peers["guangdong"], "440300002/000003", location, kind=kind)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and caught.value.details().startswith(field)


def test_only_the_entrys_own_node_mounts_it(fed):
    with pytest.raises(grpc.RpcError) as caught:
        mount(fed.hub, "440300002/000001", fed.source)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED and "guangdong" in caught.value.details()


def test_mounts_never_travel(fed):
    """Neither the path nor any mount reaches the change log, the hub or the consumer."""
    fed.sync()
    for node in (fed.hub, fed.peers["hebei"], fed.peers["guangdong"]):
        with node.node.store.reading() as conn:
            assert not conn.execute("SELECT count(*) FROM changes WHERE kind NOT IN ('entry', 'request')").fetchone()[0]
    assert fed.hub.node.store.get_mount("440300002/000001") is None
