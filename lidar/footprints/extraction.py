"""Building footprints from building points, for runs without a footprint layer.

1. **Segment**: building-class points are rasterised (``cell_m``, default 0.5 m), the mask is
   closed by one cell and split into 4-connected components, which are cut where the highest
   points of neighbouring cells differ by more than ``step_m`` (adjoining houses of different
   heights); small pieces and pieces enclosed by one roof (dormers, penthouses) are merged
   back. Each remaining piece is then split at its party walls (:mod:`lidar.footprints.partywalls`):
   straight lines across it, parallel to its walls, along which the roof height steps, the roof
   forms a valley or (with an orthophoto) the roof colour changes; pieces under ``20 m2`` are
   merged back. Each remaining piece is one building.
2. **Orient**: the main direction of a building comes from its simplified outline's edges
   (squared-length-weighted circular mean of 4 x edge angle), refined within 1.5 degrees by
   minimising the area of the points' robust bounding box in the rotated frame.
3. **Trace**: in the building's own frame the points are rasterised at about their spacing,
   closed with a square (which keeps right angles), small holes filled, and polygonised
   (``rasterio.features.shapes``); the outline is now a staircase aligned with the walls.
4. **Regularise**: the outline is simplified (Douglas-Peucker), each edge is snapped to the
   main direction or its perpendicular (others kept as they are), placed on the points
   (from the 95th percentile of the building points across the edge, corrected for the
   uniform spread, so it sits on the outermost returns without being pulled by outliers), parallel neighbours closer than ``min_edge_m`` are merged and edges shorter than
   ``min_edge_m`` dropped; corners are the intersections of consecutive edge lines.

Steps: :mod:`lidar.footprints.segmentation` (1), :mod:`lidar.footprints.partywalls` (party
walls), :mod:`lidar.footprints.outlines` (2-4). The result is a list of shapely Polygons (holes kept for courtyards) in the point cloud's CRS.
"""


from __future__ import annotations

import os

import numpy as np
import shapely
from affine import Affine
from shapely.geometry import Polygon

from citymodel.errors import FootprintError
from lidar.classify import classify_points
from lidar.footprints.common import dominant_orientation
from lidar.footprints.outlines import building_outlines, regularise_polygon, trace_outline
from lidar.footprints.partywalls import read_ortho, split_party_walls
from lidar.footprints.segmentation import segment_buildings
from lidar.points.pointcloud import ASPRS_BUILDING, PointCloud
from lidar.terrain.dtm import height_above_ground

__all__ = [
    "extract_footprints",
    "owned_footprints",
    "segment_buildings",
    "dominant_orientation",
    "trace_outline",
    "regularise_polygon",
]


