"""Land cover from classified points, height above ground, footprints and greenness.

Per cell of a north-up grid (default 0.5 m) the points give, by bincounts (no loop over points):
the highest vegetation point above ground (ASPRS 3/4/5; for files without vegetation classes the
unclassified points from multi-return pulses), the highest building point (6), the other raised
points (unclassified, single return: walls, hedges in unclassified files, cars), water points
(9), and the mean intensity of single-return ground points. Then, in this order:

1. **building**: building points (or no points at all inside a footprint, dark roofs), unless
   vegetation stands higher there (a crown over a roof is tree canopy from above);
2. **tree canopy**: vegetation at least :data:`TREE_MIN_HEIGHT_M` high (the 3 x 3 maximum, so
   crown rims stay canopy) where at least half the cell's first returns are vegetation (a crown
   rim that only grazes a cell does not make it canopy);
3. **shrubs**: vegetation from :data:`SHRUB_MIN_HEIGHT_M` up (the same first-return rule);
4. **water**: water points;
5. the rest is ground: **grass/low vegetation** when the orthophoto's greenness (averaged over
   the cell) says green, else **impervious**. Without an orthophoto (and in cells it does not
   cover), grass is told from paving by the LiDAR intensity of ground points (near infrared,
   1064 nm: grass reflects about twice as much as asphalt or pavers): Otsu thresholds on the log
   of the cells' mean intensity, the bright side split again while it is bimodal (asphalt |
   pavers | grass), used only when the last split is clear (the recorded
   ``intensity_separation``); otherwise all ground is impervious, recorded as a fallback.

With an orthophoto, greenness also corrects the points: raised non-green "vegetation" cells
(walls, cars, roof edges) lower than the tree height become impervious (or building inside a
footprint), and raised non-building cells that are green (hedges in files without vegetation
classes) become shrubs. Bare soil is not separated from paving by these inputs (it comes from
given polygons or UMEP rasters only). Regions without any point that touch water points are water
(water returns few echoes); other cells without points take their nearest non-building cell's
class (with footprints: the LiDAR shadow beside a wall is ground).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy import ndimage

from citymodel.errors import InputError
from citymodel.landcover import BUILDING, GRASS, IMPERVIOUS, SHRUBS, TREE_CANOPY, WATER
from lidar.dtm import cell_index, grid_geometry, height_above_ground, make_dtm
from lidar.pointcloud import PointCloud
from lidar.vegetation.greenness import Greenness

__all__ = ["LandCoverResult", "classify_landcover", "grid_for", "TREE_MIN_HEIGHT_M", "SHRUB_MIN_HEIGHT_M"]

log = logging.getLogger(__name__)

#: Vegetation at least this high above ground is tree canopy [m].
TREE_MIN_HEIGHT_M = 3.0
#: Vegetation at least this high is shrubs (below: grass / low vegetation) [m].
SHRUB_MIN_HEIGHT_M = 0.5
#: Ground points are those below this height above the DTM in files without ground class [m].
LOW_M = 0.25
#: Separation (difference of the class means over their pooled standard deviation) of Otsu's two
#: intensity classes above which LiDAR intensity separates grass from paving (one normal mode: 2.7).
MIN_INTENSITY_SEPARATION = 4.0
VEGETATION_CLASSES = (3, 4, 5)


@dataclass
class LandCoverResult:
    """A land-cover grid and what it came from.

    Attributes
    ----------
    codes : (ny, nx) uint8
        :mod:`citymodel.landcover` codes.
    transform : affine.Affine
    epsg : int or None
    height_m : (ny, nx) float64
        Height above ground of the highest point of the cell's class (0 on the ground) [m].
    greenness : (ny, nx) float64 or None
        The orthophoto's index (NDVI or ExG) per cell.
    greenness_index : str or None
    dtm : (grid, transform)
        The terrain model used for heights above ground.
    notes : list of str
        Inputs used and fallbacks taken (for the build summary).
    ground_log_intensity : (ny, nx) float64 or None
        Log mean intensity of single-return ground points per cell (:func:`intensity_field`);
        None when the orthophoto decided every cell.
    open_ground : (ny, nx) bool or None
        The cells whose grass/impervious decision rests on that intensity (a tiled run decides
        them again with one threshold for all tiles).
    """

    codes: np.ndarray
    transform: Any
    epsg: int | None
    height_m: np.ndarray
    greenness: np.ndarray | None = None
    greenness_index: str | None = None
    dtm: tuple[np.ndarray, Any] | None = None
    notes: list[str] = field(default_factory=list)
    ground_log_intensity: np.ndarray | None = None
    open_ground: np.ndarray | None = None


def grid_for(bounds: tuple[float, float, float, float], resolution_m: float) -> tuple[tuple[int, int], Any]:
    """Shape and transform of the land-cover grid over ``bounds`` (snapped to the resolution)."""
    r = float(resolution_m)
    if not (np.isfinite(r) and 0.05 <= r <= 50):
        raise InputError(f"--landcover-res-m {resolution_m}: use 0.05 to 50 m")
    eps = 1e-6  # bounds already on the grid (tiles) stay there despite rounding
    b = (np.floor(bounds[0] / r + eps) * r, np.floor(bounds[1] / r + eps) * r, np.ceil(bounds[2] / r - eps) * r,
         np.ceil(bounds[3] / r - eps) * r)
    ny, nx, tr = grid_geometry((b[0], b[1], b[2] - 1e-6, b[3] - 1e-6), r)
    return (ny, nx), tr


def _otsu(v: np.ndarray) -> tuple[float, float]:
    """Otsu threshold of ``v`` and the separation of the two classes: the difference of their
    means over their pooled standard deviation (about 2.7 for one normal mode cut in two)."""
    if v.size < 2 or np.ptp(v) <= 1e-9 * max(1.0, float(np.abs(v).max())):
        return (float(v[0]) if v.size else 0.0), 0.0  # one value: no contrast
    hist, edges = np.histogram(v, bins=128)
    p = hist / max(hist.sum(), 1)
    mids = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * mids)
    mt = m0[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        sb = (mt * w0 - m0) ** 2 / (w0 * (1 - w0))
    sb[~np.isfinite(sb)] = 0
    k = int(np.argmax(sb))
    thr = float(edges[k + 1])
    lo, hi = v[v <= thr], v[v > thr]
    if lo.size < 2 or hi.size < 2:
        return thr, 0.0
    pooled = np.sqrt(0.5 * (lo.var() + hi.var()))
    return thr, float((hi.mean() - lo.mean()) / pooled) if pooled > 0 else np.inf


def intensity_field(g_n: np.ndarray, g_i: np.ndarray) -> np.ndarray:
    """Log of the mean intensity of single-return ground points per cell; NaN where none.

    Parameters
    ----------
    g_n, g_i : (ny, nx)
        Count and intensity sum of single-return ground points per cell.
    """
    have = (g_n > 0) & (g_i > 0)
    li = np.full(g_n.shape, np.nan)
    li[have] = np.log(g_i[have] / g_n[have])
    return li


def smooth_field(li: np.ndarray) -> np.ndarray:
    """The mean of the known cells of each 3 x 3 window (damps the per-point noise); NaN where
    the window knows none."""
    have = np.isfinite(li)
    cover = ndimage.uniform_filter(have * 1.0, 3)
    sm = ndimage.uniform_filter(np.where(have, li, 0.0), 3) / np.maximum(cover, 1e-9)
    return np.where(cover > 1e-9, sm, np.nan)


def intensity_threshold(log_intensity: np.ndarray) -> tuple[float | None, str]:
    """Threshold on log intensity above which open ground is grass (None: no clear contrast),
    and the note to record. Give the cells' own values (:func:`intensity_field`), not smoothed
    ones: smoothing shrinks the spread and would make one mode look like two.

    Otsu's threshold, the bright side split again while it is bimodal (asphalt | pavers | grass);
    kept when the last split's ``intensity_separation`` reaches :data:`MIN_INTENSITY_SEPARATION`.
    """
    logi = np.asarray(log_intensity, dtype=np.float64)
    logi = logi[np.isfinite(logi)]
    if logi.size <= 100:
        return None, "fallback: no orthophoto and too few ground returns with an intensity: open ground is impervious"
    thr, sep = _otsu(logi)
    for _ in range(3):
        t2, s2 = _otsu(logi[logi > thr])
        if s2 < MIN_INTENSITY_SEPARATION or (logi > t2).sum() < 100:
            break
        thr, sep = t2, s2
    if sep < MIN_INTENSITY_SEPARATION:
        return None, (f"fallback: no orthophoto and the ground intensity is not bimodal (separation {sep:.2f} < "
                      f"{MIN_INTENSITY_SEPARATION}): open ground is impervious, no grass")
    return thr, (f"no orthophoto: grass from LiDAR intensity of ground points (Otsu threshold {np.exp(thr):.0f}, "
                 f"intensity_separation {sep:.2f})")


def _cell_max(flat: np.ndarray, vals: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, flat, vals)
    return out


def classify_landcover(
    pc: PointCloud,
    *,
    resolution_m: float = 0.5,
    bounds: tuple[float, float, float, float] | None = None,
    footprints: list[shapely.Geometry] | None = None,
    greenness: Greenness | None = None,
    ortho: Any = None,
    bands: str | None = None,
    dtm: tuple[np.ndarray, Any] | None = None,
) -> LandCoverResult:
    """Classify land cover on a grid from a point cloud (and footprints, and an orthophoto).

    Parameters
    ----------
    pc : PointCloud
        Points [m] with ASPRS classes (2 ground, 3-5 vegetation, 6 building, 9 water), returns
        and intensity; ground is needed (class 2).
    resolution_m : float
        Cell size [m].
    bounds : (xmin, ymin, xmax, ymax), optional
        Grid extent [m]; default the points' extent.
    footprints : list of shapely geometries, optional
        Building footprints in the points' CRS.
    greenness : Greenness, optional
        Orthophoto greenness already on this grid; else read from ``ortho`` when given.
    ortho : path, optional
        Orthophoto (:func:`lidar.vegetation.greenness.read_greenness`).
    bands : str, optional
        Band roles of ``ortho`` (``"R,G,B,NIR"``).
    dtm : (grid, transform), optional
        Terrain model; made from the ground points (1 m) when None.

    Returns
    -------
    LandCoverResult

    Raises
    ------
    PointCloudError
        No ground points.
    """
    from lidar.vegetation.greenness import read_greenness

    if bounds is None:
        bounds = tuple(pc.bounds) if len(pc) else (0.0, 0.0, 1.0, 1.0)
    (ny, nx), tr = grid_for(bounds, resolution_m)
    n = ny * nx
    notes: list[str] = []
    cls = np.asarray(pc.classification)
    if dtm is None:
        dtm = make_dtm(pc.xyz[cls == 2], 1.0)
    hag = height_above_ground(pc.xyz, *dtm)
    rows, cols, inside = cell_index(pc.xyz[:, :2], tr, (ny, nx))
    flat_all = rows * nx + cols
    single = np.asarray(pc.number_of_returns) <= 1
    has_veg_class = bool(np.isin(cls, VEGETATION_CLASSES).any())
    if has_veg_class:
        veg = np.isin(cls, VEGETATION_CLASSES)
    else:
        veg = (cls == 1) & ~single & (hag > LOW_M)
        notes.append("no vegetation classes in the points: vegetation = unclassified points of multi-return pulses")
    bld = cls == 6
    water = cls == 9
    other = (cls == 1) & ~veg & (hag > LOW_M)
    ground = (cls == 2) | ((cls == 1) & (hag <= LOW_M))

    def cmax(mask):
        m = mask & inside
        return _cell_max(flat_all[m], hag[m], n).reshape(ny, nx)

    veg_h, bld_h, oth_h = cmax(veg), cmax(bld), cmax(other)
    cnt = np.bincount(flat_all[inside], minlength=n).reshape(ny, nx)
    wat_n = np.bincount(flat_all[water & inside], minlength=n).reshape(ny, nx)
    g1 = ground & single & inside
    g_n = np.bincount(flat_all[g1], minlength=n).reshape(ny, nx)
    inten = np.asarray(pc.intensity, dtype=np.float64)
    g_i = np.bincount(flat_all[g1], weights=inten[g1], minlength=n).reshape(ny, nx)

    if greenness is None and ortho is not None:
        greenness = read_greenness(ortho, tr, (ny, nx), pc.epsg, bands=bands)
    if greenness is not None:
        if greenness.values.shape != (ny, nx):
            raise InputError(f"classify_landcover: greenness grid {greenness.values.shape} != land-cover grid {(ny, nx)}")
        notes.append(f"orthophoto greenness: {greenness.index.upper()} (bands {greenness.roles})")
        notes.extend(greenness.notes)

    fp_mask = np.zeros((ny, nx), bool)
    if footprints:
        from rasterio.features import rasterize

        geoms = [g for g in footprints if g is not None and not g.is_empty]
        if geoms:
            fp_mask = rasterize([(g, 1) for g in geoms], out_shape=(ny, nx), transform=tr, fill=0).astype(bool)

    codes = np.zeros((ny, nx), np.uint8)
    veg_h3 = ndimage.maximum_filter(veg_h, size=3)
    # seen from above: most first returns of the cell are vegetation (a crown rim only grazes a cell)
    first = (np.asarray(pc.return_number) <= 1) & inside
    n_first = np.bincount(flat_all[first], minlength=n).reshape(ny, nx)
    veg_first = np.bincount(flat_all[first & veg], minlength=n).reshape(ny, nx)
    has_veg = np.isfinite(veg_h) & (veg_h > SHRUB_MIN_HEIGHT_M) & (2 * veg_first >= n_first)
    # trees: tall vegetation (the 3 x 3 maximum keeps crown rims)
    tree = has_veg & (veg_h3 >= TREE_MIN_HEIGHT_M)
    bld_cells = np.isfinite(bld_h)
    if fp_mask.any():  # footprints given: they bound the buildings; wall echoes beside them are not roof
        bld_cells = fp_mask | (bld_cells & ~ndimage.binary_dilation(fp_mask, np.ones((3, 3), bool), iterations=2))
    building = bld_cells & ~(np.isfinite(veg_h) & (veg_h > np.nan_to_num(bld_h, neginf=0.0)))
    if greenness is not None:
        ng = greenness.not_green
        # raised non-green "vegetation" below tree height: walls, cars, roof edges
        fake = has_veg & ~tree & ng
        has_veg &= ~fake
        building |= fake & fp_mask
        # green raised points that are not building: hedges in files without vegetation classes
        hedge = np.isfinite(oth_h) & (oth_h > SHRUB_MIN_HEIGHT_M) & greenness.green & ~building & ~has_veg
        has_veg |= hedge
        veg_h = np.where(hedge, np.fmax(veg_h, oth_h), veg_h)
    tree = tree & ~building
    shrub = has_veg & ~tree & ~building
    codes[:] = IMPERVIOUS
    # ground: grass or impervious, by greenness; where there is none, by LiDAR intensity
    grass = np.zeros((ny, nx), bool) if greenness is None else greenness.green
    no_green = np.ones((ny, nx), bool) if greenness is None else ~np.isfinite(greenness.values)
    if no_green.any():
        field_i = intensity_field(g_n, g_i)
        thr, note = intensity_threshold(field_i[no_green])
        if thr is not None:
            grass |= no_green & (np.nan_to_num(smooth_field(field_i), nan=-np.inf) > thr)
        notes.append(note if greenness is None else
                     f"{100 * no_green.mean():.1f} % of the cells outside the orthophoto: {note}")
    # vegetation below SHRUB_MIN_HEIGHT_M seen from above
    low_veg = np.isfinite(veg_h) & (veg_h <= SHRUB_MIN_HEIGHT_M) & (2 * veg_first >= n_first) & ~tree & ~building
    # open ground decided by intensity (a tiled run re-decides it with one threshold for all tiles)
    open_ground = no_green & ~(low_veg | shrub | tree | building) & (cnt > 0)
    codes[grass | low_veg] = GRASS
    codes[(wat_n > 0) & (wat_n * 2 >= cnt)] = WATER  # (and empty regions touching them, below)
    codes[shrub] = SHRUBS
    codes[tree] = TREE_CANOPY
    codes[building] = BUILDING
    height = np.where(tree | shrub, np.nan_to_num(veg_h, neginf=0.0),
                      np.where(building, np.nan_to_num(bld_h, neginf=0.0), 0.0)).clip(0.0, None)
    # cells without any point (and not inside a footprint): nearest cell's class
    # (with footprints, from a non-building cell: empty cells beside a building are its LiDAR shadow)
    empty = (cnt == 0) & ~building
    water_cells = (wat_n > 0) & (wat_n * 2 >= cnt)
    if water_cells.any() and empty.any():
        # water returns few echoes: a region without points that touches water-class points is water
        lab, nlab = ndimage.label(empty, structure=np.ones((3, 3)))
        touch = np.unique(lab[ndimage.binary_dilation(water_cells, np.ones((3, 3), bool)) & empty])
        wet = np.isin(lab, touch[touch > 0])
        codes[wet] = WATER
        empty &= ~wet
        if wet.any():
            notes.append(f"{100 * wet.mean():.1f} % of the cells had no point but touch water points: water")
    source = ~empty & ~(building if fp_mask.any() else False)
    if empty.any() and source.any():
        idx = ndimage.distance_transform_edt(~source, return_distances=False, return_indices=True)
        idx = np.where(empty[None], idx, np.indices(empty.shape))
        codes = codes[idx[0], idx[1]]
        height = height[idx[0], idx[1]]
        frac = empty.mean()
        if frac > 0.01:
            notes.append(f"{100 * frac:.1f} % of the cells had no point and took their nearest cell's class")
    for s in notes:
        log.info(s)
    open_ground &= codes != WATER
    return LandCoverResult(codes, tr, pc.epsg, height, None if greenness is None else greenness.values,
                           None if greenness is None else greenness.index, dtm, notes,
                           field_i if no_green.any() else None, open_ground if no_green.any() else None)
