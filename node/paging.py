"""Page sizes and page tokens, checked the same way by every listing call."""

from __future__ import annotations

import re

from node.errors import Invalid

DEFAULT_PAGE = 50
MAX_OFFSET = 1_000_000
_TOKEN = re.compile(r"^\d{1,18}$")


def page_size(requested: int, maximum: int) -> int:
    """0 asks for the default; anything else must lie in 1..maximum."""
    if requested == 0:
        return min(DEFAULT_PAGE, maximum)
    if not 1 <= requested <= maximum:
        raise Invalid("page_size", f"must be from 1 to {maximum}")
    return requested


def token_number(token: str, default: int, limit: int | None = None) -> int:
    """The number a page token holds (a position or an offset); `default` for no token."""
    if not token:
        return default
    if not _TOKEN.match(token) or (limit is not None and int(token) > limit):
        raise Invalid("page_token", "is not a token this node handed out")
    return int(token)
