"""Running a build's blocks: load each block's points, classify them, reconstruct its buildings
(in worker processes with a hard time limit, or here), keep its ground points for the terrain.

:func:`run_plan` runs every block of a :class:`~lidar.execution.plan.BuildPlan` (spilling big
inputs first, :mod:`lidar.execution.spill`; on a Dask cluster when given a scheduler,
:mod:`lidar.execution._dask`), reduces the ground points block by block
(:class:`~lidar.terrain.accumulator.TerrainAccumulator`) and returns the buildings' results with
the DTM and TIN. How a block's points are classified is the caller's choice (``classify``), so
that this machinery knows nothing of the classifiers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from citymodel.progress import progress_bar
from lidar.execution import _dask, _timelimit, cache, spill, tile_log, tile_pool
from lidar.execution.plan import BlockJob, BuildPlan
from lidar.points.pointcloud import ASPRS_BUILDING, ASPRS_GROUND, read_points
from lidar.points.route import route_points
from lidar.points.select import GridIndex, select_footprint_points
from lidar.points.source import PointSource
from lidar.reconstruct.building import LODS, BuildingResult, reconstruct_building
from lidar.terrain.accumulator import TerrainAccumulator
from lidar.terrain.dtm import write_dtm_geotiff

__all__ = ["BlockOut", "RunOutput", "TileReport", "run_block", "run_tile", "run_plan", "work", "warmup",
           "hard_limit_s", "owned_ground", "failed_results", "TEST_HANG_S", "TEST_FAIL_TILES",
           "tile_in_worker", "worker_pool", "load_points", "block_classes"]

#: Ground points within this distance around a footprint give its ground height [m].
GROUND_BUFFER_M = 3.0
#: Non-ground points at least this high above the building's ground count as roof points when
#: the file has no building class [m].
ROOF_MIN_HEIGHT_M = 2.0
#: A building's worker process is killed after max(HARD_LIMIT_FACTOR * time_limit_s,
#: time_limit_s + HARD_LIMIT_MIN_GRACE_S) [s] of wall time (lidar.execution._timelimit).
HARD_LIMIT_FACTOR = 1.5
HARD_LIMIT_MIN_GRACE_S = 1.0
#: Points decompressed at a time while spilling big inputs into blocks.
SPILL_CHUNK_POINTS = 1_000_000
#: Cell size of the DTM GeoTIFF [m].
DTM_RESOLUTION_M = 0.5
#: Tests only: footprint id -> seconds that building's LoD2.2 sleeps in its worker (a "hang").
TEST_HANG_S: dict[str, float] = {}
#: Tests only: names of tiles whose run raises (a tile failing on a worker: its input unreadable,
#: the worker out of memory, ...), to check that the others are kept.
TEST_FAIL_TILES: set[str] = set()

#: ``classify(points, ortho) -> (ground (n,) bool, building (n,) bool, description)``
Classify = Callable[[Any, Any], tuple[np.ndarray, np.ndarray, str]]


@dataclasses.dataclass
class BlockOut:
    """One block's output: its buildings' results and its own ground points [m]."""

    results: dict[int, BuildingResult]
    ground: np.ndarray | None
    n_points: int
    classes_desc: str | None


@dataclasses.dataclass
class TileReport:
    """What happened to one tile: a line of the tile log (``<workdir>/tiles.jsonl``).

    Attributes
    ----------
    tile : str
        Its name (``x<i>_y<j>``: grid cell of the tile size; ``all``: one tile).
    k : int
        Its number in the plan.
    n_buildings : int
        Buildings it owns (footprint centroids in its cell).
    n_points : int
        Points it loaded (buffer included).
    seconds : float
        Wall time of its run [s] (0 when reused).
    status : str
        ``"ok"``, ``"reused"`` (found in the work folder) or ``"failed"``.
    reason : str
        Why it failed (the error), else empty.
    """

    tile: str
    k: int
    n_buildings: int
    n_points: int
    seconds: float
    status: str
    reason: str = ""


@dataclasses.dataclass
class RunOutput:
    """What running every block gives: per footprint index its result, and run figures."""

    results: dict[int, BuildingResult]
    n_points: int
    classes_desc: str
    n_reused: int
    tin: tuple[np.ndarray, np.ndarray] | None
    terrain_stats: dict[str, Any]
    tiles: list[TileReport] = dataclasses.field(default_factory=list)
    #: Per phase ("spill", "tiles", "terrain"): (wall, CPU of this process, CPU of the tile
    #: workers (lidar.execution.tile_pool) or nan) [s].
    phases: dict[str, tuple[float, float, float]] = dataclasses.field(default_factory=dict)


# ----------------------------------------------------------------------------- one building
def work(task: tuple) -> tuple[int, BuildingResult]:
    """Reconstruct one building's task; an error becomes a skipped result with its reason."""
    i, wkb, roof, gz, lods, limit, hang_s = task
    try:
        if hang_s and "2.2" in lods:  # test hook (TEST_HANG_S): a step that never checks the clock
            time.sleep(hang_s)
        return i, reconstruct_building(shapely.from_wkb(wkb), roof, gz, lods=lods, time_limit_s=limit)
    except Exception as exc:  # one building never stops the run; the reason is recorded
        return i, BuildingResult({"status": "skipped", "status_reason": f"reconstruction error: {type(exc).__name__}: {exc}"})


