"""The format rules a data element may name, each a check of one value: 公民身份号码 with its GB
11643 check character, 统一社会信用代码 with its GB 32100 check character, dates, GB/T 2260
region codes, telephone numbers and plain text. Pure functions over strings, fast enough to run
over a million rows of a source (node/exchange/quality.py)."""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from datetime import date
from typing import Callable

from node.model import regions

# GB 11643-1999: weights 2^(17-i) mod 11 of the first 17 digits; the check character is
# "10X98765432"[sum mod 11].
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"\d{17}[\dX]", re.ASCII)  # ASCII: \d would take any script's digits

# GB 32100-2015: 31 characters (no I, O, Z, S, V), weights 3^i mod 31 of the first 17; the
# check character's value is 31 - (sum mod 31), 31 written as 0.
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_ALPHABET)}
CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
# The weighted sums below run over bytes, which iterate as ints (no int() per character): an ID's
# digits as their ASCII codes, less 48 times the weights' sum; a credit code's characters turned
# into their values by one translate.
_ID_OFFSET = 48 * sum(ID_WEIGHTS)
_CREDIT_VALUES = bytes(CREDIT_VALUE.get(chr(b), 0) for b in range(256))
_CREDIT_SHAPE = re.compile(rf"[{CREDIT_ALPHABET}]{{18}}")

_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})", re.ASCII)
_PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def id_check_character(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits of a 公民身份号码."""
    return ID_CHECK[sum(w * int(d) for w, d in zip(ID_WEIGHTS, first17)) % 11]


@functools.lru_cache(maxsize=65536)  # a source's dates repeat: a few tens of thousands of days in all
def valid_date_digits(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def is_id_number(value: str) -> bool:
    """18 characters: a region's 6 digits, the birth date's 8, a sequence of 3 and the check
    character (X for ten) that makes the weighted sum right."""
    if len(value) != 18 or not _ID_SHAPE.fullmatch(value):
        return False
    if ID_CHECK[(sum(map(operator.mul, ID_WEIGHTS, value.encode()[:17])) - _ID_OFFSET) % 11] != value[17]:
        return False
    return valid_date_digits(value[6:10], value[10:12], value[12:14])


def credit_check_character(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a 统一社会信用代码."""
    total = sum(w * CREDIT_VALUE[c] for w, c in zip(CREDIT_WEIGHTS, first17))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def is_credit_code(value: str) -> bool:
    """18 characters of the code's alphabet whose last is the check character of the rest."""
    if len(value) != 18 or not _CREDIT_SHAPE.fullmatch(value):
        return False
    total = sum(map(operator.mul, CREDIT_WEIGHTS, value.encode()[:17].translate(_CREDIT_VALUES)))
    return CREDIT_ALPHABET[(31 - total % 31) % 31] == value[17]


@functools.lru_cache(maxsize=65536)  # as valid_date_digits
def is_date(value: str) -> bool:
    """A calendar date, YYYY-MM-DD or YYYYMMDD (a time after it, as a datetime column holds, is let be)."""
    match = _DATE.match(value)
    return match is not None and valid_date_digits(*match.groups()) and (
        len(value) == match.end() or value[match.end()] in " T")


def is_region_code(value: str) -> bool:
    return value.isascii() and regions.is_known(value)


def is_phone(value: str) -> bool:
    """A mainland mobile number (11 digits) or a landline with its area code."""
    return _PHONE.fullmatch(value) is not None


def is_text(value: str) -> bool:
    """Any text without control characters (tabs and line breaks allowed)."""
    return _CONTROL.search(value) is None


@dataclasses.dataclass(frozen=True)
class FormatRule:
    """A rule by name: the check of one value, the item types a column of such values may have,
    and the least length such a column must allow (0: any)."""

    name: str
    check: Callable[[str], bool]
    types: tuple[str, ...]
    min_length: int
    description: str


RULES: dict[str, FormatRule] = {rule.name: rule for rule in (
    FormatRule("id_number", is_id_number, ("string",), 18, "18-character 公民身份号码 with the GB 11643 check character"),
    FormatRule("credit_code", is_credit_code, ("string",), 18,
               "18-character 统一社会信用代码 with the GB 32100 check character"),
    FormatRule("date", is_date, ("date", "datetime", "string"), 0, "a calendar date, YYYY-MM-DD or YYYYMMDD"),
    FormatRule("region_code", is_region_code, ("string", "integer"), 6, "a known 6-digit GB/T 2260 region code"),
    FormatRule("phone", is_phone, ("string",), 11, "a mobile number or a landline with its area code"),
    FormatRule("text", is_text, ("string",), 0, "text without control characters"),
)}


def rule_names() -> str:
    return ", ".join(RULES)
