"""Roof planes by region growing on point normals.

Steps (all vectorised or in numba kernels): k nearest neighbours (scipy cKDTree), normals and
curvature by PCA of each neighbourhood (batched ``eigh``), region growing seeded from the
flattest points (:func:`lidar.reconstruct._plane_kernels.region_grow`), small regions dropped, adjacent regions
with nearly the same plane merged, near-horizontal planes snapped flat. The points left without
a plane get a second region growing among themselves and then a fit of their connected groups
(narrow roof parts: eaves over the outline, dormer cheeks, parapets), each new plane kept only
when a BIC test says it explains its points better than the planes found so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from citymodel.errors import InputError
from lidar.reconstruct._plane_kernels import label_pairs, region_grow

__all__ = ["RoofPlanes", "point_normals", "detect_roof_planes"]


@dataclass
class RoofPlanes:
    """Planes found on a building's roof points.

    Attributes
    ----------
    origin : (3,) float64
        Local origin [m]; planes are written in coordinates relative to it.
    labels : (n,) int64
        Plane of each input point, -1 where none.
    coef : (m, 3) float64
        Plane ``z - origin_z = a (x - origin_x) + b (y - origin_y) + c`` as ``(a, b, c)``.
    n_points : (m,) int64
        Points per plane.
    rmse_m : (m,) float64
        Vertical RMS residual of the plane's points [m].
    """

    origin: np.ndarray
    labels: np.ndarray
    coef: np.ndarray
    n_points: np.ndarray
    rmse_m: np.ndarray

    @property
    def n_planes(self) -> int:
        return int(len(self.coef))

    def z(self, plane: np.ndarray | int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Absolute height [m] of ``plane`` (scalar or per point) at ``x, y``."""
        c = self.coef[plane]
        return (c[..., 0] * (x - self.origin[0]) + c[..., 1] * (y - self.origin[1]) + c[..., 2]
                + self.origin[2])

    @property
    def tilt_deg(self) -> np.ndarray:
        """Tilt of each plane [deg] (0 = flat)."""
        return np.degrees(np.arctan(np.hypot(self.coef[:, 0], self.coef[:, 1])))


