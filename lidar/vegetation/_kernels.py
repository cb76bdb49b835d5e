"""Numba kernels of lidar.vegetation (private: called by the public modules around them)."""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def prominence(height: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Topographic prominence of every peak cell of a grid (see :func:`prominence_kernel`).

    The cells' order, highest first (stable), is sorted here by numpy: numba's compiled
    merge sort cost most of this kernel's 3 s of compilation.
    """
    order = np.argsort(-np.ascontiguousarray(height, dtype=np.float64).ravel(), kind="mergesort")
    return prominence_kernel(height, mask, order)


@numba.njit(cache=True)
def prominence_kernel(height: np.ndarray, mask: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Topographic prominence of every peak cell of a grid (8-neighbours), inf for the highest.

    Cells are added from the highest down; a cell joining two patches ends the one with the
    lower peak, whose prominence is its peak height minus this cell's height (the saddle).

    Parameters
    ----------
    height : (ny, nx) float64
        Heights [m].
    mask : (ny, nx) bool
        Cells taking part (others are never crossed).
    order : (ny * nx,) int64
        Flat cell indices by decreasing height, ties in index order (a stable sort).

    Returns
    -------
    (ny, nx) float64
        Prominence [m] at each patch's peak cell, inf at the highest peak of each connected
        part of ``mask``, 0 elsewhere.
    """
    ny, nx = height.shape
    flat = height.ravel()
    m = mask.ravel()
    parent = np.arange(ny * nx)
    done = np.zeros(ny * nx, dtype=np.bool_)
    prom = np.zeros(ny * nx)
    for k in range(order.size):
        i = order[k]
        if not m[i]:
            continue
        done[i] = True
        prom[i] = np.inf  # a peak until it is joined to a higher patch
        r, c = i // nx, i % nx
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                rr, cc = r + dr, c + dc
                if (dr == 0 and dc == 0) or rr < 0 or rr >= ny or cc < 0 or cc >= nx:
                    continue
                j = rr * nx + cc
                if not done[j]:
                    continue
                ri, rj = _root(parent, i), _root(parent, j)
                if ri == rj:
                    continue
                # roots are the patches' peaks: the lower one ends here
                if flat[ri] < flat[rj] or (flat[ri] == flat[rj] and ri > rj):
                    lo, hi = ri, rj
                else:
                    lo, hi = rj, ri
                if lo != i:
                    prom[lo] = flat[lo] - flat[i]
                else:
                    prom[lo] = 0.0  # a cell joining a higher patch is no peak
                parent[lo] = hi
    return prom.reshape(ny, nx)
