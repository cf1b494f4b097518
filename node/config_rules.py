"""Reading a parsed YAML file with errors that name the file, the key path and the rule: the
Reader and the value checks that node configs (node/config.py) and compose files
(harness/compose.py) share."""

from __future__ import annotations

import datetime
import pathlib
import re
from typing import Any, Callable

import yaml

from node.model import regions
from node.model.calendar import BEYOND, OFFICIAL, OFFICIAL_YEARS, PACKAGE, Calendar, covered_years
from node.model.lifecycle import LIFECYCLE_KEYS, Lifecycle
from node.errors import ConfigError

NODE_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
ADDRESS = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$")
MISSING = object()


class Reader:
    """Walks a parsed YAML mapping, naming the key path in every error (the compose file uses it too)."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, rule: str) -> None:
        raise ConfigError(self.file, key, rule)

    def mapping(self, value: Any, path: str, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            self.fail(path or "(top)", "must be a mapping")
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else str(key), f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def get(self, data: dict, path: str, key: str, check: Callable[[Any], str | None], default: Any = MISSING) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            if default is MISSING:
                self.fail(full, "is required")
            return default
        value = data[key]
        problem = check(value)
        if problem:
            self.fail(full, problem)
        return value


# Value checks: each returns None when the value is good, else the rule it breaks.

def read_yaml(path: str | pathlib.Path) -> Any:
    """The YAML document in a file (a node config, a compose file, a scenario); a file that
    cannot be read or parsed is a ConfigError naming it."""
    file = str(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "(file)", f"cannot be read: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(file, "(file)", f"is not valid YAML: {exc}") from None


def is_text(pattern: re.Pattern | None = None, rule: str = "") -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "must be a non-empty string (quote codes: \"130000\")"
        if pattern is not None and not pattern.match(value):
            return rule
        return None
    return check


def is_number(lo: float, hi: float, integer: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not lo <= value <= hi:
            return f"must be {'an integer' if integer else 'a number'} from {lo:g} to {hi:g}"
        return None
    return check


def is_auto_or(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """`auto`, or a value `check` passes."""
    def auto_or(value: Any) -> str | None:
        problem = None if value == "auto" else check(value)
        return f"must be auto or {problem.removeprefix('must be ')}" if problem else None
    return auto_or


def is_choice(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def is_boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def is_region(value: Any) -> str | None:
    if not isinstance(value, str) or not regions.is_known(value):
        return "must be a known 6-digit GB/T 2260 region code, quoted (\"130000\")"
    return None


is_address = is_text(ADDRESS, "must be HOST:PORT")
is_node_id = is_text(NODE_ID, "must be lowercase letters, digits, '-' or '_', starting with a letter, at most 40")


def is_file_at(r: Reader, data: dict, path: str, key: str, base_dir: pathlib.Path | None) -> str:
    """A path that must name an existing file, relative to the config file's folder."""
    value = r.get(data, path, key, is_text())
    full = pathlib.Path(value) if base_dir is None or pathlib.Path(value).is_absolute() else base_dir / value
    if not full.is_file():
        r.fail(f"{path}.{key}", f"names no readable file ({full})")
    return str(full.resolve())


def is_list(value: Any) -> str | None:
    return None if isinstance(value, list) else "must be a list"


def dates(r: Reader, values: Any, path: str) -> list:
    if not isinstance(values, list):
        r.fail(path, "must be a list of dates (YYYY-MM-DD)")
    out = []
    for i, value in enumerate(values):
        if isinstance(value, datetime.date):
            out.append(value)
            continue
        try:
            out.append(datetime.date.fromisoformat(str(value)))
        except ValueError:
            r.fail(f"{path}[{i}]", "must be a date YYYY-MM-DD")
    return out


