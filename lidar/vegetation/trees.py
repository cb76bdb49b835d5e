"""Individual trees from LiDAR: canopy height model, tree tops, watershed crowns.

Vegetation points (ASPRS 3/4/5, or for files without vegetation classes: non-building,
non-ground points from multi-return pulses) are gridded into a canopy height model (CHM,
highest point above the DTM per cell). Tree tops are local maxima of the lightly smoothed CHM
within a window that grows with height, plus smaller maxima prominent enough to be trees of their
own (:mod:`lidar.vegetation.crowns`); crowns are grown from the tops by a marker-controlled
watershed on the inverted CHM, restricted to cells above ``min_height_m``. Per-crown figures
come from the crown's points with bincounts, without loops over points; the crown base from the
crown's lower envelope.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from citymodel.errors import InputError, PointCloudError
from citymodel.model import CityModel
from lidar.dtm import cell_index, grid_geometry, height_above_ground, make_dtm, sample_grid
from lidar.pointcloud import PointCloud
from lidar.vegetation.crowns import crown_base_from_envelope, segment_crowns, tree_tops

__all__ = ["detect_trees", "add_trees", "empty_tree_table", "TREE_COLUMNS", "VEGETATION_CLASSES"]

log = logging.getLogger(__name__)

VEGETATION_CLASSES = (3, 4, 5)
TREE_COLUMNS = ["tree_id", "x_m", "y_m", "h_ground_m", "height_m", "crown_diameter_m", "crown_base_m", "n_points"]


def empty_tree_table() -> pd.DataFrame:
    """A tree table without rows (columns :data:`TREE_COLUMNS`)."""
    return pd.DataFrame({c: pd.Series(dtype="str" if c == "tree_id" else "float64") for c in TREE_COLUMNS})


def _anchored(xy: np.ndarray, res_m: float, margin_m: float,
              anchor_m: tuple[float, float]) -> tuple[float, float, float, float]:
    """Bounds around ``xy (n, 2)`` plus ``margin_m`` with edges on ``anchor_m + k * res_m``."""
    a = np.asarray(anchor_m, dtype=np.float64)
    lo = a + np.floor((xy.min(axis=0) - margin_m - a) / res_m) * res_m
    hi = a + np.ceil((xy.max(axis=0) + margin_m - a) / res_m) * res_m
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def _window_radius_m(height_m: np.ndarray) -> np.ndarray:
    """Local-maximum search radius [m] for a top ``height_m`` [m] above ground: 1 m + 0.12 h, 1..3 m."""
    return np.clip(1.0 + 0.12 * np.asarray(height_m, dtype=np.float64), 1.0, 3.0)


def _vegetation_mask(pc: PointCloud, hag: np.ndarray, min_height_m: float) -> np.ndarray:
    cls = pc.classification
    veg = np.isin(cls, VEGETATION_CLASSES)
    if veg.any():
        return veg
    # no vegetation classes: high points of multi-return pulses that are not building or ground
    return (cls != 6) & (cls != 2) & (pc.number_of_returns > 1) & (hag >= 0.5 * min_height_m)


def detect_trees(
    pc: PointCloud,
    *,
    dtm: tuple[np.ndarray, Any] | None = None,
    min_height_m: float = 2.5,
    resolution_m: float = 0.5,
    smooth_sigma_m: float = 0.5,
    min_crown_m2: float = 2.0,
    min_points: int = 15,
    min_prominence_m: float = 0.3,
    id_prefix: str = "tree_",
    grid_anchor_m: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Detect individual trees in a classified point cloud.

    Parameters
    ----------
    pc : PointCloud
        Points [m] with classification; ground (class 2) is needed unless ``dtm`` is given.
    dtm : (grid, transform), optional
        Terrain model from :func:`lidar.dtm.make_dtm`; built from the ground points when None.
    min_height_m : float
        Lowest tree top and lowest crown cell above ground [m] (shrubs below are ignored).
    resolution_m : float
        CHM cell size [m].
    smooth_sigma_m : float
        Gaussian smoothing of the CHM used for tops and crowns [m] (heights come from the points).
    min_crown_m2 : float
        Smaller crown segments are dropped [m2].
    min_points : int
        Crowns with fewer vegetation points are dropped (roof-edge echoes in unclassified files).
    min_prominence_m : float
        A tree top must stand this far above the highest saddle to any higher crown [m]; lower
        bumps are branches of the neighbouring crown.
    id_prefix : str
        Prefix of the ``tree_id`` values (``tree_0001``, ...).
    grid_anchor_m : (x, y), optional
        Put the terrain and canopy grids' cell edges on ``anchor + k * cell``, so that parts of a
        cloud (tiles) and the whole cloud share their cells and find the same trees
        (:mod:`lidar.vegetation.trees_tiled`). Default: the grids start 2 cells before the
        points (the cells follow the points when they are moved).

    Returns
    -------
    DataFrame
        One row per tree, columns :data:`TREE_COLUMNS`: ``x_m``, ``y_m`` tree top [m],
        ``h_ground_m`` terrain height there [m], ``height_m`` highest crown point above ground [m],
        ``crown_diameter_m`` diameter of the circle of the crown segment's area [m],
        ``crown_base_m`` [m above ground], ``n_points`` vegetation points in the crown.

    Raises
    ------
    InputError
        Non-positive ``resolution_m`` or negative ``min_height_m``.
    PointCloudError
        No ground points (class 2, else found by :func:`lidar.ground.classify_ground`) and no ``dtm``.
    """
    if not (resolution_m > 0) or not (min_height_m >= 0):
        raise InputError(f"detect_trees: resolution_m must be > 0 and min_height_m >= 0, got {resolution_m}, {min_height_m}")
    empty = empty_tree_table()
    if len(pc) == 0:
        return empty
    xyz = pc.xyz
    if dtm is None:
        ground = pc.classification == 2
        if not ground.any():  # unclassified file: cloth simulation
            from lidar.ground import classify_ground

            ground = classify_ground(pc)
        if not ground.any():
            raise PointCloudError("detect_trees: no ground points found; classify ground first "
                                  "(lidar.ground.classify_ground) or pass dtm=make_dtm(...)")
        dtm_res = max(resolution_m, 1.0)
        dtm = make_dtm(xyz[ground], resolution_m=dtm_res,
                       bounds=None if grid_anchor_m is None else _anchored(xyz[ground, :2], dtm_res, 0.0,
                                                                           grid_anchor_m))
    grid, transform = dtm
    hag = height_above_ground(xyz, grid, transform)
    veg = _vegetation_mask(pc, hag, min_height_m) & (hag > 0.0)
    if not veg.any():
        return empty
    vxyz, vh = xyz[veg], hag[veg]

    # canopy height model: highest vegetation point above ground per cell
    b = (*vxyz[:, :2].min(axis=0) - 2 * resolution_m, *vxyz[:, :2].max(axis=0) + 2 * resolution_m)
    if grid_anchor_m is not None:
        b = _anchored(vxyz[:, :2], resolution_m, 2 * resolution_m, grid_anchor_m)
    ny, nx, tf = grid_geometry(b, resolution_m)
    rows, cols, inside = cell_index(vxyz[:, :2], tf, (ny, nx))
    flat = np.where(inside, rows * nx + cols, 0)
    chm = np.zeros(ny * nx)
    np.maximum.at(chm, flat[inside], vh[inside])
    chm = chm.reshape(ny, nx)
    # fill single empty cells inside crowns, then smooth lightly
    chm = np.maximum(chm, ndimage.median_filter(ndimage.grey_closing(chm, size=3), size=3) * (chm == 0))
    sm = ndimage.gaussian_filter(chm, sigma=smooth_sigma_m / resolution_m) if smooth_sigma_m > 0 else chm
    crown_mask = (sm >= min_height_m) & (chm >= min_height_m * 0.5)

    # tree tops: local maxima within a height-dependent window that are prominent enough
    need = np.round(_window_radius_m(sm) / resolution_m).astype(int)
    top_lab = tree_tops(sm, crown_mask & (sm >= min_height_m), need, min_prominence_m)
    n_tops = int(top_lab.max())
    if n_tops == 0:
        return empty
    # crowns: marker-controlled watershed on the inverted CHM
    seg = segment_crowns(sm, top_lab, crown_mask)

    # per-crown statistics from cells and points (bincounts over labels)
    ids = np.arange(1, n_tops + 1)
    n_cells = np.bincount(seg.ravel(), minlength=n_tops + 1)[1:]
    area_m2 = n_cells * resolution_m**2
    plab = np.where(inside, seg.ravel()[flat], 0)
    n_pts = np.bincount(plab, minlength=n_tops + 1)[1:]
    hmax = np.zeros(n_tops + 1)
    np.maximum.at(hmax, plab, vh)
    hmax = hmax[1:]
    # tree top position: centre of the top cells, weighted by height
    cy, cx = np.array(ndimage.center_of_mass(sm, top_lab, ids)).reshape(-1, 2).T
    x = tf.c + (cx + 0.5) * resolution_m
    y = tf.f - (cy + 0.5) * resolution_m
    # crown base: the crown's lower envelope at the stem (see lidar.vegetation.crowns)
    radius_m = np.sqrt(np.maximum(area_m2, resolution_m**2) / np.pi)
    li = np.maximum(plab, 1) - 1
    r_rel = np.hypot(vxyz[:, 0] - x[li], vxyz[:, 1] - y[li]) / radius_m[li]
    base, fitted = crown_base_from_envelope(plab, r_rel, vh, n_tops)
    keep = (area_m2 >= min_crown_m2) & (hmax >= min_height_m) & (n_pts >= max(min_points, 1))
    xy = np.column_stack([x, y])[keep]
    h_ground = sample_grid(xy, np.asarray(grid, dtype=np.float64), transform) if len(xy) else np.zeros(0)
    out = pd.DataFrame({
        "x_m": xy[:, 0], "y_m": xy[:, 1], "h_ground_m": h_ground,
        "height_m": hmax[keep], "crown_diameter_m": 2.0 * np.sqrt(area_m2[keep] / np.pi),
        "crown_base_m": np.minimum(base[keep], hmax[keep]), "n_points": n_pts[keep].astype(np.int64),
    })
    if keep.any() and not fitted[keep].all():
        log.info("detect_trees: %d of %d crowns had too few points under them for the lower-envelope fit; "
                 "their crown_base_m is their lowest point", int((~fitted[keep]).sum()), int(keep.sum()))
    out.insert(0, "tree_id", [f"{id_prefix}{i + 1:04d}" for i in range(len(out))])
    return out


