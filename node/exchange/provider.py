"""The owner's node: the only place that reads a mounted source and decides what leaves it.
It checks the request (granted, the consumer's, still valid, entry live and mounted, the
source covering the granted items, the grant allowing the mode of call), then streams only the
granted data items, in the request's order, only the rows inside the grant's filter, from a
row offset, ending with the row count and the hash of the whole result; personal items leave
masked. Query and Verify (node/exchange/answers.py) open the source through the same checks."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Iterator, Sequence

from node.exchange.allowance import Allowance, Charge, charges
from node.errors import FailedPrecondition, InvalidRequest, NotFound, PermissionDenied
from node.exchange.digest import RowsHash, encode_rows
from node.model.exchange import Grant
from node.exchange.mounts import Mounts, missing_items
from node.exchange.sources import Source, SourceError, SourceRefused
from node.model.exchange import Mount
from node.model.masking import mask
from node.proto import exchange_pb2
from node.model.request import Request, canonical


CHUNK_BYTES = 256 * 1024  # what a chunk aims at; chunks stay far below the 4 MiB message limit
MAX_ROWS = 5000
KEEPALIVE = 2.0  # seconds: an empty chunk while rows before the offset are read, so no hop thinks the stream idle


def check(request: Request | None, request_id: str, consumer_code: str, now: datetime) -> Request:
    """The refusals that the request alone decides, in the order a consumer would want to hear them."""
    if request is None:
        raise NotFound(f"request_id: no request {request_id}")
    if consumer_code != request.consumer_code:
        raise PermissionDenied(f"consumer_code: {consumer_code or '(none)'} is not the consumer of request "
                               f"{request_id}")
    if request.state in ("rejected", "withdrawn"):
        raise FailedPrecondition(request.state, f"request {request_id} was {request.state}: {request.reason}")
    if request.state != "granted":  # on its way: in review, returned, pending, objected to
        raise FailedPrecondition("not_granted", f"request {request_id} is {request.state}, not granted")
    if request.expired(now):
        raise FailedPrecondition("expired", f"the grant of request {request_id} ended on {request.valid_until}")
    return request


def grant_allows(request: Request, mode: str) -> bool:
    """Whether the request's grant allows this mode of call (fetch, query, verify): one the
    request asked for and the owner's decision kept (its quota and rate: node/exchange/allowance.py)."""
    return mode in request.modes


def grant_masks(request: Request, mount: Mount) -> tuple[str, ...]:
    """Per granted item, the masking rule it leaves under ("" for plain): every item the mount
    marks personal leaves masked, unless the owner's decision granted it plain."""
    return tuple("" if item in request.plain else mount.mask_of(item) for item in request.items_out)