def warmup() -> None:
    """Load the numba kernels in a new worker before its clock starts (a 10 m x 8 m gable roof)."""
    rng = np.random.default_rng(0)
    xy = rng.uniform((0, 0), (10, 8), (400, 2))
    z = 6.0 + 0.5 * np.minimum(xy[:, 1], 8 - xy[:, 1])
    reconstruct_building(shapely.box(0, 0, 10, 8), np.column_stack([xy, z]), np.zeros(20), time_limit_s=60.0)


def hard_limit_s(task: tuple) -> float:
    """Wall-clock limit [s] after which a building's worker is killed: the cooperative budget
    (checked between steps by :func:`reconstruct_building`) plus a grace."""
    limit = float(task[5])
    return max(HARD_LIMIT_FACTOR * limit, limit + HARD_LIMIT_MIN_GRACE_S)


def lower_task(task: tuple) -> tuple | None:
    """The task of a building whose worker was killed, without its highest LoD (None when only
    LoD1.2 is left: that prism, percentiles only, is made in this process)."""
    i, wkb, roof, gz, lods, limit, _ = task
    lower = tuple(x for x in lods if x != max(lods))
    return None if lower in ((), ("1.2",)) else (i, wkb, roof, gz, lower, limit, 0.0)


def mark_timeouts(r: BuildingResult, notes: list[str], lost_s: float) -> BuildingResult:
    """Record in a building's result that higher LoDs were stopped at the hard limit."""
    a = r.attributes
    if a.get("status") != "skipped":
        built = [x for x in LODS if r.shells.get(x)]
        head = "; ".join(notes) + ("; built LoD" + ", LoD".join(built) if built else "")
        a["status"] = "fallback" if built else "skipped"
        a["status_reason"] = "; ".join(x for x in (head, a.get("status_reason")) if x)
    r.seconds += lost_s
    return r


# ----------------------------------------------------------------------------- one block
def owned_ground(ground_xyz: np.ndarray, bboxes: np.ndarray, k: int) -> np.ndarray:
    """Block ``k``'s ground points that no earlier block's box holds, without duplicates: the
    blocks' parts then stack to the unique ground points of the run, block by block."""
    if k and len(ground_xyz):
        routed = route_points(ground_xyz[:, :2], bboxes[: k + 1])
        earlier = [v for b, v in routed.items() if b < k]
        if earlier:
            keep = np.ones(len(ground_xyz), bool)
            keep[np.concatenate(earlier)] = False
            ground_xyz = ground_xyz[keep]
    return np.unique(ground_xyz, axis=0)


