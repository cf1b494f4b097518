"""The idle watchdog: a stream that neither sends nor takes a message for
`limits.idle_stream_seconds` is cancelled, which frees its thread of the server's pool."""

from __future__ import annotations

import itertools
import threading
import time

from node.api.interceptors.interceptor import Interceptor
from node.background import BackgroundLoop


class IdleWatchdog(BackgroundLoop):
    """Cancels streams that have neither sent nor taken a message for `idle` seconds."""

    def __init__(self, idle: float, log):
        self.idle = idle
        self.log = log
        self._streams: dict[int, list] = {}  # id -> [context, last activity]
        self._ids = itertools.count()
        self._lock = threading.Lock()
        super().__init__("idle-watchdog")

    def watch(self, context) -> int:
        with self._lock:
            stream = next(self._ids)
            self._streams[stream] = [context, time.monotonic()]
            return stream

    def touch(self, stream: int | None) -> None:
        entry = self._streams.get(stream)
        if entry is not None:
            entry[1] = time.monotonic()

    def forget(self, stream: int | None) -> None:
        with self._lock:
            self._streams.pop(stream, None)

    def run(self) -> None:
        while not self.stopping.wait(min(1.0, self.idle / 4)):
            now = time.monotonic()
            with self._lock:
                idle = [(stream, entry[0]) for stream, entry in self._streams.items() if now - entry[1] > self.idle]
                for stream, _ in idle:
                    del self._streams[stream]
            for stream, context in idle:
                self.log.info("api.stream_idle_cancelled", idle_seconds=self.idle, peer=context.peer())
                context.cancel()  # unblocks the handler's read or write; its thread is free again


class IdleStreams(Interceptor):
    """Shows the watchdog every stream, and each message it takes or sends; a unary call waits on
    no caller once its request is in, so it is not watched."""

    def __init__(self, watchdog: IdleWatchdog):
        super().__init__()
        self.watchdog = watchdog

    def wrap(self, method: str, behaviour, *, streams_in: bool, streams_out: bool):
        watchdog = self.watchdog
        if streams_out:
            def watched_stream(request, context):
                # A generator: the watch lasts as long as the stream does.
                stream = watchdog.watch(context)
                try:
                    if streams_in:
                        request = self._touching(request, stream)
                    for reply in behaviour(request, context):
                        yield reply
                        watchdog.touch(stream)
                finally:
                    watchdog.forget(stream)
            return watched_stream
        if not streams_in:
            return behaviour

        def watched(request, context):
            stream = watchdog.watch(context)
            try:
                return behaviour(self._touching(request, stream, forget_at_end=True), context)
            finally:
                watchdog.forget(stream)
        return watched

    def _touching(self, messages, stream: int, forget_at_end: bool = False):
        for message in messages:
            self.watchdog.touch(stream)
            yield message
        if forget_at_end:
            # Every message is in: the call now waits on no caller, as a unary one does (a bulk
            # publish writes after its last message, and was cancelled when that took long).
            self.watchdog.forget(stream)
