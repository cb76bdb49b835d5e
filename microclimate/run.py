"""One heat run, as ``citymodel heat`` does it: inputs -> checks -> grid engine -> files.

:func:`run_heat` takes either SOLWEIG-style rasters (``dsm`` + ``dem`` [+ ``cdsm``,
``landcover``]) or a city model (``model_path``, rasterised on a ``grid_m`` grid by
:func:`microclimate.model_rasters.model_to_rasters`), the forcing (``met`` or ``weather``), and
writes the outputs of :mod:`microclimate.outputs` into ``out_dir``. Everything that can be
checked before the long work is checked first: existing outputs, raster alignment and CRS, the
period and missing values, the points, and whether the grid fits in memory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citymodel.errors import InputError, WeatherError
from citymodel.io import read
from energy.weather import site_of_model
from microclimate import tiling
from microclimate.forcing import Forcing, load_forcing
from microclimate.grid import (
    STRONG_HEAT_UTCI_C,
    HeatRasters,
    HeatResult,
    prepare_grid,
    radiation_time_offset_h,
    raster_site,
    run_grid,
)
from microclimate.model_rasters import model_to_rasters
from microclimate.outputs import check_outputs, write_heat_outputs
from microclimate.points import GridPoints, points_to_grid
from microclimate.rasters import check_grid_memory, read_heat_rasters
from microclimate.surfaces import surface_temperatures, write_surface_attributes

__all__ = ["HeatRun", "run_heat", "heat_figures", "building_mask_of", "MODEL_OUTPUT"]

log = logging.getLogger(__name__)

#: Farthest weather site [km] the roof and wall solver takes (the energy model's own limit).
MAX_SURFACE_WEATHER_KM = 200.0

#: File name of the city model with surface temperatures (city-model route).
MODEL_OUTPUT = "heat.city.json"


@dataclass
class HeatRun:
    """What a heat run produced.

    Attributes
    ----------
    result : HeatResult
        The grid engine's maps and point series.
    rasters : HeatRasters
        The grid's inputs.
    forcing : Forcing
    points : GridPoints or None
    summary : dict
        What ``summary.json`` holds.
    paths : dict
        Role -> written file.
    model : CityModel or None
        The model with ``t_surface_max_c`` (city-model route).
    """

    result: HeatResult
    rasters: HeatRasters
    forcing: Forcing
    points: GridPoints | None
    summary: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)
    model: Any = None
    tmrt_hottest_hour_c: np.ndarray | None = None
    hottest_time: Any = None


def building_mask_of(r: HeatRasters) -> np.ndarray:
    """The rasters' building cells: ``building_mask``, else DSM - DEM > 2 m or land cover 2."""
    if r.building_mask is not None:
        return np.asarray(r.building_mask, dtype=bool)
    mask = np.asarray(r.dsm_m) - np.asarray(r.dem_m) > 2.0
    if r.landcover is not None:
        mask |= np.asarray(r.landcover) == 2
    return mask


def heat_figures(result: HeatResult, cell_m: float) -> dict[str, float]:
    """Headline numbers of the maps (open cells only).

    Returns
    -------
    dict
        ``tmrt_max_c``, ``utci_max_c``, ``t_surface_max_c`` (maxima over the grid),
        ``strong_heat_hours_max`` [h], ``strong_heat_hours_mean`` [h, over open cells],
        ``strong_heat_area_m2`` (cells with at least one hour of UTCI > 32 degC),
        ``n_open_cells``.
    """
    open_ = np.isfinite(result.tmrt_max_c)
    sh = np.asarray(result.strong_heat_hours, dtype=np.float64)

    def mx(a):
        a = np.asarray(a, dtype=np.float64)
        return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")

    return {
        "tmrt_max_c": mx(result.tmrt_max_c),
        "utci_max_c": mx(result.utci_max_c),
        "t_surface_max_c": mx(result.t_surface_max_c),
        "strong_heat_hours_max": mx(sh),
        "strong_heat_hours_mean": float(np.nanmean(sh[open_])) if open_.any() else float("nan"),
        "strong_heat_area_m2": float(np.sum(sh[open_] > 0) * cell_m * cell_m),
        "strong_heat_utci_c": STRONG_HEAT_UTCI_C,
        "n_open_cells": int(open_.sum()),
    }


