"""The district as one labelled triangle mesh, for ray casting (LiDAR, orthophoto).

Coordinates are *local* (projected minus the district origin) so that Embree's float32 keeps
millimetres. Every triangle carries its kind (:data:`KIND_NAMES`), its object index (building
or tree, -1 for terrain) and, for roofs, the index of its roof plane in
:func:`citymodel.synth.truth.roofplane_table` order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel._optional import require
from citymodel.geometry import triangulate_polygon
from citymodel.synth.scene import District
from citymodel.synth.shapes import box_triangles, gable_box_triangles

__all__ = ["SceneMesh", "scene_mesh", "KIND_NAMES", "TERRAIN", "ROOF", "WALL", "SUPER", "CROWN", "SHRUB", "TRUNK"]

TERRAIN, ROOF, WALL, SUPER, CROWN, SHRUB, TRUNK = range(7)
#: Names of the triangle kinds, by kind code.
KIND_NAMES = ("terrain", "roof", "wall", "superstructure", "crown", "shrub", "trunk")


@dataclass
class SceneMesh:
    """Triangles of the whole scene.

    Attributes
    ----------
    triangles : (m, 3, 3) float64
        Triangle corners in local coordinates [m].
    kind : (m,) int8
        Triangle kind (:data:`KIND_NAMES`).
    obj : (m,) int32
        Building index (roof, wall, superstructure) or tree index (crown, shrub, trunk); -1 terrain.
    plane : (m,) int32
        Roof plane index (roof triangles), else -1.
    normal : (m, 3) float64
        Unit triangle normals (outward for solids, upward for terrain).
    origin : (3,) float64
        ``(x0, y0, 0)`` to add to local coordinates to get projected ones [m].
    """

    triangles: np.ndarray
    kind: np.ndarray
    obj: np.ndarray
    plane: np.ndarray
    normal: np.ndarray
    origin: np.ndarray

    def embree(self):
        """An Embree scene of the triangles (embreex)."""
        feature = "the synthetic LiDAR and orthophoto (embreex is a core dependency: reinstall citymodel)"
        rtcs = require("embreex.rtcore_scene", feature=feature, package="embreex")
        mc = require("embreex.mesh_construction", feature=feature, package="embreex")
        scene = rtcs.EmbreeScene()
        mc.TriangleMesh(scene, np.ascontiguousarray(self.triangles, dtype=np.float32))
        return scene


def _sphere(n_lat: int = 7, n_lon: int = 12) -> np.ndarray:
    """Triangles ``(k, 3, 3)`` of a unit UV sphere, outward."""
    lat = np.linspace(0, np.pi, n_lat + 1)
    lon = np.linspace(0, 2 * np.pi, n_lon + 1)[:-1]
    v = [np.array([0.0, 0.0, 1.0])]
    for la in lat[1:-1]:
        for lo in lon:
            v.append(np.array([np.sin(la) * np.cos(lo), np.sin(la) * np.sin(lo), np.cos(la)]))
    v.append(np.array([0.0, 0.0, -1.0]))
    v = np.array(v)
    tris = []

    def ring(i: int, j: int) -> int:
        return 1 + i * n_lon + (j % n_lon)

    for j in range(n_lon):
        tris.append([0, ring(0, j), ring(0, j + 1)])
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j + 1), ring(i + 1, j)
            tris += [[a, d, c], [a, c, b]]
    last = len(v) - 1
    for j in range(n_lon):
        tris.append([last, ring(n_lat - 2, j + 1), ring(n_lat - 2, j)])
    t = v[np.array(tris)]
    # make them outward
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    flip = np.einsum("ij,ij->i", n, t.mean(axis=1)) < 0
    t[flip] = t[flip][:, [0, 2, 1]]
    return t


_UNIT_SPHERE = _sphere()


def _cone(n: int = 12) -> np.ndarray:
    """Triangles ``(2 n, 3, 3)`` of a closed unit cone: base disc (radius 1) at z=0, apex at z=1."""
    a = np.arange(n) * (2 * np.pi / n)
    ring = np.column_stack([np.cos(a), np.sin(a), np.zeros(n)])
    nxt = np.roll(ring, -1, axis=0)
    apex = np.tile([0.0, 0.0, 1.0], (n, 1))
    centre = np.zeros((n, 3))
    side = np.stack([ring, nxt, apex], axis=1)
    base = np.stack([centre, nxt, ring], axis=1)
    return np.concatenate([side, base])


_UNIT_CONE = _cone()


def scene_mesh(district: District) -> SceneMesh:
    """Triangulate terrain, building solids, superstructures, crowns, shrubs and trunks.

    Parameters
    ----------
    district : District

    Returns
    -------
    SceneMesh
    """
    o = np.array([district.origin_xy[0], district.origin_xy[1], 0.0])
    tris, kinds, objs, planes = [], [], [], []

    def put(t: np.ndarray, kind: int, obj: int = -1, plane: int = -1) -> None:
        tris.append(np.asarray(t, dtype=np.float64).reshape(-1, 3, 3) - o)
        m = len(tris[-1])
        kinds.append(np.full(m, kind, np.int8))
        objs.append(np.full(m, obj, np.int32))
        planes.append(np.full(m, plane, np.int32))

    tv, tt = district.terrain_grid()
    put(tv[tt], TERRAIN)
    k_plane = 0
    for bi, b in enumerate(district.buildings):
        for p in b.parts:
            for f in p.faces:
                if f.semantic == "GroundSurface":
                    continue
                v = np.concatenate(f.rings)
                ends = np.cumsum([len(r) for r in f.rings])
                rings = np.split(np.arange(len(v)), ends[:-1])
                tri = triangulate_polygon(v, [list(r) for r in rings], f.normal)
                if f.semantic == "RoofSurface":
                    put(v[tri], ROOF, bi, k_plane)
                    k_plane += 1
                else:
                    put(v[tri], WALL, bi)
    bidx = {b.building_id: i for i, b in enumerate(district.buildings)}
    for s in district.superstructures:
        if s.ridge_rise_m > 0:
            put(gable_box_triangles(s.center_xy, s.angle_rad, s.length_m, s.width_m, s.z_bottom_m, s.z_top_m,
                                    s.ridge_rise_m), SUPER, bidx[s.building_id])
            continue
        put(box_triangles(s.center_xy, s.angle_rad, s.length_m, s.width_m, s.z_bottom_m, s.z_top_m),
            SUPER, bidx[s.building_id])
    for ti, t in enumerate(district.trees):
        if t.crown_shape == "cone":
            r = 0.5 * t.crown_diameter_m
            scale = np.array([r, r, t.height_m - t.crown_base_m])
            base = np.array([t.xy[0], t.xy[1], t.z_ground_m + t.crown_base_m])
            put(_UNIT_CONE * scale + base, SHRUB if t.kind == "shrub" else CROWN, ti)
        else:
            c, ax = t.crown_center, t.crown_semi_axes
            put(_UNIT_SPHERE * ax + c, SHRUB if t.kind == "shrub" else CROWN, ti)
        if t.kind != "shrub":
            w = float(np.clip(0.08 * t.crown_diameter_m, 0.2, 0.5))
            put(box_triangles(t.xy, 0.0, w, w, t.z_ground_m - 0.5, t.z_ground_m + t.crown_base_m + 0.3),
                TRUNK, ti)
    T = np.concatenate(tris)
    n = np.cross(T[:, 1] - T[:, 0], T[:, 2] - T[:, 0])
    ln = np.linalg.norm(n, axis=1)
    n = n / np.where(ln > 0, ln, 1.0)[:, None]
    return SceneMesh(
        triangles=T,
        kind=np.concatenate(kinds),
        obj=np.concatenate(objs),
        plane=np.concatenate(planes),
        normal=n,
        origin=o,
    )
