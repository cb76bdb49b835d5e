"""The ground truth of a district: the CityJSON 2.0 model and the CSV truth tables.

Buildings are LoD2.2 closed, outward-oriented Solids with one semantic surface object per
polygon (``RoofSurface`` objects carry their ``plane_id``); multi-part buildings are a
``Building`` without geometry plus ``BuildingPart`` children. Terrain is a ``TINRelief``
(CompositeSurface of the terrain grid's triangles), trees and shrubs are
``SolitaryVegetationObject`` (an octagonal crown prism at LoD1), lawns are ``PlantCover``.
Superstructures (chimneys, dormers) are not in the model; they are listed in the CSV tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from citymodel.geometry import tilt_azimuth_deg, triangulate_polygon
from citymodel.model import CityModel
from citymodel.synth.scene import Building, District, Part

__all__ = [
    "district_to_citymodel",
    "roof_heights",
    "building_table",
    "roofplane_table",
    "tree_table",
    "superstructure_table",
]

_ROOF_SAMPLE_M = 0.25


class _Verts:
    """Collects vertices; indices are remapped once after de-duplication."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.n = 0

    def add(self, xyz: np.ndarray) -> list[int]:
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        self.chunks.append(xyz)
        idx = list(range(self.n, self.n + len(xyz)))
        self.n += len(xyz)
        return idx

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        v = np.concatenate(self.chunks) if self.chunks else np.zeros((0, 3))
        key = np.round(v, 6)
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
        return uniq, inv.ravel()


def _remap(b: Any, inv: np.ndarray) -> Any:
    if isinstance(b, list):
        return [_remap(x, inv) for x in b]
    return int(inv[b])


def roof_heights(part_or_building: Part | Building, step_m: float = _ROOF_SAMPLE_M) -> np.ndarray:
    """Roof heights [m a.s.l.] sampled on a regular ``step_m`` grid over the roof (area-weighted).

    Parameters
    ----------
    part_or_building : Part or Building
    step_m : float
        Sampling step [m].

    Returns
    -------
    (k,) float64
    """
    parts = part_or_building.parts if isinstance(part_or_building, Building) else [part_or_building]
    out = []
    for part in parts:
        for f in part.roof_faces:
            poly = shapely.Polygon(f.rings[0][:, :2], [h[:, :2] for h in f.rings[1:]])
            x0, y0, x1, y1 = poly.bounds
            gx, gy = np.meshgrid(np.arange(x0 + step_m / 2, x1, step_m), np.arange(y0 + step_m / 2, y1, step_m))
            gx, gy = gx.ravel(), gy.ravel()
            inside = shapely.contains_xy(poly, gx, gy)
            n, c = f.normal, f.rings[0][0]
            z = c[2] - (n[0] * (gx[inside] - c[0]) + n[1] * (gy[inside] - c[1])) / n[2]
            out.append(z)
    return np.concatenate(out) if out else np.zeros(0)


def _height_attrs(obj: Part | Building) -> dict[str, float]:
    z = roof_heights(obj)
    if z.size == 0:
        return {}
    return {
        "h_roof_min_m": round(float(z.min()), 3),
        "h_roof_50p_m": round(float(np.percentile(z, 50)), 3),
        "h_roof_70p_m": round(float(np.percentile(z, 70)), 3),
        "h_roof_max_m": round(float(z.max()), 3),
    }


def _solid(part: Part, verts: _Verts, plane_prefix: str) -> dict[str, Any]:
    shell = []
    surfaces = []
    values = []
    k_roof = 0
    for f in part.faces:
        shell.append([verts.add(r) for r in f.rings])
        sem: dict[str, Any] = {"type": f.semantic}
        if f.semantic == "RoofSurface":
            sem["plane_id"] = f"{plane_prefix}-r{k_roof}"
            k_roof += 1
        values.append(len(surfaces))
        surfaces.append(sem)
    return {
        "type": "Solid",
        "lod": "2.2",
        "boundaries": [shell],
        "semantics": {"surfaces": surfaces, "values": [values]},
    }


def _part_attrs(part: Part) -> dict[str, Any]:
    a = {
        "roof_type": part.roof_type,
        "storeys_above_ground": int(part.storeys),
        "h_ground_m": round(part.z_ground_m, 3),
        "eave_height_m": round(part.eave_height_m, 3),
        "h_eave_m": round(part.z_ground_m + part.eave_height_m, 3),
    }
    a.update(_height_attrs(part))
    return a


