"""Shaded irradiation on every roof and wall: the public entry points of the solar solver.

``irradiate(model, weather)`` samples sensors on the roof and wall triangles of the surface
table, builds the occluder scene (buildings, terrain, tree crowns), and streams the sensors in
blocks: per block it casts the sky-element rays (daylight coefficients) and the sun-bin rays,
then forms

* diffuse = ``C_open @ R + tau(month) C_tree @ R`` (sky elements ``R`` of the Perez 1990 or the
  Perez 1993 all-weather sky, ``sky_model``, :mod:`energy.sky`),
* beam = DNI (+ circumsolar for ``"perez1990"``), times ``cos(incidence)`` per hour, times the
  sun-bin visibility,
* ground-reflected = ``albedo * ghi * (1 - sky view)``: whatever is not sky (ground, walls,
  roofs) reflects like the ground, tree crowns in view reflect nothing, and a closed-off
  sensor (sky view < 0.005, e.g. on a party wall) receives nothing; ``albedo`` is one number,
  the EPW's hourly albedo, or per sensor from an albedo / land-cover raster
  (:mod:`energy.solar.albedo`),

summed per sensor and month, and (without materialising sensors x hours) per building group
(roof, N, E, S, W walls) and hour for the energy model. Memory is bounded by the block size.

The weather, sky and sun preparation lives in :mod:`energy.solar.prepare`, the result types
and their writers in :mod:`energy.solar.results`; both are re-exported here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from citymodel import executors
from citymodel._fileutil import atomic_path
from citymodel.errors import InputError
from citymodel.model import BUILDING_TYPES, CityModel
from citymodel.progress import progress_bar
from citymodel.surfaces import SurfaceTable, select_object_types, surface_table
from energy.solar.albedo import is_albedo_raster, read_albedo_table, sensor_albedo
from energy.solar.blocks import SensorBlock, SolarShared, solve_block
from energy.solar.prepare import (
    PreparedRun,
    ground_z,
    monthly_sums,
    prepare_run,
    sensor_blocks,
    surface_kind,
    wall_group,
)
from energy.solar.results import (
    GROUPS,
    BuildingIrradiance,
    SolarResult,
    write_sensors_parquet,
    write_solar_attributes,
)
from energy.solar.scene import OccluderScene, build_scene, scene_object_types
from energy.solar.sensors import Sensors, sample_sensors

__all__ = [
    "SolarResult",
    "BuildingIrradiance",
    "GROUPS",
    "irradiate",
    "building_irradiance",
    "surface_kind",
    "write_solar_attributes",
    "write_sensors_parquet",
]

_log = logging.getLogger(__name__)

#: Default ``sun_sampling_step`` of :func:`irradiate` (see :mod:`energy.solar.sunsampling`).
SUN_SAMPLING_STEP = 4


def irradiate(
    model: CityModel,
    weather: Any = "clearsky",
    *,
    sensor_spacing_m: float = 1.0,
    albedo: float | str | os.PathLike = 0.2,
    albedo_table: str | os.PathLike | dict[int, float] | None = None,
    year: int | None = None,
    sensor_offset_m: float = 0.05,
    sky_subdivision: int = 1,
    sky_model: str = "perez1990",
    rays_per_side: int = 1,
    n_horizon: int = 36,
    sun_resolution_deg: float = 1.0,
    sun_sampling_step: int = SUN_SAMPLING_STEP,
    tree_transmissivity: tuple[float, float] = (0.2, 0.6),
    leaf_on_months: tuple[int, ...] | None = None,
    include_terrain: bool = True,
    include_trees: bool = True,
    building_hourly: bool = True,
    hourly_path: str | os.PathLike | None = None,
    overwrite: bool = False,
    block_rays: int = 4_000_000,
    n_threads: int = 2,
    scheduler: Any = None,
    workers: int = 1,
    progress: bool = False,
) -> SolarResult:
    """Annual and monthly shaded irradiation on every roof and wall of a city model.

    Parameters
    ----------
    model : CityModel
        Buildings (with ``RoofSurface`` / ``WallSurface`` semantics, or tilts that tell them
        apart), and optionally terrain and trees, in a projected metric CRS.
    weather : str, PathLike or (DataFrame, dict)
        An EPW path, ``"clearsky"`` (site from the model's CRS), or a reader's result.
    sensor_spacing_m : float
        Distance between sensors on the surfaces [m] (at least one sensor per surface).
    albedo : float, "weather" or path
        Ground albedo (0..1), the EPW's hourly albedo column, or a raster path (GeoTIFF in the
        model's CRS, albedo 0..1 per cell, or land-cover classes with ``albedo_table``): each
        sensor then gets the mean albedo of a disc of ground in front of it (radius
        ``max(5 m, 2 x height above ground)``; nodata -> 0.2), see
        :func:`energy.solar.albedo.sensor_albedo`.
    albedo_table : path or dict, optional
        ``class,albedo`` CSV (or ``{class: albedo}``) for a land-cover class raster ``albedo``.
    year : int, optional
        Year of the weather stamps (see :func:`energy.weather.load_weather`).
    sensor_offset_m : float
        Sensor offset along the normal [m].
    sky_subdivision : int
        1 = Tregenza 145 patches, n = Reinhart MF:n.
    sky_model : {"perez1990", "perez-allweather"}
        Diffuse sky: ``"perez1990"`` is Perez's (1990) irradiance model (pvlib's) split into
        isotropic patches, a horizon band and a circumsolar point source; ``"perez-allweather"``
        is the Perez (1993) all-weather radiance distribution over the patches (its circumsolar
        and horizon brightening are shaded patch by patch). See :mod:`energy.sky`.
    rays_per_side : int
        ``k``: each patch is sampled by ``k x k`` rays of equal solid angle.
    n_horizon : int
        Azimuth elements of the Perez horizon band.
    sun_resolution_deg : float
        Size of the sun-position bins for the direct-sun visibility [deg]; 0 = exact per hour.
    sun_sampling_step : int
        Cast every ``sun_sampling_step``-th sun bin along the year's analemmas and infer a bin
        between two samples from them where they agree (a shadow edge between them casts the
        bin's own ray); 1 casts every bin. An approximation: it misses an obstruction seen
        less than about ``sun_sampling_step`` bins tall along the analemma; its error against
        one ray per hour is measured in ``tests/test_solar_sunsampling.py`` and the run's
        ``stats`` record the step and the inferred share. See :mod:`energy.solar.sunsampling`.
    tree_transmissivity : (leaf_on, leaf_off)
        Fraction of light through a tree crown (0..1).
    leaf_on_months : tuple of int, optional
        Months with leaves (default May-Oct north of the equator, Nov-Apr south).
    include_terrain, include_trees : bool
        Use TINRelief and SolitaryVegetationObject as occluders.
    building_hourly : bool
        Also compute :class:`BuildingIrradiance` (``result.buildings``).
    hourly_path : path, optional
        Write hourly irradiance per surface to this Parquet file (long format: ``surface``,
        ``object_id``, ``time``, ``irradiance_w_m2``), streamed block by block.
    block_rays : int
        About how many rays one block of sensors casts (bounds memory).
    n_threads : int
        Threads for Embree (per block: per worker on a pool or a cluster).
    scheduler : None, "processes", "threads", str or dask.distributed.Client
        Where the sensor blocks run: here (default), a local pool of ``workers``, or the
        workers of a running Dask cluster (its address, or a client); see
        :func:`citymodel.executors.run_jobs`. The result is the same wherever they run.
    workers : int
        Workers of a local pool (``scheduler=None`` with ``workers > 1`` is a process pool).
    progress : bool
        Show a progress bar.

    Returns
    -------
    SolarResult

    Raises
    ------
    InputError
        A model without roofs, bad parameters. ``WeatherError`` / ``CRSError`` from the weather.
    """
    import time

    t0 = time.perf_counter()
    src = model.source or "model"
    # one surface table for the buildings and the occluder scene (built once, then subset)
    opaque_types, tree_types = scene_object_types(model, include_terrain, include_trees)
    scene_types = [*opaque_types, *tree_types]
    shared = surface_table(
        model, object_types=[*scene_types, *(t for t in BUILDING_TYPES if t not in scene_types)]
    )
    table = select_object_types(model, shared, BUILDING_TYPES)
    kind = surface_kind(table)
    if not np.any(kind == 0):
        raise InputError(
            f"{src}: no roof surfaces found among {len(table)} building surfaces (no "
            "RoofSurface semantics and no surface tilted less than 60 deg); the solar solver "
            "needs buildings with roofs"
        )
    prep = prepare_run(
        model,
        weather,
        year=year,
        albedo=albedo,
        sky_subdivision=sky_subdivision,
        sky_model=sky_model,
        rays_per_side=rays_per_side,
        n_horizon=n_horizon,
        sun_resolution_deg=sun_resolution_deg,
        sun_sampling_step=sun_sampling_step,
        tree_transmissivity=tree_transmissivity,
        leaf_on_months=leaf_on_months,
    )
    rows = np.flatnonzero(kind >= 0)
    sensors = sample_sensors(table.select(rows), sensor_spacing_m, offset_m=sensor_offset_m)
    sensors.surface = rows[sensors.surface]
    alb_sensor = None
    if is_albedo_raster(albedo):
        ct = albedo_table
        if ct is not None and not isinstance(ct, dict):
            ct = read_albedo_table(ct)
        alb_sensor = sensor_albedo(
            albedo, sensors.points, sensors.normals, ground_z(table)[sensors.surface],
            model.epsg, class_table=ct,
        )
    elif albedo_table is not None:
        raise InputError("albedo_table needs albedo to be a land-cover raster path")
    scene = build_scene(
        model,
        include_terrain=include_terrain,
        include_trees=include_trees,
        n_threads=n_threads,
        table=shared,
    )
    t_setup = time.perf_counter() - t0
    out = _solve(
        model,
        table,
        kind,
        sensors,
        scene,
        prep,
        building_hourly=building_hourly,
        hourly_path=hourly_path,
        overwrite=overwrite,
        block_rays=block_rays,
        progress=progress,
        sensor_albedo=alb_sensor,
        scheduler=scheduler,
        workers=workers,
    )
    out.stats["setup_s"] = t_setup
    out.stats["sensor_offset_m"] = float(sensor_offset_m)
    out.stats["sensor_spacing_m"] = float(sensor_spacing_m)
    out.stats["total_s"] = time.perf_counter() - t0
    return out


def _solve(
    model: CityModel,
    table: SurfaceTable,
    kind: np.ndarray,
    sensors: Sensors,
    scene: OccluderScene,
    prep: PreparedRun,
    *,
    building_hourly: bool,
    hourly_path: str | os.PathLike | None,
    overwrite: bool,
    block_rays: int,
    progress: bool,
    sensor_albedo: np.ndarray | None = None,
    scheduler: Any = None,
    workers: int = 1,
) -> SolarResult:
    import time


    n = len(sensors)
    nh = prep.strengths.shape[1]
    e = prep.rays.n_elements
    up = prep.up
    sun_dir_up = np.ascontiguousarray(prep.sun_dir[up])
    beam_up = np.ascontiguousarray(prep.sky.beam_normal_w_m2[up])
    bin_up = np.ascontiguousarray(prep.bins.hour_bin[up])
    month_up = np.ascontiguousarray(prep.month0[up])
    tau_up = np.ascontiguousarray(prep.tau[up])
    r_open_m = monthly_sums(prep.strengths, prep.month0)  # (e, 12)
    r_tree_m = monthly_sums(prep.strengths * prep.tau[None, :], prep.month0)
    g_m = monthly_sums(prep.refl_w_m2[None, :], prep.month0)[0]  # (12,)

    monthly = np.zeros((n, 12), dtype=np.float32)
    sky_view = np.zeros(n, dtype=np.float32)
    comp = np.zeros((n, 3), dtype=np.float64)  # annual Wh/m2: beam, diffuse, reflected

    # building groups
    bids_all = model.building_ids()
    root_pos = {r: i for i, r in enumerate(table.root_ids)}
    b_of_root = np.full(len(table.root_ids), -1, dtype=np.int64)
    bids = [b for b in bids_all if b in root_pos]
    for i, b in enumerate(bids):
        b_of_root[root_pos[b]] = i
    grp = np.where(kind == 0, 0, wall_group(table.azimuth_deg))
    surf_group = np.where(
        (kind >= 0) & (b_of_root[table.root_index] >= 0), b_of_root[table.root_index] * 5 + grp, -1
    )
    ng = len(bids) * 5
    if building_hourly:
        cg_open = np.zeros((ng, e))
        cg_tree = np.zeros((ng, e))
        sg = np.zeros(ng)  # area-weighted view of reflecting obstructions
        g_area = np.zeros(ng)
        g_beam = np.zeros((ng, up.size))

    writer = None
    tmp_ctx = None
    if hourly_path is not None:
        import pyarrow as pa
        import pyarrow.parquet as pq


        tmp_ctx = atomic_path(hourly_path, overwrite=overwrite)
        tmp = tmp_ctx.__enter__()
        schema = pa.schema(
            [
                ("surface", pa.int32()),
                ("object_id", pa.string()),
                ("time", pa.timestamp("us", tz="UTC")),
                ("irradiance_w_m2", pa.float32()),
            ]
        )
        writer = pq.ParquetWriter(tmp, schema)
        times_utc = prep.weather.index.tz_convert("UTC")
        times_arr = pa.array(times_utc.as_unit("us"))

    n_sun_rays = len(prep.bins)
    if prep.sampling is not None:  # the samples plus (a guess) a quarter of the others
        n_sun_rays = prep.sampling.samples.size + (len(prep.bins) - prep.sampling.samples.size) // 4
    rays_per_sensor = (len(prep.rays.weight) + n_sun_rays) // 2 + 1
    blocks = sensor_blocks(sensors.surface, rays_per_sensor, block_rays)
    shared = SolarShared(
        scene.origin, scene.opaque_triangles, scene.tree_triangles, scene.n_threads, prep.rays,
        prep.bins, sun_dir_up, beam_up, bin_up, month_up, tau_up, r_open_m, r_tree_m, g_m,
        np.asarray(table.normal, dtype=np.float64), building_hourly or writer is not None,
        sampling=prep.sampling)
    shared.adopt_scene(scene)  # a run here casts on the scene already built

    def jobs():
        for a, b in blocks:
            yield SensorBlock(a, b, sensors.points[a:b], sensors.normals[a:b], sensors.area_m2[a:b],
                              sensors.surface[a:b], None if sensor_albedo is None else sensor_albedo[a:b])

    t_rays = 0.0
    t_kern = 0.0
    n_rays = 0
    n_inferred = 0
    ray_s = 0.0
    try:
        with progress_bar(progress) as bar:
            task = bar.add_task("Irradiating sensors", total=n)
            for res in executors.run_jobs(solve_block, jobs(), shared=shared, scheduler=scheduler,
                                          workers=workers):
                a, b = res.start, res.stop
                t_rays += res.rays_s
                t_kern += res.accumulate_s
                n_rays += res.n_rays
                n_inferred += res.n_sun_inferred
                ray_s += res.ray_s
                t1 = time.perf_counter()
                monthly[a:b] = res.monthly_kwh_m2
                sky_view[a:b] = res.sky_view
                comp[a:b] = res.components_wh_m2
                if building_hourly:
                    sgid = surf_group[res.surfaces]
                    ok = sgid >= 0
                    np.add.at(cg_open, sgid[ok], res.c_open[ok])
                    np.add.at(cg_tree, sgid[ok], res.c_tree[ok])
                    np.add.at(sg, sgid[ok], res.reflect_m2[ok])
                    np.add.at(g_area, sgid[ok], res.area_m2[ok])
                    np.add.at(g_beam, sgid[ok], res.beam_w[ok])
                if writer is not None:
                    _write_hourly_block(writer, table, res, prep, times_arr)
                t_kern += time.perf_counter() - t1
                bar.advance(task, b - a)
        if writer is not None:
            writer.close()
            writer = None
            tmp_ctx.__exit__(None, None, None)
            tmp_ctx = None
    finally:
        if writer is not None:
            writer.close()
        if tmp_ctx is not None:
            import sys

            tmp_ctx.__exit__(*sys.exc_info())

    # per surface
    s = len(table)
    wsum = np.bincount(sensors.surface, weights=sensors.area_m2, minlength=s)
    surf_m = np.full((s, 12), np.nan)
    surf_c = np.full((s, 3), np.nan)
    has = wsum > 0
    for k in range(12):  # 12 calendar months
        surf_m[has, k] = (
            np.bincount(sensors.surface, weights=sensors.area_m2 * monthly[:, k], minlength=s)
            / np.where(has, wsum, 1)
        )[has]
    for k in range(3):
        surf_c[has, k] = (
            np.bincount(sensors.surface, weights=sensors.area_m2 * comp[:, k], minlength=s)
            / np.where(has, wsum, 1)
        )[has] / 1000.0

    buildings = None
    if building_hourly:
        t1 = time.perf_counter()
        ghourly = (cg_open @ prep.strengths) + (cg_tree @ prep.strengths) * prep.tau[None, :]
        ghourly += np.outer(sg, prep.refl_w_m2)
        ghourly[:, up] += g_beam
        mean = ghourly / np.where(g_area > 0, g_area, 1.0)[:, None]
        buildings = BuildingIrradiance(
            building_ids=bids,
            groups=GROUPS,
            irradiance_w_m2=mean.reshape(len(bids), 5, nh).astype(np.float32),
            area_m2=g_area.reshape(len(bids), 5),
            times=prep.weather.index,
        )
        t_kern += time.perf_counter() - t1
    stats = {
        "n_sensors": n,
        "n_surfaces": int(has.sum()),
        "n_blocks": len(blocks),
        "n_sun_bins": len(prep.bins),
        "n_sun_hours": int(up.size),
        "n_sky_rays_per_sensor": int(len(prep.rays.weight)),
        "n_rays": n_rays,
        "sun_sampling_step": 1 if prep.sampling is None else prep.sampling.step,
        "n_sun_samples": len(prep.bins) if prep.sampling is None else int(prep.sampling.samples.size),
        "n_sun_inferred": n_inferred,
        "embree_s": ray_s,
        "rays_s": t_rays,
        "accumulate_s": t_kern,
        "n_opaque_triangles": int(scene.opaque_triangles.shape[0]),
        "n_tree_triangles": int(scene.tree_triangles.shape[0]),
        "executor": executors.describe(scheduler, workers),
    }
    if prep.sampling is not None:
        _log.info(
            "solar: direct sun cast on %d of %d sun bins (every %d-th along the analemmas), "
            "%d sensor-bin pairs inferred from agreeing samples (an approximation, see "
            "energy.solar.sunsampling)", stats["n_sun_samples"], len(prep.bins),
            prep.sampling.step, n_inferred)
    return SolarResult(
        table=table,
        kind=kind,
        sensors=sensors,
        sensor_monthly_kwh_m2=monthly,
        sensor_sky_view=sky_view,
        surface_monthly_kwh_m2=surf_m,
        surface_components_kwh_m2=surf_c,
        times=prep.weather.index,
        weather_meta=prep.meta,
        buildings=buildings,
        stats=stats,
    )


def _write_hourly_block(writer, table, res, prep, times_arr) -> None:
    """Hourly area-weighted irradiance of the surfaces of one block (blocks never split a surface)."""
    import pyarrow as pa

    useg = res.surfaces
    g = useg.size
    hourly = res.c_open @ prep.strengths + (res.c_tree @ prep.strengths) * prep.tau[None, :]
    hourly += np.outer(res.reflect_m2, prep.refl_w_m2)
    hourly[:, prep.up] += res.beam_w
    hourly /= res.area_m2[:, None]
    nh = hourly.shape[1]
    oid = np.asarray(table.object_ids, dtype=object)[table.object_index[useg]]
    tab = pa.table(
        {
            "surface": pa.array(np.repeat(useg, nh).astype(np.int32)),
            "object_id": pa.array(np.repeat(oid, nh).astype(str)),
            "time": pa.concat_arrays([times_arr] * g) if g else times_arr[:0],
            "irradiance_w_m2": pa.array(hourly.ravel().astype(np.float32)),
        }
    )
    writer.write_table(tab)


def building_irradiance(
    model: CityModel, weather: Any = "clearsky", **kwargs: Any
) -> BuildingIrradiance:
    """Hourly shaded irradiance per building on its roofs and N/E/S/W walls.

    Takes the arguments of :func:`irradiate` (``building_hourly`` is forced on) and returns
    ``irradiate(...).buildings``: ``irradiance_w_m2 (n_buildings, 5, n_hours) float32``,
    ``area_m2 (n_buildings, 5)``, ``building_ids``, ``groups = ("roof", "N", "E", "S", "W")``
    and ``times``. Sensors x hours are never materialised.
    """
    kwargs["building_hourly"] = True
    res = irradiate(model, weather, **kwargs)
    assert res.buildings is not None
    return res.buildings
