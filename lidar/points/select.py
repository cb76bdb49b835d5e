"""Points per footprint: a grid index over the points, then a vectorised point-in-polygon.

The index sorts the points once by grid cell (``cell_m`` squares); a bounding-box query then
gathers whole cells with ``np.searchsorted`` (no loop over points), and
:func:`shapely.contains_xy` keeps the points inside the footprint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from citymodel.errors import InputError
from lidar.points._kernels import stable_order_by_key

__all__ = ["GridIndex", "select_footprint_points"]


@dataclass
class GridIndex:
    """Points sorted by square grid cell for fast bounding-box queries.

    Parameters
    ----------
    xy : (n, 2) float64
        Point coordinates [m].
    cell_m : float
        Grid cell size [m].
    """

    xy: np.ndarray
    cell_m: float = 10.0

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] < 2:
            raise InputError(f"GridIndex: xy must have shape (n, 2), got {xy.shape}")
        self.xy = xy[:, :2]
        n = len(xy)
        if n == 0:
            self.origin = np.zeros(2)
            self.nx = self.ny = 1
            self.order = np.zeros(0, dtype=np.int64)
            self.starts = np.zeros(2, dtype=np.int64)
            return
        self.origin = self.xy.min(axis=0)
        ij = np.floor((self.xy - self.origin) / self.cell_m).astype(np.int64)
        self.nx = int(ij[:, 0].max()) + 1
        self.ny = int(ij[:, 1].max()) + 1
        cell = ij[:, 1] * self.nx + ij[:, 0]
        # np.argsort(cell, kind="stable") and the cells' starts, by a counting sort (O(n))
        self.order, self.starts = stable_order_by_key(cell, self.nx * self.ny)

    def query_bbox(self, xmin: float, ymin: float, xmax: float, ymax: float) -> np.ndarray:
        """Indices ``(k,)`` int64 of the points inside the box (edges included)."""
        if len(self.order) == 0:
            return self.order
        i0, j0 = np.floor((np.array([xmin, ymin]) - self.origin) / self.cell_m).astype(np.int64)
        i1, j1 = np.floor((np.array([xmax, ymax]) - self.origin) / self.cell_m).astype(np.int64)
        i0, i1 = max(i0, 0), min(i1, self.nx - 1)
        j0, j1 = max(j0, 0), min(j1, self.ny - 1)
        if i0 > i1 or j0 > j1:
            return np.zeros(0, dtype=np.int64)
        rows = np.arange(j0, j1 + 1) * self.nx
        a = self.starts[rows + i0]
        b = self.starts[rows + i1 + 1]
        lens = b - a
        if lens.sum() == 0:
            return np.zeros(0, dtype=np.int64)
        # concatenate ranges [a, b) without a Python loop over points
        offs = np.repeat(a - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        idx = self.order[np.arange(lens.sum()) + offs]
        p = self.xy[idx]
        keep = (p[:, 0] >= xmin) & (p[:, 0] <= xmax) & (p[:, 1] >= ymin) & (p[:, 1] <= ymax)
        return idx[keep]


def select_footprint_points(
    index: GridIndex, footprint: shapely.Geometry, buffer_m: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Points inside a footprint and in a ring of ``buffer_m`` around it.

    Parameters
    ----------
    index : GridIndex
        Index over all points.
    footprint : Polygon or MultiPolygon
        In the points' CRS [m].
    buffer_m : float
        Width of the ring around the footprint (for ground points) [m].

    Returns
    -------
    inside : (k,) int64
        Indices of the points inside the footprint, ascending (the cloud's order).
    ring : (r,) int64
        Indices of the points within ``buffer_m`` of the footprint but outside it.
    """
    xmin, ymin, xmax, ymax = footprint.bounds
    # in the cloud's order, not the index's: a building gets its points in the same order
    # whatever the tile (and so the grid origin) it was selected from
    cand = np.sort(index.query_bbox(xmin - buffer_m, ymin - buffer_m, xmax + buffer_m, ymax + buffer_m))
    if len(cand) == 0:
        return cand, cand
    xy = index.xy[cand]
    shapely.prepare(footprint)
    inside = shapely.contains_xy(footprint, xy[:, 0], xy[:, 1])
    if buffer_m > 0:
        ring_geom = footprint.buffer(buffer_m, quad_segs=2)
        shapely.prepare(ring_geom)
        ring = shapely.contains_xy(ring_geom, xy[:, 0], xy[:, 1]) & ~inside
    else:
        ring = np.zeros(len(cand), dtype=bool)
    return cand[inside], cand[ring]
