"""Point classification for files without usable classes: ground, building, vegetation.

Steps (all vectorised):

1. ground by :func:`lidar.ground.classify_ground` (cloth simulation by default, or SMRF:
   SMRF keeps low roofs that step down from a taller building as ground);
2. a DTM from those ground points and every point's ``height_above_ground_m``;
3. above ``min_building_height_m`` (2.5 m), per point: the off-plane spread ``plane_residual_m``
   (square root of the smallest eigenvalue of the covariance of its k nearest neighbours, scipy
   cKDTree + batched ``eigvalsh``), the share of multi-return pulses among its neighbours, and,
   with an orthophoto, NDVI sampled from its red and near-infrared bands;
4. building = mostly planar neighbourhood, mostly single returns (then one majority vote over
   the neighbours), NDVI below ``ndvi_max``;
   vegetation = the rest above the height (or any point with NDVI above ``ndvi_vegetation``);
   building blobs smaller than ``min_building_area_m2`` in plan become unclassified, and blobs
   whose points come mostly from multi-return pulses (tree crowns) become vegetation.

Codes are ASPRS: 1 unclassified, 2 ground, 5 high vegetation, 6 building.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from citymodel.crs import transformer_to_raster
from citymodel.errors import InputError
from lidar.pointcloud import (
    ASPRS_BUILDING,
    ASPRS_GROUND,
    ASPRS_HIGH_VEGETATION,
    ASPRS_UNCLASSIFIED,
    PointCloud,
)

__all__ = ["classify_points", "point_features", "sample_ndvi"]


def sample_ndvi(
    ortho_path: str | os.PathLike,
    xy: np.ndarray,
    epsg: int | None = None,
    red_band: int = 1,
    nir_band: int = 4,
) -> np.ndarray:
    """NDVI of an RGBN orthophoto at points, ``(nir - red) / (nir + red)``.

    Only the window covering the points is read. When the points' ``epsg`` and the raster's CRS
    differ horizontally, the points are reprojected first.

    Parameters
    ----------
    ortho_path : path
        GeoTIFF with red and near-infrared bands.
    xy : (n, 2) float64
        Point coordinates [m] in ``epsg``.
    epsg : int, optional
        CRS of ``xy``; None means "same as the raster".
    red_band, nir_band : int
        1-based band numbers (RGBN: 1 and 4).

    Returns
    -------
    (n,) float64
        NDVI in [-1, 1]; NaN outside the raster, on nodata or where nir + red = 0.
    """
    import rasterio
    from rasterio.windows import Window

    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    out = np.full(xy.shape[0], np.nan)
    if xy.shape[0] == 0:
        return out
    try:
        src = rasterio.open(ortho_path)
    except Exception as exc:
        raise InputError(f"{ortho_path}: cannot open the orthophoto ({exc}); give a GeoTIFF with red and NIR bands") from exc
    with src:
        if max(red_band, nir_band) > src.count:
            raise InputError(
                f"{ortho_path}: has {src.count} band(s); NDVI needs red (band {red_band}) and "
                f"near-infrared (band {nir_band}); give an RGBN orthophoto"
            )
        t = transformer_to_raster(epsg, src.crs, ortho_path)
        if t is not None:
            xy = np.column_stack(t.transform(xy[:, 0], xy[:, 1]))
        inv = ~src.transform
        cols, rows = inv @ (xy[:, 0], xy[:, 1])
        rows = np.floor(rows).astype(np.int64)
        cols = np.floor(cols).astype(np.int64)
        ok = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        if not ok.any():
            return out
        r0, r1 = int(rows[ok].min()), int(rows[ok].max()) + 1
        c0, c1 = int(cols[ok].min()), int(cols[ok].max()) + 1
        win = Window(c0, r0, c1 - c0, r1 - r0)
        red = src.read(red_band, window=win, masked=True).astype(np.float64)
        nir = src.read(nir_band, window=win, masked=True).astype(np.float64)
        rr = rows[ok] - r0
        cc = cols[ok] - c0
        rv = red[rr, cc]
        nv = nir[rr, cc]
        with np.errstate(invalid="ignore", divide="ignore"):
            nd = (nv - rv) / (nv + rv)
        nd = np.ma.filled(nd.astype(np.float64), np.nan)
        nd[~np.isfinite(nd)] = np.nan
        out[ok] = nd
    return out


def point_features(
    xyz: np.ndarray,
    multi_return: np.ndarray,
    k: int = 10,
    chunk: int = 200_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbourhood features of points (k nearest neighbours in 3D, the point included).

    Parameters
    ----------
    xyz : (n, 3) float64
    multi_return : (n,) bool
        The point's pulse had more than one return.
    k : int
        Neighbourhood size.
    chunk : int
        Points per batch of the eigen decomposition (bounds memory).

    Returns
    -------
    plane_residual_m : (n,) float64
        Square root of the smallest covariance eigenvalue: spread off the best-fit plane [m].
    multi_return_share : (n,) float64
        Share of neighbours from multi-return pulses (0..1).
    neighbours : (n, k) int64
        Neighbour indices.
    """
    from scipy.spatial import cKDTree

    n = xyz.shape[0]
    k = int(min(k, n))
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros((0, max(k, 1)), np.int64)
    local = xyz - xyz.mean(axis=0)
    _, idx = cKDTree(local).query(local, k=k, workers=-1)
    idx = np.asarray(idx, dtype=np.int64).reshape(n, k)
    resid = np.empty(n)
    for s in range(0, n, chunk):
        nb = local[idx[s : s + chunk]]
        nb = nb - nb.mean(axis=1, keepdims=True)
        cov = np.einsum("mki,mkj->mij", nb, nb) / k
        ev = np.linalg.eigvalsh(cov)
        resid[s : s + chunk] = np.sqrt(np.maximum(ev[:, 0], 0.0))
    share = multi_return[idx].mean(axis=1)
    return resid, share, idx


