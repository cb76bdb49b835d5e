"""Terrain TIN: greedy-insertion simplification of ground points and the CityJSON TINRelief.

:func:`simplify_tin` starts from the four corners of the points' bounding box (heights of the
nearest points) and repeatedly inserts, in every triangle, the point with the largest vertical
error, re-triangulating (scipy Delaunay) after each batch, until no point lies more than
``max_error_m`` above or below the TIN. One point per triangle per batch keeps the result close
to the sequential greedy algorithm (Garland & Heckbert 1995) while needing only O(log n)
triangulations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from citymodel.errors import InputError
from citymodel.model import CityModel
from lidar import _pc_kernels as _kernels
from lidar import _tin_kernels

__all__ = ["simplify_tin", "refine_tin", "tin_vertical_errors", "add_terrain"]


def tin_vertical_errors(points_xyz: np.ndarray, vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Vertical distance ``|z - TIN(x, y)|`` of points to a TIN [m].

    Parameters
    ----------
    points_xyz : (n, 3) float64
    vertices : (k, 3) float64
    triangles : (t, 3) int64
        A 2D triangulation of ``vertices[:, :2]``.

    Returns
    -------
    (n,) float64
        NaN for points outside the TIN's footprint.
    """
    from matplotlib.tri import Triangulation

    p = np.asarray(points_xyz, dtype=np.float64).reshape(-1, 3)
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    t = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    tri = Triangulation(v[:, 0], v[:, 1], t)
    finder = tri.get_trifinder()
    simplex = np.asarray(finder(p[:, 0], p[:, 1]), dtype=np.int64)
    out = np.empty(p.shape[0])
    _kernels.tin_errors(
        np.ascontiguousarray(p[:, 0]), np.ascontiguousarray(p[:, 1]), np.ascontiguousarray(p[:, 2]),
        simplex, np.ascontiguousarray(v[:, 0]), np.ascontiguousarray(v[:, 1]),
        np.ascontiguousarray(v[:, 2]), t, out,
    )
    out[simplex < 0] = np.nan
    return out


