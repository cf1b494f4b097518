"""The background job that keeps the change log to the configured length."""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.background import BackgroundLoop

if TYPE_CHECKING:
    from node.store import Store


class Compactor(BackgroundLoop):
    """Keeps the change log to the newest `keep` changes, every `every` seconds (keep 0: all)."""

    def __init__(self, store: "Store", keep: int, every: float, log):
        self.store = store
        self.keep = keep
        self.every = every
        self.log = log
        super().__init__("compactor")

    def enabled(self) -> bool:
        return self.keep > 0

    def run(self) -> None:
        while not self.stopping.wait(self.every):
            try:
                floor = self.store.compact(self.keep)
                self.log.debug("store.compacted", floor=floor)
            except Exception as exc:
                self.log.warning("store.compact_failed", error=str(exc))
