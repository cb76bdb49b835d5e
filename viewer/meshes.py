"""Merged PyVista meshes from a CityModel: one PolyData per layer with per-cell scalars.

No window is needed here: the same meshes serve the desktop app, the off-screen renderer and
the tests. Coordinates are shifted by a scene ``origin`` (float32 on the GPU loses centimetres
at 1e5 m) and every function returns local coordinates [m].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError
from citymodel.geometry import triangulate_polygon
from citymodel.model import CityModel
from citymodel.surfaces import chosen_geometries, iter_polygons
from citymodel.vegetation import tree_table

__all__ = [
    "BUILDING_OBJECT_TYPES",
    "LAYER_TYPES",
    "surface_mesh",
    "building_attributes",
    "tree_mesh",
    "tree_parameters",
    "SURFACE_TYPES",
]

BUILDING_OBJECT_TYPES = ("Building", "BuildingPart", "BuildingInstallation")
#: City object types drawn by each surface layer.
LAYER_TYPES: dict[str, tuple[str, ...]] = {
    "buildings": BUILDING_OBJECT_TYPES,
    "terrain": ("TINRelief", "LandUse"),
    "green": ("PlantCover",),
    "water": ("WaterBody",),
    "roads": ("Road", "Railway", "TransportSquare", "Waterway"),
    "other": ("Bridge", "BridgePart", "CityFurniture", "GenericCityObject", "OtherConstruction",
              "Tunnel", "TunnelPart", "BridgeInstallation", "TunnelInstallation"),
}
#: Codes of the ``surface_type`` cell array (index = code).
SURFACE_TYPES = ("", "RoofSurface", "WallSurface", "GroundSurface", "ClosureSurface",
                 "OuterCeilingSurface", "OuterFloorSurface", "Window", "Door")
_TYPE_CODE = {t: i for i, t in enumerate(SURFACE_TYPES)}
_SKIP_SURFACE_KEYS = {"type", "parent", "children"}


def _root_index(model: CityModel, ids: Sequence[str]) -> dict[str, str]:
    out = {}
    for oid in ids:
        cur, seen = oid, set()
        while True:
            parents = model.city_objects[cur].get("parents") or []
            if not parents or parents[0] not in model.city_objects or cur in seen:
                break
            seen.add(cur)
            cur = parents[0]
        out[oid] = cur
    return out


def surface_mesh(
    model: CityModel,
    object_types: Sequence[str],
    origin: np.ndarray,
    *,
    lod: str | None = None,
    root_ids: Sequence[str] | None = None,
):
    """All surfaces of the objects of ``object_types`` as one triangulated PolyData.

    Parameters
    ----------
    model : CityModel
    object_types : sequence of str
        CityJSON object types to include.
    origin : (3,) float64
        Subtracted from the coordinates [m].
    lod : str, optional
        LoD to draw ("1.2", "2.2"); default: each object's highest.
    root_ids : sequence of str, optional
        Top-level ids that ``object_index`` refers to (default: the roots met, in order).

    Returns
    -------
    mesh : pyvista.PolyData or None
        Triangles with cell arrays ``object_index`` (int32, index into ``root_ids``),
        ``surface_type`` (uint8 code into :data:`SURFACE_TYPES`) and every numeric attribute
        found on semantic surfaces (float32, NaN where absent). None when nothing is found.
    root_ids : list of str
        The top-level object ids.
    """
    import pyvista as pv


    wanted = set(object_types)
    ids = [k for k, o in model.city_objects.items() if o.get("type") in wanted]
    roots = _root_index(model, ids)
    if root_ids is None:
        root_ids = list(dict.fromkeys(roots[i] for i in ids))
    rpos = {r: i for i, r in enumerate(root_ids)}
    sizes: list[int] = []
    conn: list[int] = []
    cell_root: list[int] = []
    cell_type: list[int] = []
    surf_vals: dict[str, list[tuple[int, float]]] = {}
    tri_extra: list[np.ndarray] = []
    tri_root: list[int] = []
    tri_type: list[int] = []
    tri_surf: list[dict[str, Any] | None] = []
    verts = model.vertices
    for oid in ids:
        ri = rpos.get(roots[oid], -1)
        if ri < 0:
            continue
        for _gi, g in chosen_geometries(model, model.city_objects[oid], lod):
            if g.get("type") == "GeometryInstance":
                continue  # templates: drawn for trees only
            sem = g.get("semantics") or {}
            surfaces = sem.get("surfaces") or []
            for _shell, rings, sv in iter_polygons(g["type"], g["boundaries"], sem.get("values")):
                s = surfaces[sv] if isinstance(sv, int) and 0 <= sv < len(surfaces) else None
                code = _TYPE_CODE.get(s.get("type", ""), 0) if s else 0
                if not rings or len(rings[0]) < 3:
                    continue
                if len(rings) == 1:
                    ring = rings[0]
                    ci = len(sizes)
                    sizes.append(len(ring))
                    conn.extend(ring)
                    cell_root.append(ri)
                    cell_type.append(code)
                    if s is not None and len(s) > 1:
                        for k, v in s.items():
                            if k not in _SKIP_SURFACE_KEYS and isinstance(v, int | float) and not isinstance(v, bool):
                                surf_vals.setdefault(k, []).append((ci, float(v)))
                else:  # polygon with holes: earcut here, VTK polygons cannot have holes
                    t = triangulate_polygon(verts, rings)
                    tri_extra.append(t)
                    tri_root += [ri] * len(t)
                    tri_type += [code] * len(t)
                    tri_surf += [s] * len(t)
    n_poly = len(sizes)
    if tri_extra:
        t = np.vstack(tri_extra)
        for k, s in enumerate(tri_surf):
            if s is not None and len(s) > 1:
                for key, v in s.items():
                    if key not in _SKIP_SURFACE_KEYS and isinstance(v, int | float) and not isinstance(v, bool):
                        surf_vals.setdefault(key, []).append((n_poly + k, float(v)))
        sizes += [3] * len(t)
        conn += t.ravel().tolist()
        cell_root += tri_root
        cell_type += tri_type
    if not sizes:
        return None, list(root_ids)
    conn_a = np.asarray(conn, dtype=np.int64)
    if conn_a.min() < 0 or conn_a.max() >= len(verts):
        raise InputError(f"{model.source or 'model'}: geometry indexes vertices that do not exist; "
                         "run `citymodel validate`")
    used, local = np.unique(conn_a, return_inverse=True)
    sizes_a = np.asarray(sizes, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes_a)])
    cells = pv.CellArray.from_arrays(offsets, local.astype(np.int64), deep=True)
    mesh = pv.PolyData()
    mesh.points = (verts[used] - origin).astype(np.float64)
    mesh.SetPolys(cells)
    n_cells = len(sizes)
    mesh.cell_data["object_index"] = np.asarray(cell_root, dtype=np.int32)
    mesh.cell_data["surface_type"] = np.asarray(cell_type, dtype=np.uint8)
    for k, pairs in surf_vals.items():
        a = np.full(n_cells, np.nan, dtype=np.float32)
        idx, val = zip(*pairs, strict=True)
        a[list(idx)] = val
        mesh.cell_data[k] = a
    if (sizes_a > 3).any():
        mesh = mesh.triangulate()
    return mesh, list(root_ids)


def building_attributes(model: CityModel, building_ids: Sequence[str]) -> pd.DataFrame:
    """Every numeric attribute of the given buildings as float64 columns (NaN where missing).

    BuildingPart attributes are not merged; a building's own attributes win.
    """
    rows = []
    for oid in building_ids:
        a = model.city_objects[oid].get("attributes") or {}
        rows.append({k: v for k, v in a.items() if isinstance(v, int | float) and not isinstance(v, bool)})
    return pd.DataFrame.from_records(rows, index=range(len(building_ids))).astype(np.float64)


def tree_parameters(model: CityModel) -> pd.DataFrame:
    """Trees of the model for the glyphs (see :func:`citymodel.vegetation.tree_table`).

    Returns
    -------
    DataFrame
        ``tree_id``, ``x_m``, ``y_m``, ``z_m`` (base, model coordinates), ``height_m``,
        ``crown_diameter_m``.
    """

    return tree_table(model)[["tree_id", "x_m", "y_m", "z_m", "height_m", "crown_diameter_m"]]


def tree_mesh(trees: pd.DataFrame, origin: np.ndarray, *, resolution: int = 8):
    """Glyphs for trees: a trunk (cylinder) and a crown (sphere) each, in one PolyData.

    Parameters
    ----------
    trees : DataFrame
        From :func:`tree_parameters`: ``x_m``, ``y_m``, ``z_m``, ``height_m``,
        ``crown_diameter_m`` [m].
    origin : (3,) float64
    resolution : int
        Facets around the trunk and the crown.

    Returns
    -------
    pyvista.PolyData or None
        Cell arrays ``tree_index`` (int32), ``part`` (0 trunk, 1 crown), ``height_m``.
    """
    import pyvista as pv

    n = len(trees)
    if n == 0:
        return None
    cyl = pv.Cylinder(center=(0, 0, 0.5), direction=(0, 0, 1), radius=1.0, height=1.0,
                      resolution=resolution).triangulate()
    sph = pv.Sphere(radius=1.0, theta_resolution=resolution, phi_resolution=max(4, resolution // 2 + 2))
    base = trees[["x_m", "y_m", "z_m"]].to_numpy(np.float64) - origin
    h = trees["height_m"].to_numpy(np.float64)
    d = trees["crown_diameter_m"].to_numpy(np.float64)
    r_crown = np.minimum(d / 2.0, 0.45 * h)
    trunk_h = np.maximum(h - r_crown, 0.3 * h)
    r_trunk = np.clip(0.06 * d, 0.12, 0.6)
    cp = np.asarray(cyl.points)
    sp = np.asarray(sph.points)
    tp = cp[None] * np.stack([r_trunk, r_trunk, trunk_h], axis=1)[:, None] + base[:, None]
    centre = base + np.column_stack([np.zeros(n), np.zeros(n), h - r_crown])
    kp = sp[None] * r_crown[:, None, None] + centre[:, None]
    cf = cyl.regular_faces
    sf = sph.regular_faces
    nc, ns = len(cp), len(sp)
    faces_t = cf[None] + (np.arange(n) * nc)[:, None, None]
    faces_k = sf[None] + (n * nc + np.arange(n) * ns)[:, None, None]
    pts = np.vstack([tp.reshape(-1, 3), kp.reshape(-1, 3)])
    faces = np.vstack([faces_t.reshape(-1, 3), faces_k.reshape(-1, 3)])
    mesh = pv.PolyData.from_regular_faces(pts, faces)
    mesh.cell_data["tree_index"] = np.concatenate(
        [np.repeat(np.arange(n), len(cf)), np.repeat(np.arange(n), len(sf))]).astype(np.int32)
    mesh.cell_data["part"] = np.concatenate([np.zeros(n * len(cf)), np.ones(n * len(sf))]).astype(np.uint8)
    mesh.cell_data["height_m"] = h[mesh.cell_data["tree_index"]].astype(np.float32)
    return mesh
