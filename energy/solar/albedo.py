"""Per-sensor ground albedo from a GeoTIFF (albedo values 0..1, or land-cover classes + a table).

Each sensor gets the mean albedo of a disc of ground in front of it: radius
``max(min_radius_m, height_factor * height above ground)``, centred on the sensor's ground
footprint moved one radius along the horizontal part of its normal (a wall sees the ground it
faces, a flat roof the ground below it). The disc is sampled by ``n_rings x n_azimuths``
points of equal area; nodata cells and samples outside the raster take ``default``.
"""

from __future__ import annotations

import os

import numpy as np

from citymodel.crs import horizontal_epsg
from citymodel.errors import CRSError, InputError
from citymodel.landcover import SCHEME_TAG, SCHEME_VERSION, albedo_table

__all__ = ["sensor_albedo", "read_albedo_table", "is_albedo_raster"]


def is_albedo_raster(albedo: object) -> bool:
    """True when ``albedo`` names a raster (a path), not a number or ``"weather"``."""
    return isinstance(albedo, os.PathLike) or (isinstance(albedo, str) and albedo != "weather")


def read_albedo_table(path: str | os.PathLike) -> dict[int, float]:
    """Read a ``class,albedo`` CSV (header row with those two names) into ``{class: albedo}``."""
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the albedo table: {exc}") from None
    if not {"class", "albedo"} <= set(df.columns):
        raise InputError(
            f"{path}: the albedo table needs columns 'class,albedo', found {list(df.columns)}"
        )
    cls = pd.to_numeric(df["class"], errors="coerce").to_numpy()
    alb = pd.to_numeric(df["albedo"], errors="coerce").to_numpy()
    bad = ~np.isfinite(cls) | ~np.isfinite(alb) | (alb < 0) | (alb > 1)
    if bad.any():
        raise InputError(
            f"{path}: rows {np.flatnonzero(bad)[:5].tolist()} have no integer class or an "
            "albedo outside 0..1"
        )
    return {int(c): float(a) for c, a in zip(cls, alb, strict=True)}


def _check_crs(src: str, ds_crs, epsg: int | None) -> None:
    from pyproj import CRS


    if epsg is None:
        raise CRSError(f"{src}: the model has no CRS, so the albedo raster cannot be placed")
    if ds_crs is None:
        raise CRSError(
            f"{src}: the albedo raster has no CRS; the model is in EPSG:{epsg} "
            "(write the raster in the model's CRS, e.g. gdal_translate -a_srs)"
        )
    r = CRS.from_user_input(ds_crs.to_wkt())
    if r.is_compound and r.sub_crs_list:
        r = r.sub_crs_list[0]
    m = CRS.from_epsg(horizontal_epsg(int(epsg)))
    if not (r.to_epsg() == m.to_epsg() if r.to_epsg() is not None else r.equals(m)):
        raise CRSError(
            f"{src}: the albedo raster is in {r.to_string()} ({r.name}) but the model is in "
            f"EPSG:{epsg} ({m.name}); reproject the raster to the model's CRS (gdalwarp -t_srs)"
        )


