"""Land cover of a whole run: at once for small inputs, tile by tile for big ones.

Inputs up to :data:`MAX_POINTS_AT_ONCE` points are read at once. Bigger ones are read once,
chunk by chunk, and every point is routed to the spill file of each square tile (side
:data:`TILE_M` plus :data:`BUFFER_M` around it) that holds it (:mod:`lidar.spill`); each tile is
then classified alone (its own DTM from its buffered ground) on its part of the one grid, so
memory is bounded by a tile. Grass told from paving by LiDAR intensity is decided once for the
run, with one threshold over every tile's open ground. The tiles' DTMs are resampled onto one
1 m terrain grid for draping the green areas.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from typing import Any

import numpy as np
import shapely

from citymodel.errors import InputError, PointCloudError
from citymodel.landcover import GRASS, IMPERVIOUS
from lidar.dtm import fill_nodata_laplace, grid_geometry, sample_grid
from lidar.ground import has_usable_classes
from lidar.pointcloud import PointCloud, read_points, scan_las
from lidar.spill import load_block, spill_blocks
from lidar.vegetation.greenness import ndvi_bands
from lidar.vegetation.landcover import (
    LandCoverResult,
    classify_landcover,
    grid_for,
    intensity_threshold,
    smooth_field,
)

__all__ = ["run_landcover", "with_classes", "MAX_POINTS_AT_ONCE", "TILE_M", "BUFFER_M"]

log = logging.getLogger(__name__)

#: Inputs with more points are classified tile by tile.
MAX_POINTS_AT_ONCE = 20_000_000
#: Side of a land-cover tile [m].
TILE_M = 500.0
#: Points this far around a tile are read with it (its DTM and neighbourhoods) [m].
BUFFER_M = 20.0
#: Cell size of the assembled terrain grid used to drape the green areas [m].
DTM_M = 1.0
#: Parts of the per-tile notes of the intensity rule (replaced by the run's one threshold).
_INTENSITY_NOTES = ("LiDAR intensity", "ground intensity", "ground returns with an intensity")


def with_classes(pc: PointCloud, ortho: Any, notes: list[str], bands: str | None = None) -> PointCloud:
    """The points with usable ASPRS classes: the file's, or classified here (:mod:`lidar.classify`,
    with the orthophoto's NDVI when it has a near-infrared band)."""
    if has_usable_classes(pc):
        return pc
    from lidar.classify import classify_points

    rn = ndvi_bands(ortho, bands) if ortho is not None else None
    cls = classify_points(pc, ortho=ortho if rn else None, ortho_bands=rn or (1, 4))
    note = "points classified here (lidar.classify" + (", with NDVI" if rn else "") + "): the files have no usable classes"
    if note not in notes:
        notes.append(note)
    return PointCloud(pc.xyz, np.asarray(cls, np.uint8), pc.return_number, pc.number_of_returns, pc.intensity,
                      pc.epsg, list(pc.sources))


def _has_vegetation(pc: PointCloud) -> bool:
    cls = pc.classification
    return bool(np.isin(cls, (3, 4, 5)).any() or ((cls == 1) & (pc.number_of_returns > 1)).any())


def _merge_notes(per_tile: list[list[str]], n_tiles: int) -> list[str]:
    """One line per kind of note (figures blanked), with the first tile's figures and a count."""
    groups: dict[str, list[str]] = {}
    for notes in per_tile:
        for n in notes:
            groups.setdefault(re.sub(r"\d+(\.\d+)?", "#", n), []).append(n)
    return [v[0] if n_tiles == 1 else f"{v[0]} [{len(v)} of {n_tiles} tiles]" for v in groups.values()]


