"""A heat study: baseline and mitigation scenarios, canopy air, and who is exposed.

:func:`run_heat_study` is the library entry point of ``citymodel heat ... --scenario NAME
--scenario-file S.toml --zones Z.gpkg --fragility FIELD --population-field NAME``. It writes::

    DIR/canopy.csv              zone_id, time, t_canopy_c, t_rural_c, uhi_k (baseline)
    DIR/*.tif, summary.json     the street-level maps of the baseline (microclimate.outputs)
    DIR/zones.csv               per-zone figures of the baseline
    DIR/<scenario>/             the same files for each scenario, plus delta_*.tif maps
    DIR/scenarios.csv           per scenario and zone: changes and the cost proxy
    DIR/exposure.csv            per zone and run: strong-heat hours, person-hours, fragility
    DIR/equity.csv              per run: concentration index of exposure across fragility

Options of ``citymodel heat`` and the arguments they map to: ``MODEL.city.json`` -> ``model``
(read with :func:`citymodel.io.read`), ``--weather`` -> ``weather``, ``--period`` ->
``period``, ``--out`` -> ``out_dir``, ``--zones`` -> ``zones``, ``--fragility`` ->
``fragility``, ``--population-field`` -> ``population_field``, ``--scenario`` (repeatable) ->
``scenarios``, ``--scenario-file`` -> ``scenario_file``, ``--tree-positions`` ->
``tree_positions``, ``--grid-m`` -> ``grid_m``, ``--grid-block`` -> ``block_m``.

Work done once and reused: the grid geometry (sky views, ray scene) for every scenario that
changes only albedo (cool and green roofs leave the street grid as it is; light paving swaps the
paved cells' land cover on the same geometry); the roofs' and walls' solar solve and energy
model (``prepared=``); trees need a new ray scene (their crowns shade). A scenario that changes
nothing gives zero deltas exactly (same arrays, not a re-run).

Limitations, stated: the roofs' and walls' solar solve is not redone for planted trees (their
shade on facades is left out: the walls' change is conservative); green roofs reach the energy
model through their albedo only (not their substrate or evaporation); the energy model's
overheating hours count the run's rows (spin-up included), in its free-running twin.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from citymodel._fileutil import atomic_path
from citymodel.civic.zones import Zones, read_zones, reproject_zones
from citymodel.errors import InputError
from citymodel.model import CityModel
from citymodel.vegetation import tree_table
from energy.demand.simulate import simulate
from microclimate.canopy import CanopyResult, canopy_air_temperature, waste_heat_w
from microclimate.exposure import (
    check_zone_fields,
    exposure_concentration,
    zone_exposure,
    zone_index_raster,
    zone_means,
)
from microclimate.forcing import load_forcing
from microclimate.grid import prepare_grid, run_grid
from microclimate.heightfield import cell_centres
from microclimate.model_rasters import model_to_rasters
from microclimate.neighbourhoods import grid_blocks, neighbourhoods, surface_heat_by_zone
from microclimate.outputs import write_raster
from microclimate.scenarios import (
    LIGHT_PAVING,
    Scenario,
    add_trees,
    resolve_scenarios,
    street_tree_positions,
)
from microclimate.surfaces import surface_temperatures

__all__ = ["run_heat_study", "StudyResult", "DELTA_MAPS", "energy_waste_heat"]

log = logging.getLogger(__name__)

#: Grid maps whose scenario - baseline difference is written as ``delta_<name>.tif``.
DELTA_MAPS = {"tmrt_max_c": "maximum Tmrt", "utci_max_c": "maximum UTCI",
              "t_surface_max_c": "maximum ground surface temperature",
              "strong_heat_hours": "hours of strong heat stress"}
_PAVED = ("asphalt", "concrete")


@dataclasses.dataclass
class _Run:
    name: str
    grid: Any
    surfaces: Any
    canopy: CanopyResult
    overheating_h: np.ndarray      # (n_buildings,)
    trees_xy: np.ndarray
    paved_m2: np.ndarray           # (z,) area of paved cells treated
    surface_m2: np.ndarray         # (z,) roof/wall area treated


@dataclasses.dataclass
class StudyResult:
    """What :func:`run_heat_study` computed (tables also written in ``out_dir``)."""

    canopy: CanopyResult
    zones: pd.DataFrame
    scenarios: pd.DataFrame
    exposure: pd.DataFrame
    equity: pd.DataFrame
    paths: dict[str, Path]
    timings: dict[str, float]


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path, overwrite=True) as tmp:
        df.to_csv(tmp, index=False)
    return path


def energy_waste_heat(model: CityModel, inp, alpha_roof=None) -> tuple[np.ndarray, np.ndarray, list]:
    """Waste heat (n_buildings, h) [W] and overheating hours (n_buildings,) of the period rows."""
    run = model
    if alpha_roof is not None:
        objs = dict(model.city_objects)
        for b, a in zip(inp.building_ids, alpha_roof, strict=True):
            if np.isfinite(a):
                o = dict(objs[b])
                o["attributes"] = {**(o.get("attributes") or {}), "energy_alpha_roof": float(a)}
                objs[b] = o
        run = dataclasses.replace(model, city_objects=objs)
    nb = len(inp.building_ids)
    seq = inp.sequence
    try:
        res = simulate(run, (inp.weather, inp.meta), archetypes=inp.archetypes,
                       solar=inp.solar_buildings, hourly=True)
    except InputError as exc:
        msg = f"energy model could not run ({exc}): no waste heat, no overheating hours"
        log.warning(msg)
        return np.zeros((nb, seq.size - inp.n_spin)), np.full(nb, np.nan), [msg]
    pos = {b: i for i, b in enumerate(inp.building_ids)}
    got = np.array([pos[i] for i in res.table.index], dtype=np.int64)
    waste = np.zeros((nb, len(inp.weather)))
    waste[got] = waste_heat_w(res.hourly[0], res.hourly[1])
    # overheating in the free-running twin over the period rows only
    oh = np.full(nb, np.nan)
    oh[got] = res.table["overheating_hours"].to_numpy(float)
    return waste[:, seq[inp.n_spin:]], oh, []


def _roof_alpha(st) -> np.ndarray:
    """Area-weighted roof absorptance per building (NaN where no roof)."""
    inp = st.inputs
    nb = len(inp.building_ids)
    m = (st.surface_type == "RoofSurface") & ~st.enclosed
    w = np.bincount(inp.building_index[m], weights=st.area_m2[m], minlength=nb)
    a = np.bincount(inp.building_index[m], weights=(st.area_m2 * (1 - st.albedo))[m], minlength=nb)
    return np.where(w > 0, a / np.where(w > 0, w, 1), np.nan)


def _footprints(st) -> list:
    t = st.inputs.table
    rows = st.table_row[st.surface_type == "RoofSurface"]
    polys = []
    for r in rows:
        tri = t.triangles[t.tri_offsets[r]:t.tri_offsets[r + 1]]
        if len(tri):
            xy = t.vertices[tri][:, :, :2]
            polys.extend(shapely.polygons(np.concatenate([xy, xy[:, :1]], axis=1)))
    return [shapely.make_valid(shapely.union_all(polys, grid_size=1e-3))] if polys else []


def _add_crowns(rasters, xy: np.ndarray, height_m: float, crown_m: float):
    """Rasters whose CDSM holds the planted crowns (discs, height above ground)."""
    ny, nx = rasters.dsm_m.shape
    x, y = cell_centres(rasters.transform, (ny, nx))
    cdsm = np.zeros((ny, nx)) if rasters.cdsm_m is None else np.array(rasters.cdsm_m, float)
    bmask = np.asarray(rasters.dsm_m) - np.asarray(rasters.dem_m) > 2.0
    if rasters.building_mask is not None:
        bmask = np.asarray(rasters.building_mask, bool)
    r = crown_m / 2
    for px, py in xy:
        cols = np.flatnonzero(np.abs(x - px) <= r)
        rows = np.flatnonzero(np.abs(y - py) <= r)
        if not cols.size or not rows.size:
            continue
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        inside = ((x[cc] - px) ** 2 + (y[rr] - py) ** 2 <= r * r) & ~bmask[rr, cc]
        cdsm[rr[inside], cc[inside]] = np.maximum(cdsm[rr[inside], cc[inside]], height_m)
    return dataclasses.replace(rasters, cdsm_m=cdsm)


def _existing_trees(model: CityModel) -> np.ndarray:
    t = tree_table(model)
    return t[["x_m", "y_m"]].to_numpy(float) if len(t) else np.zeros((0, 2))


def _ground_z(rasters, xy: np.ndarray) -> np.ndarray:
    """DEM height [m] at each position (nearest cell, clamped to the grid)."""
    inv = ~rasters.transform
    col, row = inv * (np.asarray(xy[:, 0]), np.asarray(xy[:, 1])) if len(xy) else ([], [])
    ny, nx = rasters.dem_m.shape
    r = np.clip(np.floor(np.asarray(row, float)).astype(int), 0, ny - 1)
    c = np.clip(np.floor(np.asarray(col, float)).astype(int), 0, nx - 1)
    return np.asarray(rasters.dem_m, float)[r, c]


def _zone_figures(run: _Run, zones: Zones, zidx, bz, z: int) -> pd.DataFrame:
    g = run.grid
    st = run.surfaces
    inp = st.inputs
    open_ = ~st.enclosed
    sz = bz[inp.building_index]
    ok = open_ & (sz >= 0)
    w = np.bincount(sz[ok], weights=st.area_m2[ok], minlength=z)
    ts = np.bincount(sz[ok], weights=(st.area_m2 * st.t_surface_max_c)[ok], minlength=z)
    oh = np.bincount(bz[bz >= 0], weights=np.nan_to_num(run.overheating_h)[bz >= 0], minlength=z)
    tx, ty = (run.trees_xy[:, 0], run.trees_xy[:, 1]) if len(run.trees_xy) else ([], [])
    trees = np.zeros(z, dtype=np.int64)
    for k, geom in enumerate(zones.geometry):
        trees[k] = int(shapely.contains_xy(geom, np.asarray(tx), np.asarray(ty)).sum()) if len(
            run.trees_xy) else 0
    return pd.DataFrame({
        "zone_id": zones.ids,
        "tmrt_mean_c": zone_means(g.tmrt_max_c, zidx, z),
        "tmrt_max_c": zone_means(g.tmrt_max_c, zidx, z, how="max"),
        "utci_max_c": zone_means(g.utci_max_c, zidx, z, how="max"),
        "strong_heat_hours": zone_means(g.strong_heat_hours, zidx, z),
        "t_ground_max_c": zone_means(g.t_surface_max_c, zidx, z),
        "t_surface_max_c": np.where(w > 0, ts / np.where(w > 0, w, 1), np.nan),
        "t_canopy_mean_c": run.canopy.t_canopy_c.mean(axis=1),
        "t_canopy_max_c": run.canopy.t_canopy_c.max(axis=1),
        "uhi_night_k": _night_mean(run.canopy),
        "overheating_hours": oh,
        "m2_treated": run.paved_m2 + run.surface_m2,
        "trees_planted": trees,
    })


def _night_mean(c: CanopyResult) -> np.ndarray:
    night = np.isin(c.times.hour, [22, 23, 0, 1, 2, 3, 4, 5])
    return c.uhi_k[:, night].mean(axis=1) if night.any() else np.full(len(c.zone_id), np.nan)


def run_heat_study(
    model: CityModel,
    weather: str | os.PathLike = "clearsky",
    meta: dict | None = None,
    *,
    out_dir: str | os.PathLike,
    period: str | None = "hottest-3d",
    zones: str | os.PathLike | Zones | None = None,
    fragility: str | None = None,
    population_field: str | None = None,
    scenarios: tuple | list = (),
    scenario_file: str | os.PathLike | None = None,
    tree_positions: Any = None,
    grid_m: float = 2.0,
    block_m: float = 200.0,
    spinup_steps: int = 24,
    progress: Any = None,
) -> StudyResult:
    """Baseline and scenarios: street-level heat, canopy air, surfaces, exposure.

    Parameters
    ----------
    model : CityModel
        Buildings, terrain and vegetation in a projected metric CRS.
    weather : path or "clearsky"
        An EPW file (``--weather``) or clear sky.
    meta : dict, optional
        Unused (the weather's metadata is read with it); kept for the API's symmetry.
    out_dir : path
        ``--out``.
    period : str
        ``hottest-3d`` or ``START:END``.
    zones : path or Zones, optional
        ``--zones``; default: square blocks of ``block_m`` over the buildings.
    fragility, population_field : str, optional
        ``--fragility FIELD`` and ``--population-field NAME`` of the zone layer.
    scenarios : sequence of str
        ``--scenario NAME`` (built-in names).
    scenario_file : path, optional
        ``--scenario-file S.toml``.
    tree_positions : path or (k, 2), optional
        Where the ``trees`` scenario plants (a GeoPackage of points); default along streets.
    grid_m, block_m : float
        Street-level grid cell [m] and block size without zones [m].
    spinup_steps : int
        Hours of spin-up.
    progress : callable, optional
        ``progress(stage, done, total)`` after each run (stage = run name).

    Returns
    -------
    StudyResult
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if isinstance(weather, pd.DataFrame):
        raise InputError("run_heat_study: give the weather as an EPW path or 'clearsky'")
    out = Path(out_dir)
    scs: list[Scenario] = resolve_scenarios(tuple(scenarios), scenario_file,
                                            tree_positions=tree_positions)
    if zones is not None and not isinstance(zones, Zones):
        zones = read_zones(zones)
    if zones is not None:
        if zones.epsg is not None and model.epsg is not None and zones.epsg != model.epsg:
            zones = reproject_zones(zones, int(model.epsg))
        check_zone_fields(zones, fragility=fragility, population=population_field)
    elif fragility or population_field:
        raise InputError("--fragility and --population-field need --zones Z.gpkg")

    rasters, rmeta = model_to_rasters(model, grid_m)
    forcing = load_forcing(weather=weather, model=model, period=period, spinup_steps=spinup_steps)
    start, end = forcing.period
    st = surface_temperatures(model, forcing.raw[0], forcing.raw[1], period=f"{start}:{end}",
                              spinup_days=max(1, int(np.ceil(spinup_steps / 24))))
    timings["surfaces_s"] = time.perf_counter() - t0
    if zones is None:
        t = st.inputs.table
        xy = t.vertices[np.unique(t.triangles), :2]
        zones = grid_blocks([xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()],
                            block_m)
    nbhd, bz = neighbourhoods(model, st, zones=zones, block_m=block_m)
    z = len(nbhd)
    inp = st.inputs
    wx = inp.weather.iloc[inp.sequence]
    waste_b, oh_b, msgs = energy_waste_heat(model, inp)
    q_anthro = np.zeros((z, waste_b.shape[1]))
    np.add.at(q_anthro, bz[bz >= 0], waste_b[bz >= 0])

    t1 = time.perf_counter()
    geom = prepare_grid(rasters)
    timings["grid_prepare_s"] = time.perf_counter() - t1
    period_rows = forcing.period_data

    def grid_run(g):
        t = time.perf_counter()
        r = run_grid(g, period_rows, forcing.site, spinup_steps=spinup_steps,
                     spinup_forcing=forcing.data.iloc[:forcing.spinup_steps])
        timings[f"grid_run_{len(timings)}_s"] = time.perf_counter() - t
        return r

    def canopy(nb, s, anthro):
        qw, qr = surface_heat_by_zone(s, bz, z)
        return canopy_air_temperature(nb, wx, inp.meta, n_spin=inp.n_spin, q_walls_w=qw,
                                      q_roofs_w=qr, q_anthro_w=anthro)

    zidx = zone_index_raster(zones, rasters.transform, rasters.dsm_m.shape)
    cell_m2 = abs(float(rasters.transform.a * rasters.transform.e))
    base = _Run("baseline", grid_run(geom), st, canopy(nbhd, st, q_anthro), oh_b,
                np.zeros((0, 2)), np.zeros(z), np.zeros(z))
    runs = [base]
    if callable(progress):
        progress("baseline", 1, len(scs) + 1)
    base_alpha = _roof_alpha(st)
    for k, sc in enumerate(scs):
        ts = time.perf_counter()
        s_st = (surface_temperatures(model, overrides=list(sc.surface_overrides),
                                     prepared=inp) if sc.changes_surfaces else st)
        changed = ((s_st.albedo != st.albedo) | (s_st.emissivity != st.emissivity)
                   | (s_st.evap_beta != st.evap_beta)) & (bz[inp.building_index] >= 0)
        surf_m2 = np.bincount(bz[inp.building_index][changed], weights=st.area_m2[changed],
                              minlength=z)
        s_model, trees_xy, s_nbhd = model, np.zeros((0, 2)), nbhd
        s_geom, paved_m2 = geom, np.zeros(z)
        if sc.trees is not None:
            tp = sc.trees
            trees_xy = (np.asarray(tp.positions_xy, float) if tp.positions_xy is not None
                        else street_tree_positions(_footprints(st), spacing_m=tp.spacing_m,
                                                   existing_xy=_existing_trees(model)))
            s_model = add_trees(model, trees_xy, height_m=tp.height_m,
                                crown_diameter_m=tp.crown_diameter_m,
                                ground_z_m=_ground_z(rasters, trees_xy))
            s_nbhd, _ = neighbourhoods(s_model, s_st, zones=zones, block_m=block_m)
            s_geom = prepare_grid(_add_crowns(rasters, trees_xy, tp.height_m,
                                              tp.crown_diameter_m))
        if sc.paved_albedo is not None:
            lc = np.asarray(s_geom.land_cover, dtype=object)
            paved = np.isin(lc, _PAVED)
            s_geom = dataclasses.replace(s_geom, land_cover=np.where(paved, LIGHT_PAVING, lc))
            s_nbhd = dataclasses.replace(s_nbhd, paved_albedo=np.full(z, sc.paved_albedo))
            cells = np.zeros(zidx.size, dtype=bool)
            cells[s_geom.cells[paved]] = True
            zi = zidx.ravel()[cells]
            paved_m2 = np.bincount(zi[zi >= 0], minlength=z) * cell_m2
        s_grid = base.grid if s_geom is geom else grid_run(s_geom)
        alpha = _roof_alpha(s_st)
        if np.array_equal(alpha, base_alpha, equal_nan=True):
            s_anthro, s_oh = q_anthro, oh_b
        else:
            w, s_oh, m2 = energy_waste_heat(model, inp, alpha_roof=np.where(alpha != base_alpha, alpha,
                                                                   np.nan))
            msgs += m2
            s_anthro = np.zeros_like(q_anthro)
            np.add.at(s_anthro, bz[bz >= 0], w[bz >= 0])
        same = (s_st is st and s_nbhd is nbhd and s_anthro is q_anthro)
        s_can = base.canopy if same else canopy(s_nbhd, s_st, s_anthro)
        runs.append(_Run(sc.name, s_grid, s_st, s_can, s_oh, trees_xy, paved_m2, surf_m2))
        timings[f"scenario_{sc.name}_s"] = time.perf_counter() - ts
        if callable(progress):
            progress(sc.name, k + 2, len(scs) + 1)

    paths = _write_all(out, runs, zones, zidx, bz, z, rasters, rmeta, forcing, scs,
                       fragility, population_field, msgs)
    timings["total_s"] = time.perf_counter() - t0
    res = paths.pop("_tables")
    log.info("heat study: %d scenarios in %.1f s", len(scs), timings["total_s"])
    return StudyResult(base.canopy, res["zones"], res["scenarios"], res["exposure"],
                       res["equity"], paths, timings)


def _write_all(out: Path, runs, zones, zidx, bz, z, rasters, rmeta, forcing, scs, fragility,
               population, msgs) -> dict:
    import json

    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {}
    figs = {r.name: _zone_figures(r, zones, zidx, bz, z) for r in runs}
    base = runs[0]
    expo, eq, rows = [], [], []
    for r in runs:
        d = out if r.name == "baseline" else out / r.name
        d.mkdir(parents=True, exist_ok=True)
        for attr in DELTA_MAPS:
            write_raster(d / f"{attr}.tif", getattr(r.grid, attr), rasters.transform,
                         rasters.crs, f"{DELTA_MAPS[attr]} [{'h' if 'hours' in attr else 'degC'}]",
                         overwrite=True)
            if r.name != "baseline":
                delta = (np.asarray(getattr(r.grid, attr), np.float64)
                         - np.asarray(getattr(base.grid, attr), np.float64))
                write_raster(d / f"delta_{attr}.tif", delta, rasters.transform, rasters.crs,
                             f"change of {DELTA_MAPS[attr]}, scenario - baseline "
                             f"[{'h' if 'hours' in attr else 'K'}]", overwrite=True)
        paths[f"{r.name}/canopy"] = _write_csv(r.canopy.to_frame(), d / "canopy.csv")
        paths[f"{r.name}/zones"] = _write_csv(figs[r.name], d / "zones.csv")
        ex = zone_exposure(r.grid.strong_heat_hours, zidx, zones, population=population,
                           fragility=fragility)
        expo.append(ex.assign(run=r.name))
        eq.append({"run": r.name, "concentration_index": exposure_concentration(ex),
                   "person_hours_strong_heat": float(ex["person_hours_strong_heat"].sum())
                   if "person_hours_strong_heat" in ex else float("nan")})
        if r.name != "baseline":
            f, b = figs[r.name], figs["baseline"]
            row = pd.DataFrame({"scenario": r.name, "zone_id": f["zone_id"]})
            for c in ("tmrt_mean_c", "tmrt_max_c", "strong_heat_hours", "t_ground_max_c",
                      "t_surface_max_c", "t_canopy_mean_c", "t_canopy_max_c", "uhi_night_k",
                      "overheating_hours"):
                row[f"d_{c}"] = f[c].to_numpy(float) - b[c].to_numpy(float)
            row["m2_treated"] = f["m2_treated"]
            row["trees_planted"] = f["trees_planted"]
            rows.append(row)
    scen = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["scenario", "zone_id"])
    expo_df = pd.concat(expo, ignore_index=True)
    eq_df = pd.DataFrame(eq)
    paths["scenarios"] = _write_csv(scen, out / "scenarios.csv")
    paths["exposure"] = _write_csv(expo_df, out / "exposure.csv")
    paths["equity"] = _write_csv(eq_df, out / "equity.csv")
    summary = {"command": "citymodel heat (study)", "forcing": forcing.summary(),
               "grid": {"shape": list(rasters.dsm_m.shape), "crs": rasters.crs,
                        **{k: v for k, v in rmeta.items() if k not in ("fallbacks", "inputs")}},
               "neighbourhoods": len(zones), "scenarios": [
                   {"name": s.name, "description": s.description} for s in scs],
               "canopy": base.canopy.attrs, "fallbacks": list(rmeta.get("fallbacks", []))
               + list(forcing.fallbacks) + list(msgs)}
    with atomic_path(out / "summary.json", overwrite=True) as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1, default=str))
    paths["summary"] = out / "summary.json"
    paths["_tables"] = {"zones": figs["baseline"], "scenarios": scen, "exposure": expo_df,
                        "equity": eq_df}
    return paths