def _locate(dt, V: np.ndarray, tri: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Containing triangle of each query point (-1 outside).

    matplotlib's trapezoid map is fast and steady; scipy's walk takes over where it fails.
    """
    from matplotlib.tri import Triangulation

    try:
        finder = Triangulation(V[:, 0], V[:, 1], tri).get_trifinder()
        s = np.asarray(finder(q[:, 0], q[:, 1]), dtype=np.int64)
    except (RuntimeError, ValueError):
        s = np.full(q.shape[0], -1, np.int64)
    miss = s < 0
    if miss.any():
        s[miss] = dt.find_simplex(q[miss]).astype(np.int64)
    return s


def _triangle_keys(tri: np.ndarray, base: int) -> np.ndarray:
    """One int64 per triangle from its sorted vertex indices (same triangle, same key)."""
    t = np.sort(tri, axis=1).astype(np.int64)
    k = np.int64(base)
    return (t[:, 0] * k + t[:, 1]) * k + t[:, 2]


def _corner_heights(xy: np.ndarray, z: np.ndarray, corners: np.ndarray, tree, k: int = 16) -> np.ndarray:
    """Heights at the bounding corners: least-squares plane through the k nearest points."""
    k = int(min(k, xy.shape[0]))
    _, idx = tree.query(corners, k=k)
    idx = np.asarray(idx).reshape(len(corners), k)
    out = np.empty(len(corners))
    for i, nb in enumerate(idx):  # four corners
        a = np.column_stack([xy[nb] - corners[i], np.ones(k)])
        coef, *_ = np.linalg.lstsq(a, z[nb], rcond=None)
        zc = coef[2]
        # extrapolate at most one height range of the neighbours (noisy corners)
        zmin, zmax = z[nb].min(), z[nb].max()
        span = zmax - zmin
        out[i] = float(np.clip(zc, zmin - span, zmax + span))
    return out


def simplify_tin(
    ground_xyz: np.ndarray,
    max_error_m: float = 0.2,
    max_vertices: int | None = None,
    max_rounds: int = 200,
) -> tuple[np.ndarray, np.ndarray]:
    """Simplified TIN of ground points by greedy insertion to a vertical error bound.

    Parameters
    ----------
    ground_xyz : (n, 3) float64
        Ground points [m].
    max_error_m : float
        Largest allowed vertical distance of any input point to the TIN [m].
    max_vertices : int, optional
        Stop inserting once the TIN has this many vertices (the bound may then not hold).
    max_rounds : int
        Safety cap on insertion batches.

    Returns
    -------
    vertices : (k, 3) float64
        The four bounding-box corners (heights from a plane through their nearest points) and
        inserted points.
    triangles : (t, 3) int64
        Counter-clockwise seen from above (normals point up).

    Notes
    -----
    The achieved error is ``np.nanmax(tin_vertical_errors(ground_xyz, vertices, triangles))``;
    it is at most ``max_error_m`` unless ``max_vertices``/``max_rounds`` stopped the insertion or
    points share (x, y) with different heights.
    """
    from scipy.spatial import Delaunay, cKDTree

    p = np.asarray(ground_xyz, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise InputError(f"simplify_tin: ground_xyz must be (n, 3), got shape {p.shape}")
    p = p[np.isfinite(p).all(axis=1)]
    if p.shape[0] < 3:
        raise InputError(f"simplify_tin: need at least 3 ground points, got {p.shape[0]}")
    if not (max_error_m > 0):
        raise InputError(f"simplify_tin: max_error_m must be > 0, got {max_error_m!r}")
    origin = p[:, :2].min(axis=0)
    xy = p[:, :2] - origin  # local coordinates keep Qhull well conditioned
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    if np.any(hi - lo <= 0):
        raise InputError("simplify_tin: the ground points are collinear in plan; no TIN possible")
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    vxy = [corners]
    vz = [_corner_heights(xy, p[:, 2], corners, cKDTree(xy))]
    inserted = np.zeros(p.shape[0], bool)
    px, py, pz = (np.ascontiguousarray(a) for a in (xy[:, 0], xy[:, 1], p[:, 2]))
    cap = np.inf if max_vertices is None else int(max_vertices)
    n = p.shape[0]
    simplex = np.full(n, -1, np.int64)  # containing triangle of each point
    err = np.zeros(n)
    old_keys = np.zeros(0, np.int64)
    for _ in range(max_rounds):
        V = np.concatenate(vxy)
        Z = np.concatenate(vz)
        dt = Delaunay(V)
        tri = dt.simplices.astype(np.int64)
        # triangles that survived the last insertion keep their points and errors; only the
        # points of new triangles are located again (scipy renumbers the triangles)
        keys = _triangle_keys(tri, n + 4)  # fixed base: keys comparable across rounds
        order = np.argsort(keys)
        if old_keys.size:
            pos = np.searchsorted(keys[order], old_keys)
            pos = np.minimum(pos, keys.size - 1)
            found = keys[order][pos] == old_keys
            remap = np.where(found, order[pos], -1)
            simplex = np.where(simplex >= 0, remap[np.maximum(simplex, 0)], -1)
        redo = np.flatnonzero((simplex < 0) & ~inserted)
        if redo.size:
            simplex[redo] = _locate(dt, V, tri, xy[redo])
            e = np.empty(redo.size)
            _kernels.tin_errors(px[redo], py[redo], pz[redo], simplex[redo],
                                np.ascontiguousarray(V[:, 0]), np.ascontiguousarray(V[:, 1]), Z, tri, e)
            err[redo] = e
        old_keys = keys
        bad = err > max_error_m
        if not bad.any() or len(V) >= cap:
            break
        groups = np.where(bad, simplex, -1)
        best = _kernels.argmax_per_group(groups, err, tri.shape[0])
        new = best[best >= 0]
        if len(V) + new.size > cap:
            new = new[np.argsort(-err[new])[: int(cap - len(V))]]
        inserted[new] = True
        err[new] = 0.0
        simplex[new] = -1
        vxy.append(xy[new])
        vz.append(p[new, 2])
    V = np.concatenate(vxy)
    Z = np.concatenate(vz)
    tri = Delaunay(V).simplices.astype(np.int64)
    # counter-clockwise in plan so that the normals point up
    a, b, c = V[tri[:, 0]], V[tri[:, 1]], V[tri[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    cw = cross < 0
    tri[cw] = tri[cw][:, [0, 2, 1]]
    tri = tri[np.abs(cross) > 1e-12]
    vertices = np.column_stack([V + origin, Z])
    return vertices, tri


def _ccw(V: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Triangles counter-clockwise in plan (normals up), degenerate ones dropped."""
    a, b, c = V[tri[:, 0]], V[tri[:, 1]], V[tri[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    tri = tri.copy()
    cw = cross < 0
    tri[cw] = tri[cw][:, [0, 2, 1]]
    return tri[np.abs(cross) > 1e-12]


def _locate_all(batches, origin, vx, vy, vz, tri, check, max_error_m):
    """One pass over the points against the triangles ``tri[check]``: violators (key = triangle
    index, error, point), worst error and number of points outside those triangles."""
    sub = tri[check]
    span = np.array([vx.max(), vy.max()])
    a = np.abs((vx[sub[:, 1]] - vx[sub[:, 0]]) * (vy[sub[:, 2]] - vy[sub[:, 0]])
               - (vx[sub[:, 2]] - vx[sub[:, 0]]) * (vy[sub[:, 1]] - vy[sub[:, 0]])) / 2
    cell = float(np.sqrt(max(a.sum(), 1e-6) / max(len(sub), 1)))
    cell = max(cell, float(np.sqrt(max(span[0] * span[1], 1e-6) / 2e6)), 1e-3)  # at most ~2 M buckets
    nx, ny = int(span[0] // cell) + 1, int(span[1] // cell) + 1
    start, items = _tin_kernels.bucket_triangles(vx, vy, sub, 0.0, 0.0, cell, nx, ny)
    keys, errs, pts = [], [], []
    worst, n_out = 0.0, 0
    for batch in batches():
        p = np.asarray(batch, dtype=np.float64).reshape(-1, 3)
        if not len(p):
            continue
        simplex = np.empty(len(p), np.int64)
        err = np.empty(len(p))
        _tin_kernels.locate_errors(np.ascontiguousarray(p[:, 0] - origin[0]), np.ascontiguousarray(p[:, 1] - origin[1]),
                                   np.ascontiguousarray(p[:, 2]), vx, vy, vz, sub, start, items, 0.0, 0.0, cell,
                                   nx, ny, simplex, err)
        n_out += int((simplex < 0).sum())
        if np.isfinite(err).any():
            worst = max(worst, float(np.nanmax(err)))
        bad = np.flatnonzero(err > max_error_m)
        if bad.size:
            keys.append(check[simplex[bad]])
            errs.append(err[bad])
            pts.append(p[bad])
    if not keys:
        return None, worst, n_out
    return (np.concatenate(keys), np.concatenate(errs), np.vstack(pts)), worst, n_out


def _orient(xy: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """The same triangles, every one counter-clockwise in plan."""
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    cw = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]) < 0
    tri = tri.copy()
    tri[cw] = tri[cw][:, [0, 2, 1]]
    return tri


def _barycentric(xy: np.ndarray, tri: np.ndarray, where: np.ndarray, pxy: np.ndarray) -> np.ndarray:
    """(n, 3) barycentric coordinates of points ``pxy`` in triangles ``tri[where]``."""
    t = tri[where]
    p0, p1, p2 = xy[t[:, 0]], xy[t[:, 1]], xy[t[:, 2]]
    d = (p1[:, 1] - p2[:, 1]) * (p0[:, 0] - p2[:, 0]) + (p2[:, 0] - p1[:, 0]) * (p0[:, 1] - p2[:, 1])
    d = np.where(d == 0, np.inf, d)
    l0 = ((p1[:, 1] - p2[:, 1]) * (pxy[:, 0] - p2[:, 0]) + (p2[:, 0] - p1[:, 0]) * (pxy[:, 1] - p2[:, 1])) / d
    l1 = ((p2[:, 1] - p0[:, 1]) * (pxy[:, 0] - p2[:, 0]) + (p0[:, 0] - p2[:, 0]) * (pxy[:, 1] - p2[:, 1])) / d
    return np.column_stack([l0, l1, 1.0 - l0 - l1])


def _split(tri: np.ndarray, n_vertices: int, where: np.ndarray, lam: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insert one new vertex in each triangle ``where`` (counter-clockwise triangles).

    A point inside its triangle splits it in three; a point on an edge (smallest barycentric
    coordinate below 1e-9, a hair outside included) splits the triangle and the neighbour across
    that edge in two each (the triangle alone on the hull). A point on the edge of a neighbour
    that is split in this round by another point waits for the next round.

    Returns the triangles, the indices of the triangles to check again (changed or waiting) and
    the mask of the points inserted; the inserted points get the vertex ids ``n_vertices, ...``
    in order.
    """
    n = len(where)
    t = tri[where]
    opp = lam.argmin(axis=1)
    r = np.arange(n)
    o, e0, e1 = t[r, opp], t[r, (opp + 1) % 3], t[r, (opp + 2) % 3]
    on = lam.min(axis=1) < 1e-9
    nb = np.full(n, -1, np.int64)
    if on.any():  # the neighbour across the edge: the other triangle holding it
        m = int(tri.max()) + 1
        ek = np.sort(np.stack([tri, np.roll(tri, -1, axis=1)], axis=2), axis=2)
        ekey = (ek[:, :, 0] * m + ek[:, :, 1]).ravel()
        order = np.argsort(ekey, kind="stable")
        skey = ekey[order]
        q = np.minimum(e0[on], e1[on]) * m + np.maximum(e0[on], e1[on])
        lo = np.searchsorted(skey, q, side="left")
        hi = np.searchsorted(skey, q, side="right")
        first = order[np.minimum(lo, len(order) - 1)] // 3
        second = order[np.minimum(lo + 1, len(order) - 1)] // 3
        w_on = where[on]
        other = np.where(first == w_on, second, first)
        nb[on] = np.where(hi - lo == 2, other, -1)
    # a neighbour that is split itself, or shared by two edge points, makes the point wait
    wait = np.zeros(n, bool)
    has_nb = nb >= 0
    if has_nb.any():
        split_set = np.zeros(len(tri), bool)
        split_set[where] = True
        wait[has_nb] = split_set[nb[has_nb]]
        cand = np.flatnonzero(has_nb & ~wait)
        _, first = np.unique(nb[cand], return_index=True)
        later = np.ones(len(cand), bool)
        later[first] = False
        wait[cand[later]] = True  # the first point on a shared neighbour goes, the others wait
    ins = ~wait
    v = np.full(n, -1, np.int64)
    v[ins] = n_vertices + np.arange(int(ins.sum()))
    three = ins & ~on
    two = ins & on  # this triangle in two
    four = two & has_nb  # and the neighbour in two
    tri = tri.copy()
    tri[where[three]] = np.column_stack([o, e0, v])[three]
    tri[where[two]] = np.column_stack([o, e0, v])[two]
    # the neighbour (on, e1, e0) counter-clockwise: its children (on, e1, v) and (on, v, e0)
    nbi = nb[four]
    nt_ = tri[nbi]
    far = np.where((nt_ != e0[four, None]) & (nt_ != e1[four, None]), nt_, -1).max(axis=1)
    tri[nbi] = np.column_stack([far, e1[four], v[four]])
    n0 = len(tri)
    extra = [np.column_stack([e0, e1, v])[three], np.column_stack([e1, o, v])[three],
             np.column_stack([o, v, e1])[two], np.column_stack([far, v[four], e0[four]])]
    tri = np.vstack([tri, *extra])
    check = np.concatenate([where, nbi, np.arange(n0, len(tri))])
    return tri, check, ins


def refine_tin(
    vertices: np.ndarray,
    point_batches: Callable[[], Iterable[np.ndarray]],
    max_error_m: float = 0.2,
    max_rounds: int = 200,
    stats: dict[str, Any] | None = None,
    delaunay_fraction: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Insert points into a TIN until no point of a stream lies more than ``max_error_m`` off it.

    The points are never held together: each round re-reads them batch by batch (for example one
    file per block) and locates them (numba grid buckets, :mod:`lidar._tin_kernels`) in the
    triangles that changed in the last round (points of unchanged triangles keep their error);
    per triangle, the point with the largest vertical error above the bound is inserted (greedy
    insertion, one point per triangle per round, as :func:`simplify_tin`). While a round inserts
    at least ``delaunay_fraction`` of the vertices, the TIN is re-triangulated (Delaunay); after
    that each inserted point splits its triangle in three, without re-triangulation (by default
    from the second round: on 2.1 M synthetic ground points this gave 39 k vertices in 3.7 s,
    against 62 k vertices in 6.4 s when re-triangulating down to 5 %, 64 k in 23 s always).
    A last pass checks every point against the final TIN.
    Memory is one batch plus the TIN.

    Parameters
    ----------
    vertices : (k, 3) float64
        Starting vertices [m] (at least 3, not collinear in plan); their convex hull must cover
        every point of the stream (for example the corners of the points' bounding box).
    point_batches : callable
        Called once per round; returns an iterable of (n_i, 3) float64 point arrays [m].
    max_error_m : float
        Largest allowed vertical distance of any streamed point to the TIN [m].
    max_rounds : int
        Safety cap on insertion rounds.
    stats : dict, optional
        Filled with ``rounds``, ``max_error_m`` (the largest error of the final TIN over all
        streamed points [m], from the last pass), ``n_outside`` (points outside the TIN: 0 when
        the starting hull covers them) and ``history`` ((vertices, violators, inserted) per round).
    delaunay_fraction : float
        Re-triangulate while a round inserts at least this share of the vertices.

    Returns
    -------
    vertices : (m, 3) float64
    triangles : (t, 3) int64
        Counter-clockwise seen from above. Unless ``max_rounds`` stopped the insertion, every
        streamed point is within ``max_error_m`` of it, except points sharing (x, y) with a
        vertex at another height, which no TIN can meet (``stats["max_error_m"]`` tells).
    """
    from scipy.spatial import Delaunay

    V = np.asarray(vertices, dtype=np.float64)
    if V.ndim != 2 or V.shape[1] != 3 or V.shape[0] < 3 or not np.isfinite(V).all():
        raise InputError(f"refine_tin: vertices must be (k >= 3, 3) finite, got shape {V.shape}")
    if not (max_error_m > 0):
        raise InputError(f"refine_tin: max_error_m must be > 0, got {max_error_m!r}")
    origin = V[:, :2].min(axis=0)
    xy = V[:, :2] - origin
    tri = _orient(xy, Delaunay(xy).simplices.astype(np.int64))
    check = np.arange(len(tri))
    split = False
    history: list[tuple[int, int, int]] = []
    rounds = 0
    base = 2_000_000  # triangle keys (sorted vertex ids in base `base`) fit int64 below it
    for rounds in range(1, max_rounds + 1):  # noqa: B007 (reported in stats)
        vx, vy, vz = (np.ascontiguousarray(a) for a in (xy[:, 0], xy[:, 1], V[:, 2]))
        found, _, _ = _locate_all(point_batches, origin, vx, vy, vz, tri, check, max_error_m)
        if found is None:
            break
        key, e, pts = found
        # a point at a vertex (same x, y, another z) cannot be met: left out (stats: max_error_m)
        free = _barycentric(xy, tri, key, pts[:, :2] - origin).max(axis=1) < 1 - 1e-9
        if not free.any():
            break
        key, e, pts = key[free], e[free], pts[free]
        order = np.lexsort((-e, key))
        first = np.ones(len(order), bool)
        first[1:] = key[order][1:] != key[order][:-1]
        sel = order[first]
        new, where = pts[sel], key[sel]
        history.append((len(V), len(key), len(new)))
        split = split or len(new) < delaunay_fraction * len(V) or len(V) + len(new) >= base
        if split:  # each new point splits its triangle (and on an edge, the neighbour)
            lam = _barycentric(xy, tri, where, new[:, :2] - origin)
            tri, check, ins = _split(tri, len(V), where, lam)
            V = np.vstack([V, new[ins]])
            xy = np.vstack([xy, new[ins, :2] - origin])
        else:
            old = np.sort(_triangle_keys(tri, base))
            V = np.vstack([V, new])
            xy = V[:, :2] - origin
            tri = _orient(xy, Delaunay(xy).simplices.astype(np.int64))
            keys = _triangle_keys(tri, base)
            pos = np.minimum(np.searchsorted(old, keys), len(old) - 1)
            check = np.flatnonzero(old[pos] != keys)
    vx, vy, vz = (np.ascontiguousarray(a) for a in (xy[:, 0], xy[:, 1], V[:, 2]))
    _, worst, n_out = _locate_all(point_batches, origin, vx, vy, vz, tri, np.arange(len(tri)), np.inf)
    if stats is not None:
        stats.update(rounds=rounds, max_error_m=worst, n_outside=n_out, history=history)
    return V, _ccw(xy, tri)


def add_terrain(
    model: CityModel,
    vertices: np.ndarray,
    triangles: np.ndarray,
    object_id: str = "terrain",
    lod: str = "1",
) -> None:
    """Append a ``TINRelief`` city object whose geometry is a CompositeSurface of triangles.

    Parameters
    ----------
    model : CityModel
        Modified in place (vertices appended, one city object added).
    vertices : (k, 3) float64
        TIN vertices [m] in the model's CRS.
    triangles : (t, 3) int
        Vertex indices into ``vertices``, counter-clockwise seen from above.
    object_id : str
        Id of the new city object (must not exist yet).
    lod : str
        The geometry's LoD ("1" by default).
    """
    v = np.asarray(vertices, dtype=np.float64)
    t = np.asarray(triangles, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or t.ndim != 2 or t.shape[1] != 3:
        raise InputError(f"add_terrain: vertices must be (k, 3) and triangles (t, 3), got {v.shape}, {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= len(v)):
        raise InputError(f"add_terrain: triangle indices out of range 0..{len(v) - 1}")
    if t.shape[0] == 0:
        raise InputError("add_terrain: the TIN has no triangles")
    if object_id in model.city_objects:
        raise InputError(f"add_terrain: city object id {object_id!r} already exists; pick another object_id")
    used, inverse = np.unique(t, return_inverse=True)
    idx = model.add_vertices(v[used])
    gt = idx[inverse.reshape(t.shape)]
    boundaries = [[[int(a), int(b), int(c)]] for a, b, c in gt.tolist()]
    model.add_object(
        object_id,
        {
            "type": "TINRelief",
            "geometry": [{"type": "CompositeSurface", "lod": str(lod), "boundaries": boundaries}],
            "attributes": {"n_triangles": int(t.shape[0])},
        },
    )
