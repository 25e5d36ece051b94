"""Before/after figures for issue 16: long files, long functions, silent broad excepts, repeated
blocks and reaches past MemoryCore, for one or two source trees.

Not a test (pytest does not collect it): run `python tests/quality_report.py [TREE] [BEFORE]`,
where TREE and BEFORE are checkouts (default: this one). With two trees it prints both columns;
`--list` also names every offender of the first tree.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

# The checks of the two door/except tests are reused as they are, so report and tests agree.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_excepts import silent_broad_excepts
from test_memory_door import violations

HERE = Path(__file__).resolve().parents[1]
MAX_FILE = 400
MAX_FUNC = 80
WINDOW = 6


def _sources(root: Path) -> list[Path]:
    return sorted(p for p in (root / "mirix_app").rglob("*.py") if "__pycache__" not in p.parts)


def long_files(root: Path) -> list[str]:
    out = []
    for p in _sources(root):
        n = len(p.read_text(encoding="utf-8").splitlines())
        if n > MAX_FILE:
            out.append(f"{p.relative_to(root)}: {n} lines")
    return out


def long_functions(root: Path) -> list[str]:
    out = []
    for p in _sources(root):
        tree = ast.parse(p.read_text(encoding="utf-8"), str(p))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNC:
                    out.append(f"{p.relative_to(root)}:{node.lineno} {node.name}: {n} lines")
    return out


def _normalized(text: str) -> list[tuple[int, str]]:
    """(line number, line with white space folded) for lines that carry code: blank lines,
    comments, imports and lone punctuation are passed over, as the `duplicates` tool does."""
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        line = " ".join(raw.split())
        if not line or line.startswith("#") or line.startswith(("import ", "from ")):
            continue
        if all(c in "()[]{},:;" for c in line):
            continue
        out.append((i, line))
    return out


def repeated_blocks(root: Path) -> list[str]:
    """Runs of >= WINDOW code lines that stand again elsewhere (a hash over every window of
    WINDOW normalized lines; overlapping repeated windows of one file merge into one block)."""
    seen: dict[str, list[tuple[str, int]]] = defaultdict(list)
    lines: dict[str, list[tuple[int, str]]] = {}
    for p in _sources(root):
        rel = str(p.relative_to(root))
        norm = _normalized(p.read_text(encoding="utf-8"))
        lines[rel] = norm
        for k in range(len(norm) - WINDOW + 1):
            key = hashlib.sha1("\n".join(t for _, t in norm[k : k + WINDOW]).encode()).hexdigest()
            seen[key].append((rel, k))
    marked: dict[str, set[int]] = defaultdict(set)
    for places in seen.values():
        # A window repeated only by overlapping itself (e.g. six equal lines) is no repeat.
        distinct = {(f, k) for f, k in places}
        if len(distinct) < 2:
            continue
        if len({f for f, _ in distinct}) == 1:
            ks = sorted(k for _, k in distinct)
            if ks[-1] - ks[0] < WINDOW:
                continue
        for f, k in distinct:
            marked[f].update(range(k, k + WINDOW))
    out = []
    for f, idx in sorted(marked.items()):
        run: list[int] = []
        for k in [*sorted(idx), -2]:
            if run and k != run[-1] + 1:
                first, last = lines[f][run[0]][0], lines[f][run[-1]][0]
                out.append(f"{f}:{first}-{last}")
                run = []
            if k >= 0:
                run.append(k)
    return out


def past_core(root: Path) -> list[str]:
    app = root / "mirix_app"
    return [
        v
        for p in _sources(root)
        if (app / "memory") not in p.parents
        for v in violations(p.read_text(encoding="utf-8"), str(p.relative_to(root)))
    ]


def figures(root: Path) -> dict[str, list[str]]:
    return {
        f"files over {MAX_FILE} lines": long_files(root),
        f"functions over {MAX_FUNC} lines": long_functions(root),
        "silent broad excepts": silent_broad_excepts(root / "mirix_app"),
        f"repeated blocks (>= {WINDOW} lines)": repeated_blocks(root),
        "  of which outside agent/answer*.py": [
            b for b in repeated_blocks(root) if not b.startswith("mirix_app/agent/answer")
        ],
        "calls past MemoryCore": past_core(root),
    }


def main(argv: list[str]) -> None:
    show = "--list" in argv
    trees = [Path(a).resolve() for a in argv if not a.startswith("--")] or [HERE]
    cols = [figures(t) for t in trees]
    names = ["now", "before"] if len(trees) == 2 else ["now"]
    print(f"{'measure':40}" + "".join(f"{n:>10}" for n in reversed(names)))
    for key in cols[0]:
        print(f"{key:40}" + "".join(f"{len(c[key]):>10}" for c in reversed(cols)))
    if show:
        for key, items in cols[0].items():
            print(f"\n{key} ({trees[0]}):")
            print("\n".join(f"  {i}" for i in items) or "  none")


if __name__ == "__main__":
    main(sys.argv[1:])