def extract_footprints(
    pc: PointCloud,
    dtm: tuple[np.ndarray, Affine] | None = None,
    *,
    building_class: int = ASPRS_BUILDING,
    cell_m: float = 0.5,
    min_area_m2: float = 10.0,
    min_height_m: float = 1.0,
    min_edge_m: float = 1.0,
    step_m: float | None = 1.5,
    roof_step_m: float | None = 0.3,
    regularise: bool = True,
    classify_if_missing: bool = True,
    ortho: str | os.PathLike | None = None,
    party_walls: bool = True,
) -> list[Polygon]:
    """Footprints of the buildings in a point cloud.

    Parameters
    ----------
    pc : PointCloud
        Points [m]; building points are those with ``building_class`` (6).
    dtm : (grid, transform), optional
        A DTM; building points lower than ``min_height_m`` above it are ignored.
    building_class : int
        ASPRS class of building points.
    cell_m : float
        Raster cell for segmentation [m].
    min_area_m2 : float
        Smallest footprint kept [m2].
    min_height_m : float
        With ``dtm``: lowest building point kept above ground [m].
    min_edge_m : float
        Shortest wall kept by the regularisation [m].
    step_m : float or None
        Roof height step that separates adjoining buildings [m]; None keeps every connected
        block as one building (see :func:`segment_buildings`).
    roof_step_m : float or None
        Height difference between adjacent roof planes that separates buildings [m]; None
        skips the roof-plane test (see :func:`segment_buildings`).
    regularise : bool
        Snap to the dominant directions (else the raw traced staircase).
    classify_if_missing : bool
        When no point has ``building_class``, classify the cloud first
        (:func:`lidar.classify.classify_points`).
    ortho : path, optional
        RGBN orthophoto: for that classification (NDVI keeps trees out of the buildings) and
        for the party walls (roof colour breaks).
    party_walls : bool
        Split rows of touching buildings at their party walls: straight lines across a piece
        along which the roof height steps or (with ``ortho``) the roof colour changes
        (see :mod:`lidar.footprints.partywalls`).

    Returns
    -------
    list of shapely Polygon
        One per building (holes for courtyards), in the cloud's CRS, ordered by position.

    Raises
    ------
    FootprintError
        No building points (and classification found none either).
    """
    cls = pc.classification
    is_b = cls == building_class
    if not is_b.any() and classify_if_missing:
        cls = classify_points(pc, ortho=ortho)
        is_b = cls == ASPRS_BUILDING
    if dtm is not None and is_b.any():
        grid, tr = dtm
        h = np.full(len(pc), np.inf)
        h[is_b] = height_above_ground(pc.xyz[is_b], grid, tr)
        is_b &= h >= min_height_m
    if not is_b.any():
        raise FootprintError(
            f"{', '.join(pc.sources) or 'point cloud'}: no building points (class {building_class}) "
            "to extract footprints from; give footprints or a classified point cloud"
        )
    xy = pc.xyz[is_b, :2]
    labels = segment_buildings(
        xy, pc.xyz[is_b, 2], cell_m=cell_m, min_area_m2=min_area_m2, step_m=step_m, roof_step_m=roof_step_m
    )
    if party_walls and labels.size:
        image = None
        if ortho is not None:
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            image = read_ortho(ortho, (lo[0], lo[1], hi[0], hi[1]), pc.epsg)
        labels = split_party_walls(pc.xyz[is_b], labels, image, cell_m=cell_m)
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    starts = np.searchsorted(sl, np.arange(sl.max() + 1 if sl.size else 0))
    ends = np.r_[starts[1:], sl.size][: starts.size]  # no label at all (a tile's edge): no piece
    out: list[Polygon] = []
    for s, e in zip(starts, ends, strict=True):
        pts = xy[order[s:e]]
        if pts.shape[0] < 10:
            continue
        out.extend(building_outlines(pts, cell_m, min_area_m2, min_edge_m, regularise))
    return out


def owned_footprints(polygons: list[Polygon], core_m: tuple[float, float, float, float],
                     box_m: tuple[float, float, float, float], data_m: tuple[float, float, float, float],
                     edge_m: float) -> tuple[list[Polygon], list[Polygon]]:
    """The footprints a tile owns, extracted from its points with a buffer (those whose centroid
    lies in its cell and that do not reach the buffer's edge), and the cut ones (reaching it).

    Parameters
    ----------
    polygons : list of Polygon
        Extracted from the points of ``box_m`` (:func:`extract_footprints`) [m].
    core_m : (xmin, ymin, xmax, ymax)
        The tile's cell [m]: it owns the centroids with ``xmin <= x < xmax``, ``ymin <= y < ymax``.
    box_m : (xmin, ymin, xmax, ymax)
        The box its points came from (cell plus buffer) [m].
    data_m : (xmin, ymin, xmax, ymax)
        The extent of all the points [m]: an edge of ``box_m`` outside it cuts nothing.
    edge_m : float
        A footprint closer than this to an edge of ``box_m`` inside the data is cut [m].

    Returns
    -------
    whole, cut : list of Polygon
        Owned footprints complete within the box, and every footprint reaching its edge, owned
        or not (pieces of buildings reaching past the buffer: to extract again from a larger box;
        the piece's centroid is not the building's).
    """
    whole: list[Polygon] = []
    cut: list[Polygon] = []
    if not polygons:
        return whole, cut
    c = shapely.centroid(polygons)
    x, y = shapely.get_x(c), shapely.get_y(c)
    own = (x >= core_m[0]) & (x < core_m[2]) & (y >= core_m[1]) & (y < core_m[3])
    b = shapely.bounds(polygons)
    reach = np.zeros(len(polygons), bool)
    for k, inner in ((0, box_m[0] > data_m[0]), (1, box_m[1] > data_m[1])):  # west, south
        if inner:
            reach |= b[:, k] <= box_m[k] + edge_m
    for k, inner in ((2, box_m[2] < data_m[2]), (3, box_m[3] < data_m[3])):  # east, north
        if inner:
            reach |= b[:, k] >= box_m[k] - edge_m
    for p, o, r in zip(polygons, own, reach, strict=True):
        if r:
            cut.append(p)
        elif o:
            whole.append(p)
    return whole, cut
