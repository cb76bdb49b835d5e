"""Segmenting building points into buildings (step 1 of :mod:`lidar.footprints.extraction`).

Building-class points are rasterised (``cell_m``), the mask is closed by one cell and split into
4-connected components, which are cut where the highest points of neighbouring cells differ by
more than ``step_m`` (adjoining houses of different heights) and, with ``roof_step_m``, between
groups of roof planes that meet with a step; small pieces and pieces enclosed by one roof
(dormers, penthouses) are merged back.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from lidar.footprints.common import linked_components, neighbour_pairs
from lidar.reconstruct.roofplanes import detect_roof_planes
from lidar.terrain.dtm import highest_per_cell

__all__ = ["segment_buildings"]


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
        With ``z``: each piece's roof planes (:func:`lidar.reconstruct.roofplanes.detect_roof_planes`) are
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
        zt = highest_per_cell(ij[:, 0], ij[:, 1], z, shape)
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
