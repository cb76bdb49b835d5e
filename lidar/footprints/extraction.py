"""Building footprints from building points, for runs without a footprint layer.

1. **Segment**: building-class points are rasterised (``cell_m``, default 0.5 m), the mask is
   closed by one cell and split into 4-connected components, which are cut where the highest
   points of neighbouring cells differ by more than ``step_m`` (adjoining houses of different
   heights); small pieces and pieces enclosed by one roof (dormers, penthouses) are merged
   back. Each remaining piece is then split at its party walls (:mod:`lidar._partywalls`):
   straight lines across it, parallel to its walls, along which the roof height steps, the roof
   forms a valley or (with an orthophoto) the roof colour changes; pieces under ``20 m2`` are
   merged back. Each remaining piece is one building.
2. **Orient**: the main direction of a building comes from its simplified outline's edges
   (squared-length-weighted circular mean of 4 x edge angle), refined within 1.5 degrees by
   minimising the area of the points' robust bounding box in the rotated frame.
3. **Trace**: in the building's own frame the points are rasterised at about their spacing,
   closed with a square (which keeps right angles), small holes filled, and polygonised
   (``rasterio.features.shapes``); the outline is now a staircase aligned with the walls.
4. **Regularise**: the outline is simplified (Douglas-Peucker), each edge is snapped to the
   main direction or its perpendicular (others kept as they are), placed on the points
   (from the 95th percentile of the building points across the edge, corrected for the
   uniform spread, so it sits on the outermost returns without being pulled by outliers), parallel neighbours closer than ``min_edge_m`` are merged and edges shorter than
   ``min_edge_m`` dropped; corners are the intersections of consecutive edge lines.

The result is a list of shapely Polygons (holes kept for courtyards) in the point cloud's CRS.
"""

from __future__ import annotations

import math
import os

import numpy as np
import shapely
from affine import Affine
from shapely.geometry import Polygon

from citymodel.errors import FootprintError
from lidar.footprints.common import (
    dominant_orientation,
    linked_components,
    mask_polygons,
    neighbour_pairs,
    rotate,
)
from lidar.footprints.partywalls import read_ortho, split_party_walls
from lidar.points.pointcloud import ASPRS_BUILDING, PointCloud

__all__ = [
    "extract_footprints",
    "segment_buildings",
    "dominant_orientation",
    "trace_outline",
    "regularise_polygon",
]


# --------------------------------------------------------------------------- segmentation


