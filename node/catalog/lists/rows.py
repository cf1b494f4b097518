"""A sheet's rows to catalog entries, every problem kept as (row, column, rule); entries back to
rows; and the plan of an import: which rows create, update or leave alone which entries."""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from typing import Iterable, Mapping

from node.model import rules
from node.catalog.lists import cells
from node.catalog.lists.columns import BY_KEY, COLUMNS, DEFAULTS, Column, column_of, label_of, normal
from node.model.rules import DataItem, Entry
from node.errors import InvalidEntry

HEADER_SEARCH = 10  # rows above the header (a title, a note) that a sheet may have


@dataclasses.dataclass(frozen=True)
class Problem:
    """A bad cell: the row as a spreadsheet numbers it, the column's header as the file writes it."""

    row: int
    column: str
    rule: str

    def describe(self, file: str) -> str:
        return f"{file}:{self.row}:{self.column}: {self.rule}"


@dataclasses.dataclass
class Sheet:
    """The text of a sheet: its header row and the rows below it, each with its number."""

    headers: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]


def locate_header(raw: list[tuple[int, list[str]]]) -> Sheet | None:
    """The sheet whose header is the first of the top rows naming two columns of a list."""
    for i, (number, texts) in enumerate(raw[:HEADER_SEARCH]):
        if sum(1 for t in texts if t and column_of(t)) >= 2:
            return Sheet(list(texts), number, raw[i + 1 :])
    return None


@dataclasses.dataclass(frozen=True)
class Departments:
    """How a row's 数据所属部门 becomes a provider: `only`, one department code for every row;
    `names` (code -> name, the node's departments) to name a department a row gives by code,
    and with `by_name` to find the code of a department a row gives by name."""

    only: str = ""
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    by_name: bool = False

    def code_named(self, name: str) -> str | None:
        wanted = normal(name)
        return next((code for code, known in self.names.items() if normal(known) == wanted), None)


@dataclasses.dataclass
class Row:
    """One row read: the entry it describes (resource_code "" when the file gives none)."""

    row: int
    entry: Entry


@dataclasses.dataclass
class Read:
    """What read_rows found: the entries of the good rows, every problem, the columns read past,
    and the header each column has in the file."""

    rows: list[Row]
    problems: list[Problem]
    ignored: list[str]
    headers: dict[str, str]

    def header(self, key: str) -> str:
        return self.headers.get(key, BY_KEY[key].header)


def read_rows(sheet: Sheet, departments: Departments = Departments()) -> Read:
    """The entries the sheet describes. Nothing is dropped quietly: a row with any bad cell gives
    no entry and a problem for every bad cell, so that one reading shows everything to fix."""
    read = Read([], [], [], {})
    index: dict[str, int] = {}
    for i, header in enumerate(sheet.headers):
        if not header.strip():
            continue
        column = column_of(header)
        if column is False:
            read.ignored.append(header)
        elif column is not None and column.key in index:
            read.problems.append(Problem(sheet.header_row, header, f"is the column {read.header(column.key)} again"))
        elif column is not None:
            index[column.key] = i
            read.headers[column.key] = header.strip()
    required = [c for c in COLUMNS if c.required and not (c.key == "department" and departments.only)]
    for column in required:
        if column.key not in index:
            read.problems.append(Problem(sheet.header_row, column.header, "column missing"))
    if read.problems:
        return read
    seen_codes: dict[str, int] = {}
    seen_names: dict[tuple[str, str], int] = {}
    for number, texts in sheet.rows:
        values = {key: texts[i].strip() if i < len(texts) else "" for key, i in index.items()}
        if not any(values.values()):
            continue
        fields, problems = _read_row(values, departments)
        code = fields["resource_code"] if "resource_code" not in problems else ""
        if code:
            if code in seen_codes:
                problems["resource_code"] = f"repeats row {seen_codes[code]}"
            seen_codes.setdefault(code, number)
        if "name" not in problems and "department" not in problems:
            key = (fields["provider_code"], fields["name"])
            if key in seen_names:
                problems["name"] = f"repeats row {seen_names[key]} of the same department"
            seen_names.setdefault(key, number)
        in_file_order = sorted(problems, key=lambda k: index.get(k, -1))
        read.problems += [Problem(number, read.header(k), problems[k]) for k in in_file_order]
        if not problems:
            read.rows.append(Row(number, Entry(**fields)))
    return read


