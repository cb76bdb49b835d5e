"""LoD2.2: the footprint partitioned among the detected roof planes, extruded to one solid.

Every raster cell over the footprint takes, among the planes of its nearest plane points, the one
nearest in height to its nearest roof point; small regions
are merged into their neighbours; the label raster is polygonised and simplified as a coverage
(:func:`lidar.reconstruct.partition.partition_from_labels`); each face is lifted onto its
plane. A face whose plane would dive towards the ground or shoot far above the highest roof
point by more than ``MAX_EXTRAPOLATION_M`` (a plane extrapolated too far) is made flat at the median height of its points.
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
    merge_close_vertices,
    merge_small_faces,
    merge_small_regions,
    partition_from_labels,
    partition_from_polygons,
)
from lidar.reconstruct.roofplanes import RoofPlanes

#: Faces whose rings come closer than this to themselves (slits) are rejected [m].
MIN_CLEARANCE_M = 0.002
#: A face whose plane rises more than this above the highest roof point is made flat [m].
MAX_EXTRAPOLATION_M = 3.0
#: Coverage simplification of the raster partition, in cells.
SIMPLIFY_CELLS = 1.0
#: Partition faces smaller than this join a neighbour [m2].
MIN_FACE_M2 = 0.2
STRAIGHTEN_M = 0.2
NEAR_K = 1
NEAR_MARGIN_M = 0.05

__all__ = ["lod22_shell", "face_of_points", "snap_to_plane_lines", "bad_faces"]


def face_of_points(part: Partition, xy: np.ndarray, geoms: np.ndarray | None = None) -> np.ndarray:
    """Face index ``(n,)`` int64 of each point (-1 outside every face)."""
    polys = part.polygons()
    tree = shapely.STRtree(polys)
    pi, fi = tree.query(shapely.points(xy) if geoms is None else geoms, predicate="intersects")
    out = -np.ones(len(xy), dtype=np.int64)
    out[pi] = fi
    return out


def snap_to_plane_lines(part: Partition, coef: np.ndarray, origin: np.ndarray, corners: np.ndarray,
                        max_move_m: float = 1.0) -> Partition:
    """Move partition vertices onto the intersection lines of their faces' roof planes.

    A vertex between two faces goes to the nearest point of the line where the two planes meet;
    a vertex between three or more faces to the point where they meet (least squares); a vertex
    on a footprint edge slides along that edge to where the two planes meet. Footprint corners
    stay. Moves longer than ``max_move_m`` are not made; when a moved face would be invalid, the
    partition is returned unchanged. Ridges and valleys then have no step walls.

    Parameters
    ----------
    part : Partition
    coef : (f, 3) float64
        Plane of each face, ``z = a x + b y + c`` in coordinates relative to ``origin``.
    origin : (3,) float64
    corners : (c, 2) float64
        Footprint vertices (never moved).
    max_move_m : float
        Largest move [m].
    """
    nv = len(part.xy)
    inc: list[set[int]] = [set() for _ in range(nv)]
    edges: dict[tuple[int, int], int] = {}
    for f, rings in enumerate(part.faces):
        for r in rings:
            for a, b in zip(r.tolist(), np.roll(r, -1).tolist(), strict=True):
                inc[a].add(f)
                edges[(a, b)] = f
    bnext: dict[int, int] = {}
    bprev: dict[int, int] = {}
    for a, b in edges:
        if (b, a) not in edges:
            bnext[a] = b
            bprev[b] = a
    corner_keys = {(round(x, 4), round(y, 4)) for x, y in corners}
    xy0 = part.xy
    loc = xy0 - origin[:2]
    new = loc.copy()
    moved = False
    for v in range(nv):
        fs = sorted(inc[v])
        if len(fs) < 2:
            continue
        planes = np.unique(coef[fs], axis=0)
        if len(planes) < 2:
            continue
        # rows: (aA - aB) x + (bA - bB) y = -(cA - cB) for pairs against the first plane
        d = planes[1:] - planes[0]
        A = d[:, :2]
        rhs = -d[:, 2]
        if np.all(np.linalg.norm(A, axis=1) < 1e-3):
            continue  # parallel planes (e.g. two flat roofs): a real step
        p = loc[v]
        if v in bnext:
            if (round(xy0[v, 0], 4), round(xy0[v, 1], 4)) in corner_keys or len(planes) != 2:
                continue
            u, w = bprev.get(v), bnext[v]
            if u is None:
                continue
            e = loc[w] - loc[u]
            den = float(A[0] @ e)
            if abs(den) < 1e-9:
                continue
            t = float((rhs[0] - A[0] @ loc[u]) / den)
            if not 0.02 < t < 0.98:
                continue
            q = loc[u] + t * e
        elif len(planes) == 2:
            g = A[0]
            gg = float(g @ g)
            if gg < 1e-6:
                continue
            q = p - g * (float(g @ p) - rhs[0]) / gg
        else:
            q, *_ = np.linalg.lstsq(A, rhs, rcond=None)
            if np.max(np.abs(A @ q - rhs)) > 0.05:
                continue
        if np.hypot(*(q - p)) <= max_move_m:
            new[v] = q
            moved = True
    if not moved:
        return part
    for _ in range(4):  # revert the vertices of faces the moves broke, then check again
        xy_new = new + origin[:2]
        faces = _remove_spikes(xy_new, merge_close_vertices(xy_new, part.faces, 0.02))
        if len(faces) != len(part.faces):
            return part
        # a face whose ring collapsed (its exterior folded into spikes and dropped): revert it
        # (before, it was kept without rings and indexing its exterior raised IndexError)
        broken = [f for f, rings in enumerate(faces) if len(rings) != len(part.faces[f])]
        out = Partition(xy_new, faces, part.label)
        bad = broken or bad_faces(out)
        if not bad:
            polys = out.polygons()
            tot = shapely.area(shapely.union_all(polys))
            if abs(tot - float(np.sum(shapely.area(polys)))) < 1e-3 * max(tot, 1.0):
                return out
            return part
        for f in bad:
            for r in part.faces[f]:
                new[r] = loc[r]
    return part


def _remove_spikes(xy: np.ndarray, faces: list[list[np.ndarray]], min_angle_deg: float = 2.0) -> list[list[np.ndarray]]:
    """Drop vertices that are the tip of a spike (angle under ``min_angle_deg``) and lie between
    exactly two faces, from both faces' rings (snapping can fold short zig-zags into spikes)."""
    cos_max = np.cos(np.radians(min_angle_deg))
    faces = [[r.copy() for r in rings] for rings in faces]
    for _ in range(20):
        inc: dict[int, set[int]] = {}
        edges: set[tuple[int, int]] = set()
        for f, rings in enumerate(faces):
            for r in rings:
                for a, b in zip(r.tolist(), np.roll(r, -1).tolist(), strict=True):
                    inc.setdefault(a, set()).add(f)
                    edges.add((a, b))
        boundary = {a for a, b in edges if (b, a) not in edges}
        drop: set[int] = set()
        for rings in faces:
            for r in rings:
                if len(r) < 4:
                    continue
                p = xy[r]
                a = np.roll(p, 1, axis=0) - p
                b = np.roll(p, -1, axis=0) - p
                la, lb = np.hypot(a[:, 0], a[:, 1]), np.hypot(b[:, 0], b[:, 1])
                cos = np.einsum("ij,ij->i", a, b) / np.maximum(la * lb, 1e-12)
                for v in r[cos > cos_max].tolist():
                    if v not in boundary and len(inc.get(v, ())) == 2:
                        drop.add(v)
        if not drop:
            break
        faces = [[r[~np.isin(r, list(drop))] for r in rings] for rings in faces]
        faces = [[r for r in rings if len(r) >= 3] for rings in faces]
    return faces


