"""Planar partition of a footprint: faces with exactly shared vertices, from a label raster.

A label raster (one roof part or plane per cell) covering the footprint is polygonised
(rasterio), its staircase boundaries simplified as a coverage (shapely ``coverage_simplify``,
shared edges stay shared), intersected with the footprint by noding all boundaries together
and polygonising them. Vertices get integer ids so that neighbouring faces share them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from rasterio import features
from rasterio.transform import Affine
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely.geometry import Polygon

from citymodel.errors import ReconstructionError

#: 2D vertices of a partition closer than this are merged [m].
MERGE_XY_M = 0.003

__all__ = ["Grid", "Partition", "make_grid", "partition_from_labels", "partition_from_polygons",
           "merge_small_regions", "merge_close_vertices", "remove_checkerboards", "merge_small_faces",
           "straighten_inner_chains"]


@dataclass
class Grid:
    """A raster over a footprint.

    Attributes
    ----------
    transform : Affine
        Cell (col, row) to (x, y) of the cell's upper-left corner.
    mask : (h, w) bool
        Cells touched by the footprint.
    centres : (c, 2) float64
        Centres of the masked cells [m], in ``np.nonzero(mask)`` order.
    cell_m : float
    """

    transform: Affine
    mask: np.ndarray
    centres: np.ndarray
    cell_m: float

    def xy_to_cell(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column ``(k,)`` int64 of points ``(k, 2)`` (may fall outside the grid)."""
        x0, y0 = self.transform.c, self.transform.f
        col = np.floor((xy[:, 0] - x0) / self.cell_m).astype(np.int64)
        row = np.floor((y0 - xy[:, 1]) / self.cell_m).astype(np.int64)
        return row, col


@dataclass
class Partition:
    """Faces that tile a footprint exactly.

    Attributes
    ----------
    xy : (v, 2) float64
        2D vertices [m].
    faces : list of list of (k,) int64
        Per face its rings as vertex ids, not closed: exterior counter-clockwise first, then
        holes clockwise.
    label : (f,) int64
        Label (roof part or plane) of each face.
    """

    xy: np.ndarray
    faces: list[list[np.ndarray]]
    label: np.ndarray

    @property
    def n_faces(self) -> int:
        return len(self.faces)

    def polygons(self) -> list[Polygon]:
        """Faces as shapely polygons."""
        return [Polygon(self.xy[r[0]], [self.xy[h] for h in r[1:]]) for r in self.faces]


def make_grid(footprint: shapely.Geometry, cell_m: float) -> Grid:
    """Raster of ``cell_m`` cells over ``footprint`` (one cell margin); mask = cells touched."""
    xmin, ymin, xmax, ymax = footprint.bounds
    xmin, ymin = xmin - cell_m, ymin - cell_m
    w = int(np.ceil((xmax + cell_m - xmin) / cell_m))
    h = int(np.ceil((ymax + cell_m - ymin) / cell_m))
    ymax2 = ymin + h * cell_m
    tr = Affine(cell_m, 0.0, xmin, 0.0, -cell_m, ymax2)
    mask = features.rasterize([footprint], out_shape=(h, w), transform=tr, all_touched=True,
                              fill=0, default_value=1, dtype="uint8").astype(bool)
    rows, cols = np.nonzero(mask)
    centres = np.column_stack([xmin + (cols + 0.5) * cell_m, ymax2 - (rows + 0.5) * cell_m])
    return Grid(tr, mask, centres, cell_m)


def merge_small_regions(labels: np.ndarray, min_cells: int, max_iter: int = 5) -> np.ndarray:
    """Give connected regions smaller than ``min_cells`` the most common neighbouring label.

    Parameters
    ----------
    labels : (h, w) int64
        Labels >= 0 inside, -1 outside.
    """
    lab = labels.copy()
    st = np.ones((3, 3), dtype=bool)
    for _ in range(max_iter):
        changed = False
        for v in np.unique(lab[lab >= 0]):
            comp, n = ndimage.label(lab == v, structure=st)
            if n == 0:
                continue
            sizes = np.bincount(comp.ravel())
            for c in np.flatnonzero(sizes[1:] < min_cells) + 1:
                m = comp == c
                ring = ndimage.binary_dilation(m, structure=st) & ~m & (lab >= 0) & (lab != v)
                if not ring.any():
                    continue
                vals, cnt = np.unique(lab[ring], return_counts=True)
                lab[m] = vals[np.argmax(cnt)]
                changed = True
        if not changed:
            break
    return lab


