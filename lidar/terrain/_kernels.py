"""Numba kernels for the point-cloud side: gridding, morphology (SMRF), TIN errors (private).

The public wrappers in :mod:`lidar.terrain.ground`, :mod:`lidar.terrain.dtm` and :mod:`lidar.terrain.tin` validate input.
Grids are north-up: row 0 is the top (largest y); cell (r, c) covers
x in [x0 + c*res, x0 + (c+1)*res), y in (y0 - (r+1)*res, y0 - r*res].
"""

from __future__ import annotations

import numba as nb
import numpy as np

# ----------------------------------------------------------------------------- gridding


@nb.njit(cache=True)
def grid_min(rows, cols, z, ny, nx):
    """Lowest z per cell (NaN where empty). rows, cols: (n,) int64; z: (n,) float64."""
    out = np.full((ny, nx), np.inf)
    for i in range(z.shape[0]):
        r = rows[i]
        c = cols[i]
        if z[i] < out[r, c]:
            out[r, c] = z[i]
    for r in range(ny):
        for c in range(nx):
            if out[r, c] == np.inf:
                out[r, c] = np.nan
    return out


@nb.njit(cache=True, parallel=True)
def bilinear(grid, x0, y0, res, px, py):
    """Bilinear interpolation of a north-up grid at points; values at cell centres.

    Points outside the centre lattice are clamped to the border cells (constant extrapolation).
    NaN cells propagate NaN.
    """
    ny, nx = grid.shape
    n = px.shape[0]
    out = np.empty(n)
    for i in nb.prange(n):
        fc = (px[i] - x0) / res - 0.5
        fr = (y0 - py[i]) / res - 0.5
        if fc < 0.0:
            fc = 0.0
        if fr < 0.0:
            fr = 0.0
        if fc > nx - 1:
            fc = nx - 1.0
        if fr > ny - 1:
            fr = ny - 1.0
        c0 = int(np.floor(fc))
        r0 = int(np.floor(fr))
        c1 = min(c0 + 1, nx - 1)
        r1 = min(r0 + 1, ny - 1)
        tc = fc - c0
        tr = fr - r0
        top = grid[r0, c0] * (1.0 - tc) + grid[r0, c1] * tc
        bot = grid[r1, c0] * (1.0 - tc) + grid[r1, c1] * tc
        out[i] = top * (1.0 - tr) + bot * tr
    return out


# ------------------------------------------------------------------- morphology (SMRF)


@nb.njit(cache=True)
def _line_extreme(row, w, is_min, out):
    """Running min (or max) of ``row`` over the window [i-w, i+w] (van Herk / Gil-Werman).

    Outside the row counts as +inf for min, -inf for max. O(n) whatever w.
    """
    n = row.shape[0]
    k = 2 * w + 1
    fill = np.inf if is_min else -np.inf
    m = n + 2 * w
    nblk = (m + k - 1) // k
    tot = nblk * k
    g = np.full(tot, fill)
    g[w : w + n] = row
    h = g.copy()
    for b in range(nblk):
        s = b * k
        for j in range(s + 1, s + k):
            if is_min:
                g[j] = min(g[j], g[j - 1])
            else:
                g[j] = max(g[j], g[j - 1])
        for j in range(s + k - 2, s - 1, -1):
            if is_min:
                h[j] = min(h[j], h[j + 1])
            else:
                h[j] = max(h[j], h[j + 1])
    for i in range(n):
        # window in padded coordinates: [i, i + 2w]
        a = h[i]
        b = g[i + 2 * w]
        out[i] = min(a, b) if is_min else max(a, b)


@nb.njit(cache=True, parallel=True)
def disk_filter(grid, radius, is_min):
    """Grey erosion (is_min) or dilation of a grid by a disk of ``radius`` cells.

    The disk is decomposed into horizontal lines: for each row offset dy the half-width is
    floor(sqrt(r^2 - dy^2)); cost O(cells * (2r+1)). NaN cells must be filled beforehand.
    """
    ny, nx = grid.shape
    fill = np.inf if is_min else -np.inf
    out = np.full((ny, nx), fill)
    for r in nb.prange(ny):
        line = np.empty(nx)
        for dy in range(-radius, radius + 1):
            rs = r + dy
            if rs < 0 or rs >= ny:
                continue
            w = int(np.floor(np.sqrt(radius * radius - dy * dy) + 1e-9))
            _line_extreme(grid[rs], w, is_min, line)
            for c in range(nx):
                if is_min:
                    if line[c] < out[r, c]:
                        out[r, c] = line[c]
                else:
                    if line[c] > out[r, c]:
                        out[r, c] = line[c]
    return out


# -------------------------------------------------------------------------------- TIN


@nb.njit(cache=True)
def tin_errors(px, py, pz, simplex, vx, vy, vz, tri, out):
    """Absolute vertical error |z - TIN(x, y)| of points given their containing triangle.

    simplex: (n,) int64 triangle index per point (-1 = outside: error 0).
    vx, vy, vz: vertex coordinates; tri: (t, 3) vertex indices.
    """
    n = px.shape[0]
    for i in range(n):  # serial: called on small subsets, where threads cost more than they give
        s = simplex[i]
        if s < 0:
            out[i] = 0.0
            continue
        a = tri[s, 0]
        b = tri[s, 1]
        c = tri[s, 2]
        x1 = vx[a]
        y1 = vy[a]
        x2 = vx[b]
        y2 = vy[b]
        x3 = vx[c]
        y3 = vy[c]
        det = (y2 - y3) * (x1 - x3) + (x3 - x2) * (y1 - y3)
        if det == 0.0:
            out[i] = 0.0
            continue
        l1 = ((y2 - y3) * (px[i] - x3) + (x3 - x2) * (py[i] - y3)) / det
        l2 = ((y3 - y1) * (px[i] - x3) + (x1 - x3) * (py[i] - y3)) / det
        l3 = 1.0 - l1 - l2
        zt = l1 * vz[a] + l2 * vz[b] + l3 * vz[c]
        out[i] = abs(pz[i] - zt)


@nb.njit(cache=True)
def argmax_per_group(groups, values, n_groups):
    """Index of the largest value in each group (-1 for empty groups or groups of negatives)."""
    best = np.full(n_groups, -1, np.int64)
    bestv = np.full(n_groups, -np.inf)
    for i in range(groups.shape[0]):
        g = groups[i]
        if g >= 0 and values[i] > bestv[g]:
            bestv[g] = values[i]
            best[g] = i
    return best
