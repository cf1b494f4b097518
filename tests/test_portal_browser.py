"""The portal as a person uses it, in a real headless Chromium (Debian's, driven by Playwright)
against a running small federation: search "社保", open an entry, file a request for two data
items, the owner approves it in its inbox, the consumer sees it granted; the dashboard shows a
partitioned province going stale and recovering, live. Screenshots go to tests/artifacts/portal/.

Skipped only where Debian's chromium is not installed (a developer's machine): .ci/run
installs it, with a CJK font so that Chinese renders as Chinese."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from conftest import wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk; .ci/run does)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")

ARTIFACTS = pathlib.Path(__file__).resolve().parent / "artifacts" / "portal"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONSUMER, CONSUMER_NODE = "130000001", "hebei"  # 河北省公安厅
SYNC = {"backoff_initial": 0.2, "backoff_max": 2, "call_deadline": 5}


@pytest.fixture(scope="module")
def chromium():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def shot(page, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_a_cjk_font_is_installed_so_chinese_is_not_boxes():
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no font covers Chinese: install fonts-noto-cjk, or every page shows boxes"


def sign_in(page, url: str, department: str, token: str, node: str) -> None:
    page.get_by_label("部门代码").fill(department)
    page.get_by_label("部门令牌").fill(token)
    page.get_by_label("所在节点").select_option(node)
    page.get_by_role("button", name="登录").click()


def test_search_request_approve_and_see_it_granted(federation, chromium):
    fed = federation("configs/federation-small.yaml", portal=True, sync=SYNC)
    fed.seed()
    fed.wait_converged()
    url = fed.portal_url().rstrip("/")

    consumer = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = consumer.new_page()
    page.goto(url + "/")
    assert "条在用目录" in page.inner_text("main") and "最近更新" in page.inner_text("main")
    shot(page, "00-home")
    page.get_by_label("检索目录").fill("社保")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    count = page.locator("#result-count")
    assert "共找到" in count.inner_text()
    region = page.get_by_label("地区")  # each choice shows how many it would find: 广东（12）
    region.select_option(region.locator("option", has_text="广东").get_attribute("value"))  # facets apply on change
    page.wait_for_url("**region=440000*")
    share = page.get_by_label("共享类型")
    share.select_option(share.locator("option", has_text="有条件共享").get_attribute("value"))
    page.wait_for_url("**share_type=conditional*")
    assert int(count.locator("strong").inner_text()) > 0
    shot(page, "01-search-社保-广东-有条件共享")

    page.locator("ol.results h2 a").first.click()
    page.wait_for_url("**/entries/**")
    resource = page.url.split("/entries/", 1)[1]
    owner = resource[:9]
    assert page.get_by_role("heading", name="数据项", exact=False).is_visible()
    assert "有条件共享" in page.inner_text("dl.fields")
    shot(page, "02-entry")

    page.get_by_role("link", name="申请使用此数据").click()
    page.wait_for_url("**/signin**")
    sign_in(page, url, CONSUMER, fed.token(CONSUMER_NODE, CONSUMER), CONSUMER_NODE)
    page.wait_for_url("**/requests/new**")
    boxes = page.locator("fieldset input[type=checkbox]")
    assert boxes.count() >= 2
    chosen = [page.locator(f"label[for={boxes.nth(i).get_attribute('id')}]").inner_text().split("（")[0]
              for i in range(2)]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("用途").fill("社会保险待遇资格认证")
    page.get_by_label("依据").fill("《中华人民共和国社会保险法》")
    shot(page, "03-request-form")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/requests/hebei-*")
    request_id = page.url.rsplit("/", 1)[1]
    assert "申请已提交" in page.inner_text("main")
    assert "、".join(chosen) in page.inner_text("dl.fields")
    shot(page, "04-request-filed")

    owner_context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    inbox = owner_context.new_page()
    inbox.goto(url + "/signin?next=/requests/inbox")
    sign_in(inbox, url, owner, fed.token("guangdong", owner), "guangdong")
    inbox.wait_for_url("**/requests/inbox")

    def arrived() -> bool:
        inbox.reload()
        return request_id in inbox.inner_text("main")

    wait_until(arrived, 60, f"request {request_id} in the inbox of {owner}", poll=1)
    card = inbox.locator("article.card", has_text=request_id)
    assert "待审核" in card.inner_text()
    shot(inbox, "05-owner-inbox")
    card.get_by_label("审核意见").fill("同意共享，请按约定用途使用")
    card.get_by_role("button", name="同意").click()
    inbox.wait_for_url("**/requests/inbox")
    assert f"已同意申请 {request_id}" in inbox.inner_text("main")
    shot(inbox, "06-owner-approved")

    def granted() -> bool:
        page.goto(f"{url}/requests/{request_id}")
        return page.inner_text("#request-state") == "已同意"

    wait_until(granted, 60, f"request {request_id} granted at the consumer's node", poll=1)
    assert "同意共享，请按约定用途使用" in page.inner_text("main")
    shot(page, "07-consumer-sees-granted")
    page.goto(url + "/requests")
    row = page.locator("table.requests tr", has_text=request_id).inner_text()
    assert "已同意" in row and f"（{owner}）" in row and "广东省" in row  # the provider by its name, and its code
    shot(page, "08-consumer-requests")

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    small.goto(f"{url}/entries/{resource}")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no sideways scrolling
    shot(small, "09-entry-on-a-phone")
    for context in (consumer, owner_context, phone):
        context.close()


def test_the_dashboard_shows_a_partitioned_province_go_stale_and_recover(federation, chromium):
    fed = federation("configs/federation-small.yaml", portal=True, sync=SYNC)
    fed.seed(5)
    fed.wait_converged()
    cli = [sys.executable, "-m", "cli", "harness"]
    address = subprocess.run(cli + ["address", "portal", "--state", str(fed.dir)], capture_output=True, text=True)
    assert address.stdout.strip() == fed.portal_url()
    ps = subprocess.run(cli + ["ps", "--state", str(fed.dir)], capture_output=True, text=True).stdout
    assert re.search(r"^portal\s+portal\s+http://127\.0\.0\.1:\d+/\s+-\s+serving", ps, re.M), ps
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(fed.portal_url() + "dashboard")
    row = page.locator('tr[data-peer="xpcc"]')
    assert "正常" in row.inner_text()
    page.wait_for_selector("body[data-live='1']")  # the event stream is feeding the table
    shot(page, "10-dashboard-healthy")

    fed.partition("xpcc")
    wait_until(lambda: "拉取失败" in row.inner_text(), 60, "xpcc shown as failing on the live dashboard", poll=0.5)
    assert "新疆生产建设兵团政务数据平台" in page.locator("#peer-rows tr.stale").inner_text()  # its name, not its id
    assert row.locator("td.error-text").inner_text() not in ("", "—")
    shot(page, "11-dashboard-xpcc-partitioned")

    fed.heal("xpcc")
    wait_until(lambda: "正常" in row.inner_text(), 60, "xpcc back to normal on the live dashboard", poll=0.5)
    assert page.locator("#peer-rows tr.stale").count() == 0
    shot(page, "12-dashboard-xpcc-recovered")
    context.close()
