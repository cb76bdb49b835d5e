"""LoD2.2: the footprint partitioned among the detected roof planes, extruded to one solid.

Every raster cell over the footprint takes the plane of its nearest plane point; small regions
are merged into their neighbours; the label raster is polygonised and simplified as a coverage
(:func:`lidar.reconstruct.partition.partition_from_labels`); each face is lifted onto its
plane. A face whose plane would dive towards the ground or shoot far above the highest roof
point (a plane extrapolated too far) is made flat at the median height of its points.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from citymodel.errors import ReconstructionError
from lidar.reconstruct.extrude import Shell, extrude
from lidar.reconstruct.partition import (
    Grid,
    Partition,
    make_grid,
    merge_small_regions,
    partition_from_labels,
)
from lidar.roofplanes import RoofPlanes

__all__ = ["lod22_shell", "face_of_points"]


def face_of_points(part: Partition, xy: np.ndarray) -> np.ndarray:
    """Face index ``(n,)`` int64 of each point (-1 outside every face)."""
    polys = part.polygons()
    tree = shapely.STRtree(polys)
    pi, fi = tree.query(shapely.points(xy), predicate="intersects")
    out = -np.ones(len(xy), dtype=np.int64)
    out[pi] = fi
    return out


def lod22_shell(
    footprint: Polygon,
    roof_xyz: np.ndarray,
    planes: RoofPlanes,
    z_ground_m: float,
    cell_m: float = 0.5,
    min_region_m2: float = 2.0,
    grid: Grid | None = None,
) -> tuple[Shell, Partition, np.ndarray]:
    """LoD2.2 solid of one footprint part.

    Parameters
    ----------
    footprint : Polygon
    roof_xyz : (n, 3) float64
        Roof points inside the footprint [m] (the points ``planes`` was detected on).
    planes : RoofPlanes
        Planes with a label per point of ``roof_xyz``.
    z_ground_m : float
    cell_m : float
        Raster cell size [m].
    min_region_m2 : float
        Plane regions smaller than this are merged into a neighbour [m2].

    Returns
    -------
    shell : Shell
    partition : Partition
    face_coef : (f, 3) float64
        Plane of each face in ``planes``' local coordinates (``z = a x + b y + c``).
    """
    lab_pts = planes.labels
    ok = lab_pts >= 0
    if planes.n_planes == 0 or ok.sum() < 3:
        raise ReconstructionError("no roof plane was detected")
    grid = grid or make_grid(footprint, cell_m)
    _, idx = cKDTree(roof_xyz[ok, :2]).query(grid.centres, k=1)
    labels = -np.ones(grid.mask.shape, dtype=np.int64)
    labels[grid.mask] = lab_pts[ok][idx]
    labels = merge_small_regions(labels, max(1, int(round(min_region_m2 / cell_m**2))))
    part = partition_from_labels(footprint, grid, labels)
    coef = planes.coef[part.label].copy()
    o = planes.origin
    zmax = float(roof_xyz[:, 2].max())
    face = None
    for f, rings in enumerate(part.faces):
        xy = part.xy[rings[0]] - o[:2]
        z = coef[f, 0] * xy[:, 0] + coef[f, 1] * xy[:, 1] + coef[f, 2] + o[2]
        if z.min() < z_ground_m + 0.5 or z.max() > zmax + 1.0:
            if face is None:
                face = face_of_points(part, roof_xyz[:, :2])
            zin = roof_xyz[face == f, 2]
            h = float(np.median(zin)) if len(zin) else float(np.median(roof_xyz[:, 2]))
            coef[f] = (0.0, 0.0, max(h, z_ground_m + 0.5) - o[2])

    def zf(f: int, xy: np.ndarray) -> np.ndarray:
        c = coef[f]
        return c[0] * (xy[:, 0] - o[0]) + c[1] * (xy[:, 1] - o[1]) + c[2] + o[2]

    shell = extrude(part, zf, z_ground_m)
    return shell, part, coef