def _octagon_prism(x: float, y: float, z0: float, z1: float, r: float) -> tuple[np.ndarray, list]:
    a = np.arange(8) * (np.pi / 4)
    ring = np.column_stack([x + r * np.cos(a), y + r * np.sin(a)])
    v = np.vstack([np.column_stack([ring, np.full(8, z0)]), np.column_stack([ring, np.full(8, z1)])])
    bottom = [[7 - i for i in range(8)]]  # clockwise from above: normal down
    top = [[8 + i for i in range(8)]]
    sides = [[[i, (i + 1) % 8, 8 + (i + 1) % 8, 8 + i]] for i in range(8)]
    return v, [[bottom, top, *sides]]


def add_trees(model: CityModel, trees: pd.DataFrame, *, lod: str = "1") -> int:
    """Append one ``SolitaryVegetationObject`` per tree, with an octagonal crown prism.

    Parameters
    ----------
    model : CityModel
        Model to extend in place (same CRS as the trees).
    trees : DataFrame
        Columns :data:`TREE_COLUMNS` (from :func:`detect_trees`); ``tree_id`` becomes the object id.
    lod : str
        LoD of the crown geometry: a closed ``Solid`` from ``h_ground_m + crown_base_m`` to
        ``h_ground_m + height_m`` with ``crown_diameter_m`` across the corners.

    Returns
    -------
    int
        Number of trees added.

    Raises
    ------
    InputError
        Missing columns or a ``tree_id`` already in the model.
    """
    missing = [c for c in TREE_COLUMNS if c not in trees.columns]
    if missing:
        raise InputError(f"add_trees: the tree table lacks columns {missing}; pass the result of detect_trees")
    clash = [t for t in trees.tree_id.astype(str) if t in model.city_objects]
    if clash:
        raise InputError(f"add_trees: city object ids {clash[:5]} already exist in the model; use another id_prefix")
    for t in trees.itertuples(index=False):  # a loop over trees (hundreds), not points
        z0 = float(t.h_ground_m + t.crown_base_m)
        z1 = max(float(t.h_ground_m + t.height_m), z0 + 0.5)
        v, boundaries = _octagon_prism(float(t.x_m), float(t.y_m), z0, z1, max(0.5 * float(t.crown_diameter_m), 0.25))
        base = int(model.add_vertices(v)[0])
        shell = [[[int(i) + base for i in ring] for ring in face] for face in boundaries[0]]
        model.add_object(str(t.tree_id), {
            "type": "SolitaryVegetationObject",
            "attributes": {
                "height_m": round(float(t.height_m), 3), "crown_diameter_m": round(float(t.crown_diameter_m), 3),
                "crown_base_m": round(float(t.crown_base_m), 3), "h_ground_m": round(float(t.h_ground_m), 3),
                "n_points": int(t.n_points), "source": "lidar",
            },
            "geometry": [{"type": "Solid", "lod": str(lod), "boundaries": [shell]}],
        })
    return len(trees)
