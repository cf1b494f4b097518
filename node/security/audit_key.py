"""The node's audit key: the secret under which the audit trail hashes what it must not hold,
the keys of Query and Verify calls (ID numbers, credit codes; personal data). A plain hash of
an ID number is no secret: there are few enough of them (about 10^11 with the check character
fixed) to hash them all and look each hash up. Under an HMAC with a secret only the node has,
the hash still tells an auditor which calls asked the same key, and no longer which key.

The secret is 32 random bytes in a file beside the node's database (`<database>.audit-key`,
owner-only), made by `cascade node init`, or by the node when it starts without one. It is not
in the database, so a copy of the database (`cascade node backup`, an export of the trail)
does not carry it; beside the database it is one of the node's own files, which no department's
source may read (node/exchange/access.py). Lose it and the hashes after are not comparable
with those before; that is all."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from typing import Mapping

SUFFIX = ".audit-key"
SIZE = 32
FILE_MODE = 0o600


class AuditKeyError(ValueError):
    """The audit key file is there but is not a key: the node does not start on it."""


def key_file(database: str | os.PathLike) -> str:
    return f"{os.fspath(database)}{SUFFIX}"


def load_or_create(database: str | os.PathLike) -> tuple[bytes, bool]:
    """The node's audit key and whether it was made now; an in-memory database gets a key of
    its own lifetime. A file that holds anything but SIZE bytes is refused (AuditKeyError): a
    truncated key would silently change every hash."""
    if os.fspath(database) == ":memory:":
        return secrets.token_bytes(SIZE), True
    path = key_file(database)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        with open(path, "rb") as held:
            secret = held.read()
        if len(secret) != SIZE:
            raise AuditKeyError(f"{path}: the node's audit key must be {SIZE} bytes (it has {len(secret)}); "
                             "restore it, or remove it to start a new one") from None
        return secret, False
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(SIZE))
        out.flush()
        os.fsync(out.fileno())
    with open(path, "rb") as held:
        return held.read(), True


def key_hash(secret: bytes, request_id: str, key: Mapping[str, str]) -> str:
    """What the audit trail keeps of a key asked under a request: HMAC-SHA-256 under the node's
    audit key of the JSON text `[request_id, [[item, value], ...]]` (items sorted, no spaces, not
    ASCII-escaped), 16 hex digits. A node hashes with one KeyHasher; this is for one hash."""
    return KeyHasher(secret)(request_id, key)


class KeyHasher:
    """key_hash under one secret, as the owner's node takes it for every key of every call: the
    HMAC's keyed state is made once and copied, and the JSON text is put together from the string
    encoder json.dumps uses (the items are strings), without building the list it would encode."""

    def __init__(self, secret: bytes):
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)

    def __call__(self, request_id: str, key: Mapping[str, str]) -> str:
        items = ",".join(f"[{_string(item)},{_string(value)}]" for item, value in sorted(key.items()))
        mac = self._keyed.copy()
        mac.update(f"[{_string(request_id)},[{items}]]".encode())
        return mac.hexdigest()[:16]


_string = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) writes for a str
