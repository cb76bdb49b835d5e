"""numba kernels for geometric validation (private; see polygons.py and overlap.py)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["ring_self_intersections", "vertical_overlap_lengths"]


@njit(cache=True, inline="always")
def _orient(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@njit(cache=True, inline="always")
def _on_segment(ax, ay, bx, by, px, py, eps):
    return (min(ax, bx) - eps <= px <= max(ax, bx) + eps) and (min(ay, by) - eps <= py <= max(ay, by) + eps)


@njit(cache=True)
def _segments_touch(ax, ay, bx, by, cx, cy, dx, dy, eps):
    d1 = _orient(cx, cy, dx, dy, ax, ay)
    d2 = _orient(cx, cy, dx, dy, bx, by)
    d3 = _orient(ax, ay, bx, by, cx, cy)
    d4 = _orient(ax, ay, bx, by, dx, dy)
    # scale-aware zero: eps is a length; orient is length^2
    l1 = np.hypot(dx - cx, dy - cy)
    l2 = np.hypot(bx - ax, by - ay)
    e1 = eps * l1
    e2 = eps * l2
    if ((d1 > e1 and d2 < -e1) or (d1 < -e1 and d2 > e1)) and ((d3 > e2 and d4 < -e2) or (d3 < -e2 and d4 > e2)):
        return True
    if abs(d1) <= e1 and _on_segment(cx, cy, dx, dy, ax, ay, eps):
        return True
    if abs(d2) <= e1 and _on_segment(cx, cy, dx, dy, bx, by, eps):
        return True
    if abs(d3) <= e2 and _on_segment(ax, ay, bx, by, cx, cy, eps):
        return True
    if abs(d4) <= e2 and _on_segment(ax, ay, bx, by, dx, dy, eps):
        return True
    return False


@njit(cache=True, parallel=True)
def ring_self_intersections(xy, canon, ring_start, ring_len, eps):  # pragma: no cover - compiled
    """Per ring: 1 when it repeats a non-consecutive point, 2 when two non-adjacent edges touch.

    Parameters
    ----------
    xy : (k, 2) float64
        Ring points projected on their polygon's plane [m], ring after ring.
    canon : (k,) int64
        Welded vertex ids (equal id = same location within the snap tolerance).
    ring_start, ring_len : (r,) int64
        Offsets and lengths of the rings in ``xy``.
    eps : float
        Snap tolerance [m].
    """
    r = ring_start.shape[0]
    out = np.zeros(r, dtype=np.uint8)
    for k in prange(r):
        s = ring_start[k]
        n = ring_len[k]
        if n < 3:
            continue
        hit = False
        for i in range(n):
            for j in range(i + 2, n):
                if canon[s + i] == canon[s + j] and not (i == 0 and j == n - 1):
                    hit = True
                    break
            if hit:
                break
        if hit:
            out[k] = 1
            continue
        if n > 3:
            for i in range(n):
                a = s + i
                b = s + (i + 1) % n
                for j in range(i + 2, n):
                    if i == 0 and j == n - 1:
                        continue  # adjacent through the closing edge
                    c = s + j
                    d = s + (j + 1) % n
                    if _segments_touch(xy[a, 0], xy[a, 1], xy[b, 0], xy[b, 1],
                                       xy[c, 0], xy[c, 1], xy[d, 0], xy[d, 1], eps):
                        hit = True
                        break
                if hit:
                    break
        if hit:
            out[k] = 2
    return out


@njit(cache=True)
def _hits(px, py, xy, ring_start, ring_len, ring_poly, poly_plane, poly_box, buf):
    """z where the vertical line (px, py) crosses a solid's polygons; returns the count in buf.

    Even-odd crossing number over every ring of a polygon (holes included), half-open in y so
    that a line through a shared vertex is counted once; z from the polygon's plane.
    """
    m = 0
    n_poly = poly_plane.shape[0]
    r = 0
    for p in range(n_poly):
        a, b, c, d = poly_plane[p, 0], poly_plane[p, 1], poly_plane[p, 2], poly_plane[p, 3]
        r0 = r
        while r < ring_poly.shape[0] and ring_poly[r] == p:
            r += 1
        if abs(c) < 1e-9:
            continue  # vertical polygon: a vertical line does not cross it
        if px < poly_box[p, 0] or px > poly_box[p, 2] or py < poly_box[p, 1] or py > poly_box[p, 3]:
            continue
        inside = False
        for rr in range(r0, r):
            s = ring_start[rr]
            n = ring_len[rr]
            for i in range(n):
                j = (i + 1) % n
                xi, yi = xy[s + i, 0], xy[s + i, 1]
                xj, yj = xy[s + j, 0], xy[s + j, 1]
                if (yi <= py) != (yj <= py):
                    xc = xi + (py - yi) * (xj - xi) / (yj - yi)
                    if px < xc:
                        inside = not inside
        if inside:
            buf[m] = -(a * px + b * py + d) / c
            m += 1
    return m


@njit(cache=True)
def _insertion_sort(z, n):
    for i in range(1, n):
        v = z[i]
        j = i - 1
        while j >= 0 and z[j] > v:
            z[j + 1] = z[j]
            j -= 1
        z[j + 1] = v


@njit(cache=True)
def vertical_overlap_lengths(points_xy, xy_a, rs_a, rl_a, rp_a, pl_a, bx_a,
                             xy_b, rs_b, rl_b, rp_b, pl_b, bx_b):  # pragma: no cover - compiled
    """Length [m] of the vertical line through each point that lies inside both closed solids.

    Each solid is given as flat rings: ``xy (k, 2)`` [m], ``ring_start``/``ring_len (r,)``,
    ``ring_poly (r,)`` (sorted), the polygons' planes ``(p, 4)`` (a, b, c, d with
    ax + by + cz + d = 0) and their xy boxes ``(p, 4)`` (xmin, ymin, xmax, ymax).
    Serial on purpose: it is called once per pair of parts, on a few thousand lines.

    Returns
    -------
    (m,) float64
        Overlap length; NaN where a line met a solid an odd number of times (grazing an edge).
    """
    m = points_xy.shape[0]
    out = np.zeros(m, dtype=np.float64)
    za = np.empty(pl_a.shape[0], dtype=np.float64)
    zb = np.empty(pl_b.shape[0], dtype=np.float64)
    for i in range(m):
        px, py = points_xy[i, 0], points_xy[i, 1]
        na = _hits(px, py, xy_a, rs_a, rl_a, rp_a, pl_a, bx_a, za)
        if na == 0:
            continue
        nb = _hits(px, py, xy_b, rs_b, rl_b, rp_b, pl_b, bx_b, zb)
        if nb == 0:
            continue
        if na % 2 == 1 or nb % 2 == 1:
            out[i] = np.nan
            continue
        _insertion_sort(za, na)
        _insertion_sort(zb, nb)
        total = 0.0
        for p in range(0, na, 2):
            for q in range(0, nb, 2):
                lo = max(za[p], zb[q])
                hi = min(za[p + 1], zb[q + 1])
                if hi > lo:
                    total += hi - lo
        out[i] = total
    return out
