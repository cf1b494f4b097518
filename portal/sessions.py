"""The portal's sessions, kept on the server: the cookie holds only a random session id, and what
a signed-in department's session holds (its code, its node, its bearer token) never leaves the
portal process. A session ends when it has been idle too long, when it reaches its absolute
age, or at sign-out, which deletes it here, so an old cookie opens nothing.

Sessions live in this process's memory: restarting the portal signs everybody out, and several
portal processes behind one address would each know only their own (put them behind a load
balancer that keeps a browser on one process, or run one).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable
from http.cookies import SimpleCookie

COOKIE = "portal"
IDLE_SECONDS = 30 * 60
MAX_SECONDS = 8 * 3600
MAX_SESSIONS = 100_000  # past this, the least recently used are dropped: a flood of new visitors cannot fill memory


class Session(dict):
    """What a view reads and writes as `request.session`; `renew()` asks for a new id (at sign-in,
    so that an id planted before it is worth nothing after)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.renewed = False

    def renew(self) -> None:
        self.renewed = True


@dataclasses.dataclass
class _Held:
    values: dict
    created: float
    seen: float


class SessionStore:
    """Session id -> values, with idle and absolute expiry; safe to use from the server's threads."""

    def __init__(self, *, idle_seconds: float = IDLE_SECONDS, max_seconds: float = MAX_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.clock = clock
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def load(self, session_id: str) -> dict | None:
        """The values of a live session (and it is seen now), or None: unknown, ended or expired."""
        now = self.clock()
        with self._lock:
            held = self._held.get(session_id)
            if held is None:
                return None
            if now - held.seen >= self.idle_seconds or now - held.created >= self.max_seconds:
                del self._held[session_id]
                return None
            held.seen = now
            # Most recently seen last, so that trimming drops the stalest first.
            self._held[session_id] = self._held.pop(session_id)
            return dict(held.values)

    def save(self, session_id: str, values: dict) -> None:
        """Keep `values` under an id that load() found live (its age runs on)."""
        with self._lock:
            held = self._held.get(session_id)
            if held is not None:
                held.values = dict(values)

    def create(self, values: dict) -> str:
        """A new session holding `values`; its id, for the cookie."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            while len(self._held) >= MAX_SESSIONS:
                del self._held[next(iter(self._held))]
            self._held[session_id] = _Held(dict(values), now, now)
        return session_id

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._held.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._held)


class ServerSessions:
    """ASGI middleware: `scope["session"]` is the request's Session, loaded by the id in the
    cookie and stored back after the view; the cookie is HttpOnly, SameSite and, when the
    portal is served over HTTPS (`https_only`), Secure."""

    def __init__(self, app, store: SessionStore, *, https_only: bool = False, same_site: str = "lax"):
        self.app = app
        self.store = store
        self.https_only = https_only
        self.same_site = same_site

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        session_id = _cookie(scope, COOKIE)
        values = self.store.load(session_id) if session_id else None
        if values is None:
            session_id = ""
        session = scope["session"] = Session(values or {})
        before = dict(session)

        async def sending(message):
            if message["type"] == "http.response.start":
                header = self._settle(session_id, session, before)
                if header is not None:
                    message = dict(message, headers=[*message.get("headers", []), (b"set-cookie", header)])
            await send(message)

        await self.app(scope, receive, sending)

    def _settle(self, session_id: str, session: Session, before: dict) -> bytes | None:
        """Store what the view left in the session; the Set-Cookie header that follows, if any."""
        if not session:
            if session_id:  # signed out (or emptied): the old id is dead here, and the browser forgets it
                self.store.delete(session_id)
                return self._cookie_header("", max_age=0)
            return None
        if session_id and not session.renewed:
            if dict(session) != before:
                self.store.save(session_id, session)
            return None
        if session_id:
            self.store.delete(session_id)
        return self._cookie_header(self.store.create(session))

    def _cookie_header(self, value: str, *, max_age: int | None = None) -> bytes:
        # No Max-Age on a live session: the browser drops it when it closes; the server ends it
        # sooner or later anyway (idle and absolute expiry).
        parts = [f"{COOKIE}={value}", "path=/", "httponly", f"samesite={self.same_site}"]
        if max_age is not None:
            parts.append(f"max-age={max_age}")
        if self.https_only:
            parts.append("secure")
        return "; ".join(parts).encode("latin-1")


def _cookie(scope, name: str) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is a visitor without a session
                return ""
            if name in jar:
                return jar[name].value
    return ""
