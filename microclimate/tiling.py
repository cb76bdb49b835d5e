"""The heat grid in tiles with a halo: bounded memory, the tiles on the shared executors.

A grid too large for one run (:func:`microclimate.skyview.estimate_memory_bytes`) is cut into
square *core* tiles; each tile is computed on its core plus a *halo* of cells on every side
(clipped at the grid's edge) and keeps only its core, so every cell is computed by exactly one
tile. The halo holds what a core cell sees: the buildings that shade it and the walls and sky
it views. Its default width is the tallest object above the ground (buildings, canopy) over
``tan(HALO_SUN_ELEVATION_DEG)`` -- the length of its shadow when the sun stands at that height
-- capped at ``HALO_CAP_M``; the 1.1 m body sees its ground through a kernel of 3.3 m, far
inside it. What the halo leaves out (a shadow longer than the halo across a tile edge, the
sky hidden by a building farther than the halo) is the difference from an untiled run:
:func:`plan_tiles` records the halo and its reason in the result's attributes.

The tiles are independent jobs of :func:`citymodel.executors.run_jobs`: here, a local pool
or a Dask cluster, each tile preparing its own scene and view factors. Memory: one tile per
worker (``tile memory x workers``) plus the full-grid inputs and output maps here.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine

from citymodel import executors
from citymodel.errors import InputError
from microclimate.skyview import estimate_memory_bytes

__all__ = ["TilePlan", "TileWindow", "plan_tiles", "halo_m_for", "run_tiles", "tile_memory_bytes",
           "HALO_SUN_ELEVATION_DEG", "HALO_CAP_M", "TILE_MEMORY_BYTES", "CHUNK_STEPS_MEMORY"]

log = logging.getLogger(__name__)

#: The halo holds the shadow of the tallest object for a sun at least this high [deg].
HALO_SUN_ELEVATION_DEG = 10.0
#: Widest default halo [m] (a 100 m tower's shadow at 10 deg would need 567 m).
HALO_CAP_M = 100.0
#: Default memory of one tile's run (halo included) [bytes]; lowered to 70 % of the free
#: memory shared by the workers.
TILE_MEMORY_BYTES = 2 << 30
#: Steps the grid engine holds at once (:data:`microclimate.grid.CHUNK_STEPS`).
CHUNK_STEPS_MEMORY = 24


@dataclasses.dataclass(frozen=True)
class TileWindow:
    """One tile: its core rows / columns ``[r0, r1) x [c0, c1)`` and, with the halo, the
    window ``[hr0, hr1) x [hc0, hc1)`` it computes on (grid cells)."""

    index: int
    r0: int
    r1: int
    c0: int
    c1: int
    hr0: int
    hr1: int
    hc0: int
    hc1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.hr1 - self.hr0, self.hc1 - self.hc0


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """Tiles of a grid: ``core_cells`` per side, ``halo_cells`` around, and why."""

    grid_shape: tuple[int, int]
    core_cells: int
    halo_cells: int
    halo_m: float
    windows: tuple[TileWindow, ...]
    reason: str

    @property
    def n_tiles(self) -> int:
        return len(self.windows)

    def attrs(self) -> dict[str, Any]:
        """What the outputs' attributes record of the tiling."""
        return {"n_tiles": self.n_tiles, "tile_core_cells": self.core_cells,
                "tile_halo_cells": self.halo_cells, "tile_halo_m": self.halo_m,
                "tiling": self.reason}


