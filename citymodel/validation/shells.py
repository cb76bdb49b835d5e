"""Shell checks on flat arrays: val3dity 301, 302, 303, 304, 305 and 307.

The codes follow val3dity's order of checks (``Surface::validate_as_shell``): a shell whose
polygons cannot be stitched into one 2-manifold surface (an edge used by more than two polygons,
or a vertex of the shell lying inside another polygon's edge, a T-junction) is 304 and nothing
else is checked; otherwise a shell whose polygons fall into several edge-connected groups is 305
(open or closed); only then is an open shell 302. This is what val3dity's own test solids assert
(``304.poly`` is a T-junction, ``304_1.poly`` a face through the solid, ``305.poly`` a triangle
floating beside a closed cube).

Edges are counted with one sort of the (shell, low vertex, high vertex) triples of every
shell at once; orientation comes from whether the two uses of each edge run in opposite
directions (a signed graph whose connected components split the polygons into two classes)
and the sign of the shell's volume.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from citymodel.validation._ragged import Ragged

__all__ = ["ShellChecks", "check_shells"]


@dataclass
class ShellChecks:
    """Per-shell and per-polygon results (shells that were not checked are all False / 0).

    Attributes
    ----------
    checked : (s,) bool
        Shell is a solid's shell and all its polygons are valid, so topology was checked.
    e301 : (s,) bool
        Fewer than 4 polygons.
    free_edges, nonmanifold_edges, nonmanifold_vertices : (s,) int64
        Counts behind 302, 304 and 303.
    t_junctions : (s,) int64
        Edges used by one polygon that have another vertex of the shell inside them (304, as
        val3dity reports them); counted only on shells without edges used more than twice.
    components : (s,) int64
        Number of edge-connected groups of polygons (305 when more than one); counted on shells
        without 304 (open or closed) and, for closed shells, without 303.
    wrong_polygon : (p,) bool
        Polygon oriented against the rest of its shell or inward (307).
    volume_m3 : (s,) float64
        Signed volume of the shell as oriented in the file [m3] (NaN when not closed).
    """

    checked: np.ndarray
    e301: np.ndarray
    free_edges: np.ndarray
    nonmanifold_edges: np.ndarray
    nonmanifold_vertices: np.ndarray
    t_junctions: np.ndarray
    components: np.ndarray
    wrong_polygon: np.ndarray
    volume_m3: np.ndarray


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    g = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _t_junctions(vertices: np.ndarray, canon: np.ndarray, rag: Ragged, shells: np.ndarray,
                 edge_shell: np.ndarray, edge_lo: np.ndarray, edge_hi: np.ndarray, tol_m: float) -> np.ndarray:
    """Per shell, free edges with another free edge's vertex strictly inside them (within ``tol_m``).

    Only shells that have free edges get here (invalid input), so a small loop over them is fine.
    """
    out = np.zeros(rag.n_shells, np.int64)
    if not shells.size:
        return out
    rep = np.empty((int(canon.max()) + 1, 3))
    rep[canon] = vertices  # one location per welded id
    for s in shells:
        sel = edge_shell == s
        # a T-junction's middle vertex is itself on the hole's border: only those are candidates
        xyz = rep[np.unique(np.concatenate([edge_lo[sel], edge_hi[sel]]))]
        a, b = rep[edge_lo[sel]], rep[edge_hi[sel]]
        d = b - a
        len2 = np.einsum("ij,ij->i", d, d)
        ok = len2 > tol_m * tol_m
        if not ok.any():
            continue
        a, d, len2 = a[ok], d[ok], len2[ok]
        rel = xyz[None, :, :] - a[:, None, :]  # (e, m, 3)
        t = np.einsum("emk,ek->em", rel, d) / len2[:, None]
        foot = a[:, None, :] + t[..., None] * d[:, None, :]
        dist2 = np.sum((xyz[None, :, :] - foot) ** 2, axis=2)
        length = np.sqrt(len2)[:, None]
        # clear of both ends by twice the snap distance: nearer, it is a near-duplicate of the end
        # vertex (the weld's business, and a 1 mm borderline would flip with quantisation)
        inside = (t * length > 2.0 * tol_m) & ((1.0 - t) * length > 2.0 * tol_m)
        out[s] = int(np.count_nonzero((inside & (dist2 <= tol_m * tol_m)).any(axis=1)))
    return out


def check_shells(vertices: np.ndarray, canon: np.ndarray, rag: Ragged, polygon_ok: np.ndarray,
                 is_solid_shell: np.ndarray, snap_tol_m: float = 1e-3) -> ShellChecks:
    """Topology and orientation of every solid shell whose polygons are valid.

    Parameters
    ----------
    vertices : (n, 3) float64
        Shared vertex array [m].
    canon : (n,) int64
        Welded vertex ids (0..k-1).
    rag : Ragged
        Rings, polygons and shells.
    polygon_ok : (p,) bool
        Polygons without ring/planarity errors (val3dity checks shells only when all are).
    is_solid_shell : (s,) bool
        Shells of Solids / MultiSolids / CompositeSolids (surfaces are not checked here).
    snap_tol_m : float
        Distance under which a vertex counts as lying on an edge (T-junction) [m].
    """
    S, P = rag.n_shells, rag.n_polygons
    n_poly = np.bincount(rag.polygon_shell, minlength=S)
    bad_poly_shell = np.bincount(rag.polygon_shell[~polygon_ok], minlength=S) > 0
    checked = is_solid_shell & ~bad_poly_shell & (n_poly > 0)
    e301 = checked & (n_poly < 4)
    go = checked & ~e301
    free = np.zeros(S, np.int64)
    nonman = np.zeros(S, np.int64)
    nmv = np.zeros(S, np.int64)
    wrong = np.zeros(P, dtype=bool)
    volume = np.full(S, np.nan)
    ncomp_shell = np.zeros(S, np.int64)
    tj = np.zeros(S, np.int64)
    R = rag.n_rings
    ring_of = np.repeat(np.arange(R), rag.ring_len)
    poly_of = rag.ring_polygon[ring_of]
    shell_of = rag.polygon_shell[poly_of]
    sel = go[shell_of]
    if not sel.any():
        return ShellChecks(checked, e301, free, nonman, nmv, tj, ncomp_shell, wrong, volume)
    k = rag.vidx.shape[0]
    nxt = np.arange(k) + 1
    nonempty = rag.ring_len > 0
    nxt[(rag.ring_start + rag.ring_len - 1)[nonempty]] = rag.ring_start[nonempty]
    pos = np.flatnonzero(sel)
    can = canon[rag.vidx]
    a, b = can[pos], can[nxt[pos]]
    sh, pf = shell_of[pos], poly_of[pos]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    forward = a < b
    order = np.lexsort((hi, lo, sh))
    sh, lo, hi, pf, forward = sh[order], lo[order], hi[order], pf[order], forward[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (sh[1:] != sh[:-1]) | (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    gstart = np.flatnonzero(new)
    gsize = np.diff(np.append(gstart, order.size))
    gshell = sh[gstart]
    free = np.bincount(gshell[gsize == 1], minlength=S).astype(np.int64)
    nonman = np.bincount(gshell[gsize > 2], minlength=S).astype(np.int64)
    closed = go & (free == 0) & (nonman == 0)
    open_ok = go & (free > 0) & (nonman == 0)
    once = (gsize == 1) & open_ok[gshell]
    tj = _t_junctions(vertices, canon, rag, np.flatnonzero(open_ok), gshell[once], lo[gstart[once]],
                      hi[gstart[once]], snap_tol_m)
    open_ok = open_ok & (tj == 0)
    # open shells: only their edge-connected groups are checked (305 before 302, as val3dity)
    op = (gsize == 2) & open_ok[gshell]
    pcomp_open = _components(P, pf[gstart[op]], pf[gstart[op] + 1])
    in_open = open_ok[rag.polygon_shell]
    so = np.unique(np.stack([rag.polygon_shell[in_open], pcomp_open[in_open]], axis=1), axis=0)
    ncomp_open = np.bincount(so[:, 0], minlength=S).astype(np.int64) if so.size else np.zeros(S, np.int64)
    pair = (gsize == 2) & closed[gshell]
    f, g = pf[gstart[pair]], pf[gstart[pair] + 1]
    # ---- non-manifold vertices (303): corners around a vertex must form one fan
    if closed.any():
        NV = int(canon.max()) + 1 if canon.size else 1
        keep = closed[sh[gstart]] & (gsize == 2)
        gs = gstart[keep]
        pts = np.flatnonzero(closed[shell_of])
        node_key = poly_of[pts].astype(np.int64) * NV + can[pts]
        ukeys, first_idx = np.unique(node_key, return_index=True)
        node_shell = shell_of[pts][first_idx]
        node_vert = ukeys % NV
        f2, g2 = pf[gs], pf[gs + 1]
        l2, h2 = lo[gs], hi[gs]
        na = np.searchsorted(ukeys, np.concatenate([f2 * NV + l2, f2 * NV + h2]))
        nb = np.searchsorted(ukeys, np.concatenate([g2 * NV + l2, g2 * NV + h2]))
        ncomp = _components(ukeys.size, na, nb)
        sv = node_shell.astype(np.int64) * NV + node_vert
        order = np.lexsort((ncomp, sv))
        sv_s, c_s = sv[order], ncomp[order]
        first = np.ones(sv_s.size, dtype=bool)
        first[1:] = (sv_s[1:] != sv_s[:-1]) | (c_s[1:] != c_s[:-1])
        svs, counts = np.unique(sv_s[first], return_counts=True)
        bad_sv = svs[counts > 1]
        nmv = np.bincount(bad_sv // NV, minlength=S).astype(np.int64)
    # ---- connected components (305): polygons linked by shared edges (only where 303 passed)
    pcomp = _components(P, f, g)
    closed = closed & (nmv == 0)
    in_closed_poly = closed[rag.polygon_shell]
    sc = np.unique(np.stack([rag.polygon_shell[in_closed_poly], pcomp[in_closed_poly]], axis=1), axis=0)
    ncomp_shell = np.bincount(sc[:, 0], minlength=S).astype(np.int64) if sc.size else ncomp_shell
    closed = closed & (ncomp_shell <= 1)
    ncomp_shell = np.where(open_ok, ncomp_open, ncomp_shell)
    # ---- orientation (307) on closed, connected 2-manifold shells
    keep_pair = closed[rag.polygon_shell[f]]
    f, g = f[keep_pair], g[keep_pair]
    consistent_idx = gstart[pair][keep_pair]
    consistent = forward[consistent_idx] != forward[consistent_idx + 1]
    src = np.concatenate([np.where(consistent, f, f), np.where(consistent, f + P, f + P)])
    dst = np.concatenate([np.where(consistent, g, g + P), np.where(consistent, g + P, g)])
    comp = _components(2 * P, src, dst)
    first_poly = np.searchsorted(rag.polygon_shell, np.arange(S))  # first polygon of each shell
    first_poly = np.minimum(first_poly, max(P - 1, 0))
    ref_plus = comp[first_poly[rag.polygon_shell]]
    ref_minus = comp[first_poly[rag.polygon_shell] + P]
    cls_a = comp[:P] == ref_plus
    cls_b = comp[:P] == ref_minus
    non_orientable = comp[:P] == comp[P:]
    # signed volume of each shell with class-B polygons counted flipped
    xyz = vertices[rag.vidx]
    ref_pt = xyz[rag.ring_start[np.searchsorted(rag.ring_polygon, first_poly)]]
    rel = xyz - ref_pt[shell_of]
    cr = np.cross(rel, rel[nxt])
    ring_area = np.stack([np.bincount(ring_of, weights=cr[:, i], minlength=R) for i in range(3)], axis=1) * 0.5
    p0 = rel[np.minimum(rag.ring_start, max(k - 1, 0))]
    ring_vol = np.einsum("ij,ij->i", p0, ring_area) / 3.0
    poly_vol = np.bincount(rag.ring_polygon, weights=ring_vol, minlength=P)
    sign = np.where(cls_b & ~cls_a, -1.0, 1.0)
    vol_as_is = np.bincount(rag.polygon_shell, weights=poly_vol, minlength=S)
    vol_fixed = np.bincount(rag.polygon_shell, weights=poly_vol * sign, minlength=S)
    volume = np.where(closed, vol_as_is, np.nan)
    in_closed = closed[rag.polygon_shell]
    a_right = vol_fixed[rag.polygon_shell] > 0
    wrong = in_closed & ((cls_b & a_right) | (cls_a & ~a_right & ~cls_b) | non_orientable)
    return ShellChecks(checked, e301, free, nonman, nmv, tj, ncomp_shell, wrong, volume)
