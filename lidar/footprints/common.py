"""Raster and orientation helpers shared by footprint extraction and the party-wall split.

:mod:`lidar.footprints.extraction` segments and traces buildings, :mod:`lidar.footprints.partywalls`
cuts the segmented pieces at their party walls; both label grid cells through allowed links,
compare neighbouring labels, rotate points into a building's frame and need its main wall
direction. Those pieces live here, below both, so neither imports the other's privates.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from affine import Affine
from shapely.geometry import Polygon

__all__ = [
    "neighbour_pairs",
    "linked_components",
    "rotate",
    "mask_polygons",
    "dominant_orientation",
]


# ----------------------------------------------------------------------- grid components


def neighbour_pairs(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels of every 4-neighbour cell pair (both directions of the grid), as two arrays."""
    a = np.concatenate([lab[:-1, :].ravel(), lab[:, :-1].ravel()])
    b = np.concatenate([lab[1:, :].ravel(), lab[:, 1:].ravel()])
    return a, b


def linked_components(mask: np.ndarray, link_x: np.ndarray, link_y: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of ``mask`` (labels 1..k, 0 = background) through the links that
    are allowed: ``link_x`` (rows-1, cols) between cells ``[i, j]`` and ``[i + 1, j]``, ``link_y``
    (rows, cols-1) between ``[i, j]`` and ``[i, j + 1]``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = int(mask.sum())
    idx = np.full(mask.shape, -1, np.int64)
    idx[mask] = np.arange(m)
    ax, bx = idx[:-1, :], idx[1:, :]
    ay, by = idx[:, :-1], idx[:, 1:]
    okx = (ax >= 0) & (bx >= 0) & link_x
    oky = (ay >= 0) & (by >= 0) & link_y
    r = np.concatenate([ax[okx], ay[oky]])
    c = np.concatenate([bx[okx], by[oky]])
    ncomp, comp = connected_components(coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(m, m)), directed=False)
    lab = np.zeros(mask.shape, np.int64)
    lab[mask] = comp + 1
    return lab, int(ncomp)


# ---------------------------------------------------------------------------- orientation


def rotate(xy: np.ndarray, theta: float) -> np.ndarray:
    """Rotate points by ``theta`` radians (counter-clockwise) about the origin."""
    c, s = math.cos(theta), math.sin(theta)
    return np.column_stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]])


def _angle_from_edges(coords: np.ndarray) -> float | None:
    d = np.diff(coords, axis=0)
    length = np.hypot(d[:, 0], d[:, 1])
    if length.sum() <= 0:
        return None
    a4 = 4.0 * np.arctan2(d[:, 1], d[:, 0])
    w = length**2
    return float(math.atan2((w * np.sin(a4)).sum(), (w * np.cos(a4)).sum()) / 4.0)


def dominant_orientation(xy: np.ndarray, cell_m: float = 0.5, refine_deg: float = 1.5) -> float:
    """Main wall direction of a building's points, in radians in [0, pi/2).

    Parameters
    ----------
    xy : (n, 2) float64
        The building's points [m].
    cell_m : float
        Raster cell for the outline and the refinement [m].
    refine_deg : float
        Half-width of the refinement search around the edge-based estimate [deg].
    """
    from scipy import ndimage

    local = xy - xy.mean(axis=0)
    ij = np.floor((local - local.min(axis=0)) / cell_m).astype(np.int64) + 2
    mx, my = ij.max(axis=0) + 3
    mask = np.zeros((my, mx), bool)  # rows = y, cols = x (the transform below maps col -> x)
    mask[ij[:, 1], ij[:, 0]] = True
    mask = ndimage.binary_closing(mask, structure=np.ones((3, 3), bool)) | mask
    theta0 = None
    poly = _largest_polygon(mask, Affine(cell_m, 0, 0, 0, cell_m, 0))
    if poly is not None:
        simp = poly.simplify(1.5 * cell_m, preserve_topology=False)
        if isinstance(simp, Polygon) and not simp.is_empty:
            theta0 = _angle_from_edges(np.asarray(simp.exterior.coords))
    if theta0 is None:
        mrr = shapely.minimum_rotated_rectangle(shapely.MultiPoint(local))
        c = np.asarray(getattr(mrr, "exterior", mrr).coords)
        theta0 = _angle_from_edges(c) or 0.0
    # refinement: the robust bounding box in the building's frame is smallest when aligned
    # (searched close to the edge estimate, so wings at other angles do not pull it away)
    if local.shape[0] > 20000:  # the orientation needs no more than a sample
        local = local[:: int(math.ceil(local.shape[0] / 20000))]

    def bbox_area(a: float) -> float:
        lo, hi = np.quantile(rotate(local, -a), [0.001, 0.999], axis=0)
        return float(np.prod(hi - lo))

    best = theta0
    for half, step in ((refine_deg, 0.25), (0.25, 0.05)):  # coarse, then fine
        cands = best + np.deg2rad(np.arange(-half, half + 1e-9, step))
        best = float(cands[int(np.argmin([bbox_area(a) for a in cands]))])
    return best % (math.pi / 2)


# ---------------------------------------------------------------------------- polygons


def _largest_polygon(mask: np.ndarray, transform: Affine) -> Polygon | None:
    polys = mask_polygons(mask, transform)
    if not polys:
        return None
    return max(polys, key=lambda p: p.area)


def mask_polygons(mask: np.ndarray, transform: Affine) -> list[Polygon]:
    from rasterio import features

    if not mask.any():
        return []
    m = mask.astype(np.uint8)
    out = []
    for geom, _val in features.shapes(m, mask=mask, transform=transform, connectivity=4):
        rings = geom["coordinates"]
        out.append(Polygon(rings[0], rings[1:]))
    return out
