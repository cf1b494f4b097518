"""The hub killed (SIGKILL) and started again, over and over, while the federation is busy:
writes at every peer, sharing requests filed, decided and withdrawn, and bulk streams through the
fault proxy's links refused in the middle. After each restart every peer is pulled within two
intervals, and no link into a peer refused a connection."""

import threading

import grpc

from conftest import wait_until
from harness.seed import entries_for
from node import wire
from node.proto import catalog_pb2, catalog_pb2_grpc, sharing_pb2
from node.security.client import open_channel

SMALL = "configs/federation-small.yaml"
INTERVAL = 2.0
RESTARTS = 5
STATUS_DEADLINE = 30


class Load:
    """Writes at the peers and requests between them, on a thread, until stopped; failures while
    the hub is down are expected and ignored (the peers' own calls are local)."""

    def __init__(self, fed):
        self.fed = fed
        self.stop = threading.Event()
        self.published = 0
        self.thread = threading.Thread(target=self.run, name="load", daemon=True)

    def run(self) -> None:
        fed, serial = self.fed, 2000
        wanted = fed.catalog("guangdong").ListEntries(catalog_pb2.ListEntriesRequest(page_size=20)).entries
        consumer = fed.sharing("hebei", "130000001")
        owner = {e.provider_code: fed.sharing("guangdong", e.provider_code) for e in wanted}
        while not self.stop.is_set():
            serial += 1
            for node, dept, name in (("hebei", "130000001", "河北省公安厅"), ("xpcc", "660000001", "兵团公安局"),
                                     ("guangdong", "440000002", "广东省民政厅")):
                try:
                    fed.publish(node, list(entries_for(dept, name, 1, seed="restarts", start=serial)), timeout=10)
                    self.published += 1
                except grpc.RpcError:
                    pass
            entry = wanted[serial % len(wanted)]
            try:
                filed = consumer.SubmitRequest(sharing_pb2.SubmitRequestRequest(
                    consumer_code="130000001", resource_code=entry.resource_code, purpose="重启测试",
                    basis="《政务服务条例》", data_items=[entry.data_items[0].name]), timeout=10)
                if serial % 2:
                    consumer.WithdrawRequest(sharing_pb2.WithdrawRequestRequest(
                        request_id=filed.request_id, consumer_code="130000001", reason="不再需要"), timeout=10)
                else:
                    for pending in owner[entry.provider_code].ListRequests(sharing_pb2.ListRequestsRequest(
                            owner_code=entry.provider_code, state="submitted", page_size=5), timeout=10).requests:
                        owner[entry.provider_code].DecideRequest(sharing_pb2.DecideRequestRequest(
                            request_id=pending.request_id, department_code=entry.provider_code, approve=True,
                            reason="同意"), timeout=10)
            except grpc.RpcError:
                pass
            self.stop.wait(0.1)


def refused_stream(fed, node: str, department: str, bad_department: str, killed: threading.Event) -> threading.Thread:
    """A bulk publish through the proxy's link into `node` (the way the hub reaches it): a good
    part, then, once the hub has been killed, a part of another department's entries that the
    node refuses. The stream is open across the kill."""
    def run() -> None:
        port = fed.state["proxy"]["links"][node]
        with open_channel(f"127.0.0.1:{port}", fed.client(fed.token(node, department)), server_name=node) as channel:
            def parts():
                yield catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in entries_for(
                    department, "在途", 200, seed=f"stream-{killed}", start=8000)])
                killed.wait(60)
                yield catalog_pb2.PublishEntriesRequest(entries=[wire.entry_to_proto(e) for e in entries_for(
                    bad_department, "别家", 200, seed="refused", start=8000)])
            try:
                catalog_pb2_grpc.CatalogStub(channel).PublishEntries(parts(), timeout=60)
            except grpc.RpcError:
                pass  # refused, or cut by the kill: what matters is the hub afterwards

    thread = threading.Thread(target=run, name=f"stream-{node}", daemon=True)
    thread.start()
    return thread


def pulled_since(fed, seconds: float) -> dict:
    """Peers the hub has not pulled successfully in the last `seconds`, with their last error."""
    peers = fed.status(fed.hub_id, STATUS_DEADLINE).peers
    return {p.node_id: (p.state, p.last_error[:120]) for p in peers
            if not 0 <= p.seconds_since_success < seconds}


def test_every_peer_pulled_within_two_intervals_after_each_hub_restart(federation):
    import time

    fed = federation(SMALL, interval=INTERVAL)
    fed.seed(3, data=False)
    fed.wait_converged(timeout=60)
    load = Load(fed)
    load.thread.start()
    try:
        for restart in range(RESTARTS):
            wait_until(lambda: load.published, 60, "the load to publish", until=lambda n: n > restart * 3)
            killed = threading.Event()
            streams = [refused_stream(fed, "guangdong", "440000001", "130000001", killed),
                       refused_stream(fed, fed.hub_id, "100000001", "440000001", killed)]
            wait_until(lambda: fed.proxy("status")["links"]["guangdong"]["open"], 30,
                       "the bulk stream through Guangdong's link to be open", until=lambda n: n >= 2)
            killed_at = time.monotonic()
            fed.kill(fed.hub_id)
            killed.set()
            fed.start(fed.hub_id)
            wait_until(lambda: pulled_since(fed, time.monotonic() - killed_at), 2 * INTERVAL,
                       f"every peer pulled within two intervals of restart {restart + 1}",
                       until=lambda missing: not missing, poll=0.1)
            for stream in streams:
                stream.join(60)
    finally:
        load.stop.set()
        load.thread.join(30)
    links = fed.proxy("status")["links"]
    assert {p: links[p]["refused"] for p in fed.peer_ids} == {p: 0 for p in fed.peer_ids}, \
        {p: links[p]["last_refusal"] for p in fed.peer_ids}
    fed.wait_converged(timeout=60)
