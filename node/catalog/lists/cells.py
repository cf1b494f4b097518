"""One cell's text to a value and back: lists (数据项, 关键词) split at 、 ， , ; ； or new lines
outside brackets, data items written `名称` or `名称(类型,长度[,说明])`, enumerated values in
any of their spellings."""

from __future__ import annotations

import re

from node.catalog.lists.columns import label_of, labels, value_of
from node.model.rules import DataItem

SEPARATORS = frozenset("、，,;；\n\r")
OPENING, CLOSING = "(（", ")）"
COMMAS = frozenset(",，")
TYPE_WITH_LENGTH = re.compile(r"^(.+?)\s*[(（]\s*(\d+)\s*[)）]$")  # varchar(50), 字符串（50）
ITEM_SEPARATOR = "、"


class CellError(ValueError):
    """A cell that cannot be read: `rule` says why, in the words of the sheet."""

    def __init__(self, rule: str):
        super().__init__(rule)
        self.rule = rule


def split_list(text: str) -> list[str]:
    """The pieces of a list cell, split at separators outside brackets; blank pieces dropped."""
    return [p.strip() for p in _split(text, SEPARATORS) if p.strip()]


def _split(text: str, separators: frozenset[str], maxsplit: int = -1) -> list[str]:
    parts, current, depth = [], [], 0
    for ch in text:
        if ch in OPENING:
            depth += 1
        elif ch in CLOSING and depth:
            depth -= 1
        if depth == 0 and ch in separators and maxsplit != 0:
            parts.append("".join(current))
            current = []
            maxsplit -= 1
        else:
            current.append(ch)
    if depth:
        raise CellError(f"a bracket is opened and not closed in {text.strip()!r}")
    parts.append("".join(current))
    return parts


def _trailing_group(text: str) -> tuple[str, str] | None:
    """(before, inside) of the bracketed group that ends TEXT, or None."""
    if not text or text[-1] not in CLOSING:
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] in CLOSING:
            depth += 1
        elif text[i] in OPENING:
            depth -= 1
            if depth == 0:
                return text[:i], text[i + 1 : -1]
    return None


def parse_item(text: str) -> DataItem:
    """A data item: `名称`, or `名称(类型)`, `名称(类型,长度)`, `名称(类型,长度,说明)`, the type in
    any spelling (字符串, varchar, 整数, int, ...), also `名称(varchar(50))`. A bracket that holds
    no type is part of the name: `金额（元）` is the item 金额（元）, a string."""
    text = text.strip()
    group = _trailing_group(text)
    if group is None:
        return DataItem(text, "string")
    name, inside = group[0].strip(), group[1]
    params = [p.strip() for p in _split(inside, COMMAS, maxsplit=2)]
    kind = value_of("item_type", params[0])
    length_text = params[1] if len(params) > 1 else ""
    sized = TYPE_WITH_LENGTH.match(params[0])
    if kind is None and sized and value_of("item_type", sized.group(1)) and len(params) == 1:
        kind, length_text = value_of("item_type", sized.group(1)), sized.group(2)
    if kind is None:
        if len(params) > 1 and (not length_text or length_text.isdigit()):
            raise CellError(f"{text}: the type {params[0]!r} is none of {labels('item_type')}")
        return DataItem(text, "string")
    if not name:
        raise CellError(f"{text}: the item has no name")
    try:
        length = int(length_text) if length_text else 0
    except ValueError:
        raise CellError(f"{text}: the length {length_text!r} is not a whole number") from None
    if length < 0:
        raise CellError(f"{text}: the length must not be negative")
    return DataItem(name, kind, length, params[2] if len(params) > 2 else "")


def format_item(item: DataItem) -> str:
    """The text parse_item reads back as ITEM: the bare name when that is enough."""
    if item.type == "string" and not item.length and not item.description:
        try:
            if parse_item(item.name) == item:
                return item.name
        except CellError:
            pass
    parts = [label_of("item_type", item.type)]
    if item.length or item.description:
        parts.append(str(item.length))
    if item.description:
        parts.append(item.description)
    return f"{item.name}({','.join(parts)})"


def parse_items(text: str) -> tuple[DataItem, ...]:
    return tuple(parse_item(piece) for piece in split_list(text))


def format_items(items: tuple[DataItem, ...]) -> str:
    return ITEM_SEPARATOR.join(format_item(i) for i in items)


def parse_keywords(text: str) -> tuple[str, ...]:
    return tuple(split_list(text))


def format_keywords(keywords: tuple[str, ...]) -> str:
    return ITEM_SEPARATOR.join(keywords)


def parse_choice(kind: str, text: str, default: str | None = None) -> str:
    """The domain value of an enumerated cell; an empty cell is DEFAULT (None: required)."""
    if not text.strip():
        if default is None:
            raise CellError("must not be blank")
        return default
    value = value_of(kind, text)
    if value is None:
        raise CellError(f"must be one of {labels(kind)} (got {text.strip()!r})")
    return value
