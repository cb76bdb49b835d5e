"""Sphinx configuration of the citymodel user guide (built by tests/test_docs.py with -W)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "citymodel"
author = "citymodel developers"
copyright = "2026, citymodel developers"  # noqa: A001 (Sphinx's name)

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README*"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# numpydoc-style docstrings through napoleon (no extra dependency)
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True  # dataclass "Attributes" sections as fields, not duplicate objects
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
# heavy optional back-ends are not needed to read the docstrings
autodoc_mock_imports = ["PySide6", "pyvistaqt", "pdal", "cjio", "solweig", "uwg", "pyenergyplus"]
suppress_warnings = ["myst.header", "myst.xref_missing", "toc.not_included", "ref.python"]  # ref.python: "(n,)" shapes read as ambiguous names

html_theme = "alabaster"
html_title = "citymodel user guide"
html_static_path: list[str] = []


# --- API reference: one page per public module, generated so it never falls behind the code
PACKAGES = {
    "citymodel": "The city model, CityJSON I/O, geometry, validation, civic layers, synthetic district",
    "lidar": "LiDAR to buildings, terrain and vegetation",
    "energy": "Weather, sun and sky, the solar solver, the building energy model",
    "microclimate": "Street-level heat: surface temperatures, mean radiant temperature, UTCI",
    "viewer": "Scenes, off-screen rendering and the desktop viewer",
}


def _public_modules(package: str) -> list[tuple[str, bool]]:
    base = ROOT / package
    out = []
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if any(p.startswith("_") and p != "__init__" for p in parts) or "cli" in parts:
            continue  # private modules, and the commands (documented by --help and the tutorials)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out.append((".".join(parts), is_package))
    return out


def _write_api_pages() -> None:
    api = Path(__file__).parent / "api"
    api.mkdir(exist_ok=True)
    index = ["API reference", "=============", "",
             "Every public module, generated from the numpydoc docstrings.", ""]
    for pkg, blurb in PACKAGES.items():
        mods = _public_modules(pkg)
        index += [f"``{pkg}``: {blurb}", "-" * (len(pkg) + 6 + len(blurb)), "", ".. toctree::",
                  "   :maxdepth: 1", ""]
        for mod, is_package in mods:
            index.append(f"   {mod}")
            # a package page holds its docstring only: its members are documented where defined
            opts = "   :no-members:\n" if is_package else ""
            text = f"``{mod}``\n{'=' * (len(mod) + 4)}\n\n.. automodule:: {mod}\n{opts}"
            page = api / f"{mod}.rst"
            if not page.exists() or page.read_text() != text:
                page.write_text(text)
        index.append("")
    (api / "index.rst").write_text("\n".join(index) + "\n")


_write_api_pages()