def halo_m_for(dsm_m: np.ndarray, dem_m: np.ndarray, cdsm_m: np.ndarray | None = None, *,
               sun_elevation_deg: float = HALO_SUN_ELEVATION_DEG, cap_m: float = HALO_CAP_M
               ) -> tuple[float, str]:
    """Default halo width [m]: the tallest object's shadow at ``sun_elevation_deg``, capped.

    Parameters
    ----------
    dsm_m, dem_m : (ny, nx) float
        Surface and ground models [m].
    cdsm_m : (ny, nx) float, optional
        Canopy height above ground [m].

    Returns
    -------
    halo_m : float
    reason : str
        The words for the log and the attributes.
    """
    h = float(np.max(np.asarray(dsm_m, dtype=np.float64) - np.asarray(dem_m, dtype=np.float64)))
    if cdsm_m is not None:
        h = max(h, float(np.nanmax(np.asarray(cdsm_m, dtype=np.float64))))
    h = max(h, 0.0)
    shadow = h / math.tan(math.radians(sun_elevation_deg))
    halo = min(cap_m, shadow)
    reason = (f"halo {halo:.0f} m: shadow of the tallest object ({h:.1f} m above ground) at a sun "
              f"elevation of {sun_elevation_deg:g} deg ({shadow:.0f} m)")
    if shadow > cap_m:
        reason += (f", capped at {cap_m:g} m: its shadows for a sun below "
                   f"{math.degrees(math.atan2(h, cap_m)):.1f} deg are cut at tile edges")
    return halo, reason


def tile_memory_bytes(workers: int = 1) -> int:
    """Default memory of one tile [bytes]: :data:`TILE_MEMORY_BYTES`, or less so that
    ``workers`` tiles at once take at most 70 % of the memory free now."""
    try:
        free = int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        free = 8 << 30
    return int(min(TILE_MEMORY_BYTES, 0.7 * free / max(1, int(workers))))


def plan_tiles(shape: tuple[int, int], cell_m: float, *, halo_m: float, n_rays: int = 512,
               tile_cells: int | None = None, memory_bytes: int | None = None, workers: int = 1,
               reason: str = "") -> TilePlan:
    """Cut a grid into square core tiles with a halo.

    Parameters
    ----------
    shape : (ny, nx)
        Grid cells.
    cell_m : float
        Cell size [m].
    halo_m : float
        Halo width [m] (rounded up to whole cells).
    n_rays : int
        Rays per cell of the view factors (memory of a ray tile).
    tile_cells : int, optional
        Core tile side [cells]; 0 = never tile. Default: the largest tile (halo included)
        whose run fits ``memory_bytes``; one tile when the whole grid fits.
    memory_bytes : int, optional
        Memory of one tile's run (default :func:`tile_memory_bytes` of ``workers``).
    workers : int
        Tiles run at once (local pool).

    Returns
    -------
    TilePlan
    """
    ny, nx = (int(v) for v in shape)
    halo = int(math.ceil(max(0.0, float(halo_m)) / float(cell_m)))
    budget = tile_memory_bytes(workers) if memory_bytes is None else int(memory_bytes)
    fixed = estimate_memory_bytes(0, CHUNK_STEPS_MEMORY, n_rays)  # one ray tile
    per_cell = (estimate_memory_bytes(1_000_000, CHUNK_STEPS_MEMORY, n_rays) - fixed) / 1_000_000
    if tile_cells is None:
        if fixed + ny * nx * per_cell <= budget:
            tile_cells = 0
            why = f"one tile: {ny * nx:,} cells fit in {budget / 2**30:.1f} GiB"
        else:
            side = int(math.sqrt(max(0.0, budget - fixed) / per_cell))
            tile_cells = side - 2 * halo
            if tile_cells < max(16, halo):
                raise InputError(
                    f"a heat tile of {side} x {side} cells fits in {budget / 2**30:.1f} GiB but its "
                    f"halo takes {halo} cells on each side: use a coarser --grid-m, a narrower "
                    "--halo-m, or more memory per tile (--tile-memory-gb)")
            why = (f"tiles of {tile_cells} x {tile_cells} cells + {halo} halo cells: "
                   f"{(tile_cells + 2 * halo) ** 2:,} cells per tile fit in {budget / 2**30:.1f} GiB")
        reason = f"{why}; {reason}" if reason else why
    elif int(tile_cells) > 0:
        reason = f"tiles of {int(tile_cells)} cells given; {reason}" if reason else "tiles given"
    if not tile_cells or int(tile_cells) >= max(ny, nx):
        win = (TileWindow(0, 0, ny, 0, nx, 0, ny, 0, nx),)
        return TilePlan((ny, nx), max(ny, nx), 0, 0.0, win, reason or "one tile")
    t = int(tile_cells)
    wins = []
    for r0 in range(0, ny, t):
        for c0 in range(0, nx, t):
            r1, c1 = min(ny, r0 + t), min(nx, c0 + t)
            wins.append(TileWindow(len(wins), r0, r1, c0, c1, max(0, r0 - halo), min(ny, r1 + halo),
                                   max(0, c0 - halo), min(nx, c1 + halo)))
    return TilePlan((ny, nx), t, halo, halo * float(cell_m), tuple(wins), reason)


