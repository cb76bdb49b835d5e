"""Rows of box-shaped buildings: exact geometry for tests, benchmarks and examples.

Terraced rows of ``Building`` objects with LoD2 ``Solid`` geometry (ground, roof, four
walls), neighbours in a row sharing their side walls exactly, so that every envelope quantity
(areas by orientation, shared walls, volume) is known in closed form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from citymodel.model import CityModel

__all__ = ["box_rows_model", "add_box"]


def add_box(model: CityModel, bid: str, x0: float, y0: float, lx: float, ly: float, lz: float,
            attributes: dict | None = None, z0: float = 0.0) -> None:
    """Add one box building (x = east, y = north) with semantic ground/roof/walls."""
    c = np.array([[x0, y0, z0], [x0 + lx, y0, z0], [x0 + lx, y0 + ly, z0], [x0, y0 + ly, z0]])
    v = model.add_vertices(np.vstack([c, c + [0, 0, lz]]))
    g0, g1, g2, g3, r0, r1, r2, r3 = (int(i) for i in v)
    shell = [[[g0, g3, g2, g1]], [[r0, r1, r2, r3]], [[g0, g1, r1, r0]], [[g2, g3, r3, r2]],
             [[g1, g2, r2, r1]], [[g3, g0, r0, r3]]]
    model.add_object(bid, {
        "type": "Building",
        "attributes": dict(attributes or {}),
        "geometry": [{
            "type": "Solid", "lod": "2.2", "boundaries": [shell],
            "semantics": {"surfaces": [{"type": "GroundSurface"}, {"type": "RoofSurface"},
                                       {"type": "WallSurface"}],
                          "values": [[0, 1, 2, 2, 2, 2]]},
        }],
    })


def box_rows_model(
    n_rows: int,
    n_per_row: int,
    *,
    width_m: float = 8.0,
    depth_m: float = 10.0,
    height_m: float = 9.0,
    street_m: float = 12.0,
    epsg: int | None = 32633,
    origin: Sequence[float] = (291000.0, 4640000.0),
    uses: Sequence[str] = ("residential",),
    years: Sequence[int] = (1970,),
) -> CityModel:
    """``n_rows`` terraced rows of ``n_per_row`` boxes along x, rows ``street_m`` apart.

    The default CRS and origin put the rows in Rome (UTM 33N). Building ``k`` gets
    ``uses[k % len(uses)]`` and ``years[k % len(years)]``.
    """
    m = CityModel(epsg=epsg, source="box_rows")
    k = 0
    for r in range(n_rows):  # small synthetic generator
        for i in range(n_per_row):
            add_box(m, f"b{k}", origin[0] + i * width_m, origin[1] + r * (depth_m + street_m),
                    width_m, depth_m, height_m,
                    {"use": uses[k % len(uses)], "construction_year": int(years[k % len(years)])})
            k += 1
    return m
