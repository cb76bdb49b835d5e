"""Vectorised per-polygon geometry over ragged arrays (one index array plus offsets).

Used by the surface table: Newell area vectors of every ring at once, polygon areas and
normals, and triangulation (direct for triangles, fans for convex rings, earcut for the rest).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from citymodel.geometry import triangulate_polygon
from citymodel.tolerances import AREA_EPS_M2

__all__ = ["RaggedPolygons", "ragged_from_rings", "polygon_geometry"]


class RaggedPolygons:
    """Polygons with holes as flat arrays.

    Attributes
    ----------
    idx : (k,) int64
        Vertex indices of all rings, concatenated.
    ring_offsets : (r + 1,) int64
        Ring ``j`` is ``idx[ring_offsets[j]:ring_offsets[j+1]]``.
    poly_ring_offsets : (p + 1,) int64
        Polygon ``i`` owns rings ``poly_ring_offsets[i]:poly_ring_offsets[i+1]`` (outer first).
    """

    def __init__(self, idx: np.ndarray, ring_offsets: np.ndarray, poly_ring_offsets: np.ndarray):
        self.idx = idx
        self.ring_offsets = ring_offsets
        self.poly_ring_offsets = poly_ring_offsets

    def __len__(self) -> int:
        return len(self.poly_ring_offsets) - 1

    def rings(self, i: int) -> list[np.ndarray]:
        r0, r1 = self.poly_ring_offsets[i], self.poly_ring_offsets[i + 1]
        return [self.idx[self.ring_offsets[j] : self.ring_offsets[j + 1]] for j in range(r0, r1)]


def ragged_from_rings(polygons: Sequence[Sequence[Sequence[int]]]) -> RaggedPolygons:
    """Build :class:`RaggedPolygons` from CityJSON polygons (lists of rings of indices)."""
    flat: list[int] = []
    ring_len: list[int] = []
    poly_nrings: list[int] = []
    for rings in polygons:
        n = 0
        for r in rings:
            if len(r):
                flat.extend(r)
                ring_len.append(len(r))
                n += 1
        poly_nrings.append(n)
    idx = np.asarray(flat, dtype=np.int64)
    ring_offsets = np.concatenate([[0], np.cumsum(ring_len, dtype=np.int64)]).astype(np.int64)
    poly_ring_offsets = np.concatenate([[0], np.cumsum(poly_nrings, dtype=np.int64)]).astype(np.int64)
    return RaggedPolygons(idx, ring_offsets, poly_ring_offsets)


def _ring_area_vectors(vertices: np.ndarray, rp: RaggedPolygons) -> np.ndarray:
    """Newell area vector of every ring ``(r, 3)``; norm = area [m2] for planar rings."""
    n_rings = len(rp.ring_offsets) - 1
    if n_rings == 0:
        return np.zeros((0, 3))
    lengths = np.diff(rp.ring_offsets)
    ring_of = np.repeat(np.arange(n_rings), lengths)
    p = vertices[rp.idx]
    # centre each ring (conditioning with large real coordinates)
    sums = np.zeros((n_rings, 3))
    for k in range(3):
        sums[:, k] = np.bincount(ring_of, weights=p[:, k], minlength=n_rings)
    centre = sums / np.maximum(lengths, 1)[:, None]
    p = p - centre[ring_of]
    pos = np.arange(len(rp.idx))
    nxt = pos + 1
    last = rp.ring_offsets[1:] - 1
    nxt[last] = rp.ring_offsets[:-1]
    c = np.cross(p, p[nxt])
    out = np.zeros((n_rings, 3))
    for k in range(3):
        out[:, k] = 0.5 * np.bincount(ring_of, weights=c[:, k], minlength=n_rings)
    return out


def polygon_geometry(
    vertices: np.ndarray, rp: RaggedPolygons
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Areas, normals, centroids and triangles of many polygons at once.

    Returns
    -------
    area_m2 : (p,) float64
    normal : (p, 3) float64
        Unit normals from the outer ring (zero for degenerate polygons).
    centroid : (p, 3) float64
        Area-weighted triangle centroid (ring mean when there are no triangles).
    triangles : (m, 3) int64
        Grouped by polygon, counter-clockwise about the normal.
    tri_offsets : (p + 1,) int64
    """
    n_poly = len(rp)
    ring_av = _ring_area_vectors(vertices, rp)
    n_rings_poly = np.diff(rp.poly_ring_offsets)
    has_outer = n_rings_poly > 0
    outer_ring = np.where(has_outer, rp.poly_ring_offsets[:-1], 0)
    outer_av = np.where(has_outer[:, None], ring_av[outer_ring] if len(ring_av) else 0.0, 0.0)
    outer_area = np.linalg.norm(outer_av, axis=1)
    normal = np.where(outer_area[:, None] > 0, outer_av / np.where(outer_area > 0, outer_area, 1.0)[:, None], 0.0)
    # holes: subtract their area projected on the polygon normal
    area = outer_area.copy()
    n_r = len(ring_av)
    if n_r:
        ring_poly = np.repeat(np.arange(n_poly), n_rings_poly)
        is_hole = np.ones(n_r, dtype=bool)
        is_hole[rp.poly_ring_offsets[:-1][has_outer]] = False
        if is_hole.any():
            hp = ring_poly[is_hole]
            proj = np.abs(np.einsum("ij,ij->i", ring_av[is_hole], normal[hp]))
            area -= np.bincount(hp, weights=proj, minlength=n_poly)
    area = np.maximum(area, 0.0)

    ring_len = np.diff(rp.ring_offsets)
    outer_len = np.where(has_outer, ring_len[outer_ring] if n_r else 0, 0)
    single = (n_rings_poly == 1) & (area > AREA_EPS_M2)
    # convexity of single-ring polygons: every corner turns the same way about the normal
    convex = np.zeros(n_poly, dtype=bool)
    cand = np.flatnonzero(single)
    if len(cand):
        starts = rp.ring_offsets[outer_ring[cand]]
        lens = outer_len[cand]
        owner = np.repeat(np.arange(len(cand)), lens)
        local = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        g = np.repeat(starts, lens) + local
        L = np.repeat(lens, lens)
        gp = np.repeat(starts, lens) + (local - 1) % L
        gn = np.repeat(starts, lens) + (local + 1) % L
        p0, p1, p2 = vertices[rp.idx[gp]], vertices[rp.idx[g]], vertices[rp.idx[gn]]
        turn = np.einsum("ij,ij->i", np.cross(p1 - p0, p2 - p1), normal[cand][owner])
        scale = np.maximum(np.repeat(area[cand], lens), 1e-12)
        bad = turn < -1e-9 * scale
        nbad = np.bincount(owner, weights=bad.astype(np.float64), minlength=len(cand))
        convex[cand] = nbad == 0
    # fans for convex single rings (triangles included)
    tri_count = np.zeros(n_poly, dtype=np.int64)
    fan = np.flatnonzero(convex)
    tri_count[fan] = outer_len[fan] - 2
    rest = np.flatnonzero(~convex & (area > AREA_EPS_M2))
    rest_tris: dict[int, np.ndarray] = {}
    for i in rest:
        t = triangulate_polygon(vertices, rp.rings(int(i)), normal[i])
        rest_tris[int(i)] = t
        tri_count[i] = len(t)
    tri_offsets = np.concatenate([[0], np.cumsum(tri_count)]).astype(np.int64)
    triangles = np.zeros((int(tri_offsets[-1]), 3), dtype=np.int64)
    if len(fan):
        nt = tri_count[fan]
        owner = np.repeat(fan, nt)
        k = np.arange(nt.sum()) - np.repeat(np.cumsum(nt) - nt, nt)
        s = rp.ring_offsets[outer_ring[owner]]
        rows = tri_offsets[owner] + k
        triangles[rows, 0] = rp.idx[s]
        triangles[rows, 1] = rp.idx[s + k + 1]
        triangles[rows, 2] = rp.idx[s + k + 2]
    for i, t in rest_tris.items():
        triangles[tri_offsets[i] : tri_offsets[i + 1]] = t
    # centroids from triangles, area-weighted
    centroid = np.zeros((n_poly, 3))
    if len(triangles):
        tv = vertices[triangles]
        ta = 0.5 * np.linalg.norm(np.cross(tv[:, 1] - tv[:, 0], tv[:, 2] - tv[:, 0]), axis=1)
        towner = np.repeat(np.arange(n_poly), tri_count)
        wsum = np.bincount(towner, weights=ta, minlength=n_poly)
        tc = tv.mean(axis=1)
        for k in range(3):
            centroid[:, k] = np.bincount(towner, weights=tc[:, k] * ta, minlength=n_poly)
        ok = wsum > 0
        centroid[ok] /= wsum[ok, None]
    missing = tri_count == 0
    if missing.any() and len(rp.idx):
        for i in np.flatnonzero(missing & has_outer):
            r = rp.rings(int(i))[0]
            centroid[i] = vertices[r].mean(axis=0)
    return area, normal, centroid, triangles, tri_offsets