def point_normals(xyz: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (nz >= 0) and curvature ``l0 / (l0 + l1 + l2)`` by PCA of each neighbourhood.

    Parameters
    ----------
    xyz : (n, 3) float64
    nbr : (n, k) int64
        Neighbour indices including the point itself.

    Returns
    -------
    normals : (n, 3) float64
    curvature : (n,) float64
    """
    p = xyz[nbr]  # (n, k, 3)
    p = p - p.mean(axis=1, keepdims=True)
    cov = np.einsum("nki,nkj->nij", p, p)
    w, v = np.linalg.eigh(cov)
    normals = v[:, :, 0]
    normals = normals * np.where(normals[:, 2:3] < 0, -1.0, 1.0)
    curv = w[:, 0] / np.maximum(w.sum(axis=1), 1e-12)
    return normals, curv


def _fit_coef(xyz: np.ndarray) -> np.ndarray:
    """Total least-squares plane through points as ``(a, b, c)`` of ``z = a x + b y + c``."""
    c = xyz.mean(axis=0)
    _, _, vt = np.linalg.svd(xyz - c, full_matrices=False)
    n = vt[-1]
    if abs(n[2]) < 1e-6:
        return np.array([0.0, 0.0, c[2]])
    a, b = -n[0] / n[2], -n[1] / n[2]
    return np.array([a, b, c[2] - a * c[0] - b * c[1]])


def detect_roof_planes(
    xyz: np.ndarray,
    *,
    k: int = 10,
    angle_deg: float = 15.0,
    dist_m: float = 0.25,
    min_points: int = 12,
    max_seed_curvature: float = 0.04,
    merge_angle_deg: float = 8.0,
    merge_dist_m: float = 0.15,
    flat_tilt_deg: float = 4.0,
    max_tilt_deg: float = 72.0,
    absorb_share: float = 0.03,
    second_pass: bool = True,
    second_min_points: int = 4,
    second_dist_m: float = 0.12,
    second_max_rmse_m: float = 0.06,
    second_radius_m: float = 1.2,
) -> RoofPlanes:
    """Detect roof planes in one building's roof points.

    Parameters
    ----------
    xyz : (n, 3) float64
        Roof points of one building [m].
    k : int
        Neighbours per point.
    angle_deg, dist_m : float
        Region growing: largest normal deviation [deg] and distance to the plane [m].
    min_points : int
        Smallest region kept.
    max_seed_curvature : float
        Only points flatter than this seed a region.
    merge_angle_deg, merge_dist_m : float
        Adjacent regions closer than this in angle [deg] and RMS distance [m] are merged.
    flat_tilt_deg : float
        Planes tilted less than this are snapped horizontal [deg].
    max_tilt_deg : float
        Steeper regions (wall points) are dropped [deg].
    absorb_share : float
        Points of regions smaller than this share of the points (and unassigned points) join a
        neighbouring larger region when within ``dist_m`` of its plane (ridge and edge bands).

    Returns
    -------
    RoofPlanes
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise InputError(f"detect_roof_planes: xyz must have shape (n, 3), got {xyz.shape}")
    n = len(xyz)
    origin = xyz.mean(axis=0) if n else np.zeros(3)
    empty = RoofPlanes(origin, -np.ones(n, dtype=np.int64), np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0))
    if n < max(min_points, k + 1):
        return empty
    loc = xyz - origin
    kk = min(k, n)
    _, nbr = cKDTree(loc).query(loc, k=kk)
    nbr = np.ascontiguousarray(nbr, dtype=np.int64)
    normals, curv = point_normals(loc, nbr)
    order = np.argsort(curv, kind="stable").astype(np.int64)
    n_seeds = int(np.searchsorted(curv[order], max_seed_curvature))
    labels = region_grow(loc, nbr, normals, order, n_seeds, np.cos(np.radians(angle_deg)), dist_m)
    labels = _absorb(loc, nbr, labels, dist_m, max(min_points, int(absorb_share * n)))
    # drop small regions
    counts = np.bincount(labels[labels >= 0], minlength=1)
    small = counts < min_points
    labels = np.where((labels >= 0) & small[np.maximum(labels, 0)], -1, labels)
    labels = _relabel(labels)
    if second_pass:
        labels = _grow_leftovers(loc, labels, k=k, angle_deg=angle_deg, dist_m=second_dist_m,
                                 min_points=second_min_points, max_rmse_m=second_max_rmse_m,
                                 radius_m=second_radius_m)
        labels = _fit_leftover_clusters(loc, labels, min_points=second_min_points,
                                        max_rmse_m=second_max_rmse_m, radius_m=second_radius_m)
    m = int(labels.max()) + 1 if n else 0
    if m == 0:
        return empty
    coef = np.array([_fit_line_aware(loc[labels == i]) for i in range(m)])
    # merge adjacent near-identical planes (union-find over the few region pairs)
    pairs = np.unique(label_pairs(nbr, labels), axis=0)
    parent = np.arange(m)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    nrm = np.column_stack([-coef[:, 0], -coef[:, 1], np.ones(m)])
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    cos_merge = np.cos(np.radians(merge_angle_deg))
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra == rb or float(nrm[a] @ nrm[b]) < cos_merge:
            continue
        pa, pb = loc[labels == a], loc[labels == b]
        # RMS vertical distance of each region to the other's plane
        da = pa[:, 2] - (coef[b, 0] * pa[:, 0] + coef[b, 1] * pa[:, 1] + coef[b, 2])
        db = pb[:, 2] - (coef[a, 0] * pb[:, 0] + coef[a, 1] * pb[:, 1] + coef[a, 2])
        if np.sqrt(np.mean(da**2)) < merge_dist_m and np.sqrt(np.mean(db**2)) < merge_dist_m:
            parent[ra] = rb
    roots = np.array([find(i) for i in range(m)])
    labels = np.where(labels >= 0, roots[np.maximum(labels, 0)], -1)
    labels = _relabel(labels)
    m = int(labels.max()) + 1
    coef = np.array([_fit_line_aware(loc[labels == i]) for i in range(m)])
    tilt = np.degrees(np.arctan(np.hypot(coef[:, 0], coef[:, 1])))
    steep = tilt > max_tilt_deg
    if steep.any():
        labels = np.where((labels >= 0) & steep[np.maximum(labels, 0)], -1, labels)
        labels = _relabel(labels)
        m = int(labels.max()) + 1
        if m == 0:
            return empty
        coef = coef[~steep]
        tilt = tilt[~steep]
    flat = tilt < flat_tilt_deg
    if flat.any():
        for i in np.flatnonzero(flat):
            coef[i] = (0.0, 0.0, float(np.median(loc[labels == i, 2])))
    npts = np.bincount(labels[labels >= 0], minlength=m)
    res = loc[:, 2] - (coef[labels, 0] * loc[:, 0] + coef[labels, 1] * loc[:, 1] + coef[labels, 2])
    ok = labels >= 0
    rmse = np.sqrt(np.bincount(labels[ok], weights=res[ok] ** 2, minlength=m) / np.maximum(npts, 1))
    return RoofPlanes(origin, labels, coef, npts, rmse)


