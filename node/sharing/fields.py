"""The rules on what a department types into a sharing request's steps: free text (purpose,
basis, reasons), the modes of call, and the scope of a grant (the owner's decision and the
coordinator's share the same rules)."""

from __future__ import annotations

import dataclasses
from datetime import date

from node.errors import InvalidRequest
from node.model.request import MODES, Request

MAX_TEXT = 500


def text(value: str, field: str) -> None:
    if not value.strip():
        raise InvalidRequest(field, "must not be blank")
    if len(value) > MAX_TEXT:
        raise InvalidRequest(field, f"must be at most {MAX_TEXT} characters")


def reason(value: str, required: str = "") -> None:
    """A step's reason: at most MAX_TEXT characters, and not blank when `required` (the rule said)."""
    if required and not value.strip():
        raise InvalidRequest("reason", required)
    if len(value) > MAX_TEXT:
        raise InvalidRequest("reason", f"must be at most {MAX_TEXT} characters")


def modes(named: list[str], field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The modes named, in the order of MODES; each must be one of `allowed` (at filing, every mode;
    at the owner's decision, the modes the request asks for: a grant narrows, never widens)."""
    for i, mode in enumerate(named):
        if mode not in allowed:
            rule = (f"must be one of {', '.join(MODES)}" if allowed == MODES else
                    f"was not asked for: a grant only narrows the modes the request asks for ({', '.join(allowed)})")
            raise InvalidRequest(f"{field}[{i}]", f"{mode!r} {rule}")
    if len(set(named)) != len(named):
        raise InvalidRequest(field, "must not name a mode twice")
    return tuple(m for m in MODES if m in named)


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a grant lets out (docs/exchange.md): rows whose column starts with a prefix, a last
    day, the modes of call, a daily quota and a rate (0: no limit), the personal items let out
    plain (the others leave masked), and the items let out (none named: every item asked for)."""

    row_filter: tuple[str, str] = ("", "")
    valid_until: str = ""
    modes: tuple[str, ...] = ()
    daily_quota: int = 0
    rate: int = 0
    plain: tuple[str, ...] = ()
    items: tuple[str, ...] = ()

    def named(self) -> list[str]:
        return [name for name, value in (("row_filter", any(self.row_filter)), ("valid_until", self.valid_until),
                                         ("modes", self.modes), ("daily_quota", self.daily_quota),
                                         ("rate", self.rate), ("plain", self.plain), ("items", self.items))
                if value]

    def check(self, today: date) -> None:
        """The rules the scope meets alone (the request's own: `applied`)."""
        for name, value in (("daily_quota", self.daily_quota), ("rate", self.rate)):
            if value < 0:
                raise InvalidRequest(name, "must not be negative (0 is no limit)")
        if self.valid_until:
            try:
                last_day = date.fromisoformat(self.valid_until)
            except ValueError:
                raise InvalidRequest("valid_until", "must be a date YYYY-MM-DD") from None
            if last_day < today:
                raise InvalidRequest("valid_until", f"{self.valid_until} has already passed")

    def applied(self, request: Request) -> Request:
        """The request's version with this scope: the filter on an item it asks for, the modes among those asked."""
        column, prefix = self.row_filter
        if column or prefix:
            if column not in request.data_items:
                raise InvalidRequest("row_filter.column", f"must be a data item the request asks for "
                                                          f"({', '.join(request.data_items)})")
            text(prefix, "row_filter.prefix")
        granted = modes(list(self.modes), "modes", request.modes) if self.modes else request.modes
        for i, item in enumerate(self.items):
            if item not in request.data_items:
                raise InvalidRequest(f"items[{i}]", f"{item} was not asked for: a grant only narrows the items "
                                                    f"the request asks for ({', '.join(request.data_items)})")
        if len(set(self.items)) != len(self.items):
            raise InvalidRequest("items", "must not name an item twice")
        items = tuple(i for i in request.data_items if i in self.items)
        for i, item in enumerate(self.plain):
            if item not in (items or request.data_items):
                whose = "the grant lets out" if items else "the request asks for"
                raise InvalidRequest(f"plain[{i}]", f"{item} is not a data item {whose} "
                                                    f"({', '.join(items or request.data_items)})")
        return dataclasses.replace(request, filter_column=column, filter_prefix=prefix, valid_until=self.valid_until,
                                   modes=granted, daily_quota=self.daily_quota, rate=self.rate,
                                   plain=tuple(dict.fromkeys(self.plain)),
                                   granted_items=items if items != request.data_items else ())
