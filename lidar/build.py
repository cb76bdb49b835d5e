"""LiDAR + footprints to a CityModel: buildings at LoD1.2, LoD1.3 and LoD2.2, and terrain.

:func:`build_model` is the library side of ``citymodel build``. Points are read per block of
footprints (their bounding box plus a buffer), so that memory is bounded by a block, and each
building takes its points from every file by its own footprint: its result does not depend on
which other buildings or tiles were in the run. Inputs above :data:`SINGLE_READ_POINTS` are read
once, chunk by chunk, every point routed to the spill files of the blocks containing it
(:mod:`lidar.spill`); blocks are then loaded one at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from citymodel.errors import FootprintError, InputError, PointCloudError
from citymodel.model import CityModel
from lidar.footprints import Footprint, footprints_from_polygons, read_footprints
from lidar.reconstruct.building import LODS, BuildingResult, reconstruct_building
from lidar.reconstruct.extrude import Shell, solid_geometry
from lidar.select import GridIndex, select_footprint_points
from lidar.vegetation.build_step import VegetationOptions, add_vegetation, check_ortho

__all__ = ["build_model", "GROUND_BUFFER_M", "BLOCK_M"]

#: Ground points within this distance around a footprint give its ground height [m].
GROUND_BUFFER_M = 3.0
#: Footprints are processed in square blocks of this side, each block's points loaded at once [m].
BLOCK_M = 500.0
#: Files with at most this many points in all are read at once; larger inputs are spilled per block.
SINGLE_READ_POINTS = 2_000_000
#: Unclassified inputs: each block is classified with its points this far around its footprints [m].
CLASSIFY_BUFFER_M = 30.0
#: Points decompressed at a time while spilling big inputs into blocks.
SPILL_CHUNK_POINTS = 1_000_000
#: Points of each file's first chunk looked at to decide whether the files' classes are usable.
PROBE_POINTS = 200_000
#: Non-ground points at least this high above the building's ground count as roof points when
#: the file has no building class [m].
ROOF_MIN_HEIGHT_M = 2.0
#: A building's worker process is killed after max(HARD_LIMIT_FACTOR * time_limit_s,
#: time_limit_s + HARD_LIMIT_MIN_GRACE_S) [s] of wall time (lidar._timelimit).
HARD_LIMIT_FACTOR = 1.5
HARD_LIMIT_MIN_GRACE_S = 1.0
#: Tests only: footprint id -> seconds that building's LoD2.2 sleeps in its worker (a "hang").
_TEST_HANG_S: dict[str, float] = {}
#: Cell size of the DTM GeoTIFF (``dtm_path``) [m].
DTM_RESOLUTION_M = 0.5


ASPRS_GROUND, ASPRS_BUILDING = 2, 6


# ----------------------------------------------------------------------------- inputs
def _as_paths(points: Any) -> list[Path]:
    if isinstance(points, (str, os.PathLike)):
        return [Path(points)]
    return [Path(p) for p in points]


def _load_footprints(footprints: Any, id_field: str | None, epsg: int | None) -> list[Footprint]:
    if isinstance(footprints, (str, os.PathLike)):
        return read_footprints(footprints, id_field=id_field, epsg=epsg)
    items = list(footprints)
    if items and isinstance(items[0], Footprint):
        return [dataclasses.replace(f, attributes=dict(f.attributes)) for f in items]  # never mutate the caller's
    return footprints_from_polygons(items)


def _extract_footprints(pc, ortho=None) -> list[Footprint]:
    """Adapter to :func:`lidar.footprint_extraction.extract_footprints` (another module)."""
    try:
        from lidar.footprint_extraction import extract_footprints
    except ImportError:
        raise InputError(
            "no footprints were given and footprint extraction (lidar.footprint_extraction) is not "
            "available in this installation; pass footprints (CLI: --footprints F.gpkg)"
        ) from None
    return footprints_from_polygons(list(extract_footprints(pc, ortho=ortho)))


def _classes(pc, ortho=None) -> tuple[np.ndarray, np.ndarray, str]:
    """Ground and building masks: the file's classes when usable, else classified here
    (:func:`lidar.classify.classify_points`, with the orthophoto's NDVI when given)."""
    from lidar.ground import has_usable_classes

    if has_usable_classes(pc):
        return pc.classification == ASPRS_GROUND, pc.classification == ASPRS_BUILDING, "file classes"
    try:
        from lidar.classify import classify_points
    except ImportError:
        classify_points = None
    if classify_points is not None:
        out = classify_points(pc, ortho=ortho)
        cls = getattr(out, "classification", out)
        cls = np.asarray(cls)
        return cls == ASPRS_GROUND, cls == ASPRS_BUILDING, "classified (lidar.classify)"
    from lidar.ground import classify_ground

    ground = np.asarray(classify_ground(pc), dtype=bool)
    return ground, ~ground, "ground filtered (CSF); roof = non-ground points above the building's ground"


def _with_classes(pc, ground: np.ndarray, building: np.ndarray):
    """The same points with ASPRS classes 2 (ground), 6 (building), 1 (other) from the masks."""
    from lidar.pointcloud import PointCloud

    cls = np.where(ground, ASPRS_GROUND, np.where(building, ASPRS_BUILDING, 1)).astype(np.uint8)
    if np.array_equal(cls, pc.classification):
        return pc
    return PointCloud(pc.xyz, cls, pc.return_number, pc.number_of_returns, pc.intensity, pc.epsg, list(pc.sources))


def _files_classified(infos) -> bool:
    """True when every file's first chunk has usable ground and building classes."""
    from lidar.ground import has_usable_classes
    from lidar.pointcloud import PointCloud, iter_chunks

    for info in infos:
        chunks = iter_chunks([info], chunk_size=PROBE_POINTS)
        try:
            _, arrs, _ = next(chunks)
        finally:
            chunks.close()
        if arrs is None or not has_usable_classes(PointCloud(*arrs)):
            return False
    return True


def _block_bboxes(fps: list[Footprint], blocks: list[list[int]], buffer_m: float, cell_m: float | None = None) -> np.ndarray:
    """(m, 4) bounding box of each block's footprints plus ``buffer_m`` [m].

    With ``cell_m`` (the side of the blocks' grid cells, :func:`_blocks`), each box also covers
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


def _ground_only_boxes(fps: list[Footprint], blocks: list[list[int]], bboxes: np.ndarray, cell_m: float,
                       buffer_m: float) -> list[np.ndarray]:
    """(4,) boxes of the grid cells inside the blocks' overall box that hold no block: their
    ground points complete the terrain (each cell plus ``buffer_m``, clipped to the overall box)."""
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
    return out


def _owned_ground(ground_xyz: np.ndarray, bboxes: np.ndarray, k: int) -> np.ndarray:
    """Block ``k``'s ground points that no earlier block's box holds, without duplicates: the
    blocks' parts then stack to the unique ground points of the run, block by block."""
    from lidar.spill import route_points

    if k and len(ground_xyz):
        routed = route_points(ground_xyz[:, :2], bboxes[: k + 1])
        earlier = [v for b, v in routed.items() if b < k]
        if earlier:
            keep = np.ones(len(ground_xyz), bool)
            keep[np.concatenate(earlier)] = False
            ground_xyz = ground_xyz[keep]
    return np.unique(ground_xyz, axis=0)


def _blocks(fps: list[Footprint], block_m: float) -> list[list[int]]:
    usable = [i for i, f in enumerate(fps) if f.usable]
    if not usable:
        return []
    c = shapely.centroid([fps[i].geometry for i in usable])
    key = np.floor(np.column_stack([shapely.get_x(c), shapely.get_y(c)]) / block_m).astype(np.int64)
    order = np.lexsort((key[:, 0], key[:, 1]))
    blocks: dict[tuple[int, int], list[int]] = {}
    for o in order:
        blocks.setdefault((int(key[o, 0]), int(key[o, 1])), []).append(usable[o])
    return list(blocks.values())


# ----------------------------------------------------------------------------- output
def _geometry(shells: list[Shell], lod: str, offset: int) -> tuple[dict[str, Any], int]:
    """One CityJSON Solid for the first shell; returns the geometry and the vertex count used."""
    return solid_geometry(shells[0], lod, offset), len(shells[0].vertices)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def _assemble(fps: list[Footprint], results: dict[int, BuildingResult], epsg: int | None, lods: Sequence[str]) -> CityModel:
    verts: list[np.ndarray] = []
    n = 0
    objects: dict[str, dict[str, Any]] = {}
    for i, fp in enumerate(fps):
        r = results.get(i)
        attrs = dict(fp.attributes)
        if r is None:
            attrs.update({"status": "skipped", "status_reason": fp.status_reason or "not reconstructed"})
        else:
            attrs.update(r.attributes)
            if fp.status == "repaired":
                attrs["status_reason"] = "; ".join(x for x in (fp.status_reason, attrs.get("status_reason")) if x)
        attrs = {k: _clean(v) for k, v in attrs.items()}
        obj: dict[str, Any] = {"type": "Building", "attributes": attrs, "geometry": []}
        objects[fp.id] = obj
        if r is None:
            continue
        n_parts = max((len(v) for v in r.shells.values()), default=0)
        if n_parts <= 1:
            for lod in lods:
                if r.shells.get(lod):
                    g, k = _geometry(r.shells[lod], lod, n)
                    verts.append(r.shells[lod][0].vertices)
                    n += k
                    obj["geometry"].append(g)
        else:
            obj["children"] = []
            for p in range(n_parts):
                pid = f"{fp.id}-part{p}"
                child = {"type": "BuildingPart", "attributes": {}, "geometry": [], "parents": [fp.id]}
                for lod in lods:
                    shells = r.shells.get(lod)
                    if shells and p < len(shells):
                        g, k = _geometry([shells[p]], lod, n)
                        verts.append(shells[p].vertices)
                        n += k
                        child["geometry"].append(g)
                obj["children"].append(pid)
                objects[pid] = child
    v = np.vstack(verts) if verts else np.zeros((0, 3))
    return CityModel(vertices=v, city_objects=objects, epsg=epsg, metadata={"title": "citymodel build"})


# ----------------------------------------------------------------------------- work
def _work(task: tuple) -> tuple[int, BuildingResult]:
    i, wkb, roof, gz, lods, limit, hang_s = task
    try:
        if hang_s and "2.2" in lods:  # test hook (_TEST_HANG_S): a step that never checks the clock
            time.sleep(hang_s)
        return i, reconstruct_building(shapely.from_wkb(wkb), roof, gz, lods=lods, time_limit_s=limit)
    except Exception as exc:  # one building never stops the run; the reason is recorded
        return i, BuildingResult({"status": "skipped", "status_reason": f"reconstruction error: {type(exc).__name__}: {exc}"})


def _warmup() -> None:
    """Load the numba kernels in a new worker before its clock starts (a 10 m x 8 m gable roof)."""
    rng = np.random.default_rng(0)
    xy = rng.uniform((0, 0), (10, 8), (400, 2))
    z = 6.0 + 0.5 * np.minimum(xy[:, 1], 8 - xy[:, 1])
    reconstruct_building(shapely.box(0, 0, 10, 8), np.column_stack([xy, z]), np.zeros(20), time_limit_s=60.0)


def _hard_limit_s(task: tuple) -> float:
    """Wall-clock limit [s] after which a building's worker is killed: the cooperative budget
    (checked between steps by :func:`reconstruct_building`) plus a grace."""
    limit = float(task[5])
    return max(HARD_LIMIT_FACTOR * limit, limit + HARD_LIMIT_MIN_GRACE_S)


def _lower_task(task: tuple) -> tuple | None:
    """The task of a building whose worker was killed, without its highest LoD (None when only
    LoD1.2 is left: that prism, percentiles only, is made in this process)."""
    i, wkb, roof, gz, lods, limit, _ = task
    lower = tuple(x for x in lods if x != max(lods))
    return None if lower in ((), ("1.2",)) else (i, wkb, roof, gz, lower, limit, 0.0)


def _mark_timeouts(r: BuildingResult, notes: list[str], lost_s: float) -> BuildingResult:
    """Record in a building's result that higher LoDs were stopped at the hard limit."""
    a = r.attributes
    if a.get("status") != "skipped":
        built = [x for x in LODS if r.shells.get(x)]
        head = "; ".join(notes) + ("; built LoD" + ", LoD".join(built) if built else "")
        a["status"] = "fallback" if built else "skipped"
        a["status_reason"] = "; ".join(x for x in (head, a.get("status_reason")) if x)
    r.seconds += lost_s
    return r


def _tasks_for_block(pc, ground, building, items, lods, limit, classified_here) -> Iterable[tuple]:
    """Per building of ``items`` ((footprint index, geometry, id)): its reconstruction task."""
    idx = GridIndex(pc.xyz[:, :2])
    for i, geom, fid in items:
        ins, ring = select_footprint_points(idx, geom, GROUND_BUFFER_M)
        gz = pc.xyz[np.concatenate([ins[ground[ins]], ring[ground[ring]]]), 2]
        roof_idx = ins[building[ins]]
        if classified_here and len(gz):
            roof_idx = roof_idx[pc.xyz[roof_idx, 2] > np.percentile(gz, 10) + ROOF_MIN_HEIGHT_M]
        hang = float(_TEST_HANG_S.get(fid, 0.0))
        yield (i, geom.wkb, pc.xyz[roof_idx], gz, tuple(lods), limit, hang), len(ins) + len(ring)


@dataclasses.dataclass
class _BlockJob:
    """What one block needs (picklable: it travels to Dask workers)."""

    k: int
    items: list[tuple[int, Any, str]]  # (footprint index, geometry, id) of its buildings
    lods: tuple[str, ...]
    time_limit_s: float
    want_ground: bool  # keep its ground points for the terrain
    epsg: int | None
    sources: list[str]
    spill_path: str | None = None  # its spilled points (lidar.spill)
    read: tuple | None = None  # or (paths, crs, bbox): read from the files
    owned_boxes: np.ndarray | None = None  # boxes of blocks 0..k: its ground is what no earlier box holds
    classified: bool = False  # the files' classes are usable
    ortho: str | None = None
    cache_path: str | None = None  # write its output there (lidar._blockcache)


@dataclasses.dataclass
class _BlockOut:
    """One block's output: its buildings' results and its own ground points [m]."""

    results: dict[int, BuildingResult]
    ground: np.ndarray | None
    n_points: int
    classes_desc: str | None


def _run_block(job: _BlockJob, pc=None, classes=None, run=None, advance=None) -> _BlockOut:
    """Load a block's points (unless given), classify, reconstruct its buildings (in the worker
    processes of ``run()``, a :class:`lidar._timelimit.HardLimitRunner`, else here), keep its
    ground; write the output to its cache file."""
    from lidar.pointcloud import read_points
    from lidar.spill import load_block

    if pc is None:
        if job.spill_path is not None:
            pc = load_block(job.spill_path, job.epsg, job.sources)
            Path(job.spill_path).unlink()
        else:
            paths, crs, bbox = job.read
            pc = read_points(paths, crs=crs, bbox=bbox)
    n = len(pc)
    if not job.items and n < 3:  # a ground-only cell (terrain) with next to no points
        out = _BlockOut({}, None, n, None)
    else:
        if classes is not None:
            ground, building, desc = classes
        elif not job.items and job.classified:  # a ground-only cell of a classified file
            ground, building, desc = pc.classification == ASPRS_GROUND, pc.classification == ASPRS_BUILDING, None
        else:
            ground, building, desc = _classes(pc, job.ortho)
        g = None
        if job.want_ground:
            g = pc.xyz[ground]
            g = _owned_ground(g, job.owned_boxes, job.k) if job.owned_boxes is not None else np.unique(g, axis=0)
        results: dict[int, BuildingResult] = {}
        tasks = (_tasks_for_block(pc, ground, building, job.items, job.lods, job.time_limit_s, desc != "file classes")
                 if job.items else ())
        if run is None or not job.items:
            for t, _n in tasks:
                i, r = _work(t)
                results[i] = r
                if advance is not None:
                    advance(1)
        else:
            runner = run()
            notes: dict[int, list[str]] = {}  # buildings whose worker was killed: why, per LoD
            lost: dict[int, float] = {}
            for t, out, why in runner.run((t for t, _n in tasks), _hard_limit_s):
                if out is None:  # killed: again without the highest LoD (never nested runs)
                    i = t[0]
                    notes.setdefault(i, []).append(f"LoD{max(t[4])} {why}")
                    lost[i] = lost.get(i, 0.0) + _hard_limit_s(t)
                    lower = _lower_task(t)
                    if lower is not None:
                        runner.resubmit(lower)
                        continue
                    i, r = _work((i, t[1], t[2], t[3], ("1.2",), t[5], 0.0))
                else:
                    i, r = out
                if i in notes:
                    r = _mark_timeouts(r, notes[i], lost[i])
                results[i] = r
                if advance is not None:
                    advance(1)
        # exceptions caught inside reconstruct_building keep their frames, this one included, in
        # reference cycles until the next garbage collection: let go of the block's points now
        pc = ground = building = tasks = None
        out = _BlockOut(results, g, n, desc)
    if job.cache_path is not None:
        from lidar._blockcache import save

        save(Path(job.cache_path), out)
    return out


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
) -> CityModel:
    """Build a city model from LAS/LAZ points and building footprints.

    Parameters
    ----------
    points : path, list of paths, or PointCloud
        LAS/LAZ files (any number, one CRS) or points already read.
    footprints : path, list of Footprint or list of shapely polygons, optional
        ``.gpkg``/``.geojson``/``.shp``/``.sqlite``/``.csv``; polygons are taken to be in the
        points' CRS. ``None``: footprints are extracted from the points.
    footprint_id_field : str, optional
        Footprint attribute that becomes the building id (default ``fp<N>``).
    crs : str or int, optional
        CRS of files that have none (AHN: ``"EPSG:7415"``).
    lods : sequence of str
        Any of "1.2", "1.3", "2.2".
    workers : int
        Processes reconstructing buildings in parallel (with ``hard_time_limit``, one worker
        process even for 1).
    time_limit_s : float
        Per-building time budget [s]; past it, higher LoDs fall back to lower ones.
    hard_time_limit : bool
        Reconstruct in worker processes (``workers`` of them, started once per Python process
        and kept) and kill a building's worker when it runs past the budget plus a grace
        (:func:`_hard_limit_s`), even inside a numba kernel; the building then gets its lower
        LoDs (``status="fallback"``, the reason in ``status_reason``). ``False`` with
        ``workers=1``: in this process, the budget checked between steps only.
    dtm_path : path, optional
        Also write the DTM as a GeoTIFF here.
    terrain : bool
        Add a simplified TIN of the ground points as a ``TINRelief``.
    terrain_error_m : float
        Largest vertical distance of any ground point to the TIN [m] (greedy insertion,
        :mod:`lidar._terrain`; the ground points are reduced block by block, not kept).
    progress : bool
        Progress bar per building.
    overwrite : bool
        Replace an existing ``dtm_path``.
    ortho : path, optional
        RGBN orthophoto GeoTIFF: its NDVI helps classify files without building classes, and
        without footprints its roof colours help split touching buildings at party walls.
    workdir : path, optional
        Keep each block's output there (written atomically, :mod:`lidar._blockcache`), and the
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
    stats : dict, optional
        Filled with run figures: ``seconds_per_building`` and ``cpu_seconds_per_building``
        (arrays [s]), ``n_points`` (points loaded, summed over blocks), ``n_points_in_files``,
        ``spilled`` (True when the points went through :mod:`lidar.spill`), ``blocks_reused`` (block
        outputs found in ``workdir``), ``classes``, ``statuses``,
        ``terrain`` (TIN figures: ``max_error_m`` over all ground points, ``rounds``, ...).

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
    from citymodel.progress import progress_bar
    from lidar.pointcloud import PointCloud, read_points, scan_las

    lods = tuple(str(x) for x in lods)
    bad = [x for x in lods if x not in LODS]
    if bad or not lods:
        raise InputError(f"unknown LoD {', '.join(bad) or '(none)'}; choose among {', '.join(LODS)} (CLI: --lod 1.2,1.3,2.2)")
    lods = tuple(x for x in LODS if x in lods)
    in_memory = isinstance(points, PointCloud)
    if in_memory:
        epsg = points.epsg
        bounds = (*points.xyz[:, :2].min(axis=0), *points.xyz[:, :2].max(axis=0)) if len(points) else None
        if bounds is None:
            raise PointCloudError("the point cloud is empty")
        extents = [bounds]
    else:
        paths = _as_paths(points)
        infos = scan_las(paths, crs=crs)
        epsg = infos[0].epsg
        extents = [inf.bounds for inf in infos]
    src_desc = "the point cloud" if in_memory else ", ".join(p.name for p in _as_paths(points))
    ortho, veg_notes = check_ortho(ortho, vegetation, epsg, extents)  # fails now, or drops it for the whole build
    pc_all = None
    classes_all = None
    if footprints is None:
        fps, fp_cache = None, None
        if workdir is not None and not in_memory:  # extracted footprints are kept and reused too
            from lidar import _blockcache

            fkey = _blockcache.run_key([str(p) for p in _as_paths(points)] + ([] if ortho is None else [str(ortho)]),
                                       {"extracted footprints": 1, "crs": str(crs)})
            fp_cache = _blockcache.prepare(workdir) / f"footprints_{fkey}.pkl"
            fps = _blockcache.load(fp_cache) if fp_cache.exists() else None
        if fps is None:
            pc_all = points if in_memory else read_points(_as_paths(points), crs=crs, progress=progress)
            classes_all = _classes(pc_all, ortho)
            fps = _extract_footprints(_with_classes(pc_all, *classes_all[:2]), ortho)
        if fp_cache is not None:
            if not fp_cache.exists():
                _blockcache.save(fp_cache, fps)
            # blocks then read their points from the files, as with given footprints: a first run
            # and a resumed one build each block the same way, and both keep block outputs
            pc_all = classes_all = None
    else:
        fps = _load_footprints(footprints, footprint_id_field, epsg)
    if not fps:
        raise FootprintError("there are no footprints to reconstruct")
    ext_geom = shapely.union_all([shapely.box(*e) for e in extents])
    overlap = [f.usable and shapely.intersects(f.geometry, ext_geom) for f in fps]
    if not any(overlap):
        geoms = [f.geometry for f in fps if f.geometry is not None]
        if not geoms:
            raise FootprintError(
                f"{footprints if isinstance(footprints, (str, os.PathLike)) else 'the footprints'}: none of the "
                f"{len(fps)} footprints is usable ({fps[0].status_reason}); check the geometries and their CRS"
            )
        fb = shapely.total_bounds(geoms)
        where = footprints if isinstance(footprints, (str, os.PathLike)) else "the footprints"
        raise FootprintError(
            f"{where}: none of the {len(fps)} footprints overlaps {src_desc} "
            f"(footprints x {fb[0]:.0f}..{fb[2]:.0f}, y {fb[1]:.0f}..{fb[3]:.0f}; points "
            f"{shapely.bounds(ext_geom).round(0).tolist()}); check the footprints' CRS and the files"
        )
    for f, ov in zip(fps, overlap, strict=False):
        if f.usable and not ov:
            f.status, f.status_reason = "skipped", "footprint outside the point cloud"
    partly = {i for i, f in enumerate(fps) if f.usable and not shapely.contains(ext_geom, f.geometry)}
    results: dict[int, BuildingResult] = {}
    # small inputs: one read; big ones: one streaming pass spilling the points into blocks
    small = in_memory or pc_all is not None or sum(i.n_points for i in infos) <= SINGLE_READ_POINTS
    classes_usable = True
    if not in_memory and pc_all is None and small:
        from lidar.ground import has_usable_classes

        # a cheap look at the classes: a small window of the first file
        b = infos[0].bounds
        probe = read_points(_as_paths(points)[:1], crs=crs, bbox=(b[0], b[1], b[0] + 100.0, b[1] + 100.0))
        classes_usable = has_usable_classes(probe)
    blocks = _blocks(fps, 1e12 if small else BLOCK_M)
    n_usable = sum(len(b) for b in blocks)
    classes_desc = ""
    n_points = 0
    with contextlib.ExitStack() as stack:
        run = None
        if hard_time_limit or workers > 1:  # worker processes, kept for later runs (lidar._timelimit)
            from lidar._timelimit import runner

            def run():  # started when the first building needs it
                return runner(_work, workers, _warmup)
        bar = stack.enter_context(progress_bar(progress))
        spilled = None
        classified = False
        terrain_acc = None
        if terrain or dtm_path is not None:
            from lidar._terrain import TerrainAccumulator

            # ground points go to grid sums (DTM) and, for the TIN, to files beside the spill
            ext = np.array(extents, dtype=np.float64)
            terrain_dir = None if small else stack.enter_context(tempfile.TemporaryDirectory(prefix="citymodel_ground_"))

            terrain_acc = TerrainAccumulator((*ext[:, :2].min(axis=0), *ext[:, 2:].max(axis=0)),
                                             dtm_resolution_m=DTM_RESOLUTION_M if dtm_path is not None else None,
                                             tin=terrain, folder=terrain_dir)
        want_ground = terrain_acc is not None
        files = [] if in_memory else [str(p) for p in _as_paths(points)]
        common = dict(lods=lods, time_limit_s=time_limit_s, want_ground=want_ground, epsg=epsg,
                      sources=[] if in_memory else [str(i.path) for i in infos],
                      ortho=None if ortho is None else str(ortho))
        jobs: list[_BlockJob] = []
        boxes_of: list[np.ndarray] = []  # per job, the boxes that decide its points (cache key)
        bboxes = None
        if not small and blocks:
            classified = _files_classified(infos)
            buffer_m = GROUND_BUFFER_M if classified else CLASSIFY_BUFFER_M
            bboxes = _block_bboxes(fps, blocks, buffer_m, BLOCK_M)
            if want_ground:  # cells without footprints still give terrain
                extra = _ground_only_boxes(fps, blocks, bboxes, BLOCK_M, 0.0 if classified else CLASSIFY_BUFFER_M)
                blocks = blocks + [[] for _ in extra]
                bboxes = np.vstack([bboxes, *extra])
            for k, block in enumerate(blocks):
                jobs.append(_BlockJob(k, [(i, fps[i].geometry, fps[i].id) for i in block], owned_boxes=bboxes[: k + 1],
                                      classified=classified, **common))
                boxes_of.append(bboxes[: k + 1])
        else:
            for k, block in enumerate(blocks):
                bb = _block_bboxes(fps, [block], GROUND_BUFFER_M)[0]
                read = None if in_memory or pc_all is not None else (files, crs, None if not classes_usable else bb)
                jobs.append(_BlockJob(k, [(i, fps[i].geometry, fps[i].id) for i in block], read=read, **common))
                boxes_of.append(bb[None, :] if classes_usable else np.zeros((1, 4)))
        done: dict[int, _BlockOut] = {}
        if workdir is not None and not in_memory and pc_all is None and jobs:
            from lidar import _blockcache

            wd = _blockcache.prepare(workdir)
            extra_files = [f for f in (footprints, ortho) if isinstance(f, (str, os.PathLike))]
            rkey = _blockcache.run_key(files + [str(f) for f in extra_files], {
                "lods": lods, "time_limit_s": float(time_limit_s), "crs": str(crs), "id_field": str(footprint_id_field),
                "want_ground": want_ground, "small": bool(small), "classes_usable": bool(classes_usable),
                "consts": (BLOCK_M, SINGLE_READ_POINTS, GROUND_BUFFER_M, CLASSIFY_BUFFER_M, ROOF_MIN_HEIGHT_M)})
            for job, boxes in zip(jobs, boxes_of, strict=True):
                key = _blockcache.block_key(rkey, [i for i, _, _ in job.items], [g.wkb for _, g, _ in job.items], boxes)
                path = _blockcache.block_path(wd, key)
                job.cache_path = str(path)
                out = _blockcache.load(path) if path.exists() else None
                if out is not None:
                    done[job.k] = out
        todo = [j for j in jobs if j.k not in done]
        if not small and todo:
            from lidar.spill import spill_blocks

            # removed on success and on error alike; in the work folder when Dask workers read it
            parent = workdir if (scheduler is not None and workdir is not None) else None
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="citymodel_build_", dir=parent))
            rtask = bar.add_task("Reading points into blocks", total=sum(i.n_points for i in infos))
            spilled = spill_blocks(infos, np.array([bboxes[j.k] for j in todo]), tmp,
                                   classes=(ASPRS_GROUND, ASPRS_BUILDING) if classified else None,
                                   chunk_size=SPILL_CHUNK_POINTS, advance=lambda n: bar.advance(rtask, n))
            for j, path in zip(todo, spilled, strict=True):
                j.spill_path = str(path)
        task = bar.add_task("Reconstructing buildings", total=n_usable)

        def consume(out: _BlockOut, advance: bool) -> None:
            nonlocal n_points, classes_desc
            results.update(out.results)
            n_points += out.n_points
            classes_desc = out.classes_desc or classes_desc
            if out.ground is not None and terrain_acc is not None:  # reduced now, not kept in memory
                terrain_acc.add(out.ground)
            if advance:
                bar.advance(task, len(out.results))

        n_reused = len(done)
        for k in sorted(done):
            consume(done.pop(k), True)
        if scheduler is not None and todo and not in_memory and pc_all is None:
            from lidar._dask import run_blocks

            for out in run_blocks(scheduler, todo, _run_block):
                consume(out, True)
        else:
            for job in todo:
                pc = None if job.read is not None or job.spill_path is not None else (pc_all if pc_all is not None else points)
                cls = classes_all if (pc is not None and pc is pc_all) else None
                consume(_run_block(job, pc, cls, run, lambda n: bar.advance(task, n)), False)
                pc = None  # free the block before loading the next
        terrain_stats: dict[str, Any] = {}
        tin = None
        if terrain_acc is not None and terrain_acc.n_points >= 3:  # before the ground files go
            if dtm_path is not None:
                from lidar.dtm import write_dtm_geotiff

                grid, tr = terrain_acc.dtm()
                write_dtm_geotiff(grid, tr, epsg, dtm_path, overwrite=overwrite)
                grid = None
            if terrain:
                t0 = time.perf_counter()
                tin = terrain_acc.tin(terrain_error_m, stats=terrain_stats)
                terrain_stats.update(seconds=time.perf_counter() - t0, n_ground_points=terrain_acc.n_points,
                                     n_vertices=len(tin[0]), n_triangles=len(tin[1]))
    for i in partly:
        r = results.get(i)
        if r is not None and r.attributes.get("status") != "skipped":
            r.attributes["status_reason"] = "; ".join(
                x for x in (r.attributes.get("status_reason"), "footprint partly outside the point cloud") if x)
    model = _assemble(fps, results, epsg, lods)
    if tin is not None:
        from lidar.tin import add_terrain

        add_terrain(model, *tin)
    veg = add_vegetation(model, points, options=vegetation, footprints=[f.geometry for f in fps if f.usable], ortho=ortho,
                         crs=crs, bounds=extents, notes=veg_notes, overwrite=overwrite, progress=progress)
    if stats is not None:
        stats.update(
            vegetation=veg,
            seconds_per_building=np.array([r.seconds for r in results.values()]),
            cpu_seconds_per_building=np.array([r.cpu_seconds for r in results.values()]),
            n_points=n_points,
            n_points_in_files=len(points) if in_memory else sum(i.n_points for i in infos),
            spilled=not small and bool(blocks),
            blocks_reused=n_reused,
            classes=classes_desc,
            terrain=terrain_stats,
            statuses={s: sum(1 for o in model.city_objects.values() if o.get("attributes", {}).get("status") == s)
                      for s in ("ok", "fallback", "skipped")},
        )
    return model
