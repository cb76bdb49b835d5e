"""Footprint extraction tile by tile, for builds without footprints on inputs too big to read
at once (:func:`extract_tiled`).

The points are spilled once into square tiles with a buffer (:mod:`lidar.execution.spill`;
classified files: their building points only); each tile is loaded alone, classified when its
file has no usable classes, and its footprints extracted
(:func:`lidar.footprints.extraction.extract_footprints`). A tile keeps the footprints whose
centroid lies in its cell (:func:`lidar.footprints.extraction.owned_footprints`), so a building
crossing a tile edge is extracted whole by exactly one tile as long as it reaches less than the
buffer beyond the edge. One that reaches the buffer's edge (a building larger than the buffer) is
extracted again from a box around its piece, grown until the building fits (at most
:data:`GROW_ROUNDS` doublings of a margin of two buffers), and kept once; if it is still cut, it is
kept as it is and counted in the notes. Party walls between touching buildings are placed from
the roofs each tile sees, so they may move by a few decimetres with the tiling. Memory is bounded by a tile (plus its buffer), never by
the files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from citymodel.errors import FootprintError
from citymodel.progress import progress_bar
from lidar.execution import spill
from lidar.execution.plan import files_classified
from lidar.execution.tile_pool import TilePool
from lidar.footprints.extraction import extract_footprints, owned_footprints
from lidar.points.pointcloud import ASPRS_BUILDING, ASPRS_GROUND, PointCloud
from lidar.points.source import PointSource

__all__ = ["extract_tiled", "extract_tile", "FOOTPRINT_BUFFER_M", "tile_boxes"]

#: Buffer around each tile's cell for the extraction [m]: buildings reaching up to this far past
#: a tile edge are extracted whole.
FOOTPRINT_BUFFER_M = 50.0
#: Rounds of a building's second extraction, its box's margin doubled each time (from two buffers).
GROW_ROUNDS = 4
#: Points decompressed at a time while spilling.
CHUNK_POINTS = 1_000_000


def tile_boxes(extent_m: tuple[float, float, float, float], tile_m: float) -> np.ndarray:
    """(m, 4) cells of side ``tile_m`` [m] on the grid of multiples of ``tile_m`` covering ``extent_m``,
    in row order."""
    i0, j0 = np.floor(np.asarray(extent_m[:2]) / tile_m).astype(np.int64)
    i1, j1 = np.floor(np.asarray(extent_m[2:]) / tile_m).astype(np.int64)
    jj, ii = np.meshgrid(np.arange(j0, j1 + 1), np.arange(i0, i1 + 1), indexing="ij")
    lo = np.column_stack([ii.ravel(), jj.ravel()]).astype(np.float64) * tile_m
    return np.column_stack([lo, lo + tile_m])


def _extract(pc: PointCloud, classified: bool, classify: Callable, ortho: Any) -> list[Polygon]:
    if not len(pc):
        return []
    if not classified:
        ground, building, _ = classify(pc, ortho)
        cls = np.where(ground, ASPRS_GROUND, np.where(building, ASPRS_BUILDING, 1)).astype(np.uint8)
        pc = PointCloud(pc.xyz, cls, pc.return_number, pc.number_of_returns, pc.intensity, pc.epsg, list(pc.sources))
    try:
        return extract_footprints(pc, ortho=ortho, classify_if_missing=False)
    except FootprintError:  # no building in this tile
        return []


def extract_tile(path: Any, epsg: int | None, sources: list[str], classified: bool, classify: Callable, ortho: Any,
                 cell: tuple, box: tuple, data: tuple, edge_m: float) -> tuple[list[Polygon], list[Polygon]]:
    """One tile's footprints from its spill file(s) (then deleted): those whose centroid is in
    ``cell`` and not cut by ``box``, and the cut ones (:func:`owned_footprints`)."""
    pc = spill.load_block(path, epsg, sources)
    spill.remove(path)
    return owned_footprints(_extract(pc, classified, classify, ortho), cell, box, data, edge_m)


def _advanced(out: Any, bar: Any, task: Any) -> Any:
    bar.advance(task, 1)
    return out


def _same(a: Polygon, b: Polygon) -> bool:
    """Two extractions of one building (intersection over union above 0.9)."""
    return a.intersects(b) and a.intersection(b).area > 0.9 * a.union(b).area


def extract_tiled(source: PointSource, *, tile_m: float, classify: Callable, ortho: Any = None,
                  buffer_m: float = FOOTPRINT_BUFFER_M, progress: bool = False,
                  notes: list[str] | None = None, pool: TilePool | None = None) -> list[Polygon]:
    """Footprints of the buildings in the files, extracted tile by tile.

    Parameters
    ----------
    source : PointSource
        The LAS/LAZ files.
    tile_m : float
        Side of the tiles [m].
    classify : callable
        ``classify(points, ortho) -> (ground, building, description)`` for files without usable
        classes (:func:`lidar.build.classify_block`).
    ortho : path, optional
        RGBN orthophoto (classification and party walls).
    buffer_m : float
        Buffer around each tile [m].
    progress : bool
        Progress bars.
    notes : list of str, optional
        Receives what the run should report (buildings still cut after the second extraction).
    pool : TilePool, optional
        Worker processes (:mod:`lidar.execution.tile_pool`) that spill the files and extract the
        tiles; None: here. ``classify`` must then be a module-level function.

    Returns
    -------
    list of Polygon
        The footprints [m], ordered by centroid (south to north, then west to east), whatever
        the tile size.

    Raises
    ------
    FootprintError
        No building found in any tile.
    """
    ext = np.array(source.extents, dtype=np.float64)
    data = (*ext[:, :2].min(axis=0), *ext[:, 2:].max(axis=0))
    cells = tile_boxes(data, tile_m)
    boxes = cells + np.array([-buffer_m, -buffer_m, buffer_m, buffer_m])
    classified = files_classified(source)
    edge_m = 1.0
    whole: list[Polygon] = []
    cut: list[Polygon] = []
    keep = (ASPRS_BUILDING,) if classified else None
    with tempfile.TemporaryDirectory(prefix="citymodel_fp_") as tmp, progress_bar(progress) as bar:
        rtask = bar.add_task("Reading points into footprint tiles", total=source.n_points)
        if pool is not None:  # each worker spills whole files, then extracts whole tiles
            paths: list[Any] = pool.spill(source.infos, boxes, tmp, classes=keep, chunk_size=CHUNK_POINTS,
                                          advance=lambda n: bar.advance(rtask, n))
        else:
            paths = spill.spill_blocks(source.infos, boxes, tmp, classes=keep, chunk_size=CHUNK_POINTS,
                                       advance=lambda n: bar.advance(rtask, n))
        task = bar.add_task("Extracting footprints", total=len(paths))
        args = [(p, source.epsg, source.sources, classified, classify, ortho, tuple(cell), tuple(box), data, edge_m)
                for cell, box, p in zip(cells, boxes, paths, strict=True)]
        outs = (pool.map(extract_tile, args, advance=lambda n: bar.advance(task, n)) if pool is not None
                else (_advanced(extract_tile(*a), bar, task) for a in args))
        for w, c in outs:
            whole += w
            cut += c
    # pieces of buildings reaching past a buffer: each building again from a box around its piece,
    # grown until the building no longer reaches the box's edge (at most GROW_ROUNDS doublings);
    # kept once (the pieces of one building in several tiles give it again: dropped), and only
    # if no tile had it whole
    still_cut = 0
    again: list[Polygon] = []
    for piece in cut:
        rep = piece.representative_point()
        if any(p.contains(rep) for p in again):
            continue
        got, margin_m = [], 2.0 * buffer_m
        for _ in range(GROW_ROUNDS):
            b = tuple(np.array(piece.bounds) + np.array([-1, -1, 1, 1]) * margin_m)
            found = [p for p in _extract(source.read(b), classified, classify, ortho) if p.contains(rep)]
            w, c = owned_footprints(found, (-np.inf, -np.inf, np.inf, np.inf), b, data, edge_m)
            got = w + c
            if not c:
                break
            piece, margin_m = c[0], 2.0 * margin_m
        else:
            still_cut += 1
        for p in got:
            if not any(_same(p, q) for q in again) and not any(_same(p, q) for q in whole):
                again.append(p)
    whole += again
    if still_cut and notes is not None:
        notes.append(f"{still_cut} extracted footprints are larger than {2 ** GROW_ROUNDS * buffer_m:g} m and may be "
                     "cut by a tile edge; give a larger --tile-size-m")
    if not whole:
        raise FootprintError(f"{source.description}: no building points to extract footprints from in any of the "
                             f"{len(cells)} tiles; give footprints (CLI: --footprints) or a classified point cloud")
    c = shapely.centroid(whole)
    order = np.lexsort((np.round(shapely.get_x(c), 3), np.round(shapely.get_y(c), 3)))
    return [whole[i] for i in order]
