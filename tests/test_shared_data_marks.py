"""Every test that reads ../shared/data carries ``@pytest.mark.shared_data``.

CI selects and reports the data tests by that mark, and with ``CI`` set an absent data folder
fails them (tests/conftest.py), so a test that reaches ``shared_path`` without the mark would
hide from both. The check is static: a test needs data when it calls ``shared_path``, uses the
``shared_data`` fixture, or reaches either through module-level helpers or fixtures (by name,
transitively, including parametrize arguments built by such helpers).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_mark(node: ast.expr) -> bool:
    """``pytest.mark.shared_data`` (called or not)."""
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "shared_data"


def _module_marked(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            vals = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            if any(_is_mark(v) for v in vals):
                return True
    return False


def _functions(tree: ast.Module) -> list[tuple[ast.FunctionDef, bool]]:
    """Top-level functions and class methods, with whether their class carries the mark."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out.append((node, False))
        elif isinstance(node, ast.ClassDef):
            cls_marked = any(_is_mark(d) for d in node.decorator_list)
            out += [(f, cls_marked) for f in node.body if isinstance(f, ast.FunctionDef)]
    return out


def _needs_data(funcs: list[ast.FunctionDef], seed: set[str]) -> set[str]:
    """Names (functions and fixtures) that reach ``shared_path`` or the ``shared_data`` fixture."""
    needing = set(seed)
    changed = True
    while changed:
        changed = False
        for f in funcs:
            if f.name in needing:
                continue
            names = {n.id for n in ast.walk(f) if isinstance(n, ast.Name)}
            names |= {a.arg for a in f.args.args + f.args.kwonlyargs}
            if names & needing:
                needing.add(f.name)
                changed = True
    return needing


def unmarked_data_tests() -> list[str]:
    conftest = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    seed = _needs_data([f for f, _ in _functions(conftest)], {"shared_path", "shared_data"})
    bad = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _module_marked(tree):
            continue
        funcs = _functions(tree)
        needing = _needs_data([f for f, _ in funcs], seed)
        for f, cls_marked in funcs:
            if f.name.startswith("test") and f.name in needing and not cls_marked:
                if not any(_is_mark(d) for d in f.decorator_list):
                    bad.append(f"{path.name}:{f.lineno} {f.name}")
    return bad


def test_every_data_test_is_marked():
    bad = unmarked_data_tests()
    assert not bad, "tests reading ../shared/data without @pytest.mark.shared_data:\n" + "\n".join(bad)