def _dp_keep(p: np.ndarray, tol: float) -> np.ndarray:
    """Douglas-Peucker on an open polyline ``(k, 2)``: mask of the vertices kept (ends kept)."""
    keep = np.zeros(len(p), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(p) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = p[i], p[j]
        d = b - a
        n = float(np.hypot(*d))
        q = p[i + 1 : j] - a
        dist = np.abs(q[:, 0] * d[1] - q[:, 1] * d[0]) / n if n > 0 else np.hypot(q[:, 0], q[:, 1])
        k = int(np.argmax(dist))
        if dist[k] > tol:
            m = i + 1 + k
            keep[m] = True
            stack += [(i, m), (m, j)]
    return keep


def straighten_inner_chains(part: Partition, tol_m: float) -> Partition:
    """Douglas-Peucker on every chain of inner edges between two faces (ends fixed).

    A chain runs between vertices where three or more faces (or the footprint boundary) meet;
    its inner vertices belong to exactly the two faces on either side, so dropping them keeps the
    faces sharing their edges. The footprint boundary is never changed. Returns ``part`` itself
    when a face would become invalid.
    """
    nbr: dict[int, set[int]] = {}
    inc: dict[int, set[int]] = {}
    edges: set[tuple[int, int]] = set()
    for f, rings in enumerate(part.faces):
        for r in rings:
            for a, b in zip(r.tolist(), np.roll(r, -1).tolist(), strict=True):
                nbr.setdefault(a, set()).add(b)
                nbr.setdefault(b, set()).add(a)
                inc.setdefault(a, set()).add(f)
                edges.add((a, b))
    boundary = {a for a, b in edges if (b, a) not in edges}
    fixed = {v for v in nbr if v in boundary or len(nbr[v]) != 2 or len(inc[v]) != 2}
    chains: list[tuple[set[int], set[int]]] = []  # (vertices to drop, the two faces)
    seen: set[int] = set()
    for start in sorted(fixed) + sorted(set(nbr) - fixed):
        if start in seen and start not in fixed:
            continue
        if start not in fixed:  # a closed loop with no fixed vertex: fix one
            fixed.add(start)
        for nxt in sorted(nbr[start]):
            if nxt in fixed or nxt in seen:
                continue
            chain = [start, nxt]
            prev, cur = start, nxt
            while cur not in fixed:
                seen.add(cur)
                cur, prev = next(iter(nbr[cur] - {prev})), cur
                chain.append(cur)
            keep = _dp_keep(part.xy[chain], tol_m)
            d = {v for v, k in zip(chain, keep, strict=True) if not k} - fixed
            if d:
                chains.append((d, set(inc[chain[1]])))
    if not chains:
        return part
    faces = [list(rings) for rings in part.faces]
    changed = False
    for d, fs in chains:  # one chain at a time: keep it only if its two faces stay valid
        dl = np.fromiter(d, dtype=np.int64)
        trial = {f: [r[~np.isin(r, dl)] for r in faces[f]] for f in fs}
        ok = all(len(r) >= 3 for rings in trial.values() for r in rings)
        if ok:
            for rings in trial.values():
                pg = Polygon(part.xy[rings[0]], [part.xy[h] for h in rings[1:]])
                if not pg.is_valid or pg.area <= 1e-3 or shapely.minimum_clearance(pg) < 0.002:
                    ok = False
                    break
        if ok:
            for f, rings in trial.items():
                faces[f] = rings
            changed = True
    if not changed:
        return part
    out = Partition(part.xy, faces, part.label)
    polys = out.polygons()
    tot = shapely.area(shapely.union_all(polys))
    if abs(tot - float(np.sum(shapely.area(polys)))) > 1e-3 * max(tot, 1.0):
        return part
    return out


def remove_checkerboards(labels: np.ndarray, max_iter: int = 20) -> np.ndarray:
    """Break 2x2 checkerboards (``[[a, b], [b, a]]``) by giving one ``b`` cell the label ``a``.

    Regions touching only at a corner would make a vertex where four faces alternate, whose
    vertical edge a closed solid could not share between just two walls.
    """
    lab = labels.copy()
    for _ in range(max_iter):
        a, b = lab[:-1, :-1], lab[:-1, 1:]
        c, d = lab[1:, :-1], lab[1:, 1:]
        hit = (a == d) & (b == c) & (a != b) & (a >= 0) & (b >= 0)
        if not hit.any():
            break
        i, j = np.nonzero(hit)
        lab[i, j + 1] = lab[i, j]
    return lab


def _rings_of(poly: Polygon) -> list[np.ndarray]:
    poly = shapely.orient_polygons(poly, exterior_cw=False)
    return [np.asarray(poly.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in poly.interiors]


def partition_from_polygons(polys: list[Polygon], labels: np.ndarray, snap_m: float = 1e-6) -> Partition:
    """A partition with shared vertex ids from polygons that already tile an area exactly.

    The polygons' boundaries are noded together and polygonised again, so that vertices on
    shared edges are shared even where the input had them on one side only.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(polys) == 1:
        faces_geom = [polys[0]]
        face_lab = labels[:1]
    else:
        lines = shapely.union_all([p.boundary for p in polys])
        faces_geom = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
        tree = shapely.STRtree(polys)
        reps = shapely.point_on_surface(faces_geom)
        fi, pi = tree.query(reps, predicate="within")
        face_lab = -np.ones(len(faces_geom), dtype=np.int64)
        face_lab[fi] = labels[pi]
        keep = face_lab >= 0
        faces_geom = [f for f, k in zip(faces_geom, keep, strict=False) if k]
        face_lab = face_lab[keep]
    key_to_id: dict[tuple[float, float], int] = {}
    xy_list: list[tuple[float, float]] = []
    faces: list[list[np.ndarray]] = []
    labs = []
    for g, lab in zip(faces_geom, face_lab, strict=False):
        if g.area <= 1e-6:
            continue
        rings = []
        for r in _rings_of(g):
            q = np.round(r / snap_m) * snap_m
            ids = []
            for x, y in q:
                k = (x, y)
                i = key_to_id.get(k)
                if i is None:
                    i = len(xy_list)
                    key_to_id[k] = i
                    xy_list.append(k)
                if not ids or ids[-1] != i:
                    ids.append(i)
            if len(ids) > 1 and ids[0] == ids[-1]:
                ids.pop()
            if len(ids) >= 3:
                rings.append(np.asarray(ids, dtype=np.int64))
        if rings:
            faces.append(rings)
            labs.append(int(lab))
    if not faces:
        raise ReconstructionError("the footprint partition has no faces")
    xy = np.asarray(xy_list, dtype=np.float64)
    faces = merge_close_vertices(xy, faces, MERGE_XY_M)
    if not faces:
        raise ReconstructionError("the footprint partition has no faces")
    return Partition(xy, faces, np.asarray(labs, dtype=np.int64))


def merge_close_vertices(xy: np.ndarray, faces: list[list[np.ndarray]], tol_m: float) -> list[list[np.ndarray]]:
    """Replace vertices closer than ``tol_m`` by one of them (the lowest id) in every ring."""
    pairs = cKDTree(xy).query_pairs(tol_m, output_type="ndarray")
    if len(pairs) == 0:
        return faces
    rep = np.arange(len(xy))
    for a, b in sorted(map(tuple, pairs.tolist())):
        ra, rb = a, b
        while rep[ra] != ra:
            ra = rep[ra]
        while rep[rb] != rb:
            rb = rep[rb]
        if ra != rb:
            rep[max(ra, rb)] = min(ra, rb)
    while True:
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            break
        rep = nxt
    out = []
    for rings in faces:
        new = []
        for r in rings:
            m = rep[r]
            keep = m != np.roll(m, 1)
            m = m[keep]
            if len(m) >= 3:
                new.append(m)
        if new:
            out.append(new)
    return out


def partition_from_labels(
    footprint: Polygon, grid: Grid, labels: np.ndarray, simplify_m: float | None = None,
    min_face_m2: float = 0.5, straighten_m: float = 0.6,
) -> Partition:
    """Partition ``footprint`` by a label raster.

    Parameters
    ----------
    footprint : Polygon
        One footprint part [m].
    grid : Grid
        The raster the labels are on.
    labels : (h, w) int64
        Label per cell (>= 0 on every masked cell).
    simplify_m : float, optional
        Coverage simplification tolerance [m] (default: 1.5 cells).
    min_face_m2 : float
        Faces smaller than this (clipping slivers) are merged into a neighbour [m2].
    straighten_m : float
        Douglas-Peucker tolerance for the inner edges between faces (raster steps) [m].
    """
    if simplify_m is None:
        simplify_m = 1.5 * grid.cell_m
    labels = remove_checkerboards(np.where(grid.mask, labels, -1))
    vals = np.unique(labels[grid.mask])
    if len(vals) <= 1:
        return partition_from_polygons([footprint], np.array([int(vals[0]) if len(vals) else 0]))
    lab32 = np.where(grid.mask, labels, -1).astype(np.int32)
    parts, plab = [], []
    for geom, v in features.shapes(lab32, mask=grid.mask, transform=grid.transform, connectivity=4):
        parts.append(shapely.geometry.shape(geom))
        plab.append(int(v))
    parts = list(shapely.coverage_simplify(np.asarray(parts, dtype=object), simplify_m, simplify_boundary=False))
    parts = [shapely.make_valid(p) if not p.is_valid else p for p in parts]
    lines = shapely.union_all([footprint.boundary] + [p.boundary for p in parts])
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    shapely.prepare(footprint)
    reps = shapely.point_on_surface(faces)
    inside = shapely.contains(footprint, reps)
    faces = [f for f, k in zip(faces, inside, strict=False) if k]
    reps = reps[inside]
    tree = shapely.STRtree(parts)
    nearest = tree.nearest(reps)
    flab = np.asarray(plab, dtype=np.int64)[nearest]
    faces, flab = merge_small_faces(faces, flab, min_face_m2)
    part = partition_from_polygons(faces, flab)
    if straighten_m > 0:
        part = straighten_inner_chains(part, straighten_m)
    return part


def merge_small_faces(faces: list[Polygon], flab: np.ndarray, min_m2: float) -> tuple[list[Polygon], np.ndarray]:
    """Merge faces below ``min_m2`` (and same-label neighbours) by dissolving per label."""
    areas = shapely.area(faces)
    flab = flab.copy()
    if (areas < min_m2).any() and len(faces) > 1:
        tree = shapely.STRtree(faces)
        for i in np.flatnonzero(areas < min_m2):
            cand = tree.query(faces[i], predicate="touches")
            best, best_len = -1, 0.0
            for j in cand:
                if j == i or areas[j] < min_m2:
                    continue
                ln = shapely.length(shapely.intersection(faces[i].boundary, faces[j].boundary))
                if ln > best_len:
                    best, best_len = j, ln
            if best >= 0:
                flab[i] = flab[best]
    out, lab = [], []
    for v in np.unique(flab):
        geoms = [faces[i] for i in np.flatnonzero(flab == v)]
        u = shapely.union_all(geoms) if len(geoms) > 1 else geoms[0]
        for g in shapely.get_parts(u):
            if isinstance(g, Polygon) and g.area > 1e-6:
                out.append(g)
                lab.append(int(v))
    return out, np.asarray(lab, dtype=np.int64)
