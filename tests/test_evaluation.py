"""Evaluation by period (考核) through a real hub and its peers, over a small history made with a
fixed clock: the figures an evaluator checks (answered in time, 需求满足率, 挂接率, 更新及时率)
for January 2026, requests between two departments of one node counted at the hub, the
terminal table and the workbook of `cascade scorecard`."""

import os
from datetime import date, datetime, timedelta

import grpc
import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cli import main
from clock_support import fix_clock
from conftest import make_entry, wait_until
from exchange_support import mount
from node import wire
from node.errors import Invalid
from node.exchange.freshness import ALLOWED_AGE, is_fresh
from node.sharing.scorecard import Period
from security_support import ca, dial, hebei, hub, world  # noqa: F401 (fixtures: a TLS hub and Hebei)
from node.model.calendar import CHINA
from node.proto import admin_pb2, catalog_pb2, sharing_pb2, sharing_pb2_grpc

OWNER, CONSUMER, LOCAL_OWNER = "440300002", "130100005", "130000001"
JANUARY = dict(from_date="2026-01-01", to_date="2026-01-31")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CHINA)


def submit(client, consumer, code):
    return sharing_pb2_grpc.SharingStub(client.channel).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code=consumer, resource_code=code, purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=["统一社会信用代码"]))


def decide(client, request_id, approve):
    sharing_pb2_grpc.SharingStub(client.channel).DecideRequest(sharing_pb2.DecideRequestRequest(
        request_id=request_id, department_code=OWNER, approve=approve, reason="同意" if approve else "不符合共享条件"))


def held(client, request_id, state):
    def state_there():
        try:
            return sharing_pb2_grpc.SharingStub(client.channel).GetRequest(
                sharing_pb2.GetRequestRequest(request_id=request_id)).state
        except grpc.RpcError:
            return ""
    wait_until(state_there, 30, f"{request_id} to be {state} at {client.node.config.node_id}",
               until=lambda seen: seen == state)


def source(path, modified: datetime):
    path.write_text("统一社会信用代码,企业名称\n91440300X,某公司\n", encoding="utf-8")
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path


@pytest.fixture
def history(cluster, tmp_path):
    """Guangdong's 440300002 holds five conditional entries (monthly) and two sources, one written
    in January, one last in October; in January, Hebei's 130100005 asks for four of them
    (three answered in time: two granted, one refused; one granted late) and, at its own
    node, for an entry of 130000001 (granted on arrival); in March it asks for the fifth."""
    fed = cluster(interval=3600, notify=True)  # with a hub link, Hebei looks entries up at the hub
    guangdong, hebei = fed.peers["guangdong"], fed.peers["hebei"]
    for n in range(1, 6):
        entry = make_entry(OWNER, seq=n, share_type="conditional", share_condition="须说明办理事项",
                           share_method="file", update_cycle="monthly")
        guangdong.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))
    hebei.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(
        make_entry(LOCAL_OWNER, seq=1, share_type="unconditional"))))
    mount(guangdong, f"{OWNER}/000001", source(tmp_path / "fresh.csv", at("2026-01-20")), table="", kind="csv")
    mount(guangdong, f"{OWNER}/000002", source(tmp_path / "stale.csv", at("2025-10-15")), table="", kind="csv")
    fed.sync()
    clock = fix_clock([*fed.peers.values(), fed.hub], at("2026-01-05"))  # a Monday: due Jan 19 (10 working days)

    def file(code):
        request_id = submit(hebei, CONSUMER, code).request_id
        fed.sync("hebei")
        held(guangdong, request_id, "pending")
        return request_id

    filed = [file(f"{OWNER}/00000{n}") for n in range(1, 5)]
    local = submit(hebei, CONSUMER, f"{LOCAL_OWNER}/000001")
    assert local.state == "granted"
    clock.at = at("2026-01-09")
    decide(guangdong, filed[0], True)
    decide(guangdong, filed[1], True)
    clock.at = at("2026-01-19", 17)  # the deadline itself: still in time
    decide(guangdong, filed[2], False)
    clock.at = at("2026-01-26")  # a week late
    decide(guangdong, filed[3], True)
    clock.at = at("2026-03-02")
    file(f"{OWNER}/000005")
    clock.at = at("2026-03-10")
    fed.sync("guangdong")
    held(fed.hub, filed[3], "granted")
    return fed