def _crop(rasters: Any, w: TileWindow) -> Any:
    sl = (slice(w.hr0, w.hr1), slice(w.hc0, w.hc1))

    def cut(a):
        return None if a is None else np.ascontiguousarray(np.asarray(a)[sl])

    tr = Affine(*tuple(rasters.transform)[:6]) @ Affine.translation(w.hc0, w.hr0)
    return dataclasses.replace(rasters, dsm_m=cut(rasters.dsm_m), dem_m=cut(rasters.dem_m),
                               cdsm_m=cut(rasters.cdsm_m), landcover=cut(rasters.landcover),
                               building_mask=cut(rasters.building_mask), transform=tr)


@dataclasses.dataclass
class _Engine:
    """What every tile shares: the engine's two functions, the forcing and the settings."""

    prepare: Callable[..., Any]
    run: Callable[..., Any]
    forcing: Any
    site: dict
    n_rays: int
    body_height_m: float
    run_kwargs: dict


def _run_tile(engine: _Engine, job: tuple) -> dict:
    """Prepare and run one tile; keep its core (the job: window, cropped rasters, points)."""
    w, rasters, points_rc = job
    t0 = time.perf_counter()
    geom = engine.prepare(rasters, n_rays=engine.n_rays, body_height_m=engine.body_height_m)
    t1 = time.perf_counter()
    res = engine.run(geom, engine.forcing, engine.site, points_rc=points_rc if len(points_rc) else None,
                     **engine.run_kwargs)
    core = (slice(w.r0 - w.hr0, w.r1 - w.hr0), slice(w.c0 - w.hc0, w.c1 - w.hc0))
    maps = {k: np.ascontiguousarray(getattr(res, k)[core])
            for k in ("tmrt_max_c", "utci_max_c", "t_surface_max_c", "strong_heat_hours")}
    return {"window": w, "maps": maps, "points": res.points, "attrs": res.attrs,
            "n_cells": int(geom.n), "prepare_s": t1 - t0, "steps_s": time.perf_counter() - t1}