def tasks_for_block(pc, ground, building, items, lods, limit, classified_here) -> Iterable[tuple]:
    """Per building of ``items`` ((footprint index, geometry, id)): its reconstruction task."""
    idx = GridIndex(pc.xyz[:, :2])
    for i, geom, fid in items:
        ins, ring = select_footprint_points(idx, geom, GROUND_BUFFER_M)
        gz = pc.xyz[np.concatenate([ins[ground[ins]], ring[ground[ring]]]), 2]
        roof_idx = ins[building[ins]]
        if classified_here and len(gz):
            roof_idx = roof_idx[pc.xyz[roof_idx, 2] > np.percentile(gz, 10) + ROOF_MIN_HEIGHT_M]
        hang = float(TEST_HANG_S.get(fid, 0.0))
        yield (i, geom.wkb, pc.xyz[roof_idx], gz, tuple(lods), limit, hang), len(ins) + len(ring)


def _reconstruct_with_runner(runner, tasks, results, advance) -> None:
    """Buildings in the runner's worker processes; a killed one again without its highest LoD."""
    notes: dict[int, list[str]] = {}  # buildings whose worker was killed: why, per LoD
    lost: dict[int, float] = {}
    for t, out, why in runner.run((t for t, _n in tasks), hard_limit_s):
        if out is None:  # killed: again without the highest LoD (never nested runs)
            i = t[0]
            notes.setdefault(i, []).append(f"LoD{max(t[4])} {why}")
            lost[i] = lost.get(i, 0.0) + hard_limit_s(t)
            lower = lower_task(t)
            if lower is not None:
                runner.resubmit(lower)
                continue
            i, r = work((i, t[1], t[2], t[3], ("1.2",), t[5], 0.0))
        else:
            i, r = out
        if i in notes:
            r = mark_timeouts(r, notes[i], lost[i])
        results[i] = r
        if advance is not None:
            advance(1)


def load_points(job: BlockJob, keep_spill: bool):
    """A block's points: from its spill file(s) (deleted unless ``keep_spill``), else read from
    the files with its box."""
    if job.spill_path is not None:
        pc = spill.load_block(job.spill_path, job.epsg, job.sources)
        if not keep_spill:
            spill.remove(job.spill_path)
        return pc
    paths, crs, bbox = job.read
    return read_points(paths, crs=crs, bbox=bbox)


def block_classes(job: BlockJob, pc, classes, classify: Classify) -> tuple[np.ndarray, np.ndarray, str | None, np.ndarray | None]:
    """A block's ground and building masks (``classes`` when given, else the file's classes of a
    ground-only cell, else ``classify``), their description and the block's own ground points
    (None unless ``job.want_ground``)."""
    if classes is not None:
        ground, building, desc = classes
    elif not job.items and job.classified:  # a ground-only cell of a classified file
        ground, building, desc = pc.classification == ASPRS_GROUND, pc.classification == ASPRS_BUILDING, None
    else:
        ground, building, desc = classify(pc, job.ortho)
    g = None
    if job.want_ground:
        g = pc.xyz[ground]
        g = owned_ground(g, job.owned_boxes, job.k) if job.owned_boxes is not None else np.unique(g, axis=0)
    return ground, building, desc, g


def run_block(job: BlockJob, pc=None, classes=None, run=None, advance=None, *, classify: Classify) -> BlockOut:
    """Load a block's points (unless given), classify them (``classes``, else the file's classes
    of a ground-only cell, else ``classify``), reconstruct its buildings (in the worker processes
    of ``run()``, a :class:`lidar.execution._timelimit.HardLimitRunner`, else here), keep its
    ground; write the output to its cache file."""
    if pc is None:
        pc = load_points(job, keep_spill=False)
    n = len(pc)
    if not job.items and n < 3:  # a ground-only cell (terrain) with next to no points
        out = BlockOut({}, None, n, None)
    else:
        ground, building, desc, g = block_classes(job, pc, classes, classify)
        results: dict[int, BuildingResult] = {}
        tasks = (tasks_for_block(pc, ground, building, job.items, job.lods, job.time_limit_s, desc != "file classes")
                 if job.items else ())
        if run is None or not job.items:
            for t, _n in tasks:
                i, r = work(t)
                results[i] = r
                if advance is not None:
                    advance(1)
        else:
            _reconstruct_with_runner(run(), tasks, results, advance)
        # exceptions caught inside reconstruct_building keep their frames, this one included, in
        # reference cycles until the next garbage collection: let go of the block's points now
        pc = ground = building = tasks = None
        out = BlockOut(results, g, n, desc)
    if job.cache_path is not None:
        cache.save(Path(job.cache_path), out)
    return out


