"""A node's audit trail cannot be changed unseen: any record edited, deleted or swapped in its file is found."""

from __future__ import annotations

import pathlib
import shutil
import sqlite3

import pytest
from hypothesis import assume, given, settings, strategies as st

from node.proto import admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc
from node.security import audit
from security_support import A, B, DEADLINE, Who, entry_proto, outcome
from security_support import ca, dial, hebei, world  # noqa: F401 (fixtures)


# --- 6. the audit trail cannot be changed unseen ---------------------------------------------------

@pytest.fixture(scope="module")
def trail(hebei, dial, world, tmp_path_factory) -> tuple[pathlib.Path, int, tuple[int, str]]:
    """A copy of Hebei's file, its number of audit records, and the head its Status showed an operator."""
    catalog = catalog_pb2_grpc.CatalogStub(dial.channel(hebei, Who("tool", "B")))
    outcome(lambda: catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(A, 700)), timeout=DEADLINE))
    catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=entry_proto(B, 700)), timeout=DEADLINE)
    status = admin_pb2_grpc.AdminStub(dial.channel(hebei, Who("operator"))).Status(admin_pb2.StatusRequest(),
                                                                                   timeout=DEADLINE)
    path = tmp_path_factory.mktemp("trail") / "hebei-copy.db"
    source, copy = sqlite3.connect(hebei.node.config.database), sqlite3.connect(path)
    with source, copy:
        source.backup(copy)
    source.close()
    head = audit.head(copy)
    copy.close()
    assert head == (status.audit_seq, status.audit_hash), "writes happened between Status and the copy"
    assert head[0] >= 3
    return path, head[0], head


def _tamper(path: pathlib.Path, *statements: tuple) -> sqlite3.Connection:
    """Change the trail as someone holding the file could: drop the append-only triggers first."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for sql, *params in statements:
        conn.execute(sql, params)
    return conn


FIELDS = ("at", "actor", "method", "object", "outcome", "detail")
SWAP = """UPDATE audit SET at = o.at, actor = o.actor, method = o.method, object = o.object, outcome = o.outcome,
          detail = o.detail, prev_hash = o.prev_hash, hash = o.hash
          FROM (SELECT * FROM audit) AS o WHERE (audit.seq = ? AND o.seq = ?) OR (audit.seq = ? AND o.seq = ?)"""


@settings(max_examples=40, deadline=None, database=None)
@given(data=st.data())
def test_editing_deleting_or_swapping_any_audit_record_is_found_at_that_record(trail, tmp_path_factory, data):
    master, n, published = trail
    path = tmp_path_factory.mktemp("tampered") / "hebei.db"
    shutil.copyfile(master, path)
    seq = data.draw(st.integers(1, n), label="seq")
    how = data.draw(st.sampled_from(["edit", "edit and re-hash", "delete", "swap"]), label="how")
    if how == "edit":
        field = data.draw(st.sampled_from(FIELDS), label="field")
        value = data.draw(st.text(max_size=30), label="value")
        conn = _tamper(path)
        assume(conn.execute(f"SELECT {field} FROM audit WHERE seq = ?", (seq,)).fetchone()[0] != value)
        conn.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (value, seq))
    elif how == "edit and re-hash":
        assume(seq < n)  # a re-hashed newest record shows only against a head seen before, as below
        conn = _tamper(path)
        record = audit.Record(*conn.execute(f"SELECT {audit.COLUMNS} FROM audit WHERE seq = ?", (seq,)).fetchone())
        forged = audit.seal(seq, record.at, record.actor, record.method, record.object,
                            "ok" if record.outcome != "ok" else "denied", record.detail, record.prev_hash)
        conn.execute("UPDATE audit SET outcome = ?, hash = ? WHERE seq = ?", (forged.outcome, forged.hash, seq))
    elif how == "delete":
        conn = _tamper(path, ("DELETE FROM audit WHERE seq = ?", seq))
    else:
        other = data.draw(st.integers(1, n).filter(lambda s: s != seq), label="other")
        conn = _tamper(path, (SWAP, seq, other, other, seq))
        seq = min(seq, other)
    verdict, head = audit.verify(conn), audit.head(conn)
    conn.close()
    if how == "delete" and seq == n:
        # The newest record gone leaves an intact but shorter chain: the head an operator noted shows it.
        assert verdict.ok and head != published
        return
    assert not verdict.ok and verdict.problem_seq == seq, verdict.message
    assert f"record {seq}" in verdict.message or f"records {seq}" in verdict.message, verdict.message