def masked_rows(rows, masks: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The rows with each personal value masked by its item's rule."""
    return [tuple(mask(v, m) if m else v for v, m in zip(row, masks)) for row in rows]


class Provider:
    """`grant_refusal` (a secure node's) says why a grant held here must not be served: it is
    served only when this node, its owner, signed it and the signature checks."""

    def __init__(self, store, node_id: str, mounts: Mounts, clock: Callable[[], datetime],
                 grant_refusal: Callable[[Request], str | None] | None = None):
        self.store = store
        self.node_id = node_id
        self.mounts = mounts
        self.clock = clock
        self.grant_refusal = grant_refusal
        self.allowance = Allowance(store, clock)
        # The signature check's answer per signed version (its signed bytes, signature and
        # certificate): a grant is checked once, not at each of the thousands of calls it
        # serves; any other bytes are checked afresh.
        self._checked: dict[tuple[bytes, bytes, bytes], str | None] = {}

    def _grant_refusal(self, request: Request) -> str | None:
        if self.grant_refusal is None:
            return None
        signed = (canonical(request), request.signature, request.signer_cert)
        if signed not in self._checked:
            if len(self._checked) >= 10_000:
                self._checked.clear()
            self._checked[signed] = self.grant_refusal(request)
        return self._checked[signed]

    def open(self, request_id: str, consumer_code: str, offset: int) -> tuple[Request, Grant, Source]:
        """The request, what it lets out, and its source opened; or the refusal."""
        if offset < 0:
            raise InvalidRequest("offset", "must not be negative")
        request, grant, _, source = self.open_for(request_id, consumer_code, "fetch")
        try:
            # A fetch counts one call; its resumption from an offset is the same call, not another.
            self.charge(request, charges(0 if offset else 1))
        except BaseException:
            source.close()
            raise
        return request, grant, source

    def charge(self, request: Request, calls: Sequence[Charge]) -> None:
        """`calls` counted against the grant's quota and rate (once per call id), or refused
        (ResourceExhausted) counting none: taken once a call has passed every other check."""
        self.allowance.take(request, calls)

    def open_for(self, request_id: str, consumer_code: str, mode: str) -> tuple[Request, Grant, Mount, Source]:
        """The request, what it lets out in this mode, its mount and its source opened (covering
        the key items too, for a query or a verification); or the refusal. Nothing is counted
        against the grant here: the caller charges it (`charge`) once the call is answerable."""
        request = check(self.store.get_request(request_id), request_id, consumer_code,
                        self.clock())
        if not grant_allows(request, mode):
            raise PermissionDenied(f"mode: the grant of request {request_id} does not allow {mode} "
                                   f"(it allows {', '.join(request.modes)})")
        code = request.resource_code
        if request.owner_node != self.node_id:
            raise FailedPrecondition("not_owner", f"request {request_id} is for node {request.owner_node}, "
                                                  f"not {self.node_id}")
        why = self._grant_refusal(request)
        if why:
            raise PermissionDenied(f"request_id: the grant of request {request_id} does not check out: {why}")
        entry = self.store.get_entry(code)
        if entry is None or entry.withdrawn:
            raise FailedPrecondition("entry_withdrawn", f"entry {code} was withdrawn")
        mount = self.mounts.get(code, entry)
        if mount is None:
            raise FailedPrecondition("not_mounted", f"entry {code} has no data source mounted at node {self.node_id}")
        try:
            source = self.mounts.open(mount, keyed=mode != "fetch")
            columns = source.columns()
        except SourceRefused as exc:  # the source now leads where its department may not read
            raise FailedPrecondition("source_refused", f"the source of {code} is refused: {exc}") from None
        except SourceError as exc:
            raise FailedPrecondition("source_unreadable", f"the source of {code} cannot be read: {exc}") from None
        wanted = list(request.items_out) + ([request.filter_column] if request.filter_column else [])
        if mode != "fetch":
            wanted += mount.keys
        if columns is None and mode == "fetch":  # an API asked by key cannot list every row
            source.close()
            raise FailedPrecondition("key_only", f"the source of {code} answers by key only (query, verify)")
        missing = [] if columns is None else missing_items(dict.fromkeys(wanted), mount, columns)
        if missing:
            source.close()
            raise FailedPrecondition("source_columns", f"the source of {code} no longer has a column for the data "
                                                       f"items {', '.join(missing)}")
        grant = Grant(request.items_out, tuple(mount.column_of(i) for i in request.items_out),
                      mount.column_of(request.filter_column) if request.filter_column else "", request.filter_prefix,
                      grant_masks(request, mount))
        if mode != "fetch" and not mount.keys:
            source.close()
            raise FailedPrecondition("no_keys", f"the source of {code} is mounted without key items: it "
                                                "answers fetches only")
        return request, grant, mount, source

    def stream(self, grant: Grant, source: Source, offset: int, counted=None) -> Iterator[bytes]:
        """Serialized DataChunks: the header, the rows after `offset`, the tail with the count
        and hash of every row. `counted(rows, bytes)` hears of each chunk sent."""
        digest = RowsHash()
        try:
            expected = source.count(grant.filter_column, grant.filter_prefix)
            yield exchange_pb2.DataChunk(columns=grant.items, expected_rows=expected, offset=offset).SerializeToString()
            per_chunk, last_sent = 500, time.monotonic()
            for batch in source.batches(grant.source_columns, grant.filter_column, grant.filter_prefix):
                if grant.masked:  # before hashing too: the hash is of what the consumer receives
                    batch = masked_rows(batch, grant.masks)
                start = 0
                if digest.rows < offset:  # rows the consumer has: hashed, not sent
                    start = min(len(batch), offset - digest.rows)
                    digest.add_encoded(encode_rows(batch[:start]), start)
                    if time.monotonic() - last_sent > KEEPALIVE:
                        last_sent = time.monotonic()
                        yield b""  # an empty DataChunk
                while start < len(batch):
                    part = batch[start:start + per_chunk]
                    data = encode_rows(part)
                    digest.add_encoded(data, len(part))
                    start += len(part)
                    # Aim each chunk at CHUNK_BYTES whatever the width of a row.
                    per_chunk = max(1, min(MAX_ROWS, len(part) * CHUNK_BYTES // max(1, len(data))))
                    if counted is not None:
                        counted(len(part), len(data))
                    yield data
                    last_sent = time.monotonic()
            if offset > digest.rows:
                raise InvalidRequest("offset", f"{offset} is past the end of the result ({digest.rows} rows)")
            yield exchange_pb2.DataChunk(total_rows=digest.rows, sha256=digest.hexdigest(), last=True).SerializeToString()
        except SourceRefused as exc:
            raise FailedPrecondition("source_refused", f"the source broke off, refused: {exc}") from None
        except SourceError as exc:
            raise FailedPrecondition("source_unreadable", f"the source broke off: {exc}") from None
        finally:
            source.close()
