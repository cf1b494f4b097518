"""The background job that keeps the change log to the configured length."""

from __future__ import annotations

import threading


class Compactor:
    """Keeps the change log to the configured number of changes (0 keeps everything)."""

    def __init__(self, node):
        self.node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="compactor", daemon=True)

    def start(self) -> None:
        if self.node.config.change_log_keep > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.node.config.compact_every):
            try:
                floor = self.node.store.compact(self.node.config.change_log_keep)
                self.node.log.debug("store.compacted", floor=floor)
            except Exception as exc:
                self.node.log.warning("store.compact_failed", error=str(exc))
