"""Terrain slope from a DTM (Horn's method), for rain run-off and exposure studies.

``slope_deg(grid, cell_m)`` works on arrays; ``write_slope_geotiff`` and ``slope_from_dtm``
write the slope GeoTIFF (degrees, float32) through a temporary file and a rename.

Horn (1981) takes the gradient from the 3 x 3 neighbourhood with weights 1-2-1:

    dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 dx)
    dz/dy = ((g + 2h + i) - (a + 2b + c)) / (8 dy)

for the cells ``a b c / d e f / g h i`` (rows north to south), and the slope is
``atan(hypot(dz/dx, dz/dy))``. Edge cells use their nearest inner neighbour for the missing ones
(edge replication), so a plane keeps its exact slope up to the border. A cell next to a
no-data (NaN) cell, or one without data itself, gets NaN.
"""

from __future__ import annotations

import os

import numpy as np
from affine import Affine

from citymodel._fileutil import check_output
from citymodel.errors import InputError
from lidar.terrain.dtm import write_float_geotiff

__all__ = ["slope_deg", "write_slope_geotiff", "slope_from_dtm", "SLOPE_RESOLUTION_M"]

#: Cell size of the slope GeoTIFF written by ``citymodel build --slope-out`` [m]: the 0.5 m DTM
#: is averaged to it first, since height noise of a few centimetres per 0.5 m cell gives slope
#: noise of about a degree, and run-off follows the slope over metres, not decimetres.
SLOPE_RESOLUTION_M = 2.0


def _aggregate(z: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``k x k`` blocks (NaN ignored; a block without data stays NaN); ragged edges kept."""
    ny, nx = z.shape
    py, px = (-ny) % k, (-nx) % k
    p = np.pad(z, ((0, py), (0, px)), constant_values=np.nan).reshape((ny + py) // k, k, (nx + px) // k, k)
    n = np.isfinite(p).sum(axis=(1, 3))
    tot = np.nansum(p, axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, tot / n, np.nan)


def slope_deg(grid: np.ndarray, cell_m: float, cell_y_m: float | None = None) -> np.ndarray:
    """Slope of a height grid by Horn's method [deg].

    Parameters
    ----------
    grid : (ny, nx) float
        Heights [m], rows from north to south (GeoTIFF order); NaN for no data.
    cell_m : float
        Cell width (east-west) [m].
    cell_y_m : float, optional
        Cell height (north-south) [m]; ``cell_m`` when None.

    Returns
    -------
    (ny, nx) float64
        Slope from horizontal [deg], 0..90; NaN where the cell or its 3 x 3 neighbourhood has no data.

    Raises
    ------
    InputError
        Not a 2D grid, smaller than 2 x 2, or a non-positive cell size.
    """
    z = np.asarray(grid, dtype=np.float64)
    dy_m = cell_m if cell_y_m is None else cell_y_m
    if z.ndim != 2 or min(z.shape) < 2:
        raise InputError(f"slope_deg: the DTM must be a 2D grid of at least 2 x 2 cells, got shape {z.shape}")
    if not (cell_m > 0 and dy_m > 0):
        raise InputError(f"slope_deg: cell sizes must be > 0, got {cell_m}, {dy_m}")
    p = np.pad(z, 1, mode="edge")
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    # on the border, edge replication halves the step: the difference spans one cell, not two
    wx = np.full(z.shape[1], 2.0)
    wx[0] = wx[-1] = 1.0
    wy = np.full(z.shape[0], 2.0)
    wy[0] = wy[-1] = 1.0
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (4.0 * wx[None, :] * cell_m)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (4.0 * wy[:, None] * dy_m)
    out = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    out[np.isnan(z)] = np.nan  # Horn's stencil skips the centre cell
    return out


def write_slope_geotiff(slope: np.ndarray, transform, crs, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write a slope grid as a float32 GeoTIFF [deg] (deflate), atomically.

    Parameters
    ----------
    slope : (ny, nx) float
        Slope [deg]; NaN is written as no data.
    transform : affine.Affine
        Grid transform (from the DTM).
    crs : rasterio CRS, str or None
        CRS of the grid (from the DTM).
    path : path
        Output .tif.
    overwrite : bool
        Replace an existing file.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    write_float_geotiff(slope, transform, crs, path, overwrite=overwrite,
                        tags={"units": "deg", "description": "terrain slope from horizontal, Horn (1981) 3x3 method"})


def slope_from_dtm(
    dtm_path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    resolution_m: float | None = None,
    overwrite: bool = False,
) -> np.ndarray:
    """Read a DTM GeoTIFF, write its slope GeoTIFF [deg] and return the slope.

    Parameters
    ----------
    dtm_path : path
        Single-band DTM GeoTIFF [m] in a projected CRS (metres), e.g. from ``citymodel build --dtm``.
    out_path : path
        Slope GeoTIFF to write.
    resolution_m : float, optional
        Slope cell size [m]: the DTM is averaged over blocks of ``round(resolution_m / cell)``
        cells first (same origin). None: the DTM's own grid.
    overwrite : bool
        Replace an existing ``out_path``.

    Returns
    -------
    (ny, nx) float64
        The slope [deg].

    Raises
    ------
    InputError
        The DTM is not a readable raster, has no CRS, or a geographic CRS (degrees, not metres).
    """
    import rasterio

    check_output(out_path, overwrite)
    try:
        ds = rasterio.open(dtm_path)
    except rasterio.errors.RasterioIOError as e:
        raise InputError(f"{dtm_path}: not a readable DTM raster ({e}); pass a GeoTIFF") from e
    with ds:
        if ds.crs is None or ds.crs.is_geographic:
            what = "has no CRS" if ds.crs is None else f"is in a geographic CRS ({ds.crs})"
            raise InputError(f"{dtm_path}: the DTM {what}; a projected CRS in metres is needed for a slope")
        z = ds.read(1, masked=True).filled(np.nan).astype(np.float64)
        tf, crs = ds.transform, ds.crs
    k = 1 if resolution_m is None else max(1, int(round(resolution_m / abs(tf.a))))
    if k > 1:
        z, tf = _aggregate(z, k), tf @ Affine.scale(k, k)
    s = slope_deg(z, abs(tf.a), abs(tf.e))
    write_slope_geotiff(s, tf, crs, out_path, overwrite=overwrite)
    return s
