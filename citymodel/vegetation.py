"""Trees of a city model as a table: position, height and crown, read once for every user.

The solar solver's occluders and the viewer's tree glyphs both start from this table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from citymodel.io._boundaries import flatten_indices
from citymodel.model import CityModel

__all__ = ["tree_table", "TREE_TYPES", "SURFACE_GEOMETRY_TYPES"]

TREE_TYPES = ("SolitaryVegetationObject",)
SURFACE_GEOMETRY_TYPES = ("MultiSurface", "CompositeSurface", "Solid", "MultiSolid", "CompositeSolid")


def _first_number(attrs: dict[str, Any], names: Sequence[str]) -> float:
    for n in names:
        v = attrs.get(n)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return float("nan")


def tree_table(model: CityModel, types: Sequence[str] = TREE_TYPES) -> pd.DataFrame:
    """One row per tree: where it stands, how tall it is, how wide its crown.

    Position: the template instance's reference point, else the centre (xy) of its first
    geometry's vertices; the base height is the ``h_ground_m`` attribute when given (a crown-only
    geometry starts above the ground), else the reference point's z or the vertices' lowest z. Height: ``height_m`` (or CityGML ``height``), else the
    geometry's z extent (when over 0.5 m), else 8 m. Crown diameter: ``crown_diameter_m`` (or
    ``crownDiameter``), else the geometry's xy extent (when over 0.3 m), else 0.6 x height.
    Crown base: ``crown_base_m`` when given, else NaN.

    Returns
    -------
    DataFrame
        ``tree_id``, ``x_m``, ``y_m``, ``z_m`` (base, model coordinates [m]), ``height_m``,
        ``crown_diameter_m``, ``crown_base_m`` [m], and ``surface_geometry`` (True when the
        first geometry is a surface or solid that can be used as is).
    """
    rows = []
    wanted = set(types)
    for oid, o in model.city_objects.items():  # a loop over tree objects, not over points
        if o.get("type") not in wanted:
            continue
        a = o.get("attributes") or {}
        h = _first_number(a, ("height_m", "height"))
        d = _first_number(a, ("crown_diameter_m", "crownDiameter", "crown_diameter"))
        cb = _first_number(a, ("crown_base_m",))
        xyz = ext = None
        surface = False
        for g in o.get("geometry") or []:
            if g.get("type") == "GeometryInstance":
                xyz = model.vertices[int(g["boundaries"][0])]
                break
            try:
                idx = flatten_indices(g.get("boundaries", []))
            except (ValueError, TypeError):
                continue
            if idx.size:
                v = model.vertices[idx]
                xyz = np.array([v[:, 0].mean(), v[:, 1].mean(), v[:, 2].min()])
                ext = v.max(axis=0) - v.min(axis=0)
                surface = g.get("type") in SURFACE_GEOMETRY_TYPES
                break
        if xyz is None:
            continue
        z_ground = _first_number(a, ("h_ground_m",))
        if np.isfinite(z_ground):
            xyz = np.array([xyz[0], xyz[1], z_ground])
        if not np.isfinite(h):
            h = float(ext[2]) if ext is not None and ext[2] > 0.5 else 8.0
        if not np.isfinite(d):
            d = float(max(ext[0], ext[1])) if ext is not None and max(ext[0], ext[1]) > 0.3 else 0.6 * h
        rows.append((oid, *xyz, h, d, cb, surface))
    cols = ["tree_id", "x_m", "y_m", "z_m", "height_m", "crown_diameter_m", "crown_base_m", "surface_geometry"]
    return pd.DataFrame(rows, columns=cols)
