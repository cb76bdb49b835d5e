"""Numba kernels for building models (private: call :mod:`lidar.reconstruct.distance`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _point_triangle_d2(px, py, pz, ax, ay, az, bx, by, bz, cx, cy, cz):
    """Squared distance from a point to a triangle (Ericson, Real-Time Collision Detection 5.1.5)."""
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    apx, apy, apz = px - ax, py - ay, pz - az
    d1 = abx * apx + aby * apy + abz * apz
    d2 = acx * apx + acy * apy + acz * apz
    if d1 <= 0.0 and d2 <= 0.0:
        qx, qy, qz = ax, ay, az
    else:
        bpx, bpy, bpz = px - bx, py - by, pz - bz
        d3 = abx * bpx + aby * bpy + abz * bpz
        d4 = acx * bpx + acy * bpy + acz * bpz
        if d3 >= 0.0 and d4 <= d3:
            qx, qy, qz = bx, by, bz
        else:
            vc = d1 * d4 - d3 * d2
            if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
                v = d1 / (d1 - d3)
                qx, qy, qz = ax + v * abx, ay + v * aby, az + v * abz
            else:
                cpx, cpy, cpz = px - cx, py - cy, pz - cz
                d5 = abx * cpx + aby * cpy + abz * cpz
                d6 = acx * cpx + acy * cpy + acz * cpz
                if d6 >= 0.0 and d5 <= d6:
                    qx, qy, qz = cx, cy, cz
                else:
                    vb = d5 * d2 - d1 * d6
                    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
                        w = d2 / (d2 - d6)
                        qx, qy, qz = ax + w * acx, ay + w * acy, az + w * acz
                    else:
                        va = d3 * d6 - d5 * d4
                        if va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
                            w = (d4 - d3) / ((d4 - d3) + (d5 - d6))
                            qx = bx + w * (cx - bx)
                            qy = by + w * (cy - by)
                            qz = bz + w * (cz - bz)
                        else:
                            den = 1.0 / (va + vb + vc)
                            v = vb * den
                            w = vc * den
                            qx = ax + abx * v + acx * w
                            qy = ay + aby * v + acy * w
                            qz = az + abz * v + acz * w
    dx, dy, dz = px - qx, py - qy, pz - qz
    return dx * dx + dy * dy + dz * dz


@njit(cache=True)
def _box_d2(lo, hi, t, px, py, pz):
    """Squared distance from a point to the bounding box ``lo[t]..hi[t]`` (0 inside)."""
    gx = max(lo[t, 0] - px, 0.0, px - hi[t, 0])
    gy = max(lo[t, 1] - py, 0.0, py - hi[t, 1])
    gz = max(lo[t, 2] - pz, 0.0, pz - hi[t, 2])
    return gx * gx + gy * gy + gz * gz


@njit(cache=True)
def _triangle_d2(points, i, vertices, triangles, t):
    a, b, c = triangles[t, 0], triangles[t, 1], triangles[t, 2]
    return _point_triangle_d2(points[i, 0], points[i, 1], points[i, 2],
                              vertices[a, 0], vertices[a, 1], vertices[a, 2],
                              vertices[b, 0], vertices[b, 1], vertices[b, 2],
                              vertices[c, 0], vertices[c, 1], vertices[c, 2])


@njit(cache=True)
def point_mesh_distance(points, vertices, triangles, lo, hi):
    """Distance [m] of each point to the nearest triangle; a triangle whose bounding box
    (``lo``, ``hi``) is farther than the best distance so far is skipped, the search starting
    from the triangle with the nearest box."""
    n = points.shape[0]
    m = triangles.shape[0]
    out = np.empty(n)
    for i in range(n):
        px, py, pz = points[i, 0], points[i, 1], points[i, 2]
        first = 0
        lb = np.inf
        for t in range(m):
            g = _box_d2(lo, hi, t, px, py, pz)
            if g < lb:
                lb = g
                first = t
        best = _triangle_d2(points, i, vertices, triangles, first)
        for t in range(m):
            if t == first or _box_d2(lo, hi, t, px, py, pz) >= best:
                continue
            d2 = _triangle_d2(points, i, vertices, triangles, t)
            if d2 < best:
                best = d2
        out[i] = np.sqrt(best)
    return out
