"""Terrain from ground points that arrive block by block, without holding them all (private).

:class:`TerrainAccumulator` takes each block's ground points once (:meth:`add`): it adds them to
grid sums (the DTM at its resolution and the coarse grid that seeds the TIN, both aligned on
multiples of their cell size so that the grids do not depend on the blocks) and stores them,
in a folder (one ``.npy`` per block) or in memory for small runs. At the end:

- :meth:`dtm`: the cell means, cropped to the cells with ground, gaps Laplace-filled;
- :meth:`tin`: a coarse TIN (greedy insertion over the coarse grid's cell centres) with the
  corners of the ground's bounding box, refined by :func:`lidar.terrain.tin.refine_tin` against every
  stored ground point, one block at a time, so that the vertical error bound holds for all of them.

Memory: the grids (cells, not points), one block of points, and the TIN.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from citymodel.errors import InputError, PointCloudError
from lidar.terrain.dtm import fill_nodata_laplace, sample_grid
from lidar.terrain.tin import refine_tin, simplify_tin

#: The coarse grid that seeds the TIN has at most this many cells.
TIN_SEED_CELLS = 6000


class _AlignedGrid:
    """Sums and counts of z on a north-up grid whose lines are multiples of ``res`` [m]."""

    def __init__(self, extent_m: tuple[float, float, float, float], res: float) -> None:
        self.res = float(res)
        xmin, ymin, xmax, ymax = extent_m
        xmin, ymin, xmax, ymax = xmin - res, ymin - res, xmax + res, ymax + res  # LAS header rounding
        self.x0 = math.floor(xmin / res) * res
        self.ytop = (math.floor(ymax / res) + 1) * res
        self.nx = int(math.floor((xmax - self.x0) / res)) + 1
        self.ny = int(math.floor((self.ytop - ymin) / res)) + 1
        self.sum = np.zeros(self.ny * self.nx)
        self.cnt = np.zeros(self.ny * self.nx, np.int64)

    def add(self, xyz: np.ndarray) -> None:
        if not len(xyz):
            return
        cols = np.floor((xyz[:, 0] - self.x0) / self.res).astype(np.int64)
        rows = np.floor((self.ytop - xyz[:, 1]) / self.res).astype(np.int64)
        ok = (rows >= 0) & (rows < self.ny) & (cols >= 0) & (cols < self.nx)
        if not ok.all():
            raise InputError(f"terrain: {int((~ok).sum())} ground points fall outside the files' extent "
                             f"(x {self.x0:.1f}.., y ..{self.ytop:.1f}); check the LAS headers' bounds")
        flat = rows * self.nx + cols
        lo = int(flat.min())  # a block covers few rows: count over its span only, not the grid
        span = int(flat.max()) - lo + 1
        self.sum[lo:lo + span] += np.bincount(flat - lo, weights=xyz[:, 2], minlength=span)
        self.cnt[lo:lo + span] += np.bincount(flat - lo, minlength=span)

    def mean(self) -> tuple[np.ndarray, Affine]:
        """(ny, nx) cell means (NaN where empty), cropped to the cells with points, and transform."""
        cnt = self.cnt.reshape(self.ny, self.nx)
        rows = np.flatnonzero(cnt.any(axis=1))
        cols = np.flatnonzero(cnt.any(axis=0))
        if not len(rows):
            raise PointCloudError("terrain: no ground points; the terrain needs ground (class 2) points")
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        s = self.sum.reshape(self.ny, self.nx)[r0:r1, c0:c1]
        n = cnt[r0:r1, c0:c1]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(n > 0, s / np.maximum(n, 1), np.nan)
        return m, Affine(self.res, 0.0, self.x0 + c0 * self.res, 0.0, -self.res, self.ytop - r0 * self.res)


class TerrainAccumulator:
    """Ground points in, block by block; DTM grid and error-bounded TIN out.

    Parameters
    ----------
    extent_m : (xmin, ymin, xmax, ymax)
        Box holding every ground point that will be added [m] (the files' extent).
    dtm_resolution_m : float, optional
        Cell size of the DTM [m]; ``None``: no DTM.
    tin : bool
        Keep the points for the TIN.
    folder : path, optional
        Store each block's points there (``ground_<k>.npy``); ``None``: in memory.
    """

    def __init__(self, extent_m, *, dtm_resolution_m: float | None = None, tin: bool = True,
                 folder: str | os.PathLike | None = None) -> None:
        ext = tuple(float(v) for v in extent_m)
        if len(ext) != 4 or not all(map(math.isfinite, ext)) or ext[2] < ext[0] or ext[3] < ext[1]:
            raise InputError(f"terrain: extent must be finite (xmin, ymin, xmax, ymax), got {extent_m!r}")
        self.extent = ext
        area = max((ext[2] - ext[0]) * (ext[3] - ext[1]), 1.0)
        self.seed = _AlignedGrid(ext, max(1.0, math.sqrt(area / TIN_SEED_CELLS))) if tin else None
        self.dtm_grid = _AlignedGrid(ext, dtm_resolution_m) if dtm_resolution_m is not None else None
        self.folder = Path(folder) if folder is not None else None
        self._mem: list[np.ndarray] = []
        self._files: list[Path] = []
        self.lo = np.array([np.inf, np.inf])
        self.hi = np.array([-np.inf, -np.inf])
        self.n_points = 0

    def add(self, ground_xyz: np.ndarray) -> None:
        """Take one block's ground points ((n, 3) float64 [m], each point in one block only)."""
        g = np.ascontiguousarray(ground_xyz, dtype=np.float64).reshape(-1, 3)
        g = g[np.isfinite(g).all(axis=1)]
        if not len(g):
            return
        self.n_points += len(g)
        self.lo = np.minimum(self.lo, g[:, :2].min(axis=0))
        self.hi = np.maximum(self.hi, g[:, :2].max(axis=0))
        if self.dtm_grid is not None:
            self.dtm_grid.add(g)
        if self.seed is not None:
            self.seed.add(g)
            if self.folder is None:
                self._mem.append(g)
            else:
                path = self.folder / f"ground_{len(self._files)}.npy"
                np.save(path, g)
                self._files.append(path)

    def batches(self) -> Iterator[np.ndarray]:
        """The stored ground points, one block at a time."""
        yield from self._mem
        for p in self._files:
            yield np.load(p)

    def dtm(self) -> tuple[np.ndarray, Affine]:
        """(ny, nx) float32 DTM [m] (cell means, gaps Laplace-filled) and its transform."""

        if self.dtm_grid is None:
            raise InputError("terrain: no DTM resolution was given")
        m, tr = self.dtm_grid.mean()
        return fill_nodata_laplace(m).astype(np.float32), tr

    def tin(self, max_error_m: float = 0.2, stats: dict[str, Any] | None = None,
            delaunay_fraction: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """TIN within ``max_error_m`` [m] of every added ground point: (k, 3) vertices, (t, 3) triangles."""

        if self.seed is None:
            raise InputError("terrain: the accumulator was made with tin=False")
        if self.n_points < 3 or np.any(self.hi - self.lo <= 0):
            raise PointCloudError(f"terrain: {self.n_points} ground points, collinear or too few for a TIN")
        m, tr = self.seed.mean()
        g = fill_nodata_laplace(m)
        ny, nx = g.shape
        cols, rows = np.meshgrid(np.arange(nx), np.arange(ny))
        cx = (tr.c + (cols + 0.5) * tr.a).ravel()
        cy = (tr.f + (rows + 0.5) * tr.e).ravel()
        corners = np.array([[self.lo[0], self.lo[1]], [self.hi[0], self.lo[1]], [self.hi[0], self.hi[1]],
                            [self.lo[0], self.hi[1]]])
        seed = [np.column_stack([corners, sample_grid(corners, g, tr)])]
        inside = (cx > self.lo[0]) & (cx < self.hi[0]) & (cy > self.lo[1]) & (cy < self.hi[1])
        if inside.sum() >= 3 and np.ptp(cx[inside]) > 0 and np.ptp(cy[inside]) > 0:
            v, _ = simplify_tin(np.column_stack([cx[inside], cy[inside], g.ravel()[inside]]), max_error_m)
            seed.append(v[4:])  # inserted cell centres; the TIN's own corners are replaced by the ground's
        return refine_tin(np.vstack(seed), self.batches, max_error_m, stats=stats, delaunay_fraction=delaunay_fraction)