def run_tiles(prepare: Callable[..., Any], run: Callable[..., Any], result_type: type, rasters: Any,
              forcing: Any, site: dict, plan: TilePlan, *, buildings: np.ndarray, points_rc: np.ndarray | None = None,
              n_rays: int = 512, body_height_m: float = 1.1, scheduler: Any = None, workers: int = 1,
              progress: Callable[[str, int, int], None] | None = None, **run_kwargs: Any) -> Any:
    """Run the grid engine tile by tile and assemble the full-grid result.

    Parameters
    ----------
    prepare, run : callable
        :func:`microclimate.grid.prepare_grid` and :func:`microclimate.grid.run_grid`
        (module-level functions: they travel to the workers by name).
    result_type : type
        :class:`microclimate.grid.HeatResult` (this module does not import the engine).
    rasters : HeatRasters
    forcing, site
        As for :func:`microclimate.grid.run_grid`.
    plan : TilePlan
    buildings : (ny, nx) bool
        The grid's building cells (points on them are refused before any work).
    points_rc : (p, 2) int, optional
        Row, column of points whose hourly series are kept.
    scheduler, workers
        Where the tiles run (:func:`citymodel.executors.run_jobs`).
    run_kwargs
        Passed to ``run`` (``spinup_steps``, ``sun_samples``).

    Returns
    -------
    HeatResult
        The maps of every tile's core in one grid, the points' series, and the first tile's
        attributes with the tiling's (``n_tiles``, ``tile_halo_m``, ``tiling``,
        ``executor``, ``prepare_s``, ``steps_s`` summed over tiles).
    """
    ny, nx = plan.grid_shape
    pts = np.zeros((0, 2), np.int64) if points_rc is None else np.asarray(points_rc, np.int64).reshape(-1, 2)
    out = (pts[:, 0] < 0) | (pts[:, 0] >= ny) | (pts[:, 1] < 0) | (pts[:, 1] >= nx)
    if out.any():
        raise InputError(f"--points: point(s) {np.flatnonzero(out).tolist()} lie outside the "
                         f"{ny} x {nx} grid: give points inside the rasters")
    on_b = buildings[pts[:, 0], pts[:, 1]]
    if on_b.any():
        raise InputError(f"--points: point(s) {np.flatnonzero(on_b).tolist()} lie on "
                         "building cells (roofs): move them to the ground")
    owner = []
    for w in plan.windows:
        owner.append(np.flatnonzero((pts[:, 0] >= w.r0) & (pts[:, 0] < w.r1)
                                    & (pts[:, 1] >= w.c0) & (pts[:, 1] < w.c1)))

    todo = [w for w in plan.windows if not buildings[w.r0:w.r1, w.c0:w.c1].all()]  # roofs only: NaN
    if not todo:
        raise InputError("every cell of the rasters is a building: no ground to compute on")

    def jobs():
        for w in todo:
            yield w, _crop(rasters, w), pts[owner[w.index]] - [w.hr0, w.hc0]

    engine = _Engine(prepare, run, forcing, site, int(n_rays), float(body_height_m), dict(run_kwargs))
    maps = {k: np.full((ny, nx), np.nan, np.float32)
            for k in ("tmrt_max_c", "utci_max_c", "t_surface_max_c", "strong_heat_hours")}
    series: dict[str, np.ndarray] = {}
    attrs: dict[str, Any] = {}
    totals = {"prepare_s": 0.0, "steps_s": 0.0, "n_cells_computed": 0,
              "n_tiles_all_buildings": plan.n_tiles - len(todo)}
    where = executors.describe(scheduler, workers)
    log.info("heat grid %d x %d in %d tile(s) (%s), %s", ny, nx, plan.n_tiles, plan.reason, where)
    for k, tile in enumerate(executors.run_jobs(_run_tile, jobs(), shared=engine, scheduler=scheduler,
                                                workers=workers)):
        w = tile["window"]
        for key, v in tile["maps"].items():
            maps[key][w.r0:w.r1, w.c0:w.c1] = v
        sel = owner[w.index]
        for key, v in tile["points"].items():
            if key not in series:
                series[key] = np.full((pts.shape[0], v.shape[1]), np.nan)
            series[key][sel] = v
        if not attrs:
            attrs = dict(tile["attrs"])
        totals["prepare_s"] += tile["prepare_s"]
        totals["steps_s"] += tile["steps_s"]
        totals["n_cells_computed"] += tile["n_cells"]
        if progress is not None:
            progress("tiles", k + 1, len(todo))
    attrs.update(plan.attrs(), executor=where, **totals)
    return result_type(pd.DatetimeIndex(forcing.index), maps["tmrt_max_c"], maps["utci_max_c"],
                       maps["t_surface_max_c"], maps["strong_heat_hours"], series, attrs)
