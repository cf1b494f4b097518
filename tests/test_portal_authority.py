"""The data authority's inboxes on the portal (docs/sharing.md): signed in, the node's data
authority sees the requests that wait for its review (the same rows as a department's lists),
and its coordination and escalation tabs; another department gets the node's refusal."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from conftest import make_entry, node_config
from node import wire
from node.proto import catalog_pb2, sharing_pb2, sharing_pb2_grpc
from portal.app import create_app
from portal.client import Identities, NodeClient

TOKEN = "cct_0badf00d_" + "s" * 43  # an insecure node takes any token
AUTHORITY = "130000008"


def sign_in(browser, department: str) -> None:
    page = browser.get("/signin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    reply = browser.post("/signin", data={"csrf": csrf, "department": department, "token": TOKEN, "node": "hebei",
                                          "next": "/requests"})
    assert reply.status_code == 303, reply.text


def test_the_data_authority_sees_its_review_coordination_and_escalation_inboxes(tmp_path, start_node):
    client = start_node(node_config(tmp_path, "hebei", "provincial", "130000",
                                    departments=["130100005", "130000001", AUTHORITY],
                                    extra={"data_authority": AUTHORITY,
                                           "sharing": {"beyond_calendar": "weekdays", "review": True}}))
    entry = make_entry("130000001", seq=1, share_type="conditional", share_condition="须说明办理事项及法定依据")
    client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))
    filed = sharing_pb2_grpc.SharingStub(client.channel).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130100005", resource_code=entry.resource_code, purpose="企业开办一件事",
        basis="《优化营商环境条例》", data_items=[entry.data_items[0].name]))
    assert filed.state == "review"

    app = create_app(NodeClient(client.node.address, Identities()))
    with TestClient(app, follow_redirects=False) as browser:
        sign_in(browser, AUTHORITY)
        page = browser.get("/requests/authority")
        assert page.status_code == 200 and filed.request_id in page.text and "符合性审查中" in page.text
        assert 'aria-current="page">待符合性审查' in page.text
        for inbox, empty in (("coordinate", "没有待协调异议的申请"), ("escalated", "没有督办的申请")):
            page = browser.get(f"/requests/authority?inbox={inbox}")
            assert page.status_code == 200 and empty in page.text and filed.request_id not in page.text
        sign_in(browser, "130100005")  # the consumer itself is no data authority
        page = browser.get("/requests/authority")
        assert page.status_code == 403 and AUTHORITY in page.text and filed.request_id not in page.text
