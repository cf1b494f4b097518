"""The Catalog service: publish, withdraw, get, list and search entries at this node. A search or
a listing may be answered by a reader process (node/api/readers.py), as bytes that
node/api/handlers.py passes on as they are."""

from __future__ import annotations

import collections
from collections.abc import Iterator

from node import wire
from node.api.readers import Readers
from node.api.reads import READS
from node.api.spool import Spool
from node.api.status_codes import rpc
from node.api.turns import READERS, Lane
from node.catalog.publishing import Catalog, Offered, offered
from node.errors import InvalidEntry, ResourceExhausted
from node.model import elements
from node.model.elements import Registry
from node.proto import catalog_pb2, catalog_pb2_grpc
from node.workers import WorkerPool

MAX_BULK_ENTRIES = 200_000
MAX_PUBLISH_BYTES = 64 * 1024 * 1024  # limits.max_publish_bytes, when the node does not say
# Messages of a bulk publish being staged ahead of the write: the writer never waits on staging,
# and a call holds at most this many messages (each at most limits.max_message_bytes) in memory.
AHEAD = 4


def stage_message(message: bytes, registry: Registry | None = None) -> Offered:
    """One `PublishEntriesRequest` message's entries, checked (against the node's registry of
    data elements too) and turned into rows (runs in a worker process)."""
    request = catalog_pb2.PublishEntriesRequest.FromString(message)
    messages = [request.entry] if request.HasField("entry") else []
    messages.extend(request.entries)
    return offered([wire.entry_from_proto(m, with_node_fields=False) for m in messages], registry)


class CatalogServicer(catalog_pb2_grpc.CatalogServicer):
    def __init__(self, catalog: Catalog, workers: WorkerPool | None = None, *,
                 max_publish_bytes: int = MAX_PUBLISH_BYTES, spool_dir: str | None = None,
                 readers: Readers | None = None):
        self.catalog = catalog
        self.workers = workers or WorkerPool(0)
        self.max_publish_bytes = max_publish_bytes
        self.spool_dir = spool_dir  # where a bulk publish's messages wait for the write
        self.readers = readers  # processes that answer searches and listings (node/api/readers.py)
        # searches and listings under way at once (node/api/turns.py): one per reader, when they serve
        self.turns = Lane(max(READERS, readers.processes if readers is not None else 0))

    @rpc
    def PublishEntry(self, request, context):
        if not request.HasField("entry"):
            raise InvalidEntry("entry", "is required")
        entry = wire.entry_from_proto(request.entry, with_node_fields=False)
        suggested = elements.suggestions(entry.data_items, self.catalog.elements())
        (stored,), counts = self.catalog.publish([entry])
        outcome = "created" if counts.created else "updated" if counts.updated else "unchanged"
        reply = catalog_pb2.PublishEntryResponse(entry=wire.entry_to_proto(stored), created=counts.created == 1,
                                                 outcome=outcome)
        for item, element in suggested:
            reply.suggestions.add(item=item, element=element)
        return reply

    @rpc
    def PublishEntries(self, request_iterator, context):
        # The messages wait on disk, counted as they arrive, so that the call is refused the moment
        # it passes a limit and holds none of them in memory; the one write transaction starts
        # only once the client has sent them all, so a slow client never holds the writer.
        # The first AHEAD messages are staged as they arrive, so that the writer starts on them
        # the moment the last one is in, instead of waiting for a worker to stage the first.
        registry = self.catalog.elements()
        early: collections.deque = collections.deque()
        with Spool(self.spool_dir) as spool:
            total = size = 0
            for request in request_iterator:
                count = request.HasField("entry") + len(request.entries)
                size += request.ByteSize()
                if size > self.max_publish_bytes:
                    raise ResourceExhausted(f"a bulk publish carries at most {self.max_publish_bytes} bytes of entries "
                                            "per call (limits.max_publish_bytes); split it into several calls")
                if total + count > MAX_BULK_ENTRIES:
                    raise InvalidEntry("entries", f"a bulk load holds at most {MAX_BULK_ENTRIES} entries per call")
                message = request.SerializeToString()
                spool.add(message, count)
                if len(early) < AHEAD:
                    early.append(self.workers.run(stage_message, message, registry, items=count))
                total += count
            _, counts = self.catalog.publish_staged(self._staged(spool, early, registry), total, keep=False)
        return catalog_pb2.PublishEntriesResponse(created=counts.created, updated=counts.updated,
                                                  unchanged=counts.unchanged)

    def _staged(self, spool: Spool, ahead: collections.deque, registry: Registry) -> Iterator[Offered]:
        """Each message checked and turned into rows (in a worker process when large), AHEAD of
        the write, which takes them in order as they are ready; `ahead` holds the first
        messages' staging, begun while they arrived."""
        for message, count in spool.read(skip=len(ahead)):
            ahead.append(self.workers.run(stage_message, message, registry, items=count))
            if len(ahead) > AHEAD:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()

    @rpc
    def WithdrawEntry(self, request, context):
        return wire.entry_to_proto(self.catalog.withdraw(request.resource_code))

    @rpc
    def GetEntry(self, request, context):
        return wire.entry_to_proto(self.catalog.get(request.resource_code))

    @rpc
    def ListEntries(self, request, context):
        return self._read("list", request)

    @rpc
    def SearchEntries(self, request, context):
        return self._read("search", request)

    def _read(self, method: str, request):
        """The reply of a search or a listing, in its turn: its bytes from a reader process when
        one serves, else built here."""
        with self.turns.turn():
            if self.readers is not None:
                reply = self.readers.read(method, request, self.catalog.store.generation)
                if reply is not None:
                    return reply
            _, answer = READS[method]
            return answer(self.catalog, request)
