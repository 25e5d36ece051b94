"""No silent broad excepts in the app: an `except Exception` (or a bare `except`, or
`except BaseException`) either names what it catches or logs (or re-raises) what it dropped.

The check reads the source (ast), so it also runs on code no test reaches. Run as a script it
prints the offenders of a source tree: `python tests/test_excepts.py [DIR]`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "mirix_app"
_BROAD = {"Exception", "BaseException"}
_LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def _is_broad(handler: ast.ExceptHandler) -> bool:
    t = handler.type
    if t is None:
        return True
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    return any(isinstance(n, ast.Name) and n.id in _BROAD for n in names)


def _logs_or_raises(handler: ast.ExceptHandler) -> bool:
    for stmt in handler.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Raise):
                return True
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _LOG_METHODS
                and "log" in ast.unparse(node.func.value).lower()
            ):
                return True
    return False


def silent_broad_excepts(root: Path) -> list[str]:
    """`path:line` of every broad handler under `root` whose body neither logs nor raises."""
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ExceptHandler)
                and _is_broad(node)
                and not _logs_or_raises(node)
            ):
                out.append(f"{path.relative_to(root.parent)}:{node.lineno}")
    return out


def test_no_silent_broad_excepts() -> None:
    silent = silent_broad_excepts(APP)
    assert not silent, "broad excepts that neither log nor raise:\n" + "\n".join(silent)


def test_the_check_sees_a_silent_handler(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text(
        "import logging\nlog = logging.getLogger()\n"
        "def a():\n    try:\n        pass\n    except Exception:\n        return None\n"
        "def b():\n    try:\n        pass\n    except Exception as e:\n"
        "        log.debug('dropped: %s', type(e).__name__)\n"
        "def c():\n    try:\n        pass\n    except (OSError, Exception):\n        raise\n"
        "def d():\n    try:\n        pass\n    except:\n        pass\n"
        "def e():\n    try:\n        pass\n    except ValueError:\n        pass\n"
    )
    assert silent_broad_excepts(pkg) == ["pkg/m.py:6", "pkg/m.py:21"]


if __name__ == "__main__":
    found = silent_broad_excepts(Path(sys.argv[1]) if len(sys.argv) > 1 else APP)
    print("\n".join(found))
    print(len(found), "silent broad excepts")
