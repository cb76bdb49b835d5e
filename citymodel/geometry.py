"""Geometry helpers on plain arrays: polygon normals, areas, orientation angles, triangulation.

Angles follow pvlib: tilt 0 deg = horizontal facing up, 90 deg = vertical; azimuth in degrees
clockwise from north (90 = east, 180 = south). Horizontal surfaces get azimuth 180 by
convention (any azimuth is right for them).
"""

from __future__ import annotations

from collections.abc import Sequence

import mapbox_earcut as earcut
import numpy as np

from citymodel.tolerances import AREA_EPS_M2, HORIZONTAL_TILT_DEG

__all__ = [
    "newell_normal",
    "unit",
    "tilt_azimuth_deg",
    "triangle_areas",
    "triangle_normals",
    "plane_basis",
    "triangulate_polygon",
    "polygon_area_normal",
]


def unit(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` scaled to unit length; zero rows stay zero. ``(..., 3) -> (..., 3)``."""
    v = np.asarray(v, dtype=np.float64)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, v / np.where(n > 0, n, 1.0), 0.0)
    return out


def newell_normal(ring_xyz: np.ndarray) -> np.ndarray:
    """Newell's area vector of a closed ring ``(k, 3)`` (first point not repeated).

    Returns a ``(3,)`` vector whose norm is the polygon's area [m2] for a planar ring and which
    points along the right-hand normal (counter-clockwise seen from its tip).
    """
    p = np.asarray(ring_xyz, dtype=np.float64)
    p = p - p.mean(axis=0)  # better conditioning with real (large) coordinates
    q = np.roll(p, -1, axis=0)
    return 0.5 * np.cross(p, q).sum(axis=0)


def polygon_area_normal(rings_xyz: Sequence[np.ndarray]) -> tuple[float, np.ndarray]:
    """Area [m2] and unit normal ``(3,)`` of a planar polygon with holes.

    The outer ring fixes the normal; holes are subtracted by projecting their area vectors on it.
    """
    outer = newell_normal(rings_xyz[0])
    n = unit(outer)
    area = float(np.dot(outer, n))
    for hole in rings_xyz[1:]:
        area -= abs(float(np.dot(newell_normal(hole), n)))
    return max(area, 0.0), n


def tilt_azimuth_deg(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tilt and azimuth [deg] of unit normals ``(n, 3)`` (x east, y north, z up).

    Returns
    -------
    tilt_deg : (n,) float64
        0 = facing up, 90 = vertical, 180 = facing down.
    azimuth_deg : (n,) float64
        Clockwise from north in [0, 360); 180 where the surface is horizontal.

    Examples
    --------
    >>> t, a = tilt_azimuth_deg(np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    >>> t.round(6).tolist(), a.round(6).tolist()
    ([90.0, 90.0, 0.0], [180.0, 90.0, 180.0])
    """
    n = np.atleast_2d(np.asarray(normals, dtype=np.float64))
    tilt = np.degrees(np.arccos(np.clip(n[:, 2], -1.0, 1.0)))
    az = np.degrees(np.arctan2(n[:, 0], n[:, 1])) % 360.0
    horizontal = (tilt < HORIZONTAL_TILT_DEG) | (tilt > 180.0 - HORIZONTAL_TILT_DEG)
    az = np.where(horizontal, 180.0, az)
    return tilt, az


def triangle_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Area vectors (cross product / 2) of triangles: ``(m, 3)`` [m2 along the normal]."""
    v = np.asarray(vertices, dtype=np.float64)
    t = np.asarray(triangles)
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    return 0.5 * np.cross(b - a, c - a)


def triangle_areas(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Areas [m2] of triangles ``(m, 3)`` of indices into ``vertices (n, 3)``: ``(m,)``."""
    return np.linalg.norm(triangle_normals(vertices, triangles), axis=1)


def plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors ``u, v`` spanning the plane with unit ``normal`` (u x v = normal)."""
    n = unit(np.asarray(normal, dtype=np.float64))
    helper = np.array([0.0, 0.0, 1.0]) if abs(n[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = unit(np.cross(helper, n))
    v = np.cross(n, u)
    return u, v


def triangulate_polygon(
    vertices: np.ndarray, rings: Sequence[Sequence[int]], normal: np.ndarray | None = None
) -> np.ndarray:
    """Triangulate one planar polygon with holes (earcut in the polygon's plane).

    Parameters
    ----------
    vertices : (n, 3) float64
        Shared vertex array [m].
    rings : list of lists of int
        Outer ring first, then holes, as indices into ``vertices`` (not closed).
    normal : (3,) float64, optional
        The polygon's unit normal (computed with Newell's method when omitted).

    Returns
    -------
    (m, 3) int64
        Triangles as indices into ``vertices``, wound counter-clockwise about ``normal``.
        Empty when the polygon is degenerate.
    """
    rings = [list(r) for r in rings if len(r) > 0]
    if not rings or len(rings[0]) < 3:
        return np.zeros((0, 3), dtype=np.int64)
    idx = np.fromiter((i for r in rings for i in r), dtype=np.int64)
    xyz = vertices[idx]
    if len(rings) == 1 and len(rings[0]) == 3:
        tri = idx.reshape(1, 3)
        return tri
    if normal is None:
        normal = unit(newell_normal(vertices[rings[0]]))
    if not np.any(normal):
        return np.zeros((0, 3), dtype=np.int64)
    u, v = plane_basis(normal)
    c = xyz.mean(axis=0)
    p2 = np.column_stack([(xyz - c) @ u, (xyz - c) @ v])
    ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
    local = np.asarray(earcut.triangulate_float64(p2, ends), dtype=np.int64).reshape(-1, 3)
    if local.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    # earcut's winding in 2D is not guaranteed: make every triangle agree with the normal
    a, b, cc = p2[local[:, 0]], p2[local[:, 1]], p2[local[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (cc[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (cc[:, 0] - a[:, 0])
    flip = cross < 0
    local[flip] = local[flip][:, [0, 2, 1]]
    keep = np.abs(cross) > 2 * AREA_EPS_M2
    return idx[local[keep]]
