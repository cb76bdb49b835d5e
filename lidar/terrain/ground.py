"""Ground filtering: which points are bare earth.

Two filters on ``(n, 3)`` points:

- ``"csf"``: cloth simulation (Zhang et al. 2016) through the cloth-simulation-filter package
  (module ``CSF``, extra ``lidar``);
- ``"smrf"``: the simple morphological filter (Pingel et al. 2013) with numba kernels:
  a minimum-height grid, progressive openings with growing disks flag cells whose height drops
  more than ``slope * radius``, the remaining cells are Laplace-interpolated into a provisional
  DTM, and points within ``threshold_m + scalar * local slope`` of it are ground.

Only last returns can be ground; earlier returns of a multi-return pulse never are.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np

from citymodel._optional import require
from citymodel.errors import InputError
from lidar.points.pointcloud import ASPRS_BUILDING, ASPRS_GROUND, PointCloud
from lidar.terrain import _kernels
from lidar.terrain.dtm import cell_index, fill_nodata_laplace, grid_geometry

__all__ = ["classify_ground", "has_usable_classes", "smrf", "csf"]


def has_usable_classes(pc: PointCloud, min_fraction: float = 0.001) -> bool:
    """True when the file's classification can be used as is: ground (2) and building (6) present.

    Each of the two classes must hold at least ``min_fraction`` of the points (and one point).
    """
    n = len(pc)
    if n == 0:
        return False
    need = max(1, int(np.ceil(min_fraction * n)))
    cls = pc.classification
    return int(np.count_nonzero(cls == ASPRS_GROUND)) >= need and int(np.count_nonzero(cls == ASPRS_BUILDING)) >= need


def _xyz_of(points: PointCloud | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates and the last-return mask of a PointCloud or an (n, 3) array."""
    if isinstance(points, PointCloud):
        xyz = points.xyz
        rn = points.return_number.astype(np.int16)
        nr = points.number_of_returns.astype(np.int16)
        last = (rn >= nr) | (rn == 0) | (nr == 0)
    else:
        xyz = np.asarray(points, dtype=np.float64)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise InputError(f"classify_ground: points must be (n, 3), got shape {xyz.shape}")
        last = np.ones(xyz.shape[0], bool)
    if not np.isfinite(xyz).all():
        raise InputError("classify_ground: points contain NaN or infinite coordinates")
    return xyz, last


def classify_ground(points: PointCloud | np.ndarray, method: str = "csf", **params: float) -> np.ndarray:
    """Ground mask of a point cloud.

    Parameters
    ----------
    points : PointCloud or (n, 3) float64
        Points [m]. With a PointCloud, only last returns can be ground.
    method : {"csf", "smrf"}
        Cloth simulation or the simple morphological filter.
    **params
        Passed to :func:`csf` or :func:`smrf`.

    Returns
    -------
    (n,) bool
        True for ground points.
    """
    xyz, last = _xyz_of(points)
    out = np.zeros(xyz.shape[0], bool)
    if xyz.shape[0] == 0:
        return out
    idx = np.flatnonzero(last)
    if idx.size == 0:
        return out
    sub = xyz[idx]
    if method == "csf":
        m = csf(sub, **params)
    elif method == "smrf":
        m = smrf(sub, **params)
    else:
        raise InputError(f"classify_ground: method must be 'csf' or 'smrf', got {method!r}")
    out[idx] = m
    return out


