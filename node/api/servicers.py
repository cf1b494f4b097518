"""gRPC servicers: decode the request, call the domain, encode the answer, map errors to codes."""

from __future__ import annotations

import dataclasses
import functools
import inspect

import grpc

from node.source import changes
from node.api import serde
from node.catalog.catalog import Catalog, EntryFilter
from node.sharing.scorecard import scorecard
from node.source.changes import Cursor
from node.catalog.rules import InvalidEntry
from node.errors import AlreadyExists, FailedPrecondition, NotFound, PermissionDenied, Unavailable
from node.times import parse_time
from node.proto import (admin_pb2, admin_pb2_grpc, cascade_pb2, cascade_pb2_grpc, catalog_pb2, catalog_pb2_grpc,
                        sharing_pb2, sharing_pb2_grpc)

MAX_BULK_ENTRIES = 200_000

_CODES = (
    (InvalidEntry, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def _status(exc: Exception) -> grpc.StatusCode | None:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return None


def rpc(method):
    """Maps domain errors raised by a unary or server-streaming handler to gRPC statuses."""
    if inspect.isgeneratorfunction(method):
        @functools.wraps(method)
        def streaming(self, request, context):
            try:
                yield from method(self, request, context)
            except Exception as exc:
                code = _status(exc)
                if code is None:
                    raise
                context.abort(code, str(exc))
        return streaming

    @functools.wraps(method)
    def unary(self, request, context):
        try:
            return method(self, request, context)
        except Exception as exc:
            code = _status(exc)
            if code is None:
                raise
            context.abort(code, str(exc))
    return unary


def entry_filter(msg: catalog_pb2.EntryFilter) -> EntryFilter:
    return EntryFilter(
        provider_code=msg.provider_code, region_code=msg.region_code, category=msg.category,
        share_type=msg.share_type, update_cycle=msg.update_cycle,
        updated_since=serde.moment(msg.updated_since, msg.HasField("updated_since")),
        origin=msg.origin,
    )


class CatalogServicer(catalog_pb2_grpc.CatalogServicer):
    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    @rpc
    def PublishEntry(self, request, context):
        if not request.HasField("entry"):
            raise InvalidEntry("entry", "is required")
        (stored,), counts = self.catalog.publish([serde.entry_from_proto(request.entry, with_node_fields=False)])
        outcome = "created" if counts.created else "updated" if counts.updated else "unchanged"
        return catalog_pb2.PublishEntryResponse(entry=serde.entry_to_proto(stored), created=counts.created == 1, outcome=outcome)

    @rpc
    def PublishEntries(self, request_iterator, context):
        entries = []
        for request in request_iterator:
            messages = [request.entry] if request.HasField("entry") else []
            messages.extend(request.entries)
            if len(entries) + len(messages) > MAX_BULK_ENTRIES:
                raise InvalidEntry("entries", f"a bulk load holds at most {MAX_BULK_ENTRIES} entries per call")
            entries.extend(serde.entry_from_proto(m, with_node_fields=False) for m in messages)
        _, counts = self.catalog.publish(entries)
        return catalog_pb2.PublishEntriesResponse(created=counts.created, updated=counts.updated, unchanged=counts.unchanged)

    @rpc
    def WithdrawEntry(self, request, context):
        return serde.entry_to_proto(self.catalog.withdraw(request.resource_code))

    @rpc
    def GetEntry(self, request, context):
        return serde.entry_to_proto(self.catalog.get(request.resource_code))

    @rpc
    def ListEntries(self, request, context):
        entries, token = self.catalog.list(entry_filter(request.filter), request.page_size, request.page_token)
        reply = catalog_pb2.ListEntriesResponse(next_page_token=token)
        for entry in entries:
            serde.entry_to_proto(entry, reply.entries.add())
        return reply

    @rpc
    def SearchEntries(self, request, context):
        entries, token, total = self.catalog.search(
            request.query, entry_filter(request.filter), request.page_size, request.page_token
        )
        reply = catalog_pb2.SearchEntriesResponse(next_page_token=token, total=total)
        for entry in entries:
            serde.entry_to_proto(entry, reply.entries.add())
        return reply


def cursor_to_proto(cursor: Cursor) -> cascade_pb2.Cursor:
    return cascade_pb2.Cursor(epoch=cursor.epoch, seq=cursor.seq)


class CascadeServicer(cascade_pb2_grpc.CascadeServicer):
    def __init__(self, node):
        self.node = node
        self.store = node.store

    @rpc
    def PullChanges(self, request, context):
        cursor = Cursor(request.cursor.epoch, request.cursor.seq)
        for batch in changes.pull(self.store, cursor, request.max_batch):
            reply = cascade_pb2.ChangeBatch(
                next=cursor_to_proto(batch.next), head_seq=batch.head_seq, last=batch.last,
                live_entries=batch.live_entries,
            )
            for change in batch.changes:
                c = reply.changes.add(seq=change.seq, kind=change.kind, key=change.key, version=change.version, op=change.op)
                at = parse_time(change.at)
                if at is not None:
                    c.at.CopyFrom(serde.timestamp(at))
            for entry in batch.entries:
                serde.entry_to_proto(entry, reply.entries.add())
            for request in batch.requests:
                serde.request_to_proto(request, reply.requests.add())
            yield reply

    @rpc
    def Snapshot(self, request, context):
        for part in changes.snapshot(self.store, request.after_code, request.max_batch):
            reply = cascade_pb2.SnapshotBatch(
                after_code=part.after_code, range_end=part.range_end, done=part.done,
                cursor=cursor_to_proto(part.cursor),
            )
            for entry in part.entries:
                serde.entry_to_proto(entry, reply.entries.add())
            yield reply

    @rpc
    def GetDigest(self, request, context):
        count, digest = self.store.digest(request.origin, request.code_from, request.code_to)
        return cascade_pb2.Digest(count=count, hash=digest, epoch=self.store.epoch, seq=self.store.head_seq())

    @rpc
    def Notify(self, request, context):
        accepted = self.node.notified(request.node_id, request.head.epoch, request.head.seq)
        return cascade_pb2.NotifyResponse(accepted=accepted)


class AdminServicer(admin_pb2_grpc.AdminServicer):
    def __init__(self, node):
        self.node = node

    @rpc
    def Status(self, request, context):
        node = self.node
        count, live = node.store.count_entries()
        reply = admin_pb2.NodeStatus(
            node_id=node.config.node_id, role=node.config.role, region_code=node.config.region_code,
            head=cursor_to_proto(Cursor(node.store.epoch, node.store.head_seq())),
            entries=count, live_entries=live, uptime_seconds=node.uptime(),
        )
        if node.role.is_hub:
            hub = node.hub()
            for state in hub.peer_states():
                reply.peers.append(peer_status(state))
            for peer, code, held_by, reason, at in node.store.conflicts():
                reply.conflicts.add(peer=peer, resource_code=code, held_by=held_by, reason=reason, at=at)
        return reply

    @rpc
    def SyncNow(self, request, context):
        hub = self.node.hub()
        started = hub.sync_now(request.peer, wait=request.wait, timeout=context.time_remaining())
        return admin_pb2.SyncNowResponse(started=started, peers=[peer_status(s) for s in hub.peer_states()])

    @rpc
    def Verify(self, request, context):
        reply = admin_pb2.VerifyResponse()
        for verdict in self.node.hub().verify(request.peer):
            v = reply.peers.add(peer=verdict.peer, equal=verdict.equal, error=verdict.error)
            for field, digest in (("at_peer", verdict.at_peer), ("at_hub", verdict.at_hub)):
                if digest is not None:
                    getattr(v, field).CopyFrom(cascade_pb2.Digest(**dataclasses.asdict(digest)))
        return reply


    @rpc
    def Scorecard(self, request, context):
        departments, nodes = scorecard(self.node.store, self.node.config.calendar, self.node.sharing.clock())
        reply = admin_pb2.ScorecardResponse()
        for target, rows in ((reply.departments, departments), (reply.nodes, nodes)):
            for s in rows:
                target.add(node_id=s.node_id, department_code=s.department_code, department_name=s.department_name,
                           entries=s.entries, unconditional=s.unconditional, conditional=s.conditional,
                           not_shared=s.not_shared, requests_received=s.requests_received, answered=s.answered,
                           answered_in_time=s.answered_in_time, median_hours_to_answer=s.median_hours_to_answer,
                           overdue_now=s.overdue_now, requests_made=s.requests_made)
        return reply


def peer_status(state) -> admin_pb2.PeerStatus:
    return admin_pb2.PeerStatus(
        node_id=state.node_id, role=state.role, address=state.address,
        cursor=cursor_to_proto(state.cursor), head_seq=state.head_seq, behind=state.behind,
        seconds_since_success=state.seconds_since_success, last_error=state.last_error,
        failures=state.failures, backoff_seconds=state.backoff_seconds, next_pull_in=state.next_pull_in,
        entries_at_hub=state.entries_at_hub, entries_at_peer=state.entries_at_peer,
        conflicts=state.conflicts, refused=state.refused, pulling=state.pulling, state=state.state,
        resyncs=state.resyncs, pulling_seconds=state.pulling_seconds,
        deliveries_waiting=state.deliveries_waiting, delivery_error=state.delivery_error,
    )


class SharingServicer(sharing_pb2_grpc.SharingServicer):
    def __init__(self, node):
        self.node = node
        self.sharing = node.sharing

    def _reply(self, request):
        return serde.request_to_proto(request, overdue=self.sharing.overdue(request), at_node=self.node.config.node_id)

    @rpc
    def SubmitRequest(self, request, context):
        return self._reply(self.sharing.submit(request.consumer_code, request.resource_code, request.purpose,
                                               request.basis, list(request.data_items)))

    @rpc
    def GetRequest(self, request, context):
        return self._reply(self.sharing.get(request.request_id))

    @rpc
    def ListRequests(self, request, context):
        found, token = self.sharing.list(request.consumer_code, request.owner_code, request.state,
                                         request.overdue_only, request.page_size, request.page_token,
                                         self.node.config.max_page_size)
        reply = sharing_pb2.ListRequestsResponse(next_page_token=token)
        for item in found:
            reply.requests.append(self._reply(item))
        return reply

    @rpc
    def DecideRequest(self, request, context):
        return self._reply(self.sharing.decide(request.request_id, request.department_code, request.approve,
                                               request.reason))

    @rpc
    def WithdrawRequest(self, request, context):
        return self._reply(self.sharing.withdraw(request.request_id, request.consumer_code, request.reason))

    @rpc
    def DeliverRequest(self, request, context):
        if not request.HasField("request"):
            raise InvalidEntry("request", "is required")
        applied, version = self.sharing.receive(serde.request_from_proto(request.request), request.from_node)
        return sharing_pb2.DeliverRequestResponse(applied=applied, version=version)


def add_to_server(server: grpc.Server, node) -> list[str]:
    """Registers every servicer of a node; returns the full service names."""
    catalog_pb2_grpc.add_CatalogServicer_to_server(CatalogServicer(node.catalog), server)
    sharing_pb2_grpc.add_SharingServicer_to_server(SharingServicer(node), server)
    cascade_pb2_grpc.add_CascadeServicer_to_server(CascadeServicer(node), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(node), server)
    return [
        catalog_pb2.DESCRIPTOR.services_by_name["Catalog"].full_name,
        cascade_pb2.DESCRIPTOR.services_by_name["Cascade"].full_name,
        admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
        sharing_pb2.DESCRIPTOR.services_by_name["Sharing"].full_name,
    ]
