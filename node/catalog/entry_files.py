"""Entries as a YAML or JSON file holds them (`cascade entry publish FILE`), checked before they
go to a node, the way node configs are: field names in snake_case (the API's camelCase read
too), every bad field of an entry reported at once, "did you mean" for a near miss, and the
enumerated values in any spelling a responsibility list takes (有条件, 每日, 库表, 字符串 ...).

What comes out is the entry as the API's JSON mapping; the node still applies every rule of
docs/domain.md (codes, lengths, names) when it is published."""

from __future__ import annotations

import difflib
import re
from typing import Any

from node.catalog.lists.cells import CellError, parse_item, split_list
from node.catalog.lists.columns import VALUES, value_of
from node.model.rules import DataItem

TEXT = ("name", "summary", "provider_name", "share_condition", "not_shared_basis", "source_system", "derived_from")
CODES = ("resource_code", "provider_code", "region_code")  # digits: YAML reads them unquoted as numbers
CHOICES = ("category", "share_type", "share_method", "open_type", "update_cycle")
SET_BY_NODE = ("published_at", "updated_at", "origin", "version", "withdrawn", "quality")  # as `entry get` prints them
FIELDS = (*CODES, *TEXT, *CHOICES, "data_items", "keywords", *SET_BY_NODE)
ITEM_FIELDS = ("name", "type", "length", "description", "element", "key", "personal")
# What every entry must give; share_condition and not_shared_basis as its share_type asks.
REQUIRED = ("name", "provider_code", "provider_name", "region_code", "category", "data_items", "share_type",
            "share_method", "open_type", "update_cycle")


class EntryFileError(ValueError):
    """The entries of a file break rules: `problems` lists each as `entry N: field: rule`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def snake(name: str) -> str:
    """publishedAt -> published_at: the API's JSON spelling of a field read as its own name."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def suggestion(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """ ' (did you mean X?)' for the nearest of CHOICES, or '' when none is near."""
    near = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {near[0]}?)" if near else ""


def read_entries(entries: list[dict]) -> list[dict]:
    """The entries as API mappings; EntryFileError with every problem of every entry."""
    problems: list[str] = []
    out = [_Entry(i, problems).read(data) for i, data in enumerate(entries)]
    if problems:
        raise EntryFileError(problems)
    return out


class _Entry:
    """One entry's fields read one by one; each problem noted, none stopping the others."""

    def __init__(self, index: int, problems: list[str]):
        self.index, self.problems = index, problems

    def problem(self, field: str, rule: str) -> None:
        self.problems.append(f"entry {self.index}: {field}: {rule}")

    def read(self, data: dict) -> dict:
        out: dict[str, Any] = {}
        given = {snake(str(k)) for k, v in data.items() if v is not None}  # a bad value is told already
        for key, value in data.items():
            field = snake(str(key))
            if field not in FIELDS:
                near = suggestion(field, FIELDS)
                self.problem(str(key), f"unknown field{near}; the fields are {', '.join(FIELDS)}")
                given.add(near[len(" (did you mean "):-2])  # not "required" as well
            elif field in out:
                self.problem(str(key), f"given twice (also as {field})")
            elif field not in SET_BY_NODE and value is not None:  # what the node sets, it ignores
                read = self.value(field, value)
                if read is not None:
                    out[field] = read
        for field in self.required(out):
            if field not in given:
                self.problem(field, "is required")
        return out

    @staticmethod
    def required(out: dict) -> tuple[str, ...]:
        more = {"conditional": ("share_condition",), "not_shared": ("not_shared_basis",)}
        return REQUIRED + more.get(out.get("share_type", ""), ())

    def value(self, field: str, value: Any) -> Any:
        if field in CODES:
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            return self.text(field, value)
        if field in TEXT:
            return self.text(field, value)
        if field in CHOICES:
            return self.choice(field, field, value)
        if field == "keywords":
            if isinstance(value, str):
                return split_list(value)  # one cell's list: 人口、户籍、身份证
            if isinstance(value, list) and all(isinstance(k, (str, int)) for k in value):
                return [str(k) for k in value]
            self.problem(field, "must be a list of words, or one text of words separated by 、 or ,")
            return None
        return self.items(value)  # data_items

    def text(self, field: str, value: Any) -> str | None:
        if isinstance(value, str):
            return value
        self.problem(field, f"must be text (got {type(value).__name__} {value!r}; quote it)")
        return None

    def choice(self, kind: str, field: str, value: Any) -> str | None:
        """An enumerated value in any of its spellings: unconditional, 无条件共享, 无条件."""
        read = value_of(kind, value) if isinstance(value, str) else None
        if read is None:
            spellings = [s for v, (label, _) in VALUES[kind].items() for s in (v, label)]
            shown = " | ".join(f"{v} ({label})" for v, (label, _) in VALUES[kind].items())
            self.problem(field, f"{value!r} is not a {kind}{suggestion(str(value), spellings)}; one of {shown}")
        return read

    def items(self, value: Any) -> list[dict] | None:
        if not isinstance(value, list) or not value:
            self.problem("data_items", "must be a list of data items, each `{name: ..., type: ...}` or "
                                       "`名称(类型,长度)`, at least one")
            return None
        return [item for i, raw in enumerate(value) if (item := self.item(f"data_items[{i}]", raw)) is not None]

    def item(self, path: str, raw: Any) -> dict | None:
        if isinstance(raw, str):  # as a responsibility list's cell writes it: 姓名(字符串,50)
            try:
                return _item_mapping(parse_item(raw))
            except CellError as exc:
                self.problem(path, exc.rule)
                return None
        if not isinstance(raw, dict):
            self.problem(path, "must be a mapping {name, type, length, description} or a text 名称(类型,长度)")
            return None
        out: dict[str, Any] = {}
        for key, value in raw.items():
            field = snake(str(key))
            if field not in ITEM_FIELDS:
                self.problem(f"{path}.{key}", f"unknown field{suggestion(field, ITEM_FIELDS)}; "
                                              f"a data item has {', '.join(ITEM_FIELDS)}")
            elif field == "type":
                if (kind := self.choice("item_type", f"{path}.type", value)) is not None:
                    out["type"] = kind
            elif field == "key":
                if isinstance(value, bool):
                    out["key"] = value
                else:
                    self.problem(f"{path}.key", f"must be true or false (got {value!r})")
            elif field == "length":
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    out["length"] = value
                else:
                    self.problem(f"{path}.length", f"must be a whole number, 0 or more (got {value!r})")
            elif (text := self.text(f"{path}.{field}", value)) is not None:
                out[field] = text
        if "name" not in raw:
            self.problem(f"{path}.name", "is required")
        out.setdefault("type", "string")
        return out


def _item_mapping(item: DataItem) -> dict:
    mapping = {"name": item.name, "type": item.type}
    if item.length:
        mapping["length"] = item.length
    if item.description:
        mapping["description"] = item.description
    if item.element:
        mapping["element"] = item.element
    if item.key:
        mapping["key"] = True
    if item.personal:
        mapping["personal"] = item.personal
    return mapping
