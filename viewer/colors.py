"""Colour maps, colour limits and units for indicator names (units from the glossary)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from citymodel.attribute_registry import attribute_info
from citymodel.attribute_registry import label as registry_label

__all__ = ["units_for", "colormap_for", "clim_for", "is_diverging", "SURFACE_TYPE_COLORS", "label_for"]

_GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.md"
_ROW = re.compile(r"^\|\s*`([A-Za-z0-9_]+)`\s*\|\s*([^|]*?)\s*\|")

#: Units read from a name's last tokens when the glossary does not list it.
_SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_kwh_m2", "kWh/m²"), ("_w_m2k", "W/(m²K)"), ("_w_m2", "W/m²"), ("_kwh", "kWh"),
    ("_mwh", "MWh"), ("_kwp", "kWp"), ("_kw", "kW"), ("_m2", "m²"), ("_m3", "m³"), ("_deg", "°"),
    ("_c", "°C"), ("_k", "K"), ("_m", "m"), ("_s", "s"), ("_pct", "%"),
)

#: Categorical colours of semantic surface types (the usual CityGML palette).
SURFACE_TYPE_COLORS: dict[str, str] = {
    "RoofSurface": "#c0392b", "WallSurface": "#f2efe6", "GroundSurface": "#7f7f7f",
    "ClosureSurface": "#bbbbbb", "OuterCeilingSurface": "#d9d9d9", "OuterFloorSurface": "#a6a6a6",
    "Window": "#6fa8dc", "Door": "#8e5a2b", "": "#dddddd",
}


@functools.lru_cache(maxsize=1)
def _glossary_units() -> dict[str, str]:
    units: dict[str, str] = {}
    if _GLOSSARY.exists():
        for line in _GLOSSARY.read_text(encoding="utf-8").splitlines():
            m = _ROW.match(line)
            if m and m.group(2) not in ("-", "", "unit"):
                units.setdefault(m.group(1), m.group(2))
    return units


def _base(name: str) -> str:
    """The quantity's name without a ``_delta`` or statistic suffix."""
    for suf in ("_delta", "_mean", "_p10", "_p50", "_p90", "_sum"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def units_for(name: str) -> str:
    """Unit of a quantity by name: the glossary's, else read from its suffix; "" when unitless.

    Examples
    --------
    >>> units_for("irradiation_kwh_m2"), units_for("t_surface_c_delta"), units_for("fragility_index")
    ('kWh/m²/a', '°C', '')
    """
    if "_share_over_" in name:
        return "-"
    base = _base(name)
    g = _glossary_units()
    if base in g:
        return g[base].replace("m2", "m²").replace("m3", "m³")
    for suf, unit in _SUFFIX_UNITS:
        if base.endswith(suf):
            return unit
    return ""


_STAT_WORDS = {"_mean": "zone mean", "_p10": "zone 10th percentile", "_p50": "zone median",
               "_p90": "zone 90th percentile", "_sum": "zone total"}


def label_for(name: str) -> str:
    """Legend title in words with the unit in brackets (labels from
    :mod:`citymodel.attribute_registry`; unknown names turned into words, never snake_case).

    Examples
    --------
    >>> label_for("irradiation_kwh_m2")
    'Solar irradiation on the roof [kWh/m²/a]'
    >>> label_for("t_surface_c_delta")
    'Change in surface temperature [°C]'
    >>> label_for("utci_c_share_over_32")
    'Felt temperature (UTCI): share of the zone over 32 [-]'
    """
    if "_share_over_" in name:
        base, _, thr = name.partition("_share_over_")
        return f"{registry_label(base, with_unit=False)}: share of the zone over {thr} [-]"
    base = _base(name)
    suffix = name[len(base):]
    info = attribute_info(base)
    words = registry_label(base, with_unit=False)
    unit = info.unit if info and info.unit else units_for(name)
    if info is None:  # a user's name: drop the unit suffix from the words ("load_kw" -> "Load")
        for suf, _ in _SUFFIX_UNITS:
            if base.endswith(suf) and len(base) > len(suf):
                words = registry_label(base[: -len(suf)], with_unit=False)
                break
    if suffix == "_delta":
        words = f"Change in {words[:1].lower()}{words[1:]}"
    elif suffix in _STAT_WORDS:
        words = f"{words}, {_STAT_WORDS[suffix]}"
    return f"{words} [{unit}]" if unit and unit != "-" else words


def is_diverging(name: str) -> bool:
    """True for differences (scenario minus baseline): names ending in ``_delta`` or ``_diff``."""
    return name.endswith(("_delta", "_diff", "_difference"))


def colormap_for(name: str, diverging: bool | None = None) -> str:
    """A matplotlib colour map name suited to the quantity.

    Diverging (``RdBu_r``, centred on zero) for differences; ``inferno`` for temperatures and
    heat; ``plasma`` for irradiation and PV; ``OrRd`` for fragility and shares; ``YlGnBu`` for
    heating; ``viridis`` otherwise.
    """
    if diverging if diverging is not None else is_diverging(name):
        return "RdBu_r"
    n = name.lower()
    if any(k in n for k in ("t_surface", "tmrt", "utci", "t_air", "_c_", "cooling", "heat_island")) or n.endswith("_c"):
        return "inferno"
    if any(k in n for k in ("irradiation", "irradiance", "pv_", "solar")):
        return "plasma"
    if any(k in n for k in ("fragility", "share", "vulnerab", "over_75")):
        return "OrRd"
    if "heating" in n:
        return "YlGnBu"
    return "viridis"


def clim_for(values: np.ndarray, diverging: bool = False) -> tuple[float, float]:
    """Colour limits: the finite range (symmetric about 0 when ``diverging``); (0, 1) if none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if diverging:
        m = max(abs(lo), abs(hi)) or 1.0
        return (-m, m)
    if hi <= lo:
        return (lo - 0.5, hi + 0.5)
    return (lo, hi)
