"""Conversions between protobuf messages and the node's plain data, in one place: below every
part that speaks protobuf (servicers, the hub's puller and courier, the uplink, the clients),
above the model and the store's row type, and importing none of those parts."""

from __future__ import annotations

import dataclasses
import functools

from datetime import datetime, timedelta, timezone
from sys import intern

import orjson
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from node.errors import InvalidRequest
from node.model.exchange import CallCount, ExchangeRecord, Mount
from node.model.request import MODES, STATES, Event, Request
from node.model.rules import DataItem, DataItems, Entry, EntryFilter, data_items, derived, item_fields
from node.model.sync import Batch, Change, Cursor, PeerState, Slice, Verdict
from node.proto import admin_pb2, cascade_pb2, catalog_pb2, exchange_pb2, sharing_pb2
from node.model.quality import ItemQuality, Quality
from node.store.rows import StoredEntry, quality_from_json
from node.wire.rows import entries_from_rows, rows_json
from node.times import format_time, parse_time


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def timestamp(moment: datetime | None, into: Timestamp | None = None) -> Timestamp | None:
    """The moment as a Timestamp: a new one, or set `into` (a message's field) in place."""
    if moment is None:
        return None
    ts = Timestamp() if into is None else into
    since = moment - EPOCH  # set field by field: FromDatetime costs five times more, FromMicroseconds twice
    ts.seconds, ts.nanos = since.days * 86400 + since.seconds, since.microseconds * 1000
    return ts


def moment(ts: Timestamp, present: bool = True) -> datetime | None:
    if not present:
        return None
    return _moment(ts.seconds, ts.nanos)


