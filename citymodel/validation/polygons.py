"""Ring and polygon checks on flat arrays: val3dity 101, 102, 104 and 203."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.tolerances import AREA_EPS_M2, PLANARITY_TOL_M, SNAP_TOL_M
from citymodel.validation._kernels import ring_self_intersections
from citymodel.validation._ragged import Ragged

__all__ = ["PolygonChecks", "check_polygons", "weld"]


def weld(vertices: np.ndarray, tol_m: float = SNAP_TOL_M) -> np.ndarray:
    """Welded vertex ids ``(n,) int64``: vertices on the same ``tol_m`` grid cell share an id.

    val3dity merges points closer than its snap tolerance before checking topology; this is
    the vectorised equivalent (a grid instead of a distance, which differs only for pairs that
    straddle a cell border).
    """
    v = np.asarray(vertices, dtype=np.float64)
    if v.shape[0] == 0:
        return np.zeros(0, np.int64)
    q = np.round((v - v.min(axis=0)) / tol_m).astype(np.int64)
    return row_ids(q)


def row_ids(q: np.ndarray) -> np.ndarray:
    """Equal rows of an integer array ``(n, 3)`` get equal ids ``(n,) int64`` (0..k-1)."""
    span = q.max(axis=0) - q.min(axis=0) + 1
    if float(span[0]) * float(span[1]) * float(span[2]) < 2.0**62:
        qq = q - q.min(axis=0)
        key = (qq[:, 0] * span[1] + qq[:, 1]) * span[2] + qq[:, 2]
        _, inv = np.unique(key, return_inverse=True)
    else:
        _, inv = np.unique(q, axis=0, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


@dataclass
class PolygonChecks:
    """Per-ring and per-polygon results.

    Attributes
    ----------
    e101, e102, e104 : (r,) bool
        Ring has too few points / consecutive repeated points / self-intersects.
    e203 : (p,) bool
        Polygon is non-planar beyond the tolerance (only for polygons with valid rings).
    plane_dist_m : (p,) float64
        Largest distance of a polygon vertex to its least-squares plane [m].
    normal : (p, 3) float64
        Unit normal of the least-squares plane (sign arbitrary).
    polygon_ok : (p,) bool
        No ring or polygon error.
    """

    e101: np.ndarray
    e102: np.ndarray
    e104: np.ndarray
    kind104: np.ndarray
    e203: np.ndarray
    plane_dist_m: np.ndarray
    normal: np.ndarray
    polygon_ok: np.ndarray


def _basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.where(np.abs(n[:, 2:3]) < 0.9, np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]]))
    u = np.cross(helper, n)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(n, u)
    return u, v


def check_polygons(vertices: np.ndarray, canon: np.ndarray, rag: Ragged,
                   planarity_tol_m: float = PLANARITY_TOL_M) -> PolygonChecks:
    """val3dity's ring (101, 102, 104) and planarity (203) checks for every polygon at once.

    Parameters
    ----------
    vertices : (n, 3) float64
        Shared vertex array [m].
    canon : (n,) int64
        Welded vertex ids (see :func:`weld`).
    rag : Ragged
        The rings to check.
    planarity_tol_m : float
        Largest allowed distance of a vertex to the polygon's fitted plane [m].
    """
    R, P = rag.n_rings, rag.n_polygons
    k = rag.vidx.shape[0]
    xyz = vertices[rag.vidx]
    can = canon[rag.vidx]
    ring_of = np.repeat(np.arange(R), rag.ring_len)
    nxt = np.arange(k) + 1
    nonempty = rag.ring_len > 0
    nxt[(rag.ring_start + rag.ring_len - 1)[nonempty]] = rag.ring_start[nonempty]
    e101 = rag.ring_len < 3
    same = (can == can[nxt]) | (np.linalg.norm(xyz - xyz[nxt], axis=1) < SNAP_TOL_M)
    e102 = (np.bincount(ring_of[same], minlength=R) > 0) & ~e101
    # least-squares plane of each polygon (all its rings)
    poly_of = rag.ring_polygon[ring_of]
    cnt = np.bincount(poly_of, minlength=P).astype(np.float64)
    safe = np.maximum(cnt, 1.0)
    c = np.stack([np.bincount(poly_of, weights=xyz[:, i], minlength=P) / safe for i in range(3)], axis=1)
    d = xyz - c[poly_of]
    cov = np.empty((P, 3, 3))
    for i in range(3):
        for j in range(i, 3):
            cov[:, i, j] = cov[:, j, i] = np.bincount(poly_of, weights=d[:, i] * d[:, j], minlength=P)
    cov[cnt < 3] = np.eye(3)
    _, vecs = np.linalg.eigh(cov)
    normal = vecs[:, :, 0]
    dist = np.abs(np.einsum("ij,ij->i", d, normal[poly_of]))
    plane_dist = np.zeros(P)
    np.maximum.at(plane_dist, poly_of, dist)
    # self-intersection in the plane of the polygon
    u, v = _basis(normal)
    xy = np.stack([np.einsum("ij,ij->i", d, u[poly_of]), np.einsum("ij,ij->i", d, v[poly_of])], axis=1)
    cand = ~e101 & ~e102
    kind = np.zeros(R, dtype=np.uint8)
    if cand.any():
        kind = ring_self_intersections(xy, can, rag.ring_start, np.where(cand, rag.ring_len, 0), SNAP_TOL_M / 10.0)
        x, y = xy[:, 0], xy[:, 1]
        shoelace = x * y[nxt] - x[nxt] * y
        area = 0.5 * np.abs(np.bincount(ring_of, weights=shoelace, minlength=R))
        kind[cand & (kind == 0) & (area < AREA_EPS_M2)] = 3
    e104 = kind > 0
    ring_bad = e101 | e102 | e104
    poly_ring_bad = np.bincount(rag.ring_polygon[ring_bad], minlength=P) > 0
    e203 = (plane_dist > planarity_tol_m) & ~poly_ring_bad
    empty_poly = np.bincount(rag.ring_polygon, minlength=P) == 0
    polygon_ok = ~poly_ring_bad & ~e203 & ~empty_poly
    return PolygonChecks(e101, e102, e104, kind, e203, plane_dist, normal, polygon_ok)