def tile_in_worker(send: Callable[[tuple], Any], job: BlockJob, skip: set[int], lods_of: dict[int, tuple[str, ...]],
                   hooks: tuple[Classify, dict[str, float]]) -> None:
    """One tile in a worker of :class:`lidar.execution.tile_pool.TilePool`: its points (its spill
    files are kept: the tile runs again if a building is killed), its classes, each building not
    in ``skip`` (with the LoDs ``lods_of`` gives it, if any) announced with its hard limit and sent
    when built, then its ground. ``hooks``: ``(classify, the parent's test hook TEST_HANG_S)``."""
    classify, hang = hooks
    TEST_HANG_S.clear()
    TEST_HANG_S.update(hang)
    pc = load_points(job, keep_spill=True)
    n = len(pc)
    if not job.items and n < 3:  # a ground-only cell (terrain) with next to no points
        send(("tile", None, n, None))
        return
    ground, building, desc, g = block_classes(job, pc, None, classify)
    items = [it for it in job.items if it[0] not in skip]
    for task, _n in tasks_for_block(pc, ground, building, items, job.lods, job.time_limit_s, desc != "file classes"):
        i = task[0]
        if i in lods_of:
            task = (*task[:4], lods_of[i], task[5], 0.0)
        send(("begin", i, hard_limit_s(task)))
        send(("built", *work(task)))
    pc = ground = building = None
    send(("tile", g, n, desc))


def run_tile(job: BlockJob, pc=None, classes=None, run=None, advance=None, *,
             classify: Classify) -> tuple[BlockOut | None, TileReport]:
    """:func:`run_block`, timed; an error of the tile becomes a failed :class:`TileReport` (its
    buildings are then reported by :func:`failed_results`) instead of stopping the build."""
    t0 = time.perf_counter()
    try:
        if job.tile in TEST_FAIL_TILES:
            raise RuntimeError(f"tile {job.tile} made to fail (lidar.execution.run.TEST_FAIL_TILES)")
        out = run_block(job, pc, classes, run, advance, classify=classify)
    except Exception as exc:  # noqa: BLE001 - one tile never stops the others; the reason is kept
        return None, TileReport(job.tile, job.k, len(job.items), 0, time.perf_counter() - t0, "failed",
                                f"{type(exc).__name__}: {exc}")
    return out, TileReport(job.tile, job.k, len(out.results), out.n_points, time.perf_counter() - t0, "ok")


def worker_pool(workers: int) -> tile_pool.TilePool:
    """The process's :class:`~lidar.execution.tile_pool.TilePool` of ``workers`` processes that run
    this module's tiles (started on first use, kept for later builds and the footprint extraction)."""
    return tile_pool.pool(workers, warmup, tile_in_worker)


def _test_failure(job: BlockJob) -> str:
    """The error of a tile made to fail by :data:`TEST_FAIL_TILES` (as :func:`run_tile` gives it)."""
    return f"RuntimeError: tile {job.tile} made to fail (lidar.execution.run.TEST_FAIL_TILES)" if job.tile in TEST_FAIL_TILES else ""


def _finish_pooled(done: tile_pool.TileDone) -> tuple[BlockOut | None, TileReport]:
    """A tile back from the workers as :func:`run_tile` gives it (its output kept in the work folder)."""
    job = done.job
    if done.error:
        return None, TileReport(job.tile, job.k, len(job.items), 0, done.seconds, "failed", done.error)
    for i, notes in done.notes.items():
        if i in done.results:
            mark_timeouts(done.results[i], notes, done.lost_s[i])
    out = BlockOut(done.results, done.ground, done.n_points, done.classes_desc)
    if job.cache_path is not None:
        cache.save(Path(job.cache_path), out)
    return out, TileReport(job.tile, job.k, len(out.results), out.n_points, done.seconds, "ok")


