"""Distance of points to a reconstructed building model (the ``rmse_lod*_m`` attributes).

The fit of a model is measured as 3DBAG's roofer measures it: the 3D distance of each roof point
to the nearest surface of the model's mesh (roof, walls and ground), not the vertical distance to
the roof above the point. A point on the edge of a higher roof part that falls just beside a step
is then as far from the model as it is from the step's wall, not the height of the step.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from citymodel.errors import InputError
from citymodel.geometry import triangulate_polygon
from lidar.reconstruct._kernels import point_mesh_distance
from lidar.reconstruct.extrude import Shell

__all__ = ["shell_triangles", "point_shell_distance_m"]


def _quad_triangles(quads: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Two triangles per planar quad ``(q, 4)``, split along the diagonal that lies inside it
    (the one whose two triangles face the same way; either one for a convex quad)."""
    a, b, c, d = (vertices[quads[:, i]] for i in range(4))
    n1 = np.cross(b - a, c - a)
    n2 = np.cross(c - a, d - a)
    use_ac = np.einsum("ij,ij->i", n1, n2) >= 0.0
    tri_ac = np.stack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]], axis=1)
    tri_bd = np.stack([quads[:, [0, 1, 3]], quads[:, [1, 2, 3]]], axis=1)
    return np.where(use_ac[:, None, None], tri_ac, tri_bd).reshape(-1, 3)


def shell_triangles(shells: Iterable[Shell]) -> tuple[np.ndarray, np.ndarray]:
    """All surfaces of ``shells`` as one triangle mesh (triangles and quads directly, other
    polygons with :func:`citymodel.geometry.triangulate_polygon`).

    Returns
    -------
    vertices : (n, 3) float64
        Coordinates [m].
    triangles : (t, 3) int64
        Indices into ``vertices``.
    """
    verts: list[np.ndarray] = []
    tris: list[np.ndarray] = []
    small: dict[int, list[list[int]]] = {3: [], 4: []}
    offset = 0
    for shell in shells:
        v = np.asarray(shell.vertices, dtype=np.float64)
        for rings in shell.surfaces:
            if len(rings) == 1 and len(rings[0]) in small:
                small[len(rings[0])].append([i + offset for i in rings[0]])
                continue
            t = triangulate_polygon(v, rings)
            if len(t):
                tris.append(t + offset)
        verts.append(v)
        offset += len(v)
    if not verts:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    vertices = np.vstack(verts)
    if small[3]:
        tris.append(np.asarray(small[3], dtype=np.int64))
    if small[4]:
        tris.append(_quad_triangles(np.asarray(small[4], dtype=np.int64), vertices))
    triangles = np.vstack(tris) if tris else np.zeros((0, 3), dtype=np.int64)
    return vertices, triangles


def point_shell_distance_m(points_xyz: np.ndarray, shells: Iterable[Shell]) -> np.ndarray:
    """3D distance [m] of each point to the nearest surface of ``shells``.

    Parameters
    ----------
    points_xyz : (n, 3) float64
        Points [m].
    shells : iterable of Shell
        The model (all its parts).

    Returns
    -------
    (n,) float64
        Distance [m]; NaN for every point when the model has no surface.
    """
    pts = np.ascontiguousarray(points_xyz, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise InputError(f"point_shell_distance_m: points must have shape (n, 3), got {pts.shape}")
    vertices, triangles = shell_triangles(shells)
    if len(triangles) == 0:
        return np.full(len(pts), np.nan)
    # relative coordinates: national grids put x, y near 1e5..1e6 m
    origin = vertices.min(axis=0)
    v = np.ascontiguousarray(vertices - origin)
    corners = v[triangles]
    return point_mesh_distance(pts - origin, v, np.ascontiguousarray(triangles),
                               np.ascontiguousarray(corners.min(axis=1)), np.ascontiguousarray(corners.max(axis=1)))
