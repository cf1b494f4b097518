"""What the owner's node does to a value before comparing it or letting it out: the
normalisation a verification applies to both sides (full-width to half-width, surrounding
spaces, an ID number's lower-case x), and the masking (脱敏) of a personal item by its rule.
Plain functions, no I/O: the same at every node and in the tests."""

from __future__ import annotations

import re
import unicodedata

MASK = "*"
# The masking rules a mount may give a personal item.
RULES = ("id_number", "name", "phone", "address", "full")
_ID_NUMBER = re.compile(r"\d{17}[xX]")
# An address keeps its district (区, 县, 旗; or, with none, its city) and hides what follows.
# (自治区 is a province: the district comes after it.)
_DISTRICT = re.compile(r"^.*?(?:(?<!自治)区|县|旗)")
_CITY = re.compile(r"^.*?市")


def normalise(value: str) -> str:
    """A value as two sides compare it: full-width forms as half-width (NFKC: "１２３" is "123",
    "　" a space), no surrounding spaces, and an 18-character ID number's check character x in
    upper case, as GB 11643 writes it."""
    text = (value if value.isascii() else unicodedata.normalize("NFKC", value)).strip()  # ASCII is NFKC already
    if len(text) == 18 and text[17] == "x" and _ID_NUMBER.fullmatch(text):
        text = text[:17] + "X"
    return text


def same(claimed: str, recorded: str) -> bool:
    return claimed == recorded or normalise(claimed) == normalise(recorded)


def _keep(value: str, head: int, tail: int) -> str:
    """The first `head` and last `tail` characters, the rest masked; a value too short to keep
    both is masked whole, so a short value never comes out as it is."""
    if len(value) <= head + tail:
        return MASK * len(value)
    return value[:head] + MASK * (len(value) - head - tail) + (value[len(value) - tail:] if tail else "")


def mask(value: str, rule: str) -> str:
    """The value as it may leave the owner's node under `rule` (one of RULES):
    id_number keeps its first 6 and last 4 characters, name its first character, phone its
    first 3 and last 4 digits, address its district; full hides everything. Empty stays empty."""
    if not value:
        return value
    if rule == "id_number":
        return _keep(value.strip(), 6, 4)
    if rule == "name":
        text = value.strip()
        return text[:1] + MASK * (len(text) - 1) if len(text) > 1 else MASK
    if rule == "phone":
        digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit())
        return _keep(digits, 3, 4)
    if rule == "address":
        text = value.strip()
        found = _DISTRICT.match(text) or _CITY.match(text)
        kept = found.group(0) if found else ""
        return kept + MASK * 4
    return MASK * len(value)