def bad_faces(part: Partition, min_edge_m: float = 0.01, min_angle_deg: float = 2.0) -> list[int]:
    """Faces that are invalid, tiny, pinched into a slit (minimum clearance under
    ``MIN_CLEARANCE_M``), or have a spike (an angle under ``min_angle_deg``)."""
    bad = []
    cos_max = np.cos(np.radians(min_angle_deg))
    for f, pg in enumerate(part.polygons()):
        if not pg.is_valid or pg.area < 1e-3 or shapely.minimum_clearance(pg) < MIN_CLEARANCE_M:
            bad.append(f)
            continue
        for r in part.faces[f]:
            p = part.xy[r]
            a = np.roll(p, 1, axis=0) - p
            b = np.roll(p, -1, axis=0) - p
            la, lb = np.hypot(a[:, 0], a[:, 1]), np.hypot(b[:, 0], b[:, 1])
            if la.min() < min_edge_m or np.any(np.einsum("ij,ij->i", a, b) / (la * lb) > cos_max):
                bad.append(f)
                break
    return bad


def _cell_planes(centres: np.ndarray, roof_xyz: np.ndarray, planes: RoofPlanes, k: int = 6) -> np.ndarray:
    """Plane of each raster cell: among the planes of the ``k`` nearest plane points, the one
    closest in height to the cell's nearest roof points (so that a cell beside a step takes the
    roof at its own height, not the nearer roof of the other level)."""
    ok = planes.labels >= 0
    pts = roof_xyz[ok]
    lab = planes.labels[ok]
    kk = min(k, len(pts))
    _, idx = cKDTree(pts[:, :2]).query(centres, k=kk)
    idx = idx.reshape(len(centres), kk)
    _, near = cKDTree(roof_xyz[:, :2]).query(centres, k=min(NEAR_K, len(roof_xyz)))
    z_cell = np.median(roof_xyz[near.reshape(len(centres), -1), 2], axis=1)
    cand = lab[idx]  # (c, k)
    c = planes.coef[cand]
    o = planes.origin
    zc = c[..., 0] * (centres[:, None, 0] - o[0]) + c[..., 1] * (centres[:, None, 1] - o[1]) + c[..., 2] + o[2]
    r = np.abs(zc - z_cell[:, None])
    # prefer the nearest point's plane unless another candidate fits the height clearly better
    r[:, 1:] += NEAR_MARGIN_M
    return cand[np.arange(len(centres)), np.argmin(r, axis=1)]


