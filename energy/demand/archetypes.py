"""Building archetypes: the shipped tables, the choice per building, overrides, schedules.

The tables (``data/archetypes_it.csv``, ``_nl.csv``, ``_de.csv``; sources in their headers and
``source`` / ``tabula_code`` columns) give per use, construction period and (NL, DE) TABULA
size class (SFH, TH, MFH, AB) the U-values, internal heat capacities, glazing, window-to-wall
ratios, air change rates, internal gains, setpoints and a schedule name. A building gets the
row of its use and construction year, read from the attribute names real files use
(:mod:`energy.demand.attributes`: 3DBAG ``oorspronkelijk_bouwjaar``, BAG ``gebruiksdoel``,
CityGML ``yearOfConstruction`` / ``function``, OSM ``start_date`` / ``building``, ...), and its
size class from its use value or geometry (:func:`size_class`). Missing or unknown values fall
back to :data:`DEFAULT_USE` and :data:`DEFAULT_YEAR`, and every building records its
``archetype``, ``archetype_from`` (attribute / user table / default) and ``archetype_why``.
Sheds and garages (by use) and buildings under :data:`MIN_FLOOR_AREA_M2` of floor are
unconditioned and not simulated. Any column can be overridden per
building by an attribute ``energy_<column>`` (e.g. ``energy_u_wall_w_m2k``) or by a user CSV
with a ``building_id`` column; whole layer tables by ``energy_wall_layers`` /
``energy_roof_layers`` / ``energy_floor_layers`` (lists of ``[d_m, k_w_mk, rho_kg_m3,
cp_j_kgk]``, outside to inside) and schedules by ``energy_schedule`` (see
:func:`schedule_tables`).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel
from energy.demand.attributes import BuildingFacts, read_building_facts
from energy.demand.engine import OFF_COOL_C, OFF_HEAT_C, Schedules

logger = logging.getLogger(__name__)

__all__ = [
    "ARCHETYPE_COLUMNS",
    "DEFAULT_USE",
    "DEFAULT_YEAR",
    "USES",
    "COUNTRIES",
    "SIZE_CLASSES",
    "MIN_FLOOR_AREA_M2",
    "OPTIONAL_COLUMNS",
    "load_archetypes",
    "assign_archetypes",
    "archetype_summary",
    "summary_lines",
    "building_parameters",
    "size_class",
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
#: Shipped tables: Italy, the Netherlands, Germany.
COUNTRIES = ("IT", "NL", "DE")
#: TABULA building size classes: single family, terraced, multi-family house, apartment block.
SIZE_CLASSES = ("SFH", "TH", "MFH", "AB")
#: Buildings with less floor area (footprint x storeys) are unconditioned (sheds) [m2].
MIN_FLOOR_AREA_M2 = 20.0

ARCHETYPE_COLUMNS = (
    "archetype_id", "use", "year_from", "year_to",
    "u_wall_w_m2k", "u_roof_w_m2k", "u_floor_w_m2k", "u_window_w_m2k", "g_window",
    "kappa_wall_kj_m2k", "kappa_roof_kj_m2k", "kappa_floor_kj_m2k",
    "wwr_n", "wwr_e", "wwr_s", "wwr_w",
    "infiltration_ach", "internal_gain_w_m2", "radiant_share", "alpha_wall", "alpha_roof",
    "t_heat_c", "t_heat_setback_c", "t_cool_c", "night_vent_ach", "schedule", "storey_height_m",
    "source",
)
#: Columns a table may also have.
OPTIONAL_COLUMNS = ("building_type", "tabula_code")
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


def _table_path(spec: str | os.PathLike) -> tuple[Path, bool]:
    """Path of a table spec and whether it is a shipped one."""
    if isinstance(spec, str) and spec.upper() in COUNTRIES:
        return _DATA / f"archetypes_{spec.lower()}.csv", True
    return Path(spec), False


def _check_periods(df: pd.DataFrame, where: str) -> None:
    """Every (use, building type) group must tile its years without gaps or overlaps."""
    for (use, bt), g in df.groupby(["use", "building_type"], sort=True):
        g = g.sort_values("year_from")
        y0, y1 = g["year_from"].to_numpy(), g["year_to"].to_numpy()
        ids = g["archetype_id"].astype(str).to_numpy()
        what = f"use {use!r}" + ("" if bt == "all" else f", building type {bt!r}")
        bad = np.flatnonzero(y1 < y0)
        if len(bad):
            raise InputError(f"{where}: row {ids[bad[0]]} of {what} ends ({y1[bad[0]]:.0f}) before it starts ({y0[bad[0]]:.0f})")
        for k in range(len(g) - 1):
            if y0[k + 1] > y1[k] + 1:
                raise InputError(
                    f"{where}: {what} has no row for the years {y1[k] + 1:.0f}-{y0[k + 1] - 1:.0f} "
                    f"(a gap between rows {ids[k]} and {ids[k + 1]}); add a row or widen one"
                )
            if y0[k + 1] <= y1[k]:
                raise InputError(
                    f"{where}: {what} has overlapping rows {ids[k]} ({y0[k]:.0f}-{y1[k]:.0f}) and "
                    f"{ids[k + 1]} ({y0[k + 1]:.0f}-{y1[k + 1]:.0f}); make the periods follow each other"
                )


def load_archetypes(spec: str | os.PathLike | pd.DataFrame = "IT") -> pd.DataFrame:
    """Read an archetype table: ``"IT"``, ``"NL"``, ``"DE"`` (shipped) or a CSV path.

    A table has the :data:`ARCHETYPE_COLUMNS` and may have :data:`OPTIONAL_COLUMNS`
    (``building_type``: TABULA size class SFH / TH / MFH / AB, or ``all``; ``tabula_code``).
    A CSV with a ``building_id`` column is a table of per-building overrides instead: it is
    returned as is, indexed by building id (see :func:`assign_archetypes`).

    Raises
    ------
    InputError
        File missing; columns missing or unknown (all listed); non-numeric values; unknown
        schedule names; a gap or overlap in the construction periods of a use (which years).
    """
    if isinstance(spec, pd.DataFrame):
        df, where = spec.copy(), "archetype table"
    else:
        path, _ = _table_path(spec)
        if not path.is_file():
            raise InputError(f"{path}: archetype table not found; give IT, NL, DE or a CSV file (--archetypes)")
        try:
            df = pd.read_csv(path, comment="#")
        except Exception as exc:  # pandas parser errors
            raise InputError(f"{path}: cannot read the archetype CSV ({exc})") from exc
        where = str(path)
    if "building_id" in df.columns:
        df["building_id"] = df["building_id"].astype(str)
        unknown = [c for c in df.columns if c not in (*ARCHETYPE_COLUMNS, "building_id") or c == "archetype_id"]
        if unknown:
            raise InputError(f"{where}: per-building override table has unknown columns {', '.join(unknown)}; "
                             f"use building_id and columns of {', '.join(_NUMERIC)}")
        return df.set_index("building_id")
    missing = [c for c in ARCHETYPE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}: archetype table lacks columns {', '.join(missing)}; "
            f"the columns are {', '.join(ARCHETYPE_COLUMNS)} (see energy/demand/data/archetypes_it.csv)"
        )
    unknown = [c for c in df.columns if c not in ARCHETYPE_COLUMNS and c not in OPTIONAL_COLUMNS]
    if unknown:
        raise InputError(
            f"{where}: archetype table has unknown columns {', '.join(unknown)}; the columns are "
            f"{', '.join(ARCHETYPE_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)}"
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
    df["use"] = df["use"].astype(str).str.strip().str.lower()
    bt = df["building_type"] if "building_type" in df.columns else pd.Series("all", index=df.index)
    df["building_type"] = bt.fillna("all").astype(str).str.strip().replace("", "all")
    bad_bt = sorted(set(df["building_type"]) - {*SIZE_CLASSES, "all"})
    if bad_bt:
        raise InputError(f"{where}: unknown building_type values {bad_bt}; use {', '.join(SIZE_CLASSES)} or all")
    _check_periods(df, where)
    return df.reset_index(drop=True)


def size_class(facts: BuildingFacts, envelope: Any) -> tuple[np.ndarray, np.ndarray]:
    """TABULA size class per building (SFH, TH, MFH, AB) and where it came from.

    From the use value's hint (OSM ``terrace``, ``detached``, ...) where given, else from the
    geometry: 5+ storeys or more than 1500 m2 of floor: AB; shared walls over 10 % of the wall
    area and at most 400 m2: TH; at most 400 m2 and 3 storeys: SFH; otherwise MFH. Without
    an envelope the class is MFH (recorded as a default).
    """
    hint = np.asarray(facts.type_hint, dtype=object)
    n = len(hint)
    if envelope is None:
        geo, src = np.full(n, "MFH", dtype=object), np.full(n, "default (no geometry)", dtype=object)
    else:
        storeys = np.where(np.isfinite(facts.storeys), facts.storeys, envelope.storeys)
        floor = envelope.ground_area_m2 * storeys
        party = envelope.party_wall_area_m2
        share = party / np.maximum(party + envelope.wall_area_m2.sum(axis=1), 1e-9)
        geo = np.where((storeys >= 5) | (floor > 1500), "AB",
                       np.where((share > 0.1) & (floor <= 400), "TH",
                                np.where((floor <= 400) & (storeys <= 3), "SFH", "MFH"))).astype(object)
        src = np.full(n, "geometry", dtype=object)
    given = hint != ""
    return np.where(given, hint, geo), np.where(given, "use attribute", src)


def _fmt_year(y: float) -> str:
    return str(int(y)) if y == y else "?"


def assign_archetypes(model: CityModel, building_ids: list[str], table: pd.DataFrame,
                      overrides: pd.DataFrame | None = None, *, facts: BuildingFacts | None = None,
                      envelope: Any = None, user_table: bool = False,
                      min_floor_area_m2: float = MIN_FLOOR_AREA_M2) -> pd.DataFrame:
    """One archetype row per building, with its provenance, defaults and overrides.

    Parameters
    ----------
    model : CityModel
        Source of the attributes (year, use, storeys: see :mod:`energy.demand.attributes`)
        and of the ``energy_*`` overrides.
    building_ids : list[str]
    table : DataFrame
        From :func:`load_archetypes`.
    overrides : DataFrame, optional
        Per-building overrides indexed by building id (columns of the table).
    facts : BuildingFacts, optional
        From :func:`energy.demand.attributes.read_building_facts` (read with the recognised
        attribute names when not given).
    envelope : Envelope, optional
        Geometry of the same buildings: size class (tables with ``building_type``) and the
        floor area of the small-building test.
    user_table : bool
        ``table`` is the user's (``archetype_from`` says "user table").
    min_floor_area_m2 : float
        Buildings with less floor (footprint x storeys) are unconditioned [m2].

    Returns
    -------
    DataFrame
        Indexed by building id: the archetype columns plus ``archetype`` (the id, or
        ``unconditioned``), ``archetype_from`` ("attribute", "user table" or "default"),
        ``archetype_why``, ``archetype_default`` ("", "use", "year" or "use,year"),
        ``conditioned`` (bool), ``storeys`` (NaN where no attribute), ``building_type``, and
        object columns ``wall_layers``, ``roof_layers``, ``floor_layers``, ``schedule_spec``.
    """
    nb_ = len(building_ids)
    if facts is None:
        facts = read_building_facts(model, building_ids)
    attrs = [model.city_objects[i].get("attributes", {}) or {} for i in building_ids]
    uncond_use = facts.use == "unconditioned"
    bad_use = ~np.isin(facts.use, table["use"].unique()) & ~uncond_use
    bad_year = ~np.isfinite(facts.year)
    use = np.where(bad_use | uncond_use, DEFAULT_USE, facts.use)
    year = np.where(bad_year, DEFAULT_YEAR, facts.year)
    typed = set(table.loc[table["building_type"] != "all", "use"])
    cls, cls_from = size_class(facts, envelope)
    btype = np.where(np.isin(use, list(typed)), cls, "all")
    # row lookup: same use and size class, year within [year_from, year_to] (a merge)
    t = table.reset_index(drop=True)
    keys = pd.DataFrame({"use": use, "building_type": btype, "k": np.arange(nb_)})
    cols = ["use", "building_type", "row", "year_from", "year_to"]
    cand = keys.merge(t.reset_index().rename(columns={"index": "row"})[cols], on=["use", "building_type"])
    yr = year[cand["k"].to_numpy()]
    y0, y1 = cand["year_from"].to_numpy(), cand["year_to"].to_numpy()
    dist = np.where((yr >= y0) & (yr <= y1), 0.0, np.minimum(np.abs(yr - y0), np.abs(yr - y1)))
    cand = cand.assign(dist=dist).sort_values(["k", "dist"]).drop_duplicates("k")
    row = np.full(nb_, -1, np.int64)
    row[cand["k"].to_numpy()] = cand["row"].to_numpy()
    if (row < 0).any():
        k = int(np.flatnonzero(row < 0)[0])
        raise InputError(f"archetype table has no row for use {use[k]!r}, building type {btype[k]!r}; add one")
    out = t.iloc[row].reset_index(drop=True)
    out.index = pd.Index(building_ids, name="building_id")
    out["archetype_default"] = np.where(bad_use & bad_year, "use,year", np.where(bad_use, "use", np.where(bad_year, "year", "")))
    out["storeys"] = facts.storeys
    # small and unheated buildings
    if envelope is not None:
        st = np.where(np.isfinite(facts.storeys), facts.storeys, envelope.storeys)
        small = envelope.ground_area_m2 * st < min_floor_area_m2
    else:
        small = np.zeros(nb_, bool)
    out["conditioned"] = ~(uncond_use | small)
    why = []
    for k in range(nb_):  # one short text per building
        if uncond_use[k]:
            why.append(f"unconditioned: use {facts.use_raw[k]!r} from {facts.use_from[k]} is not heated")
            continue
        if small[k]:
            why.append(f"unconditioned: floor area below {min_floor_area_m2:g} m2")
            continue
        yw = (f"year {_fmt_year(facts.year[k])} from {facts.year_from[k]}" if not bad_year[k] else
              f"year {DEFAULT_YEAR} (default: {facts.year_attr[k] + ' unreadable' if facts.year_attr[k] else 'no year attribute'})")
        if bad_use[k]:
            uw = (f"use {DEFAULT_USE} (default: {facts.use_raw[k]!r} from {facts.use_from[k]} maps to no use)"
                  if facts.use_from[k] else f"use {DEFAULT_USE} (default: no use attribute)")
        else:
            uw = f"use {use[k]} from {facts.use_from[k]}"
        tw = f"; type {btype[k]} from {cls_from[k]}" if btype[k] != "all" else ""
        why.append(f"{yw}; {uw}{tw}")
    out["archetype"] = np.where(out["conditioned"], out["archetype_id"], "unconditioned")
    # the period is the key of an archetype: "default" when the year fell back (a use that fell
    # back is recorded in archetype_default, archetype_why and the summary's fallbacks)
    out["archetype_from"] = np.where(bad_year, "default", "user table" if user_table else "attribute")
    out["archetype_why"] = why
    # attribute overrides (only the energy_* names some building has)
    present = {k for a in attrs for k in a if k.startswith("energy_")}
    for c in _NUMERIC:
        if f"energy_{c}" not in present:
            continue
        v = pd.to_numeric(pd.Series([a.get(f"energy_{c}") for a in attrs], dtype=object), errors="coerce").to_numpy(float)
        ok = np.isfinite(v)
        if ok.any():
            out.loc[ok, c] = v[ok]
    for c in ("wall_layers", "roof_layers", "floor_layers", "schedule_spec"):
        key = "energy_schedule" if c == "schedule_spec" else f"energy_{c}"
        out[c] = pd.Series([a.get(key) for a in attrs] if key in present else None, index=out.index, dtype=object)
    sch = [a.get("energy_schedule") for a in attrs] if "energy_schedule" in present else []
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
        out.loc[common, "archetype_from"] = np.where(out.loc[common, "conditioned"], "user table",
                                                     out.loc[common, "archetype_from"])
        out.loc[common, "archetype_why"] = out.loc[common, "archetype_why"] + "; per-building values from the user table"
    return out


def archetype_summary(params: pd.DataFrame, facts: BuildingFacts, table_name: str) -> dict[str, Any]:
    """Counts per archetype, provenance and fallbacks (for logs, the CLI and result files)."""
    cond = params["conditioned"].to_numpy(bool)
    why = params["archetype_why"].astype(str)
    dflt = params["archetype_default"].astype(str)
    fallbacks = {
        "no year attribute": int(((dflt.str.contains("year")) & (facts.year_from == "") & cond
                                  & ~why.str.contains("unreadable")).sum()),
        "year not readable": int((why.str.contains("unreadable") & cond).sum()),
        "no use attribute": int((dflt.str.contains("use") & (facts.use_from == "") & cond).sum()),
        "use not mapped": int((dflt.str.contains("use") & (facts.use_from != "") & cond).sum()),
    }
    return {
        "table": table_name,
        "buildings": int(len(params)),
        "simulated": int(cond.sum()),
        "unconditioned": {
            "by use": int(why.str.startswith("unconditioned: use").sum()),
            "by floor area": int(why.str.startswith("unconditioned: floor").sum()),
        },
        "per_archetype": {str(k): int(v) for k, v in params["archetype"].value_counts().sort_index().items()},
        "archetype_from": {str(k): int(v) for k, v in params.loc[cond, "archetype_from"].value_counts().items()},
        "fallbacks": {k: v for k, v in fallbacks.items() if v},
        "default_use": DEFAULT_USE,
        "default_year": DEFAULT_YEAR,
        "unmapped_uses": dict(facts.unmapped_uses.most_common()),
        "unreadable_years": dict(facts.year_unreadable.most_common(20)),
        "fields": {
            "year": dict(Counter(x for x in facts.year_from if x)),
            "use": dict(Counter(x for x in facts.use_from if x)),
            "storeys": dict(Counter(x for x in facts.storeys_from if x)),
        },
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as a few lines of text (printed at the end of ``citymodel energy``)."""
    s = summary
    lines = [f"archetypes ({s['table']}): {s['simulated']} of {s['buildings']} buildings simulated; "
             + ", ".join(f"{k} {v}" for k, v in s["per_archetype"].items())]
    u = s["unconditioned"]
    if u["by use"] or u["by floor area"]:
        lines.append(f"not simulated (unconditioned): {u['by use']} by use (sheds, garages), "
                     f"{u['by floor area']} below the floor-area threshold")
    lines.append("archetype from: " + ", ".join(f"{k} {v}" for k, v in s["archetype_from"].items()))
    if s["fallbacks"]:
        lines.append("fell back to a default: " + ", ".join(f"{k} {v}" for k, v in s["fallbacks"].items())
                     + f" (default use {s['default_use']}, year {s['default_year']})")
    if s["unmapped_uses"]:
        lines.append("use values that map to nothing (default used): "
                     + ", ".join(f"{k!r} x{v}" for k, v in s["unmapped_uses"].items()))
    if s["unreadable_years"]:
        lines.append("year values without a year (default used): "
                     + ", ".join(f"{k!r} x{v}" for k, v in s["unreadable_years"].items()))
    return lines