def segment_buildings(
    xy: np.ndarray,
    z: np.ndarray | None = None,
    cell_m: float = 0.5,
    min_area_m2: float = 10.0,
    close_cells: int = 1,
    step_m: float | None = 1.5,
    min_part_m2: float = 20.0,
    roof_step_m: float | None = 0.3,
) -> np.ndarray:
    """Label building points: 2D connected components of their raster, split at height steps.

    Parameters
    ----------
    xy : (n, 2) float64
        Building points [m].
    z : (n,) float64, optional
        Their heights [m]; with ``step_m``, neighbouring cells whose highest points differ by
        more than ``step_m`` are not connected, so adjoining buildings of different heights
        (terraces, courtyard blocks) come apart.
    cell_m : float
        Raster cell [m].
    min_area_m2 : float
        Buildings smaller than this in plan get label -1 [m2].
    close_cells : int
        Morphological closing radius (square) that bridges gaps between points [cells].
    step_m : float or None
        Height step that separates two buildings [m] (a storey is about 3 m; roof slopes up
        to about 70 degrees stay connected at 0.5 m cells). None: no splitting.
    min_part_m2 : float
        Pieces smaller than this, and pieces that touch no open ground (dormers, penthouses,
        chimneys enclosed by a roof), are merged into the neighbour they share most boundary
        with [m2].
    roof_step_m : float or None
        With ``z``: each piece's roof planes (:func:`lidar.roofplanes.detect_roof_planes`) are
        grouped into buildings; two adjacent planes belong to one building when they meet
        (the median height difference of the two planes across their shared boundary is below
        ``roof_step_m``, or their intersection line runs within 0.5 m of that boundary: ridges,
        hips, valleys), and to two buildings when a step separates them. None: no plane test.

    Returns
    -------
    (n,) int64
        Building label 0..k-1 per point, -1 for dropped points; labels numbered in raster order
        (deterministic).
    """
    from scipy import ndimage

    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = xy.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    lo = xy.min(axis=0) - (close_cells + 1) * cell_m
    ij = np.floor((xy - lo) / cell_m).astype(np.int64)
    shape = tuple(ij.max(axis=0) + close_cells + 2)
    mask = np.zeros(shape, bool)
    mask[ij[:, 0], ij[:, 1]] = True
    if close_cells > 0:
        se = np.ones((2 * close_cells + 1,) * 2, bool)
        mask = ndimage.binary_closing(mask, structure=se) | mask
    if z is None or step_m is None:
        lab, nlab = ndimage.label(mask)  # 4-connected
    else:
        from lidar.terrain import _kernels as _pc_kernels

        zt = -_pc_kernels.grid_min(ij[:, 0], ij[:, 1], -np.asarray(z, dtype=np.float64), shape[0], shape[1])
        empty = np.isnan(zt)
        if empty.any():  # closed-in cells take the height of the nearest cell with points
            _, (ri, ci) = ndimage.distance_transform_edt(empty, return_indices=True)
            zt = zt[ri, ci]
        lab, nlab = _split_at_steps(mask, zt, float(step_m))
        lab, nlab, _ = _merge_small_and_enclosed(lab, nlab, cell_m, min_part_m2)
    point_lab = lab[ij[:, 0], ij[:, 1]]
    if z is not None and step_m is not None:
        z = np.asarray(z, dtype=np.float64)
        point_lab = _relabel_low_points(point_lab, ij, z, lab, zt, float(step_m))
        if roof_step_m is not None:
            point_lab = _split_by_roof_planes(np.column_stack([xy, z]), point_lab, float(roof_step_m))
            lab, nlab, remap = _raster_of_labels(ij, z, point_lab, mask)
            # points whose label won no cell take their cell's label
            point_lab = np.where(remap[point_lab] > 0, remap[point_lab], lab[ij[:, 0], ij[:, 1]])
            lab, nlab, mapping = _merge_small_and_enclosed(lab, nlab, cell_m, min_part_m2)
            point_lab = mapping[point_lab]
    cells = np.bincount(lab.ravel(), minlength=nlab + 1)
    keep = cells * cell_m * cell_m >= min_area_m2
    keep[0] = False
    newid = np.full(nlab + 1, -1, np.int64)
    newid[np.flatnonzero(keep)] = np.arange(int(keep.sum()))
    return newid[point_lab]


def _raster_of_labels(
    ij: np.ndarray, z: np.ndarray, point_lab: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, int, np.ndarray]:
    """Label raster from point labels: each cell takes its highest point's label; cells of the
    mask without points take the nearest labelled cell's. Labels are renumbered 1..k; returns
    the raster, k and the point-label -> raster-label map (0 for labels that won no cell)."""
    from scipy import ndimage

    nx, ny = mask.shape
    cell = ij[:, 0] * ny + ij[:, 1]
    order = np.lexsort((z, cell))
    last = np.r_[cell[order][1:] != cell[order][:-1], True]
    lab = np.zeros(nx * ny, np.int64)
    lab[cell[order][last]] = point_lab[order][last]
    lab = lab.reshape(nx, ny)
    hole = mask & (lab == 0)
    if hole.any() and (lab > 0).any():
        _, (ri, ci) = ndimage.distance_transform_edt(lab == 0, return_indices=True)
        lab = np.where(hole, lab[ri, ci], lab)
    lab[~mask] = 0
    uniq = np.unique(lab)
    uniq = uniq[uniq > 0]
    remap = np.zeros(int(max(lab.max(), point_lab.max())) + 1, np.int64)
    remap[uniq] = np.arange(1, uniq.size + 1)
    return remap[lab], int(uniq.size), remap


def _split_by_roof_planes(xyz: np.ndarray, point_lab: np.ndarray, roof_step_m: float, max_gap_m: float = 0.5) -> np.ndarray:
    """Split each labelled piece into groups of roof planes that meet without a step."""
    from lidar.reconstruct.roofplanes import detect_roof_planes

    out = np.zeros(point_lab.size, np.int64)
    order = np.argsort(point_lab, kind="stable")
    sl = point_lab[order]
    bounds = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True])
    next_id = 1
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):  # pieces, not points
        idx = order[s:e]
        if sl[s] <= 0:
            continue
        groups = np.zeros(idx.size, np.int64)
        if idx.size >= 200:
            try:
                rp = detect_roof_planes(xyz[idx])
            except Exception:  # a degenerate piece: keep it whole
                rp = None
            if rp is not None and rp.coef.shape[0] > 1:
                groups = _plane_groups(xyz[idx] - rp.origin, rp.labels, rp.coef, roof_step_m, max_gap_m)
        out[idx] = next_id + groups
        next_id += int(groups.max()) + 1
    return out


