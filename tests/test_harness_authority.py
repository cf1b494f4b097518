"""The harness names a data authority at every node (docs/sharing.md): its token carries the
authority's scopes, `cascade harness creds NODE --authority` hands them to a tester, and the
compose switch `defaults.review` makes a member node's requests wait for its review."""

from __future__ import annotations

import os
import subprocess
import sys

import grpc
import pytest
import yaml

from conftest import ROOT
from harness import compose
from harness.seed import entries_for
from node.proto import sharing_pb2

COMPOSE = {
    "name": "authority", "secure": True, "defaults": {"interval": 0.5, "review": True},
    "hub": {"id": "national", "departments": [{"code": "100000001", "name": "国家数据局"}]},
    "nodes": [{"id": "hebei", "role": "provincial", "region_code": "130000", "departments": [
        {"code": "130000001", "name": "河北省公安厅"}, {"code": "130000008", "name": "河北省政务服务和数据管理局"},
        {"code": "130100005", "name": "石家庄市数据和政务服务局"}]}],
    "seed": {"entries_per_department": 0},
}


def test_each_bundled_node_names_its_data_authority():
    for path in ("configs/federation-small.yaml", "configs/federation-full.yaml", "scenarios/hengshui-compose.yaml"):
        fed = compose.load(ROOT / path)
        named = {spec.id: dict(spec.departments).get(spec.data_authority, "") for spec in fed.all}
        assert named[fed.hub.id] == "国家数据局", path
        # a province's is its own data administration, not one of its cities'; a ministry's is the ministry
        assert all(named[n.id] and (n.role == "ministry" or "数据" in named[n.id]) for n in fed.nodes), (path, named)
    small = {spec.id: spec.data_authority for spec in compose.load(ROOT / "configs/federation-small.yaml").all}
    assert small["hebei"] == "130000008" and small["mps"] == "100000110"


def test_review_switch_needs_an_authority_at_every_member_node(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(COMPOSE))
    data["nodes"][0]["departments"] = [{"code": "130000001", "name": "河北省公安厅"}]
    with pytest.raises(Exception, match="defaults.review.*hebei"):
        compose.parse(data, "authority.yaml")


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    from harness.runner import Federation

    directory = tmp_path_factory.mktemp("authority")
    path = directory / "authority.yaml"
    path.write_text(yaml.safe_dump(COMPOSE, allow_unicode=True))
    federation = Federation.up(path, directory / "state")
    yield federation
    federation.down(purge=True)


def test_harness_up_gives_each_node_an_authority_whose_token_reviews(fed):
    entry = next(iter(entries_for("130100005", "石家庄市数据和政务服务局", 1, seed="authority")))
    fed.publish("hebei", [entry])
    police = fed.sharing("hebei", "130000001")
    filed = police.SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130000001", resource_code=entry.resource_code, purpose="跨省通办", basis="《政务服务条例》",
        data_items=[entry.data_items[0].name]))
    assert filed.state == "review"  # defaults.review: true turned the node's review on

    # a city's bureau is not the province's data authority, however its name reads
    with pytest.raises(grpc.RpcError) as refused:
        fed.sharing("hebei", "130100005").ReviewRequest(sharing_pb2.ReviewRequestRequest(
            request_id=filed.request_id, department_code="130100005", decision="pass"))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED and "review" in refused.value.details()

    # the tester acts as the authority with what `cascade harness creds hebei --authority` prints
    def cascade(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "cli", "harness", *args], capture_output=True, text=True,
                                cwd=ROOT, timeout=60, env=dict(os.environ, CASCADE_HARNESS_DIR=str(fed.dir)))
        assert result.returncode == 0, result.stderr
        return result.stdout

    env = dict(line[len("export "):].split("=", 1) for line in cascade("creds", "hebei", "--authority", "--env").splitlines())
    assert env["CASCADE_TOKEN"] == fed.token("hebei", "130000008") == cascade("token", "hebei", "authority").strip()
    inbox = fed.sharing("hebei", "130000008").ListRequests(sharing_pb2.ListRequestsRequest(
        authority_code="130000008", inbox="review"))
    assert [r.request_id for r in inbox.requests] == [filed.request_id]
    passed = fed.sharing("hebei", "130000008").ReviewRequest(sharing_pb2.ReviewRequestRequest(
        request_id=filed.request_id, department_code="130000008", decision="pass"))
    assert passed.state != "review" and "review" in [e.state for e in passed.history]