def failed_results(job: BlockJob, reason: str) -> dict[int, BuildingResult]:
    """Skipped results for the buildings of a failed tile, with the tile and the reason."""
    why = f"tile {job.tile} failed: {reason}; run again with the same --workdir to retry it"
    return {i: BuildingResult({"status": "skipped", "status_reason": why}) for i, _, _ in job.items}


# ----------------------------------------------------------------------------- every block
def run_plan(
    plan: BuildPlan,
    source: PointSource,
    *,
    classify: Classify,
    loaded: tuple[Any, Any] | None = None,
    workers: int = 1,
    hard_time_limit: bool = True,
    scheduler: Any = None,
    workdir: Any = None,
    progress: bool = True,
    terrain: bool = True,
    terrain_error_m: float = 0.2,
    dtm_path: Any = None,
    overwrite: bool = False,
    on_tile: Callable[[TileReport, dict[int, BuildingResult]], Any] | None = None,
) -> RunOutput:
    """Run every block of ``plan`` not yet done, and reduce their ground points to the terrain.

    Parameters
    ----------
    plan : BuildPlan
        From :func:`lidar.execution.plan.plan_blocks`.
    source : PointSource
        The points.
    classify : callable
        ``classify(points, ortho) -> (ground, building, description)`` for blocks whose file
        classes are not used as they are.
    loaded : (PointCloud, classes), optional
        The points already read whole (footprint extraction) and their classes.
    workers, hard_time_limit, scheduler, workdir, progress, terrain, terrain_error_m, dtm_path, overwrite
        As :func:`lidar.build.build_model`.
    on_tile : callable, optional
        ``on_tile(report, results)`` as each tile finishes (reused ones first), with its
        buildings' results by footprint index (those of a failed tile: skipped, with the reason).
        With ``workdir``, each report is also a line of ``<workdir>/tiles.jsonl``.
    """
    results: dict[int, BuildingResult] = {}
    pc_all, classes_all = loaded if loaded is not None else (None, None)
    n_points = 0
    classes_desc = ""
    terrain_stats: dict[str, Any] = {}
    phases: dict[str, tuple[float, float, float]] = {}
    clock = [time.perf_counter(), time.process_time()]
    pool = None

    def phase(name: str) -> None:  # the time since the last phase ended: wall, CPU here and in the workers
        now = [time.perf_counter(), time.process_time()]
        phases[name] = (now[0] - clock[0], now[1] - clock[1], pool.cpu_s.get(name, 0.0) if pool is not None else math.nan)
        clock[:] = now
    tin = None
    with contextlib.ExitStack() as stack:
        run = None
        if hard_time_limit or workers > 1:  # worker processes, kept for later runs (lidar.execution._timelimit)
            def run():  # started when the first building needs it
                return _timelimit.runner(work, workers, warmup)
        bar = stack.enter_context(progress_bar(progress))
        terrain_acc = None
        if plan.want_ground:
            # ground points go to grid sums (DTM) and, for the TIN, to files beside the spill
            ext = np.array(source.extents, dtype=np.float64)
            terrain_dir = None if plan.small else stack.enter_context(tempfile.TemporaryDirectory(prefix="citymodel_ground_"))
            terrain_acc = TerrainAccumulator((*ext[:, :2].min(axis=0), *ext[:, 2:].max(axis=0)),
                                             dtm_resolution_m=DTM_RESOLUTION_M if dtm_path is not None else None,
                                             tin=terrain, folder=terrain_dir)
        todo = plan.todo
        # tiles of a spilled input in worker processes (tile_pool), unless on Dask or all here
        use_pool = (not plan.small and bool(todo) and scheduler is None and pc_all is None
                    and not source.in_memory and (workers > 1 or hard_time_limit))
        if not plan.small and todo:
            # removed on success and on error alike; in the work folder when Dask workers read it
            parent = workdir if (scheduler is not None and workdir is not None) else None
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="citymodel_build_", dir=parent))
            rtask = bar.add_task("Reading points into blocks", total=source.n_points)
            boxes = np.array([plan.bboxes[j.k] for j in todo])
            keep = (ASPRS_GROUND, ASPRS_BUILDING) if plan.classified else None
            if use_pool:  # each worker spills whole files, then runs whole tiles
                pool = worker_pool(workers)
                parts = pool.spill(source.infos, boxes, tmp, classes=keep, chunk_size=SPILL_CHUNK_POINTS,
                                   advance=lambda n: bar.advance(rtask, n))
                for j, ps in zip(todo, parts, strict=True):
                    j.spill_path = ps
            else:
                spilled = spill.spill_blocks(source.infos, boxes, tmp, classes=keep, chunk_size=SPILL_CHUNK_POINTS,
                                             advance=lambda n: bar.advance(rtask, n))
                for j, path in zip(todo, spilled, strict=True):
                    j.spill_path = str(path)
        phase("spill")
        task = bar.add_task("Reconstructing buildings", total=plan.n_buildings)

        log = stack.enter_context(tile_log.open_log(workdir)) if workdir is not None and not source.in_memory else None
        reports: list[TileReport] = []

        def consume(job: BlockJob, out: BlockOut | None, report: TileReport, advance: bool) -> None:
            nonlocal n_points, classes_desc
            if out is None:  # a failed tile: its buildings skipped with the reason, the others kept
                mine = failed_results(job, report.reason)
            else:
                mine = out.results
                n_points += out.n_points
                classes_desc = out.classes_desc or classes_desc
                if out.ground is not None and terrain_acc is not None:  # reduced now, not kept in memory
                    terrain_acc.add(out.ground)
            results.update(mine)
            reports.append(report)
            if log is not None:
                tile_log.write(log, report)
            if on_tile is not None:
                on_tile(report, mine)
            if advance or out is None:
                bar.advance(task, len(mine))

        n_reused = len(plan.done)
        by_k = {j.k: j for j in plan.jobs}
        for k in sorted(plan.done):
            out = plan.done.pop(k)
            consume(by_k[k], out, TileReport(by_k[k].tile, k, len(out.results), out.n_points, 0.0, "reused"), True)
        if scheduler is not None and todo and not source.in_memory and pc_all is None:
            for job, got, error in _dask.run_blocks(scheduler, todo, functools.partial(run_tile, classify=classify)):
                if error is not None:  # the task itself was lost (a worker died)
                    got = (None, TileReport(job.tile, job.k, len(job.items), 0, 0.0, "failed", error))
                consume(job, *got, True)
        elif use_pool:
            for done in pool.tiles(todo, hard_limit=hard_time_limit, hooks=(classify, dict(TEST_HANG_S)),
                                   fail=_test_failure, advance=lambda n: bar.advance(task, n)):
                got = _finish_pooled(done)
                if done.job.spill_path:
                    spill.remove(done.job.spill_path)
                consume(done.job, *got, False)
        else:
            for job in todo:
                pc = None if job.read is not None or job.spill_path is not None else (pc_all if pc_all is not None else source.cloud)
                cls = classes_all if (pc is not None and pc is pc_all) else None
                consume(job, *run_tile(job, pc, cls, run, lambda n: bar.advance(task, n), classify=classify), False)
                pc = None  # free the block before loading the next
        phase("tiles")
        if terrain_acc is not None and terrain_acc.n_points >= 3:  # before the ground files go
            if dtm_path is not None:
                grid, tr = terrain_acc.dtm()
                write_dtm_geotiff(grid, tr, source.epsg, dtm_path, overwrite=overwrite)
                grid = None
            if terrain:
                t0 = time.perf_counter()
                tin = terrain_acc.tin(terrain_error_m, stats=terrain_stats)
                terrain_stats.update(seconds=time.perf_counter() - t0, n_ground_points=terrain_acc.n_points,
                                     n_vertices=len(tin[0]), n_triangles=len(tin[1]))
    phase("terrain")
    return RunOutput(results, n_points, classes_desc, n_reused, tin, terrain_stats, reports, phases)
