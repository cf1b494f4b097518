"""What the portal's public pages never show: a peer's internal address or the text of an
internal error (the dashboard, its status JSON, the error pages), and a host other than the
portal's own in the open-data API's URLs, whatever Host header a request carries."""

from __future__ import annotations


import pytest
from starlette.testclient import TestClient

from conftest import free_port, node_config, wait_until
from node.proto import admin_pb2
from portal.app import create_app
from portal.client import Identities, NodeClient
from portal_support import publish_all, small_catalog


def closed_address() -> str:
    """A loopback address nothing listens on (outside the ports the system hands out: conftest.free_port)."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def hub_with_a_lost_peer(tmp_path, start_node):
    lost = closed_address()
    peers = [{"id": "hebei", "role": "provincial", "address": lost, "region_code": "130000", "interval": 3600}]
    hub = start_node(node_config(tmp_path, "national", "national", "100000", departments=["100000001"], peers=peers))
    hub.admin.SyncNow(admin_pb2.SyncNowRequest(wait=True), timeout=60)
    wait_until(lambda: hub.admin.Status(admin_pb2.StatusRequest()).peers[0].last_error, 60,
               "the hub to record its failed pull")
    return hub, lost


def test_the_dashboard_says_a_pull_failed_but_not_where_the_peer_lives(hub_with_a_lost_peer):
    hub, lost = hub_with_a_lost_peer
    internal = hub.admin.Status(admin_pb2.StatusRequest()).peers[0].last_error
    assert lost in internal, "the test needs an error that names the address"
    with TestClient(create_app(NodeClient(hub.node.address, Identities()))) as browser:
        for path in ("/dashboard", "/dashboard/status.json"):
            body = browser.get(path).text
            assert lost not in body and lost.split(":")[1] not in body, path
            assert "UNAVAILABLE" in body, path  # that it failed, and how, is still said


def test_a_node_out_of_reach_is_a_page_without_its_address():
    lost = closed_address()
    client = NodeClient(lost, Identities(), timeout=5)
    with TestClient(create_app(client), raise_server_exceptions=False) as browser:
        for path in ("/search?q=社保", "/api/3/action/package_search", "/dashboard", "/dashboard/status.json"):
            reply = browser.get(path)
            assert reply.status_code < 500 or reply.status_code == 503, (path, reply.status_code)
            assert lost not in reply.text and "ipv4" not in reply.text, (path, reply.text[:500])


@pytest.mark.parametrize("path", ["/api/3/action/package_search", "/api/3/action/package_list",
                                  "/api/3/action/organization_list?all_fields=true", "/catalog.jsonld",
                                  "/catalog.ttl", "/api/3/action/package_show?id=130100005-000003"])
@pytest.mark.parametrize("public_url", ["", "https://data.example.cn"])
def test_urls_come_from_configuration_never_from_the_host_header(node, path, public_url):
    publish_all(node, small_catalog())
    app = create_app(NodeClient(node.node.address, Identities()), public_url=public_url)
    with TestClient(app) as browser:
        reply = browser.get(path, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert reply.status_code == 200, reply.text[:300]
    assert "evil.example" not in reply.text
    if public_url:
        assert public_url in reply.text
