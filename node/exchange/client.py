"""The consumer's side of a fetch: rows written to a CSV or JSON-lines file as they arrive,
resumed from the rows already in the file after a break (never a duplicate), the stream retried
with backoff while a node on the path is unreachable, and the result's hash checked at the end.
And of a Query or Verify: the call sent with a call id and retried with the same id, so that a
call the owner's node counted before the path broke is answered again, not counted again.

Used by `cascade data fetch`, the harness and the benchmark; it knows only the Exchange API."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import pathlib
import random
import time
import uuid
from typing import Callable, Iterator

import grpc

from node import csvcells
from node.exchange.digest import RowsHash
from node.proto import exchange_pb2, exchange_pb2_grpc

FORMATS = (".csv", ".jsonl")
# A node on the path down or a link broken (UNAVAILABLE), or a stream the consumer's node gave up
# on because the path stalled past limits.idle_stream_seconds (CANCELLED): both resume.
RETRIED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
# A Query or Verify whose answer did not come back: the path broke, or the call's time ran out.
KEYED_RETRIED = RETRIED + (grpc.StatusCode.DEADLINE_EXCEEDED,)


class FetchError(Exception):
    """The fetch cannot go on (a refusal, a file that is not this fetch's, a hash that differs)."""


@dataclasses.dataclass
class Result:
    rows: int = 0  # in the file, from row 0
    received: int = 0  # rows this run received
    bytes: int = 0  # bytes this run received
    sha256: str = ""
    verified: bool = False
    attempts: int = 0
    resumed_from: list[int] = dataclasses.field(default_factory=list)  # the offset of each call


class RowFile:
    """The output file: a header (CSV, no cell a formula: see node.csvcells) and one line per
    row; read back to resume."""

    def __init__(self, path: str | pathlib.Path):
        self.path = pathlib.Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in FORMATS:
            raise FetchError(f"{self.path}: the file must end in .csv or .jsonl")
        self.columns: list[str] = []
        self._out = None
        self._writer = None

    def read_back(self, digest: RowsHash) -> int:
        """Rows already in the file, hashed into `digest`; a last line cut short is dropped."""
        if not self.path.exists():
            return 0
        with open(self.path, "rb+") as raw:  # drop a partial last line (a fetch killed mid-write)
            data_end = raw.seek(0, os.SEEK_END)
            if data_end:
                raw.seek(max(0, data_end - 1))
                if raw.read(1) != b"\n":
                    raw.seek(0)
                    keep = raw.read().rfind(b"\n") + 1
                    raw.truncate(keep)
        with open(self.path, newline="", encoding="utf-8") as handle:
            if self.format == ".csv":
                reader = map(csvcells.restore_row, csv.reader(handle))  # the values as received
                self.columns = next(reader, [])
                return self._hash(reader, digest)
            rows = (self._json_row(line) for line in handle if line.strip())
            return self._hash(rows, digest)

    def _json_row(self, line: str) -> list[str]:
        obj = json.loads(line)
        if not self.columns:
            self.columns = list(obj)
        return [obj.get(c, "") for c in self.columns]

    @staticmethod
    def _hash(rows, digest: RowsHash, batch: int = 2000) -> int:
        part = []
        for row in rows:
            part.append(row)
            if len(part) >= batch:
                digest.add_rows(part)
                part = []
        digest.add_rows(part)
        return digest.rows

    def open(self, columns: list[str]) -> None:
        if self.columns and self.columns != columns:
            raise FetchError(f"{self.path} holds the columns {', '.join(self.columns)}, not this fetch's "
                             f"{', '.join(columns)}: name another file")
        self.close()  # a retry opens the file again
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self.columns = columns
        self._out = open(self.path, "a", newline="", encoding="utf-8")
        if self.format == ".csv":
            self._writer = csvcells.Writer(self._out, lineterminator="\n")
            if fresh:
                self._writer.writerow(columns)

    def write(self, chunk: exchange_pb2.DataChunk) -> None:
        if self.format == ".csv":
            self._writer.writerows(row.values for row in chunk.rows)
        else:
            columns = self.columns
            self._out.writelines(json.dumps(dict(zip(columns, row.values)), ensure_ascii=False) + "\n"
                                 for row in chunk.rows)
        self._out.flush()  # what was received is on disk: a resume counts it

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def fetch_to_file(channel: grpc.Channel, request_id: str, consumer_code: str, out: str | pathlib.Path, *,
                  resume: bool = False, retry_for: float = 120.0, timeout: float | None = None,
                  progress: Callable[[int, int], None] = lambda rows, expected: None,
                  sleep: Callable[[float], None] = time.sleep) -> Result:
    """Fetches the request's data into `out` (.csv or .jsonl). With resume, the rows already in
    the file are kept and the fetch goes on after them. UNAVAILABLE (a node on the path down or
    the stream broken) is retried with backoff, from the rows received, for up to `retry_for`
    seconds without progress. Raises FetchError or the gRPC error that ends it."""
    target = RowFile(out)
    if target.path.exists() and target.path.stat().st_size and not resume:
        raise FetchError(f"{target.path} exists: --resume to go on with it, or name another file")
    digest = RowsHash()
    result = Result()
    result.rows = target.read_back(digest) if resume else 0
    stub = exchange_pb2_grpc.ExchangeStub(channel)
    backoff, stalled_since = 0.2, time.monotonic()
    try:
        while True:
            result.attempts += 1
            result.resumed_from.append(result.rows)
            try:
                for chunk in _chunks(stub, request_id, consumer_code, result.rows, timeout):
                    result.bytes += chunk.ByteSize()
                    if chunk.columns:
                        if chunk.offset != result.rows:
                            raise FetchError(f"asked for the rows after {result.rows}, got a stream from {chunk.offset}")
                        target.open(list(chunk.columns))
                    if chunk.rows:
                        target.write(chunk)
                        digest.add_chunk(chunk)
                        result.rows += len(chunk.rows)
                        result.received += len(chunk.rows)
                        backoff, stalled_since = 0.2, time.monotonic()
                        progress(result.rows, chunk.expected_rows)
                    elif chunk.expected_rows:
                        progress(result.rows, chunk.expected_rows)
                    if chunk.last:
                        result.sha256 = digest.hexdigest()
                        if chunk.total_rows != result.rows or chunk.sha256 != result.sha256:
                            raise FetchError(f"the file holds {result.rows} rows with sha256 {result.sha256}; the "
                                             f"owner's node sent {chunk.total_rows} with {chunk.sha256}")
                        result.verified = True
                        return result
                if time.monotonic() - stalled_since > retry_for:  # cut short without an error: go on as after one
                    raise FetchError("the stream keeps ending before its last chunk")
            except grpc.RpcError as exc:
                if exc.code() not in RETRIED or time.monotonic() - stalled_since > retry_for:
                    raise
            sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 5.0)
    finally:
        target.close()


def _chunks(stub, request_id: str, consumer_code: str, offset: int, timeout: float | None) -> Iterator:
    call = stub.FetchData(exchange_pb2.FetchDataRequest(request_id=request_id, consumer_code=consumer_code,
                                                        offset=offset), timeout=timeout)
    try:
        yield from call
    finally:
        call.cancel()


def new_call_id() -> str:
    return uuid.uuid4().hex


def keyed_call(method: Callable, message, *, retry_for: float = 60.0, timeout: float = 30.0,
               sleep: Callable[[float], None] = time.sleep):
    """`method(message)` (an Exchange stub's Query or Verify), with a call id (one is made if the
    message has none) and retried with that same id, with backoff, for up to `retry_for` seconds
    while the answer does not come back (KEYED_RETRIED): the owner's node counts a call against
    the grant's quota once per id, so a retry is never charged twice. Raises the last error."""
    if not message.call_id:
        message.call_id = new_call_id()
    backoff, started = 0.2, time.monotonic()
    while True:
        try:
            return method(message, timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() not in KEYED_RETRIED or time.monotonic() - started > retry_for:
                raise
        sleep(backoff * (0.5 + random.random()))
        backoff = min(backoff * 2, 5.0)