def building_parameters(model: CityModel, ids: list[str], envelope: Any = None, *,
                        archetypes: str | os.PathLike | pd.DataFrame = "IT", country: str | None = None,
                        year_field: str | None = None, use_field: str | None = None,
                        storeys_field: str | None = None, min_floor_area_m2: float = MIN_FLOOR_AREA_M2,
                        log: bool = True) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Archetype parameters and provenance of ``ids``, and the summary; logs the fallbacks.

    Parameters
    ----------
    archetypes : "IT", "NL", "DE", path or DataFrame
        A shipped table, the user's table (CLI ``--archetypes``), or a CSV of per-building
        overrides (with ``building_id``) applied on top of the ``country`` table.
    country : "IT", "NL" or "DE", optional
        The shipped table to use when ``archetypes`` is not a table (default IT).
    year_field, use_field, storeys_field : str, optional
        Attribute names (CLI ``--year-field`` ...), else the recognised names.
    min_floor_area_m2 : float
        Smaller buildings are unconditioned and not simulated [m2].
    log : bool
        Log the fallbacks and unmapped values as warnings.
    """
    country = (country or "IT").upper()
    if country not in COUNTRIES:
        raise InputError(f"--country {country}: give one of {', '.join(COUNTRIES)}")
    builtin = isinstance(archetypes, str) and archetypes.upper() in COUNTRIES
    table = load_archetypes(archetypes)
    name = archetypes.upper() if builtin else ("user table" if isinstance(archetypes, pd.DataFrame) else str(archetypes))
    overrides = None
    if "archetype_id" not in table.columns:  # per-building overrides on the country table
        overrides, table, name = table, load_archetypes(country), f"{country} + {name}"
    facts = read_building_facts(model, ids, year_field=year_field, use_field=use_field, storeys_field=storeys_field)
    params = assign_archetypes(model, ids, table, overrides, facts=facts, envelope=envelope,
                               user_table=not builtin and overrides is None, min_floor_area_m2=min_floor_area_m2)
    summary = archetype_summary(params, facts, name)
    for line in summary_lines(summary)[1:] if log else []:
        if line.startswith(("fell back", "use values", "year values", "not simulated")):
            logger.warning("%s: %s", model.source or "model", line)
    return params, summary


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
