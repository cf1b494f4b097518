"""Department bearer tokens: issued once, stored only as a hash, checked on every call that names a department.

A token reads `cct_<id>_<secret>`: `id` is 8 hex digits, the key to its row; `secret` is 32
random bytes, urlsafe base64 without padding. The node keeps sha256(secret), never the secret.

A department token carries the department's 9-digit code and some of `publish`, `request`,
`decide`, `read`, and, for the node's data authority, `review`, `coordinate`, `compile`. An operator token carries the empty department code and the `operator` scope
alone: the two never mix, so a leaked department token cannot administer the node and an
operator token cannot act in a department's name.

The functions take the node's `sqlite3.Connection` and leave transactions to the caller.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone

from node.times import format_time, parse_time

SCOPES = frozenset({"publish", "request", "decide", "read", "operator", "review", "coordinate", "compile"})
DEPARTMENT_SCOPES = frozenset({"publish", "request", "decide", "read"})
# What a node's data authority (数据主管部门) does beside a department's work: review the requests its
# node's departments file, coordinate objections, compile the catalog. A department's token may carry
# them; only the data authority's own are honoured, which the domain checks at use.
AUTHORITY_SCOPES = frozenset({"review", "coordinate", "compile"})
OPERATOR_SCOPES = frozenset({"operator"})
OPERATOR = ""  # the department code of an operator token
DEPARTMENT_CODE = re.compile(r"[0-9]{9}")  # not \d, which also takes other scripts' digits
TOKEN = re.compile(r"cct_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")  # always fullmatch: `$` lets a newline through

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    department_code TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    note TEXT NOT NULL DEFAULT ''
)
"""


class InvalidToken(Exception):
    """A presented token is refused (UNAUTHENTICATED); `reason` is malformed, unknown, revoked or expired."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class TokenInfo:
    token_id: str
    department_code: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    note: str = ""

    @property
    def is_operator(self) -> bool:
        return self.department_code == OPERATOR


def create_tables(conn: sqlite3.Connection) -> None:
    conn.execute(SCHEMA)


def issue(conn: sqlite3.Connection, department_code: str, scopes: Iterable[str] = DEPARTMENT_SCOPES,
          expires_days: float | None = None, now: datetime | None = None, note: str = "") -> tuple[str, TokenInfo]:
    """Store a new token; return the token string (shown once, never stored) and what it grants."""
    scopes = frozenset(scopes)
    _check_grant(department_code, scopes)
    if expires_days is not None and expires_days <= 0:
        raise ValueError(f"expires_days must be positive, not {expires_days}")
    now = now or _now()
    while True:
        token_id = secrets.token_hex(4)
        # 32 bits of id collide now and then in a large federation; the secret, not the id, is what protects.
        if conn.execute("SELECT 1 FROM tokens WHERE token_id = ?", (token_id,)).fetchone() is None:
            break
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    info = TokenInfo(token_id, department_code, scopes, created_at=now,
                     expires_at=now + timedelta(days=expires_days) if expires_days is not None else None, note=note)
    conn.execute(
        "INSERT INTO tokens (token_id, department_code, scopes, secret_hash, created_at, expires_at, revoked_at, note)"
        " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        (token_id, department_code, " ".join(sorted(scopes)), _hash(secret), format_time(info.created_at),
         format_time(info.expires_at), note))
    return f"cct_{token_id}_{secret}", info


def list_tokens(conn: sqlite3.Connection) -> list[TokenInfo]:
    """Every token ever issued, revoked and expired ones included, oldest first."""
    rows = conn.execute(
        "SELECT token_id, department_code, scopes, created_at, expires_at, revoked_at, note FROM tokens"
        " ORDER BY created_at, token_id")
    return [_info(row) for row in rows]


def revoke(conn: sqlite3.Connection, token_id: str, now: datetime | None = None) -> bool:
    """Revoke a token by id; False when there is no such token or it was already revoked."""
    cursor = conn.execute("UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                          (format_time(now or _now()), token_id))
    return cursor.rowcount == 1


def check(conn: sqlite3.Connection, token: str, now: datetime | None = None) -> TokenInfo:
    """What a presented token grants; raises InvalidToken when it grants nothing."""
    match = TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise InvalidToken("malformed")
    token_id, secret = match.groups()
    row = conn.execute(
        "SELECT token_id, department_code, scopes, created_at, expires_at, revoked_at, note, secret_hash"
        " FROM tokens WHERE token_id = ?", (token_id,)).fetchone()
    # A wrong secret reads as "unknown" too: a caller without the secret learns nothing about the id.
    if row is None or not hmac.compare_digest(row[7], _hash(secret)):
        raise InvalidToken("unknown")
    info = _info(row[:7])
    if info.revoked_at is not None:
        raise InvalidToken("revoked")
    if info.expires_at is not None and info.expires_at <= (now or _now()):
        raise InvalidToken("expired")
    return info


class TokenCache:
    """check() results kept for a few seconds, so a busy node does not read SQLite on every call.

    A revocation takes effect within `ttl` seconds (at once in this process after `clear()`);
    an expiry takes effect on time, since it is checked again on every hit.
    """

    def __init__(self, check: Callable[[str], TokenInfo], ttl: float = 2.0, *, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self._check = check
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._results: dict[str, tuple[float, TokenInfo | InvalidToken]] = {}

    def check(self, token: str) -> TokenInfo:
        moment = self._clock()
        with self._lock:
            cached = self._results.get(token)
        if cached is not None and moment - cached[0] < self.ttl:
            result = cached[1]
        else:
            # Outside the lock: two threads may both read a token, which is cheaper than queueing every call.
            try:
                result = self._check(token)
            except InvalidToken as refusal:
                result = refusal  # remembered too, so a client retrying a bad token does not reach SQLite each time
            self._remember(token, moment, result)
        if isinstance(result, InvalidToken):
            raise InvalidToken(result.reason)
        if result.expires_at is not None and result.expires_at <= _now():
            raise InvalidToken("expired")
        return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()

    def _remember(self, token: str, moment: float, result: TokenInfo | InvalidToken) -> None:
        with self._lock:
            if len(self._results) >= self.max_entries:
                self._results = {key: value for key, value in self._results.items() if moment - value[0] < self.ttl}
                if len(self._results) >= self.max_entries:  # a flood of distinct tokens: start over
                    self._results.clear()
            self._results[token] = (moment, result)


def _check_grant(department_code: str, scopes: frozenset[str]) -> None:
    unknown = scopes - SCOPES
    if unknown:
        raise ValueError(f"unknown scopes {sorted(unknown)}; the scopes are {sorted(SCOPES)}")
    if not scopes:
        raise ValueError("a token needs at least one scope")
    if department_code == OPERATOR:
        if scopes != OPERATOR_SCOPES:
            raise ValueError("an operator token (empty department code) carries the operator scope alone")
    elif not isinstance(department_code, str) or not DEPARTMENT_CODE.fullmatch(department_code):
        raise ValueError(f"department code {department_code!r} must be 9 digits (or empty for an operator token)")
    elif "operator" in scopes:
        raise ValueError("the operator scope belongs to operator tokens (empty department code), not to a department")


def _hash(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough: there is no dictionary to guess
    # from, and a slow password hash would only cost the node time on every call.
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _info(row) -> TokenInfo:
    token_id, department_code, scopes, created_at, expires_at, revoked_at, note = row
    return TokenInfo(token_id, department_code, frozenset(scopes.split()), parse_time(created_at),
                     parse_time(expires_at), parse_time(revoked_at), note)


def _now() -> datetime:
    return datetime.now(timezone.utc)
