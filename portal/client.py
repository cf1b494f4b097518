"""The portal's way to its node and to the departments' nodes: one channel per node for the
whole process; a signed-in department's token travels per call as `authorization: Bearer ...`
metadata, never as a channel of its own. gRPC failures become two plain exceptions that the
pages turn into a message."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Callable

import grpc

from node.proto import (admin_pb2, admin_pb2_grpc, catalog_pb2, catalog_pb2_grpc, corrections_pb2, corrections_pb2_grpc,
                        exchange_pb2, exchange_pb2_grpc, governance_pb2, governance_pb2_grpc,
                        sharing_pb2, sharing_pb2_grpc)
from node.security.client import Credentials, open_channel

MAX_MESSAGE = 64 * 1024 * 1024
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class NodeUnreachable(Exception):
    """The node did not answer (down, partitioned, too slow)."""

    def __init__(self, node: str, detail: str):
        super().__init__(f"{node}: {detail}")
        self.node = node
        self.detail = detail


class NodeRefused(Exception):
    """The node answered with an error status (not found, bad input, not allowed...)."""

    def __init__(self, node: str, code: grpc.StatusCode, detail: str):
        super().__init__(f"{node}: {code.name}: {detail}")
        self.node = node
        self.code = code
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class Identities:
    """What the portal presents. `reader`: the certificate (an operator's) for its own reads of
    the catalog, the scorecard and the hub's status. `department`: a client certificate under
    which calls with a department's token go, so that the node judges them by the token alone
    (an operator certificate would let any valid token read any department's requests).
    Plaintext when `reader` has no certificate."""

    reader: Credentials = Credentials()
    department: Credentials | None = None

    @property
    def secure(self) -> bool:
        return self.reader.secure

    @property
    def can_sign_in(self) -> bool:
        return not self.secure or self.department is not None


class NodeClient:
    """The target node (normally the hub) and, for departments, the node each belongs to."""

    def __init__(self, target: str, identities: Identities, *, server_name: str = "",
                 nodes: dict[str, str] | None = None, timeout: float = 5.0):
        self.target = target
        self.identities = identities
        self.server_name = server_name
        self.explicit_nodes = dict(nodes or {})
        self.timeout = timeout
        options = [("grpc.max_receive_message_length", MAX_MESSAGE)]
        self._channel = open_channel(target, identities.reader, server_name=server_name, options=options)
        self.catalog = catalog_pb2_grpc.CatalogStub(self._channel)
        self.admin = admin_pb2_grpc.AdminStub(self._channel)
        self.governance = governance_pb2_grpc.GovernanceStub(self._channel)
        self._department_channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()
        self._addresses: tuple[float, dict[str, str]] = (0.0, {})
        self.hub_id = ""

    def close(self) -> None:
        self._channel.close()
        for channel in self._department_channels.values():
            channel.close()

    def name_of(self, where: str) -> str:
        """How a page names the node a failure came from: its id, never the target's address."""
        if where != self.target:
            return where
        return self.hub_id or self.server_name or "目标节点"

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, where: str, fn: Callable, request, *, token: str = "", timeout: float | None = None):
        metadata = (("authorization", f"Bearer {token}"),) if token else None
        try:
            return fn(request, timeout=timeout or self.timeout, metadata=metadata)
        except grpc.RpcError as exc:
            code = exc.code() if callable(getattr(exc, "code", None)) else grpc.StatusCode.UNKNOWN
            detail = exc.details() if callable(getattr(exc, "details", None)) else str(exc)
            if code in UNREACHABLE:
                raise NodeUnreachable(where, detail or code.name) from None
            raise NodeRefused(where, code, detail or "") from None

    # -- the catalog at the target -------------------------------------------------------------

    def search(self, query: str, where: catalog_pb2.EntryFilter, page_size: int, offset: int,
               with_facets: bool = False):
        request = catalog_pb2.SearchEntriesRequest(query=query, filter=where, page_size=page_size,
                                                   page_token=str(offset) if offset else "", with_facets=with_facets)
        return self._call(self.target, self.catalog.SearchEntries, request)

    def list_entries(self, where: catalog_pb2.EntryFilter, page_size: int, page_token: str = "",
                     with_total: bool = False, with_facets: bool = False):
        request = catalog_pb2.ListEntriesRequest(filter=where, page_size=page_size, page_token=page_token,
                                                 with_total=with_total, with_facets=with_facets)
        return self._call(self.target, self.catalog.ListEntries, request)

    def get_entry(self, resource_code: str):
        return self._call(self.target, self.catalog.GetEntry, catalog_pb2.GetEntryRequest(resource_code=resource_code))

    def duplicates(self, resource_code: str) -> list:
        """The duplicate collections (不得重复收集) the target finds in one entry; none when it cannot tell."""
        request = governance_pb2.DuplicatesRequest(resource_code=resource_code)
        try:
            return list(self._call(self.target, self.governance.ListDuplicates, request).duplicates)
        except (NodeUnreachable, NodeRefused):
            return []

    def status(self, timeout: float = 3.0):
        status = self._call(self.target, self.admin.Status, admin_pb2.StatusRequest(), timeout=timeout)
        self.hub_id = status.node_id
        return status

    def requests_at_target(self, newest: int):
        """Up to `newest` of the target's sharing requests (at the hub: every request that crossed
        nodes), under the portal's operator identity; for counts, never shown one by one."""
        request = sharing_pb2.ListRequestsRequest(page_size=min(newest, 1000))
        return list(self._call(self.target, sharing_pb2_grpc.SharingStub(self._channel).ListRequests, request).requests)

    def scorecard(self, from_date: str = "", to_date: str = ""):
        """The scorecard for a period of days (YYYY-MM-DD, both included; empty: unbounded)."""
        return self._call(self.target, self.admin.Scorecard,
                          admin_pb2.ScorecardRequest(from_date=from_date, to_date=to_date), timeout=10.0)

    # -- the departments' nodes ----------------------------------------------------------------

    def node_addresses(self) -> dict[str, str]:
        """Node id -> address: the target under its own id, then every peer, as given on the
        command line or else as the hub reaches them (its Status)."""
        at, known = self._addresses
        if known and time.monotonic() - at < 30:
            return known
        found: dict[str, str] = {}
        try:
            status = self.status()
            found[status.node_id] = self.target
            found.update({p.node_id: p.address for p in status.peers})
        except (NodeUnreachable, NodeRefused):
            if not self.explicit_nodes:
                raise
        found.update(self.explicit_nodes)
        self._addresses = (time.monotonic(), found)
        return found

    def _department_stub(self, node_id: str, stub=sharing_pb2_grpc.SharingStub):
        address = self.node_addresses().get(node_id)
        if address is None:
            raise NodeRefused(node_id, grpc.StatusCode.NOT_FOUND, f"no node {node_id} in this federation")
        credentials = self.identities.department if self.identities.secure else Credentials()
        if credentials is None:
            raise NodeRefused(node_id, grpc.StatusCode.FAILED_PRECONDITION,
                              "the portal has no certificate for department sign-in (--department-cert)")
        with self._lock:
            channel = self._department_channels.get(node_id)
            if channel is None:
                channel = open_channel(address, credentials, server_name=node_id if credentials.secure else "",
                                       options=[("grpc.max_receive_message_length", MAX_MESSAGE)])
                self._department_channels[node_id] = channel
        return (stub or sharing_pb2_grpc.SharingStub)(channel)

    def list_corrections(self, node_id: str, token: str, *, owner: str, state: str = "", page_size: int = 50):
        """The corrections on a department's resources at its node (none from a node without the service)."""
        request = corrections_pb2.ListCorrectionsRequest(owner_code=owner, state=state, page_size=page_size)
        stub = self._department_stub(node_id, corrections_pb2_grpc.CorrectionsStub)
        return self._call(node_id, stub.ListCorrections, request, token=token)

    def list_requests(self, node_id: str, token: str, *, consumer: str = "", owner: str = "", state: str = "",
                      page_size: int = 50, page_token: str = "", authority: str = "", inbox: str = ""):
        """A department's requests (as consumer or owner), or with `authority` and `inbox` (review,
        coordinate, escalated) the node's data authority's inbox."""
        request = sharing_pb2.ListRequestsRequest(consumer_code=consumer, owner_code=owner, state=state,
                                                  page_size=page_size, page_token=page_token,
                                                  authority_code=authority, inbox=inbox)
        return self._call(node_id, self._department_stub(node_id).ListRequests, request, token=token)

    def get_request(self, node_id: str, token: str, request_id: str):
        return self._call(node_id, self._department_stub(node_id).GetRequest,
                          sharing_pb2.GetRequestRequest(request_id=request_id), token=token)

    def list_calls(self, node_id: str, token: str, request_id: str, department: str):
        """The counts of a department's own request's query and verify calls at its node."""
        return self._call(node_id, self._department_stub(node_id, exchange_pb2_grpc.ExchangeStub).ListCalls,
                          exchange_pb2.ListCallsRequest(request_id=request_id, department_code=department,
                                                        limit=200), token=token)

    def submit_request(self, node_id: str, token: str, consumer: str, resource_code: str, purpose: str, basis: str,
                       items: list[str]):
        request = sharing_pb2.SubmitRequestRequest(consumer_code=consumer, resource_code=resource_code,
                                                   purpose=purpose, basis=basis, data_items=items)
        return self._call(node_id, self._department_stub(node_id).SubmitRequest, request, token=token, timeout=15.0)

    def decide_request(self, node_id: str, token: str, request_id: str, department: str, approve: bool, reason: str):
        request = sharing_pb2.DecideRequestRequest(request_id=request_id, department_code=department,
                                                   approve=approve, reason=reason)
        return self._call(node_id, self._department_stub(node_id).DecideRequest, request, token=token)

    def department_node(self, department: str) -> str:
        """The node a department publishes at, as the target's catalog shows it ("" if it has no entries)."""
        reply = self.list_entries(catalog_pb2.EntryFilter(provider_code=department), page_size=1)
        return reply.entries[0].origin if reply.entries else ""
