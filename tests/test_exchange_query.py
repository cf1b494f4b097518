"""Query and Verify across real nodes (Hebei's department asks, the hub relays, Guangdong's
node answers): the rows of a key exactly as the source holds them, only the granted items,
personal items masked by their rule, a key outside the row filter answered as a missing one,
verdicts and never values, the batch forms, every refusal, and the counts at each hop."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import pathlib
import sqlite3
from datetime import datetime, timezone

import grpc
import pytest

from conftest import make_entry
from exchange_support import CONSUMER, OWNER, SOURCE_ITEMS, entry, exchange, source_rows
from harness import data
from metrics_support import METRICS_ON, scrape
from node.model.masking import mask
from node.model.rules import DataItem
from node.proto import admin_pb2, exchange_pb2, sharing_pb2
from node.security import audit, audit_key
from test_sharing import publish, sharing, submit, wait_state

INVALID, FAILED, DENIED = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                           grpc.StatusCode.PERMISSION_DENIED)
ROWS = 120
PERSONS = [  # 公民身份号码, 姓名, 联系电话, 住所
    ("44030519800101123X", "张三丰", "13812345678", "广东省深圳市南山区科技园路1号"),
    ("440305199002022345", "李四", "13987654321", "广东省深圳市福田区福华路8号"),
    ("110101198503033456", "欧阳娜娜", "13700001111", "北京市东城区东长安街1号"),
]
PERSON_ITEMS = ("公民身份号码", "姓名", "联系电话", "住所")
PERSONAL = {"公民身份号码": "id_number", "姓名": "name", "联系电话": "phone", "住所": "address"}


def mount(client, code, location, *, kind="sqlite", table="enterprises", keys=(), index="", personal=None):
    return exchange(client).MountResource(exchange_pb2.MountResourceRequest(
        resource_code=code, kind=kind, location=str(location), table=table, keys=keys, index=index,
        personal=personal or {}), timeout=30)


def query(client, request_id, key=None, keys=None, consumer=CONSUMER):
    message = exchange_pb2.QueryRequest(request_id=request_id, consumer_code=consumer, key=key or {})
    for k in keys or ():
        message.keys.add(items=k)
    return exchange(client).Query(message, timeout=30)


def verify(client, request_id, key=None, claims=None, batch=None, consumer=CONSUMER):
    message = exchange_pb2.VerifyClaimsRequest(request_id=request_id, consumer_code=consumer, key=key or {},
                                               claims=claims or {})
    for k, c in batch or ():
        message.batch.add(key=k, claims=c)
    return exchange(client).Verify(message, timeout=30)


def refused(call):
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), caught.value.details()


def rows_of(reply):
    return [tuple(r.values) for r in reply.rows]


def counts(client, request_id):
    """The node's counts of the request's calls by (part, mode), summed over the hours."""
    reply = exchange(client).ListCalls(exchange_pb2.ListCallsRequest(request_id=request_id), timeout=10)
    summed = {}
    for c in reply.counts:
        total = summed.setdefault((c.role, c.mode), exchange_pb2.CallCount(request_id=c.request_id, role=c.role,
                                                                          mode=c.mode))
        for name in ("calls", "keys", "hits", "not_found", "mismatches", "refusals", "millis"):
            setattr(total, name, getattr(total, name) + getattr(c, name))
    return summed


@pytest.fixture
def fed(cluster, tmp_path):
    c = cluster(interval=3600, notify=True, hub_extra=METRICS_ON,
                peer_extra={p: METRICS_ON for p in ("hebei", "guangdong", "xpcc", "mps")})
    persons = make_entry(OWNER, 10, name="深圳市户籍人员信息", share_method="file", share_type="unconditional",
                         data_items=tuple(DataItem(n, "string", 0, key=n == "公民身份号码") for n in PERSON_ITEMS))
    publish(c.peers["guangdong"], entry(1, keys=("统一社会信用代码",), share_type="unconditional"),
            entry(2, keys=("公民身份号码",), share_type="conditional", share_condition="须说明办理事项"),
            entry(3, share_type="unconditional"),
            persons)
    c.source = str(tmp_path / "shenzhen-market.db")
    data.write_sqlite(c.source, "enterprises", SOURCE_ITEMS, ROWS, seed="query", province="440000")
    with sqlite3.connect(c.source) as db:
        db.execute('CREATE INDEX enterprises_uscc ON enterprises("统一社会信用代码")')
    guangdong = c.peers["guangdong"]
    mount(guangdong, "440300002/000001", c.source, keys=["统一社会信用代码"])
    mount(guangdong, "440300002/000002", c.source, keys=["公民身份号码"], index="create",
          personal={"公民身份号码": "id_number", "法定代表人": "name"})
    mount(guangdong, "440300002/000003", c.source)  # no keys: fetch only
    c.persons = tmp_path / "persons.csv"
    write_persons(c.persons, PERSONS)
    mount(guangdong, "440300002/000010", c.persons, kind="csv", table="", keys=["公民身份号码"], personal=PERSONAL)
    c.sync()
    return c


def write_persons(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(PERSON_ITEMS)
        writer.writerows(rows)


def granted(fed, code, items):
    filed = submit(fed.peers["hebei"], CONSUMER, code, items=items)
    return wait_state(fed.peers["hebei"], filed.request_id, {"granted"}).request_id


def test_query_answers_each_key_with_the_sources_row_and_only_the_granted_items(fed):
    request_id = granted(fed, "440300002/000001", ("企业名称", "注册资本"))
    source = source_rows(fed.source, ("统一社会信用代码", "企业名称", "注册资本"))
    for code, name, capital in source:
        reply = query(fed.peers["hebei"], request_id, {"统一社会信用代码": code})
        assert list(reply.columns) == ["企业名称", "注册资本"]
        assert rows_of(reply) == [(name, capital)], code
    missing = query(fed.peers["hebei"], request_id, {"统一社会信用代码": "91440300MA5XXXXXX0"})
    assert list(missing.columns) == ["企业名称", "注册资本"] and rows_of(missing) == []
    # The batch form: one answer per key, in order, a missing key an empty answer.
    keys = [{"统一社会信用代码": code} for code, _, _ in source[:50]] + [{"统一社会信用代码": "nope"}]
    reply = query(fed.peers["hebei"], request_id, keys=keys)
    assert [[tuple(r.values) for r in a.rows] for a in reply.answers] == [[(n, c)] for _, n, c in source[:50]] + [[]]
    # Counted at every hop: the consumer's node, the hub, the owner's node.
    for node in (fed.peers["hebei"], fed.hub, fed.peers["guangdong"]):
        role = {"hebei": "consumer", "national": "hub", "guangdong": "owner"}[node.node.config.node_id]
        c = counts(node, request_id)[(role, "query")]
        assert (c.calls, c.keys, c.hits, c.not_found, c.refusals) == (ROWS + 2, ROWS + 52, ROWS + 50, 2, 0)
    # The hub's scorecard: calls served by the owner department, made by the consumer (read after
    # the hub's counts were written, as reading them above does).
    with pytest.raises(grpc.RpcError):
        query(fed.peers["hebei"], request_id, {"企业名称": "x"})  # refused: not a call answered
    counts(fed.hub, request_id)
    rows = {r.department_code: r for r in fed.hub.admin.Scorecard(admin_pb2.ScorecardRequest(), timeout=30).departments}
    assert (rows[OWNER].calls_provided, rows[OWNER].calls_made) == (ROWS + 2, 0)
    assert (rows[CONSUMER].calls_provided, rows[CONSUMER].calls_made) == (0, ROWS + 2)
    # ... and each node's metrics, by its part.
    for node, role in ((fed.peers["hebei"], "consumer"), (fed.hub, "hub"), (fed.peers["guangdong"], "owner")):
        seen = scrape(node)
        assert seen.value("cascade_keyed_calls_total", role=role, mode="query", outcome="answered") == ROWS + 2
        assert seen.value("cascade_keyed_calls_total", role=role, mode="query", outcome="refused") == 1
        assert seen.value("cascade_keyed_call_keys_total", role=role, mode="query", result="hit") == ROWS + 50
        assert seen.value("cascade_keyed_call_keys_total", role=role, mode="query", result="not_found") == 2


def test_a_key_outside_the_row_filter_answers_exactly_like_a_missing_key(fed):
    filed = submit(fed.peers["hebei"], CONSUMER, "440300002/000002", items=("企业名称", "公民身份号码"))
    wait_state(fed.peers["guangdong"], filed.request_id, {"pending"})
    sharing(fed.peers["guangdong"]).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code=OWNER, approve=True, reason="限南山区户籍",
        row_filter=sharing_pb2.RowFilter(column="公民身份号码", prefix="440305"), valid_until="2099-12-31"))
    request_id = wait_state(fed.peers["hebei"], filed.request_id, {"granted"}).request_id
    source = source_rows(fed.source, ("公民身份号码", "企业名称"))
    inside = [r for r in source if r[0].startswith("440305")]
    outside = [r for r in source if not r[0].startswith("440305")]
    assert inside and outside
    for number, name in inside:
        reply = query(fed.peers["hebei"], request_id, {"公民身份号码": number})
        assert rows_of(reply) == [(name, mask(number, "id_number"))]
    nowhere = query(fed.peers["hebei"], request_id, {"公民身份号码": "440305199901011234"})
    for number, _ in outside[:20]:
        reply = query(fed.peers["hebei"], request_id, {"公民身份号码": number})
        assert reply.SerializeToString() == nowhere.SerializeToString()
        verdict = verify(fed.peers["hebei"], request_id, {"公民身份号码": number}, {"企业名称": "x"})
        assert (dict(verdict.results), verdict.overall) == ({"企业名称": "not_found"}, "not_found")
    # So does the batch form, a key asked twice (once with a lower-case x) answered twice.
    asked = inside[:5] + outside[:5] + inside[:1]
    reply = query(fed.peers["hebei"], request_id, keys=[{"公民身份号码": n.lower()} for n, _ in asked])
    assert [[tuple(r.values) for r in a.rows] for a in reply.answers] == (
        [[(name, mask(n, "id_number"))] for n, name in inside[:5]] + [[]] * 5 + [[(inside[0][1], mask(inside[0][0],
                                                                                                      "id_number"))]])


def test_verify_says_match_mismatch_or_not_found_and_never_a_value(fed):
    request_id = granted(fed, "440300002/000001", ("企业名称", "法定代表人"))
    source = source_rows(fed.source, ("统一社会信用代码", "企业名称", "法定代表人"))
    for code, name, person in source:
        right = verify(fed.peers["hebei"], request_id, {"统一社会信用代码": code}, {"企业名称": name, "法定代表人": person})
        assert (dict(right.results), right.overall) == ({"企业名称": "match", "法定代表人": "match"}, "match")
        wrong = verify(fed.peers["hebei"], request_id, {"统一社会信用代码": code}, {"企业名称": name, "法定代表人": "某某"})
        assert (dict(wrong.results), wrong.overall) == ({"企业名称": "match", "法定代表人": "mismatch"}, "mismatch")
        assert person not in str(wrong) and name not in str(wrong)
    # Full-width characters and surrounding spaces are what the value is.
    code, name, _ = source[0]
    padded = "　" + name.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}) + " "
    assert verify(fed.peers["hebei"], request_id, {"统一社会信用代码": code}, {"企业名称": padded}).overall == "match"
    # The batch form, and the counts of it.
    batch = [({"统一社会信用代码": c}, {"企业名称": n}) for c, n, _ in source[:10]]
    batch += [({"统一社会信用代码": source[0][0]}, {"企业名称": "别家"}), ({"统一社会信用代码": "none"}, {"企业名称": "x"})]
    reply = verify(fed.peers["hebei"], request_id, batch=batch)
    assert [v.overall for v in reply.verdicts] == ["match"] * 10 + ["mismatch", "not_found"]
    owner = counts(fed.peers["guangdong"], request_id)[("owner", "verify")]
    assert (owner.keys, owner.hits, owner.mismatches, owner.not_found) == (2 * ROWS + 13, ROWS + 11, ROWS + 1, 1)


def test_an_id_number_is_asked_with_a_lower_case_x_or_in_full_width(fed):
    request_id = granted(fed, "440300002/000010", PERSON_ITEMS)
    number = PERSONS[0][0]
    for asked in (number, number.lower(), " " + number + " ",
                  number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})):
        reply = query(fed.peers["hebei"], request_id, {"公民身份号码": asked})
        assert len(reply.rows) == 1, asked
        verdict = verify(fed.peers["hebei"], request_id, {"公民身份号码": asked}, {"姓名": "张三丰"})
        assert verdict.overall == "match", asked


def test_personal_items_leave_masked_by_their_rule_in_query_and_in_fetch(fed):
    request_id = granted(fed, "440300002/000010", PERSON_ITEMS)
    expected = {("44030519800101123X",): ("440305********123X", "张**", "138****5678", "广东省深圳市南山区****"),
                ("440305199002022345",): ("440305********2345", "李*", "139****4321", "广东省深圳市福田区****"),
                ("110101198503033456",): ("110101********3456", "欧***", "137****1111", "北京市东城区****")}
    for (number,), masked in expected.items():
        assert rows_of(query(fed.peers["hebei"], request_id, {"公民身份号码": number})) == [masked]
    from exchange_support import fetch

    columns, rows, total, _ = fetch(fed.peers["hebei"], request_id)
    assert columns == list(PERSON_ITEMS) and sorted(rows) == sorted(expected.values()) and total == 3
    # Verify compares with the record itself, not with what a masked value shows.
    assert verify(fed.peers["hebei"], request_id, {"公民身份号码": PERSONS[1][0]},
                  {"联系电话": "13987654321", "住所": "广东省深圳市福田区福华路8号"}).overall == "match"


def test_a_csv_lookup_index_is_rebuilt_when_the_file_changes(fed):
    request_id = granted(fed, "440300002/000010", ("姓名",))
    indexes = fed.peers["guangdong"].node.mounts.file_indexes
    for _ in range(3):
        assert rows_of(query(fed.peers["hebei"], request_id, {"公民身份号码": PERSONS[1][0]})) == [("李*",)]
    assert indexes.builds == 1  # built once, then read from
    changed = [PERSONS[0], ("440305199002022345", "王五", "13900000000", "广东省深圳市宝安区"), PERSONS[2]]
    write_persons(fed.persons, changed)
    os.utime(fed.persons, ns=(1, 2_000_000_000_000_000_000))  # a new modification time, whatever the clock
    assert rows_of(query(fed.peers["hebei"], request_id, {"公民身份号码": PERSONS[1][0]})) == [("王*",)]
    assert indexes.builds == 2


def test_a_keyed_sqlite_mount_needs_an_index_on_the_key(fed):
    guangdong = fed.peers["guangdong"]
    code, details = refused(lambda: mount(guangdong, "440300002/000003", fed.source, keys=["企业名称"]))
    assert code == INVALID and details.startswith("keys") and "企业名称" in details and "index: create" in details
    code, details = refused(lambda: mount(guangdong, "440300002/000003", fed.source, keys=["住所"]))
    assert code == INVALID and details.startswith("keys[0]")
    reply = mount(guangdong, "440300002/000003", fed.source, keys=["企业名称"], index="create")
    assert list(reply.keys) == ["企业名称"]
    with sqlite3.connect(fed.source) as db:
        plan = " ".join(str(r) for r in db.execute(
            'EXPLAIN QUERY PLAN SELECT * FROM enterprises WHERE "企业名称" IN (?)', ("x",)))
    assert "USING INDEX" in plan, plan


def test_each_bad_question_gets_its_own_status_and_is_counted_as_refused(fed):
    hebei = fed.peers["hebei"]
    request_id = granted(fed, "440300002/000001", ("企业名称",))
    code0 = source_rows(fed.source, ("统一社会信用代码",))[0][0]
    cases = [
        (lambda: query(hebei, request_id, {"公民身份号码": "x"}), INVALID, "key[公民身份号码]: is not a key"),
        (lambda: query(hebei, request_id, {}), INVALID, "keys: names no key"),
        (lambda: verify(hebei, request_id, {"统一社会信用代码": code0}, {"法定代表人": "张三"}), DENIED,
         "claims[法定代表人]: is not a granted item"),
        (lambda: query(hebei, request_id, {"统一社会信用代码": code0}, consumer="130000001"), DENIED,
         "consumer_code"),
        (lambda: query(hebei, "no-such-request", {"统一社会信用代码": code0}), grpc.StatusCode.NOT_FOUND,
         "request_id"),
    ]
    for call, status, start in cases:
        code, details = refused(call)
        assert code == status and start in details, (code, details)
    # A check character that does not check is a question, not an error.
    assert rows_of(query(hebei, request_id, {"统一社会信用代码": code0[:-1] + "!"})) == []
    # An unconditional entry that marks no key item offers a fetch only, and grants no more.
    fetch_only = granted(fed, "440300002/000003", ("企业名称",))
    assert list(wait_state(hebei, fetch_only, {"granted"}).modes) == ["fetch"]
    code, details = refused(lambda: query(hebei, fetch_only, {"统一社会信用代码": code0}))
    assert code == DENIED and "does not allow query (it allows fetch)" in details, details
    asked_query = submit(hebei, CONSUMER, "440300002/000003", items=("企业名称",), modes=("query", "verify"))
    rejected = wait_state(hebei, asked_query.request_id, {"rejected"})
    assert "offers fetch only: it marks no key item" in rejected.reason, rejected.reason
    # The source disappears.
    os.rename(fed.source, fed.source + ".gone")
    code, details = refused(lambda: query(hebei, request_id, {"统一社会信用代码": code0}))
    assert code == FAILED and "source_unreadable" in details
    os.rename(fed.source + ".gone", fed.source)
    owner = counts(fed.peers["guangdong"], request_id)[("owner", "query")]
    assert (owner.hits, owner.not_found) == (0, 1)  # only the wrong check character was served
    consumer = counts(hebei, request_id)[("consumer", "query")]
    assert consumer.refusals == 4 and consumer.hits == 0


def test_a_withdrawn_or_expired_grant_is_refused_and_not_counted_as_served(fed):
    hebei, guangdong = fed.peers["hebei"], fed.peers["guangdong"]
    number = source_rows(fed.source, ("公民身份号码",))[0][0]
    withdrawn = submit(hebei, CONSUMER, "440300002/000002", items=("企业名称",)).request_id
    wait_state(guangdong, withdrawn, {"pending"})
    sharing(hebei).WithdrawRequest(sharing_pb2.WithdrawRequestRequest(request_id=withdrawn, consumer_code=CONSUMER))
    wait_state(guangdong, withdrawn, {"withdrawn"})
    code, details = refused(lambda: query(hebei, withdrawn, {"公民身份号码": number}))
    assert code == FAILED and "withdrawn" in details

    filed = submit(hebei, CONSUMER, "440300002/000002", items=("企业名称",))
    wait_state(guangdong, filed.request_id, {"pending"})
    sharing(guangdong).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=filed.request_id, department_code=OWNER, approve=True, valid_until="2099-12-31"))
    wait_state(hebei, filed.request_id, {"granted"})
    assert len(query(hebei, filed.request_id, {"公民身份号码": number}).rows) == 1
    guangdong.node.sharing.clock = lambda: datetime(2100, 1, 2, tzinfo=timezone.utc)
    code, details = refused(lambda: query(hebei, filed.request_id, {"公民身份号码": number}))
    assert code == FAILED and "expired" in details
    code, details = refused(lambda: verify(hebei, filed.request_id, {"公民身份号码": number}, {"企业名称": "x"}))
    assert code == FAILED and "expired" in details
    owner = counts(guangdong, filed.request_id)
    assert (owner[("owner", "query")].hits, owner[("owner", "query")].refusals) == (1, 1)
    assert (owner[("owner", "verify")].keys, owner[("owner", "verify")].refusals) == (0, 1)


def test_the_owners_audit_trail_holds_a_hash_of_each_key_never_the_key(fed):
    request_id = granted(fed, "440300002/000010", ("姓名",))
    for number, *_ in PERSONS:
        query(fed.peers["hebei"], request_id, {"公民身份号码": number})
    counts(fed.peers["guangdong"], request_id)  # reading the counts writes them
    with fed.peers["guangdong"].node.store.reading() as conn:
        records = [r for r in audit.tail(conn, 100) if request_id in r.detail]
    assert len(records) == 1, records  # one record for the three calls
    assert "3 keys" in records[0].detail
    assert not any(number in records[0].detail for number, *_ in PERSONS)
    # An HMAC under the node's own secret, not a hash anyone could recompute for every ID number.
    database = fed.peers["guangdong"].node.config.database
    secret_file = audit_key.key_file(database)
    assert os.stat(secret_file).st_mode & 0o777 == 0o600
    secret = pathlib.Path(secret_file).read_bytes()
    for number, *_ in PERSONS:
        key = {"公民身份号码": number}
        assert audit_key.key_hash(secret, request_id, key) in records[0].detail
        plain = json.dumps([request_id, sorted(key.items())], ensure_ascii=False, separators=(",", ":"))
        assert hashlib.sha256(plain.encode()).hexdigest()[:16] not in records[0].detail


def test_a_node_whose_audit_key_file_is_not_a_key_does_not_start_and_says_which_file(tmp_path):
    from click.testing import CliRunner

    from cli import main

    config = tmp_path / "node.yaml"
    config.write_text('node: {id: hebei, role: provincial, region_code: "130000"}\nlisten: 127.0.0.1:0\n'
                      "database: hebei.db\ninsecure: true\nsharing: {beyond_calendar: weekdays}\n")
    (tmp_path / "hebei.db.audit-key").write_bytes(b"truncated")
    result = CliRunner().invoke(main, ["node", "run", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "hebei.db.audit-key: the node's audit key must be 32 bytes (it has 9)" in result.output


def test_a_keyed_sqlite_source_kept_open_is_checked_again_at_each_look_up(fed):
    """Kept open between look-ups for speed, a source still answers from the file its path leads
    to now, and is refused when the path now leads to one of the node's own files."""
    hebei, key = fed.peers["hebei"], "统一社会信用代码"
    request_id = granted(fed, "440300002/000001", ("企业名称",))
    code0, name0 = source_rows(fed.source, (key, "企业名称"))[0]
    assert rows_of(query(hebei, request_id, {key: code0})) == [(name0,)]
    replacement = fed.source + ".new"
    with sqlite3.connect(fed.source) as old, sqlite3.connect(replacement) as new:
        old.backup(new)
        new.execute(f'UPDATE enterprises SET "企业名称" = ? WHERE "{key}" = ?', ("深圳市更名后有限公司", code0))
    os.replace(replacement, fed.source)  # another file at the same path
    assert rows_of(query(hebei, request_id, {key: code0})) == [("深圳市更名后有限公司",)]
    os.rename(fed.source, fed.source + ".real")
    os.symlink(fed.peers["guangdong"].node.config.database, fed.source)  # now the node's own database
    try:
        code, details = refused(lambda: query(hebei, request_id, {key: code0}))
        assert code == FAILED and "source_refused" in details
    finally:
        os.remove(fed.source)
        os.rename(fed.source + ".real", fed.source)