def _union_find(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component index 0..k-1 of n nodes joined by the pairs (a, b) (planes: a few dozen)."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    roots = np.array([root(i) for i in range(n)], np.int64)
    return np.unique(roots, return_inverse=True)[1]


def _group_median(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Median of ``values`` per group 0..n-1 (sorted once; the lower median for even counts)."""
    order = np.lexsort((values, groups))
    g = groups[order]
    start = np.searchsorted(g, np.arange(n))
    count = np.bincount(groups, minlength=n)
    return values[order][start + (count - 1) // 2]


def _fill_plane_gaps(loc, pl, coef, lp, max_residual_m: float = 0.15) -> np.ndarray:
    """Points left without a plane (the bands along ridges and edges that region growing leaves)
    join the best-fitting plane among their 8 nearest planar neighbours' when within
    ``max_residual_m`` of it, so that two slopes meeting at a ridge are in contact."""
    from scipy.spatial import cKDTree

    rest = np.flatnonzero(pl < 0)
    if rest.size == 0:
        return pl
    _, nn = cKDTree(loc[lp, :2]).query(loc[rest, :2], k=min(8, lp.size))
    nn = nn.reshape(rest.size, -1)
    cand = pl[lp[nn]]
    zc = coef[cand, 0] * loc[rest, 0, None] + coef[cand, 1] * loc[rest, 1, None] + coef[cand, 2]
    res = np.abs(zc - loc[rest, 2, None])
    best = np.argmin(res, axis=1)
    rows = np.arange(rest.size)
    ok = res[rows, best] < max_residual_m
    out = pl.copy()
    out[rest[ok]] = cand[rows, best][ok]
    return out


def _plane_groups(loc, pl, coef, roof_step_m, max_gap_m, min_contact_points: int = 10) -> np.ndarray:
    """Group index per point: planes joined where they meet, points without a plane take the
    group of their nearest planar point."""
    from scipy.spatial import cKDTree

    m = coef.shape[0]
    lp = np.flatnonzero(pl >= 0)
    if lp.size < 10:
        return np.zeros(loc.shape[0], np.int64)
    pl = _fill_plane_gaps(loc, pl, coef, lp)
    lp = np.flatnonzero(pl >= 0)
    tree = cKDTree(loc[lp, :2])
    _, nb = tree.query(loc[lp, :2], k=min(8, lp.size))
    a = np.repeat(np.arange(lp.size), nb.shape[1])
    b = nb.ravel()
    la, lb = pl[lp[a]], pl[lp[b]]
    cross = la < lb
    a, b, la, lb = a[cross], b[cross], la[cross], lb[cross]
    if a.size == 0:
        return np.zeros(loc.shape[0], np.int64)
    mid = 0.5 * (loc[lp[a], :2] + loc[lp[b], :2])
    za = coef[la, 0] * mid[:, 0] + coef[la, 1] * mid[:, 1] + coef[la, 2]
    zb = coef[lb, 0] * mid[:, 0] + coef[lb, 1] * mid[:, 1] + coef[lb, 2]
    dz = np.abs(za - zb)
    dgrad = np.hypot(coef[la, 0] - coef[lb, 0], coef[la, 1] - coef[lb, 1])
    dist = dz / np.maximum(dgrad, 1e-9)
    key = la * m + lb
    ukey, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    med_dz = _group_median(inv, dz, ukey.size)
    med_dist = _group_median(inv, dist, ukey.size)
    # contact length: distinct points on each side of the shared boundary (a corner touch of two
    # roofs is no evidence that they belong together)
    ua = np.unique(inv * lp.size + a)
    ub = np.unique(inv * lp.size + b)
    n_side = np.minimum(np.bincount(ua // lp.size, minlength=ukey.size), np.bincount(ub // lp.size, minlength=ukey.size))
    joined = (n_side >= min_contact_points) & ((med_dz < roof_step_m) | (med_dist < max_gap_m))
    comp = _union_find(m, ukey[joined] // m, ukey[joined] % m)
    groups = np.zeros(loc.shape[0], np.int64)
    groups[lp] = comp[pl[lp]]
    rest = np.flatnonzero(pl < 0)
    if rest.size:
        _, near = tree.query(loc[rest, :2])
        groups[rest] = comp[pl[lp[near]]]
    return groups


def _relabel_low_points(point_lab, ij, z, lab, zt, step_m):
    """Points far below their cell's top (the lower roof in a cell on a step) take the label
    of the neighbouring cell whose top is closest to their height."""
    low = np.flatnonzero(zt[ij[:, 0], ij[:, 1]] - z > step_m)
    if low.size == 0:
        return point_lab
    out = point_lab.copy()
    best_d = np.full(low.size, np.inf)
    best_l = out[low]
    nx, ny = lab.shape
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        i = np.clip(ij[low, 0] + di, 0, nx - 1)
        j = np.clip(ij[low, 1] + dj, 0, ny - 1)
        cand = lab[i, j]
        d = np.abs(zt[i, j] - z[low])
        better = (cand > 0) & (d < best_d) & (d <= step_m)
        best_d = np.where(better, d, best_d)
        best_l = np.where(better, cand, best_l)
    out[low] = best_l
    return out


def _split_at_steps(mask: np.ndarray, zt: np.ndarray, step_m: float) -> tuple[np.ndarray, int]:
    """Connected components of ``mask`` where neighbours differ by at most ``step_m``."""
    return linked_components(mask, np.abs(zt[:-1, :] - zt[1:, :]) <= step_m, np.abs(zt[:, :-1] - zt[:, 1:]) <= step_m)


def _merge_small_and_enclosed(
    lab: np.ndarray, nlab: int, cell_m: float, min_part_m2: float
) -> tuple[np.ndarray, int, np.ndarray]:
    """Merge small pieces and pieces touching no background into their main neighbour.

    Returns the new label raster (0 = background, 1..k), k, and the old -> new label map.
    """
    parent = np.arange(nlab + 1)
    for _ in range(20):
        cur = parent[lab]
        area = np.bincount(cur.ravel(), minlength=nlab + 1) * cell_m * cell_m
        a, b = neighbour_pairs(cur)
        diff = a != b
        a, b = np.concatenate([a[diff], b[diff]]), np.concatenate([b[diff], a[diff]])
        key, counts = np.unique(a * (nlab + 1) + b, return_counts=True)
        src, dst = key // (nlab + 1), key % (nlab + 1)
        touches_bg = np.zeros(nlab + 1, bool)
        touches_bg[src[dst == 0]] = True
        sel = (src > 0) & (dst > 0)
        src, dst, counts = src[sel], dst[sel], counts[sel]
        if src.size == 0:
            break
        # the neighbour with the longest shared boundary, per piece
        order = np.lexsort((-counts, src))
        src, dst = src[order], dst[order]
        first = np.r_[True, src[1:] != src[:-1]]
        best = np.zeros(nlab + 1, np.int64)
        best[src[first]] = dst[first]
        alive = np.unique(cur[cur > 0])
        cand = alive[(best[alive] > 0) & ((area[alive] < min_part_m2) | ~touches_bg[alive])]
        if cand.size == 0:
            break
        # merge the smallest first; never merge two candidates into each other in one pass
        cand = cand[np.argsort(area[cand], kind="stable")]
        done = np.zeros(nlab + 1, bool)
        for c in cand:  # pieces, not points: a handful per building
            t = best[c]
            if done[t] or done[c]:
                continue
            parent[parent == c] = t
            done[c] = done[t] = True
    cur = parent[lab]
    uniq = np.unique(cur)
    uniq = uniq[uniq > 0]
    new_of = np.zeros(nlab + 1, np.int64)  # background stays 0
    new_of[uniq] = np.arange(1, uniq.size + 1)
    mapping = new_of[parent]
    return mapping[lab], int(uniq.size), mapping


# ---------------------------------------------------------------------------- orientation


def _occupied(local: np.ndarray, cell: float) -> int:
    ij = np.floor((local - local.min(axis=0)) / cell).astype(np.int64)
    return int(np.unique(ij[:, 0] * (ij[:, 1].max() + 1) + ij[:, 1]).size)


# ------------------------------------------------------------------------------- tracing


def trace_outline(
    local_xy: np.ndarray,
    cell_m: float,
    close_cells: int = 2,
    min_hole_m2: float = 4.0,
    min_area_m2: float = 10.0,
) -> list[Polygon]:
    """Outline(s) of points in their own (already rotated) frame as staircase polygons.

    Parameters
    ----------
    local_xy : (n, 2) float64
        Points [m], rotated so that the walls are parallel to the axes.
    cell_m : float
        Raster cell [m], about the point spacing.
    close_cells : int
        Closing radius with a square structuring element [cells]; fills the gaps between points.
    min_hole_m2 : float
        Holes smaller than this are filled (missing returns); larger ones are courtyards [m2].
    min_area_m2 : float
        Pieces smaller than this are dropped [m2].

    Returns
    -------
    list of Polygon
        In the same frame as ``local_xy``, largest first.
    """
    from scipy import ndimage

    pad = close_cells + 2
    lo = local_xy.min(axis=0) - pad * cell_m
    ij = np.floor((local_xy - lo) / cell_m).astype(np.int64)
    shape = tuple(ij.max(axis=0) + pad + 1)
    mask = np.zeros((shape[1], shape[0]), bool)  # rows = y, cols = x
    mask[ij[:, 1], ij[:, 0]] = True
    se = np.ones((2 * close_cells + 1,) * 2, bool)
    mask = ndimage.binary_closing(mask, structure=se)
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    holes = ndimage.binary_fill_holes(mask) & ~mask
    hl, nh = ndimage.label(holes)
    if nh:
        hsize = np.bincount(hl.ravel(), minlength=nh + 1) * cell_m * cell_m
        small = hsize < min_hole_m2
        small[0] = False
        mask |= small[hl]
    tr = Affine(cell_m, 0, lo[0], 0, cell_m, lo[1])
    polys = [p for p in mask_polygons(mask, tr) if p.area >= min_area_m2]
    return sorted(polys, key=lambda p: -p.area)


# --------------------------------------------------------------------------- regularising


def _line_intersection(p1, d1, p2, d2):
    """Intersection of lines p1 + t d1 and p2 + s d2 (None when parallel)."""
    den = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(den) < 1e-12:
        return None
    t = ((p2[0] - p1[0]) * d2[1] - (p2[1] - p1[1]) * d2[0]) / den
    return np.array([p1[0] + t * d1[0], p1[1] + t * d1[1]])


class _Edge:
    """An edge line: point on it ``p``, unit direction ``d`` and orientation ``H``/``V``/``D``."""

    __slots__ = ("o", "p", "d", "w")

    def __init__(self, o: str, p: np.ndarray, d: np.ndarray, w: float):
        self.o, self.p, self.d, self.w = o, p, d, w

    @property
    def off(self) -> float:
        return float(self.p[1] if self.o == "H" else self.p[0])


def _make_edge(chain: np.ndarray, tan_tol: float) -> _Edge:
    a, b = chain[0], chain[-1]
    d = b - a
    length = float(np.hypot(*d))
    seg = np.diff(chain, axis=0)
    sl = np.hypot(seg[:, 0], seg[:, 1])
    mid = 0.5 * (chain[:-1] + chain[1:])
    if abs(d[1]) <= tan_tol * abs(d[0]):
        sel = np.abs(seg[:, 1]) < 1e-9
        y = float(np.average(mid[sel, 1], weights=sl[sel])) if sl[sel].sum() > 0 else float(0.5 * (a[1] + b[1]))
        return _Edge("H", np.array([a[0], y]), np.array([math.copysign(1.0, d[0]), 0.0]), length)
    if abs(d[0]) <= tan_tol * abs(d[1]):
        sel = np.abs(seg[:, 0]) < 1e-9
        x = float(np.average(mid[sel, 0], weights=sl[sel])) if sl[sel].sum() > 0 else float(0.5 * (a[0] + b[0]))
        return _Edge("V", np.array([x, a[1]]), np.array([0.0, math.copysign(1.0, d[1])]), length)
    return _Edge("D", a.astype(float), d / length, length)


def _corners(edges: list[_Edge]) -> np.ndarray:
    k = len(edges)
    pts = []
    for i in range(k):
        e0, e1 = edges[i - 1], edges[i]
        q = _line_intersection(e0.p, e0.d, e1.p, e1.d)
        if q is None:
            q = e1.p
        pts.append(q)
    return np.asarray(pts)


def _fit_to_points(edges: list[_Edge], pts: np.ndarray, cell_m: float, q: float) -> None:
    """Move H/V edges onto the outermost points (quantile ``q``) across them."""
    if pts is None or pts.shape[0] == 0:
        return
    corners = _corners(edges)
    k = len(edges)
    for i, e in enumerate(edges):
        if e.o == "D":
            continue
        a, b = corners[i], corners[(i + 1) % k]
        ax = 0 if e.o == "H" else 1  # coordinate along the edge
        lo, hi = sorted((a[ax], b[ax]))
        if hi - lo < 3 * cell_m:
            continue
        lo, hi = lo + cell_m, hi - cell_m
        # outward normal is on the right of the direction (building on the left)
        nrm = np.array([e.d[1], -e.d[0]])
        across = pts @ nrm
        off0 = float(e.p @ nrm)
        along = pts[:, ax]
        sel = (along >= lo) & (along <= hi) & (across >= off0 - 3 * cell_m) & (across <= off0 + 2 * cell_m)
        if np.count_nonzero(sel) < 5:
            continue
        # points are uniform across the band's inner part [a, wall]: the q-quantile sits at
        # a + q (wall - a), so the wall is a + (quantile - a) / q
        a = off0 - 3 * cell_m
        new = a + (float(np.quantile(across[sel], q)) - a) / q
        e.p = e.p + (new - off0) * nrm


def _simplify_edges(edges: list[_Edge], min_edge_m: float, max_iter: int = 500) -> list[_Edge]:
    """Merge near-collinear parallel neighbours, add connectors, drop short edges."""
    for _ in range(max_iter):
        changed = False
        # merge or connect consecutive parallel edges
        i = 0
        while len(edges) > 3 and i < len(edges):
            e0, e1 = edges[i - 1], edges[i]
            if e0.o == e1.o and e0.o != "D":
                if abs(e0.off - e1.off) < min_edge_m and float(e0.d @ e1.d) > 0:
                    w = e0.w + e1.w
                    off = (e0.off * e0.w + e1.off * e1.w) / w
                    p = e0.p.copy()
                    if e0.o == "H":
                        p[1] = off
                    else:
                        p[0] = off
                    edges[i - 1] = _Edge(e0.o, p, e0.d, w)
                    del edges[i]
                    changed = True
                    continue
                if float(e0.d @ e1.d) > 0:  # a step: connect with a perpendicular edge
                    o = "V" if e0.o == "H" else "H"
                    if e0.o == "H":
                        d = np.array([0.0, math.copysign(1.0, e1.off - e0.off)])
                        p = np.array([e1.p[0], e0.off])
                    else:
                        d = np.array([math.copysign(1.0, e1.off - e0.off), 0.0])
                        p = np.array([e0.off, e1.p[1]])
                    edges.insert(i, _Edge(o, p, d, abs(e1.off - e0.off)))
                    changed = True
                    i += 2
                    continue
            i += 1
        if len(edges) <= 3:
            break
        corners = _corners(edges)
        k = len(edges)
        lengths = np.array([np.hypot(*(corners[(j + 1) % k] - corners[j])) for j in range(k)])
        # short diagonals at corners are tracing artefacts of rounded raster corners
        lengths = np.where([e.o == "D" for e in edges], lengths / 3.0, lengths)
        j = int(np.argmin(lengths))
        if lengths[j] < min_edge_m:
            del edges[j]
            changed = True
        if not changed:
            break
    return edges


def _regularise_ring(
    ring: np.ndarray, pts: np.ndarray | None, cell_m: float, min_edge_m: float, angle_tol_deg: float, q: float
) -> np.ndarray | None:
    ring = np.asarray(ring, dtype=np.float64)
    if np.allclose(ring[0], ring[-1]):
        ring = ring[:-1]
    if ring.shape[0] < 3:
        return None
    simp = shapely.simplify(shapely.LinearRing(ring), 1.0 * cell_m, preserve_topology=False)
    sc = np.asarray(simp.coords)[:-1] if not simp.is_empty else ring
    if sc.shape[0] < 3:
        sc = ring
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(ring)}
    kept = [index.get((float(x), float(y))) for x, y in sc]
    if any(k is None for k in kept):
        kept = list(range(ring.shape[0]))
    m = ring.shape[0]
    tan_tol = math.tan(math.radians(angle_tol_deg))
    edges: list[_Edge] = []
    for a, b in zip(kept, kept[1:] + kept[:1], strict=True):
        idx = np.arange(a, b + 1) if b > a else np.r_[np.arange(a, m), np.arange(0, b + 1)]
        edges.append(_make_edge(ring[idx], tan_tol))
    edges = _simplify_edges(edges, min_edge_m)
    if pts is not None and len(edges) >= 4:
        _fit_to_points(edges, pts, cell_m, q)
        edges = _simplify_edges(edges, min_edge_m)
    if len(edges) < 3:
        return None
    return _corners(edges)


def regularise_polygon(
    poly: Polygon,
    points: np.ndarray | None = None,
    cell_m: float = 0.5,
    min_edge_m: float = 1.0,
    angle_tol_deg: float = 15.0,
    quantile: float = 0.95,
) -> Polygon | None:
    """Regularise a staircase outline whose walls are parallel to the axes.

    Parameters
    ----------
    poly : Polygon
        Outline in the building's frame (main direction = x axis).
    points : (n, 2) float64, optional
        Building points in the same frame; edges are moved onto their outermost points.
    cell_m : float
        Raster cell of the outline [m] (the simplification tolerance).
    min_edge_m : float
        Shortest edge kept and the smallest offset between parallel neighbours [m].
    angle_tol_deg : float
        Edges within this angle of an axis are snapped to it [deg].
    quantile : float
        Quantile of the points across an edge that places it.

    Returns
    -------
    Polygon or None
        Valid polygon, or None when nothing valid remains.
    """
    poly = shapely.geometry.polygon.orient(poly, 1.0)  # exterior CCW, holes CW
    shell = _regularise_ring(np.asarray(poly.exterior.coords), points, cell_m, min_edge_m, angle_tol_deg, quantile)
    if shell is None:
        return None
    holes = []
    for h in poly.interiors:
        r = _regularise_ring(np.asarray(h.coords), points, cell_m, min_edge_m, angle_tol_deg, quantile)
        if r is not None and Polygon(r).area >= min_edge_m**2:
            holes.append(r)
    out = Polygon(shell, holes)
    if not out.is_valid:
        out = shapely.make_valid(out)
        parts = [g for g in getattr(out, "geoms", [out]) if isinstance(g, Polygon)]
        if not parts:
            return None
        out = max(parts, key=lambda p: p.area)
    out = shapely.remove_repeated_points(out, 1e-6)
    if out.is_empty or out.area <= 0:
        return None
    return shapely.geometry.polygon.orient(out, 1.0)


# ------------------------------------------------------------------------------ pipeline


def _iou(a: Polygon, b: Polygon) -> float:
    u = a.union(b).area
    return float(a.intersection(b).area / u) if u > 0 else 0.0


def _footprints_of_building(
    xy: np.ndarray,
    cell_m: float,
    min_area_m2: float,
    min_edge_m: float,
    regularise: bool,
    max_deviation_m: float = 2.0,
) -> list[Polygon]:
    centre = xy.mean(axis=0)
    local = xy - centre
    theta = dominant_orientation(local, cell_m)
    rot = rotate(local, -theta)
    # fine cell about the point spacing (density from the occupied coarse cells)
    occ = _occupied(rot, cell_m) * cell_m * cell_m
    spacing = 1.0 / math.sqrt(max(rot.shape[0] / max(occ, 1e-9), 1e-9))
    fine = float(np.clip(spacing, 0.15, cell_m))
    outlines = trace_outline(rot, fine, close_cells=2, min_area_m2=min_area_m2)
    out = []
    for poly in outlines:
        if regularise:
            reg = regularise_polygon(poly, rot, cell_m=fine, min_edge_m=min_edge_m)
            # a regularisation that strays from the traced outline (irregular shapes) is
            # replaced by the simplified trace
            if (
                reg is None
                or _iou(reg, poly) < 0.85
                or shapely.hausdorff_distance(reg.boundary, poly.boundary) > max_deviation_m
            ):
                reg = poly.simplify(fine, preserve_topology=True)
        else:
            reg = poly
        g = shapely.affinity.rotate(reg, theta, origin=(0, 0), use_radians=True)
        g = shapely.affinity.translate(g, centre[0], centre[1])
        out.append(g)
    return out


def extract_footprints(
    pc: PointCloud,
    dtm: tuple[np.ndarray, Affine] | None = None,
    *,
    building_class: int = ASPRS_BUILDING,
    cell_m: float = 0.5,
    min_area_m2: float = 10.0,
    min_height_m: float = 1.0,
    min_edge_m: float = 1.0,
    step_m: float | None = 1.5,
    roof_step_m: float | None = 0.3,
    regularise: bool = True,
    classify_if_missing: bool = True,
    ortho: str | os.PathLike | None = None,
    party_walls: bool = True,
) -> list[Polygon]:
    """Footprints of the buildings in a point cloud.

    Parameters
    ----------
    pc : PointCloud
        Points [m]; building points are those with ``building_class`` (6).
    dtm : (grid, transform), optional
        A DTM; building points lower than ``min_height_m`` above it are ignored.
    building_class : int
        ASPRS class of building points.
    cell_m : float
        Raster cell for segmentation [m].
    min_area_m2 : float
        Smallest footprint kept [m2].
    min_height_m : float
        With ``dtm``: lowest building point kept above ground [m].
    min_edge_m : float
        Shortest wall kept by the regularisation [m].
    step_m : float or None
        Roof height step that separates adjoining buildings [m]; None keeps every connected
        block as one building (see :func:`segment_buildings`).
    roof_step_m : float or None
        Height difference between adjacent roof planes that separates buildings [m]; None
        skips the roof-plane test (see :func:`segment_buildings`).
    regularise : bool
        Snap to the dominant directions (else the raw traced staircase).
    classify_if_missing : bool
        When no point has ``building_class``, classify the cloud first
        (:func:`lidar.classify.classify_points`).
    ortho : path, optional
        RGBN orthophoto: for that classification (NDVI keeps trees out of the buildings) and
        for the party walls (roof colour breaks).
    party_walls : bool
        Split rows of touching buildings at their party walls: straight lines across a piece
        along which the roof height steps or (with ``ortho``) the roof colour changes
        (see :mod:`lidar._partywalls`).

    Returns
    -------
    list of shapely Polygon
        One per building (holes for courtyards), in the cloud's CRS, ordered by position.

    Raises
    ------
    FootprintError
        No building points (and classification found none either).
    """
    cls = pc.classification
    is_b = cls == building_class
    if not is_b.any() and classify_if_missing:
        from lidar.classify import classify_points

        cls = classify_points(pc, ortho=ortho)
        is_b = cls == ASPRS_BUILDING
    if dtm is not None and is_b.any():
        from lidar.terrain.dtm import height_above_ground

        grid, tr = dtm
        h = np.full(len(pc), np.inf)
        h[is_b] = height_above_ground(pc.xyz[is_b], grid, tr)
        is_b &= h >= min_height_m
    if not is_b.any():
        raise FootprintError(
            f"{', '.join(pc.sources) or 'point cloud'}: no building points (class {building_class}) "
            "to extract footprints from; give footprints or a classified point cloud"
        )
    xy = pc.xyz[is_b, :2]
    labels = segment_buildings(
        xy, pc.xyz[is_b, 2], cell_m=cell_m, min_area_m2=min_area_m2, step_m=step_m, roof_step_m=roof_step_m
    )
    if party_walls and labels.size:
        image = None
        if ortho is not None:
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            image = read_ortho(ortho, (lo[0], lo[1], hi[0], hi[1]), pc.epsg)
        labels = split_party_walls(pc.xyz[is_b], labels, image, cell_m=cell_m)
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    starts = np.searchsorted(sl, np.arange(sl.max() + 1 if sl.size else 0))
    ends = np.r_[starts[1:], sl.size]
    out: list[Polygon] = []
    for s, e in zip(starts, ends, strict=True):
        pts = xy[order[s:e]]
        if pts.shape[0] < 10:
            continue
        out.extend(_footprints_of_building(pts, cell_m, min_area_m2, min_edge_m, regularise))
    return out