def smrf(
    xyz: np.ndarray,
    cell_m: float = 1.0,
    slope: float = 0.15,
    window_m: float = 18.0,
    threshold_m: float = 0.5,
    scalar: float = 1.25,
) -> np.ndarray:
    """Simple morphological filter (SMRF, Pingel et al. 2013; PDAL ``filters.smrf`` defaults).

    Parameters
    ----------
    xyz : (n, 3) float64
        Points [m].
    cell_m : float
        Grid cell size [m].
    slope : float
        Terrain slope allowed between openings [m/m].
    window_m : float
        Largest opening radius [m]; about half the largest building's width.
    threshold_m : float
        Elevation threshold to the provisional DTM [m].
    scalar : float
        Added threshold per unit of local DTM slope [m per m/m].

    Returns
    -------
    (n,) bool
        Ground mask.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    if cell_m <= 0 or window_m <= 0 or slope < 0 or threshold_m < 0:
        raise InputError("smrf: cell_m and window_m must be > 0, slope and threshold_m >= 0")
    bounds = (*xyz[:, :2].min(axis=0), *xyz[:, :2].max(axis=0))
    ny, nx, tr = grid_geometry(bounds, cell_m)
    rows, cols, _ = cell_index(xyz[:, :2], tr, (ny, nx))
    zmin = _kernels.grid_min(rows, cols, xyz[:, 2], ny, nx)
    surface = fill_nodata_laplace(zmin)
    is_object = np.zeros((ny, nx), bool)
    for r in range(1, int(np.ceil(window_m / cell_m)) + 1):
        opened = _kernels.disk_filter(_kernels.disk_filter(surface, r, True), r, False)
        is_object |= (surface - opened) > slope * r * cell_m
        surface = opened
    provisional = zmin.copy()
    provisional[is_object] = np.nan
    if np.isnan(provisional).all():
        provisional = zmin
    dtm = fill_nodata_laplace(provisional)
    gy, gx = np.gradient(dtm, cell_m)
    grad = np.hypot(gx, gy)
    x0, y0 = float(tr.c), float(tr.f)
    px = np.ascontiguousarray(xyz[:, 0])
    py = np.ascontiguousarray(xyz[:, 1])
    h = xyz[:, 2] - _kernels.bilinear(dtm, x0, y0, float(cell_m), px, py)
    s = _kernels.bilinear(grad, x0, y0, float(cell_m), px, py)
    return np.abs(h) <= threshold_m + scalar * s


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (CSF prints its progress with printf)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def csf(
    xyz: np.ndarray,
    cloth_resolution_m: float = 1.0,
    rigidness: int = 3,
    class_threshold_m: float = 0.5,
    iterations: int = 500,
    time_step: float = 0.65,
    slope_smooth: bool = False,
) -> np.ndarray:
    """Cloth simulation filter (Zhang et al. 2016) via the ``CSF`` module.

    Parameters
    ----------
    xyz : (n, 3) float64
        Points [m].
    cloth_resolution_m : float
        Cloth grid spacing [m].
    rigidness : {1, 2, 3}
        3 for flat urban terrain, 1 for steep slopes.
    class_threshold_m : float
        Largest distance of a ground point to the cloth [m].
    iterations : int
        Cloth simulation iterations.
    time_step : float
        Simulation time step.
    slope_smooth : bool
        Post-process steep slopes.

    Returns
    -------
    (n,) bool
        Ground mask.
    """
    CSF = require("CSF", extra="lidar", feature="method='csf'", package="cloth-simulation-filter",
                  hint="or use method='smrf'")
    xyz = np.asarray(xyz, dtype=np.float64)
    origin = xyz.min(axis=0)
    local = np.ascontiguousarray(xyz - origin)
    c = CSF.CSF()
    c.params.bSloopSmooth = bool(slope_smooth)
    c.params.cloth_resolution = float(cloth_resolution_m)
    c.params.rigidness = int(rigidness)
    c.params.class_threshold = float(class_threshold_m)
    c.params.interations = int(iterations)
    c.params.time_step = float(time_step)
    c.setPointCloud(local)
    ground = CSF.VecInt()
    other = CSF.VecInt()
    with _quiet_stdout():
        c.do_filtering(ground, other, False)
    mask = np.zeros(xyz.shape[0], bool)
    mask[np.asarray(ground, dtype=np.int64)] = True
    return mask
