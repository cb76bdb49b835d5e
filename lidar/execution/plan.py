"""The plan of a build: which footprints go together in which block, and how each block gets its
points (read from the files, spilled in one streaming pass, or the cloud in memory).

Blocks are the cells of a square grid holding the footprints' centroids, so each building belongs
to exactly one block whatever the tiling; each block's box is its footprints' bounding box plus a
buffer (and, for spilled inputs, its cell, so that the boxes also cover the ground between the
footprints). Cells without footprints become ground-only blocks when the terrain is wanted. With a
work folder, blocks whose output is already there (:mod:`lidar.execution.cache`) are marked
done and are not run again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from citymodel.errors import FootprintError, InputError
from lidar.execution import cache
from lidar.footprints.given import Footprint
from lidar.points.pointcloud import PointCloud
from lidar.points.source import PointSource
from lidar.terrain.ground import has_usable_classes

__all__ = ["BlockJob", "BuildPlan", "plan_blocks", "mark_outside", "make_blocks", "make_tiles", "tile_name",
           "block_bboxes", "choose_tile_size",
           "ground_only_boxes", "files_classified"]

#: Points of each file's first chunk looked at to decide whether the files' classes are usable.
PROBE_POINTS = 200_000
#: A tile side chosen from the point density gives tiles of about this many points (with their
#: buffer about 1.1 times more: ~130 MB of points and index per tile in memory).
TILE_POINTS = 4_000_000
#: Bounds of a tile side chosen from the density [m], and its rounding step [m].
TILE_SIDE_MIN_M, TILE_SIDE_MAX_M, TILE_SIDE_STEP_M = 100.0, 2000.0, 50.0


@dataclasses.dataclass
class BlockJob:
    """What one block needs (picklable: it travels to Dask workers)."""

    k: int
    items: list[tuple[int, Any, str]]  # (footprint index, geometry, id) of its buildings
    lods: tuple[str, ...]
    time_limit_s: float
    want_ground: bool  # keep its ground points for the terrain
    epsg: int | None
    sources: list[str]
    spill_path: str | list[str] | None = None  # its spilled points, or its part files (lidar.execution.spill)
    read: tuple | None = None  # or (paths, crs, bbox): read from the files
    owned_boxes: np.ndarray | None = None  # boxes of blocks 0..k: its ground is what no earlier box holds
    classified: bool = False  # the files' classes are usable
    ortho: str | None = None
    cache_path: str | None = None  # write its output there (lidar.execution.cache)
    tile: str = ""  # its name in logs: "x<i>_y<j>" (grid cell of side tile_m), "all" (one read)


@dataclasses.dataclass
class BuildPlan:
    """The blocks of a build and what is known before running them.

    Attributes
    ----------
    jobs : list of BlockJob
        Every block, in order (footprint blocks first, then ground-only cells).
    done : dict of int to object
        Outputs of blocks found in the work folder (by block index), not to be run again.
    small : bool
        The input is read once (or is in memory); else it is spilled into the blocks.
    bboxes : (m, 4) float64 or None
        The spilled blocks' boxes [m].
    classified : bool
        The files' classes are usable (spilled inputs).
    n_buildings : int
        Footprints to reconstruct.
    want_ground : bool
        Blocks keep their ground points (terrain or DTM wanted).
    """

    jobs: list[BlockJob]
    done: dict[int, Any]
    small: bool
    bboxes: np.ndarray | None
    classified: bool
    n_buildings: int
    want_ground: bool

    @property
    def todo(self) -> list[BlockJob]:
        """The blocks still to run."""
        return [j for j in self.jobs if j.k not in self.done]


def tile_name(i: int, j: int) -> str:
    """Name of the grid cell (column ``i``, row ``j``) in logs and messages."""
    return f"x{i}_y{j}"


def make_tiles(fps: list[Footprint], block_m: float) -> list[tuple[str, list[int]]]:
    """``(tile name, indices of the usable footprints)`` per grid cell of side ``block_m`` [m]
    holding their centroids, cells in row order: each building belongs to exactly one tile."""
    usable = [i for i, f in enumerate(fps) if f.usable]
    if not usable:
        return []
    c = shapely.centroid([fps[i].geometry for i in usable])
    key = np.floor(np.column_stack([shapely.get_x(c), shapely.get_y(c)]) / block_m).astype(np.int64)
    order = np.lexsort((key[:, 0], key[:, 1]))
    blocks: dict[tuple[int, int], list[int]] = {}
    for o in order:
        blocks.setdefault((int(key[o, 0]), int(key[o, 1])), []).append(usable[o])
    return [(tile_name(*k), v) for k, v in blocks.items()]


def make_blocks(fps: list[Footprint], block_m: float) -> list[list[int]]:
    """Indices of the usable footprints per grid cell of side ``block_m`` [m] holding their
    centroids, cells in row order (:func:`make_tiles` without the names)."""
    return [b for _, b in make_tiles(fps, block_m)]


def block_bboxes(fps: list[Footprint], blocks: list[list[int]], buffer_m: float, cell_m: float | None = None) -> np.ndarray:
    """(m, 4) bounding box of each block's footprints plus ``buffer_m`` [m].

    With ``cell_m`` (the side of the blocks' grid cells, :func:`make_blocks`), each box also covers
    its block's cell, clipped to the box of all footprints plus ``buffer_m``: the boxes then cover
    the ground between the footprints too (the terrain), as one read of that box would.
    """
    bb = np.array([shapely.total_bounds([fps[i].geometry for i in b]) for b in blocks], dtype=np.float64)
    bb += np.array([-buffer_m, -buffer_m, buffer_m, buffer_m])
    if cell_m is not None and len(bb):
        c = shapely.centroid([fps[b[0]].geometry for b in blocks])
        lo = np.floor(np.column_stack([shapely.get_x(c), shapely.get_y(c)]) / cell_m) * cell_m
        cell = np.column_stack([lo, lo + cell_m])
        lo_all, hi_all = bb[:, :2].min(axis=0), bb[:, 2:].max(axis=0)
        cell[:, :2] = np.clip(cell[:, :2], lo_all, hi_all)
        cell[:, 2:] = np.clip(cell[:, 2:], lo_all, hi_all)
        bb = np.column_stack([np.minimum(bb[:, :2], cell[:, :2]), np.maximum(bb[:, 2:], cell[:, 2:])])
    return bb


def ground_only_boxes(fps: list[Footprint], blocks: list[list[int]], bboxes: np.ndarray, cell_m: float,
                      buffer_m: float, names: list[str] | None = None) -> list[np.ndarray]:
    """(4,) boxes of the grid cells inside the blocks' overall box that hold no block: their
    ground points complete the terrain (each cell plus ``buffer_m``, clipped to the overall box).
    With ``names``, each cell's name (:func:`tile_name`) is appended to it."""
    lo_all, hi_all = bboxes[:, :2].min(axis=0), bboxes[:, 2:].max(axis=0)
    c = shapely.centroid([fps[b[0]].geometry for b in blocks])
    taken = {(int(a), int(b)) for a, b in np.floor(np.column_stack([shapely.get_x(c), shapely.get_y(c)]) / cell_m)}
    i0, j0 = np.floor(lo_all / cell_m).astype(np.int64)
    i1, j1 = np.floor(hi_all / cell_m).astype(np.int64)
    out = []
    for j in range(j0, j1 + 1):  # a loop over grid cells, not points
        for i in range(i0, i1 + 1):
            if (i, j) in taken:
                continue
            box = np.array([i * cell_m - buffer_m, j * cell_m - buffer_m, (i + 1) * cell_m + buffer_m,
                            (j + 1) * cell_m + buffer_m])
            out.append(np.concatenate([np.clip(box[:2], lo_all, hi_all), np.clip(box[2:], lo_all, hi_all)]))
            if names is not None:
                names.append(tile_name(i, j))
    return out


def choose_tile_size(source: PointSource, tile_size_m: float | None, single_read_points: int,
                     default_m: float | None = None) -> tuple[float | None, str]:
    """The side of the build's tiles [m] (None: one tile, the points read at once) and why.

    Parameters
    ----------
    source : PointSource
        The points.
    tile_size_m : float or None
        Side asked for (CLI ``--tile-size-m``): used as it is, even for a small input.
    single_read_points : int
        Without ``tile_size_m``, inputs of at most this many points are one tile.
    default_m : float, optional
        Without ``tile_size_m``, the side of bigger inputs; None: from the point density, so that a
        tile holds about :data:`TILE_POINTS` points (rounded down to :data:`TILE_SIDE_STEP_M`,
        within :data:`TILE_SIDE_MIN_M` .. :data:`TILE_SIDE_MAX_M`).

    Raises
    ------
    InputError
        A given side that is not a positive finite number.
    """
    if tile_size_m is not None:
        t = float(tile_size_m)
        if not np.isfinite(t) or t <= 0:
            raise InputError(f"tile size {tile_size_m!r} m: give a positive side in metres (CLI: --tile-size-m 500)")
        if source.in_memory:
            return None, f"--tile-size-m {t:g} ignored: points given in memory are one tile"
        return t, f"{t:g} m, as given"
    if source.in_memory:
        return None, "points given in memory: one tile"
    n = source.n_points
    if n <= single_read_points:
        return None, f"{n:,} points (at most {single_read_points:,}): one tile, read at once"
    if default_m is not None:
        return float(default_m), f"{default_m:g} m (lidar.build.BLOCK_M)"
    ext = np.array(source.extents, dtype=np.float64)
    area_m2 = float(shapely.union_all([shapely.box(*e) for e in ext]).area) or 1.0
    density = n / area_m2
    side = float(np.sqrt(TILE_POINTS / density))
    side = float(np.clip(np.floor(side / TILE_SIDE_STEP_M) * TILE_SIDE_STEP_M, TILE_SIDE_MIN_M, TILE_SIDE_MAX_M))
    return side, (f"{side:g} m from the point density: {density:.1f} pts/m2 over {area_m2 / 1e6:.2f} km2, "
                  f"about {TILE_POINTS / 1e6:g} M points per tile")


def files_classified(source: PointSource) -> bool:
    """True when every file's first chunk has usable ground and building classes."""
    for info in source.infos:
        chunks = source.chunks(chunk_size=PROBE_POINTS, infos=[info])
        try:
            _, arrs, _ = next(chunks)
        finally:
            chunks.close()
        if arrs is None or not has_usable_classes(PointCloud(*arrs)):
            return False
    return True


def mark_outside(fps: list[Footprint], source: PointSource, where: Any) -> set[int]:
    """Mark footprints outside the points as skipped; the indices of those partly outside.

    Raises
    ------
    FootprintError
        When no footprint overlaps the points (the message gives both extents).
    """
    if not fps:
        raise FootprintError("there are no footprints to reconstruct")
    ext_geom = shapely.union_all([shapely.box(*e) for e in source.extents])
    overlap = [f.usable and shapely.intersects(f.geometry, ext_geom) for f in fps]
    if not any(overlap):
        geoms = [f.geometry for f in fps if f.geometry is not None]
        if not geoms:
            raise FootprintError(
                f"{where if isinstance(where, (str, os.PathLike)) else 'the footprints'}: none of the "
                f"{len(fps)} footprints is usable ({fps[0].status_reason}); check the geometries and their CRS"
            )
        fb = shapely.total_bounds(geoms)
        name = where if isinstance(where, (str, os.PathLike)) else "the footprints"
        raise FootprintError(
            f"{name}: none of the {len(fps)} footprints overlaps {source.description} "
            f"(footprints x {fb[0]:.0f}..{fb[2]:.0f}, y {fb[1]:.0f}..{fb[3]:.0f}; points "
            f"{shapely.bounds(ext_geom).round(0).tolist()}); check the footprints' CRS and the files"
        )
    for f, ov in zip(fps, overlap, strict=False):
        if f.usable and not ov:
            f.status, f.status_reason = "skipped", "footprint outside the point cloud"
    return {i for i, f in enumerate(fps) if f.usable and not shapely.contains(ext_geom, f.geometry)}


def plan_blocks(
    source: PointSource,
    fps: list[Footprint],
    *,
    loaded: bool,
    lods: tuple[str, ...],
    time_limit_s: float,
    want_ground: bool,
    ortho: Any,
    block_m: float,
    single_read_points: int,
    ground_buffer_m: float,
    classify_buffer_m: float,
    workdir: Any = None,
    cache_inputs: Sequence[Any] = (),
    cache_options: dict[str, Any] | None = None,
) -> BuildPlan:
    """Blocks of the usable footprints, how each gets its points, and the ones already done.

    Parameters
    ----------
    source : PointSource
        The points.
    fps : list of Footprint
        All footprints (unusable and outside ones are in no block).
    loaded : bool
        The points are already read (in memory, or read whole to extract the footprints).
    lods, time_limit_s, want_ground, ortho
        Carried by every block.
    block_m : float
        Side of the blocks' grid cells for spilled inputs [m].
    single_read_points : int
        Inputs with at most this many points are read at once (one block), larger ones spilled.
    ground_buffer_m, classify_buffer_m : float
        Buffer around a block's footprints for classified files / for files classified here [m].
    workdir : path, optional
        Work folder of block outputs: those found there are returned in ``done``.
    cache_inputs : sequence of path
        Files besides the points whose change invalidates the outputs (footprints, orthophoto).
    cache_options : dict
        Options that decide the outputs (part of the key).
    """
    small = source.in_memory or loaded or source.n_points <= single_read_points
    classes_usable = True
    if not source.in_memory and not loaded and small:
        # a cheap look at the classes: a small window of the first file
        b = source.infos[0].bounds
        classes_usable = has_usable_classes(source.read((b[0], b[1], b[0] + 100.0, b[1] + 100.0), files=1))
    tiles = make_tiles(fps, 1e12 if small else block_m)
    names = ["all"] if small else [t for t, _ in tiles]
    blocks = [b for _, b in tiles]
    n_buildings = sum(len(b) for b in blocks)
    common = dict(lods=lods, time_limit_s=time_limit_s, want_ground=want_ground, epsg=source.epsg,
                  sources=source.sources, ortho=None if ortho is None else str(ortho))
    jobs: list[BlockJob] = []
    boxes_of: list[np.ndarray] = []  # per job, the boxes that decide its points (cache key)
    bboxes = None
    classified = False
    if not small and blocks:
        classified = files_classified(source)
        buffer_m = ground_buffer_m if classified else classify_buffer_m
        bboxes = block_bboxes(fps, blocks, buffer_m, block_m)
        if want_ground:  # cells without footprints still give terrain
            extra = ground_only_boxes(fps, blocks, bboxes, block_m, 0.0 if classified else classify_buffer_m, names)
            blocks = blocks + [[] for _ in extra]
            bboxes = np.vstack([bboxes, *extra])
        for k, block in enumerate(blocks):
            jobs.append(BlockJob(k, [(i, fps[i].geometry, fps[i].id) for i in block], owned_boxes=bboxes[: k + 1],
                                 classified=classified, tile=names[k], **common))
            boxes_of.append(bboxes[: k + 1])
    else:
        for k, block in enumerate(blocks):
            bb = block_bboxes(fps, [block], ground_buffer_m)[0]
            read = None if source.in_memory or loaded else (source.files, source.crs, None if not classes_usable else bb)
            jobs.append(BlockJob(k, [(i, fps[i].geometry, fps[i].id) for i in block], read=read, tile=names[k], **common))
            boxes_of.append(bb[None, :] if classes_usable else np.zeros((1, 4)))
    done: dict[int, Any] = {}
    if workdir is not None and not source.in_memory and not loaded and jobs:
        wd = cache.prepare(workdir)
        options = dict(cache_options or {}, want_ground=want_ground, small=bool(small), classes_usable=bool(classes_usable))
        rkey = cache.run_key(source.files + [str(f) for f in cache_inputs], options)
        for job, boxes in zip(jobs, boxes_of, strict=True):
            key = cache.block_key(rkey, [i for i, _, _ in job.items], [g.wkb for _, g, _ in job.items], boxes)
            path = cache.block_path(wd, key)
            job.cache_path = str(path)
            out = cache.load(path) if path.exists() else None
            if out is not None:
                done[job.k] = out
    return BuildPlan(jobs, done, small, bboxes, classified, n_buildings, want_ground)
