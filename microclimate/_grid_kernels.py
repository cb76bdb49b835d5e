"""Numba kernels of the raster heat grid (private: called by :mod:`microclimate.skyview` and :mod:`microclimate.grid`)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def accumulate_views(code, tfar, origins, dirs, weights, band, sky_band, veg, wall,
                     wall_point, offset):  # pragma: no cover - numba
    """Per-point view fractions from the ray outcomes of one tile.

    code : (m, r) int8, 0 blocked (opaque), 1 free, 2 through tree crowns only
    tfar : (m, r) float32, hit distance of blocked rays [m]
    origins : (m, 3) float32; dirs : (r, 3) float32; weights : (5, r) float32
    band : (r,) int64 zenith band of each ray
    Outputs written at columns ``offset + i``: sky_band (5, b, n), veg (5, n), wall (5, n),
    wall_point (4, n, 3) (weighted mean hit point per side plane, NaN without hits).
    """
    m, r = code.shape
    for i in nb.prange(m):
        j = offset + i
        acc = np.zeros((4, 4))
        for k in range(r):
            c = code[i, k]
            bk = band[k]
            if c == 1:
                for p in range(5):
                    sky_band[p, bk, j] += weights[p, k]
            elif c == 2:
                for p in range(5):
                    veg[p, j] += weights[p, k]
            else:
                wall[0, j] += weights[0, k]
                t = tfar[i, k]
                for p in range(1, 5):
                    w = weights[p, k]
                    if w > 0.0:
                        wall[p, j] += w
                        acc[p - 1, 0] += w * (origins[i, 0] + dirs[k, 0] * t)
                        acc[p - 1, 1] += w * (origins[i, 1] + dirs[k, 1] * t)
                        acc[p - 1, 2] += w * (origins[i, 2] + dirs[k, 2] * t)
                        acc[p - 1, 3] += w
        for p in range(4):
            if acc[p, 3] > 0.0:
                for q in range(3):
                    wall_point[p, j, q] = acc[p, q] / acc[p, 3]
            else:
                for q in range(3):
                    wall_point[p, j, q] = np.nan


@nb.njit(cache=True, parallel=True)
def kernel_average_pair(full_a, full_b, kernel, cells, den, out_a, out_b):  # pragma: no cover
    """Weighted averages of two rasters around the given cells, edges replicated.

    full_a, full_b : (ny, nx) float32 rasters (0 off the ground); kernel : (k, k) float32,
    symmetric, odd size; cells : (n,) flat indices; den : (n,) float64 divisor. Writes
    ``out[i] = float32(sum kernel x full around cells[i]) / den[i]`` (scipy.ndimage.convolve
    with ``mode="nearest"`` at those cells, both rasters in one pass).
    """
    ny, nx = full_a.shape
    kk = kernel.shape[0]
    r = kk // 2
    for i in nb.prange(cells.shape[0]):
        row = cells[i] // nx
        col = cells[i] - row * nx
        sa = 0.0
        sb = 0.0
        for u in range(kk):
            rr = min(max(row + u - r, 0), ny - 1)
            for v in range(kk):
                cc = min(max(col + v - r, 0), nx - 1)
                w = kernel[u, v]
                sa += w * full_a[rr, cc]
                sb += w * full_b[rr, cc]
        out_a[i] = np.float32(sa) / den[i]
        out_b[i] = np.float32(sb) / den[i]