def row(card, code):
    return next(r for r in card.departments if r.department_code == code)


def test_january_as_an_evaluator_reads_it(history):
    card = history.hub.admin.Scorecard(admin_pb2.ScorecardRequest(**JANUARY))
    owner = row(card, OWNER)
    assert (owner.requests_received, owner.answered, owner.answered_in_time, owner.overdue_now) == (4, 4, 3, 0)
    assert owner.in_time_rate == 0.75  # 3 of 4 answered in time
    assert (owner.granted, owner.rejected, owner.granted_rate) == (3, 1, 0.75)  # 需求满足率
    assert (owner.shareable, owner.mounted, owner.mounted_rate) == (5, 2, 0.4)  # 挂接率: 2 of 5 entries
    # 更新及时率: the January file is within a month of the period's end, October's is not.
    assert (owner.sources_checked, owner.sources_fresh, owner.fresh_rate) == (2, 1, 0.5)
    # The lifecycle's steps read zero until requests carry them.
    assert (owner.extensions, owner.objections, row(card, CONSUMER).reviewed) == (0, 0, 0)
    # Between two of Hebei's departments, never seen by the hub, yet counted there.
    local = row(card, LOCAL_OWNER)
    assert (local.node_id, local.requests_received, local.answered_in_time, local.in_time_rate) == ("hebei", 1, 1, 1.0)
    assert row(card, CONSUMER).requests_made == 5
    hebei = next(r for r in card.nodes if r.node_id == "hebei")
    assert hebei.requests_made == 5 and hebei.requests_received == 1
    assert list(card.unreachable) == []