@contextlib.contextmanager
def _engine_progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A ``progress(stage, done, total)`` callable drawing rich bars, or None."""
    if not enabled:
        yield None
        return
    from citymodel.progress import progress_bar

    with progress_bar(True) as p:
        tasks: dict[str, Any] = {}

        def cb(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = p.add_task(stage, total=total)
            p.update(tasks[stage], completed=done, total=total)

        yield cb


def _check_time_base(forcing: Forcing, *, met, weather, utc_offset_h, lat, lon, model, period,
                     spinup_steps) -> Forcing:
    """Compare the forcing's clock with its own radiation (before the long work).

    :func:`microclimate.grid.radiation_time_offset_h` finds the shift of the sun clock that
    explains the rows' ``(GHI - DHI) / DNI``. When a met file's UTC offset was not given and the
    radiation fits another whole-hour offset, that offset is used (recorded); when it was given
    (or the weather file states it), a mismatch is recorded with the offset that would fit.
    """
    shift = radiation_time_offset_h(forcing.period_data, forcing.site)
    if not np.isfinite(shift) or abs(shift) < 0.5:
        return forcing
    tz = forcing.site["tz_offset_h"]
    fit = tz - round(shift)
    if met is not None and utc_offset_h is None:
        msg = (f"{met}: UTC offset not given (--utc-offset); the file's radiation ((GHI - DHI) / DNI) fits "
               f"the sun at UTC{fit:+g}, not at UTC{tz:+g} = round(longitude / 15): UTC{fit:+g} used")
        f2 = load_forcing(met=met, lat_deg=lat, lon_deg=lon, utc_offset_h=fit, model=model, period=period,
                          spinup_steps=spinup_steps)
        log.warning(msg)
        f2.fallbacks.insert(0, msg)
        return f2
    advice = (f"if the file is in UTC{fit:+g}, say so with --utc-offset {fit:g}" if met is not None
              else "check the weather file's time zone and interval convention")
    msg = (f"{forcing.source}: the radiation ((GHI - DHI) / DNI) fits the sun {shift:+g} h later than the "
           f"time stamps read at UTC{tz:+g}; {advice}")
    log.warning(msg)
    forcing.fallbacks.append(msg)
    return forcing


def run_heat(
    *,
    out_dir: str | os.PathLike,
    model_path: str | os.PathLike | None = None,
    model: Any = None,
    dsm: str | os.PathLike | None = None,
    dem: str | os.PathLike | None = None,
    cdsm: str | os.PathLike | None = None,
    landcover: str | os.PathLike | None = None,
    met: str | os.PathLike | None = None,
    weather: str | os.PathLike | None = None,
    utc_offset_h: float | None = None,
    period: str | None = None,
    grid_m: float = 1.0,
    points: str | os.PathLike | None = None,
    crs: str | None = None,
    spinup_steps: int = 24,
    surfaces: bool = True,
    overwrite: bool = False,
    progress: bool = False,
    hottest_hour_map: bool = False,
    tile_cells: int | None = None,
    halo_m: float | None = None,
    scheduler: Any = None,
    workers: int = 1,
) -> HeatRun:
    """Run street-level heat on rasters or a city model and write the outputs.

    Parameters
    ----------
    out_dir : path
        Output folder (``--out``).
    model_path, model : path or CityModel, optional
        The city-model route (``MODEL.city.json``); ``model`` skips reading.
    dsm, dem, cdsm, landcover : path, optional
        The raster route (``--dsm --dem [--cdsm] [--landcover]``); with a model, ``dem``
        replaces its terrain.
    met, weather : path or "clearsky"
        Forcing (``--met`` or ``--weather``); the city-model route takes ``weather``.
    utc_offset_h : float, optional
        ``--utc-offset`` of a met file (default round(longitude / 15), recorded).
    period : str, optional
        ``--period hottest-3d|START:END``.
    grid_m : float
        ``--grid-m``: cell size of the city-model route [m].
    points : path, optional
        ``--points``: write hourly values at these points to ``points.csv``.
    crs : str, optional
        ``--crs``: CRS of inputs without one (rasters, the model).
    spinup_steps : int
        Hours of spin-up of the ground and wall temperatures.
    surfaces : bool
        City-model route: also compute roof and wall temperatures (``microclimate.surfaces``).
    overwrite : bool
        ``--overwrite``: replace existing outputs.
    progress : bool
        Progress bars.
    hottest_hour_map : bool
        Also keep Tmrt of every open cell at the step with the highest air temperature
        (``HeatRun.tmrt_hottest_hour_c``, not written; costs 14 series per cell).
    tile_cells, halo_m : int, float, optional
        ``--tile-cells`` / ``--halo-m``: core tile side [cells] (0 = one tile) and halo [m];
        default: tiles only when the grid does not fit one tile's memory, halo from the
        tallest object (:mod:`microclimate.tiling`).
    scheduler, workers
        ``--scheduler`` / ``--workers``: where the tiles run (:mod:`citymodel.executors`).

    Returns
    -------
    HeatRun

    Raises
    ------
    InputError
        Any bad input (before the long work, with the file named), incl. a grid too large.
    """
    t0 = time.perf_counter()
    is_model = model_path is not None or model is not None
    if is_model == (dsm is not None):
        raise InputError("give either MODEL.city.json or --dsm DSM.tif --dem DEM.tif, not both and not neither")
    if not is_model and dem is None:
        raise InputError("--dsm needs --dem DEM.tif (the ground model of the same grid)")
    if is_model and (cdsm is not None or landcover is not None):
        raise InputError("--cdsm and --landcover belong to the raster route (--dsm); a city model has its own "
                         "vegetation and land cover")
    if is_model and met is not None:
        raise InputError("the city-model route takes --weather W.epw|clearsky; --met is for the raster route")
    check_outputs(out_dir, overwrite, points=points is not None,
                  extra=(MODEL_OUTPUT,) if is_model and surfaces else ())
    timings: dict[str, float] = {}
    fallbacks: list[str] = []
    inputs: dict[str, Any] = {}

    if is_model:
        if model is None:
            model = read(model_path, crs=crs)
        what = str(model_path or getattr(model, "source", None) or "model")
        inputs["model"] = what
        rasters, rmeta = model_to_rasters(model, grid_m, dem=dem)
        if dem is not None:
            inputs["dem"] = str(dem)
        lat, lon, _ = site_of_model(model)
    else:
        what = str(dsm)
        rasters, rmeta = read_heat_rasters(dsm, dem, cdsm, landcover, crs=crs)
        inputs.update(rmeta["inputs"])
        lat, lon = raster_site(rasters.transform, rasters.crs, rasters.dsm_m.shape)
    fallbacks += rmeta["fallbacks"]
    cell_m = abs(float(rasters.transform.a))
    timings["read_s"] = time.perf_counter() - t0

    forcing = load_forcing(met=met, weather=weather, lat_deg=lat, lon_deg=lon, utc_offset_h=utc_offset_h,
                           model=model, period=period, spinup_steps=spinup_steps)
    forcing = _check_time_base(forcing, met=met, weather=weather, utc_offset_h=utc_offset_h, lat=lat,
                               lon=lon, model=model, period=period, spinup_steps=spinup_steps)
    km = forcing.weather_distance_km
    if is_model and surfaces and km is not None and km > MAX_SURFACE_WEATHER_KM:
        raise WeatherError(
            f"--weather {forcing.source}: the weather's site is {km:.0f} km from the model {what}; the roof and "
            f"wall temperatures run the energy model, which takes weather within {MAX_SURFACE_WEATHER_KM:.0f} km: "
            "give the weather of the site, or --no-surfaces to compute the street grid only"
        )
    fallbacks += forcing.fallbacks
    inputs["forcing"] = forcing.source
    period_rows = forcing.period_data
    if halo_m is None:
        halo, why = tiling.halo_m_for(rasters.dsm_m, rasters.dem_m, rasters.cdsm_m)
    else:
        halo, why = float(halo_m), f"halo {float(halo_m):g} m given (--halo-m)"
    plan = tiling.plan_tiles(rasters.dsm_m.shape, cell_m, halo_m=halo, tile_cells=tile_cells,
                             workers=workers, reason=why)
    largest = max(plan.windows, key=lambda w: w.shape[0] * w.shape[1]).shape
    # a tile holds CHUNK_STEPS_MEMORY steps at a time; one untiled grid is checked as before
    steps = len(period_rows) if plan.n_tiles == 1 else min(len(period_rows), tiling.CHUNK_STEPS_MEMORY)
    need = check_grid_memory(largest, cell_m, n_steps=steps, what=what)
    if plan.n_tiles > 1:
        log.info("%s: %d heat tiles (%s)", what, plan.n_tiles, plan.reason)

    buildings = building_mask_of(rasters)
    gp = None
    if points is not None:
        gp = points_to_grid(points, rasters.transform, rasters.crs, rasters.dsm_m.shape, buildings)
        fallbacks += gp.fallbacks
        inputs["points"] = str(points)

    rc = np.zeros((0, 2), dtype=np.int64) if gp is None else gp.rc
    n_user = len(rc)
    if hottest_hour_map:
        rc = np.vstack([rc, np.argwhere(~buildings)])
    t1 = time.perf_counter()
    with _engine_progress(progress) as cb:
        # the ground and walls spin up on the forcing rows before the period (the first day
        # repeated for what they lack); HeatResult covers the period's rows only
        spin_rows = forcing.data.iloc[:forcing.spinup_steps]
        if plan.n_tiles > 1:  # each tile prepares and runs; timings summed over the tiles
            result = run_grid(rasters, period_rows, forcing.site, points_rc=rc if len(rc) else None,
                              spinup_steps=spinup_steps, progress=cb, tile_cells=plan.core_cells,
                              halo_m=plan.halo_m, scheduler=scheduler, workers=workers,
                              spinup_forcing=spin_rows)
            timings["prepare_s"] = float(result.attrs["prepare_s"])
            timings["steps_s"] = float(result.attrs["steps_s"])
            timings["tiles_wall_s"] = time.perf_counter() - t1
        else:
            geom = prepare_grid(rasters, progress=cb)
            timings["prepare_s"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            result = run_grid(geom, period_rows, forcing.site, points_rc=rc if len(rc) else None,
                              spinup_steps=spinup_steps, progress=cb, spinup_forcing=spin_rows)
            timings["steps_s"] = time.perf_counter() - t2
    log.info("heat grid spin-up: %s", result.attrs["spinup"])
    if result.attrs["spinup_repeated_days"]:
        fallbacks.append(f"{forcing.source}: grid spin-up: {result.attrs['spinup']}")
    timings["per_step_s"] = timings["steps_s"] / max(1, len(period_rows))
    tmrt_hot = hot_time = None
    if hottest_hour_map:
        k = int(np.argmax(period_rows["t_air_c"].to_numpy()))
        hot_time = period_rows.index[k]
        tmrt_hot = np.full(buildings.shape, np.nan, dtype=np.float32)
        tmrt_hot[~buildings] = result.points["tmrt_c"][n_user:, k]
        result.points = {key: v[:n_user] for key, v in result.points.items()}

    surf_summary = None
    out_model = None
    if is_model and surfaces:
        t3 = time.perf_counter()
        start, end = forcing.period
        out_model = model.copy()
        st = surface_temperatures(out_model, forcing.raw[0], forcing.raw[1], period=f"{start}:{end}",
                                  spinup_days=max(1, int(np.ceil(spinup_steps / 24))),
                                  progress=progress or None)
        n_surf = write_surface_attributes(out_model, st)
        timings["surfaces_s"] = time.perf_counter() - t3
        tmax = np.asarray(st.t_surface_max_c, dtype=np.float64)
        kind = np.asarray(st.surface_type).astype(str)
        surf_summary = {
            "n_semantic_surfaces": int(n_surf),
            "roof_t_surface_max_c": float(np.nanmax(tmax[kind == "RoofSurface"])) if (kind == "RoofSurface").any() else None,
            "wall_t_surface_max_c": float(np.nanmax(tmax[kind == "WallSurface"])) if (kind == "WallSurface").any() else None,
            "attrs": st.attrs,
        }
        fallbacks += list(st.attrs.get("fallbacks", []))

    timings["total_s"] = time.perf_counter() - t0
    summary = {
        "command": "citymodel heat",
        "route": "city model" if is_model else "rasters",
        "inputs": inputs,
        "grid": {"shape": list(rasters.dsm_m.shape), "cell_m": cell_m, "crs": rasters.crs,
                 "transform": list(rasters.transform)[:6], "memory_estimate_bytes": need,
                 "tiles": plan.attrs(),
                 **{k: v for k, v in rmeta.items() if k not in ("fallbacks", "inputs")}},
        "forcing": forcing.summary(),
        "spinup": {"grid": result.attrs["spinup"], "grid_days": result.attrs["spinup_days"],
                   "grid_preceding_rows": result.attrs["spinup_preceding_rows"],
                   "grid_repeated_days": result.attrs["spinup_repeated_days"],
                   "roofs_and_walls": ("the weather's preceding days (microclimate.surfaces)"
                                       if surf_summary is not None else None)},
        "figures": heat_figures(result, cell_m),
        "points": None if gp is None else {"ids": gp.ids, "rows_cols": gp.rc.tolist()},
        "surfaces": surf_summary,
        "engine": result.attrs,
        "fallbacks": fallbacks,
        "timings": timings,
    }
    paths = write_heat_outputs(out_dir, result, rasters.transform, rasters.crs, summary,
                               point_ids=None if gp is None else gp.ids, model=out_model,
                               model_name=MODEL_OUTPUT, overwrite=overwrite)
    log.info("heat run written to %s in %.1f s", out_dir, timings["total_s"])
    return HeatRun(result, rasters, forcing, gp, summary, paths, out_model, tmrt_hot, hot_time)