@functools.lru_cache(maxsize=4096)  # the entries of a batch share a few moments (a bulk write stamps all alike)
def _moment(seconds: int, nanos: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def _add_items(msg: catalog_pb2.Entry, items: tuple[DataItem, ...]) -> catalog_pb2.Entry:
    add = msg.data_items.add  # a third of the cost of building each DataItem message and extending
    for i in items:
        add(name=i.name, type=i.type, length=i.length, description=i.description, element=i.element, key=i.key,
            personal=i.personal)
    return msg


def _items_message(items: tuple[DataItem, ...]) -> catalog_pb2.Entry:
    """An Entry holding only these data items, kept on a shared list: merged into a message in C,
    cheaper than building each item's message (a snapshot sends the same lists many times)."""
    return _add_items(catalog_pb2.Entry(), items)


def entry_to_proto(entry: Entry, message: catalog_pb2.Entry | None = None) -> catalog_pb2.Entry:
    msg = catalog_pb2.Entry() if message is None else message
    if type(entry.data_items) is DataItems:
        msg.MergeFrom(derived(entry.data_items, "message", _items_message))
    else:
        _add_items(msg, entry.data_items)
    _copy_fields(entry, msg)
    msg.keywords.extend(entry.keywords)
    timestamp(entry.published_at, msg.published_at)  # none: the field stays unset
    timestamp(entry.updated_at, msg.updated_at)
    msg.withdrawn = entry.withdrawn
    if entry.quality is not None:
        quality_to_proto(entry.quality, msg.quality)
    return msg


def quality_to_proto(quality: Quality, msg: catalog_pb2.Quality) -> catalog_pb2.Quality:
    msg.score, msg.rows = quality.score, quality.rows
    timestamp(quality.checked_at, msg.checked_at)
    for i in quality.items:
        msg.items.add(item=i.item, element=i.element, rule=i.rule, failed=i.failed, empty=i.empty)
    return msg


def quality_from_proto(msg: catalog_pb2.Quality) -> Quality:
    return Quality(msg.score, moment(msg.checked_at), msg.rows,
                   tuple(ItemQuality(i.item, i.element, i.rule, i.failed, i.empty) for i in msg.items))


def stored_entry_to_proto(row: StoredEntry, message: catalog_pb2.Entry) -> catalog_pb2.Entry:
    """`entry_to_proto` of an entry as stored, without decoding it into an `Entry` first (the
    source side of a pull sends every entry it reads, and uses none)."""
    # Each data item as its encoded field, merged in C: building the item messages field by
    # field was 60% of encoding a harvester's page of 1,000 (an item recurs across a catalog).
    message.MergeFromString(b"".join([_item_field(*item) for item in orjson.loads(row.data_items)]))
    _copy_fields(row, message)
    if row.quality:
        quality_to_proto(quality_from_json(row.quality), message.quality)
    message.keywords.extend(orjson.loads(row.keywords))
    if row.published_at:
        message.published_at.seconds, message.published_at.nanos = _stamp(row.published_at)
    if row.updated_at:
        message.updated_at.seconds, message.updated_at.nanos = _stamp(row.updated_at)
    message.withdrawn = bool(row.withdrawn)
    return message


@functools.lru_cache(maxsize=65536)  # item names, types and lengths recur across a catalog
def _item_field(name: str, type: str, length: int, description: str, element: str = "", key: bool = False,
                personal: str = "") -> bytes:
    """One stored data item (rules.item_fields' shape) as the encoded data_items field of an Entry."""
    return catalog_pb2.Entry(data_items=[catalog_pb2.DataItem(
        name=name, type=type, length=length, description=description, element=element, key=key,
        personal=personal)]).SerializeToString()


@functools.lru_cache(maxsize=4096)  # a bulk write stamps its entries alike
def _stamp(text: str) -> tuple[int, int]:
    """A stored time as a Timestamp's (seconds, nanos)."""
    since = parse_time(text) - EPOCH
    return since.days * 86400 + since.seconds, since.microseconds * 1000


def _copy_fields(source: Entry | StoredEntry, msg: catalog_pb2.Entry) -> None:
    """The fields an `Entry` and a `StoredEntry` hold alike."""
    msg.resource_code = source.resource_code
    msg.name = source.name
    msg.summary = source.summary
    msg.provider_code = source.provider_code
    msg.provider_name = source.provider_name
    msg.region_code = source.region_code
    msg.category = source.category
    msg.share_type = source.share_type
    msg.share_condition = source.share_condition
    msg.not_shared_basis = source.not_shared_basis
    msg.share_method = source.share_method
    msg.open_type = source.open_type
    msg.update_cycle = source.update_cycle
    msg.source_system = source.source_system
    msg.origin = source.origin
    msg.version = source.version
    msg.derived_from = source.derived_from


def entry_from_proto(msg: catalog_pb2.Entry, *, with_node_fields: bool = True) -> Entry:
    """The domain entry of a message. With with_node_fields=False the fields that only a node
    sets (origin, version, withdrawn, times) are dropped, as for a caller's publish.

    Fields whose values repeat across a catalog (provider, region, the choices) are interned:
    one string each, whichever entry holds it, which also lets a worker process send a batch's
    rows with each such value once (pickle refers back to an object it has sent)."""
    node_fields = {}
    if with_node_fields:
        node_fields = dict(
            published_at=moment(msg.published_at, msg.HasField("published_at")),
            updated_at=moment(msg.updated_at, msg.HasField("updated_at")),
            origin=intern(msg.origin), version=msg.version, withdrawn=msg.withdrawn,
            quality=quality_from_proto(msg.quality) if msg.HasField("quality") else None,
        )
    return Entry(
        resource_code=msg.resource_code, name=msg.name, summary=msg.summary,
        provider_code=intern(msg.provider_code), provider_name=intern(msg.provider_name),
        region_code=intern(msg.region_code), category=intern(msg.category),
        data_items=data_items(tuple(item_fields(i) for i in msg.data_items)),
        share_type=intern(msg.share_type), share_condition=msg.share_condition,
        not_shared_basis=msg.not_shared_basis, share_method=intern(msg.share_method),
        open_type=intern(msg.open_type), update_cycle=intern(msg.update_cycle),
        source_system=intern(msg.source_system), keywords=tuple(msg.keywords), derived_from=msg.derived_from,
        **node_fields,
    )


def entry_to_mapping(entry: Entry) -> dict:
    return json_format.MessageToDict(entry_to_proto(entry), preserving_proto_field_name=True)


def request_to_proto(request: Request, message: sharing_pb2.SharingRequest | None = None, *, overdue: bool = False,
                     at_node: str = "", escalated: bool = False,
                     authority_code: str = "") -> sharing_pb2.SharingRequest:
    msg = sharing_pb2.SharingRequest() if message is None else message
    msg.request_id = request.request_id
    msg.consumer_code = request.consumer_code
    msg.consumer_node = request.consumer_node
    msg.resource_code = request.resource_code
    msg.owner_code = request.owner_code
    msg.owner_node = request.owner_node
    msg.purpose = request.purpose
    msg.basis = request.basis
    msg.data_items.extend(request.data_items)
    msg.share_type = request.share_type
    msg.state = request.state
    msg.reason = request.reason
    msg.version = request.version
    timestamp(request.created_at, msg.created_at)
    timestamp(request.updated_at, msg.updated_at)
    msg.deadline = request.deadline
    msg.overdue = overdue
    msg.escalated = escalated
    msg.authority_code = authority_code
    msg.at_node = at_node
    msg.maker = request.maker
    if request.filter_column:
        msg.row_filter.column, msg.row_filter.prefix = request.filter_column, request.filter_prefix
    msg.valid_until = request.valid_until
    msg.modes.extend(request.modes)
    msg.daily_quota, msg.rate = request.daily_quota, request.rate
    msg.plain.extend(request.plain)
    msg.granted_items.extend(request.granted_items)
    msg.signer, msg.signature, msg.signer_cert = request.signer, request.signature, request.signer_cert
    for event in request.history:
        msg.history.add(version=event.version, state=event.state, actor=event.actor, at=timestamp(event.at),
                        note=event.note, maker=event.maker)
    return msg


def request_from_proto(msg: sharing_pb2.SharingRequest) -> Request:
    """A request copy from another node; InvalidRequest names the first field that cannot be one."""
    if msg.state not in STATES:
        raise InvalidRequest("request.state", f"must be one of {', '.join(STATES)}")
    for field in ("request_id", "consumer_code", "consumer_node", "resource_code", "owner_code"):
        if not getattr(msg, field):
            raise InvalidRequest(f"request.{field}", "is required")
    if msg.version < 1:
        raise InvalidRequest("request.version", "must be at least 1")
    for i, item in enumerate(msg.granted_items):
        if item not in msg.data_items:
            raise InvalidRequest(f"request.granted_items[{i}]", f"{item} is not a data item the request asks for")
    return Request(
        request_id=msg.request_id, consumer_code=msg.consumer_code, consumer_node=msg.consumer_node,
        resource_code=msg.resource_code, owner_code=msg.owner_code, owner_node=msg.owner_node,
        purpose=msg.purpose, basis=msg.basis, data_items=tuple(msg.data_items), share_type=msg.share_type,
        state=msg.state, reason=msg.reason, version=msg.version,
        created_at=moment(msg.created_at), updated_at=moment(msg.updated_at), deadline=msg.deadline,
        history=tuple(Event(e.version, e.state, e.actor, moment(e.at), e.note, e.maker) for e in msg.history),
        filter_column=msg.row_filter.column, filter_prefix=msg.row_filter.prefix, valid_until=msg.valid_until,
        modes=tuple(msg.modes) or MODES, daily_quota=msg.daily_quota, rate=msg.rate, plain=tuple(msg.plain),
        granted_items=tuple(msg.granted_items), signer=msg.signer, signature=msg.signature,
        signer_cert=msg.signer_cert, maker=msg.maker,
    )


# -- the cascade: both sides decode into the same dataclasses -------------------------------------

def cursor_to_proto(cursor: Cursor) -> cascade_pb2.Cursor:
    return cascade_pb2.Cursor(epoch=cursor.epoch, seq=cursor.seq)


def cursor_from_proto(msg: cascade_pb2.Cursor) -> Cursor:
    return Cursor(msg.epoch, msg.seq)


def batch_to_proto(batch: Batch, *, entry_rows: bool = False, changes: bool = True) -> cascade_pb2.ChangeBatch:
    """The batch as sent: its entries as rows when the reader asked for them
    (node/wire/rows.py), its change records unless the reader said it needs none."""
    reply = cascade_pb2.ChangeBatch(next=cursor_to_proto(batch.next), head_seq=batch.head_seq, last=batch.last,
                                    live_entries=batch.live_entries)
    for change in batch.changes if changes else ():
        c = reply.changes.add(seq=change.seq, kind=change.kind, key=change.key, version=change.version, op=change.op)
        timestamp(parse_time(change.at), c.at)
    if entry_rows:
        reply.entry_rows = rows_json(batch.entries)
    else:
        for entry in batch.entries:
            stored_entry_to_proto(entry, reply.entries.add())
    for request in batch.requests:
        request_to_proto(request, reply.requests.add())
    for correction in batch.corrections:
        correction_to_proto(correction, reply.corrections.add())
    return reply


def batch_from_proto(msg: cascade_pb2.ChangeBatch, *, with_changes: bool = True) -> Batch:
    """A peer's batch as the hub applies it. A request copy that cannot be one is set aside in
    `unreadable_requests` with the reason, so that the rest of the batch still applies. With
    with_changes=False the change records are left out: applying a batch needs only its entries,
    requests, corrections and cursor, and each change cost decoding, then pickling back from a
    worker process."""
    requests, unreadable = [], []
    for message in msg.requests:
        try:
            requests.append(request_from_proto(message))
        except InvalidRequest as exc:
            unreadable.append((message.request_id or "?", str(exc)))
    notices = []
    for message in msg.corrections:
        try:
            notices.append(correction_from_proto(message))
        except InvalidRequest as exc:
            unreadable.append((message.correction_id or "?", str(exc)))
    changes = [Change((c.seq, c.kind, c.key, c.version, c.op, format_time(moment(c.at, c.HasField("at")))))
               for c in msg.changes] if with_changes else []
    return Batch(changes, _entries(msg), cursor_from_proto(msg.next), msg.head_seq,
                 msg.last, msg.live_entries, requests, unreadable, corrections=notices)


def _entries(msg: cascade_pb2.ChangeBatch | cascade_pb2.SnapshotBatch) -> list[Entry]:
    """A batch's or slice's entries, sent as rows (by a source that knows them, when asked) or
    as messages (node/wire/rows.py UnreadableRows: rows no message could have carried)."""
    return entries_from_rows(msg.entry_rows) if msg.entry_rows else [entry_from_proto(m) for m in msg.entries]


def slice_to_proto(part: Slice, *, entry_rows: bool = False) -> cascade_pb2.SnapshotBatch:
    reply = cascade_pb2.SnapshotBatch(after_code=part.after_code, range_end=part.range_end, done=part.done,
                                      cursor=cursor_to_proto(part.cursor))
    if entry_rows:
        reply.entry_rows = rows_json(part.entries)
    else:
        for entry in part.entries:
            stored_entry_to_proto(entry, reply.entries.add())
    return reply


def slice_from_proto(msg: cascade_pb2.SnapshotBatch) -> Slice:
    return Slice(_entries(msg), msg.after_code, msg.range_end, msg.done, cursor_from_proto(msg.cursor))


def peer_status_to_proto(state: PeerState) -> admin_pb2.PeerStatus:
    """The operator's view of one peer; its fields are declared once, on PeerState."""
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(PeerState)}
    fields["cursor"] = cursor_to_proto(state.cursor)
    return admin_pb2.PeerStatus(**fields)