# A valid entry whose fields stand in for a bad column, so that validation goes on to the next.
_STAND_IN = Entry(
    resource_code="130100005/000001", name="样例", provider_code="130100005", provider_name="样例部门",
    region_code="130100", category="department", data_items=(DataItem("样例", "string"),),
    share_type="unconditional", share_method="api", open_type="not_open", update_cycle="daily",
    share_condition="样例", not_shared_basis="样例",  # good whatever the row's share_type
)
# The fields each column fills: a stand-in replaces them all when the column is bad.
_FIELDS = {
    "department": ("provider_code", "provider_name", "region_code"), "resource_code": ("resource_code",),
    "name": ("name",), "summary": ("summary",), "category": ("category",), "data_items": ("data_items",),
    "share_type": ("share_type",), "share_condition": ("share_condition",),
    "not_shared_basis": ("not_shared_basis",), "share_method": ("share_method",), "open_type": ("open_type",),
    "update_cycle": ("update_cycle",), "keywords": ("keywords",), "source_system": ("source_system",),
}
_COLUMN_OF_FIELD = {f: key for key, fields in _FIELDS.items() for f in fields}
_CHOICES = {"share_type": "share_type", "update_cycle": "update_cycle", "share_method": "share_method",
            "open_type": "open_type", "category": "category"}


def _read_row(values: dict[str, str], departments: Departments) -> tuple[dict[str, object], dict[str, str]]:
    """The entry's fields one row gives, and the rule each bad column breaks (column key -> rule);
    a bad column's fields are missing or wrong."""
    problems: dict[str, str] = {}
    fields: dict[str, object] = {}
    code = values.get("resource_code", "")
    if code and not rules.RESOURCE_CODE.match(code):
        problems["resource_code"] = rules.RESOURCE_CODE_RULE
        code = ""
    try:
        fields["provider_code"], fields["provider_name"] = _department(values.get("department", ""), code, departments)
    except cells.CellError as exc:
        problems["department"] = exc.rule
    else:
        if code and code[:9] != fields["provider_code"]:
            problems["resource_code"] = f"must start with the department's code {fields['provider_code']}"
    fields["region_code"] = str(fields.get("provider_code", ""))[:6]
    fields["resource_code"] = code
    for key in ("name", "summary", "share_condition", "not_shared_basis", "source_system"):
        fields[key] = values.get(key, "")
    for key, kind in _CHOICES.items():
        try:
            fields[key] = cells.parse_choice(kind, values.get(key, ""), DEFAULTS.get(key))
        except cells.CellError as exc:
            problems[key] = exc.rule
    for key, parse in (("data_items", cells.parse_items), ("keywords", cells.parse_keywords)):
        try:
            fields[key] = parse(values.get(key, ""))
        except cells.CellError as exc:
            problems[key] = exc.rule
    problems.update(_rule_problems(fields, set(problems)))
    return fields, problems


def _department(text: str, code: str, departments: Departments) -> tuple[str, str]:
    """(provider_code, provider_name) of a row from its 数据所属部门 cell and its 资源代码."""
    given = text if rules.PROVIDER_CODE.match(text) else ""
    if text.isdigit() and not given:
        raise cells.CellError(f"{text}: a department code has 9 digits (6 of its region, 3 of its own)")
    name = "" if given else text
    from_code = code[:9]
    provider = departments.only or given or from_code
    if departments.only and given and given != departments.only:
        raise cells.CellError(f"is department {given}, but the list is imported for department {departments.only}")
    if name and departments.by_name:
        named = departments.code_named(name)
        if named is None:
            known = "、".join(departments.names.values()) or "none"
            raise cells.CellError(f"no department of the node is named {name!r} (it has: {known})")
        if provider and named != provider:
            why = f"its 资源代码 is {provider}'s" if from_code == provider else f"the list is {provider}'s"
            raise cells.CellError(f"{name} is department {named}, but {why}")
        provider = named
    if not provider:
        raise cells.CellError("gives no department code: write the 9-digit code, fill the 资源代码, "
                              "or import by name (--by-name)")
    if departments.names and provider not in departments.names:
        raise cells.CellError(f"{provider} is not a department of the node")
    name = name or departments.names.get(provider, "")
    if not name:
        raise cells.CellError(f"department {provider} has no name here: write its name")
    return provider, name


def _rule_problems(fields: dict[str, object], bad: set[str]) -> dict[str, str]:
    """Every column whose value breaks a rule of rules.validate_entry: validation stops at the
    first rule broken, so each bad column is replaced by a stand-in and the entry checked again."""
    probe = dataclasses.replace(_STAND_IN, **{k: v for k, v in fields.items() if _COLUMN_OF_FIELD[k] not in bad})
    if "department" in bad:
        probe.resource_code = ""  # it would be checked against the stand-in's department
    found: dict[str, str] = {}
    for _ in range(len(_FIELDS) + 1):
        if not probe.resource_code and rules.PROVIDER_CODE.match(probe.provider_code):
            probe.resource_code = f"{probe.provider_code}/000001"  # the node gives the real one
        try:
            rules.validate_entry(probe)
            return found
        except InvalidEntry as exc:
            key = _COLUMN_OF_FIELD[re.match(r"[a-z_]+", exc.field).group(0)]
            if key in found:  # cannot happen while the stand-in is good; never loop on it
                return found
            found[key] = _describe(exc)
            probe = dataclasses.replace(probe, **{f: getattr(_STAND_IN, f) for f in _FIELDS[key]})
            if key == "department":
                probe.resource_code = ""
    return found