def _crown_prism(tree, verts: _Verts) -> dict[str, Any]:
    ang = np.arange(8) * (2 * np.pi / 8)
    r = 0.5 * tree.crown_diameter_m
    x = tree.xy[0] + r * np.cos(ang)
    y = tree.xy[1] + r * np.sin(ang)
    zb = tree.z_ground_m + tree.crown_base_m
    zt = tree.z_ground_m + tree.height_m
    lo = verts.add(np.column_stack([x, y, np.full(8, zb)]))
    hi = verts.add(np.column_stack([x, y, np.full(8, zt)]))
    shell = [[lo[::-1]], [hi]]
    for i in range(8):
        j = (i + 1) % 8
        shell.append([[lo[i], lo[j], hi[j], hi[i]]])
    return {"type": "Solid", "lod": "1", "boundaries": [shell]}


def district_to_citymodel(district: District) -> CityModel:
    """The ground-truth :class:`~citymodel.model.CityModel` of a district.

    Parameters
    ----------
    district : District

    Returns
    -------
    CityModel
        Buildings (LoD2.2 Solids, BuildingParts for multi-part buildings), ``TERRAIN``
        (TINRelief), trees/shrubs (SolitaryVegetationObject) and lawns (PlantCover), with the
        district's EPSG code.
    """
    verts = _Verts()
    objects: dict[str, dict[str, Any]] = {}
    for b in district.buildings:
        attrs: dict[str, Any] = {
            "construction_year": int(b.construction_year),
            "use": b.use,
            "roof_type": b.roof_type,
            "storeys_above_ground": int(max(p.storeys for p in b.parts)),
            "building_kind": b.kind,
            "roof_material": b.roof_material,
            "h_ground_m": round(b.z_ground_m, 3),
            "footprint_area_m2": round(float(b.footprint.area), 3),
            "n_parts": len(b.parts),
        }
        attrs.update(_height_attrs(b))
        if len(b.parts) == 1:
            p = b.parts[0]
            attrs.update({k: v for k, v in _part_attrs(p).items() if k not in attrs})
            objects[b.building_id] = {"type": "Building", "attributes": attrs,
                                      "geometry": [_solid(p, verts, b.building_id)]}
        else:
            objects[b.building_id] = {"type": "Building", "attributes": attrs, "geometry": [],
                                      "children": [p.part_id for p in b.parts]}
            for p in b.parts:
                objects[p.part_id] = {"type": "BuildingPart", "attributes": _part_attrs(p),
                                      "geometry": [_solid(p, verts, p.part_id)],
                                      "parents": [b.building_id]}
    tv, tt = district.terrain_grid()
    base = verts.add(tv)
    tri = (np.asarray(tt) + base[0]).tolist()
    objects["TERRAIN"] = {
        "type": "TINRelief",
        "attributes": {"spacing_m": district.terrain_spacing_m},
        "geometry": [{"type": "CompositeSurface", "lod": "1", "boundaries": [[t] for t in tri]}],
    }
    for t in district.trees:
        objects[t.tree_id] = {
            "type": "SolitaryVegetationObject",
            "attributes": {
                "height_m": round(t.height_m, 3),
                "crown_diameter_m": round(t.crown_diameter_m, 3),
                "crown_base_m": round(t.crown_base_m, 3),
                "vegetation_kind": t.kind,
                "crown_shape": t.crown_shape,
                "x_m": round(float(t.xy[0]), 3),
                "y_m": round(float(t.xy[1]), 3),
                "h_ground_m": round(t.z_ground_m, 3),
            },
            "geometry": [_crown_prism(t, verts)],
        }
    for g in district.green_areas:
        surfs = []
        for poly in shapely.get_parts(g.polygon):
            rings2 = [np.asarray(poly.exterior.coords)[:-1]] + [np.asarray(r.coords)[:-1] for r in poly.interiors]
            xy = np.concatenate(rings2)
            xyz = np.column_stack([xy, district.terrain.height(xy[:, 0], xy[:, 1])])
            flat = np.column_stack([xy, np.zeros(len(xy))])
            ends = np.cumsum([len(r) for r in rings2])
            rings_idx = np.split(np.arange(len(xy)), ends[:-1])
            tri = triangulate_polygon(flat, [list(r) for r in rings_idx], np.array([0.0, 0.0, 1.0]))
            idx = np.asarray(verts.add(xyz))
            surfs.extend([[idx[t].tolist()] for t in tri])
        objects[g.area_id] = {
            "type": "PlantCover",
            "attributes": {"plant_cover_kind": g.kind, "area_m2": round(float(g.polygon.area), 3)},
            "geometry": [{"type": "MultiSurface", "lod": "1", "boundaries": surfs}],
        }
    vertices, inv = verts.finish()
    for obj in objects.values():
        for geom in obj.get("geometry", []):
            geom["boundaries"] = _remap(geom["boundaries"], inv)
    return CityModel(
        vertices=vertices,
        city_objects=objects,
        metadata={"title": f"citymodel synthetic district (seed {district.seed}, {district.size_m:g} m)"},
        epsg=district.epsg,
    )


