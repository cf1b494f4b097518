"""The hub's metrics of its peers: a stopped peer, an overdue request, a delivery waiting in the outbox, a digest."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import grpc

from conftest import make_entry, wait_until
from metrics_support import publish, scrape
from metrics_support import quiet, watched  # noqa: F401 (fixtures)
from node.model import rules
from node.proto import catalog_pb2, sharing_pb2, sharing_pb2_grpc


# -- the hub ---------------------------------------------------------------------------------------

def test_a_stopped_peer_shows_failures_and_its_last_success_ages(watched):
    hub = watched.hub
    s = scrape(hub)
    assert s.labels_of("cascade_peer_up", "peer") == {"hebei", "guangdong", "xpcc", "mps"}
    for peer, client in watched.peers.items():
        head = client.node.store.head_seq()
        assert s.value("cascade_peer_cursor_seq", peer=peer) == s.value("cascade_peer_head_seq", peer=peer) == head
        assert s.value("cascade_peer_changes_behind", peer=peer) == 0
        assert s.value("cascade_peer_consecutive_failures", peer=peer) == 0
        assert s.value("cascade_peer_up", peer=peer) == 1
        assert s.value("cascade_peer_pull_interval_seconds", peer=peer) == watched.interval
    assert s.value("cascade_peer_entries", peer="hebei") == 3 and s.value("cascade_peer_entries", peer="guangdong") == 2
    assert s.value("cascade_entries", state="live") == 5
    assert s.value("cascade_peer_resyncs_total", peer="hebei") == 0
    assert scrape(watched.peers["hebei"]).value("cascade_rpc_calls_total", service="node.proto.Cascade",
                                                method="PullChanges", code="OK") >= 1

    watched.peers["hebei"].catalog.WithdrawEntry(catalog_pb2.WithdrawEntryRequest(resource_code="130100005/000003"))
    publish(hub, make_entry("100000001", seq=1))  # the hub's own department
    watched.sync("hebei")
    s = scrape(hub)
    assert s.value("cascade_peer_entries", peer="hebei") == 2
    count, live = hub.node.store.count_entries()  # what the hub counts from its peers' tallies, counted row by row
    assert (s.value("cascade_entries", state="live"), s.value("cascade_entries", state="withdrawn")) == \
        (live, count - live) == (5, 1)

    watched.stop_peer("guangdong")
    watched.sync("guangdong")
    cut = scrape(hub)
    failures = cut.value("cascade_peer_consecutive_failures", peer="guangdong")
    assert failures >= 1  # the hub retries on its own after a short backoff, so maybe more already
    assert cut.value("cascade_peer_up", peer="guangdong") == 0 and cut.value("cascade_peer_backoff_seconds",
                                                                             peer="guangdong") > 0
    assert cut.value("cascade_peer_up", peer="hebei") == 1
    age = cut.value("cascade_peer_last_success_age_seconds", peer="guangdong")

    watched.sync("guangdong")
    watched.sync("hebei")
    later = wait_until(lambda: scrape(hub), 10, "Guangdong's last success to age",
                       until=lambda s: s.value("cascade_peer_last_success_age_seconds", peer="guangdong") > age)
    assert later.value("cascade_peer_consecutive_failures", peer="guangdong") > failures
    assert later.value("cascade_peer_last_success_age_seconds", peer="hebei") < \
        later.value("cascade_peer_last_success_age_seconds", peer="guangdong")
    assert later.value("cascade_peer_entries", peer="guangdong") == 2  # the hub keeps its copy


def sharing(client):
    return sharing_pb2_grpc.SharingStub(client.channel)


def submit(client, resource_code):
    return sharing(client).SubmitRequest(sharing_pb2.SubmitRequestRequest(
        consumer_code="130100005", resource_code=resource_code, purpose="办理企业开办", basis="《优化营商环境条例》",
        data_items=["统一社会信用代码"]))


def state_at(client, request_id):
    try:
        return sharing(client).GetRequest(sharing_pb2.GetRequestRequest(request_id=request_id)).state
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return "absent"


def test_a_request_past_its_deadline_shows_overdue_at_owner_and_hub(watched):
    filed = submit(watched.peers["hebei"], "440300002/000002")  # conditional: waits for Guangdong's answer
    watched.sync("hebei")  # the hub takes the request and delivers it to Guangdong, where it waits
    wait_until(lambda: state_at(watched.peers["guangdong"], filed.request_id), 30, "the request pending at Guangdong",
               until=lambda state: state == "pending")
    watched.sync("guangdong")
    for client in (watched.peers["guangdong"], watched.hub):
        s = scrape(client)
        assert s.value("cascade_requests", state="pending") == 1 and s.value("cascade_requests_overdue") == 0
        assert s.value("cascade_requests_escalated") == 0

    later = lambda: rules.utcnow() + timedelta(days=30)  # noqa: E731
    for client in (watched.peers["guangdong"], watched.hub):
        client.node.sharing.clock = later
        # 30 days on, the answer is past its deadline and past the escalation margin (2 working days) too
        assert scrape(client).value("cascade_requests_overdue") == 1
        assert scrape(client).value("cascade_requests_escalated") == 1
    assert scrape(watched.peers["hebei"]).value("cascade_requests_overdue") == 0  # its clock is today's


def test_a_request_for_a_node_that_is_down_waits_in_the_outbox_and_ages(watched):
    port = watched.peers["guangdong"].node.port
    watched.stop_peer("guangdong")
    submit(watched.peers["hebei"], "440300002/000001")
    watched.sync("hebei")  # the hub takes the request; its courier cannot reach Guangdong
    first = wait_until(lambda: scrape(watched.hub), 10, "the delivery to Guangdong to wait in the outbox",
                       until=lambda s: s.value("cascade_outbox_deliveries", 0.0, target="guangdong") == 1)
    age = first.value("cascade_outbox_oldest_age_seconds", target="guangdong")
    wait_until(lambda: scrape(watched.hub), 10, "the waiting delivery to age",
               until=lambda s: s.value("cascade_outbox_oldest_age_seconds", target="guangdong") > age)

    watched.peers["guangdong"] = watched.start_peer("guangdong", port)
    delivered = wait_until(lambda: scrape(watched.hub), 60, "the outbox to empty once Guangdong is back",
                           until=lambda s: "guangdong" not in s.labels_of("cascade_outbox_deliveries", "target"))
    assert "guangdong" not in delivered.labels_of("cascade_outbox_oldest_age_seconds", "target")


def test_digest_equal_only_changes_on_a_conclusive_verify(quiet):
    watched = quiet
    hub = watched.hub
    assert scrape(hub).labels_of("cascade_peer_digest_equal", "peer") == set()  # no Verify yet
    assert all(v.equal for v in watched.verify().values())
    s = scrape(hub)
    assert {p: s.value("cascade_peer_digest_equal", peer=p) for p in watched.peers} == dict.fromkeys(watched.peers, 1)
    assert s.value("cascade_peer_digest_verified_timestamp_seconds", peer="hebei") > 0

    publish(watched.peers["xpcc"], make_entry("660000001", seq=1))  # the hub has not pulled it yet: lag
    wait_until(lambda: watched.verify()["xpcc"].equal, 10, "Verify to find XPCC's copy behind", until=lambda e: not e)
    assert scrape(hub).value("cascade_peer_digest_equal", peer="xpcc") == 1  # behind is not a mismatch

    watched.sync()
    held = hub.node.store.get_entry("130100005/000001")
    with hub.node.store.transaction() as tx:  # the hub's copy altered behind the protocol's back
        tx.put_entries([dataclasses.replace(held, name="被篡改的名称")], log=False)
    verdicts = watched.verify()
    assert not verdicts["hebei"].equal and verdicts["xpcc"].equal
    s = scrape(hub)
    assert s.value("cascade_peer_digest_equal", peer="hebei") == 0
    assert s.value("cascade_peer_digest_equal", peer="xpcc") == 1
