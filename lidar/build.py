"""LiDAR + footprints to a CityModel: buildings at LoD1.2, LoD1.3 and LoD2.2, and terrain.

:func:`build_model` is the library side of ``citymodel build``, in three steps:

1. **plan** the blocks (:func:`lidar.execution.plan.plan_blocks`): footprints grouped by the grid
   cell of their centroid, each block with the box its points come from;
2. **run** each block (:func:`lidar.execution.run.run_plan`): load its points, classify them
   (:func:`classify_block` here), reconstruct its buildings, keep its ground for the terrain;
3. **assemble** the results into one model (:func:`lidar.execution.assemble.assemble_model`),
   with the terrain's TIN.

Points are read per block of footprints (their bounding box plus a buffer), so that memory is
bounded by a block, and each building takes its points from every file by its own footprint: its
result does not depend on which other buildings or tiles were in the run. Inputs above
:data:`SINGLE_READ_POINTS` are read once, chunk by chunk, every point routed to the spill files of
the blocks containing it (:mod:`lidar.execution.spill`); blocks are then loaded one at a time.
With worker processes, both the spill (one input file per worker at a time) and the tiles (one
tile per worker at a time) run in the workers (:mod:`lidar.execution.tile_pool`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from citymodel.errors import InputError
from citymodel.model import CityModel
from lidar.classify import classify_points
from lidar.execution import cache
from lidar.execution.assemble import assemble_model, note_partly_outside
from lidar.execution.extract_tiles import FOOTPRINT_BUFFER_M, extract_tiled
from lidar.execution.plan import (
    block_bboxes,
    choose_tile_size,
    make_blocks,
    mark_outside,
    plan_blocks,
)
from lidar.execution.run import (
    DTM_RESOLUTION_M,
    GROUND_BUFFER_M,
    HARD_LIMIT_FACTOR,
    HARD_LIMIT_MIN_GRACE_S,
    ROOF_MIN_HEIGHT_M,
    SPILL_CHUNK_POINTS,
    TEST_HANG_S,
    BlockOut,
    TileReport,
    owned_ground,
    run_plan,
    worker_pool,
)
from lidar.footprints.extraction import extract_footprints
from lidar.footprints.given import Footprint, footprints_from_polygons, read_footprints
from lidar.points.pointcloud import ASPRS_BUILDING, ASPRS_GROUND, PointCloud
from lidar.points.source import PointSource, as_paths, open_points
from lidar.reconstruct.building import LODS
from lidar.terrain.ground import has_usable_classes
from lidar.terrain.tin import add_terrain
from lidar.vegetation.build_step import VegetationOptions, add_vegetation, check_ortho

__all__ = ["build_model", "classify_block", "GROUND_BUFFER_M", "BLOCK_M", "TileReport"]

log = logging.getLogger(__name__)

#: Side of the square tiles when ``tile_size_m`` is not given [m]; None: chosen from the point
#: density (:func:`lidar.execution.plan.choose_tile_size`). Each tile's points are loaded at once.
BLOCK_M: float | None = None
#: Without ``tile_size_m``, files with at most this many points in all are read at once (one
#: tile); larger inputs are spilled into tiles.
SINGLE_READ_POINTS = 2_000_000
#: Unclassified inputs: each block is classified with its points this far around its footprints [m].
CLASSIFY_BUFFER_M = 30.0

# Names of the steps before issue #11 split this module (kept for scripts, tests and the block
# outputs pickled in work folders by earlier versions).
_TEST_HANG_S = TEST_HANG_S
_BlockOut = BlockOut
_owned_ground = owned_ground
_blocks = make_blocks
_block_bboxes = block_bboxes
_as_paths = as_paths
__all__ += ["ASPRS_GROUND", "ASPRS_BUILDING", "DTM_RESOLUTION_M", "HARD_LIMIT_FACTOR", "HARD_LIMIT_MIN_GRACE_S",
            "ROOF_MIN_HEIGHT_M", "SPILL_CHUNK_POINTS"]


# ----------------------------------------------------------------------------- inputs
def _load_footprints(footprints: Any, id_field: str | None, epsg: int | None) -> list[Footprint]:
    if isinstance(footprints, (str, os.PathLike)):
        return read_footprints(footprints, id_field=id_field, epsg=epsg)
    items = list(footprints)
    if items and isinstance(items[0], Footprint):
        return [dataclasses.replace(f, attributes=dict(f.attributes)) for f in items]  # never mutate the caller's
    return footprints_from_polygons(items)


def _extract_footprints(pc, ortho=None) -> list[Footprint]:
    """Footprints extracted from classified points (:func:`lidar.footprints.extraction.extract_footprints`)."""
    return footprints_from_polygons(list(extract_footprints(pc, ortho=ortho)))


def classify_block(pc, ortho=None) -> tuple[np.ndarray, np.ndarray, str]:
    """Ground and building masks of a block's points: the file's classes when usable, else
    classified here (:func:`lidar.classify.classify_points`, with the orthophoto's NDVI when given).

    Returns
    -------
    ground, building : (n,) bool
    description : str
        How the classes were obtained (``stats["classes"]``).
    """
    if has_usable_classes(pc):
        return pc.classification == ASPRS_GROUND, pc.classification == ASPRS_BUILDING, "file classes"
    out = classify_points(pc, ortho=ortho)
    cls = np.asarray(getattr(out, "classification", out))
    return cls == ASPRS_GROUND, cls == ASPRS_BUILDING, "classified (lidar.classify)"


def _classes(pc, ortho=None) -> tuple[np.ndarray, np.ndarray, str]:
    """The classifier the build hands to its blocks (:func:`classify_block`; tests replace it)."""
    return classify_block(pc, ortho)


def _with_classes(pc, ground: np.ndarray, building: np.ndarray):
    """The same points with ASPRS classes 2 (ground), 6 (building), 1 (other) from the masks."""
    cls = np.where(ground, ASPRS_GROUND, np.where(building, ASPRS_BUILDING, 1)).astype(np.uint8)
    if np.array_equal(cls, pc.classification):
        return pc
    return PointCloud(pc.xyz, cls, pc.return_number, pc.number_of_returns, pc.intensity, pc.epsg, list(pc.sources))


def _check_lods(lods: Sequence[str]) -> tuple[str, ...]:
    lods = tuple(str(x) for x in lods)
    bad = [x for x in lods if x not in LODS]
    if bad or not lods:
        raise InputError(f"unknown LoD {', '.join(bad) or '(none)'}; choose among {', '.join(LODS)} (CLI: --lod 1.2,1.3,2.2)")
    return tuple(x for x in LODS if x in lods)


def _footprints(source: PointSource, footprints: Any, id_field: str | None, ortho: Any, workdir: Any,
                progress: bool, tile_m: float | None, notes: list[str],
                workers: int | None = None) -> tuple[list[Footprint], tuple | None]:
    """The footprints (given, or extracted from the points and kept in ``workdir``), and the
    points with their classes when they were read whole for the extraction (one tile, ``tile_m``
    None); else extracted tile by tile (:func:`lidar.execution.extract_tiles.extract_tiled`), in
    ``workers`` worker processes (None: here)."""
    if footprints is not None:
        return _load_footprints(footprints, id_field, source.epsg), None
    fps, fp_cache, loaded = None, None, None
    if workdir is not None and not source.in_memory:  # extracted footprints are kept and reused too
        fkey = cache.run_key(source.files + ([] if ortho is None else [str(ortho)]),
                             {"extracted footprints": 1, "crs": str(source.crs), "tile_m": tile_m,
                              "buffer_m": FOOTPRINT_BUFFER_M})
        fp_cache = cache.prepare(workdir) / f"footprints_{fkey}.pkl"
        fps = cache.load(fp_cache) if fp_cache.exists() else None
    if fps is None and tile_m is not None:  # bounded memory: tile by tile
        pool = worker_pool(workers) if workers is not None else None
        fps = footprints_from_polygons(extract_tiled(source, tile_m=tile_m, classify=_classes, ortho=ortho,
                                                     buffer_m=FOOTPRINT_BUFFER_M, progress=progress, notes=notes,
                                                     pool=pool))
    elif fps is None:
        pc_all = source.read(progress=progress)
        classes_all = _classes(pc_all, ortho)
        fps = _extract_footprints(_with_classes(pc_all, *classes_all[:2]), ortho)
        loaded = (pc_all, classes_all)
    if fp_cache is not None:
        if not fp_cache.exists():
            cache.save(fp_cache, fps)
        # blocks then read their points from the files, as with given footprints: a first run
        # and a resumed one build each block the same way, and both keep block outputs
        loaded = None
    return fps, loaded


def build_model(
    points: Any,
    *,
    footprints: Any = None,
    footprint_id_field: str | None = None,
    crs: str | int | None = None,
    lods: Sequence[str] = LODS,
    workers: int = 1,
    time_limit_s: float = 5.0,
    hard_time_limit: bool = True,
    dtm_path: str | os.PathLike | None = None,
    terrain: bool = True,
    terrain_error_m: float = 0.2,
    progress: bool = True,
    overwrite: bool = False,
    stats: dict[str, Any] | None = None,
    ortho: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
    scheduler: Any = None,
    vegetation: VegetationOptions | None = None,
    tile_size_m: float | None = None,
    on_tile: Callable[[TileReport, list[CityModel]], Any] | None = None,
) -> CityModel:
    """Build a city model from LAS/LAZ points and building footprints.

    Parameters
    ----------
    points : path, list of paths, or PointCloud
        LAS/LAZ files (any number, one CRS) or points already read.
    footprints : path, list of Footprint or list of shapely polygons, optional
        ``.gpkg``/``.geojson``/``.shp``/``.sqlite``/``.csv``; polygons are taken to be in the
        points' CRS. ``None``: footprints are extracted from the points (tile by tile when there are
        several tiles, :mod:`lidar.execution.extract_tiles`).
    footprint_id_field : str, optional
        Footprint attribute that becomes the building id (default ``fp<N>``).
    crs : str or int, optional
        CRS of files that have none (AHN: ``"EPSG:7415"``).
    lods : sequence of str
        Any of "1.2", "1.3", "2.2".
    workers : int
        Worker processes. Inputs spilled into tiles: each worker spills whole input files, then
        runs whole tiles (points, classes, buildings; :mod:`lidar.execution.tile_pool`), this
        process only routing results, so that 2 workers take about half the time of 1. One tile
        (small or in-memory inputs): the buildings are reconstructed in parallel. With
        ``hard_time_limit``, one worker process even for 1.
    time_limit_s : float
        Per-building time budget [s]; past it, higher LoDs fall back to lower ones.
    hard_time_limit : bool
        Reconstruct in worker processes (``workers`` of them, started once per Python process
        and kept) and kill a building's worker when it runs past the budget plus a grace
        (:func:`lidar.execution.run.hard_limit_s`), even inside a numba kernel; the building then gets its lower
        LoDs (``status="fallback"``, the reason in ``status_reason``). ``False`` with
        ``workers=1``: in this process, the budget checked between steps only.
    dtm_path : path, optional
        Also write the DTM as a GeoTIFF here.
    terrain : bool
        Add a simplified TIN of the ground points as a ``TINRelief``.
    terrain_error_m : float
        Largest vertical distance of any ground point to the TIN [m] (greedy insertion,
        :mod:`lidar.terrain.accumulator`; the ground points are reduced block by block, not kept).
    progress : bool
        Progress bar per building.
    overwrite : bool
        Replace an existing ``dtm_path``.
    ortho : path, optional
        RGBN orthophoto GeoTIFF: its NDVI helps classify files without building classes, and
        without footprints its roof colours help split touching buildings at party walls.
    workdir : path, optional
        Keep each block's output there (written atomically, :mod:`lidar.execution.cache`), and the
        extracted footprints when none are given, and reuse them on a re-run with the same input
        files (names, sizes, modification times), options and blocks: an interrupted build
        resumes where it stopped. Not for points given in memory.
    scheduler : str or dask.distributed.Client, optional
        Address of a Dask scheduler (or a client): blocks run on its workers instead of here
        (buildings in the worker's process, with the cooperative time limit only). The input
        files, and ``workdir`` when given (the spill then goes there), must be reachable by the
        workers at the same paths. Results are the same as a local run.
    vegetation : VegetationOptions, optional
        Also land cover and green areas (:mod:`lidar.vegetation.build_step`); summary in ``stats["vegetation"]``.
    tile_size_m : float, optional
        Side of the square tiles [m]. Each building belongs to the tile holding its footprint's
        centroid and is reconstructed from all the points around its footprint (the tile's box is
        its footprints' box plus a buffer), so its result does not depend on the tile size. Default:
        one tile for inputs of up to :data:`SINGLE_READ_POINTS` points, else a side chosen from
        the point density (:func:`lidar.execution.plan.choose_tile_size`); the choice and why
        are logged and in ``stats["tile_size_m"]``, ``stats["tile_size_reason"]``.
    on_tile : callable, optional
        ``on_tile(report, buildings)`` as each tile finishes: its
        :class:`~lidar.execution.run.TileReport` and one ``CityModel`` per building it owns
        (for streamed output, :mod:`lidar.execution.stream`). A failed tile's buildings come
        skipped, with the reason; the other tiles go on.
    stats : dict, optional
        Filled with run figures: ``seconds_per_building`` and ``cpu_seconds_per_building``
        (arrays [s]), ``n_points`` (points loaded, summed over blocks), ``n_points_in_files``,
        ``spilled`` (True when the points went through :mod:`lidar.execution.spill`), ``blocks_reused`` (block
        outputs found in ``workdir``), ``classes``, ``statuses``,
        ``terrain`` (TIN figures: ``max_error_m`` over all ground points, ``rounds``, ...),
        ``tiles`` (one dict per tile: :class:`~lidar.execution.run.TileReport`), ``failed_tiles``,
        ``phase_seconds`` (per phase of the run: its wall time, the CPU time of this process and
        that of the tile workers when tiles run in them, else nan [s]).

    Returns
    -------
    CityModel
        One ``Building`` per footprint (``BuildingPart`` children for multi-polygon
        footprints) with the glossary attributes and every footprint attribute.

    Raises
    ------
    PointCloudError, CRSError
        Unreadable files, or no CRS in the files and none given.
    FootprintError
        Unreadable footprints, unknown id field, or no footprint overlapping the points.
    """
    lods = _check_lods(lods)
    clock = (time.perf_counter(), time.process_time())
    source = open_points(points, crs)
    ortho, veg_notes = check_ortho(ortho, vegetation, source.epsg, source.extents)  # fails now, or drops it
    tile_m, tile_why = choose_tile_size(source, tile_size_m, SINGLE_READ_POINTS, BLOCK_M)
    fp_notes: list[str] = []
    here = scheduler is not None or (workers <= 1 and not hard_time_limit)  # as run_plan's tiles
    fps, loaded = _footprints(source, footprints, footprint_id_field, ortho, workdir, progress, tile_m, fp_notes,
                              None if here else workers)
    for note in fp_notes:
        log.warning("footprint extraction: %s", note)
    partly = mark_outside(fps, source, footprints)

    # 1. plan: tiles of footprints, how each gets its points, the ones already in workdir
    if loaded is not None and tile_m is not None:
        tile_m, tile_why = None, f"one tile: the points were read whole to extract the footprints (not {tile_why})"
    log.info("build tiles: %s", tile_why)
    cache_inputs = [f for f in (footprints, ortho) if isinstance(f, (str, os.PathLike))]
    plan = plan_blocks(
        source, fps, loaded=loaded is not None, lods=lods, time_limit_s=time_limit_s,
        want_ground=terrain or dtm_path is not None, ortho=ortho,
        block_m=tile_m or 1e12, single_read_points=source.n_points if tile_m is None else -1,
        ground_buffer_m=GROUND_BUFFER_M, classify_buffer_m=CLASSIFY_BUFFER_M, workdir=workdir,
        cache_inputs=cache_inputs,
        cache_options={"lods": lods, "time_limit_s": float(time_limit_s), "crs": str(crs),
                       "id_field": str(footprint_id_field),
                       "consts": (tile_m, GROUND_BUFFER_M, CLASSIFY_BUFFER_M, ROOF_MIN_HEIGHT_M)},
    )

    def tile_done(report: TileReport, results: dict) -> None:
        note_partly_outside(results, partly)
        if on_tile is not None:
            on_tile(report, [assemble_model([fps[i]], {0: results[i]}, source.epsg, lods) for i in sorted(results)])

    # 2. run each tile: points, classes, buildings, ground (reduced to the DTM and the TIN)
    plan_s = (time.perf_counter() - clock[0], time.process_time() - clock[1], float("nan"))
    ran = run_plan(plan, source, classify=_classes, loaded=loaded, workers=workers, hard_time_limit=hard_time_limit,
                   scheduler=scheduler, workdir=workdir, progress=progress, terrain=terrain,
                   terrain_error_m=terrain_error_m, dtm_path=dtm_path, overwrite=overwrite, on_tile=tile_done)
    # 3. assemble: one Building per footprint, and the terrain
    clock = (time.perf_counter(), time.process_time())
    model = assemble_model(fps, ran.results, source.epsg, lods)
    if ran.tin is not None:
        add_terrain(model, *ran.tin)
    usable = [f for f in fps if f.usable]
    veg = add_vegetation(model, points, options=vegetation, footprints=[f.geometry for f in usable],
                         footprint_ids=[f.id for f in usable],
                         ortho=ortho, crs=crs, bounds=source.extents, notes=veg_notes, overwrite=overwrite,
                         progress=progress)
    if stats is not None:
        phases = {"footprints and plan": plan_s, **ran.phases,
                  "assemble and vegetation": (time.perf_counter() - clock[0], time.process_time() - clock[1], float("nan"))}
        stats.update(
            phase_seconds={k: {"wall_s": round(w, 3), "main_cpu_s": round(c, 3), "workers_cpu_s": round(wc, 3)}
                           for k, (w, c, wc) in phases.items()},
            vegetation=veg,
            seconds_per_building=np.array([r.seconds for r in ran.results.values()]),
            cpu_seconds_per_building=np.array([r.cpu_seconds for r in ran.results.values()]),
            n_points=ran.n_points,
            n_points_in_files=source.n_points,
            spilled=not plan.small and bool(plan.jobs),
            blocks_reused=ran.n_reused,
            tile_size_m=tile_m,
            footprint_notes=fp_notes,
            tile_size_reason=tile_why,
            tiles=[dataclasses.asdict(t) for t in ran.tiles],
            failed_tiles=[dataclasses.asdict(t) for t in ran.tiles if t.status == "failed"],
            classes=ran.classes_desc,
            terrain=ran.terrain_stats,
            statuses={s: sum(1 for o in model.city_objects.values() if o.get("attributes", {}).get("status") == s)
                      for s in ("ok", "fallback", "skipped")},
        )
    return model
