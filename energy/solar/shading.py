"""Shading: sky-element coefficients (daylight coefficients) and sun visibility per sensor.

Rays are cast only where they can matter (towards the front side of a sensor's surface), in
one flat batch per block of sensors, through :class:`~energy.solar.scene.OccluderScene`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from energy.sky import horizon_rays, patch_rays, sky_patches
from energy.solar import _kernels
from energy.solar.scene import OccluderScene

__all__ = [
    "SkyRays",
    "make_sky_rays",
    "sky_coefficients",
    "SunBins",
    "sun_bins",
    "sun_visibility",
    "cast_pairs",
]

_COS_EPS = 1e-6


@dataclass(frozen=True)
class SkyRays:
    """Ray directions standing for the sky elements (patches, then horizon elements).

    Attributes
    ----------
    ray_dirs : (r, 3) float64
        Where visibility is tested.
    cos_dirs : (r, 3) float64
        Direction used for the incidence cosine (equal to ``ray_dirs`` for patches).
    weight : (r,) float64
        Solid angle [sr] (patches) or azimuth width [rad] (horizon) each ray stands for.
    element : (r,) int64
        Sky element of each ray: patch ``0..p-1``, horizon ``p..p+n_horizon-1``.
    n_patches, n_horizon : int
    """

    ray_dirs: np.ndarray
    cos_dirs: np.ndarray
    weight: np.ndarray
    element: np.ndarray
    n_patches: int
    n_horizon: int

    @property
    def n_elements(self) -> int:
        return self.n_patches + self.n_horizon


def make_sky_rays(subdivision: int = 1, rays_per_side: int = 2, n_horizon: int = 36) -> SkyRays:
    """Sky rays: ``rays_per_side^2`` per Tregenza/Reinhart patch plus the horizon band."""
    p = sky_patches(subdivision)
    d, patch, om = patch_rays(p, rays_per_side)
    hr, hc, hw = horizon_rays(n_horizon)
    return SkyRays(
        ray_dirs=np.vstack([d, hr]),
        cos_dirs=np.vstack([d, hc]),
        weight=np.concatenate([om, hw]),
        element=np.concatenate([patch, len(p) + np.arange(n_horizon)]),
        n_patches=len(p),
        n_horizon=int(n_horizon),
    )


def cast_pairs(
    scene: OccluderScene,
    points: np.ndarray,
    normals: np.ndarray,
    dirs: np.ndarray,
    cos_dirs: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cast a ray from every sensor towards every direction in front of its surface.

    Returns
    -------
    offsets : (n + 1,) int64
        Sensor ``s`` owns pairs ``offsets[s]:offsets[s+1]``.
    dj : (m,) int32
        Direction index of each pair (a view of the scene's workspace: valid until the next cast).
    cos : (m,) float32
        Incidence cosine with ``cos_dirs`` (default ``dirs``), clipped at 0.
    code : (m,) int8
        0 blocked, 1 free, 2 through tree crowns only.
    """
    n = points.shape[0]
    normals = np.ascontiguousarray(normals, dtype=np.float64)
    dirs = np.ascontiguousarray(dirs, dtype=np.float64)
    cos_dirs = dirs if cos_dirs is None else np.ascontiguousarray(cos_dirs, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    _kernels.count_front(normals, dirs, _COS_EPS, counts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    m = int(offsets[-1])
    o, d, dj, cos = scene.workspace(m)
    local = np.ascontiguousarray(points - scene.origin, dtype=np.float64)
    _kernels.fill_rays(local, normals, dirs, cos_dirs, _COS_EPS, offsets, o, d, dj, cos)
    code = scene.codes_local(o, d)
    return offsets, dj, cos, code


def sky_coefficients(
    scene: OccluderScene,
    points: np.ndarray,
    normals: np.ndarray,
    rays: SkyRays,
) -> tuple[np.ndarray, np.ndarray]:
    """Daylight coefficients of a block of sensors.

    ``C[s, e] = sum over the rays of element e of visible * cos(incidence) * weight``, scaled per
    sensor so that an unobstructed sensor gets exactly ``pi (1 + cos tilt) / 2`` over the patches
    and ``2 sin tilt`` over the horizon band (removes the discretisation error of the cosine).

    Returns
    -------
    c_open, c_tree : (n, e) float32
        Coefficients of elements seen directly, and seen through tree crowns only.
    """
    n = points.shape[0]
    e = rays.n_elements
    c_open = np.zeros((n, e), dtype=np.float32)
    c_tree = np.zeros((n, e), dtype=np.float32)
    if n == 0:
        return c_open, c_tree
    offsets, dj, cos, code = cast_pairs(scene, points, normals, rays.ray_dirs, rays.cos_dirs)
    signed_w = np.where(rays.element >= rays.n_patches, -rays.weight, rays.weight)
    ideal = np.zeros((n, 2))
    _kernels.scatter_coefficients(
        offsets, dj, cos, code, rays.element, signed_w, c_open, c_tree, ideal
    )
    cz = np.clip(normals[:, 2], -1, 1)
    exact_p = np.pi * (1 + cz) / 2
    exact_h = 2 * np.sqrt(np.clip(1 - cz**2, 0, None))
    fp = np.where(ideal[:, 0] > 0, exact_p / np.where(ideal[:, 0] > 0, ideal[:, 0], 1), 1.0)
    fh = np.where(ideal[:, 1] > 1e-9, exact_h / np.where(ideal[:, 1] > 1e-9, ideal[:, 1], 1), 0.0)
    c_open[:, : rays.n_patches] *= fp[:, None].astype(np.float32)
    c_tree[:, : rays.n_patches] *= fp[:, None].astype(np.float32)
    c_open[:, rays.n_patches :] *= fh[:, None].astype(np.float32)
    c_tree[:, rays.n_patches :] *= fh[:, None].astype(np.float32)
    return c_open, c_tree


@dataclass(frozen=True)
class SunBins:
    """Sun positions of the year grouped on a fine sky grid.

    Attributes
    ----------
    directions : (b, 3) float64
        Unit vector of each bin (normalised mean of its hours' sun vectors).
    hour_bin : (h,) int64
        Bin of each hour, -1 when the sun is down (or the hour has no beam).
    resolution_deg : float
        Grid cell size; 0 = one bin per sun-up hour (exact).
    """

    directions: np.ndarray
    hour_bin: np.ndarray
    resolution_deg: float

    def __len__(self) -> int:
        return int(self.directions.shape[0])


def sun_bins(sun_dirs: np.ndarray, active: np.ndarray, resolution_deg: float = 1.0) -> SunBins:
    """Group the sun-up hours on an altitude/azimuth grid of about ``resolution_deg``.

    Cells are ``resolution_deg`` high in altitude and about ``resolution_deg`` wide on the sky
    (azimuth width ``resolution_deg / cos(altitude)``). Only visibility is binned: the
    incidence cosine and irradiance stay exact per hour.
    """
    sun_dirs = np.asarray(sun_dirs, dtype=np.float64)
    active = np.asarray(active, dtype=bool) & (sun_dirs[:, 2] > 0)
    h = sun_dirs.shape[0]
    hour_bin = np.full(h, -1, dtype=np.int64)
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return SunBins(np.zeros((0, 3)), hour_bin, float(resolution_deg))
    if resolution_deg <= 0:
        hour_bin[idx] = np.arange(idx.size)
        return SunBins(sun_dirs[idx].copy(), hour_bin, 0.0)
    if resolution_deg > 30:
        raise InputError(
            f"sun bin resolution {resolution_deg} deg is too coarse (use <= 30, 0 = exact)"
        )
    d = sun_dirs[idx]
    alt = np.degrees(np.arcsin(np.clip(d[:, 2], -1, 1)))
    az = np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360.0
    band = np.floor(alt / resolution_deg).astype(np.int64)
    ncell = np.maximum(
        1, np.floor(360.0 * np.cos(np.radians((band + 0.5) * resolution_deg)) / resolution_deg)
    )
    cell = np.floor(az / 360.0 * ncell).astype(np.int64)
    key = band * 100000 + cell
    uniq, inv = np.unique(key, return_inverse=True)
    acc = np.zeros((uniq.size, 3))
    np.add.at(acc, inv, d)
    acc /= np.linalg.norm(acc, axis=1)[:, None]
    hour_bin[idx] = inv
    return SunBins(acc, hour_bin, float(resolution_deg))


def sun_visibility(
    scene: OccluderScene, points: np.ndarray, normals: np.ndarray, bins: SunBins
) -> np.ndarray:
    """Visibility code per sensor and sun bin, ``(n, b) int8``: 0 blocked or behind, 1 free,
    2 seen through tree crowns only."""
    n = points.shape[0]
    vis = np.zeros((n, len(bins)), dtype=np.int8)
    if n == 0 or len(bins) == 0:
        return vis
    offsets, dj, _, code = cast_pairs(scene, points, normals, bins.directions)
    _kernels.scatter_visibility(offsets, dj, code, vis)
    return vis
