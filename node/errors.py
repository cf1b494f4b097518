"""Domain errors: one base for bad input with a subclass per thing, and one class per other kind
of refusal. node/api/status_codes.py maps each to one gRPC status code; nothing else does. The
one exception is `Passed`, a status decided elsewhere, which carries its own code."""

from __future__ import annotations


class Invalid(ValueError):
    """Bad input (INVALID_ARGUMENT): `field` names the field, as a path such as
    `entries[3].data_items[0].name`, and `rule` the rule it breaks."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class InvalidEntry(Invalid):
    """A catalog entry breaks a rule of docs/domain.md."""


class InvalidRequest(Invalid):
    """A sharing request, or a copy of one from another node, breaks a rule."""


class ConfigError(Invalid):
    """A config or compose file breaks a rule: the message names the file, the key path and the rule."""

    def __init__(self, file: str, key: str, rule: str):
        super().__init__(key, rule)
        self.args = (f"{file}: {key}: {rule}",)
        self.file, self.key = file, key

    def __str__(self) -> str:
        return self.args[0]


class NotFound(LookupError):
    pass


class AlreadyExists(Exception):
    pass


class Unauthenticated(Exception):
    """No valid identity came with the call."""


class PermissionDenied(Exception):
    """The caller's identity may not do this."""


class ResourceExhausted(Exception):
    """The caller has too many calls under way."""


class FailedPrecondition(Exception):
    """The call cannot proceed in the current state; `reason` is a short machine-readable word."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class Unavailable(Exception):
    pass


class Passed(Exception):
    """A status decided elsewhere, passed on to the caller as it was: the next node's on a relayed
    call (node/exchange/relay.py `Upstream`), a reader process's (node/api/readers.py). `code` is
    the gRPC status code it came with."""

    def __init__(self, code, details: str):
        super().__init__(details)
        self.code, self.details = code, details
