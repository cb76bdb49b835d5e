"""Window shading by the model's own geometry (overhangs, fins, neighbours), by ray casting.

The same Embree occluder scene as the solar solver (:func:`energy.solar.scene.build_scene`):
points are sampled on a building's ``Window`` surfaces, and rays are cast to the sun for every
daylight hour (beam) and over a uniform sphere of directions (isotropic sky and ground
diffuse). Used by :func:`energy.demand.simulate.simulate` for buildings whose
``energy_window_shading`` attribute is ``{"method": "raycast"}``, in place of the analytic
overhang/fin factors of :mod:`energy.demand.shading`.
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import InputError
from citymodel.model import CityModel
from citymodel.surfaces import surface_table
from energy.solar.scene import build_scene
from energy.solar.sensors import subtriangle_centroids

__all__ = ["ray_window_shading", "sphere_directions", "HORIZON_BAND_DEG"]

#: Width of the sky's horizon band (Perez) above the horizon [deg].
HORIZON_BAND_DEG = 6.5
#: Offset of the sample points from the window plane, outwards [m].
_OFFSET_M = 0.01


def sphere_directions(n: int) -> np.ndarray:
    """``n`` unit vectors spread evenly over the sphere (Fibonacci lattice), (n, 3) float64."""
    k = np.arange(n) + 0.5
    z = 1.0 - 2.0 * k / n
    phi = np.pi * (1.0 + 5.0 ** 0.5) * k
    r = np.sqrt(1.0 - z * z)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def ray_window_shading(model: CityModel, building_id: str, sun_azimuth_deg: np.ndarray,
                       sun_elevation_deg: np.ndarray, *, subdivision: int = 8,
                       n_directions: int = 4096, with_horizon: bool = False) -> tuple[np.ndarray, ...]:
    """Sunlit fraction and diffuse factors of a building's windows, per orientation N/E/S/W.

    Parameters
    ----------
    model : CityModel
        The building, its ``Window`` surfaces and everything that may shade them (its
        ``BuildingInstallation`` overhangs and fins, neighbours, terrain).
    building_id : str
    sun_azimuth_deg, sun_elevation_deg : (nh,) float64
        Sun position of every hour [deg, azimuth clockwise from north].
    subdivision : int
        Each window triangle is split into ``subdivision**2`` sample points.
    n_directions : int
        Directions over the whole sphere for the diffuse factors.
    with_horizon : bool
        Also return the horizon factor.

    Returns
    -------
    sunlit : (4, nh) float64
        Area-weighted sunlit fraction of the windows facing N, E, S, W (1 where there are no
        windows, 0 when the sun is behind the window or below the horizon).
    sky_factor, ground_factor : (4,) float64
        Fractions of the unshaded isotropic sky and ground diffuse that reach the windows.
    horizon_factor : (4,) float64
        With ``with_horizon``: the fraction of the Perez horizon band (sky directions within
        :data:`HORIZON_BAND_DEG` of the horizon, cosine-weighted) that reaches the windows.
    """
    t = surface_table(model)
    rows = np.flatnonzero((t.semantic_type == "Window")
                          & (np.asarray(t.root_ids, dtype=object)[t.root_index] == building_id))
    if not len(rows):
        raise InputError(f"building {building_id!r}: no Window surfaces to shade by ray casting; "
                         "give the windows as Window semantic surfaces or use the analytic shading")
    scene = build_scene(model, include_trees=True, table=t)
    bary = subtriangle_centroids(subdivision)  # (k, 3) barycentric weights
    tri_rows = np.flatnonzero(np.isin(t.triangle_surface, rows))
    corners = t.vertices[t.triangles[tri_rows]]  # (m, 3, 3)
    pts = np.einsum("kj,mjd->mkd", bary, corners).reshape(-1, 3)
    surf = np.repeat(t.triangle_surface[tri_rows], len(bary))
    area = np.repeat(0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]),
                                          axis=1) / len(bary), len(bary))
    nrm = t.normal[surf]
    group = (np.round(t.azimuth_deg[surf] / 90.0).astype(np.int64) % 4)
    pts = pts + _OFFSET_M * nrm
    az, el = np.radians(np.asarray(sun_azimuth_deg, float)), np.radians(np.asarray(sun_elevation_deg, float))
    sun = np.column_stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)])
    nh = len(sun)
    sunlit = np.ones((4, nh))
    day = np.flatnonzero(el > 0)
    for g in range(4):  # four orientations; rays for all daylight hours at once per orientation
        p = np.flatnonzero(group == g)
        if not len(p):
            continue
        cos = sun[day] @ nrm[p].T  # (nd, np)
        front = cos > 0
        hh, pp = np.nonzero(front)
        free, _ = scene.visibility(pts[p][pp], sun[day][hh])
        lit = np.zeros(front.shape)
        lit[hh, pp] = free
        w = area[p]
        sunlit[g] = 0.0
        sunlit[g, day] = np.where(front.any(axis=1), (lit * front) @ w / np.maximum(front @ w, 1e-12), 0.0)
    d = sphere_directions(n_directions)
    sky, ground, horizon = np.ones(4), np.ones(4), np.ones(4)
    band = np.sin(np.radians(HORIZON_BAND_DEG))
    for g in range(4):
        p = np.flatnonzero(group == g)
        if not len(p):
            continue
        cos = d @ nrm[p].T  # (nd, np)
        dd, pp = np.nonzero(cos > 0)
        free, _ = scene.visibility(pts[p][pp], d[dd])
        wcos = cos[dd, pp] * area[p][pp]
        up = d[dd, 2] > 0
        sky[g] = (wcos * free)[up].sum() / max(wcos[up].sum(), 1e-12)
        ground[g] = (wcos * free)[~up].sum() / max(wcos[~up].sum(), 1e-12)
        hz = up & (d[dd, 2] < band)
        horizon[g] = (wcos * free)[hz].sum() / max(wcos[hz].sum(), 1e-12)
    return (sunlit, sky, ground, horizon) if with_horizon else (sunlit, sky, ground)
