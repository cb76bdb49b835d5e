"""Shared edge-case geometries for tests (shapely's tests/common.py habit).

Every function returns CityJSON boundaries plus the vertex array, in real coordinates.
"""

from __future__ import annotations

import numpy as np

from citymodel.model import CityModel


def box(x0=0.0, y0=0.0, z0=0.0, dx=10.0, dy=6.0, dz=4.0):
    """An axis-aligned box as a CityJSON Solid (outward faces) with semantics.

    Returns (vertices (8, 3), boundaries, semantics).
    """
    v = np.array(
        [
            [x0, y0, z0], [x0 + dx, y0, z0], [x0 + dx, y0 + dy, z0], [x0, y0 + dy, z0],
            [x0, y0, z0 + dz], [x0 + dx, y0, z0 + dz], [x0 + dx, y0 + dy, z0 + dz], [x0, y0 + dy, z0 + dz],
        ]
    )
    faces = [
        [[0, 3, 2, 1]],  # bottom, normal -z
        [[4, 5, 6, 7]],  # top, +z
        [[0, 1, 5, 4]],  # south, -y
        [[1, 2, 6, 5]],  # east, +x
        [[2, 3, 7, 6]],  # north, +y
        [[3, 0, 4, 7]],  # west, -x
    ]
    semantics = {
        "surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}],
        "values": [[0, 1, 2, 2, 2, 2]],
    }
    return v, [faces], semantics


def model_with_boxes(*specs, lod="2.2") -> CityModel:
    """A model with one Building per ``(x0, y0, dx, dy, dz)`` spec (boxes on z = 0)."""
    m = CityModel(epsg=32632)
    for k, (x0, y0, dx, dy, dz) in enumerate(specs):
        v, b, sem = box(x0, y0, 0.0, dx, dy, dz)
        base = m.n_vertices
        m.add_vertices(v)
        from citymodel.io._boundaries import remap_boundaries

        m.add_object(
            f"b{k}",
            {
                "type": "Building",
                "attributes": {"height_m": dz},
                "geometry": [{"type": "Solid", "lod": lod, "boundaries": remap_boundaries(b, base), "semantics": sem}],
            },
        )
    return m
