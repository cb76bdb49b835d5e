"""Outlines of one building's points: orient, trace, regularise (steps 2-4 of
:mod:`lidar.footprints.extraction`).

In the building's own frame (its dominant orientation, :func:`lidar.footprints.common.dominant_orientation`)
the points are rasterised at about their spacing, closed with a square (which keeps right
angles), small holes filled, and polygonised; the staircase outline is then simplified, each
edge snapped to the main direction or its perpendicular and placed on the points, and the
corners are the intersections of consecutive edge lines.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from affine import Affine
from scipy import ndimage
from shapely.geometry import Polygon

from lidar.footprints.common import dominant_orientation, mask_polygons, rotate

__all__ = ["trace_outline", "regularise_polygon", "building_outlines"]


# ---------------------------------------------------------------------------- orientation


def _occupied(local: np.ndarray, cell: float) -> int:
    ij = np.floor((local - local.min(axis=0)) / cell).astype(np.int64)
    return int(np.unique(ij[:, 0] * (ij[:, 1].max() + 1) + ij[:, 1]).size)


# ------------------------------------------------------------------------------- tracing


def trace_outline(
    local_xy: np.ndarray,
    cell_m: float,
    close_cells: int = 2,
    min_hole_m2: float = 4.0,
    min_area_m2: float = 10.0,
) -> list[Polygon]:
    """Outline(s) of points in their own (already rotated) frame as staircase polygons.

    Parameters
    ----------
    local_xy : (n, 2) float64
        Points [m], rotated so that the walls are parallel to the axes.
    cell_m : float
        Raster cell [m], about the point spacing.
    close_cells : int
        Closing radius with a square structuring element [cells]; fills the gaps between points.
    min_hole_m2 : float
        Holes smaller than this are filled (missing returns); larger ones are courtyards [m2].
    min_area_m2 : float
        Pieces smaller than this are dropped [m2].

    Returns
    -------
    list of Polygon
        In the same frame as ``local_xy``, largest first.
    """
    pad = close_cells + 2
    lo = local_xy.min(axis=0) - pad * cell_m
    ij = np.floor((local_xy - lo) / cell_m).astype(np.int64)
    shape = tuple(ij.max(axis=0) + pad + 1)
    mask = np.zeros((shape[1], shape[0]), bool)  # rows = y, cols = x
    mask[ij[:, 1], ij[:, 0]] = True
    se = np.ones((2 * close_cells + 1,) * 2, bool)
    mask = ndimage.binary_closing(mask, structure=se)
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    holes = ndimage.binary_fill_holes(mask) & ~mask
    hl, nh = ndimage.label(holes)
    if nh:
        hsize = np.bincount(hl.ravel(), minlength=nh + 1) * cell_m * cell_m
        small = hsize < min_hole_m2
        small[0] = False
        mask |= small[hl]
    tr = Affine(cell_m, 0, lo[0], 0, cell_m, lo[1])
    polys = [p for p in mask_polygons(mask, tr) if p.area >= min_area_m2]
    return sorted(polys, key=lambda p: -p.area)


# --------------------------------------------------------------------------- regularising


def _line_intersection(p1, d1, p2, d2):
    """Intersection of lines p1 + t d1 and p2 + s d2 (None when parallel)."""
    den = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(den) < 1e-12:
        return None
    t = ((p2[0] - p1[0]) * d2[1] - (p2[1] - p1[1]) * d2[0]) / den
    return np.array([p1[0] + t * d1[0], p1[1] + t * d1[1]])


class _Edge:
    """An edge line: point on it ``p``, unit direction ``d`` and orientation ``H``/``V``/``D``."""

    __slots__ = ("o", "p", "d", "w")

    def __init__(self, o: str, p: np.ndarray, d: np.ndarray, w: float):
        self.o, self.p, self.d, self.w = o, p, d, w

    @property
    def off(self) -> float:
        return float(self.p[1] if self.o == "H" else self.p[0])


def _make_edge(chain: np.ndarray, tan_tol: float) -> _Edge:
    a, b = chain[0], chain[-1]
    d = b - a
    length = float(np.hypot(*d))
    seg = np.diff(chain, axis=0)
    sl = np.hypot(seg[:, 0], seg[:, 1])
    mid = 0.5 * (chain[:-1] + chain[1:])
    if abs(d[1]) <= tan_tol * abs(d[0]):
        sel = np.abs(seg[:, 1]) < 1e-9
        y = float(np.average(mid[sel, 1], weights=sl[sel])) if sl[sel].sum() > 0 else float(0.5 * (a[1] + b[1]))
        return _Edge("H", np.array([a[0], y]), np.array([math.copysign(1.0, d[0]), 0.0]), length)
    if abs(d[0]) <= tan_tol * abs(d[1]):
        sel = np.abs(seg[:, 0]) < 1e-9
        x = float(np.average(mid[sel, 0], weights=sl[sel])) if sl[sel].sum() > 0 else float(0.5 * (a[0] + b[0]))
        return _Edge("V", np.array([x, a[1]]), np.array([0.0, math.copysign(1.0, d[1])]), length)
    return _Edge("D", a.astype(float), d / length, length)


def _corners(edges: list[_Edge]) -> np.ndarray:
    k = len(edges)
    pts = []
    for i in range(k):
        e0, e1 = edges[i - 1], edges[i]
        q = _line_intersection(e0.p, e0.d, e1.p, e1.d)
        if q is None:
            q = e1.p
        pts.append(q)
    return np.asarray(pts)


def _fit_to_points(edges: list[_Edge], pts: np.ndarray, cell_m: float, q: float) -> None:
    """Move H/V edges onto the outermost points (quantile ``q``) across them."""
    if pts is None or pts.shape[0] == 0:
        return
    corners = _corners(edges)
    k = len(edges)
    for i, e in enumerate(edges):
        if e.o == "D":
            continue
        a, b = corners[i], corners[(i + 1) % k]
        ax = 0 if e.o == "H" else 1  # coordinate along the edge
        lo, hi = sorted((a[ax], b[ax]))
        if hi - lo < 3 * cell_m:
            continue
        lo, hi = lo + cell_m, hi - cell_m
        # outward normal is on the right of the direction (building on the left)
        nrm = np.array([e.d[1], -e.d[0]])
        across = pts @ nrm
        off0 = float(e.p @ nrm)
        along = pts[:, ax]
        sel = (along >= lo) & (along <= hi) & (across >= off0 - 3 * cell_m) & (across <= off0 + 2 * cell_m)
        if np.count_nonzero(sel) < 5:
            continue
        # points are uniform across the band's inner part [a, wall]: the q-quantile sits at
        # a + q (wall - a), so the wall is a + (quantile - a) / q
        a = off0 - 3 * cell_m
        new = a + (float(np.quantile(across[sel], q)) - a) / q
        e.p = e.p + (new - off0) * nrm


def _simplify_edges(edges: list[_Edge], min_edge_m: float, max_iter: int = 500) -> list[_Edge]:
    """Merge near-collinear parallel neighbours, add connectors, drop short edges."""
    for _ in range(max_iter):
        changed = False
        # merge or connect consecutive parallel edges
        i = 0
        while len(edges) > 3 and i < len(edges):
            e0, e1 = edges[i - 1], edges[i]
            if e0.o == e1.o and e0.o != "D":
                if abs(e0.off - e1.off) < min_edge_m and float(e0.d @ e1.d) > 0:
                    w = e0.w + e1.w
                    off = (e0.off * e0.w + e1.off * e1.w) / w
                    p = e0.p.copy()
                    if e0.o == "H":
                        p[1] = off
                    else:
                        p[0] = off
                    edges[i - 1] = _Edge(e0.o, p, e0.d, w)
                    del edges[i]
                    changed = True
                    continue
                if float(e0.d @ e1.d) > 0:  # a step: connect with a perpendicular edge
                    o = "V" if e0.o == "H" else "H"
                    if e0.o == "H":
                        d = np.array([0.0, math.copysign(1.0, e1.off - e0.off)])
                        p = np.array([e1.p[0], e0.off])
                    else:
                        d = np.array([math.copysign(1.0, e1.off - e0.off), 0.0])
                        p = np.array([e0.off, e1.p[1]])
                    edges.insert(i, _Edge(o, p, d, abs(e1.off - e0.off)))
                    changed = True
                    i += 2
                    continue
            i += 1
        if len(edges) <= 3:
            break
        corners = _corners(edges)
        k = len(edges)
        lengths = np.array([np.hypot(*(corners[(j + 1) % k] - corners[j])) for j in range(k)])
        # short diagonals at corners are tracing artefacts of rounded raster corners
        lengths = np.where([e.o == "D" for e in edges], lengths / 3.0, lengths)
        j = int(np.argmin(lengths))
        if lengths[j] < min_edge_m:
            del edges[j]
            changed = True
        if not changed:
            break
    return edges


def _regularise_ring(
    ring: np.ndarray, pts: np.ndarray | None, cell_m: float, min_edge_m: float, angle_tol_deg: float, q: float
) -> np.ndarray | None:
    ring = np.asarray(ring, dtype=np.float64)
    if np.allclose(ring[0], ring[-1]):
        ring = ring[:-1]
    if ring.shape[0] < 3:
        return None
    simp = shapely.simplify(shapely.LinearRing(ring), 1.0 * cell_m, preserve_topology=False)
    sc = np.asarray(simp.coords)[:-1] if not simp.is_empty else ring
    if sc.shape[0] < 3:
        sc = ring
    index = {(float(x), float(y)): i for i, (x, y) in enumerate(ring)}
    kept = [index.get((float(x), float(y))) for x, y in sc]
    if any(k is None for k in kept):
        kept = list(range(ring.shape[0]))
    m = ring.shape[0]
    tan_tol = math.tan(math.radians(angle_tol_deg))
    edges: list[_Edge] = []
    for a, b in zip(kept, kept[1:] + kept[:1], strict=True):
        idx = np.arange(a, b + 1) if b > a else np.r_[np.arange(a, m), np.arange(0, b + 1)]
        edges.append(_make_edge(ring[idx], tan_tol))
    edges = _simplify_edges(edges, min_edge_m)
    if pts is not None and len(edges) >= 4:
        _fit_to_points(edges, pts, cell_m, q)
        edges = _simplify_edges(edges, min_edge_m)
    if len(edges) < 3:
        return None
    return _corners(edges)


def regularise_polygon(
    poly: Polygon,
    points: np.ndarray | None = None,
    cell_m: float = 0.5,
    min_edge_m: float = 1.0,
    angle_tol_deg: float = 15.0,
    quantile: float = 0.95,
) -> Polygon | None:
    """Regularise a staircase outline whose walls are parallel to the axes.

    Parameters
    ----------
    poly : Polygon
        Outline in the building's frame (main direction = x axis).
    points : (n, 2) float64, optional
        Building points in the same frame; edges are moved onto their outermost points.
    cell_m : float
        Raster cell of the outline [m] (the simplification tolerance).
    min_edge_m : float
        Shortest edge kept and the smallest offset between parallel neighbours [m].
    angle_tol_deg : float
        Edges within this angle of an axis are snapped to it [deg].
    quantile : float
        Quantile of the points across an edge that places it.

    Returns
    -------
    Polygon or None
        Valid polygon, or None when nothing valid remains.
    """
    poly = shapely.geometry.polygon.orient(poly, 1.0)  # exterior CCW, holes CW
    shell = _regularise_ring(np.asarray(poly.exterior.coords), points, cell_m, min_edge_m, angle_tol_deg, quantile)
    if shell is None:
        return None
    holes = []
    for h in poly.interiors:
        r = _regularise_ring(np.asarray(h.coords), points, cell_m, min_edge_m, angle_tol_deg, quantile)
        if r is not None and Polygon(r).area >= min_edge_m**2:
            holes.append(r)
    out = Polygon(shell, holes)
    if not out.is_valid:
        out = shapely.make_valid(out)
        parts = [g for g in getattr(out, "geoms", [out]) if isinstance(g, Polygon)]
        if not parts:
            return None
        out = max(parts, key=lambda p: p.area)
    out = shapely.remove_repeated_points(out, 1e-6)
    if out.is_empty or out.area <= 0:
        return None
    return shapely.geometry.polygon.orient(out, 1.0)


def _iou(a: Polygon, b: Polygon) -> float:
    u = a.union(b).area
    return float(a.intersection(b).area / u) if u > 0 else 0.0


def building_outlines(
    xy: np.ndarray,
    cell_m: float,
    min_area_m2: float,
    min_edge_m: float,
    regularise: bool,
    max_deviation_m: float = 2.0,
) -> list[Polygon]:
    """Outlines of one building's points ``xy`` (n, 2) [m]: orient, trace, regularise (steps 2-4).

    A regularised outline that strays from the traced one (IoU under 0.85 or a Hausdorff
    distance over ``max_deviation_m`` [m]) is replaced by the simplified trace.
    """
    centre = xy.mean(axis=0)
    local = xy - centre
    theta = dominant_orientation(local, cell_m)
    rot = rotate(local, -theta)
    # fine cell about the point spacing (density from the occupied coarse cells)
    occ = _occupied(rot, cell_m) * cell_m * cell_m
    spacing = 1.0 / math.sqrt(max(rot.shape[0] / max(occ, 1e-9), 1e-9))
    fine = float(np.clip(spacing, 0.15, cell_m))
    outlines = trace_outline(rot, fine, close_cells=2, min_area_m2=min_area_m2)
    out = []
    for poly in outlines:
        if regularise:
            reg = regularise_polygon(poly, rot, cell_m=fine, min_edge_m=min_edge_m)
            # a regularisation that strays from the traced outline (irregular shapes) is
            # replaced by the simplified trace
            if (
                reg is None
                or _iou(reg, poly) < 0.85
                or shapely.hausdorff_distance(reg.boundary, poly.boundary) > max_deviation_m
            ):
                reg = poly.simplify(fine, preserve_topology=True)
        else:
            reg = poly
        g = shapely.affinity.rotate(reg, theta, origin=(0, 0), use_radians=True)
        g = shapely.affinity.translate(g, centre[0], centre[1])
        out.append(g)
    return out
