"""Numba kernels for streaming TIN refinement (private; public side in :mod:`lidar.terrain.accumulator`).

Point location in a triangulation through a uniform grid of buckets: every triangle is listed
in the cells its bounding box overlaps, every point tests only the triangles of its cell.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Barycentric tolerance: a point this close outside a triangle (relative) still counts as inside.
_EPS = 1e-9


@nb.njit(cache=True)
def bucket_triangles(vx, vy, tri, x0, y0, cell, nx, ny):
    """CSR lists of the triangles overlapping each grid cell (by bounding box).

    Returns ``start`` ((nx*ny + 1,) int64) and ``items`` (int64): the triangles of cell
    ``c = row * nx + col`` are ``items[start[c]:start[c + 1]]``.
    """
    nt = tri.shape[0]
    start = np.zeros(nx * ny + 1, np.int64)
    lo = np.empty((nt, 4), np.int64)
    for t in range(nt):
        a, b, c = tri[t, 0], tri[t, 1], tri[t, 2]
        xmin = min(vx[a], min(vx[b], vx[c]))
        xmax = max(vx[a], max(vx[b], vx[c]))
        ymin = min(vy[a], min(vy[b], vy[c]))
        ymax = max(vy[a], max(vy[b], vy[c]))
        c0 = max(0, min(nx - 1, int(np.floor((xmin - x0) / cell))))
        c1 = max(0, min(nx - 1, int(np.floor((xmax - x0) / cell))))
        r0 = max(0, min(ny - 1, int(np.floor((ymin - y0) / cell))))
        r1 = max(0, min(ny - 1, int(np.floor((ymax - y0) / cell))))
        lo[t, 0], lo[t, 1], lo[t, 2], lo[t, 3] = c0, c1, r0, r1
        for r in range(r0, r1 + 1):
            for cc in range(c0, c1 + 1):
                start[r * nx + cc + 1] += 1
    for k in range(nx * ny):
        start[k + 1] += start[k]
    items = np.empty(start[nx * ny], np.int64)
    pos = start[:-1].copy()
    for t in range(nt):
        for r in range(lo[t, 2], lo[t, 3] + 1):
            for cc in range(lo[t, 0], lo[t, 1] + 1):
                k = r * nx + cc
                items[pos[k]] = t
                pos[k] += 1
    return start, items


@nb.njit(cache=True, parallel=True)
def locate_errors(px, py, pz, vx, vy, vz, tri, start, items, x0, y0, cell, nx, ny, simplex, err):
    """Containing triangle (``simplex``, -1 outside) and vertical error |z - TIN(x, y)| (``err``,
    NaN outside) of every point, in place."""
    for i in nb.prange(px.shape[0]):
        cc = max(0, min(nx - 1, int(np.floor((px[i] - x0) / cell))))
        r = max(0, min(ny - 1, int(np.floor((py[i] - y0) / cell))))
        k = r * nx + cc
        found = -1
        zt = 0.0
        for j in range(start[k], start[k + 1]):
            t = items[j]
            a, b, c = tri[t, 0], tri[t, 1], tri[t, 2]
            d = (vy[b] - vy[c]) * (vx[a] - vx[c]) + (vx[c] - vx[b]) * (vy[a] - vy[c])
            if d == 0.0:
                continue
            l1 = ((vy[b] - vy[c]) * (px[i] - vx[c]) + (vx[c] - vx[b]) * (py[i] - vy[c])) / d
            l2 = ((vy[c] - vy[a]) * (px[i] - vx[c]) + (vx[a] - vx[c]) * (py[i] - vy[c])) / d
            l3 = 1.0 - l1 - l2
            if l1 >= -_EPS and l2 >= -_EPS and l3 >= -_EPS:
                found = t
                zt = l1 * vz[a] + l2 * vz[b] + l3 * vz[c]
                break
        simplex[i] = found
        err[i] = abs(pz[i] - zt) if found >= 0 else np.nan
