"""MemoryCore is the only door to storage: code outside mirix_app/memory/ calls its methods and
never reaches into core.store / .inbox / .vectors / .embedder, opens storage classes itself or
runs SQL (ARCHITECTURE.md, "Outside memory/, code talks to MemoryCore only")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mirix_app"
MEMORY = ROOT / "memory"
# MemoryCore's parts: what only memory/ may touch.
PARTS = frozenset({"store", "inbox", "vectors", "embedder"})
# Storage classes that only memory/ builds or holds (value types such as InboxItem are fine).
CLASSES = frozenset({"Store", "Inbox", "VectorIndex", "Embedder", "Connections"})
SQL = re.compile(
    r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\b[\s\S]*\bSET|DELETE\s+FROM)\b"
    r"|json_each\(|json_extract\(|PRAGMA\s"
)
EXECUTE = frozenset({"execute", "executemany", "executescript"})


def _names_core(node: ast.expr) -> bool:
    """`core`, `self.core`, `svc.core`, `self._core`, `memory_core`...: a MemoryCore by name."""
    if isinstance(node, ast.Name):
        return "core" in node.id.lower()
    if isinstance(node, ast.Attribute):
        return "core" in node.attr.lower()
    return False


def violations(source: str, name: str = "<string>") -> list[str]:
    """Every place in `source` that goes past MemoryCore, as 'name:line: what'."""
    out: list[str] = []
    for node in ast.walk(ast.parse(source, name)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Attribute) and node.attr in PARTS and _names_core(node.value):
            out.append(f"{name}:{line}: reaches into core.{node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in EXECUTE:
            out.append(f"{name}:{line}: runs SQL (.{node.attr})")
        elif isinstance(node, ast.Attribute) and node.attr == "con":
            out.append(f"{name}:{line}: holds a database connection (.con)")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and _names_core(node.args[0])
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in PARTS
        ):
            out.append(f"{name}:{line}: reaches into core.{node.args[1].value} (getattr)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.search(node.value):
                out.append(f"{name}:{line}: SQL text {node.value[:40]!r}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "mirix_app.memory"
        ):
            for alias in node.names:
                if alias.name in CLASSES:
                    out.append(f"{name}:{line}: imports the storage class {alias.name}")
    return out


def outside_memory() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if MEMORY not in p.parents)


def test_nothing_outside_memory_goes_past_the_core() -> None:
    found = [
        v
        for p in outside_memory()
        for v in violations(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT.parent)))
    ]
    assert not found, "use a MemoryCore method instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        "core.store.count()",
        "self.core.inbox.put(item)",
        "n = svc.core.vectors",
        "self.core.embedder.load()",
        "getattr(self.core, 'store')",
        "con.execute('x')",
        "rows = self.core.con",
        "q = 'SELECT m.id FROM memories m'",
        "q = 'EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value=?)'",
        "q = 'UPDATE inbox SET status=? WHERE id=?'",
        "from mirix_app.memory.store import Store",
        "from mirix_app.memory.inbox import Inbox",
    ],
)
def test_the_check_sees_a_reach_past(snippet: str) -> None:
    assert violations(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "core.count()",
        "core.inbox_put(item)",
        "settings.vectors.mode",
        "self.store[(a, b)] = c",
        "from mirix_app.memory.inbox import InboxItem",
        "label = 'Select a file from the list'",
        "core.tagged(MemoryType.EPISODIC, 'x')",
    ],
)
def test_the_check_lets_core_methods_pass(snippet: str) -> None:
    assert not violations(snippet)
