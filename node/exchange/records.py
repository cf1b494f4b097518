"""The record of every exchange, kept at each node it passes (consumer, hub, owner): what went
through (rows, bytes, the result's hash) and how it ended, written when the stream ends or
breaks."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterator

from node.model.exchange import ExchangeRecord
from node.proto import exchange_pb2


class Recorder:
    """Counts a stream of serialized chunks as it passes and stores the record at the end."""

    def __init__(self, store, record: ExchangeRecord, clock: Callable[[], datetime], log):
        self.store, self.record, self.clock, self.log = store, record, clock, log

    def passing(self, chunks: Iterator[bytes], *, count_rows: bool = True) -> Iterator[bytes]:
        """Yields the chunks on, counting them (rows by parsing, unless the producer counts them
        itself through `rows()`); the record is stored however the stream ends."""
        record = self.record
        try:
            for data in chunks:
                record.bytes += len(data)
                if count_rows and data:
                    chunk = exchange_pb2.DataChunk.FromString(data)
                    record.rows += len(chunk.rows)
                    if chunk.last:
                        record.sha256 = chunk.sha256
                yield data
            record.outcome = "ok"
        except GeneratorExit:
            record.outcome, record.detail = "cancelled", "the caller went away"
            raise
        except Exception as exc:
            record.outcome, record.detail = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.store_record()

    def refused(self, exc: Exception) -> None:
        self.record.outcome, self.record.detail = "refused", f"{type(exc).__name__}: {exc}"
        self.store_record()

    def store_record(self) -> None:
        record = self.record
        record.finished = self.clock()
        try:
            with self.store.transaction() as tx:
                tx.add_exchange(record)
        except Exception as failure:  # the store is closing: the exchange itself is over anyway
            self.log.warning("exchange.record_failed", request_id=record.request_id, error=str(failure))
            return
        self.log.info("exchange.recorded", request_id=record.request_id, role=record.role, rows=record.rows,
                      bytes=record.bytes, offset=record.offset, outcome=record.outcome, detail=record.detail)