def sensor_albedo(
    path: str | os.PathLike,
    points: np.ndarray,
    normals: np.ndarray,
    ground_z_m: np.ndarray,
    epsg: int | None,
    *,
    class_table: dict[int, float] | None = None,
    default: float = 0.2,
    min_radius_m: float = 5.0,
    height_factor: float = 2.0,
    n_rings: int = 3,
    n_azimuths: int = 8,
    band: int = 1,
    block_sensors: int = 65_536,
) -> np.ndarray:
    """Mean ground albedo seen by each sensor, from a raster in the model's CRS.

    Parameters
    ----------
    path : path
        A rasterio-readable raster: albedo 0..1 (float), or integer classes with ``class_table``.
    points, normals : (n, 3) float64
        Sensor positions [m] and unit normals.
    ground_z_m : (n,) float64
        Ground elevation under each sensor [m] (for its height above ground).
    epsg : int or None
        The model's EPSG code; the raster's horizontal CRS must be the same.
    class_table : dict, optional
        ``{class: albedo}``; classes not in it take ``default``. Default for a land-cover raster
        written by :func:`citymodel.landcover.write_landcover`: its class table
        (:func:`citymodel.landcover.albedo_table`).
    default : float
        Albedo of nodata cells and of samples outside the raster.
    min_radius_m, height_factor : float
        Disc radius = ``max(min_radius_m, height_factor * (z - ground_z_m))`` [m].
    n_rings, n_azimuths : int
        Equal-area sample rings and points per ring.
    band : int
        Raster band.
    block_sensors : int
        Sensors sampled at a time (bounds memory; each block reads only its raster window).

    Returns
    -------
    (n,) float64
        Albedo per sensor (0..1).

    Raises
    ------
    InputError
        Unreadable raster, a raster that does not cover the sensors, values outside 0..1.
    CRSError
        The raster's CRS differs from the model's (or either is missing).
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    src = str(path)
    pts = np.asarray(points, dtype=np.float64)
    nrm = np.asarray(normals, dtype=np.float64)
    n = pts.shape[0]
    try:
        ds = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputError(f"{src}: cannot read the albedo raster: {exc}") from None
    with ds:
        _check_crs(src, ds.crs, epsg)
        if band < 1 or band > ds.count:
            raise InputError(f"{src}: no band {band}; the raster has {ds.count}")
        if n == 0:
            return np.zeros(0)
        xmin, ymin = pts[:, :2].min(axis=0)
        xmax, ymax = pts[:, :2].max(axis=0)
        rb = ds.bounds
        tol = 0.5 * max(abs(ds.res[0]), abs(ds.res[1]))
        if (xmin < rb.left - tol or xmax > rb.right + tol or ymin < rb.bottom - tol
                or ymax > rb.top + tol):
            raise InputError(
                f"{src}: the albedo raster ({rb.left:.1f}, {rb.bottom:.1f}) - ({rb.right:.1f}, "
                f"{rb.top:.1f}) does not cover the model's sensors ({xmin:.1f}, {ymin:.1f}) - "
                f"({xmax:.1f}, {ymax:.1f}); give a raster over the whole model"
            )
        if class_table is None and ds.tags(band).get(SCHEME_TAG) == SCHEME_VERSION:
            class_table = albedo_table()  # our own land-cover raster: the class table of citymodel.landcover
        if class_table is not None and not class_table:
            raise InputError(f"{src}: the albedo table for this class raster is empty")
        gz = np.broadcast_to(np.asarray(ground_z_m, dtype=np.float64), (n,))
        out = np.empty(n)
        for a in range(0, n, block_sensors):  # bounded memory: (block, rings x azimuths) samples
            b = min(n, a + block_sensors)
            out[a:b] = _disc_means(
                ds, band, src, pts[a:b], nrm[a:b], gz[a:b], class_table, float(default),
                float(min_radius_m), float(height_factor), n_rings, n_azimuths,
            )
    return out


def _disc_means(ds, band, src, pts, nrm, gz, class_table, default, min_radius_m, height_factor,
                n_rings, n_azimuths) -> np.ndarray:
    """Mean albedo of the sample discs of one block of sensors ``(k,)``."""
    from rasterio.windows import Window

    # sample points: equal-area rings of the disc in front of each sensor
    h = np.clip(pts[:, 2] - gz, 0.0, None)
    radius = np.maximum(float(min_radius_m), float(height_factor) * h)  # (n,)
    hn = nrm[:, :2].copy()
    hl = np.linalg.norm(hn, axis=1)
    hn = np.where(hl[:, None] > 1e-6, hn / np.where(hl > 1e-6, hl, 1.0)[:, None], 0.0)
    centre = pts[:, :2] + hn * radius[:, None]  # (n, 2)
    rr = np.sqrt((np.arange(n_rings) + 0.5) / n_rings)  # equal-area ring radii (unit disc)
    az = 2 * np.pi * (np.arange(n_azimuths) + 0.5) / n_azimuths
    off = (rr[:, None, None] * np.stack([np.cos(az), np.sin(az)], axis=-1)[None]).reshape(-1, 2)
    sx = centre[:, 0:1] + radius[:, None] * off[None, :, 0]  # (n, m)
    sy = centre[:, 1:2] + radius[:, None] * off[None, :, 1]
    # raster cell of every sample; read only the window that holds them
    col, row = ~ds.transform * (sx.ravel(), sy.ravel())
    ci = np.floor(np.asarray(col)).astype(np.int64)
    ri = np.floor(np.asarray(row)).astype(np.int64)
    c0, c1 = max(int(ci.min()), 0), min(int(ci.max()) + 1, ds.width)
    r0, r1 = max(int(ri.min()), 0), min(int(ri.max()) + 1, ds.height)
    if c1 <= c0 or r1 <= r0:  # every sample off the raster
        return np.full(pts.shape[0], float(default))
    data = ds.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
    mask = np.ma.getmaskarray(data)
    vals = np.asarray(data.data, dtype=np.float64)
    if class_table is not None:
        keys = np.fromiter(class_table.keys(), dtype=np.float64)
        alb = np.fromiter(class_table.values(), dtype=np.float64)
        order = np.argsort(keys)
        keys, alb = keys[order], alb[order]
        j = np.clip(np.searchsorted(keys, vals), 0, keys.size - 1)
        vals = np.where(keys[j] == vals, alb[j], float(default))  # unknown classes: default
    else:
        ok = ~mask & np.isfinite(vals)
        bad = ok & ((vals < 0) | (vals > 1))
        if bad.any():
            raise InputError(
                f"{src}: {int(bad.sum())} albedo cells lie outside 0..1 (min "
                f"{vals[ok].min():.3g}, max {vals[ok].max():.3g}); give albedo as a fraction, "
                "or a class raster with an albedo table"
            )
    vals = np.where(mask | ~np.isfinite(vals), float(default), vals)
    ci -= c0
    ri -= r0
    inside = (ci >= 0) & (ci < vals.shape[1]) & (ri >= 0) & (ri < vals.shape[0])
    sample = np.full(ci.shape, float(default))
    sample[inside] = vals[ri[inside], ci[inside]]
    return sample.reshape(pts.shape[0], -1).mean(axis=1)
