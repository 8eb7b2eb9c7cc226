"""The layout's rules that import-linter cannot see (docs/architecture.md): no import inside a function
outside the composition root, no Vietnamese text in code, modules of a readable size, no module-level
mutable state, and no test or benchmark leaning on another test module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("bot", "handlers", "notifications", "storage")
VIETNAMESE = re.compile(r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.IGNORECASE)
# Heavy optional libraries may be imported where they are used (matplotlib only for charts;
# scikit-learn and scipy only when the classifier is first fitted, so commands that never classify
# do not pay most of a second to import them).
LAZY_LIBRARIES = frozenset({"matplotlib", "dotenv", "sklearn", "scipy"})
# Literals that are data, not text shown to people (matching tables, config defaults of official titles).
VIETNAMESE_ALLOWED = {
    "bot/language/normalize.py",          # accent folding tables
    "bot/config/sections.py",             # defaults for config.yaml values (titles, report names)
    "bot/interop/public_stats.py",        # the honorifics a name-masking pattern recognises
}
MAX_LINES = 400


def modules(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py") if "migrations" not in p.parts)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def function_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.ImportFrom) and sub.module:
                    found.append(f"{rel(path)}:{sub.lineno} {sub.module}")
                elif isinstance(sub, ast.Import):
                    found.extend(f"{rel(path)}:{sub.lineno} {a.name}" for a in sub.names)
    return found


def test_no_import_inside_a_function_outside_the_composition_root():
    offenders = [hit for path in modules(*PRODUCTION) if not rel(path).startswith("bot/main/")
                 for hit in function_imports(path) if hit.split()[-1].split(".")[0] not in LAZY_LIBRARIES]
    assert offenders == []


def test_no_vietnamese_literal_in_code():
    """Every text a person reads lives in templates/ (docstrings are for developers and may name terms)."""
    offenders = []
    for path in modules(*PRODUCTION):
        if rel(path) in VIETNAMESE_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = docstrings(tree)
        offenders += [f"{rel(path)}:{n.lineno} {n.value[:40]!r}" for n in ast.walk(tree)
                      if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip
                      and VIETNAMESE.search(n.value)]
    assert offenders == []


def test_no_module_in_bot_over_400_lines():
    long = {rel(p): n for p in modules("bot") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


QUERY_NAMES = frozenset({"select", "update", "delete", "insert", "text", "case", "and_", "or_", "func", "col"})
QUERY_METHODS = frozenset({"exec", "execute", "query", "scalars", "scalar"})


def test_sql_lives_in_storage():
    """bot/ holds the rules and calls storage/ for every read and write: no query is built or run in
    bot/ (session.get, add and flush are the unit of work, not SQL). The composition root may run
    its start-up checks."""
    offenders = []
    for path in modules("bot"):
        if rel(path).startswith("bot/main/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("sqlmodel",
                                                                                                 "sqlalchemy"):
                offenders += [f"{rel(path)}:{node.lineno} imports {a.name}" for a in node.names
                              if a.name in QUERY_NAMES]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in QUERY_METHODS and getattr(node.func.value, "attr", getattr(
                        node.func.value, "id", "")) == "session":
                offenders.append(f"{rel(path)}:{node.lineno} session.{node.func.attr}")
    assert offenders == []


MUTABLE_FACTORIES = frozenset({"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque",
                               "WeakKeyDictionary", "WeakValueDictionary"})


def test_no_module_level_mutable_state_outside_the_composition_root():
    offenders = []
    for path in modules(*PRODUCTION):
        if rel(path).startswith("bot/main/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
            if value is None:
                continue
            mutable = isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp))
            if isinstance(value, ast.Call):
                func = value.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                mutable = name in MUTABLE_FACTORIES
            if mutable:
                offenders.append(f"{rel(path)}:{node.lineno}")
        offenders += [f"{rel(path)}:{n.lineno} global" for n in ast.walk(tree) if isinstance(n, ast.Global)]
    assert offenders == []


@pytest.mark.parametrize("top", ["tests", "bench"])
def test_no_test_module_is_imported_by_another(top):
    """Shared helpers live in testkit/ (fakes, drivers, data); a test module is never a library."""
    offenders = []
    for path in modules(top):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                parts = name.split(".")
                if parts[0] == "tests" and (top == "bench" or any(p.startswith("test_") for p in parts)):
                    offenders.append(f"{rel(path)}:{node.lineno} {name}")
    assert offenders == []
