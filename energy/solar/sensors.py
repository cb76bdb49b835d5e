"""Sensor points on roof and wall triangles of the surface table.

Every triangle is split into ``m x m`` congruent sub-triangles (``m = max(1, round(sqrt(area) /
spacing))``, so each sub-triangle is about ``spacing^2`` in area) and one
sensor sits at each sub-triangle's centroid, offset along the surface normal. Sensors carry the
exact sub-triangle area, so area-weighted means over a surface are exact for a uniform field.
Sensors of one surface are contiguous and surfaces keep the table's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from citymodel.surfaces import SurfaceTable
from citymodel.tolerances import AREA_EPS_M2

__all__ = ["Sensors", "sample_sensors", "subtriangle_centroids"]


@dataclass
class Sensors:
    """Sensor points sampled on surfaces.

    Attributes
    ----------
    points : (n, 3) float64
        Positions [m], already offset along the normal.
    normals : (n, 3) float64
        Unit normals of their surfaces.
    area_m2 : (n,) float64
        Surface area each sensor stands for [m2].
    surface : (n,) int64
        Row of the surface table the sensor lies on (non-decreasing).
    """

    points: np.ndarray
    normals: np.ndarray
    area_m2: np.ndarray
    surface: np.ndarray

    def __len__(self) -> int:
        return int(self.area_m2.shape[0])

    def take(self, sl: slice | np.ndarray) -> Sensors:
        """A subset of the sensors (a slice or an index array)."""
        return Sensors(self.points[sl], self.normals[sl], self.area_m2[sl], self.surface[sl])


def subtriangle_centroids(m: int) -> np.ndarray:
    """Barycentric coordinates ``(m*m, 3)`` of the centroids of the ``m^2`` sub-triangles."""
    rows = []
    for i in range(m):  # small fixed pattern, m is a subdivision count, not data
        for j in range(m - i):
            rows.append(((i + 1 / 3) / m, (j + 1 / 3) / m))  # "upright" sub-triangle
            if j < m - i - 1:
                rows.append(((i + 2 / 3) / m, (j + 2 / 3) / m))  # "inverted" sub-triangle
    uv = np.asarray(rows, dtype=np.float64)
    return np.column_stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]])


def sample_sensors(
    table: SurfaceTable,
    spacing_m: float = 1.0,
    *,
    offset_m: float = 0.05,
    max_subdivision: int = 256,
) -> Sensors:
    """Sample sensors on every triangle of ``table`` at about ``spacing_m``.

    Parameters
    ----------
    table : SurfaceTable
        The surfaces to sample (typically roofs and walls). Rows of zero area get no sensor.
    spacing_m : float
        Target distance between sensors [m].
    offset_m : float
        Distance of the sensor from its surface along the normal [m] (keeps rays from
        hitting their own surface).

    Returns
    -------
    Sensors
        At least one sensor per surface of non-zero area.
    """
    if not np.isfinite(spacing_m) or spacing_m <= 0:
        raise InputError(f"sensor spacing must be > 0 m, got {spacing_m}")
    if not np.isfinite(offset_m) or offset_m < 0:
        raise InputError(f"sensor offset must be >= 0 m, got {offset_m}")
    v = table.vertices
    tri = table.triangles
    tsurf = table.triangle_surface
    if tri.shape[0] == 0:
        return Sensors(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), np.zeros(0, np.int64))
    a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
    tarea = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    keep = tarea > AREA_EPS_M2
    m = np.clip(np.rint(np.sqrt(tarea) / spacing_m), 1, max_subdivision).astype(np.int64)
    m[~keep] = 0
    out_pts, out_area, out_surf, out_key = [], [], [], []
    for mm in np.unique(m[m > 0]):  # loop over distinct subdivision counts (few)
        idx = np.flatnonzero(m == mm)
        bc = subtriangle_centroids(int(mm))  # (k, 3)
        k = bc.shape[0]
        p = (
            bc[None, :, 0:1] * a[idx, None, :]
            + bc[None, :, 1:2] * b[idx, None, :]
            + bc[None, :, 2:3] * c[idx, None, :]
        ).reshape(-1, 3)
        out_pts.append(p)
        out_area.append(np.repeat(tarea[idx] / k, k))
        out_surf.append(np.repeat(tsurf[idx], k))
        out_key.append(np.repeat(idx, k) * (max_subdivision**2) + np.tile(np.arange(k), idx.size))
    pts = np.concatenate(out_pts)
    area = np.concatenate(out_area)
    surf = np.concatenate(out_surf)
    key = np.concatenate(out_key)
    order = np.argsort(key, kind="stable")  # triangle order, hence surfaces contiguous
    pts, area, surf = pts[order], area[order], surf[order]
    nrm = table.normal[surf]
    pts = pts + offset_m * nrm
    return Sensors(pts, nrm.copy(), area, surf.astype(np.int64))
