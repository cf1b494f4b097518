"""What the store keeps in memory until the next commit: values read at a commit count
(`Database.generation`, read before the read began, so that a commit in between leaves a value
stale rather than wrong), handed out again while no commit has followed. The requests Query and
Verify read at every call (node/store/requests.py) and the name tiers of small queries
(node/store/tiers.py) are kept so."""

from __future__ import annotations

import collections
import threading
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class UntilCommit(Generic[V]):
    """Up to `most` values by key, the ones asked for least recently dropped first."""

    def __init__(self, most: int):
        self.most = most
        self._kept: collections.OrderedDict[Hashable, tuple[int, V]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, generation: int, read: Callable[[], V]) -> V:
        """The value kept for `key` if it was read at `generation`, else read() kept at it."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None and found[0] == generation:
                self._kept.move_to_end(key)
                return found[1]
        value = read()
        with self._lock:
            self._kept[key] = (generation, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.most:
                self._kept.popitem(last=False)
        return value