def run_landcover(
    points: Any,
    *,
    resolution_m: float = 0.5,
    bounds: tuple[float, float, float, float] | None = None,
    footprints: list[shapely.Geometry] | None = None,
    ortho: str | os.PathLike | None = None,
    bands: str | None = None,
    crs: object = None,
    progress: bool = False,
    max_points: int | None = None,
    tile_m: float = TILE_M,
    buffer_m: float = BUFFER_M,
) -> tuple[LandCoverResult, bool]:
    """Land cover of a run's points (a PointCloud or LAS/LAZ files), tiled when they are many.

    Parameters
    ----------
    points : PointCloud or path or list of paths
    resolution_m : float
        Cell size [m].
    bounds : (xmin, ymin, xmax, ymax), optional
        Grid extent [m]; default the points' (files' headers') extent.
    footprints, ortho, bands
        As :func:`lidar.vegetation.landcover.classify_landcover`.
    crs : str or int, optional
        CRS of files without one.
    progress : bool
        Progress bar while reading all points at once.
    max_points : int, optional
        Files with more points in all are classified tile by tile (default
        :data:`MAX_POINTS_AT_ONCE`).
    tile_m, buffer_m : float
        Tile side and the buffer read around each tile [m].

    Returns
    -------
    result : LandCoverResult
        On one grid over ``bounds``; ``dtm`` on a 1 m grid when tiled.
    has_vegetation : bool
        The points hold vegetation (classes 3-5, or multi-return unclassified points).
    """
    notes: list[str] = []
    if isinstance(points, PointCloud):
        pc = with_classes(points, ortho, notes, bands)
        r = classify_landcover(pc, resolution_m=resolution_m, bounds=bounds, footprints=footprints, ortho=ortho,
                               bands=bands)
        r.notes[:0] = notes
        return r, _has_vegetation(pc)
    paths = [points] if isinstance(points, (str, os.PathLike)) else list(points)
    infos = scan_las(paths, crs=crs)
    if bounds is None:
        b = np.array([i.bounds for i in infos], dtype=np.float64)
        bounds = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    if sum(i.n_points for i in infos) <= (MAX_POINTS_AT_ONCE if max_points is None else max_points):
        return run_landcover(read_points(paths, crs=crs, progress=progress), resolution_m=resolution_m,
                             bounds=bounds, footprints=footprints, ortho=ortho, bands=bands)
    if not (tile_m > 0 and buffer_m >= 0):
        raise InputError(f"run_landcover: tile_m must be > 0 and buffer_m >= 0, got {tile_m}, {buffer_m}")
    (ny, nx), tr = grid_for(bounds, resolution_m)
    res = abs(tr.a)
    step = max(1, int(round(tile_m / res)))
    tiles = [(r0, c0, min(r0 + step, ny), min(c0 + step, nx)) for r0 in range(0, ny, step) for c0 in range(0, nx, step)]
    boxes = np.array([(tr.c + c0 * res, tr.f - r1 * res, tr.c + c1 * res, tr.f - r0 * res) for r0, c0, r1, c1 in tiles])
    codes = np.zeros((ny, nx), np.uint8)
    height = np.zeros((ny, nx), np.float32)
    green = None
    index = None
    log_i = open_ground = None
    dny, dnx, dtr = grid_geometry(bounds, DTM_M)
    dtm = np.full((dny, dnx), np.nan, np.float32)
    dyc = dtr.f + (np.arange(dny) + 0.5) * dtr.e
    dxc = dtr.c + (np.arange(dnx) + 0.5) * dtr.a
    has_veg = False
    per_tile: list[list[str]] = []
    epsg = infos[0].epsg
    with tempfile.TemporaryDirectory(prefix="citymodel_veg_") as tmp:
        pad = np.array([-buffer_m, -buffer_m, buffer_m, buffer_m])
        spilled = spill_blocks(infos, boxes + pad, tmp)
        for (r0, c0, r1, c1), box, path in zip(tiles, boxes, spilled, strict=True):  # a loop over tiles
            pc = load_block(path, epsg, [i.path for i in infos])
            os.unlink(path)
            if len(pc) == 0:
                continue
            tile_notes: list[str] = []
            pc = with_classes(pc, ortho, tile_notes, bands)
            has_veg |= _has_vegetation(pc)
            try:
                r = classify_landcover(pc, resolution_m=res, bounds=tuple(box), footprints=footprints, ortho=ortho,
                                       bands=bands)
            except PointCloudError:  # no ground in the tile and its buffer (all roofs or water)
                per_tile.append([f"a tile at ({box[0]:.0f}, {box[1]:.0f}) has no ground points: left as nodata"])
                continue
            h, w = r1 - r0, c1 - c0
            if r.codes.shape[0] < h or r.codes.shape[1] < w or abs(r.transform.c - box[0]) > 1e-6 * res + 1e-9 \
                    or abs(r.transform.f - box[3]) > 1e-6 * res + 1e-9:
                raise InputError(f"run_landcover: tile grid {r.codes.shape} at ({r.transform.c}, {r.transform.f}) "
                                 f"does not match its part {(h, w)} at ({box[0]}, {box[3]}) of the grid")
            codes[r0:r1, c0:c1] = r.codes[:h, :w]
            if r.ground_log_intensity is not None:
                if log_i is None:
                    log_i = np.full((ny, nx), np.nan, np.float32)
                    open_ground = np.zeros((ny, nx), bool)
                log_i[r0:r1, c0:c1] = r.ground_log_intensity[:h, :w]
                open_ground[r0:r1, c0:c1] = r.open_ground[:h, :w]
            height[r0:r1, c0:c1] = r.height_m[:h, :w]
            if r.greenness is not None:
                if green is None:
                    green = np.full((ny, nx), np.nan, np.float32)
                green[r0:r1, c0:c1] = r.greenness[:h, :w]
                index = r.greenness_index
            # the tile's terrain on the common 1 m grid
            jr = np.flatnonzero((dyc >= box[1]) & (dyc < box[3]))
            jc = np.flatnonzero((dxc >= box[0]) & (dxc < box[2]))
            if jr.size and jc.size:
                X, Y = np.meshgrid(dxc[jc], dyc[jr])
                z = sample_grid(np.column_stack([X.ravel(), Y.ravel()]), np.asarray(r.dtm[0], np.float64), r.dtm[1])
                dtm[np.ix_(jr, jc)] = z.reshape(jr.size, jc.size)
            per_tile.append(tile_notes + r.notes)
    if np.isnan(dtm).all():
        raise InputError("run_landcover: no tile had ground points; the land cover needs ground (class 2)")
    dtm = fill_nodata_laplace(dtm).astype(np.float32)
    notes = [f"classified in {len(per_tile)} tiles of {step * res:g} m (+{buffer_m:g} m buffer): "
             f"{sum(i.n_points for i in infos):,} points"]
    if log_i is not None:  # grass by intensity: one threshold for all tiles, not one per tile
        per_tile = [[n for n in t if not any(k in n for k in _INTENSITY_NOTES)] for t in per_tile]
        thr, note = intensity_threshold(log_i[open_ground])
        sm = smooth_field(log_i)
        codes[open_ground] = IMPERVIOUS
        if thr is not None:
            codes[open_ground & (np.nan_to_num(sm, nan=-np.inf) > thr)] = GRASS
        notes.append(note + " (one threshold for all tiles)" + ("; where the orthophoto has no data" if green is not None
                                                                 else ""))
    notes += _merge_notes(per_tile, len(per_tile))
    for n in notes[:1]:
        log.info(n)
    result = LandCoverResult(codes, tr, epsg, height.astype(np.float64),
                             None if green is None else green.astype(np.float64), index, (dtm, dtr), notes)
    return result, has_veg
