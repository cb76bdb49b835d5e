"""Sunlit share of the walls a grid cell sees, from points spread over the wall's height.

A body in a street or courtyard sees, looking N, E, S or W, walls that are partly in sun and
partly in shade: low sun lights the upper storeys of a facade while the opposite building
shades its lower part. The long-wave and reflected short-wave the body receives from those
walls depend on the **sunlit fraction of the wall area seen** (SOLWEIG computes it from the
sunlit height of each wall pixel, Lindberg et al. 2008, sect. 2.5, "sunwall"). Testing the sun
at the single mean point where a cell's view rays hit the walls (as the grid did before)
makes that fraction 0 or 1, so a whole facade flips between shaded and sunlit temperature
within an hour.

:func:`wall_strip_points` spreads ``n_points`` points evenly over the height of the wall seen
in each direction (from the cell's ground to the wall top found in the DSM just behind the mean
hit point), once per grid; :func:`strip_sunlit_fraction` casts the sun from all of them in one
batch and returns their mean: the sunlit fraction of the wall seen, in steps of
``1 / n_points``.
"""

from __future__ import annotations

import numpy as np

from energy.solar.scene import OccluderScene
from microclimate.skyview import SIDE_NORMALS, sunlit_fraction

__all__ = ["N_STRIP_POINTS", "wall_strip_points", "strip_sunlit_fraction"]

#: Points per wall strip (sunlit fraction in quarters).
N_STRIP_POINTS = 4
#: Distances behind the mean hit point where the wall top is looked up in the DSM [m].
_TOP_SEARCH_M = np.arange(0.5, 3.01, 0.5)


def wall_strip_points(
    wall_point: np.ndarray,
    ground_z_m: np.ndarray,
    dsm_m: np.ndarray,
    transform,
    scene_origin: np.ndarray,
    *,
    offset_m: float = 0.3,
    n_points: int = N_STRIP_POINTS,
) -> np.ndarray:
    """Points spread over the height of the wall seen by each cell in each direction.

    Parameters
    ----------
    wall_point : (4, n, 3) float32
        Mean hit point of each side plane's blocked rays, scene-local [m], NaN without walls
        (:attr:`microclimate.skyview.ViewFractions.wall_point`).
    ground_z_m : (n,) float64
        Ground elevation of each cell [m].
    dsm_m : (ny, nx) float64
        Surface model the scene was built from [m].
    transform : affine.Affine
        North-up transform of ``dsm_m``.
    scene_origin : (3,) float64
        Origin of the scene-local coordinates [m].
    offset_m : float
        Distance of the points in front of the wall, towards the cell [m] (so that the
        wall itself does not shade them).
    n_points : int
        Points per strip.

    Returns
    -------
    (4, n_points, n, 3) float32
        Scene-local points, bottom to top; NaN where a side sees no wall.
    """
    wp = np.asarray(wall_point, dtype=np.float64)
    n = wp.shape[1]
    out = np.full((4, n_points, n, 3), np.nan, np.float32)
    inv = ~transform
    ny, nx = dsm_m.shape
    zg = np.asarray(ground_z_m, dtype=np.float64)
    for k in range(4):
        ok = np.flatnonzero(np.isfinite(wp[k, :, 0]))
        if ok.size == 0:
            continue
        p = wp[k, ok]
        top = p[:, 2].copy()
        for d in _TOP_SEARCH_M:  # the wall top: highest DSM just behind the mean hit point
            x = p[:, 0] + scene_origin[0] + d * SIDE_NORMALS[k, 0]
            y = p[:, 1] + scene_origin[1] + d * SIDE_NORMALS[k, 1]
            col, row = inv * (x, y)
            row = np.clip(np.floor(row).astype(np.int64), 0, ny - 1)
            col = np.clip(np.floor(col).astype(np.int64), 0, nx - 1)
            top = np.maximum(top, dsm_m[row, col])
        base = zg[ok]
        top = np.maximum(top, base)
        xy = p[:, :2] - offset_m * SIDE_NORMALS[k, :2]
        for j in range(n_points):
            out[k, j, ok, :2] = xy
            out[k, j, ok, 2] = base + (j + 0.5) / n_points * (top - base)
    return out


def strip_sunlit_fraction(scene: OccluderScene, strip: np.ndarray, sun_direction: np.ndarray,
                          transmissivity: float) -> np.ndarray:
    """Mean sun or shade of the points of wall strips (the sunlit fraction of the walls).

    Parameters
    ----------
    scene : OccluderScene
    strip : (n_points, m, 3) float32
        Points of ``m`` strips, scene-local [m] (no NaN).
    sun_direction : (3,) float64
        Unit vector towards the sun.
    transmissivity : float
        Shortwave transmissivity of tree crowns [-].

    Returns
    -------
    (m,) float32
        Sunlit fraction, 0..1.
    """
    k, m, _ = strip.shape
    lit = sunlit_fraction(scene, strip.reshape(k * m, 3), sun_direction, transmissivity)
    return lit.reshape(k, m).mean(axis=0)
