"""The replies of searches and listings, made the same way in the node's process and in its reader
processes (node/api/readers.py)."""

from __future__ import annotations

from collections.abc import Callable

from node import wire
from node.catalog.publishing import Catalog
from node.proto import catalog_pb2
from node.store import StoredEntry


def list_reply(catalog: Catalog, request: catalog_pb2.ListEntriesRequest) -> catalog_pb2.ListEntriesResponse:
    where = wire.entry_filter_from_proto(request.filter)
    # The rows are encoded as stored, not decoded into entries first: a harvester's page of
    # 1,000 cost a third less (the open-data API pages through the whole catalog so).
    entries, token = catalog.list(where, request.page_size, request.page_token, StoredEntry._make)
    reply = catalog_pb2.ListEntriesResponse(next_page_token=token)
    if request.with_total:
        reply.total, reply.total_is_lower_bound = catalog.count(where)
    if request.with_facets:
        _add_facets(reply, catalog.facets("", where))
    for entry in entries:
        wire.stored_entry_to_proto(entry, reply.entries.add())
    return reply


def search_reply(catalog: Catalog, request: catalog_pb2.SearchEntriesRequest) -> catalog_pb2.SearchEntriesResponse:
    where = wire.entry_filter_from_proto(request.filter)
    found, token = catalog.search(request.query, where, request.page_size, request.page_token, StoredEntry._make)
    reply = catalog_pb2.SearchEntriesResponse(next_page_token=token, total=found.total,
                                              total_is_lower_bound=found.total_is_lower_bound)
    if request.with_facets:
        _add_facets(reply, catalog.facets(request.query, where))
    for entry in found.entries:
        wire.stored_entry_to_proto(entry, reply.entries.add())
    return reply


# The reads a reader process answers (node/api/readers.py): each one's request and its reply.
READS: dict[str, tuple[type, Callable]] = {
    "list": (catalog_pb2.ListEntriesRequest, list_reply),
    "search": (catalog_pb2.SearchEntriesRequest, search_reply),
}


def _add_facets(reply, counted: list[tuple[str, str, int, bool]]) -> None:
    for field, value, count, lower in counted:
        reply.facets.add(field=field, value=value, count=count, count_is_lower_bound=lower)
