"""The hash of a result's rows, computed the same way where the rows leave (the owner's node)
and where they arrive (the consumer): SHA-256 over every row from row 0, each row encoded as
in DataChunk.rows (0x12, varint length, the Row message). A chunk holding only rows serializes
to exactly that, so the owner hashes the bytes it sends and the consumer re-serializes what it
received; neither touches a row in Python to hash it."""

from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

from node.proto import exchange_pb2


class RowsHash:
    def __init__(self):
        self._hash = hashlib.sha256()
        self.rows = 0

    def add_encoded(self, rows_only: bytes, count: int) -> None:
        """The serialization of a DataChunk holding only `count` rows."""
        self._hash.update(rows_only)
        self.rows += count

    def add_chunk(self, chunk: exchange_pb2.DataChunk) -> None:
        """A received chunk's rows (its other fields left out)."""
        if chunk.rows:
            self.add_encoded(exchange_pb2.DataChunk(rows=chunk.rows).SerializeToString(), len(chunk.rows))

    def add_rows(self, rows: Iterable[Sequence[str]]) -> None:
        """Rows as lists of strings (a file read back to resume)."""
        rows = list(rows)
        if rows:
            self.add_encoded(encode_rows(rows), len(rows))

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def encode_rows(rows: Iterable[Sequence[str]]) -> bytes:
    """The serialization of a DataChunk holding only these rows."""
    chunk = exchange_pb2.DataChunk()
    add = chunk.rows.add
    for values in rows:
        add(values=values)
    return chunk.SerializeToString()
