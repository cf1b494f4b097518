"""The portal in front of a real node (in-process, over gRPC): search with facets and paging,
the entry page, sign-in and the request workflow between two departments of the node, and a
node that does not answer shown as a message, never a stack trace."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from starlette.testclient import TestClient

from conftest import wait_until
from node.proto import catalog_pb2
from node.store import entries as entries_mod
from portal.app import create_app
from portal.client import Identities, NodeClient
from portal_support import LabelCheck, publish_all, small_catalog

OPEN = {e.resource_code for e in small_catalog() if e.open_type == "open"}


@pytest.fixture
def hebei(node):
    publish_all(node, small_catalog())
    return node


@pytest.fixture
def web(hebei):
    client = NodeClient(hebei.node.address, Identities())
    with TestClient(create_app(client), follow_redirects=False) as browser:
        yield browser


def codes_on(page: str) -> list[str]:
    return re.findall(r'<h2><a href="/entries/(\d{9}/\d{6})">', page)


def test_the_node_filters_by_open_type_and_counts_a_listing(hebei):
    reply = hebei.catalog.ListEntries(catalog_pb2.ListEntriesRequest(
        filter=catalog_pb2.EntryFilter(open_type="open"), page_size=5, with_total=True))
    assert reply.total == len(OPEN) and {e.open_type for e in reply.entries} == {"open"}
    assert hebei.catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=5)).total == 0  # not asked: not counted
    with pytest.raises(grpc.RpcError) as caught:
        hebei.catalog.ListEntries(catalog_pb2.ListEntriesRequest(filter=catalog_pb2.EntryFilter(open_type="ajar")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("filter.open_type")


def test_a_two_character_search_lists_results_linking_to_their_entries(web):
    page = web.get("/search", params={"q": "社保"})
    assert page.status_code == 200
    assert "共找到 <strong>15</strong> 条目录" in page.text
    found = codes_on(page.text)
    assert len(found) == 15 and all(code.startswith("130100005/") for code in found)


def test_a_search_past_the_nodes_count_cap_says_more_than(web, monkeypatch):
    monkeypatch.setattr(entries_mod, "TOTAL_CAP", 10)
    page = web.get("/search", params={"q": "社保"})
    assert "共找到 超过 <strong>10</strong> 条目录，第 1 / 1 页" in page.text
    assert "只列出前 10 条；请换用更具体的关键词或增加筛选条件缩小范围。" in page.text
    assert len(codes_on(page.text)) == 10


def test_facets_narrow_the_search_and_paging_walks_every_result(web):
    page = web.get("/search", params={"q": "社保", "share_type": "conditional"})
    assert "共找到 <strong>5</strong> 条目录" in page.text
    assert '<option value="conditional" selected>' in page.text
    browse, seen, n = web.get("/search", params={"region": "130000"}), [], 1
    assert "共找到 <strong>45</strong> 条目录，第 1 / 3 页" in browse.text
    while True:
        page = web.get("/search", params={"region": "130000", "page": n})
        seen += codes_on(page.text)
        if 'rel="next"' not in page.text:
            break
        n += 1
    assert len(seen) == 45 == len(set(seen)) and seen == sorted(seen)
    narrowed = web.get("/search", params={"department": "130000001", "category": "theme"})
    assert "共找到 <strong>15</strong> 条目录" in narrowed.text


def test_each_facet_choice_shows_how_many_the_search_would_find_with_it(web, monkeypatch):
    catalog = small_catalog()
    social = [e for e in catalog if "社保" in e.name or "社保" in e.summary or "社保" in " ".join(e.keywords)]
    page = web.get("/search", params={"q": "社保", "share_type": "conditional"}).text
    for value in ("unconditional", "conditional", "not_shared"):  # a share type's count ignores the chosen one
        n = sum(e.share_type == value for e in social)
        assert re.search(rf'<option value="{value}"( selected)?>[^<（]+（{n}）</option>', page), value
    conditional = [e for e in social if e.share_type == "conditional"]
    for value in ("base", "theme", "department"):  # another facet's counts keep the chosen share type
        n = sum(e.category == value for e in conditional)
        assert re.search(rf'<option value="{value}">[^<（]+（{n}）</option>', page), value
    browse = web.get("/search", params={"region": "130000"}).text  # a listing without a query counts too
    assert f'<option value="130000" selected>河北（{sum(e.resource_code.startswith("13") for e in catalog)}）' in browse
    monkeypatch.setattr(entries_mod, "FACET_CAP", 2)
    later = web.get("/search", params={"q": "社保", "category": "base", "page": 2}).text
    assert "（" not in later.split('id="share_type"')[1].split("</select>")[0]  # a query's counts come with page 1
    capped = web.get("/search", params={"q": "社保", "category": "base"}).text
    assert "（2+）</option>" in capped


def test_a_bad_facet_value_is_explained_not_sent(web):
    page = web.get("/search", params={"q": "社保", "share_type": "maybe", "region": "12"})
    assert page.status_code == 200
    assert "不支持的筛选值：maybe" in page.text and "行政区划代码应为 6 位数字" in page.text


def test_the_entry_page_shows_every_field_and_the_data_items(web):
    page = web.get("/entries/130100005/000001")
    assert page.status_code == 200
    for text in ("职工养老保险参保信息1", "130100005/000001", "市场监督管理局", "有条件共享", "须说明办理事项及法定依据",
                 "每月", "来源节点</dt><dd>hebei", "版本</dt><dd>1", "个人社保编号", "缴费基数", "申请使用此数据"):
        assert text in page.text, text
    assert page.text.count("<tr><td>") == 4  # one row per data item
    assert page.text.count("按此查询、核验") == 1 and "脱敏：身份号码保留前6后4位" in page.text  # the ID number's marks


def test_an_unknown_entry_is_a_404_page(web):
    page = web.get("/entries/130100005/999999")
    assert page.status_code == 404 and "未找到" in page.text


def test_every_control_has_a_label(web):
    for path in ("/", "/search?q=社保", "/signin"):
        assert LabelCheck().unlabelled(web.get(path).text) == [], path


def test_an_unreachable_node_is_a_clear_message_never_a_trace():
    client = NodeClient("127.0.0.1:1", Identities(), timeout=2)
    with TestClient(create_app(client), raise_server_exceptions=False) as browser:
        for path in ("/search?q=社保", "/entries/130100005/000001"):
            page = browser.get(path)
            assert page.status_code == 503 and "无法连接节点" in page.text and "Traceback" not in page.text
        dashboard = browser.get("/dashboard")
        assert dashboard.status_code == 200 and "无法读取节点" in dashboard.text
        api = browser.get("/api/3/action/package_search")
        assert api.status_code == 503 and api.json()["success"] is False


def test_pages_opened_together_on_a_new_portal_read_the_scorecard_once(hebei):
    """The scorecard is the costliest thing a page asks the node for: pages that arrive together,
    before the portal has it, wait for one read instead of each asking the node again."""
    client = NodeClient(hebei.node.address, Identities())
    read_at_node, asked, release = client.scorecard, [], threading.Condition()

    def held_read():  # the first read is held open while the other pages arrive
        with release:
            asked.append(threading.current_thread().name)
            release.notify_all()
            # on the old code each page asks within milliseconds; here they wait for this read
            release.wait_for(lambda: len(asked) == 4, timeout=2.0)
        return read_at_node()

    client.scorecard = held_read
    paths = ("/dashboard", "/search", "/dashboard", "/api/3/action/organization_list")
    with TestClient(create_app(client)) as browser, ThreadPoolExecutor(4) as pool:
        first = pool.submit(browser.get, paths[0])
        wait_until(lambda: asked, 30, "the dashboard asking for the scorecard")
        pages = [first] + [pool.submit(browser.get, path) for path in paths[1:]]
        answered = [page.result(timeout=60) for page in pages]
    assert [page.status_code for page in answered] == [200] * 4
    assert "130100005" in answered[1].text and "130100005" in answered[3].text  # the departments, from that read
    assert len(asked) == 1


def sign_in(browser, department: str, node: str = "") -> None:
    form = browser.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    reply = browser.post("/signin", data={"csrf": csrf, "department": department, "token": "-", "node": node,
                                          "next": "/requests"})
    assert reply.status_code == 303, reply.text


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_requests_need_a_signed_in_department(web):
    assert web.get("/requests").headers["location"] == "/signin?next=%2Frequests"
    assert web.get("/requests/new?resource=130100005/000001").headers["location"] == (
        "/signin?next=%2Frequests%2Fnew%3Fresource%3D130100005%2F000001")
    refused = web.post("/signin", data={"csrf": "forged", "department": "130000001", "token": "x"})
    assert refused.status_code == 400 and "页面已过期" in refused.text


def test_a_department_files_a_request_and_the_owner_answers_it(hebei):
    """Two departments of one node (a plaintext node: its tokens are not checked): the consumer
    files a request for two data items, the owner sees it pending in its inbox and approves,
    the consumer sees it granted."""
    client = NodeClient(hebei.node.address, Identities())
    app = create_app(client)
    with TestClient(app, follow_redirects=False) as consumer, TestClient(app, follow_redirects=False) as owner:
        sign_in(consumer, "130000001")  # the node is found from the department's entries
        form = consumer.get("/requests/new", params={"resource": "130100005/000001"})
        assert form.status_code == 200 and "个人社保编号" in form.text
        filed = consumer.post("/requests/new", data={
            "csrf": csrf_of(form.text), "resource": "130100005/000001", "item": ["个人社保编号", "缴费基数"],
            "purpose": "社保待遇资格认证", "basis": "《社会保险法》"})
        assert filed.status_code == 303, filed.text
        request_path = filed.headers["location"]
        assert "已提交" in consumer.get(request_path).text or "待审核" in consumer.get(request_path).text

        sign_in(owner, "130100005", node="hebei")
        inbox = wait_until(lambda: owner.get("/requests/inbox").text, 10, "the request in the owner's inbox",
                           until=lambda text: request_path.rsplit("/", 1)[1] in text)
        assert "待审核" in inbox and "个人社保编号、缴费基数" in inbox
        answered = owner.post(f"{request_path}/decide", data={"csrf": csrf_of(inbox), "decision": "approve",
                                                              "reason": "同意共享"})
        assert answered.status_code == 303
        assert "已同意申请" in owner.get("/requests/inbox").text

        mine = consumer.get("/requests")
        assert "已同意" in mine.text and request_path.rsplit("/", 1)[1] in mine.text
        granted = consumer.get(request_path).text  # the grant: its modes, quota and use today
        assert "查询、核验" in granted or "批量获取、查询、核验" in granted
        assert re.search(r'id="grant-quota">不限', granted) and re.search(r'id="grant-used">0 次', granted)


def test_use_today_counts_the_keys_of_the_beijing_day_from_the_nodes_utc_hours():
    from datetime import datetime, timezone

    from node.proto import exchange_pb2
    from portal.sharing import used_today

    counts = [exchange_pb2.CallCount(hour=hour, role=role, mode="verify", keys=keys) for hour, role, keys in (
        ("2026-03-02T15", "consumer", 100),  # 23:00 in Beijing on the 2nd: yesterday
        ("2026-03-02T16", "consumer", 7),  # 00:00 on the 3rd
        ("2026-03-03T15", "consumer", 5),  # 23:00 on the 3rd
        ("2026-03-03T16", "consumer", 1000),  # the 4th: tomorrow
    )]
    assert used_today(counts, datetime(2026, 3, 3, 4, 0, tzinfo=timezone.utc)) == 12
    # Consumer and owner departments of one node: each call is in both parts, counted once.
    both = counts + [exchange_pb2.CallCount(hour=c.hour, role="owner", mode="verify", keys=c.keys) for c in counts]
    assert used_today(both, datetime(2026, 3, 3, 4, 0, tzinfo=timezone.utc)) == 12


def test_rejecting_needs_a_reason(hebei):
    client = NodeClient(hebei.node.address, Identities())
    with TestClient(create_app(client), follow_redirects=False) as owner:
        sign_in(owner, "130100005", node="hebei")
        page = owner.get("/requests/inbox")
        reply = owner.post("/requests/hebei-0123456789abcdef0123/decide",
                           data={"csrf": csrf_of(page.text), "decision": "reject", "reason": ""})
        assert reply.status_code == 303
        assert "拒绝申请时必须填写理由" in owner.get("/requests/inbox").text


def test_the_owners_inbox_lists_corrections_beside_requests(hebei):
    """A department holding a grant files a correction on the owner's record; the owner's inbox
    shows it waiting for an answer, without the record's key."""
    node = hebei.node
    grant = node.sharing.submit("130000001", "130100005/000001", "社保待遇资格认证", "《社会保险法》", ["个人社保编号"])
    if grant.state == "pending":
        node.sharing.decide(grant.request_id, "130100005", True, "同意")
    filed = node.corrections.file("130000001", "130100005/000001", ["个人社保编号"], {"个人社保编号": "SB0099887766"},
                                  "wrong_value", "与参保登记不一致")
    client = NodeClient(node.address, Identities())
    with TestClient(create_app(client), follow_redirects=False) as owner:
        sign_in(owner, "130100005", node="hebei")
        inbox = owner.get("/requests/inbox").text
        assert f"纠错单 {filed.correction_id}" in inbox and "待答复" in inbox and "与参保登记不一致" in inbox
        assert "SB0099887766" not in inbox
