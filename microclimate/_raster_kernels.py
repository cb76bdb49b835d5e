"""Numba kernels that rasterise a city model's triangles (private; see model_rasters.py)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def triangles_max_z(tri, x0, y_top, cell, out, hit):  # pragma: no cover - numba
    """Highest triangle z at each cell centre covered by a triangle's xy projection.

    tri (m, 3, 3) f8 triangle corners [m]; x0, y_top: west and north edge of the grid [m];
    cell: cell size [m]; out (ny, nx) f8 (NaN = not yet covered), updated in place with the
    maximum; hit (ny, nx) i4, the index of the triangle giving ``out`` (-1 = none). Vertical
    triangles (zero xy area) cover no centre. A centre on an edge shared by two triangles
    counts for both (a tolerance of 1e-9 of the barycentric weights).
    """
    ny, nx = out.shape
    for k in range(tri.shape[0]):
        ax, ay, az = tri[k, 0, 0], tri[k, 0, 1], tri[k, 0, 2]
        bx, by, bz = tri[k, 1, 0], tri[k, 1, 1], tri[k, 1, 2]
        cx, cy, cz = tri[k, 2, 0], tri[k, 2, 1], tri[k, 2, 2]
        det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
        if abs(det) < 1e-12:
            continue
        xmin = min(ax, min(bx, cx))
        xmax = max(ax, max(bx, cx))
        ymin = min(ay, min(by, cy))
        ymax = max(ay, max(by, cy))
        c0 = max(0, int(np.floor((xmin - x0) / cell - 0.5)))
        c1 = min(nx - 1, int(np.ceil((xmax - x0) / cell - 0.5)))
        r0 = max(0, int(np.floor((y_top - ymax) / cell - 0.5)))
        r1 = min(ny - 1, int(np.ceil((y_top - ymin) / cell - 0.5)))
        for r in range(r0, r1 + 1):
            py = y_top - (r + 0.5) * cell
            for c in range(c0, c1 + 1):
                px = x0 + (c + 0.5) * cell
                w1 = ((by - cy) * (px - cx) + (cx - bx) * (py - cy)) / det
                w2 = ((cy - ay) * (px - cx) + (ax - cx) * (py - cy)) / det
                w3 = 1.0 - w1 - w2
                if w1 < -1e-9 or w2 < -1e-9 or w3 < -1e-9:
                    continue
                z = w1 * az + w2 * bz + w3 * cz
                if np.isnan(out[r, c]) or z > out[r, c]:
                    out[r, c] = z
                    hit[r, c] = k