def _blob_labels(xy: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray]:
    """2D raster blobs (8-connected) of points: label per point (1..k) and cells per label."""
    from scipy import ndimage

    lo = xy.min(axis=0)
    ij = np.floor((xy - lo) / cell_m).astype(np.int64)
    mask = np.zeros(tuple(ij.max(axis=0) + 1), bool)
    mask[ij[:, 0], ij[:, 1]] = True
    lab, nlab = ndimage.label(mask, structure=np.ones((3, 3)))
    return lab[ij[:, 0], ij[:, 1]], np.bincount(lab.ravel(), minlength=nlab + 1)


def _clean_blobs(
    xy: np.ndarray, is_building: np.ndarray, multi: np.ndarray, cell_m: float, min_area_m2: float, max_multi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Unset building points in blobs smaller than ``min_area_m2`` or whose points come mostly
    from multi-return pulses (tree crowns); returns (building, moved-to-vegetation) masks."""
    out = is_building.copy()
    veg = np.zeros_like(is_building)
    if not is_building.any():
        return out, veg
    idx = np.flatnonzero(is_building)
    lab, cells = _blob_labels(xy[idx], cell_m)
    small = cells * cell_m * cell_m < min_area_m2
    share = np.bincount(lab, weights=multi[idx].astype(float), minlength=cells.size) / np.maximum(
        np.bincount(lab, minlength=cells.size), 1
    )
    treeish = share > max_multi
    out[idx[small[lab] | treeish[lab]]] = False
    veg[idx[treeish[lab] & ~small[lab]]] = True
    return out, veg


def classify_points(
    pc: PointCloud,
    ortho: str | os.PathLike | None = None,
    *,
    ground_method: str = "csf",
    ground: np.ndarray | None = None,
    dtm_resolution_m: float = 1.0,
    min_building_height_m: float = 2.5,
    k: int = 10,
    max_plane_residual_m: float = 0.15,
    max_multi_return_share: float = 0.5,
    ndvi_max: float = 0.2,
    ndvi_vegetation: float = 0.3,
    min_building_area_m2: float = 4.0,
    max_blob_multi_return_share: float = 0.3,
    ortho_bands: tuple[int, int] = (1, 4),
) -> np.ndarray:
    """Classify a point cloud into ground, building, high vegetation and unclassified.

    Parameters
    ----------
    pc : PointCloud
        Points [m]; their existing classification is ignored.
    ortho : path, optional
        RGBN orthophoto GeoTIFF; its NDVI separates vegetation from roofs.
    ground_method : {"smrf", "csf"}
        Ground filter when ``ground`` is not given.
    ground : (n,) bool, optional
        A ground mask to use instead of filtering.
    dtm_resolution_m : float
        Cell size of the DTM used for heights above ground [m].
    min_building_height_m : float
        Points lower than this above the DTM are never building [m].
    k : int
        Neighbours for the planarity and return features.
    max_plane_residual_m : float
        A point is planar when its neighbourhood's off-plane spread is below this [m].
    max_multi_return_share : float
        Building neighbourhoods have at most this share of multi-return pulses.
    ndvi_max : float
        Building points have NDVI below this (with an orthophoto).
    ndvi_vegetation : float
        Points above the height with NDVI above this are vegetation.
    min_building_area_m2 : float
        Building blobs smaller than this in plan become unclassified [m2].
    max_blob_multi_return_share : float
        Building blobs (8-connected at 0.5 m) with a larger share of multi-return points are
        tree crowns and become vegetation.
    ortho_bands : (int, int)
        1-based (red, nir) band numbers of ``ortho``.

    Returns
    -------
    (n,) uint8
        ASPRS codes: 1 unclassified, 2 ground, 5 high vegetation, 6 building.
    """
    from lidar.dtm import height_above_ground, make_dtm
    from lidar.ground import classify_ground

    n = len(pc)
    out = np.full(n, ASPRS_UNCLASSIFIED, np.uint8)
    if n == 0:
        return out
    if ground is None:
        ground = classify_ground(pc, method=ground_method)
    else:
        ground = np.asarray(ground, bool)
        if ground.shape != (n,):
            raise InputError(f"classify_points: ground mask has shape {ground.shape}, expected ({n},)")
    out[ground] = ASPRS_GROUND
    if not ground.any():
        return out
    grid, tr = make_dtm(pc.xyz[ground], dtm_resolution_m, bounds=pc.bounds)
    hag = height_above_ground(pc.xyz, grid, tr)
    cand = np.flatnonzero(~ground & (hag > min_building_height_m))
    if cand.size == 0:
        return out
    xyz = pc.xyz[cand]
    multi = pc.number_of_returns[cand] > 1
    resid, share, idx = point_features(xyz, multi, k=k)
    planar_share = (resid <= max_plane_residual_m)[idx].mean(axis=1)
    building = (planar_share >= 0.5) & (share <= max_multi_return_share)
    # one majority vote over the neighbourhood fills roof edges and ridges
    building = building[idx].mean(axis=1) >= 0.5
    vegetation = ~building
    if ortho is not None:
        red_b, nir_b = ortho_bands
        ndvi = sample_ndvi(ortho, xyz[:, :2], epsg=pc.epsg, red_band=red_b, nir_band=nir_b)
        # median over the neighbourhood damps misregistration at roof edges
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbourhoods
            ndvi_nb = np.nanmedian(ndvi[idx], axis=1)
        green = np.isfinite(ndvi_nb) & (ndvi_nb > ndvi_vegetation)
        bare = ~np.isfinite(ndvi_nb) | (ndvi_nb < ndvi_max)
        building &= bare
        vegetation = ~building | green
        building &= ~green
    building, to_veg = _clean_blobs(xyz[:, :2], building, multi, 0.5, min_building_area_m2, max_blob_multi_return_share)
    vegetation |= to_veg
    out[cand[vegetation & ~building]] = ASPRS_HIGH_VEGETATION
    out[cand[building]] = ASPRS_BUILDING
    return out
