"""Numba kernels of the point side (private): a counting sort of points by grid cell.

The public users (:class:`lidar.points.select.GridIndex`, :class:`lidar.points.route.BoxRouter`)
validate their input.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def stable_order_by_key(keys, n_keys):
    """The permutation that sorts ``keys`` (n,) int64 in [0, n_keys) ascending, ties in index
    order: ``np.argsort(keys, kind="stable")`` in O(n + n_keys). Also returns ``starts``
    (n_keys + 1,) int64: the first position of each key in the sorted order."""
    starts = np.zeros(n_keys + 1, np.int64)
    for i in range(keys.shape[0]):
        starts[keys[i] + 1] += 1
    for k in range(n_keys):
        starts[k + 1] += starts[k]
    pos = starts[:-1].copy()
    order = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        k = keys[i]
        order[pos[k]] = i
        pos[k] += 1
    return order, starts