# --------------------------------------------------------------------------- CSV tables
def building_table(district: District) -> pd.DataFrame:
    """One row per building (and per BuildingPart, ``part_id`` set) with the true heights."""
    rows = []
    sup = pd.Series([s.building_id for s in district.superstructures], dtype=object)
    counts = sup.value_counts() if len(sup) else pd.Series(dtype=int)
    for b in district.buildings:
        fp = b.footprint
        row = {
            "id": b.building_id,
            "part_id": "",
            "building_kind": b.kind,
            "use": b.use,
            "construction_year": b.construction_year,
            "roof_type": b.roof_type,
            "roof_material": b.roof_material,
            "n_parts": len(b.parts),
            "storeys_above_ground": max(p.storeys for p in b.parts),
            "footprint_area_m2": float(fp.area),
            "centroid_x_m": float(fp.centroid.x),
            "centroid_y_m": float(fp.centroid.y),
            "h_ground_m": b.z_ground_m,
            "n_roof_planes": sum(len(p.roof_faces) for p in b.parts),
            "n_superstructures": int(counts.get(b.building_id, 0)),
        }
        row.update(_height_attrs(b))
        rows.append(row)
        if len(b.parts) > 1:
            for p in b.parts:
                r = dict(row)
                r.update({"part_id": p.part_id, "roof_type": p.roof_type, "storeys_above_ground": p.storeys,
                          "footprint_area_m2": float(p.footprint.area), "n_roof_planes": len(p.roof_faces),
                          "centroid_x_m": float(p.center_xy[0]), "centroid_y_m": float(p.center_xy[1])})
                r.update(_height_attrs(p))
                rows.append(r)
    return pd.DataFrame(rows)


def roofplane_table(district: District) -> pd.DataFrame:
    """One row per roof plane: ``n . x + d = 0`` with ``n`` the upward unit normal (absolute
    coordinates), a point on the plane, area, tilt and azimuth, and the 2D outline as WKT."""
    rows = []
    for b in district.buildings:
        for p in b.parts:
            prefix = p.part_id if len(b.parts) > 1 else b.building_id
            for k, f in enumerate(p.roof_faces):
                n = f.normal
                c = f.centroid
                tilt, az = tilt_azimuth_deg(n[None, :])
                poly = shapely.Polygon(f.rings[0][:, :2], [h[:, :2] for h in f.rings[1:]])
                rows.append({
                    "plane_id": f"{prefix}-r{k}",
                    "id": b.building_id,
                    "part_id": p.part_id,
                    "roof_type": p.roof_type,
                    "nx": n[0], "ny": n[1], "nz": n[2],
                    "d": -float(n @ c),
                    "px_m": c[0], "py_m": c[1], "pz_m": c[2],
                    "area_m2": f.area_m2,
                    "tilt_deg": float(tilt[0]),
                    "azimuth_deg": float(az[0]),
                    "outline_wkt": shapely.to_wkt(poly, rounding_precision=4),
                })
    return pd.DataFrame(rows)


def tree_table(district: District) -> pd.DataFrame:
    """One row per tree or shrub: position, ground height, height, crown diameter and base, and
    whether its crown reaches over a roof."""
    return pd.DataFrame([{
        "tree_id": t.tree_id, "kind": t.kind, "x_m": t.xy[0], "y_m": t.xy[1], "h_ground_m": t.z_ground_m,
        "height_m": t.height_m, "crown_diameter_m": t.crown_diameter_m, "crown_base_m": t.crown_base_m,
        "overhangs_roof": bool(t.overhangs_roof), "crown_shape": t.crown_shape,
    } for t in district.trees], columns=["tree_id", "kind", "x_m", "y_m", "h_ground_m", "height_m",
                                         "crown_diameter_m", "crown_base_m", "overhangs_roof", "crown_shape"])


def superstructure_table(district: District) -> pd.DataFrame:
    """One row per superstructure (in the LiDAR, not in the LoD2.2 truth): its exact box and gable."""
    return pd.DataFrame([{
        "id": s.building_id, "kind": s.kind, "x_m": s.center_xy[0], "y_m": s.center_xy[1],
        "angle_deg": float(np.degrees(s.angle_rad)), "length_m": s.length_m, "width_m": s.width_m,
        "z_bottom_m": s.z_bottom_m, "z_top_m": s.z_top_m, "ridge_rise_m": s.ridge_rise_m,
        "outline_wkt": shapely.to_wkt(s.outline, rounding_precision=4),
    } for s in district.superstructures], columns=["id", "kind", "x_m", "y_m", "angle_deg", "length_m",
                                                   "width_m", "z_bottom_m", "z_top_m", "ridge_rise_m",
                                                   "outline_wkt"])
