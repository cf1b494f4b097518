"""A background job: a loop on its own thread that waits on events, never sleeps, and ends when
stop() is called (the role's jobs and the guard's watchdog are such loops)."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """Subclasses write `run()`, waiting on `self.stopping` (or on their own event, which
    `wake()` sets) and returning once `self.stopping` is set."""

    def __init__(self, name: str):
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)

    def enabled(self) -> bool:
        """Whether the loop has anything to do; a disabled loop never starts."""
        return True

    def start(self) -> None:
        if self.enabled():
            self._thread.start()

    def wake(self) -> None:
        """Cuts a wait short (subclasses with an event of their own set it here)."""

    def stop(self) -> None:
        self.stopping.set()
        self.wake()
        if self._thread.is_alive():
            self._thread.join()

    def run(self) -> None:
        raise NotImplementedError
