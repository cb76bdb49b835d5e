"""The architecture's rules, checked: import contracts, no import cycles, no oversized modules.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are run one by one with
import-linter, so a broken contract names itself. Every contract runs strictly: the commands
and demo stages of the upper packages are entry-point plugins, so the core imports none of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("citymodel", "lidar", "energy", "microclimate", "viewer")
MAX_LINES = 600

#: Modules over MAX_LINES, with their line counts: each may only shrink (empty since issue #11
#: split lidar/footprint_extraction.py, lidar/build.py and lidar/pointcloud.py).
OVERSIZED: dict[str, int] = {}

#: Contracts known to be broken, with the reason (not strict: they may start passing).
KNOWN_BROKEN: dict[str, str] = {}


def _contract_ids() -> list[str]:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["id"] for c in conf["tool"]["importlinter"]["contracts"]]


def _lint_imports() -> list[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports not found: install the test extra (import-linter)")
    return [found]


@pytest.mark.parametrize(
    "contract",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=False, reason=KNOWN_BROKEN[c])) if c in KNOWN_BROKEN else c
        for c in _contract_ids()
    ],
)
def test_import_contract(contract):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    r = subprocess.run(
        [*_lint_imports(), "--config", str(ROOT / "pyproject.toml"), "--contract", contract, "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"import contract {contract!r} broken:\n{r.stdout}\n{r.stderr}"


def test_no_module_import_cycles():
    """No two modules import each other, directly or through others, not even inside functions."""
    grimp = pytest.importorskip("grimp")
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    mods = sorted(graph.modules)
    idx = {m: i for i, m in enumerate(mods)}
    edges = [(idx[m], idx[t]) for m in mods for t in graph.find_modules_directly_imported_by(m)]
    r, c = (np.array(x, np.int64) for x in zip(*edges, strict=True)) if edges else (np.zeros(0, np.int64),) * 2
    adj = coo_matrix((np.ones(r.size), (r, c)), shape=(len(mods), len(mods)))
    n, lab = connected_components(adj, directed=True, connection="strong")
    cycles = [sorted(mods[i] for i in np.flatnonzero(lab == k)) for k in range(n) if (lab == k).sum() > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_module_over_600_lines():
    counts = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            with path.open(encoding="utf-8") as fh:
                counts[path.relative_to(ROOT).as_posix()] = sum(1 for _ in fh)
    new = {p: n for p, n in counts.items() if n > MAX_LINES and p not in OVERSIZED}
    grown = {p: (OVERSIZED[p], counts[p]) for p in OVERSIZED if counts.get(p, 0) > OVERSIZED[p]}
    assert not new, f"modules over {MAX_LINES} lines (split them): {new}"
    assert not grown, f"oversized modules grew (allowed, now): {grown}"


def _private_imports() -> list[str]:
    """``from M import _name`` across modules, other than a private module of the importer's own
    package or an ancestor of it (``from energy.solar import _kernels`` in energy/solar/). The
    aliases of moved modules (``sys.modules[__name__] = moved``, e.g. lidar/_pc_kernels.py) are
    the old paths themselves, not users of the names."""
    import ast

    bad = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT)
            text = path.read_text(encoding="utf-8")
            if "sys.modules[__name__] = " in text:
                continue
            parts = list(rel.with_suffix("").parts)
            own_pkg = parts[:-1]  # the importer's package (for __init__.py: the package itself)
            for node in ast.walk(ast.parse(text)):
                if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
                    continue
                mod = node.module.split(".")
                if mod[0] not in PACKAGES:
                    continue
                for a in node.names:
                    if not a.name.startswith("_") or a.name.startswith("__"):
                        continue
                    target = ROOT.joinpath(*mod, a.name)
                    is_module = target.with_suffix(".py").exists() or (target / "__init__.py").exists()
                    if is_module and own_pkg[: len(mod)] == mod:
                        continue
                    bad.append(f"{rel}:{node.lineno} from {node.module} import {a.name}")
    return bad


def test_no_private_name_imported_across_modules():
    """A private name (``_x``) is used only in its module; a private module only in its package."""
    bad = _private_imports()
    assert not bad, "private names imported across modules (make them public or move them down): " + "; ".join(bad)
