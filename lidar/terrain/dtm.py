"""Digital terrain model: ground points to a gap-free grid, GeoTIFF output, height above ground.

Grids are north-up ``(ny, nx)`` arrays with a rasterio ``Affine`` transform
``Affine(res, 0, xmin, 0, -res, ymax)``; values are heights [m] in the point cloud's vertical
datum. Cells without ground points (under buildings, water) are filled by Laplace
interpolation (the harmonic surface that matches every known cell), so the grid has no NaN.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from affine import Affine

from citymodel._fileutil import atomic_path, check_output
from citymodel.crs import horizontal_epsg
from citymodel.errors import InputError, PointCloudError
from lidar.terrain import _kernels

__all__ = [
    "highest_per_cell",
    "make_dtm",
    "write_dtm_geotiff",
    "write_float_geotiff",
    "height_above_ground",
    "grid_geometry",
    "fill_nodata_laplace",
    "cell_index",
]


def grid_geometry(
    bounds: Sequence[float], resolution_m: float
) -> tuple[int, int, Affine]:
    """Grid shape and transform covering ``bounds`` (xmin, ymin, xmax, ymax) at ``resolution_m``.

    Returns
    -------
    ny, nx : int
    transform : Affine
        ``Affine(res, 0, xmin, 0, -res, ymax')`` with ``ymax' = ymin + ny * res``.
    """
    res = float(resolution_m)
    if not (res > 0 and math.isfinite(res)):
        raise InputError(f"resolution_m must be a positive number, got {resolution_m!r}")
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not all(map(math.isfinite, (xmin, ymin, xmax, ymax))) or xmax < xmin or ymax < ymin:
        raise InputError(f"bounds must be finite (xmin, ymin, xmax, ymax), got {tuple(bounds)!r}")
    nx = max(1, int(math.ceil((xmax - xmin) / res - 1e-9)))
    ny = max(1, int(math.ceil((ymax - ymin) / res - 1e-9)))
    # a point on the max edge falls in the last cell: extend by one cell when it would not
    if xmin + nx * res <= xmax:
        nx += 1
    if ymin + ny * res <= ymax:
        ny += 1
    return ny, nx, Affine(res, 0.0, xmin, 0.0, -res, ymin + ny * res)


def cell_index(xy: np.ndarray, transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column (int64) and inside-mask of points ``xy (n, 2)`` on a north-up grid."""
    res = transform.a
    x0, y0 = transform.c, transform.f
    cols = np.floor((xy[:, 0] - x0) / res).astype(np.int64)
    rows = np.floor((y0 - xy[:, 1]) / res).astype(np.int64)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return rows, cols, inside


def highest_per_cell(rows: np.ndarray, cols: np.ndarray, z_m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Highest z per cell of a grid (a DSM), NaN where no point falls.

    Parameters
    ----------
    rows, cols : (n,) int64
        Cell of each point (inside ``shape``).
    z_m : (n,) float64
        Heights [m].
    shape : (ny, nx)
        Grid shape.

    Returns
    -------
    (ny, nx) float64
        [m]
    """
    z = np.asarray(z_m, dtype=np.float64)
    return -_kernels.grid_min(np.asarray(rows, np.int64), np.asarray(cols, np.int64), -z, int(shape[0]), int(shape[1]))


def fill_nodata_laplace(grid: np.ndarray) -> np.ndarray:
    """Fill NaN cells with the harmonic interpolant of the known cells (4-neighbour Laplace).

    Each unknown cell equals the mean of its grid neighbours; one sparse linear solve.

    Parameters
    ----------
    grid : (ny, nx) float
        With NaN where unknown.

    Returns
    -------
    (ny, nx) float64
        No NaN (unless every cell was NaN, which raises).
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    g = np.array(grid, dtype=np.float64)
    unknown = ~np.isfinite(g)
    n_unknown = int(unknown.sum())
    if n_unknown == 0:
        return g
    if n_unknown == g.size:
        raise InputError("cannot fill a grid that has no known cell")
    ny, nx = g.shape
    uid = np.full(g.shape, -1, np.int64)
    uid[unknown] = np.arange(n_unknown)
    ur, uc = np.nonzero(unknown)
    diag = np.zeros(n_unknown)
    rhs = np.zeros(n_unknown)
    rows_l: list[np.ndarray] = []
    cols_l: list[np.ndarray] = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        nr, nc = ur + dr, uc + dc
        ok = (nr >= 0) & (nr < ny) & (nc >= 0) & (nc < nx)
        idx = np.flatnonzero(ok)
        diag[idx] += 1.0
        nbu = uid[nr[idx], nc[idx]]
        is_u = nbu >= 0
        rows_l.append(idx[is_u])
        cols_l.append(nbu[is_u])
        known_idx = idx[~is_u]
        rhs[known_idx] += g[nr[known_idx], nc[known_idx]]
    r = np.concatenate(rows_l)
    c = np.concatenate(cols_l)
    a = sp.coo_matrix(
        (np.concatenate([diag, -np.ones(r.size)]), (np.concatenate([np.arange(n_unknown), r]), np.concatenate([np.arange(n_unknown), c]))),
        shape=(n_unknown, n_unknown),
    ).tocsr()
    if n_unknown <= 200_000:
        sol = spla.spsolve(a.tocsc(), rhs)
    else:  # large: conjugate gradients with a Jacobi preconditioner (the matrix is SPD)
        m = sp.diags(1.0 / diag)
        x0 = np.full(n_unknown, np.nanmean(g))
        sol, _ = spla.cg(a, rhs, x0=x0, rtol=1e-8, maxiter=5000, M=m)
    g[unknown] = sol
    return g


def make_dtm(
    ground_xyz: np.ndarray,
    resolution_m: float = 0.5,
    bounds: Sequence[float] | None = None,
) -> tuple[np.ndarray, Affine]:
    """Grid ground points into a gap-free DTM.

    Each cell takes the mean height of its ground points; empty cells (under buildings, over
    water) are filled by Laplace interpolation (:func:`fill_nodata_laplace`).

    Parameters
    ----------
    ground_xyz : (n, 3) float64
        Ground points [m].
    resolution_m : float
        Cell size [m].
    bounds : (xmin, ymin, xmax, ymax), optional
        Grid extent [m]; default the ground points' extent.

    Returns
    -------
    grid : (ny, nx) float32
        Terrain height [m] at cell centres, north-up.
    transform : affine.Affine
        ``Affine(res, 0, xmin, 0, -res, ymax)``.

    Raises
    ------
    PointCloudError
        No ground point inside ``bounds``.
    """
    xyz = np.asarray(ground_xyz, dtype=np.float64).reshape(-1, 3)
    finite = np.isfinite(xyz).all(axis=1)
    xyz = xyz[finite]
    if xyz.shape[0] == 0:
        raise PointCloudError("make_dtm: no ground points; the DTM needs ground (class 2) points")
    if bounds is None:
        bounds = (*xyz[:, :2].min(axis=0), *xyz[:, :2].max(axis=0))
    ny, nx, transform = grid_geometry(bounds, resolution_m)
    rows, cols, inside = cell_index(xyz[:, :2], transform, (ny, nx))
    if not inside.any():
        raise PointCloudError(f"make_dtm: no ground point inside bounds {tuple(bounds)!r}")
    flat = rows[inside] * nx + cols[inside]
    s = np.bincount(flat, weights=xyz[inside, 2], minlength=ny * nx)
    cnt = np.bincount(flat, minlength=ny * nx)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan).reshape(ny, nx)
    grid = fill_nodata_laplace(mean).astype(np.float32)
    return grid, transform


def height_above_ground(xyz: np.ndarray, grid: np.ndarray, transform: Affine) -> np.ndarray:
    """Height of points above a DTM, by bilinear interpolation of the grid [m].

    Parameters
    ----------
    xyz : (n, 3) float64
        Points [m].
    grid : (ny, nx) float
        DTM heights at cell centres (north-up, no NaN).
    transform : affine.Affine
        North-up grid transform (``transform.e < 0``, square cells).

    Returns
    -------
    (n,) float64
        ``z - dtm(x, y)`` [m]; points beyond the grid use the nearest border cells.
    """
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise InputError(f"height_above_ground: grid must be a non-empty 2D array, got shape {g.shape}")
    if not (transform.b == 0 and transform.d == 0 and transform.e < 0 and abs(transform.a + transform.e) < 1e-9 * abs(transform.a)):
        raise InputError("height_above_ground: the grid must be north-up with square cells")
    ground = _kernels.bilinear(g, float(transform.c), float(transform.f), float(transform.a),
                               np.ascontiguousarray(xyz[:, 0]), np.ascontiguousarray(xyz[:, 1]))
    return xyz[:, 2] - ground


def sample_grid(xy: np.ndarray, grid: np.ndarray, transform: Affine) -> np.ndarray:
    """Bilinear grid values at points ``xy (n, 2)`` [grid units]."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    z = np.zeros((xy.shape[0], 3))
    z[:, :2] = xy
    return -height_above_ground(z, grid, transform)


def write_dtm_geotiff(
    grid: np.ndarray,
    transform: Affine,
    epsg: int | None,
    path: str | os.PathLike,
    overwrite: bool = False,
) -> None:
    """Write a DTM as a single-band float32 GeoTIFF (deflate, tiled), atomically.

    Parameters
    ----------
    grid : (ny, nx) float
        Heights [m].
    transform : affine.Affine
    epsg : int or None
        CRS of the grid (a compound code such as 7415 is written as is).
    path : path
        Output .tif.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    from rasterio.crs import CRS

    g = np.asarray(grid, dtype=np.float32)
    if g.ndim != 2:
        raise InputError(f"write_dtm_geotiff: grid must be 2D, got shape {g.shape}")
    check_output(path, overwrite)
    crs = None
    if epsg is not None:
        try:
            crs = CRS.from_epsg(int(epsg))
        except Exception:
            crs = CRS.from_epsg(horizontal_epsg(int(epsg)))
    write_float_geotiff(g, transform, crs, path, overwrite=overwrite,
                        tags={"units": "m", "description": "terrain height (DTM)"})


def write_float_geotiff(grid: np.ndarray, transform: Affine, crs, path: str | os.PathLike, *,
                        overwrite: bool = False, tags: dict[str, str] | None = None) -> None:
    """Write a grid as a single-band float32 GeoTIFF (NaN no data, deflate, tiled when large),
    atomically (a temporary file renamed when complete); ``tags`` go on the band.

    Parameters
    ----------
    grid : (ny, nx) float
    transform : affine.Affine
    crs : rasterio CRS, str or None
    path : path
        Output .tif.
    overwrite : bool
        Replace an existing file.
    tags : dict, optional
        Band tags (e.g. ``units``, ``description``).
    """
    import rasterio

    g = np.asarray(grid, dtype=np.float32)
    check_output(path, overwrite)
    profile = {"driver": "GTiff", "height": g.shape[0], "width": g.shape[1], "count": 1, "dtype": "float32",
               "crs": crs, "transform": transform, "nodata": np.float32(np.nan), "compress": "deflate"}
    if g.shape[0] >= 256 and g.shape[1] >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(g, 1)
            if tags:
                dst.update_tags(1, **tags)