def _absorb(loc: np.ndarray, nbr: np.ndarray, labels: np.ndarray, dist_m: float, min_size: int,
            rounds: int = 3) -> np.ndarray:
    """Give unassigned points and points of small regions to the best-fitting neighbouring large
    region (orthogonal distance to its plane under ``dist_m``); a few rounds spread it across bands."""
    labels = labels.copy()
    m = int(labels.max()) + 1 if len(labels) else 0
    if m == 0:
        return labels
    counts = np.bincount(labels[labels >= 0], minlength=m)
    big = counts >= min_size
    if not big.any():
        return labels
    coef = np.zeros((m, 3))
    for i in np.flatnonzero(big):
        coef[i] = _fit_coef(loc[labels == i])
    norm = np.sqrt(1.0 + coef[:, 0] ** 2 + coef[:, 1] ** 2)
    rows = np.arange(len(loc))
    for _ in range(rounds):
        target = (labels < 0) | ~big[np.maximum(labels, 0)]
        if not target.any():
            break
        ti = rows[target]
        cand = labels[nbr[ti]]  # (t, k)
        ok = (cand >= 0) & big[np.maximum(cand, 0)]
        c = coef[np.maximum(cand, 0)]
        p = loc[ti][:, None, :]
        r = np.abs(p[..., 2] - (c[..., 0] * p[..., 0] + c[..., 1] * p[..., 1] + c[..., 2])) / norm[np.maximum(cand, 0)]
        r[~ok] = np.inf
        best = np.argmin(r, axis=1)
        rb = r[np.arange(len(ti)), best]
        take = rb < dist_m
        if not take.any():
            break
        labels[ti[take]] = cand[np.arange(len(ti)), best][take]
    return labels


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Renumber labels ``>= 0`` to ``0..m-1`` in order of first appearance of the sorted ids."""
    ok = labels >= 0
    if not ok.any():
        return labels
    uniq, inv = np.unique(labels[ok], return_inverse=True)
    out = labels.copy()
    out[ok] = inv
    return out


def _grow_leftovers(loc: np.ndarray, labels: np.ndarray, *, k: int, angle_deg: float, dist_m: float,
                    min_points: int, max_rmse_m: float, radius_m: float) -> np.ndarray:
    """Region growing once more on the points the first pass left without a plane, with
    neighbourhoods among those points only.

    Points of a narrow roof part (a dormer's cheek, a parapet, the eave of a higher neighbour
    reaching over the footprint) have neighbourhoods that mix two heights in the first pass, so
    their normals are wrong and no region grows there. Among themselves they are planar. A new
    region is kept when it has ``min_points`` points, its plane's RMS residual is under
    ``max_rmse_m`` and it explains its points better than the plane of their nearest labelled
    neighbours (a significance test on the residual sums of squares, BIC-like: each plane costs
    three parameters).
    """
    rest = np.flatnonzero(labels < 0)
    if len(rest) < min_points:
        return labels
    sub = loc[rest]
    kk = min(k, len(sub))
    dist, nb = cKDTree(sub).query(sub, k=kk)
    nb = nb.reshape(len(sub), kk)
    dist = dist.reshape(len(sub), kk)
    far = dist > radius_m
    own = np.broadcast_to(np.arange(len(sub))[:, None], nb.shape)
    normals, curv = point_normals(sub, np.where(far, own, nb))
    nb = np.ascontiguousarray(np.where(far, -1, nb), dtype=np.int64)
    order = np.argsort(curv, kind="stable").astype(np.int64)
    sl = region_grow(sub, nb, normals, order, len(order), np.cos(np.radians(angle_deg)), dist_m)
    r_old = _residual_to_nearest_plane(loc, labels, sub)
    m0 = int(labels.max()) + 1 if (labels >= 0).any() else 0
    out = labels.copy()
    nxt = m0
    for g in range(int(sl.max()) + 1 if len(sl) and sl.max() >= 0 else 0):
        mem = np.flatnonzero(sl == g)
        cnt = len(mem)
        if cnt < min_points:
            continue
        p = sub[mem]
        cf = _fit_coef(p)
        r_new = p[:, 2] - (cf[0] * p[:, 0] + cf[1] * p[:, 1] + cf[2])
        ss_new = float(np.sum(r_new**2))
        if np.sqrt(ss_new / cnt) > max_rmse_m:
            continue
        if not _significant(r_old[mem], r_new):
            continue
        out[rest[mem]] = nxt
        nxt += 1
    return out


def _residual_to_nearest_plane(loc: np.ndarray, labels: np.ndarray, sub: np.ndarray, k: int = 8) -> np.ndarray:
    """Vertical residual [m] of the points ``sub`` to the best-fitting plane among those of their
    ``k`` nearest labelled points (to their median height when there is no plane yet): how the
    planes found so far explain them (a point of a ridge band fits one of the two slopes)."""
    m0 = int(labels.max()) + 1 if (labels >= 0).any() else 0
    if m0 == 0:
        return sub[:, 2] - np.median(sub[:, 2])
    lab_idx = np.flatnonzero(labels >= 0)
    kk = min(k, len(lab_idx))
    _, near = cKDTree(loc[lab_idx, :2]).query(sub[:, :2], k=kk)
    coef = np.array([_fit_line_aware(loc[labels == i]) for i in range(m0)])
    c = coef[labels[lab_idx[near.reshape(len(sub), kk)]]]  # (s, k, 3)
    r = sub[:, None, 2] - (c[..., 0] * sub[:, None, 0] + c[..., 1] * sub[:, None, 1] + c[..., 2])
    return r[np.arange(len(sub)), np.argmin(np.abs(r), axis=1)]


def _significant(r_old: np.ndarray, r_new: np.ndarray, noise_m: float = 0.02) -> bool:
    """Whether a new plane (3 parameters) explains its ``n`` points significantly better than the
    old model (BIC: ``n log(SS_old / SS_new) > 3 log(n)``, both sums floored at ``noise_m``)."""
    n = len(r_new)
    floor = n * noise_m**2
    return bool(n * np.log((np.sum(r_old**2) + floor) / (np.sum(r_new**2) + floor)) > 3.0 * np.log(n))


def _fit_line_aware(p: np.ndarray) -> np.ndarray:
    """Plane ``(a, b, c)`` through points ``(k, 3)``; when they lie along a line in plan (a single
    row: standard deviation across under 8 cm) at heights that follow a line along it (within
    0.1 m RMS; a row of wall points does not), the plane is level across the line and only sloped
    along it."""
    xy = p[:, :2] - p[:, :2].mean(axis=0)
    w, v = np.linalg.eigh(xy.T @ xy / len(p))
    if w[0] > 0.08**2:
        return _fit_coef(p)
    u = v[:, 1]
    t = xy @ u
    s, c0 = np.polyfit(t, p[:, 2], 1) if np.ptp(t) > 1e-6 else (0.0, float(p[:, 2].mean()))
    if np.sqrt(np.mean((p[:, 2] - (c0 + s * t)) ** 2)) > 0.1:
        return _fit_coef(p)  # heights spread at one place along the row: wall points, not eaves
    a, b = s * u[0], s * u[1]
    cx, cy = p[:, :2].mean(axis=0)
    return np.array([a, b, c0 - a * cx - b * cy])


def _fit_leftover_clusters(loc: np.ndarray, labels: np.ndarray, *, min_points: int, max_rmse_m: float,
                           radius_m: float, max_step_m: float = 0.25, max_slope: float = 0.8) -> np.ndarray:
    """Planes for connected groups of the points still without one.

    Points closer than ``radius_m`` in plan whose heights differ by at most ``max_step_m`` plus
    ``max_slope`` times their distance are connected. A group of ``min_points`` or more gets a
    plane (level across it when it is a single row of points, such as the eaves of a higher
    roof along the footprint outline, whose normals region growing cannot estimate), kept when
    its RMS residual is under ``max_rmse_m`` and it passes the significance test of
    :func:`_significant`.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rest = np.flatnonzero(labels < 0)
    if len(rest) < min_points:
        return labels
    sub = loc[rest]
    pairs = cKDTree(sub[:, :2]).query_pairs(radius_m, output_type="ndarray")
    if len(pairs) == 0:
        return labels
    dxy = np.hypot(*(sub[pairs[:, 0], :2] - sub[pairs[:, 1], :2]).T)
    keep = np.abs(sub[pairs[:, 0], 2] - sub[pairs[:, 1], 2]) <= max_step_m + max_slope * dxy
    pairs = pairs[keep]
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(sub), len(sub)))
    _, comp = connected_components(g, directed=False)
    sizes = np.bincount(comp)
    big = np.flatnonzero(sizes >= min_points)
    if len(big) == 0:
        return labels
    r_old = _residual_to_nearest_plane(loc, labels, sub)
    out = labels.copy()
    nxt = int(labels.max()) + 1 if (labels >= 0).any() else 0
    for g_id in big:
        mem = np.flatnonzero(comp == g_id)
        p = sub[mem]
        cf = _fit_line_aware(p)
        r_new = p[:, 2] - (cf[0] * p[:, 0] + cf[1] * p[:, 1] + cf[2])
        if np.sqrt(np.mean(r_new**2)) > max_rmse_m or not _significant(r_old[mem], r_new):
            continue
        out[rest[mem]] = nxt
        nxt += 1
    return out