def verdict_to_proto(verdict: Verdict, message: admin_pb2.PeerVerdict) -> None:
    message.peer, message.equal, message.error = verdict.peer, verdict.equal, verdict.error
    for field, digest in (("at_peer", verdict.at_peer), ("at_hub", verdict.at_hub)):
        if digest is not None:
            getattr(message, field).CopyFrom(cascade_pb2.Digest(**dataclasses.asdict(digest)))


def score_to_proto(score, message: admin_pb2.ScoreRow) -> None:
    """A scorecard row (node/sharing/scorecard.py `Score`): every field the message declares."""
    for field in message.DESCRIPTOR.fields:
        setattr(message, field.name, getattr(score, field.name))


def entry_filter_from_proto(msg: catalog_pb2.EntryFilter) -> EntryFilter:
    return EntryFilter(
        provider_code=msg.provider_code, region_code=msg.region_code, category=msg.category,
        share_type=msg.share_type, update_cycle=msg.update_cycle,
        updated_since=moment(msg.updated_since, msg.HasField("updated_since")),
        origin=msg.origin, open_type=msg.open_type,
    )


def mount_to_proto(mount: Mount, source_columns: list[str]) -> exchange_pb2.Mount:
    reply = exchange_pb2.Mount(resource_code=mount.resource_code, kind=mount.kind, location=mount.location,
                               table=mount.table, columns=dict(mount.columns), credential=mount.credential,
                               source_columns=source_columns, mounted_by=mount.mounted_by, origin=mount.origin,
                               keys=mount.keys, personal=dict(mount.personal))
    if mount.mounted_at is not None:
        timestamp(mount.mounted_at, reply.mounted_at)
    return reply


def exchange_record_to_proto(record: ExchangeRecord, message: exchange_pb2.ExchangeRecord) -> None:
    for name in ("request_id", "role", "consumer_code", "owner_code", "resource_code", "offset", "rows", "bytes",
                 "sha256", "outcome", "detail"):
        setattr(message, name, getattr(record, name))
    timestamp(record.started, message.started)
    if record.finished is not None:
        timestamp(record.finished, message.finished)


def call_count_to_proto(count: CallCount, message: exchange_pb2.CallCount) -> None:
    for name in ("request_id", "role", "mode", "hour", "calls", "keys", "hits", "not_found", "mismatches", "refusals",
                 "millis"):
        setattr(message, name, getattr(count, name))


# The codecs of the documents beside the catalog and requests, in modules of their own (their
# names are part of this module's surface).
from node.wire.corrections import correction_from_proto, correction_to_proto  # noqa: E402,F401
from node.wire.governance import (duplicate_to_proto, element_from_proto, element_to_proto,  # noqa: E402,F401
                                  registry_from_proto, registry_to_proto)
