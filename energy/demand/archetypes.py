"""Building archetypes: the shipped Italian table, the choice per building, overrides, schedules.

The table (``data/archetypes_it.csv``, sources in its header and ``source`` column) gives per
use and construction period the U-values, internal heat capacities, glazing, window-to-wall
ratios, infiltration, internal gains, setpoints and a schedule name. A building gets the row
of its ``use`` attribute (residential, office, commercial, school) and ``construction_year``.
Missing or unknown values fall back to :data:`DEFAULT_USE` and :data:`DEFAULT_YEAR` and the
building records which (``energy_archetype_default``). Any column can be overridden per
building by an attribute ``energy_<column>`` (e.g. ``energy_u_wall_w_m2k``) or by a user CSV
with a ``building_id`` column; whole layer tables by ``energy_wall_layers`` /
``energy_roof_layers`` / ``energy_floor_layers`` (lists of ``[d_m, k_w_mk, rho_kg_m3,
cp_j_kgk]``, outside to inside) and schedules by ``energy_schedule`` (see
:func:`schedule_tables`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel
from energy.demand.engine import OFF_COOL_C, OFF_HEAT_C, Schedules

__all__ = [
    "ARCHETYPE_COLUMNS",
    "DEFAULT_USE",
    "DEFAULT_YEAR",
    "USES",
    "load_archetypes",
    "assign_archetypes",
    "layers_from_u_kappa",
    "schedule_tables",
    "SCHEDULE_SHAPES",
]

_DATA = Path(__file__).with_name("data")
USES = ("residential", "office", "commercial", "school")
#: Use assumed when a building has no (known) ``use`` attribute.
DEFAULT_USE = "residential"
#: Construction year assumed when a building has none: the 1961-1975 period, the largest
#: share of the Italian housing stock (ISTAT census 2011).
DEFAULT_YEAR = 1970

ARCHETYPE_COLUMNS = (
    "archetype_id", "use", "year_from", "year_to",
    "u_wall_w_m2k", "u_roof_w_m2k", "u_floor_w_m2k", "u_window_w_m2k", "g_window",
    "kappa_wall_kj_m2k", "kappa_roof_kj_m2k", "kappa_floor_kj_m2k",
    "wwr_n", "wwr_e", "wwr_s", "wwr_w",
    "infiltration_ach", "internal_gain_w_m2", "radiant_share", "alpha_wall", "alpha_roof",
    "t_heat_c", "t_heat_setback_c", "t_cool_c", "night_vent_ach", "schedule", "storey_height_m",
    "source",
)
_NUMERIC = [c for c in ARCHETYPE_COLUMNS if c not in ("archetype_id", "use", "schedule", "source")]


def _hours(*ranges: tuple[int, int]) -> np.ndarray:
    m = np.zeros(24, bool)
    for a, b in ranges:
        h = np.arange(24)
        m |= (h >= a) & (h < b) if a < b else (h >= a) | (h < b)
    return m


#: Hourly shapes per schedule name, (weekday, weekend): gains fraction, heating on (else
#: setback), cooling on, night ventilation on.
SCHEDULE_SHAPES: dict[str, dict[str, np.ndarray]] = {
    "residential": {
        "gain": np.stack([
            np.where(_hours((23, 7)), 0.6, np.where(_hours((7, 9), (17, 23)), 1.0, 0.4)),
            np.where(_hours((23, 8)), 0.6, 0.8),
        ]),
        "heat": np.stack([_hours((6, 23))] * 2),
        "cool": np.stack([_hours((0, 24))] * 2),
        "vent": np.stack([_hours((23, 7))] * 2),
    },
    "office": {
        "gain": np.stack([np.where(_hours((8, 18)), 1.0, 0.1), np.full(24, 0.1)]),
        "heat": np.stack([_hours((7, 19)), np.zeros(24, bool)]),
        "cool": np.stack([_hours((8, 18)), np.zeros(24, bool)]),
        "vent": np.zeros((2, 24), bool),
    },
    "commercial": {
        "gain": np.stack([np.where(_hours((9, 20)), 1.0, 0.1), np.where(_hours((9, 20)), 0.8, 0.1)]),
        "heat": np.stack([_hours((8, 20)), _hours((8, 20))]),
        "cool": np.stack([_hours((9, 20)), _hours((9, 20))]),
        "vent": np.zeros((2, 24), bool),
    },
    "school": {
        "gain": np.stack([np.where(_hours((8, 14)), 1.0, np.where(_hours((14, 17)), 0.3, 0.05)), np.full(24, 0.05)]),
        "heat": np.stack([_hours((7, 16)), np.zeros(24, bool)]),
        "cool": np.zeros((2, 24), bool),
        "vent": np.stack([_hours((22, 6))] * 2),
    },
}


def load_archetypes(spec: str | os.PathLike | pd.DataFrame = "IT") -> pd.DataFrame:
    """Read an archetype table: ``"IT"`` (shipped) or a CSV path; checks the columns.

    A CSV with a ``building_id`` column is a table of per-building overrides instead: it is
    returned as is (see :func:`assign_archetypes`).

    Raises
    ------
    InputError
        File missing, or columns missing (all listed), or non-numeric values.
    """
    if isinstance(spec, pd.DataFrame):
        df, where = spec.copy(), "archetype table"
    else:
        if isinstance(spec, str) and spec.upper() == "IT":
            path = _DATA / "archetypes_it.csv"
        else:
            path = Path(spec)
        if not path.is_file():
            raise InputError(f"{path}: archetype table not found; give 'IT' or a CSV file")
        try:
            df = pd.read_csv(path, comment="#")
        except Exception as exc:  # pandas parser errors
            raise InputError(f"{path}: cannot read the archetype CSV ({exc})") from exc
        where = str(path)
    if "building_id" in df.columns:
        df["building_id"] = df["building_id"].astype(str)
        return df.set_index("building_id")
    missing = [c for c in ARCHETYPE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}: archetype table lacks columns {', '.join(missing)}; "
            f"the columns are {', '.join(ARCHETYPE_COLUMNS)} (see energy/demand/data/archetypes_it.csv)"
        )
    for c in _NUMERIC:
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any():
            row = int(np.flatnonzero(v.isna().to_numpy())[0])
            raise InputError(f"{where}: column {c!r} has a non-numeric value in data row {row + 1}")
        df[c] = v.astype(float)
    bad = sorted(set(df["schedule"]) - set(SCHEDULE_SHAPES))
    if bad:
        raise InputError(f"{where}: unknown schedule names {bad}; use one of {sorted(SCHEDULE_SHAPES)}")
    return df.reset_index(drop=True)


def assign_archetypes(model: CityModel, building_ids: list[str], table: pd.DataFrame,
                      overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """One archetype row per building, with defaults recorded and overrides applied.

    Parameters
    ----------
    model : CityModel
        Source of the ``use``, ``construction_year`` and ``energy_*`` attributes.
    building_ids : list[str]
    table : DataFrame
        From :func:`load_archetypes`.
    overrides : DataFrame, optional
        Per-building overrides indexed by building id (columns of the table).

    Returns
    -------
    DataFrame
        Indexed by building id: the archetype columns plus ``archetype_default`` ("",
        "use", "year" or "use,year"), and object columns ``wall_layers``, ``roof_layers``,
        ``floor_layers``, ``schedule_spec`` (None where not overridden).
    """
    nb_ = len(building_ids)
    attrs = [model.city_objects[i].get("attributes", {}) or {} for i in building_ids]
    use = np.array([str(a.get("use", "")).strip().lower() for a in attrs], dtype=object)
    year = pd.to_numeric(pd.Series([a.get("construction_year") for a in attrs], dtype=object),
                         errors="coerce").to_numpy(float)
    bad_use = ~np.isin(use, table["use"].unique())
    bad_year = ~np.isfinite(year)
    use = np.where(bad_use, DEFAULT_USE, use)
    year = np.where(bad_year, DEFAULT_YEAR, year)
    # row lookup: same use, year within [year_from, year_to] (vectorised by a merge)
    t = table.reset_index(drop=True)
    keys = pd.DataFrame({"use": use, "k": np.arange(nb_)})
    cand = keys.merge(t.reset_index().rename(columns={"index": "row"})[["use", "row", "year_from", "year_to"]], on="use")
    yr = year[cand["k"].to_numpy()]
    inside = (yr >= cand["year_from"].to_numpy()) & (yr <= cand["year_to"].to_numpy())
    dist = np.where(inside, 0.0, np.minimum(np.abs(yr - cand["year_from"].to_numpy()), np.abs(yr - cand["year_to"].to_numpy())))
    cand = cand.assign(dist=dist).sort_values(["k", "dist"]).drop_duplicates("k")
    row = np.full(nb_, -1, np.int64)
    row[cand["k"].to_numpy()] = cand["row"].to_numpy()
    if (row < 0).any():
        raise InputError(f"archetype table has no row for use {DEFAULT_USE!r}; add one")
    out = t.iloc[row].reset_index(drop=True)
    out.index = pd.Index(building_ids, name="building_id")
    out["archetype_default"] = np.where(bad_use & bad_year, "use,year", np.where(bad_use, "use", np.where(bad_year, "year", "")))
    # attribute overrides
    for c in _NUMERIC:
        v = pd.to_numeric(pd.Series([a.get(f"energy_{c}") for a in attrs], dtype=object), errors="coerce").to_numpy(float)
        ok = np.isfinite(v)
        if ok.any():
            out.loc[ok, c] = v[ok]
    for c in ("wall_layers", "roof_layers", "floor_layers", "schedule_spec"):
        key = "energy_schedule" if c == "schedule_spec" else f"energy_{c}"
        out[c] = pd.Series([a.get(key) for a in attrs], index=out.index, dtype=object)
    sch = [a.get("energy_schedule") for a in attrs]
    named = np.array([isinstance(s, str) for s in sch])
    if named.any():
        out.loc[named, "schedule"] = [s for s in sch if isinstance(s, str)]
        out.loc[named, "schedule_spec"] = None
    if overrides is not None and len(overrides):
        common = out.index.intersection(overrides.index)
        for c in overrides.columns:
            if c in out.columns and c not in ("archetype_id",):
                vals = overrides.loc[common, c]
                ok = vals.notna().to_numpy()
                out.loc[common[ok], c] = vals[ok].to_numpy()
    return out


def layers_from_u_kappa(u_w_m2k: np.ndarray, kappa_kj_m2k: np.ndarray, r_films_m2k_w: float) -> np.ndarray:
    """A two-layer construction with a given U-value and internal heat capacity.

    Outside: a light insulating layer with the remaining resistance; inside: a masonry layer
    (rho c = 1.8 MJ/m3K, k = 0.9 W/mK) whose heat capacity is ``kappa``. Where the masonry
    alone would exceed the resistance, its conductivity is raised to fit.

    Parameters
    ----------
    u_w_m2k, kappa_kj_m2k : (nb,) float64
        U-value with surface films [W/m2K] and internal areal heat capacity [kJ/m2K].
    r_films_m2k_w : float
        Inside + outside surface resistance of the network [m2K/W].

    Returns
    -------
    (nb, 2, 4) float64
        Layers (thickness, conductivity, density, specific heat), outside first.
    """
    u = np.asarray(u_w_m2k, float)
    if np.any(~np.isfinite(u) | (u <= 0)):
        raise InputError("U-values must be positive")
    r_layers = np.maximum(1.0 / u - r_films_m2k_w, 0.02)
    rho_c = 1.8e6
    d_m = np.maximum(np.asarray(kappa_kj_m2k, float), 1.0) * 1e3 / rho_c
    k_m = np.maximum(0.9, d_m / (0.8 * r_layers))
    r_m = d_m / k_m
    r_ins = np.maximum(r_layers - r_m, 1e-3)
    out = np.zeros((len(u), 2, 4))
    out[:, 0] = np.column_stack([r_ins * 0.04, np.full(len(u), 0.04), np.full(len(u), 30.0), np.full(len(u), 1000.0)])
    out[:, 1] = np.column_stack([d_m, k_m, np.full(len(u), 1800.0), np.full(len(u), 1000.0)])
    return out


def _as24(v: Any, default: np.ndarray) -> np.ndarray:
    if v is None:
        return default
    a = np.asarray(v, float)
    if a.ndim == 0:
        return np.full((2, 24), float(a))
    if a.shape == (24,):
        return np.stack([a, a])
    if a.shape == (2, 24):
        return a
    raise InputError(f"schedule values must be a number, 24 values or 2 x 24 values, got shape {a.shape}")


def schedule_tables(params: pd.DataFrame) -> tuple[Schedules, np.ndarray]:
    """Schedule rows for the buildings' archetypes and overrides.

    Each distinct (schedule name, setpoints, override) makes one row. An ``energy_schedule``
    override is a dict with any of ``gain_frac``, ``t_heat_c``, ``t_cool_c``, ``vent_frac``
    (a number, 24 hourly values for every day, or 2 x 24 for weekday/weekend; heating
    ``-999`` / cooling ``999`` mean off) and ``vent_when_cooler`` (bool).

    Returns
    -------
    Schedules, (nb,) int64
        The tables and each building's row.
    """
    key = (params["schedule"].astype(str) + "|" + params["t_heat_c"].astype(str) + "|"
           + params["t_heat_setback_c"].astype(str) + "|" + params["t_cool_c"].astype(str) + "|"
           + params["schedule_spec"].map(lambda s: "" if s is None or (isinstance(s, float) and np.isnan(s)) else repr(s)))
    uniq, first, inv = np.unique(key.to_numpy(str), return_index=True, return_inverse=True)
    n = len(uniq)
    gain = np.zeros((n, 2, 24))
    heat = np.zeros((n, 2, 24))
    cool = np.zeros((n, 2, 24))
    vent = np.zeros((n, 2, 24))
    cond = np.zeros(n, np.int64)
    names = []
    for r, i in enumerate(first):  # one iteration per distinct schedule, not per building
        p = params.iloc[i]
        shape = SCHEDULE_SHAPES[str(p["schedule"])]
        gain[r] = shape["gain"]
        heat[r] = np.where(shape["heat"], p["t_heat_c"], p["t_heat_setback_c"])
        cool[r] = np.where(shape["cool"], p["t_cool_c"], OFF_COOL_C)
        vent[r] = shape["vent"].astype(float)
        cond[r] = 1
        spec = p["schedule_spec"]
        if isinstance(spec, dict):
            gain[r] = _as24(spec.get("gain_frac"), gain[r])
            heat[r] = _as24(spec.get("t_heat_c"), heat[r])
            cool[r] = _as24(spec.get("t_cool_c"), cool[r])
            vent[r] = _as24(spec.get("vent_frac"), vent[r])
            cond[r] = int(bool(spec.get("vent_when_cooler", True)))
        heat[r] = np.where(heat[r] <= OFF_HEAT_C, OFF_HEAT_C, heat[r])
        names.append(str(p["schedule"]))
    return Schedules(names, gain, heat, cool, vent, cond), inv.astype(np.int64)
