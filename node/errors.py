"""Domain errors; the servicer maps each to one gRPC status code."""

from __future__ import annotations

from node.catalog.rules import InvalidEntry


class Invalid(InvalidEntry):
    """A request field breaks a rule (INVALID_ARGUMENT)."""


class NotFound(LookupError):
    pass


class AlreadyExists(Exception):
    pass


class PermissionDenied(Exception):
    pass


class FailedPrecondition(Exception):
    """The call cannot proceed in the current state; `reason` is a short machine-readable word."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class Unavailable(Exception):
    pass
