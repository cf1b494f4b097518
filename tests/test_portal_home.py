"""The portal reads as real to a first visitor: the home page shows the nation's counts, the
newest entries and entries per region; nodes go by their Chinese names; a search typed with raw
UTF-8 in the URL (as curl sends it) is served; the seeded catalog names entries as real
catalogs do and never opens personal data."""

from __future__ import annotations

import re
import socket
import urllib.request

import pytest
import yaml

from harness.runner import ROOT, Federation
from harness.seed import PERSONAL
from node.proto import catalog_pb2, catalog_pb2_grpc


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One seeded small federation with its portal for the module (the `federation` fixture is per test)."""
    tmp = tmp_path_factory.mktemp("home")
    compose = yaml.safe_load((ROOT / "configs/federation-small.yaml").read_text(encoding="utf-8"))
    compose["portal"] = True
    (tmp / "small.yaml").write_text(yaml.safe_dump(compose, allow_unicode=True), encoding="utf-8")
    fed = Federation.up(tmp / "small.yaml", tmp / "state")
    try:
        fed.seed()
        fed.wait_converged(timeout=120)  # the hub holds every seeded entry before the portal is first read
        yield fed
    finally:
        fed.down(purge=True)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode("utf-8")


def test_home_shows_counts_recent_entries_and_regions(portal):
    page = get(portal.portal_url())
    live = int(re.search(r"<strong>([\d,]+)</strong> 条在用目录", page).group(1).replace(",", ""))
    assert live == 660, page
    assert "个级联节点" in page and "<strong>6</strong>" in page
    assert page.count('href="/entries/') >= 6  # the newest entries, each a link
    assert re.search(r'href="/search\?region=440000">广东 <span class="n">\d+', page)


def test_nodes_go_by_their_chinese_names(portal):
    page = get(portal.portal_url() + "dashboard")
    assert "河北省政务数据平台" in page and "公安部政务数据平台" in page
    assert '<th scope="row">hebei</th>' not in page
    # the charts too: their labels are the names, shortened (河北省), never the ids
    assert 'text-anchor="end">河北省</text>' in page and 'text-anchor="end">hebei</text>' not in page


def test_raw_utf8_in_the_query_string_is_served(portal):
    host, port = re.match(r"http://([^:/]+):(\d+)/", portal.portal_url()).groups()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall("GET /search?q=社保 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode("utf-8"))
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert "社保".encode() in reply


def test_seeded_names_have_no_numbers_and_personal_data_is_never_open(portal):
    catalog = catalog_pb2_grpc.CatalogStub(portal.channel(portal.hub_id))
    entries = list(catalog.ListEntries(catalog_pb2.ListEntriesRequest(page_size=1000)).entries)
    assert len(entries) == 660
    assert not [e.name for e in entries if re.search(r"\d$", e.name)]
    assert not [e.resource_code for e in entries
                if e.open_type == "open" and any(i.name in PERSONAL for i in e.data_items)]
    police = {e.name for e in entries if e.provider_name.endswith("公安厅")}
    assert "公交线路与站点" not in police and "流动人口居住登记" in police