def test_the_period_decides_what_counts(history):
    march = history.hub.admin.Scorecard(admin_pb2.ScorecardRequest(from_date="2026-03-01", to_date="2026-03-31"))
    owner = row(march, OWNER)
    assert (owner.requests_received, owner.answered, owner.awaiting, owner.in_time_rate) == (1, 0, 1, -1)
    whole = row(history.hub.admin.Scorecard(admin_pb2.ScorecardRequest()), OWNER)
    assert (whole.requests_received, whole.answered) == (5, 4)
    # Judged on January 10, the late one was still open and not yet due, none refused yet.
    early = row(history.hub.admin.Scorecard(admin_pb2.ScorecardRequest(from_date="2026-01-01", to_date="2026-01-10")),
                OWNER)
    assert (early.answered, early.awaiting, early.granted, early.rejected) == (2, 2, 2, 0)
    with pytest.raises(grpc.RpcError) as refused:
        history.hub.admin.Scorecard(admin_pb2.ScorecardRequest(from_date="2026-02-30"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "from_date" in refused.value.details()


def test_a_peer_that_cannot_be_reached_is_named_and_the_rest_still_count(history):
    history.stop_peer("hebei")
    card = history.hub.admin.Scorecard(admin_pb2.ScorecardRequest(**JANUARY), timeout=60)
    assert list(card.unreachable) == ["hebei"]
    assert row(card, OWNER).in_time_rate == 0.75


def test_the_cli_prints_the_period_and_writes_the_workbook(history, tmp_path):
    target = ["--target", history.hub.node.address]
    result = CliRunner().invoke(main, ["scorecard", "--from", "2026-01-01", "--to", "2026-01-31", *target])
    assert result.exit_code == 0, result.output
    line = next(l for l in result.stdout.splitlines() if OWNER in l)
    assert "75%" in line and "40%" in line and "50%" in line
    assert "period: 2026-01-01 – 2026-01-31" in result.stdout
    out = tmp_path / "考核.xlsx"
    result = CliRunner().invoke(main, ["scorecard", "export", "--format", "xlsx", "--out", str(out),
                                       "--from", "2026-01-01", "--to", "2026-01-31", *target])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(out)["部门"]
    assert sheet["A1"].value == "共享考核 2026-01-01 – 2026-01-31"
    header = [c.value for c in sheet[2]]
    owner = next(dict(zip(header, (c.value for c in r))) for r in sheet.iter_rows(min_row=3) if r[1].value == OWNER)
    assert (owner["收到需求"], owner["按时答复"], owner["按时答复率"]) == (4, 3, 0.75)
    assert (owner["需求满足率"], owner["挂接率"], owner["更新及时率"]) == (0.75, 0.4, 0.5)
    assert "节点" in openpyxl.load_workbook(out).sheetnames


def test_the_portal_shows_the_period_and_the_new_columns(history):
    from starlette.testclient import TestClient

    from portal.app import create_app
    from portal.client import Identities, NodeClient
    from portal_support import LabelCheck

    with TestClient(create_app(NodeClient(history.hub.node.address, Identities())), follow_redirects=False) as web:
        page = web.get("/dashboard?from=2026-01-01&to=2026-01-31")
        assert page.status_code == 200
        assert "考核期间：2026-01-01 至 2026-01-31" in page.text
        for column in ("挂接率", "更新及时率", "按时答复率", "需求满足率", "延期", "异议"):
            assert column in page.text
        score = page.text[page.text.index('id="score-heading"'):]
        guangdong = score[score.index('<th scope="row">guangdong</th>'):]
        guangdong = guangdong[:guangdong.index("</tr>")]
        assert "75%" in guangdong and "40%" in guangdong and "50%" in guangdong
        assert LabelCheck().unlabelled(page.text) == []
        wrong = web.get("/dashboard?from=2026-13-01")
        assert wrong.status_code == 200 and "日期须为 YYYY-MM-DD 格式" in wrong.text


@settings(max_examples=200, deadline=None)
@given(first=st.one_of(st.just(""), st.dates().map(date.isoformat), st.text(max_size=12)),
       last=st.one_of(st.just(""), st.dates().map(date.isoformat), st.text(max_size=12)))
def test_a_period_is_two_dates_in_order_or_a_refusal_naming_the_field(first, last):
    try:
        period = Period.parse(first, last)
    except Invalid as refused:
        assert refused.field in ("from_date", "to_date")
        return
    assert (period.first is None) == (first == "") and (period.last is None) == (last == "")
    assert period.first is None or period.last is None or period.first <= period.last


@settings(max_examples=200, deadline=None)
@given(cycle=st.sampled_from(sorted(ALLOWED_AGE)), age=st.integers(0, 400), later=st.integers(0, 400))
def test_an_older_source_is_never_fresher(cycle, age, later):
    judged = datetime(2026, 6, 30, tzinfo=CHINA)
    newer = is_fresh(cycle, judged - timedelta(days=age), judged)
    older = is_fresh(cycle, judged - timedelta(days=age + later), judged)
    assert newer or not older
    assert is_fresh(cycle, judged - ALLOWED_AGE[cycle], judged)  # exactly one cycle old: in time
    assert is_fresh("irregular", judged - timedelta(days=age), judged) is None


def test_over_mutual_tls_the_hub_hears_each_peers_own_requests(hub, hebei, world, dial):
    """Hebei's B asked its A (the world's pending request): the hub, asked by an operator, has
    it from Hebei's own report, its node certificate being enough to ask."""
    from node.proto import admin_pb2_grpc
    from security_support import A, Who

    card = admin_pb2_grpc.AdminStub(dial.channel(hub, Who("operator"))).Scorecard(admin_pb2.ScorecardRequest(),
                                                                                  timeout=30)
    assert list(card.unreachable) == []
    assert row(card, A).requests_received >= 1 and row(card, A).node_id == "hebei"
