"""Preparation for the solar solver: surface kinds, weather, sky and sun, sensor blocks.

:func:`surface_kind` tells roofs from walls, :func:`prepare_run` turns the weather into sun
positions, sun bins, sky rays and sky-element strengths (with the monthly tree transmissivity
and the ground reflection per hour), and the small helpers group walls by orientation, sum hours
into months and cut the sensors into blocks for :func:`energy.solar.irradiate.irradiate`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.model import CityModel
from citymodel.surfaces import SurfaceTable
from energy.sky import PerezSky, element_strengths, perez_sky, sky_patches
from energy.solar.albedo import is_albedo_raster
from energy.solar.shading import SkyRays, SunBins, make_sky_rays, sun_bins
from energy.solar.sunsampling import SunSampling, sun_sampling
from energy.sun import sun_vectors, weather_sun_positions
from energy.weather import load_weather

__all__ = [
    "PreparedRun",
    "ground_z",
    "leaf_on",
    "monthly_sums",
    "prepare_run",
    "sensor_blocks",
    "surface_kind",
    "wall_group",
]

_ROOF_TILT_MAX_DEG = 60.0


def surface_kind(table: SurfaceTable) -> np.ndarray:
    """0 roof, 1 wall, -1 other, per row: semantic type first, else the tilt (< 60 deg roof)."""
    st = np.asarray(table.semantic_type).astype(str)
    kind = np.full(len(table), -1, dtype=np.int8)
    kind[st == "RoofSurface"] = 0
    kind[np.isin(st, ["WallSurface", "Window", "Door"])] = 1
    none = st == ""
    kind[none & (table.tilt_deg < _ROOF_TILT_MAX_DEG)] = 0
    kind[none & (table.tilt_deg >= _ROOF_TILT_MAX_DEG) & (table.tilt_deg <= 120.0)] = 1
    kind[~(table.area_m2 > 0)] = -1
    return kind


def wall_group(azimuth_deg: np.ndarray) -> np.ndarray:
    """1 N, 2 E, 3 S, 4 W from the azimuth [deg]."""
    return 1 + (np.floor(((np.asarray(azimuth_deg) + 45.0) % 360.0) / 90.0).astype(np.int64) % 4)


def leaf_on(
    months: np.ndarray, latitude: float, leaf_on_months: tuple[int, ...] | None
) -> np.ndarray:
    """Whether trees carry leaves in each month (1..12); default May-Oct north, Nov-Apr south."""
    if leaf_on_months is None:
        leaf_on_months = (5, 6, 7, 8, 9, 10) if latitude >= 0 else (11, 12, 1, 2, 3, 4)
    return np.isin(months, list(leaf_on_months))


@dataclass
class PreparedRun:
    """Weather, sky, sun bins and sky rays of one :func:`energy.solar.irradiate.irradiate` run."""

    weather: pd.DataFrame
    meta: dict[str, Any]
    sky: PerezSky
    sun_dir: np.ndarray
    bins: SunBins
    rays: SkyRays
    strengths: np.ndarray  # (e, h)
    month0: np.ndarray  # (h,) 0..11
    tau: np.ndarray  # (h,)
    refl_w_m2: np.ndarray  # (h,) albedo * ghi (ghi alone for a raster albedo)
    up: np.ndarray  # (h,) indices of sun-up hours with beam
    sampling: SunSampling | None = None  # adaptive sun visibility (None: every bin cast)


def prepare_run(
    model: CityModel | None,
    weather: Any,
    *,
    year: int | None,
    albedo: float | str | os.PathLike,
    sky_subdivision: int,
    rays_per_side: int,
    n_horizon: int,
    sun_resolution_deg: float,
    sun_sampling_step: int = 1,
    tree_transmissivity: tuple[float, float],
    leaf_on_months: tuple[int, ...] | None,
    sky_model: str,
) -> PreparedRun:
    """Load the weather and derive the sun, sky, sun bins (and their sampling plan for
    ``sun_sampling_step > 1``, :mod:`energy.solar.sunsampling`), sky rays and per-hour factors."""
    df, meta = load_weather(weather, model, year=year)
    pos = weather_sun_positions(df, meta)
    sky = perez_sky(
        df["dni_w_m2"].to_numpy(),
        df["dhi_w_m2"].to_numpy(),
        pos["zenith_deg"].to_numpy(),
        pos["dni_extra_w_m2"].to_numpy(),
        sky_model=sky_model,
    )
    sun_dir = sun_vectors(pos)
    active = (sky.beam_normal_w_m2 > 0) & (sun_dir[:, 2] > 0)
    bins = sun_bins(sun_dir, active, sun_resolution_deg)
    sampling = None
    if int(sun_sampling_step) != 1:
        time_of_day = np.asarray(df.index.hour) * 60 + np.asarray(df.index.minute)  # one analemma each
        sampling = sun_sampling(bins, time_of_day, int(sun_sampling_step))
    rays = make_sky_rays(sky_subdivision, rays_per_side, n_horizon)
    strengths = element_strengths(
        sky, rays.n_patches, rays.n_horizon, patches=sky_patches(sky_subdivision), sun_dir=sun_dir
    )
    mid = df.index - pd.Timedelta(minutes=30)
    month0 = (np.asarray(mid.month) - 1).astype(np.int64)
    tau_on, tau_off = (float(t) for t in tree_transmissivity)
    if not (0 <= tau_on <= 1 and 0 <= tau_off <= 1):
        raise InputError(f"tree transmissivity must be within 0..1, got {tree_transmissivity}")
    tau = np.where(leaf_on(month0 + 1, meta["latitude"], leaf_on_months), tau_on, tau_off)
    if is_albedo_raster(albedo):
        alb = np.ones(len(df))  # the per-sensor albedo multiplies the reflection view
    elif isinstance(albedo, str):
        alb = df["albedo"].to_numpy(dtype=np.float64)
        alb = np.where(np.isfinite(alb) & (alb >= 0) & (alb <= 1), alb, 0.2)
    else:
        if not (0.0 <= float(albedo) <= 1.0):
            raise InputError(f"albedo must be within 0..1, got {albedo}")
        alb = np.full(len(df), float(albedo))
    return PreparedRun(
        weather=df,
        meta=meta,
        sky=sky,
        sun_dir=sun_dir,
        bins=bins,
        rays=rays,
        strengths=strengths,
        month0=month0,
        tau=tau.astype(np.float64),
        refl_w_m2=alb * sky.ghi_w_m2,
        up=np.flatnonzero(bins.hour_bin >= 0),
        sampling=sampling,
    )


def ground_z(table: SurfaceTable) -> np.ndarray:
    """Ground elevation per surface row ``(s,)`` [m]: the lowest vertex of its top-level object."""
    counts = np.diff(table.tri_offsets)
    surf_of_tri = np.repeat(np.arange(counts.size), counts)
    tri_z = table.vertices[table.triangles, 2].min(axis=1)
    root_z = np.full(len(table.root_ids), np.inf)
    np.minimum.at(root_z, table.root_index[surf_of_tri], tri_z)
    root_z = np.where(np.isfinite(root_z), root_z, 0.0)
    return root_z[table.root_index]


def monthly_sums(values: np.ndarray, month0: np.ndarray) -> np.ndarray:
    """Sum ``(..., h)`` over hours into ``(..., 12)``."""
    onehot = np.zeros((values.shape[-1], 12))
    onehot[np.arange(values.shape[-1]), month0] = 1.0
    return values @ onehot


def sensor_blocks(surface: np.ndarray, rays_per_sensor: int, block_rays: int) -> list[tuple[int, int]]:
    """Sensor blocks of about ``block_rays`` rays, cut only where a new surface starts."""
    n = surface.shape[0]
    size = int(max(64, block_rays // max(1, rays_per_sensor)))
    cuts = np.arange(size, n, size)
    starts = np.flatnonzero(np.diff(surface)) + 1  # first sensor of each new surface
    idx = np.searchsorted(starts, cuts)  # the first surface start at or after each nominal cut
    cuts = starts[idx[idx < starts.size]]
    edges = np.unique(np.concatenate([[0], cuts, [n]]))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