def _describe(exc: InvalidEntry) -> str:
    """A rule as the sheet's reader sees it: data_items[2].name -> item 3 name."""
    if exc.field in ("provider_code", "region_code"):
        return f"{exc.field}: {exc.rule}"
    match = re.match(r"(data_items|keywords)\[(\d+)\]\.?(\w*)$", exc.field)
    if not match:
        return exc.rule
    what = "item" if match.group(1) == "data_items" else "keyword"
    return f"{what} {int(match.group(2)) + 1}{' ' + match.group(3) if match.group(3) else ''}: {exc.rule}"


# -- out ---------------------------------------------------------------------------------------

def entries_to_rows(entries: Iterable[Entry]) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a list holding ENTRIES, in the words departments use."""
    return [c.header for c in COLUMNS], [[_cell(c, e) for c in COLUMNS] for e in entries]


def _cell(column: Column, entry: Entry) -> str:
    if column.key == "department":
        return entry.provider_name
    if column.key == "data_items":
        return cells.format_items(entry.data_items)
    if column.key == "keywords":
        return cells.format_keywords(entry.keywords)
    if column.key in _CHOICES:
        return label_of(_CHOICES[column.key], getattr(entry, column.key))
    return getattr(entry, column.key)


# -- the plan of an import -----------------------------------------------------------------------

@dataclasses.dataclass
class Planned:
    """What publishing a row does: `outcome` is created, updated or unchanged, as the node counts."""

    row: int
    entry: Entry
    outcome: str
    existing: Entry | None = None


def _kept_governance(entry: Entry, old: Entry) -> Entry:
    """A list has no column for an item's data element, key or personal marks, nor for `derived_from`
    (docs/governance.md, docs/exchange.md):
    a row keeps what the entry it updates says of them, so that importing an export changes nothing."""
    marked = {i.name: i for i in old.data_items if i.element or i.key or i.personal}
    if not marked and not old.derived_from:
        return entry
    items = tuple(dataclasses.replace(i, element=i.element or marked[i.name].element, key=i.key or marked[i.name].key,
                                      personal=i.personal or marked[i.name].personal)
                  if i.name in marked else i for i in entry.data_items)
    return dataclasses.replace(entry, data_items=items, derived_from=entry.derived_from or old.derived_from)


def plan(read: Read, held: Iterable[Entry]) -> tuple[list[Planned], list[Problem]]:
    """The outcome of each row against the entries the node holds (`held`: at least those of
    the departments in the file). A row without a 资源代码 is the department's live entry of the
    same name if there is one, so that importing a list twice changes nothing; else it is new,
    and the node gives it its code."""
    by_code = {e.resource_code: e for e in held}
    by_name: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in by_code.values():
        if not e.withdrawn:
            by_name[(e.provider_code, e.name)].append(e)
    planned: list[Planned] = []
    problems: list[Problem] = []
    claimed: dict[str, int] = {r.entry.resource_code: r.row for r in read.rows if r.entry.resource_code}
    for row in read.rows:
        entry = row.entry
        if entry.resource_code:
            old = by_code.get(entry.resource_code)
        else:
            same = by_name.get((entry.provider_code, entry.name), [])
            if len(same) > 1:
                codes = ", ".join(e.resource_code for e in same)
                rule = f"names {len(same)} entries of the department ({codes}): fill 资源代码 to say which"
                problems.append(Problem(row.row, read.header("name"), rule))
                continue
            old = same[0] if same else None
            if old is not None and old.resource_code in claimed:
                problems.append(Problem(row.row, read.header("name"), f"is the entry {old.resource_code}, which row "
                                        f"{claimed[old.resource_code]} names by code: fill 资源代码 or rename"))
                continue
            if old is not None:
                entry = dataclasses.replace(entry, resource_code=old.resource_code)
        if old is not None:
            entry = _kept_governance(entry, old)
        if old is None:
            outcome = "created"
        elif not old.withdrawn and rules.same_content(old, entry):
            outcome = "unchanged"
        else:
            outcome = "updated"
        planned.append(Planned(row.row, entry, outcome, old))
    return planned, problems
