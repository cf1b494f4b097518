"""The background job that keeps the change log to the configured length."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from node.store import Store


class Compactor:
    """Keeps the change log to the newest `keep` changes, every `every` seconds (keep 0: all)."""

    def __init__(self, store: "Store", keep: int, every: float, log):
        self.store = store
        self.keep = keep
        self.every = every
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="compactor", daemon=True)

    def start(self) -> None:
        if self.keep > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                floor = self.store.compact(self.keep)
                self.log.debug("store.compacted", floor=floor)
            except Exception as exc:
                self.log.warning("store.compact_failed", error=str(exc))
