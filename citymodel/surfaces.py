"""The flat surface table that every solver consumes.

One row per polygon (a "surface") of the chosen geometries, with its city object, semantic
type and semantic surface, LoD, area, unit normal, tilt, azimuth, centroid and triangles.
Solvers never walk CityJSON's nested lists: they take this table, computed once.

Several polygons may share one CityJSON semantic surface object (3DBAG files often give all
walls of a building one ``WallSurface``); ``semantic_key`` identifies that object, and
:func:`write_surface_attribute` writes a per-polygon value back onto it (area-weighted mean).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from citymodel._polygons import polygon_geometry, ragged_from_rings
from citymodel.errors import InputError
from citymodel.geometry import tilt_azimuth_deg
from citymodel.io._boundaries import remap_boundaries
from citymodel.model import CityModel

__all__ = [
    "SurfaceTable",
    "surface_table",
    "select_object_types",
    "write_surface_attribute",
    "split_semantic_surfaces",
    "lod_rank",
]

_SURFACE_TYPES = {"MultiSurface", "CompositeSurface", "Solid", "MultiSolid", "CompositeSolid"}


def lod_rank(lod: Any) -> float:
    """Sortable number for a LoD string ("2.2" -> 2.2, "2" -> 2.0, unknown -> -1)."""
    try:
        return float(lod)
    except (TypeError, ValueError):
        return -1.0


@dataclass
class SurfaceTable:
    """Per-polygon arrays derived from a :class:`CityModel`.

    Attributes
    ----------
    vertices : (v, 3) float64
        Coordinates [m]: the model's vertices followed by those of template instances.
    object_ids : list[str]
        Ids of the city objects that own rows; ``object_index`` indexes it.
    root_ids : list[str]
        Ids of the top-level objects (a BuildingPart's Building); ``root_index`` indexes it.
    object_index, root_index, geometry_index, polygon_index : (s,) int64
        Owner object, its top-level object, the geometry's index in the object's list, and the
        polygon's index in that geometry's flattened polygon order.
    shell_index : (s,) int64
        Index of the solid (MultiSolid) times 1000 plus the shell (0 = exterior); 0 for surfaces.
    lod : (s,) str
        LoD string of the geometry ("2.2").
    semantic_type : (s,) str
        ``RoofSurface``, ``WallSurface``, ``GroundSurface``, ... or "" when none.
    semantic_index : (s,) int64
        Index into the geometry's ``semantics.surfaces`` (-1 when none).
    area_m2 : (s,) float64
        Polygon area, holes subtracted [m2].
    normal : (s, 3) float64
        Unit normal (Newell) following the ring orientation (outward for valid solids).
    tilt_deg, azimuth_deg : (s,) float64
        pvlib convention: tilt 0 = facing up; azimuth clockwise from north, 180 if horizontal.
    centroid : (s, 3) float64
        Area-weighted centroid of the triangles [m].
    triangles : (m, 3) int64
        Triangles of all polygons, indices into ``vertices``, grouped by polygon.
    tri_offsets : (s + 1,) int64
        Polygon ``i`` owns ``triangles[tri_offsets[i]:tri_offsets[i+1]]``.
    """

    vertices: np.ndarray
    object_ids: list[str]
    root_ids: list[str]
    object_index: np.ndarray
    root_index: np.ndarray
    geometry_index: np.ndarray
    polygon_index: np.ndarray
    shell_index: np.ndarray
    lod: np.ndarray
    semantic_type: np.ndarray
    semantic_index: np.ndarray
    area_m2: np.ndarray
    normal: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    centroid: np.ndarray
    triangles: np.ndarray
    tri_offsets: np.ndarray
    object_types: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.area_m2.shape[0])

    @property
    def n_triangles(self) -> int:
        return int(self.triangles.shape[0])

    @property
    def triangle_surface(self) -> np.ndarray:
        """Polygon index of every triangle, ``(m,) int64``."""
        return np.repeat(np.arange(len(self)), np.diff(self.tri_offsets))

    @property
    def semantic_key(self) -> np.ndarray:
        """One integer per (object, geometry, semantic surface); -1 - row where no semantics."""
        key = (self.object_index * 4096 + self.geometry_index) * 65536 + self.semantic_index
        return np.where(self.semantic_index >= 0, key, -1 - np.arange(len(self)))

    def is_type(self, *types: str) -> np.ndarray:
        """Boolean mask of rows whose semantic type is one of ``types``."""
        return np.isin(self.semantic_type, list(types))

    def select(self, mask: np.ndarray) -> SurfaceTable:
        """A table with the rows where ``mask`` is true (vertices and id lists kept)."""
        mask = np.asarray(mask)
        rows = np.flatnonzero(mask) if mask.dtype == bool else mask.astype(np.int64)
        counts = np.diff(self.tri_offsets)[rows]
        starts = self.tri_offsets[rows]
        tri_idx = (
            np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
            + np.arange(counts.sum())
            if len(rows)
            else np.zeros(0, np.int64)
        )
        return SurfaceTable(
            vertices=self.vertices,
            object_ids=self.object_ids,
            root_ids=self.root_ids,
            object_index=self.object_index[rows],
            root_index=self.root_index[rows],
            geometry_index=self.geometry_index[rows],
            polygon_index=self.polygon_index[rows],
            shell_index=self.shell_index[rows],
            lod=self.lod[rows],
            semantic_type=self.semantic_type[rows],
            semantic_index=self.semantic_index[rows],
            area_m2=self.area_m2[rows],
            normal=self.normal[rows],
            tilt_deg=self.tilt_deg[rows],
            azimuth_deg=self.azimuth_deg[rows],
            centroid=self.centroid[rows],
            triangles=self.triangles[tri_idx],
            tri_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            object_types=self.object_types,
        )

    def to_frame(self) -> pd.DataFrame:
        """Per-polygon columns as a DataFrame (no triangles)."""
        return pd.DataFrame(
            {
                "object_id": np.asarray(self.object_ids, dtype=object)[self.object_index]
                if len(self)
                else np.zeros(0, dtype=object),
                "root_id": np.asarray(self.root_ids, dtype=object)[self.root_index]
                if len(self)
                else np.zeros(0, dtype=object),
                "geometry_index": self.geometry_index,
                "polygon_index": self.polygon_index,
                "lod": self.lod,
                "semantic_type": self.semantic_type,
                "semantic_index": self.semantic_index,
                "area_m2": self.area_m2,
                "tilt_deg": self.tilt_deg,
                "azimuth_deg": self.azimuth_deg,
                "normal_x": self.normal[:, 0],
                "normal_y": self.normal[:, 1],
                "normal_z": self.normal[:, 2],
                "centroid_x": self.centroid[:, 0],
                "centroid_y": self.centroid[:, 1],
                "centroid_z": self.centroid[:, 2],
            }
        )

    def sum_by_root(self, values: np.ndarray) -> np.ndarray:
        """Sum per-row ``values (s,)`` over each top-level object: ``(len(root_ids),)``."""
        return np.bincount(self.root_index, weights=values, minlength=len(self.root_ids))


# ---------------------------------------------------------------------------- building
def _root_of(model: CityModel, oid: str) -> str:
    seen = set()
    cur = oid
    while True:
        parents = model.city_objects[cur].get("parents") or []
        if not parents or parents[0] not in model.city_objects or cur in seen:
            return cur
        seen.add(cur)
        cur = parents[0]


def iter_polygons(gtype: str, boundaries: Any, values: Any):
    """Yield (shell_index, rings, semantic value) for every polygon of a geometry."""
    if gtype in ("MultiSurface", "CompositeSurface"):
        for i, poly in enumerate(boundaries):
            yield 0, poly, (values[i] if values is not None else None)
    elif gtype == "Solid":
        for s, shell in enumerate(boundaries):
            sv = values[s] if values is not None else None
            for i, poly in enumerate(shell):
                yield s, poly, (sv[i] if sv is not None else None)
    elif gtype in ("MultiSolid", "CompositeSolid"):
        for k, solid in enumerate(boundaries):
            kv = values[k] if values is not None else None
            for s, shell in enumerate(solid):
                sv = kv[s] if kv is not None else None
                for i, poly in enumerate(shell):
                    yield k * 1000 + s, poly, (sv[i] if sv is not None else None)


def _instance_vertices(model: CityModel, g: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]] | None:
    tpl = model.templates or {}
    tlist = tpl.get("templates", [])
    t = g.get("template")
    if not isinstance(t, int) or not (0 <= t < len(tlist)):
        return None
    template = tlist[t]
    tv = np.asarray(tpl.get("vertices-templates", np.zeros((0, 3))), dtype=np.float64)
    m = np.asarray(g.get("transformationMatrix", np.eye(4).ravel()), dtype=np.float64).reshape(4, 4)
    ref = model.vertices[g["boundaries"][0]]
    homog = np.column_stack([tv, np.ones(len(tv))]) @ m.T
    return homog[:, :3] + ref, template


def chosen_geometries(
    model: CityModel, obj: dict[str, Any], lod: str | None
) -> list[tuple[int, dict[str, Any]]]:
    """(index, geometry) of the one surface geometry of ``obj`` at ``lod`` (``None``/"max": highest)."""
    geoms = obj.get("geometry") or []
    items = []
    for gi, g in enumerate(geoms):
        glod = g.get("lod")
        if g.get("type") == "GeometryInstance":
            tl = (model.templates or {}).get("templates", [])
            t = g.get("template")
            if isinstance(t, int) and 0 <= t < len(tl):
                glod = tl[t].get("lod")
                if tl[t].get("type") not in _SURFACE_TYPES:
                    continue
        elif g.get("type") not in _SURFACE_TYPES:
            continue
        items.append((gi, g, str(glod)))
    if not items:
        return []
    if lod is None or lod == "max":
        best = max(lod_rank(x[2]) for x in items)
        items = [x for x in items if lod_rank(x[2]) == best]
    else:
        items = [x for x in items if x[2] == str(lod)]
    if len(items) > 1:
        # several geometries of one LoD (e.g. a MultiSurface and a Solid): take one, preferring
        # semantics, then solids, so that no surface is counted twice
        def preference(x: tuple[int, dict[str, Any], str]) -> tuple[bool, bool, int]:
            g = x[1]
            return (not g.get("semantics"), "Solid" not in str(g.get("type")), x[0])

        items = [min(items, key=preference)]
    return [(gi, g) for gi, g, _ in items]


def surface_table(
    model: CityModel,
    *,
    lod: str | None = None,
    object_types: Sequence[str] | None = None,
    semantic_types: Iterable[str] | None = None,
    object_ids: Iterable[str] | None = None,
) -> SurfaceTable:
    """Derive the flat surface table from a model in one call.

    Parameters
    ----------
    model : CityModel
    lod : str, optional
        Use only geometries of this LoD ("2.2"); default: per object, its highest LoD.
    object_types : sequence of str, optional
        City object types to include (default: all with surface geometry).
    semantic_types : iterable of str, optional
        Keep only polygons of these semantic types (e.g. ``["RoofSurface"]``).
    object_ids : iterable of str, optional
        Restrict to these objects.

    Returns
    -------
    SurfaceTable
        Polygons with zero area are kept (area 0, no triangles) so that rows stay aligned with
        the model; filter them with ``table.select(table.area_m2 > 0)`` if needed.
    """
    vertices = model.vertices
    extra_vertices: list[np.ndarray] = []
    n_extra = vertices.shape[0]
    want_types = set(object_types) if object_types is not None else None
    want_sem = set(semantic_types) if semantic_types is not None else None
    ids = list(object_ids) if object_ids is not None else list(model.city_objects)

    object_ids_out: list[str] = []
    object_types_out: list[str] = []
    root_ids: list[str] = []
    root_pos: dict[str, int] = {}
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "object_index",
            "root_index",
            "geometry_index",
            "polygon_index",
            "shell_index",
            "lod",
            "semantic_type",
            "semantic_index",
        )
    }
    rings_all: list[list[list[int]]] = []
    for oid in ids:
        if oid not in model.city_objects:
            raise InputError(f"{model.source or 'model'}: no city object with id {oid!r}")
        obj = model.city_objects[oid]
        if want_types is not None and obj.get("type") not in want_types:
            continue
        chosen = chosen_geometries(model, obj, lod)
        if not chosen:
            continue
        oi = len(object_ids_out)
        object_ids_out.append(oid)
        object_types_out.append(obj.get("type", ""))
        root = _root_of(model, oid)
        if root not in root_pos:
            root_pos[root] = len(root_ids)
            root_ids.append(root)
        ri = root_pos[root]
        for gi, g in chosen:
            gtype = g.get("type")
            boundaries = g["boundaries"]
            sem = g.get("semantics") or {}
            glod = g.get("lod")
            if gtype == "GeometryInstance":
                inst = _instance_vertices(model, g)
                if inst is None:
                    continue
                iv, template = inst
                extra_vertices.append(iv)
                boundaries = remap_boundaries(template["boundaries"], n_extra)
                n_extra += len(iv)
                gtype = template.get("type")
                sem = template.get("semantics") or {}
                glod = template.get("lod")
            surfaces = sem.get("surfaces") or []
            values = sem.get("values")
            for pi, (shell, rings, sv) in enumerate(iter_polygons(gtype, boundaries, values)):
                stype = ""
                if isinstance(sv, int) and 0 <= sv < len(surfaces):
                    stype = surfaces[sv].get("type", "")
                else:
                    sv = -1
                if want_sem is not None and stype not in want_sem:
                    continue
                rows["object_index"].append(oi)
                rows["root_index"].append(ri)
                rows["geometry_index"].append(gi)
                rows["polygon_index"].append(pi)
                rows["shell_index"].append(shell)
                rows["lod"].append(str(glod))
                rows["semantic_type"].append(stype)
                rows["semantic_index"].append(sv)
                rings_all.append(rings)

    allv = np.vstack([vertices, *extra_vertices]) if extra_vertices else vertices
    n = len(rings_all)
    rp = ragged_from_rings(rings_all)
    if len(rp.idx) and (rp.idx.min() < 0 or rp.idx.max() >= len(allv)):
        raise InputError(
            f"{model.source or 'model'}: a polygon refers to a vertex index outside the "
            f"{len(allv)} vertices; run `citymodel validate` to find the object"
        )
    area, normal, centroid, tri, tri_offsets = polygon_geometry(allv, rp)
    tilt, az = tilt_azimuth_deg(normal) if n else (np.zeros(0), np.zeros(0))
    return SurfaceTable(
        vertices=allv,
        object_ids=object_ids_out,
        root_ids=root_ids,
        object_index=np.asarray(rows["object_index"], dtype=np.int64),
        root_index=np.asarray(rows["root_index"], dtype=np.int64),
        geometry_index=np.asarray(rows["geometry_index"], dtype=np.int64),
        polygon_index=np.asarray(rows["polygon_index"], dtype=np.int64),
        shell_index=np.asarray(rows["shell_index"], dtype=np.int64),
        lod=np.asarray(rows["lod"], dtype=str) if n else np.zeros(0, dtype="<U3"),
        semantic_type=np.asarray(rows["semantic_type"], dtype=str) if n else np.zeros(0, dtype="<U1"),
        semantic_index=np.asarray(rows["semantic_index"], dtype=np.int64),
        area_m2=area,
        normal=normal,
        tilt_deg=tilt,
        azimuth_deg=az,
        centroid=centroid,
        triangles=tri,
        tri_offsets=tri_offsets,
        object_types=object_types_out,
    )


def select_object_types(model: CityModel, table: SurfaceTable, object_types: Iterable[str]) -> SurfaceTable:
    """The rows of a table's objects of these types, as ``surface_table(model, object_types=...)``.

    ``table`` is ``surface_table(model)`` (or with a ``lod``), built once and shared by several
    consumers. Rows, triangles, ``object_ids``, ``root_ids`` and ``object_types`` come out as a
    fresh ``surface_table(model, object_types=object_types)`` would give them; ``vertices`` stay
    the shared table's (the same coordinates; more template-instance vertices, if any).
    """
    want = set(object_types)
    keep = [i for i, t in enumerate(table.object_types) if t in want]
    new_oi = np.full(len(table.object_ids), -1, dtype=np.int64)
    new_oi[keep] = np.arange(len(keep), dtype=np.int64)
    root_ids: list[str] = []
    root_pos: dict[str, int] = {}
    obj_root = np.zeros(len(keep), dtype=np.int64)
    for k, i in enumerate(keep):
        root = _root_of(model, table.object_ids[i])
        if root not in root_pos:
            root_pos[root] = len(root_ids)
            root_ids.append(root)
        obj_root[k] = root_pos[root]
    sub = table.select(new_oi[table.object_index] >= 0)
    object_index = new_oi[sub.object_index]
    n = len(sub)
    return replace(
        sub,
        object_ids=[table.object_ids[i] for i in keep],
        root_ids=root_ids,
        object_index=object_index,
        root_index=obj_root[object_index],
        # re-derive the string widths, as surface_table does from the kept rows alone
        lod=np.asarray(sub.lod.tolist(), dtype=str) if n else np.zeros(0, dtype="<U3"),
        semantic_type=np.asarray(sub.semantic_type.tolist(), dtype=str) if n else np.zeros(0, dtype="<U1"),
        object_types=[table.object_types[i] for i in keep],
    )


# ---------------------------------------------------------------------------- write back
def _explode_values(vals: Any, surfaces: list[dict[str, Any]], out: list[dict[str, Any]]) -> Any:
    """Copy of a semantics ``values`` tree where every polygon points at its own surface."""
    if isinstance(vals, list):
        return [_explode_values(v, surfaces, out) for v in vals]
    if isinstance(vals, int) and 0 <= vals < len(surfaces):
        out.append(dict(surfaces[vals]))
        return len(out) - 1
    return None


def split_semantic_surfaces(model: CityModel) -> None:
    """Give every polygon its own semantic surface object, in place.

    After this, a per-polygon value written with :func:`write_surface_attribute` is stored
    exactly (no averaging over polygons that shared one ``WallSurface``).
    """
    for obj in model.city_objects.values():
        for g in obj.get("geometry") or []:
            sem = g.get("semantics")
            if not sem or "values" not in sem:
                continue
            surfaces = sem.get("surfaces") or []
            new_surfaces: list[dict[str, Any]] = []
            sem["values"] = _explode_values(sem["values"], surfaces, new_surfaces)
            for s in new_surfaces:  # parent/children links between semantic surfaces break
                s.pop("parent", None)
                s.pop("children", None)
            sem["surfaces"] = new_surfaces


def write_surface_attribute(
    model: CityModel,
    table: SurfaceTable,
    name: str,
    values: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    decimals: int | None = 3,
) -> int:
    """Write a per-row value onto the semantic surface objects of ``model``, in place.

    Rows that share one semantic surface object get the ``weights``-weighted mean (default:
    area). Rows without semantics are skipped. Returns the number of semantic surfaces written.

    Parameters
    ----------
    values : (s,) float64
        One value per table row (NaN rows are ignored).
    weights : (s,) float64, optional
        Averaging weights, default ``table.area_m2``.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(table),):
        raise InputError(f"values for {name!r} must have shape ({len(table)},), got {values.shape}")
    w = table.area_m2 if weights is None else np.asarray(weights, dtype=np.float64)
    ok = (table.semantic_index >= 0) & np.isfinite(values)
    key = table.semantic_key[ok]
    if key.size == 0:
        return 0
    uniq, inv = np.unique(key, return_inverse=True)
    wsum = np.bincount(inv, weights=w[ok])
    vsum = np.bincount(inv, weights=w[ok] * values[ok])
    cnt = np.bincount(inv)
    vmean = np.where(wsum > 0, vsum / np.where(wsum > 0, wsum, 1), np.bincount(inv, weights=values[ok]) / cnt)
    first = np.zeros(len(uniq), dtype=np.int64)
    first[inv[::-1]] = np.arange(len(inv))[::-1]
    rows = np.flatnonzero(ok)[first]
    for r, v in zip(rows, vmean, strict=True):
        obj = model.city_objects[table.object_ids[table.object_index[r]]]
        g = obj["geometry"][table.geometry_index[r]]
        s = g["semantics"]["surfaces"][table.semantic_index[r]]
        s[name] = round(float(v), decimals) if decimals is not None else float(v)
    return len(uniq)
