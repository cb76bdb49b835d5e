"""Numba kernels for roof plane detection (private: call :mod:`lidar.reconstruct.roofplanes`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _fit_plane(xyz, idx, count):
    """Least-squares plane through ``xyz[idx[:count]]``: unit normal (nz >= 0) and offset d."""
    cx = 0.0
    cy = 0.0
    cz = 0.0
    for t in range(count):
        i = idx[t]
        cx += xyz[i, 0]
        cy += xyz[i, 1]
        cz += xyz[i, 2]
    cx /= count
    cy /= count
    cz /= count
    c = np.zeros((3, 3))
    for t in range(count):
        i = idx[t]
        dx = xyz[i, 0] - cx
        dy = xyz[i, 1] - cy
        dz = xyz[i, 2] - cz
        c[0, 0] += dx * dx
        c[0, 1] += dx * dy
        c[0, 2] += dx * dz
        c[1, 1] += dy * dy
        c[1, 2] += dy * dz
        c[2, 2] += dz * dz
    c[1, 0] = c[0, 1]
    c[2, 0] = c[0, 2]
    c[2, 1] = c[1, 2]
    w, v = np.linalg.eigh(c)
    n = v[:, 0].copy()
    if n[2] < 0:
        n = -n
    d = -(n[0] * cx + n[1] * cy + n[2] * cz)
    return n, d


@njit(cache=True)
def region_grow(xyz, nbr, normals, order, n_seeds, cos_min, dist_max):
    """Grow planar regions over a k-NN graph.

    Parameters
    ----------
    xyz : (n, 3) float64
        Points (local coordinates) [m].
    nbr : (n, k) int64
        Neighbour indices (-1 for none).
    normals : (n, 3) float64
        Unit point normals.
    order : (n,) int64
        Points by increasing curvature; the first ``n_seeds`` may seed a region.
    cos_min : float
        Smallest |cos| between a point normal and the region's plane normal.
    dist_max : float
        Largest distance of a point to the region's plane [m].

    Returns
    -------
    labels : (n,) int64
        Region of each point, -1 where none.
    """
    n = xyz.shape[0]
    k = nbr.shape[1]
    labels = -np.ones(n, dtype=np.int64)
    queue = np.empty(n, dtype=np.int64)
    lab = 0
    for si in range(n_seeds):
        s = order[si]
        if labels[s] != -1:
            continue
        pn = normals[s].copy()
        pd = -(pn[0] * xyz[s, 0] + pn[1] * xyz[s, 1] + pn[2] * xyz[s, 2])
        labels[s] = lab
        queue[0] = s
        head = 0
        tail = 1
        next_fit = 8
        while head < tail:
            i = queue[head]
            head += 1
            for t in range(k):
                j = nbr[i, t]
                if j < 0 or labels[j] != -1:
                    continue
                c = normals[j, 0] * pn[0] + normals[j, 1] * pn[1] + normals[j, 2] * pn[2]
                if abs(c) < cos_min:
                    continue
                dist = pn[0] * xyz[j, 0] + pn[1] * xyz[j, 1] + pn[2] * xyz[j, 2] + pd
                if abs(dist) > dist_max:
                    continue
                labels[j] = lab
                queue[tail] = j
                tail += 1
            if tail >= next_fit:
                pn, pd = _fit_plane(xyz, queue, tail)
                next_fit = tail * 2
        lab += 1
    return labels


@njit(cache=True)
def label_pairs(nbr, labels):
    """Pairs of different labels that are k-NN neighbours: ``(m, 2)`` int64, each pair once per edge."""
    n, k = nbr.shape
    out = np.empty((n * k, 2), dtype=np.int64)
    m = 0
    for i in range(n):
        a = labels[i]
        if a < 0:
            continue
        for t in range(k):
            j = nbr[i, t]
            if j < 0:
                continue
            b = labels[j]
            if b >= 0 and b != a:
                out[m, 0] = min(a, b)
                out[m, 1] = max(a, b)
                m += 1
    return out[:m]
