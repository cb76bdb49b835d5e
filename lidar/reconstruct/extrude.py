"""Extrude a roofed footprint partition into one closed, outward-oriented solid.

Each face of a :class:`~lidar.reconstruct.partition.Partition` carries a roof plane. The
solid has one RoofSurface per face (its vertices lifted onto the face's plane), one
GroundSurface (the footprint at ground height), a WallSurface on every footprint edge, and a
WallSurface on every inner edge where the two faces' roofs differ in height (vertical steps).
Where two roofs cross along an edge, the edge is split at the crossing first. Walls carry every
height that occurs at their vertical edges, so every edge of the shell is used exactly twice,
once in each direction: the shell is watertight with shared vertices.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from citymodel.errors import ReconstructionError
from lidar.reconstruct.partition import Partition

__all__ = ["Shell", "extrude", "shell_is_closed", "signed_volume_m3", "solid_geometry", "SEMANTIC_SURFACES"]

#: Roof heights at one vertex closer than this are merged into one vertex [m].
Z_MERGE_M = 0.002
#: A crossing of two roofs closer than this to an edge's end is moved onto that end [m].
MIN_SPLIT_M = 0.003

ROOF, WALL, GROUND = 0, 1, 2
#: CityJSON semantic surfaces in the order of :attr:`Shell.semantic` codes.
SEMANTIC_SURFACES = ({"type": "RoofSurface"}, {"type": "WallSurface"}, {"type": "GroundSurface"})


@dataclass
class Shell:
    """A closed shell with semantics.

    Attributes
    ----------
    vertices : (n, 3) float64
        Coordinates [m].
    surfaces : list of list of list of int
        Per surface its rings (exterior first) of vertex indices, outward (counter-clockwise
        seen from outside).
    semantic : (s,) int64
        0 roof, 1 wall, 2 ground.
    """

    vertices: np.ndarray
    surfaces: list[list[list[int]]]
    semantic: np.ndarray


def _edges_of(part: Partition) -> dict[tuple[int, int], int]:
    out = {}
    for f, rings in enumerate(part.faces):
        for r in rings:
            for a, b in zip(r, np.roll(r, -1), strict=False):
                out[(int(a), int(b))] = f
    return out


def _split_crossings(
    part: Partition, zf: Callable[[int, np.ndarray], np.ndarray]
) -> tuple[Partition, list[tuple[int, int, int]]]:
    """Insert a vertex where two neighbouring roofs cross along their shared edge.

    A crossing closer than ``MIN_SPLIT_M`` to an end of the edge is not inserted (the vertex
    would weld with that end); instead the two roofs are made to meet at that end: the returned
    ``(vertex, face, face)`` triples are heights to equalise (a few millimetres).
    """
    edges = _edges_of(part)
    xy = [tuple(p) for p in part.xy]
    inserts: dict[tuple[int, int], int] = {}
    forced: list[tuple[int, int, int]] = []
    for (a, b), f in edges.items():
        g = edges.get((b, a))
        if g is None or a > b:
            continue
        pa, pb = part.xy[[a, b]]
        za = zf(f, pa[None]) - zf(g, pa[None])
        zb = zf(f, pb[None]) - zf(g, pb[None])
        da, db = float(za[0]), float(zb[0])
        if da * db < 0 and abs(da) > Z_MERGE_M and abs(db) > Z_MERGE_M:
            t = da / (da - db)
            length = float(np.hypot(*(pb - pa)))
            if t * length < MIN_SPLIT_M:
                forced.append((a, f, g))
                continue
            if (1 - t) * length < MIN_SPLIT_M:
                forced.append((b, f, g))
                continue
            w = len(xy)
            xy.append(tuple(pa + t * (pb - pa)))
            inserts[(a, b)] = w
            inserts[(b, a)] = w
    if not inserts:
        return part, forced
    faces = []
    for rings in part.faces:
        new_rings = []
        for r in rings:
            out = []
            for a, b in zip(r, np.roll(r, -1), strict=False):
                out.append(int(a))
                w = inserts.get((int(a), int(b)))
                if w is not None:
                    out.append(w)
            new_rings.append(np.asarray(out, dtype=np.int64))
        faces.append(new_rings)
    return Partition(np.asarray(xy, dtype=np.float64), faces, part.label), forced


def extrude(part: Partition, zf: Callable[[int, np.ndarray], np.ndarray], z_ground_m: float) -> Shell:
    """Build the closed shell of a partition whose faces have roof heights ``zf(face, xy)``.

    Parameters
    ----------
    part : Partition
        Footprint partition (exterior rings counter-clockwise).
    zf : callable
        ``zf(face_index, xy (k, 2)) -> z (k,)`` roof height [m] of face ``face_index``; must be
        above ``z_ground_m`` at every vertex of that face.
    z_ground_m : float
        Ground height [m].

    Returns
    -------
    Shell
    """
    part, forced = _split_crossings(part, zf)
    nf = part.n_faces
    # roof heights per (face, vertex), merged per vertex to levels
    zmap: dict[tuple[int, int], float] = {}
    for f, rings in enumerate(part.faces):
        for r in rings:
            z = zf(f, part.xy[r])
            if np.any(z <= z_ground_m + Z_MERGE_M):
                raise ReconstructionError(f"roof face {f} reaches down to the ground")
            for v, zz in zip(r, z, strict=False):
                zmap[(f, int(v))] = float(zz)
    for v, f, g in forced:  # roofs crossing within MIN_SPLIT_M of a vertex meet at it
        zz = 0.5 * (zmap[(f, v)] + zmap[(g, v)])
        zmap[(f, v)] = zmap[(g, v)] = zz
    levels: dict[int, list[float]] = defaultdict(list)
    for (_f, v), zz in zmap.items():
        levels[v].append(zz)
    edges = _edges_of(part)
    boundary = [(a, b) for (a, b) in edges if (b, a) not in edges]
    for a, b in boundary:
        levels[a].append(z_ground_m)
        levels[b].append(z_ground_m)
    # snap heights at each vertex into levels
    vid: dict[tuple[int, int], int] = {}
    coords: list[tuple[float, float, float]] = []
    lev_z: dict[int, np.ndarray] = {}
    for v, zs in levels.items():
        zs = np.sort(np.asarray(zs))
        keep = np.concatenate([[True], np.diff(zs) > Z_MERGE_M])
        lz = zs[keep]
        lev_z[v] = lz
        x, y = part.xy[v]
        for k, z in enumerate(lz):
            vid[(v, k)] = len(coords)
            coords.append((x, y, z))

    def level(v: int, z: float) -> int:
        lz = lev_z[v]
        return int(np.argmin(np.abs(lz - z)))

    ground_level = {v: level(v, z_ground_m) for e in boundary for v in e}
    surfaces: list[list[list[int]]] = []
    sem: list[int] = []
    # roofs
    flev: dict[tuple[int, int], int] = {}
    for f, rings in enumerate(part.faces):
        rs = []
        for r in rings:
            ring = []
            for v in r:
                k = level(int(v), zmap[(f, int(v))])
                flev[(f, int(v))] = k
                ring.append(vid[(int(v), k)])
            rs.append(ring)
        surfaces.append(rs)
        sem.append(ROOF)
    # walls
    for (a, b), f in edges.items():
        g = edges.get((b, a))
        hi_a, hi_b = flev[(f, a)], flev[(f, b)]
        if g is None:
            lo_a, lo_b = ground_level[a], ground_level[b]
        else:
            lo_a, lo_b = flev[(g, a)], flev[(g, b)]
        if hi_a < lo_a or hi_b < lo_b or (hi_a == lo_a and hi_b == lo_b):
            continue
        ring = [vid[(a, lo_a)], vid[(b, lo_b)]]
        ring += [vid[(b, k)] for k in range(lo_b + 1, hi_b + 1)]
        ring += [vid[(a, k)] for k in range(hi_a, lo_a, -1)]
        surfaces.append([ring])
        sem.append(WALL)
    # ground: boundary edges chained into rings (reversed: facing down)
    nxt: dict[int, list[int]] = defaultdict(list)
    for a, b in boundary:
        nxt[b].append(a)  # reversed direction
    if all(len(v) == 1 for v in nxt.values()):
        seen: set[int] = set()
        rings_g = []
        for start in list(nxt):
            if start in seen:
                continue
            ring = []
            v = start
            while v not in seen:
                seen.add(v)
                ring.append(v)
                v = nxt[v][0]
            rings_g.append(ring)
        # the exterior (clockwise seen from above after reversal) has the most negative area
        areas = [_ring_area(part.xy[r]) for r in rings_g]
        outer = int(np.argmin(areas))
        if sum(1 for a in areas if a < 0) == 1:
            order = [outer] + [i for i in range(len(rings_g)) if i != outer]
            surfaces.append([[vid[(v, ground_level[v])] for v in rings_g[i]] for i in order])
            sem.append(GROUND)
        else:
            _ground_per_face(part, vid, ground_level, surfaces, sem, edges)
    else:
        _ground_per_face(part, vid, ground_level, surfaces, sem, edges)
    del nf
    return Shell(np.asarray(coords, dtype=np.float64), surfaces, np.asarray(sem, dtype=np.int64))


def _ground_per_face(part, vid, ground_level, surfaces, sem, edges) -> None:
    raise ReconstructionError("the footprint boundary is not a simple set of rings (pinched footprint)")


def _ring_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def solid_geometry(shell: Shell, lod: str, offset: int = 0) -> dict:
    """CityJSON ``Solid`` geometry of a shell whose vertices start at index ``offset``."""
    boundaries = [[[[int(i) + offset for i in ring] for ring in srf] for srf in shell.surfaces]]
    return {"type": "Solid", "lod": lod, "boundaries": boundaries,
            "semantics": {"surfaces": [dict(x) for x in SEMANTIC_SURFACES], "values": [shell.semantic.tolist()]}}


def shell_is_closed(surfaces: list[list[list[int]]]) -> bool:
    """True when every directed edge occurs once and its reverse once (closed, oriented, manifold)."""
    cnt: dict[tuple[int, int], int] = defaultdict(int)
    for s in surfaces:
        for r in s:
            if len(set(r)) != len(r) or len(r) < 3:
                return False
            for a, b in zip(r, r[1:] + r[:1], strict=False):
                cnt[(a, b)] += 1
    for (a, b), c in cnt.items():
        if c != 1 or cnt.get((b, a), 0) != 1:
            return False
    return True


def signed_volume_m3(vertices: np.ndarray, surfaces: list[list[list[int]]]) -> float:
    """Signed volume [m3] of a closed shell (positive when outward-oriented); fan-triangulated.

    Holes contribute with their own (opposite) orientation, so the sum stays exact.
    """
    a_idx: list[int] = []
    b_idx: list[int] = []
    c_idx: list[int] = []
    for srf in surfaces:
        for r in srf:
            k = len(r)
            if k < 3:
                continue
            a_idx.extend([r[0]] * (k - 2))
            b_idx.extend(r[1:-1])
            c_idx.extend(r[2:])
    if not a_idx:
        return 0.0
    v = vertices - vertices.mean(axis=0)
    a, b, c = v[a_idx], v[b_idx], v[c_idx]
    cr = np.empty_like(b)
    cr[:, 0] = b[:, 1] * c[:, 2] - b[:, 2] * c[:, 1]
    cr[:, 1] = b[:, 2] * c[:, 0] - b[:, 0] * c[:, 2]
    cr[:, 2] = b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0]
    return float(np.einsum("ij,ij->", a, cr)) / 6.0
