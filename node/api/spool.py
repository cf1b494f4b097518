"""The messages of a bulk publish, kept in an unnamed temporary file while the client streams
them, and read back one by one for the write: a call holds no more of them in memory than the
writer is working on, however many megabytes the client sends."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

_LENGTH = 8  # bytes of the length before each message


class Spool:
    """Messages appended as they arrive, each with a count of what it holds; `close()` deletes the
    file (it has no name on disk, so a node killed mid-call leaves nothing behind either)."""

    def __init__(self, directory: str | None = None):
        self._file = tempfile.TemporaryFile(dir=directory)  # created owner-only
        self.messages = 0

    def add(self, message: bytes, items: int) -> None:
        self._file.write(len(message).to_bytes(_LENGTH, "little") + items.to_bytes(_LENGTH, "little"))
        self._file.write(message)
        self.messages += 1

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        """(message, items) in the order they were added."""
        return self.read()

    def read(self, skip: int = 0) -> Iterator[tuple[bytes, int]]:
        """(message, items) in the order they were added, after the first `skip` (not read)."""
        self._file.flush()
        self._file.seek(0)
        for place in range(self.messages):
            head = self._file.read(2 * _LENGTH)
            size, items = int.from_bytes(head[:_LENGTH], "little"), int.from_bytes(head[_LENGTH:], "little")
            if place < skip:
                self._file.seek(size, 1)
                continue
            yield self._file.read(size), items

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
