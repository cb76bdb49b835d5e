"""Routing points to boxes: which points of a chunk fall in which (possibly overlapping) box.

Used to spill big inputs into blocks (:mod:`lidar.execution.spill`) and to keep each ground point
in one block only (:func:`lidar.execution.run.owned_ground`).
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import InputError
from lidar.points._kernels import stable_order_by_key

__all__ = ["BoxRouter", "route_points", "check_bboxes"]


class BoxRouter:
    """Blocks' bounding boxes hashed on a regular grid of cells, so that a chunk's points are
    tested only against the boxes of the cells they fall in."""

    def __init__(self, bboxes_m: np.ndarray) -> None:
        self.bboxes = bboxes_m
        side = np.maximum(bboxes_m[:, 2] - bboxes_m[:, 0], bboxes_m[:, 3] - bboxes_m[:, 1])
        self.cell_m = float(max(np.median(side), 1.0))
        self.x0, self.y0 = float(bboxes_m[:, 0].min()), float(bboxes_m[:, 1].min())
        self.nx = int(np.floor((bboxes_m[:, 2].max() - self.x0) / self.cell_m)) + 1
        self.ny = int(np.floor((bboxes_m[:, 3].max() - self.y0) / self.cell_m)) + 1
        c0 = np.floor((bboxes_m[:, :2] - (self.x0, self.y0)) / self.cell_m).astype(np.int64)
        c1 = np.floor((bboxes_m[:, 2:] - (self.x0, self.y0)) / self.cell_m).astype(np.int64)
        self.cells: dict[int, list[int]] = {}
        for b in range(len(bboxes_m)):  # a loop over blocks and their cells, not over points
            for cy in range(c0[b, 1], c1[b, 1] + 1):
                for cx in range(c0[b, 0], c1[b, 0] + 1):
                    self.cells.setdefault(cy * self.nx + cx, []).append(b)

    def route(self, xy: np.ndarray) -> dict[int, np.ndarray]:
        """Block number to the sorted indices of the points ``xy`` (n, 2) [m] inside its box."""
        cx = np.floor((xy[:, 0] - self.x0) / self.cell_m)
        cy = np.floor((xy[:, 1] - self.y0) / self.cell_m)
        ok = (cx >= 0) & (cx < self.nx) & (cy >= 0) & (cy < self.ny)
        pts = np.flatnonzero(ok)
        key = cy[pts].astype(np.int64) * self.nx + cx[pts].astype(np.int64)
        # the points by cell, in index order within a cell (a stable counting sort)
        order, starts = stable_order_by_key(key, self.nx * self.ny)
        uniq = np.flatnonzero(starts[1:] > starts[:-1])
        start, end = starts[uniq], starts[uniq + 1]
        parts: dict[int, list[np.ndarray]] = {}
        for u, s, e in zip(uniq.tolist(), start.tolist(), end.tolist(), strict=True):  # over cells
            blocks = self.cells.get(u)
            if not blocks:
                continue
            idx = pts[order[s:e]]
            x, y = xy[idx, 0], xy[idx, 1]
            for b in blocks:
                bb = self.bboxes[b]
                m = (x >= bb[0]) & (x <= bb[2]) & (y >= bb[1]) & (y <= bb[3])
                if m.any():
                    parts.setdefault(b, []).append(idx[m])
        # file order within each block, as a read with the block's bounding box would give
        return {b: np.sort(np.concatenate(p)) for b, p in parts.items()}


def route_points(xy_m: np.ndarray, bboxes_m: np.ndarray) -> dict[int, np.ndarray]:
    """Indices of the points inside each bounding box (edges included).

    Parameters
    ----------
    xy_m : (n, 2) float64
        Point coordinates [m].
    bboxes_m : (m, 4) float64
        ``(xmin, ymin, xmax, ymax)`` per block [m]; boxes may overlap.

    Returns
    -------
    dict of int to (k,) int64
        Block number to the sorted indices of its points; blocks without points are absent.
    """
    xy = np.asarray(xy_m, dtype=np.float64)
    bb = check_bboxes(bboxes_m)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise InputError(f"route_points: xy_m must be (n, 2), got shape {xy.shape}")
    return BoxRouter(bb).route(xy) if len(xy) else {}


def check_bboxes(bboxes_m) -> np.ndarray:
    """``bboxes_m`` as (m, 4) float64; InputError unless finite with min <= max."""
    bb = np.asarray(bboxes_m, dtype=np.float64).reshape(-1, 4)
    if not len(bb) or not np.isfinite(bb).all() or (bb[:, 2] < bb[:, 0]).any() or (bb[:, 3] < bb[:, 1]).any():
        raise InputError(f"block bounding boxes must be finite (xmin, ymin, xmax, ymax) with min <= max, got {bb[:3]}...")
    return bb