def lod22_shell(
    footprint: Polygon,
    roof_xyz: np.ndarray,
    planes: RoofPlanes,
    z_ground_m: float,
    cell_m: float = 0.5,
    min_region_m2: float = 2.0,
    grid: Grid | None = None,
    snap_m: float = 1.0,
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
    snap_m : float
        Largest move of a vertex onto a plane intersection line [m] (0: no snapping).

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
    labels = -np.ones(grid.mask.shape, dtype=np.int64)
    labels[grid.mask] = _cell_planes(grid.centres, roof_xyz, planes)
    labels = merge_small_regions(labels, max(1, int(round(min_region_m2 / cell_m**2))))
    part = partition_from_labels(footprint, grid, labels, simplify_m=SIMPLIFY_CELLS * grid.cell_m,
                                 min_face_m2=MIN_FACE_M2, straighten_m=STRAIGHTEN_M)
    o = planes.origin
    if snap_m > 0:
        corners = np.vstack([np.asarray(r.coords) for r in (footprint.exterior, *footprint.interiors)])
        part = snap_to_plane_lines(part, planes.coef[part.label], o, corners, snap_m)
    for _ in range(4):
        shell, coef = _lift_and_extrude(part, planes, roof_xyz, z_ground_m)
        bad = _nonmanifold_vertices(shell, part)
        if not bad:
            break
        merged = _merge_face_at(part, bad)
        if merged is None:
            break
        part = merged
    return shell, part, coef


def _lift_and_extrude(part: Partition, planes: RoofPlanes, roof_xyz: np.ndarray, z_ground_m: float) -> tuple[Shell, np.ndarray]:
    """Each face on its plane (flat where the plane runs away), extruded to a shell."""
    o = planes.origin
    coef = planes.coef[part.label].copy()
    zmax = float(roof_xyz[:, 2].max())
    face = None
    for f, rings in enumerate(part.faces):
        xy = part.xy[rings[0]] - o[:2]
        z = coef[f, 0] * xy[:, 0] + coef[f, 1] * xy[:, 1] + coef[f, 2] + o[2]
        if z.min() < z_ground_m + 0.5 or z.max() > zmax + MAX_EXTRAPOLATION_M:
            if face is None:
                face = face_of_points(part, roof_xyz[:, :2])
            zin = roof_xyz[face == f, 2]
            h = float(np.median(zin)) if len(zin) else float(np.median(roof_xyz[:, 2]))
            coef[f] = (0.0, 0.0, max(h, z_ground_m + 0.5) - o[2])

    def zf(f: int, xy: np.ndarray) -> np.ndarray:
        c = coef[f]
        return c[0] * (xy[:, 0] - o[0]) + c[1] * (xy[:, 1] - o[1]) + c[2] + o[2]

    return extrude(part, zf, z_ground_m), coef


def _dissolve(polys: list[Polygon], labels: np.ndarray) -> tuple[list[Polygon], np.ndarray]:
    return merge_small_faces(polys, labels, 0.0)


def _nonmanifold_vertices(shell: Shell, part: Partition) -> set[int]:
    """Partition vertex ids where the shell has an edge not used exactly once each way."""
    cnt: dict[tuple[int, int], int] = {}
    for srf in shell.surfaces:
        for r in srf:
            for a, b in zip(r, r[1:] + r[:1], strict=True):
                cnt[(a, b)] = cnt.get((a, b), 0) + 1
    bad_xyz = {a for (a, b), c in cnt.items() if c != 1 or cnt.get((b, a), 0) != 1}
    if not bad_xyz:
        return set()
    key = {(float(x), float(y)): i for i, (x, y) in enumerate(part.xy)}
    out = set()
    for i in bad_xyz:
        v = key.get((float(shell.vertices[i, 0]), float(shell.vertices[i, 1])))
        if v is not None:
            out.add(v)
    return out


def _merge_face_at(part: Partition, vertices: set[int]) -> Partition | None:
    """Give the smallest face around ``vertices`` the label of its longest-bordering neighbour,
    then dissolve faces by label (removes a face wedged between two faces of one plane)."""
    polys = part.polygons()
    area = shapely.area(polys)
    around = [f for f, rings in enumerate(part.faces) if any(np.isin(r, list(vertices)).any() for r in rings)]
    if not around:
        return None
    f = min(around, key=lambda i: area[i])
    best, best_len = -1, 0.0
    for g in range(len(polys)):
        if g == f or part.label[g] == part.label[f]:
            continue
        ln = shapely.length(shapely.intersection(polys[f].boundary, polys[g].boundary))
        if ln > best_len:
            best, best_len = g, ln
    if best < 0:
        return None
    labels = part.label.copy()
    labels[f] = labels[best]
    faces, labs = _dissolve(polys, labels)
    return partition_from_polygons(faces, labs)
