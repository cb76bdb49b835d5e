"""LoD1.3: the footprint split into flat parts by roof height; steps under 3 m dissolved.

Every raster cell over the footprint takes the height of its nearest roof points; heights are
grouped where sorted heights jump by more than ``jump_m``, connected cells of one group make
a region, and adjacent regions whose heights differ by less than ``min_step_m`` are merged
(smallest difference first) until every remaining step is at least ``min_step_m``. Each part
is a prism at the 70th percentile of its cells' heights.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from lidar.reconstruct.extrude import Shell, extrude
from lidar.reconstruct.partition import (
    Grid,
    Partition,
    make_grid,
    merge_small_regions,
    partition_from_labels,
)

__all__ = ["lod13_labels", "lod13_shell", "MIN_STEP_M"]

#: Height steps smaller than this are dissolved in LoD1.3 [m] (3DBAG's choice).
MIN_STEP_M = 3.0


def _cell_heights(grid: Grid, roof_xyz: np.ndarray, k: int = 4) -> np.ndarray:
    kk = min(k, len(roof_xyz))
    _, idx = cKDTree(roof_xyz[:, :2]).query(grid.centres, k=kk)
    idx = idx.reshape(len(grid.centres), kk)
    return np.median(roof_xyz[idx, 2], axis=1)


def lod13_labels(grid: Grid, roof_xyz: np.ndarray, min_step_m: float = MIN_STEP_M, jump_m: float = 1.0,
                 min_part_m2: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Label raster of LoD1.3 parts and the height of each label.

    Returns
    -------
    labels : (h, w) int64
        Part per cell, -1 outside the mask.
    height_m : (p,) float64
        Height of each part [m] (70th percentile of its cells).
    """
    hc = _cell_heights(grid, roof_xyz)
    order = np.argsort(hc)
    grp = np.empty(len(hc), dtype=np.int64)
    grp[order] = np.concatenate([[0], np.cumsum(np.diff(hc[order]) > jump_m)])
    g = -np.ones(grid.mask.shape, dtype=np.int64)
    g[grid.mask] = grp
    hmap = np.full(grid.mask.shape, np.nan)
    hmap[grid.mask] = hc
    # connected regions per group
    lab = -np.ones_like(g)
    nxt = 0
    for v in np.unique(grp):
        comp, n = ndimage.label(g == v)
        sel = comp > 0
        lab[sel] = comp[sel] - 1 + nxt
        nxt += n
    lab = merge_small_regions(lab, max(1, int(min_part_m2 / grid.cell_m**2)))
    # merge adjacent regions with small steps, smallest step first
    while True:
        ids = np.unique(lab[lab >= 0])
        if len(ids) <= 1:
            break
        med = {int(i): float(np.percentile(hmap[lab == i], 70)) for i in ids}
        pairs = set()
        for a, b in ((lab[:, :-1], lab[:, 1:]), (lab[:-1, :], lab[1:, :])):
            m = (a >= 0) & (b >= 0) & (a != b)
            pairs.update(zip(a[m].tolist(), b[m].tolist(), strict=False))
        if not pairs:
            break
        best = min(pairs, key=lambda p: abs(med[p[0]] - med[p[1]]))
        if abs(med[best[0]] - med[best[1]]) >= min_step_m:
            break
        sa, sb = (lab == best[0]).sum(), (lab == best[1]).sum()
        src, dst = (best[0], best[1]) if sa < sb else (best[1], best[0])
        lab[lab == src] = dst
    ids, inv = np.unique(lab[grid.mask], return_inverse=True)
    out = -np.ones_like(lab)
    out[grid.mask] = inv
    heights = np.array([np.percentile(hmap[out == i], 70) for i in range(len(ids))])
    return out, heights


def lod13_shell(footprint: Polygon, roof_xyz: np.ndarray, z_ground_m: float, cell_m: float = 0.5,
                grid: Grid | None = None) -> tuple[Shell, Partition, np.ndarray]:
    """LoD1.3 solid of one footprint part.

    Parameters
    ----------
    footprint : Polygon
    roof_xyz : (n, 3) float64
        Roof points inside the footprint [m].
    z_ground_m : float
        Ground height [m].
    cell_m : float
        Raster cell size [m].

    Returns
    -------
    shell : Shell
    partition : Partition
    face_height_m : (f,) float64
        Height of each face [m].
    """
    grid = grid or make_grid(footprint, cell_m)
    labels, heights = lod13_labels(grid, roof_xyz)
    heights = np.maximum(heights, z_ground_m + 0.5)
    part = partition_from_labels(footprint, grid, labels)
    fh = heights[part.label]
    shell = extrude(part, lambda f, xy: np.full(len(xy), fh[f]), z_ground_m)
    return shell, part, fh
