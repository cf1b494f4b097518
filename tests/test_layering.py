"""The house keeps its layering: no import cycle among the project's modules, no import that the
table of rooms in docs/architecture.md does not allow, and no hand-written module over 400 lines. Every import
counts: type-only ones and those inside functions too."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

PACKAGES = ("node", "cli", "harness", "portal", "sim", "deploy", "national", "provincial", "ministry")
# The foundations beside the rooms in node/: any room may import them.
FOUNDATIONS = {"node", "node/errors", "node/times", "node/paging", "node/background", "node/logs", "node/workers",
               "node/progress", "node/csvcells"}
MAX_LINES = 400


def modules() -> dict[str, "pathlib.Path"]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path, known: set[str]) -> set[str]:
    """The project's modules that `name` imports, anywhere in its text."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in known and target != name:
                found.add(target)
    return found


def room(module: str) -> str:
    """The table of rooms' unit for a module: node/<first part> inside node, else the top package."""
    parts = module.split(".")
    return f"node/{parts[1]}" if parts[0] == "node" and len(parts) > 1 else parts[0]


def graph() -> dict[str, set[str]]:
    """Module -> the modules it imports; a package's __init__ re-exporting its own modules is left
    out (that is how a package shows its surface, not a cycle)."""
    found = modules()
    return {name: {m for m in imports_of(name, path, set(found)) if not m.startswith(name + ".")}
            for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, result = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return result


def readme_table() -> dict[str, set[str] | None]:
    """Room -> the rooms it may import (None: any), read from the table of rooms in docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = text[text.index("| room | what lives there | may import |"):]
    allowed: dict[str, set[str] | None] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rooms_cell, _, may_cell = [c.strip() for c in line.strip("|").split("|")]
        may = None if may_cell.startswith("any") else set(re.findall(r"`([^`]+)`", may_cell))
        for name in re.findall(r"`([^`]+)`", rooms_cell):
            allowed[name] = may
    return allowed


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" -> ".join(c) for c in found)


def test_every_import_is_one_the_readme_allows():
    allowed = readme_table()
    wrong = set()
    for module, targets in graph().items():
        here = room(module)
        assert here in allowed or here in FOUNDATIONS, f"{module}: its room {here} is missing from the table of rooms in docs/architecture.md"
        may = allowed.get(here, set())
        for target in targets:
            there = room(target)
            if there == here or there in FOUNDATIONS or may is None or there in may:
                continue
            wrong.add(f"{module} imports {target} ({here} may not import {there})")
    assert not wrong, "\n".join(sorted(wrong))


def test_the_foundations_import_no_room():
    for module, targets in graph().items():
        if room(module) in FOUNDATIONS - {"node"}:
            rooms = {room(t) for t in targets} - FOUNDATIONS - {"node/proto"}
            assert not rooms, f"{module} is a foundation but imports {sorted(rooms)}"


def test_no_hand_written_module_is_over_400_lines():
    long = [f"{path.relative_to(ROOT)} ({n})" for path in modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, f"split these where a reader would look for the parts: {long}"