def official_calendar(r: Reader, sharing: dict, path: str = "sharing") -> Calendar:
    """The `sharing` block's calendar: the State Council's working days (node/model/calendar.py),
    the node's own days off on top, the notices the operator typed in for years the package does
    not cover yet (`notices: {2027: {holidays: [...], workdays: [...]}}`), and what to do past the
    years covered. A day off outside those years stops start-up, naming them, unless the operator
    chose `beyond_calendar: weekdays` (then it is a day off in a year counted Monday to Friday)."""
    if "workdays" in sharing:
        r.fail(f"{path}.workdays", f"make-up working days (调休) come from the official calendar ({PACKAGE}, "
                                   f"{covered_years()}), or for a later year from its notice in "
                                   f"{path}.notices; remove the key")
    beyond = r.get(sharing, path, "beyond_calendar", is_choice(BEYOND), OFFICIAL.beyond)
    holidays, workdays, noticed = _notices(r, sharing.get("notices"), f"{path}.notices")
    days_off = dates(r, sharing.get("holidays") or [], f"{path}.holidays")
    for i, day in enumerate(days_off):
        if beyond == "refuse" and day.year not in OFFICIAL_YEARS and day.year not in noticed:
            r.fail(f"{path}.holidays[{i}]", f"{day.isoformat()} lies outside the official calendar's years "
                                            f"{covered_years()} ({PACKAGE}) and the notices typed in")
    return Calendar(answer_days=r.get(sharing, path, "answer_days", is_number(1, 365, True), OFFICIAL.answer_days),
                    holidays=frozenset(days_off) | holidays, workdays=workdays, official=True, beyond=beyond,
                    noticed=noticed)


def _notices(r: Reader, value: Any, path: str) -> tuple[frozenset[datetime.date], frozenset[datetime.date], frozenset[int]]:
    """The State Council notices typed in for years the package does not cover: (days off, make-up
    working days, their years). A year the package covers is refused: its notice is the package's."""
    if value is None:
        return frozenset(), frozenset(), frozenset()
    if not isinstance(value, dict):
        r.fail(path, "must map a year to its notice: {2027: {holidays: [...], workdays: [...]}}")
    off: set[datetime.date] = set()
    worked: set[datetime.date] = set()
    for year, notice in value.items():
        where = f"{path}.{year}"
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            r.fail(where, "must be a year (e.g. 2027)")
        if year in OFFICIAL_YEARS:
            r.fail(where, f"{PACKAGE} carries the notice for {year} already: remove this one")
        notice = r.mapping(notice or {}, where, {"holidays", "workdays"})
        for key, into in (("holidays", off), ("workdays", worked)):
            for i, day in enumerate(dates(r, notice.get(key) or [], f"{where}.{key}")):
                if day.year != year:
                    r.fail(f"{where}.{key}[{i}]", f"{day.isoformat()} is not in {year}")
                into.add(day)
    return frozenset(off), frozenset(worked), frozenset(value)


def data_authority(r: Reader, top: dict, departments: set[str]) -> str:
    """A node config's `data_authority`: the code of its data authority, one of its departments ("": none)."""
    code = r.get(top, "", "data_authority", is_text(re.compile(r"^[0-9]{9}$"), "must be a 9-digit department code"), "")
    if code and code not in departments:
        r.fail("data_authority", f"must be one of the node's departments (got {code})")
    return code


def lifecycle_settings(r: Reader, sharing: dict, has_authority: bool) -> Lifecycle:
    """The lifecycle's keys of a node config's `sharing:` (node/model/lifecycle.py)."""
    default = Lifecycle()
    days = {name: r.get(sharing, "sharing", name, is_number(0 if name == "escalation_days" else 1, 365, True),
                        getattr(default, name)) for name in LIFECYCLE_KEYS if name != "review"}
    review = r.get(sharing, "sharing", "review", is_boolean, default.review)
    if review and not has_authority:
        r.fail("sharing.review", "needs `data_authority`: the department that reviews the node's requests")
    return Lifecycle(review=review, **days)
