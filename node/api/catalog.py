"""The Catalog service: publish, withdraw, get, list and search entries at this node."""

from __future__ import annotations

from node.api import serde
from node.api.status import rpc
from node.catalog.catalog import Catalog, EntryFilter, Offered, offered
from node.errors import InvalidEntry
from node.proto import catalog_pb2, catalog_pb2_grpc
from node.workers import WorkerPool

MAX_BULK_ENTRIES = 200_000


def entry_filter(msg: catalog_pb2.EntryFilter) -> EntryFilter:
    return EntryFilter(
        provider_code=msg.provider_code, region_code=msg.region_code, category=msg.category,
        share_type=msg.share_type, update_cycle=msg.update_cycle,
        updated_since=serde.moment(msg.updated_since, msg.HasField("updated_since")),
        origin=msg.origin, open_type=msg.open_type,
    )


def stage_message(message: bytes) -> Offered:
    """One `PublishEntriesRequest` message's entries, checked and turned into rows (runs in a
    worker process)."""
    request = catalog_pb2.PublishEntriesRequest.FromString(message)
    messages = [request.entry] if request.HasField("entry") else []
    messages.extend(request.entries)
    return offered([serde.entry_from_proto(m, with_node_fields=False) for m in messages])


class CatalogServicer(catalog_pb2_grpc.CatalogServicer):
    def __init__(self, catalog: Catalog, workers: WorkerPool | None = None):
        self.catalog = catalog
        self.workers = workers or WorkerPool(0)

    @rpc
    def PublishEntry(self, request, context):
        if not request.HasField("entry"):
            raise InvalidEntry("entry", "is required")
        (stored,), counts = self.catalog.publish([serde.entry_from_proto(request.entry, with_node_fields=False)])
        outcome = "created" if counts.created else "updated" if counts.updated else "unchanged"
        return catalog_pb2.PublishEntryResponse(entry=serde.entry_to_proto(stored), created=counts.created == 1,
                                                outcome=outcome)

    @rpc
    def PublishEntries(self, request_iterator, context):
        # Each message is checked and turned into rows as it arrives (in a worker process when
        # large); the write takes them in order as they are ready.
        parts, total = [], 0
        for request in request_iterator:
            count = request.HasField("entry") + len(request.entries)
            if total + count > MAX_BULK_ENTRIES:
                raise InvalidEntry("entries", f"a bulk load holds at most {MAX_BULK_ENTRIES} entries per call")
            parts.append(self.workers.run(stage_message, request.SerializeToString(), items=count))
            total += count
        _, counts = self.catalog.publish_staged((part.result() for part in parts), total)
        return catalog_pb2.PublishEntriesResponse(created=counts.created, updated=counts.updated,
                                                  unchanged=counts.unchanged)

    @rpc
    def WithdrawEntry(self, request, context):
        return serde.entry_to_proto(self.catalog.withdraw(request.resource_code))

    @rpc
    def GetEntry(self, request, context):
        return serde.entry_to_proto(self.catalog.get(request.resource_code))

    @rpc
    def ListEntries(self, request, context):
        where = entry_filter(request.filter)
        entries, token = self.catalog.list(where, request.page_size, request.page_token)
        reply = catalog_pb2.ListEntriesResponse(next_page_token=token)
        if request.with_total:
            reply.total = self.catalog.count(where)
        for entry in entries:
            serde.entry_to_proto(entry, reply.entries.add())
        return reply

    @rpc
    def SearchEntries(self, request, context):
        found, token = self.catalog.search(
            request.query, entry_filter(request.filter), request.page_size, request.page_token
        )
        reply = catalog_pb2.SearchEntriesResponse(next_page_token=token, total=found.total,
                                                  total_is_lower_bound=found.total_is_lower_bound)
        for entry in found.entries:
            serde.entry_to_proto(entry, reply.entries.add())
        return reply
