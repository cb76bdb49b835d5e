"""Sun and shade of the grid's points per step: ground, body, the walls each cell sees.

With a :class:`microclimate.sunrays.HeightField` on the geometry (what
:func:`microclimate.grid.prepare_grid` builds) the rays walk the raster
(:func:`microclimate.sunrays.sun_codes`): the ground and body points of a cell share one walk
for the interval's middle sun, the points of a wall strip share one walk. Without it (a
geometry made by hand) they go through the Embree scene, one ray per point; the two give the
same codes up to rays grazing a cell edge (``tests/test_microclimate_sunrays.py``).
"""

from __future__ import annotations

import numpy as np

from microclimate.seen_walls import strip_sunlit_fraction
from microclimate.skyview import SIDE_NORMALS, sunlit_fraction
from microclimate.sunrays import column_sun_share, sun_codes, sunlit_share

__all__ = ["grid_shadows", "ground_sunlit"]


def ground_sunlit(geom, sun_direction: np.ndarray) -> np.ndarray:
    """Beam share of the ground points of ``geom`` (a :class:`microclimate.grid.GridGeometry`)
    for one sun direction, ``(n,) float32``."""
    hf = geom.heightfield
    if hf is None:
        return sunlit_fraction(geom.scene, geom.ground_origins, sun_direction,
                               geom.transmissivity)
    g = geom.ground_origins
    return sunlit_share(sun_codes(hf, g[:, :2], g[:, 2:3], sun_direction)[:, 0],
                        geom.transmissivity)


def grid_shadows(geom, sun: np.ndarray, sun_sub: np.ndarray, dni_w_m2: np.ndarray,
                 wall_pts: np.ndarray, has_wall: np.ndarray, progress=None, done: int = 0,
                 total: int = 0):
    """Sunlit fractions of the ground, the body and the walls seen per side.

    Parameters
    ----------
    geom : microclimate.grid.GridGeometry
    sun : (t, 3) float64
        Sun direction at the middle of each step's interval.
    sun_sub : (t, s, 3) float64
        Sun directions at ``s`` instants spread over each interval (body only).
    dni_w_m2 : (t,) float64
        Direct normal irradiance [W/m2]: no rays where it is 0.
    wall_pts : (4, n, 3) float32
        One point per side in front of the wall seen (used without ``geom.wall_strip``).
    has_wall : (4, n) bool
        Sides that see a wall.
    progress : callable, optional
        ``progress("sun", done + i + 1, total)`` after step ``i``.

    Returns
    -------
    sun_g, sun_b : (t, n) float32
        Beam share of the ground point and of the body (mean over the instants).
    wall_sun : (t, 4, n) float32
        Sunlit fraction of the wall seen looking N, E, S, W.
    """
    tau = geom.transmissivity
    hf = geom.heightfield
    nt = sun.shape[0]
    sun_g = np.zeros((nt, geom.n), np.float32)
    sun_b = np.zeros((nt, geom.n), np.float32)
    wall_sun = np.zeros((nt, 4, geom.n), np.float32)
    sel = [np.flatnonzero(has_wall[k]) for k in range(4)]
    walls = [None] * 4
    if hf is not None:
        xy = geom.ground_origins[:, :2].astype(np.float64)
        zs = np.column_stack([geom.ground_origins[:, 2], geom.body_origins[:, 2]]).astype(
            np.float64)
        z_body = np.ascontiguousarray(zs[:, 1:])  # body and ground share x, y
        walls = [_wall_columns(geom, k, sel[k], wall_pts) for k in range(4)]
    for i in range(nt):
        s = sun[i]
        if s[2] > 0 and dni_w_m2[i] > 0:
            if hf is None:
                sun_g[i] = sunlit_fraction(geom.scene, geom.ground_origins, s, tau)
                mid = None
            else:  # ground and body under the middle sun in one walk
                both = sunlit_share(sun_codes(hf, xy, zs, s), tau)
                sun_g[i] = both[:, 0]
                mid = both[:, 1]
            for sk in sun_sub[i]:
                if sk[2] <= 0:
                    continue
                if mid is not None and np.array_equal(sk, s):
                    sun_b[i] += mid
                elif hf is None:
                    sun_b[i] += sunlit_fraction(geom.scene, geom.body_origins, sk, tau)
                else:
                    sun_b[i] += sunlit_share(sun_codes(hf, xy, z_body, sk)[:, 0], tau)
            sun_b[i] /= len(sun_sub[i])
            for k in range(4):
                if SIDE_NORMALS[k] @ s < 0:  # walls seen looking this way face the sun
                    if hf is None:
                        wall_sun[i, k, sel[k]] = _wall_sunlit_embree(geom, k, sel[k], wall_pts, s)
                    else:  # the points of a strip (bottom to top) share one walk
                        wall_sun[i, k, sel[k]] = column_sun_share(hf, *walls[k], s, tau)
        if progress is not None:
            progress("sun", done + i + 1, total)
    return sun_g, sun_b, wall_sun


def _wall_columns(geom, k: int, sel: np.ndarray, wall_pts: np.ndarray):
    """Horizontal positions ``(m, 2)`` and heights ``(m, points)`` (bottom to top) of the wall
    strips (else the single points) that side ``k`` of the cells ``sel`` sees."""
    if geom.wall_strip is None:
        p = wall_pts[k, sel]
        return p[:, :2].astype(np.float64), p[:, 2:3].astype(np.float64)
    pts = geom.wall_strip[k][:, sel]  # (points, m, 3); a strip's points share x, y
    return pts[0, :, :2].astype(np.float64), np.ascontiguousarray(pts[:, :, 2].T, np.float64)


def _wall_sunlit_embree(geom, k: int, sel: np.ndarray, wall_pts: np.ndarray, s: np.ndarray):
    """Sunlit fraction of the walls seen on side ``k`` by the cells ``sel`` (Embree rays)."""
    tau, strip = geom.transmissivity, geom.wall_strip
    if strip is None:  # one point per side: sunlit 0 or 1
        return sunlit_fraction(geom.scene, wall_pts[k, sel], s, tau)
    return strip_sunlit_fraction(geom.scene, strip[k][:, sel], s, tau)
