"""Structure checks: the CityJSON 2.0 rules a schema validator (cjval) would check.

Works on the raw parsed document (:func:`check_root` then :func:`check_objects`) or on a
:class:`~citymodel.model.CityModel`'s members (:func:`check_objects` alone). Vertex indices of
all geometries of one type are checked in one vectorised pass (see ``_ragged``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np
import orjson

from citymodel.io._boundaries import DEPTH_BY_TYPE
from citymodel.validation._ragged import tokenize
from citymodel.validation.report import ValidationReport

__all__ = [
    "check_root",
    "check_objects",
    "CITYOBJECT_TYPES_1ST",
    "CITYOBJECT_TYPES_2ND",
    "SEMANTIC_TYPES",
    "GEOMETRY_TYPES",
]

#: CityJSON 2.0 1st-level city object types.
CITYOBJECT_TYPES_1ST = frozenset({
    "Bridge", "Building", "CityFurniture", "CityObjectGroup", "GenericCityObject", "LandUse",
    "OtherConstruction", "PlantCover", "SolitaryVegetationObject", "TINRelief", "TransportSquare",
    "Railway", "Road", "Tunnel", "WaterBody", "Waterway",
})
#: CityJSON 2.0 2nd-level city object types (they must have a parent).
CITYOBJECT_TYPES_2ND = frozenset({
    "BridgePart", "BridgeInstallation", "BridgeConstructiveElement", "BridgeRoom", "BridgeFurniture",
    "BuildingPart", "BuildingInstallation", "BuildingConstructiveElement", "BuildingFurniture",
    "BuildingStorey", "BuildingRoom", "BuildingUnit",
    "TunnelPart", "TunnelInstallation", "TunnelConstructiveElement", "TunnelHollowSpace", "TunnelFurniture",
})
#: CityJSON 2.0 semantic surface types.
SEMANTIC_TYPES = frozenset({
    "RoofSurface", "GroundSurface", "WallSurface", "ClosureSurface", "OuterCeilingSurface",
    "OuterFloorSurface", "Window", "Door", "InteriorWallSurface", "CeilingSurface", "FloorSurface",
    "WaterSurface", "WaterGroundSurface", "WaterClosureSurface",
    "TrafficArea", "AuxiliaryTrafficArea", "TransportationMarking", "TransportationHole",
})
#: Geometry types and the nesting depth of their boundaries (GeometryInstance: 1 index).
GEOMETRY_TYPES = {**DEPTH_BY_TYPE, "GeometryInstance": 1}

_LOD = re.compile(r"^\d(\.\d)?$")
_SEM_LEVELS = {"MultiSurface": 1, "CompositeSurface": 1, "Solid": 2, "MultiSolid": 3, "CompositeSolid": 3}


def _is_num3(x: Any) -> bool:
    return (
        isinstance(x, list) and len(x) == 3
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in x)
    )


def check_root(doc: Any, report: ValidationReport, *, integer_vertices: bool = True) -> int | None:
    """Root members of a raw CityJSON 2.0 document; returns the vertex count (None if unusable).

    ``integer_vertices=False`` accepts real coordinates (a CityJSON 1.0 file, which the reader
    upgrades; the writer quantises).
    """
    if not isinstance(doc, dict):
        report.add(None, None, 1001, "the document is not a JSON object")
        return None
    if doc.get("type") != "CityJSON":
        report.add(None, None, 1001, f"'type' is {doc.get('type')!r}, must be \"CityJSON\"")
    v = doc.get("version")
    if not isinstance(v, str):
        report.add(None, None, 1001, f"'version' must be a string such as \"2.0\", got {v!r}")
    elif v not in ("2.0", "2.0.0", "2.0.1"):
        report.add(None, None, 1001, f"'version' is {v!r}; these rules are CityJSON 2.0's")
    t = doc.get("transform")
    if t is None:
        report.add(None, None, 1001, "'transform' is missing; CityJSON 2.0 requires it (vertices are integers)")
    elif not (isinstance(t, dict) and _is_num3(t.get("scale")) and _is_num3(t.get("translate"))):
        report.add(None, None, 1001, "'transform' must have 'scale' and 'translate', 3 numbers each")
    if not isinstance(doc.get("CityObjects"), dict):
        report.add(None, None, 1001, "'CityObjects' is missing or not an object")
    for key in ("metadata", "extensions", "geometry-templates", "appearance"):
        if key in doc and not isinstance(doc[key], dict):
            report.add(None, None, 1001, f"'{key}' must be an object")
    verts = doc.get("vertices")
    if not isinstance(verts, list):
        report.add(None, None, 1001, "'vertices' is missing or not an array")
        return None
    if not verts:
        return 0
    try:
        arr = np.array(verts)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] != 3 or arr.dtype.kind not in "iuf":
        report.add(None, None, 1001, "'vertices' must be an array of [x, y, z] number triplets")
        return None
    if arr.dtype.kind == "f" and integer_vertices:
        report.add(None, None, 1001, "'vertices' must hold integers (quantised with 'transform') in CityJSON 2.0")
    return int(arr.shape[0])


def _vertex_warnings(vertices: np.ndarray, used: np.ndarray | None, report: ValidationReport) -> None:
    if vertices.shape[0] > 1:
        v = np.asarray(vertices)
        order = np.lexsort(v.T[::-1])
        sv = v[order]
        n_unique = 1 + int(np.any(sv[1:] != sv[:-1], axis=1).sum())
        if n_unique < vertices.shape[0]:
            report.add(None, None, 1014, f"{vertices.shape[0] - n_unique} of {vertices.shape[0]} vertices are duplicates")
    if used is not None and used.size and not used.all():
        report.add(None, None, 1013, f"{int((~used).sum())} of {used.size} vertices are not used by any geometry")


def _values_shape_ok(values: Any, boundaries: Any, levels: int) -> bool:
    """Semantic ``values`` mirror ``boundaries`` for ``levels`` list levels (null allowed anywhere).

    Leaf types (integers) are checked in the batch range check.
    """
    if values is None:
        return True
    if not isinstance(values, list) or not isinstance(boundaries, list) or len(values) != len(boundaries):
        return False
    if levels == 1:
        return True
    if levels == 2:
        return all(v is None or (isinstance(v, list) and len(v) == len(b)) for v, b in zip(values, boundaries, strict=True))
    return all(_values_shape_ok(v, b, levels - 1) for v, b in zip(values, boundaries, strict=True))


def _check_semantics(oid: str, gi: int, g: dict, report: ValidationReport,
                     pending: list[tuple[str, int, Any, int]]) -> None:
    """Shape of ``values`` and the semantic surfaces; queue ``values`` for the batch range check."""
    sem = g.get("semantics")
    if sem is None:
        return
    gtype = g.get("type")
    if not isinstance(sem, dict) or not isinstance(sem.get("surfaces"), list) or "values" not in sem:
        report.add(oid, gi, 1008, "'semantics' must be an object with 'surfaces' (array) and 'values'")
        return
    surfaces = sem["surfaces"]
    levels = _SEM_LEVELS.get(gtype)
    if levels is None:
        return
    if not _values_shape_ok(sem["values"], g.get("boundaries"), levels):
        report.add(oid, gi, 1008, f"semantic 'values' are not shaped like the {gtype} boundaries "
                                  f"({levels} levels of arrays, one value per surface)")
        return
    pending.append((oid, gi, sem["values"], len(surfaces)))
    n = len(surfaces)
    for si, s in enumerate(surfaces):
        if not isinstance(s, dict) or not isinstance(s.get("type"), str):
            report.add(oid, gi, 1008, f"semantic surface #{si} must be an object with a 'type'")
            continue
        st = s["type"]
        if st not in SEMANTIC_TYPES and not st.startswith("+"):
            report.add(oid, gi, 1012, f"semantic surface #{si} has type {st!r}, not a CityJSON 2.0 type")
        if "parent" in s or "children" in s:
            p = s.get("parent")
            if p is not None and not (isinstance(p, int) and 0 <= p < n):
                report.add(oid, gi, 1008, f"semantic surface #{si}: 'parent' {p!r} is not a surface index")
            ch = s.get("children")
            if ch is not None and not (isinstance(ch, list) and all(isinstance(c, int) and 0 <= c < n for c in ch)):
                report.add(oid, gi, 1008, f"semantic surface #{si}: 'children' must be surface indices")


def _check_semantic_values(pending: list[tuple[str, int, Any, int]], report: ValidationReport) -> None:
    """Every semantic value of every geometry is null or an index into its surfaces (one pass)."""
    if not pending:
        return
    raw = orjson.dumps([[v] for _, _, v, _ in pending]).replace(b"null", b"-1")
    tok = tokenize([], raw=raw)
    n_surf = np.array([n for _, _, _, n in pending], dtype=np.int64)
    v = tok.values
    bad = (v < -1) | (v >= n_surf[tok.geometry])
    bad_geo = np.zeros(len(pending), dtype=bool)
    bad_geo[tok.bad_geometries] = True
    if bad.any():
        bad_geo[np.unique(tok.geometry[bad])] = True
    for i in np.flatnonzero(bad_geo):
        oid, gi, _, n = pending[i]
        vals = v[(tok.geometry == i) & ((v < -1) | (v >= n))]
        what = f"semantic value {int(vals[0])} is out of range" if vals.size else "semantic values must be integers or null"
        report.add(oid, gi, 1008, f"{what} ({n} semantic surfaces)")


def _check_geometry_batch(
    items: list[tuple[str, int, Any]], depth: int, n_vertices: int, used: np.ndarray, report: ValidationReport,
    bad: set[tuple[str, int]], what: str = "vertex",
) -> None:
    """Nesting depth and index range of many same-type geometries at once."""
    if not items:
        return
    tok = tokenize([b for _, _, b in items])
    n = len(items)
    bad_geo = np.zeros(n, dtype=bool)
    bad_geo[tok.bad_geometries] = True
    wrong_depth = tok.depth[tok.starts] != depth + 1
    # a boundary that is not a list (a bare number) sits at depth 1
    depth_bad = np.bincount(tok.geometry[wrong_depth], minlength=n) > 0 if wrong_depth.any() else np.zeros(n, bool)
    v = tok.values
    oob = (v < 0) | (v >= n_vertices)
    oob_geo = np.bincount(tok.geometry[oob], minlength=n) > 0 if oob.any() else np.zeros(n, bool)
    for i in np.flatnonzero(bad_geo | depth_bad | oob_geo):
        oid, gi, _ = items[i]
        bad.add((oid, gi))
        if bad_geo[i] or depth_bad[i]:
            report.add(oid, gi, 1006, f"boundaries must be {depth} levels of nested arrays of integer {what} indices")
        if oob_geo[i]:
            sel = tok.geometry == i
            vi = v[sel & oob]
            plural = what.replace("vertex", "vertices")
            report.add(oid, gi, 1007, f"{what} index {int(vi[0])} is out of range (there are {n_vertices} {plural})"
                       + (f"; {vi.size} such indices" if vi.size > 1 else ""))
    ok = v[~oob & ~np.isin(tok.geometry, np.flatnonzero(bad_geo | depth_bad))]
    if used.size and ok.size:
        used[ok] = True


def check_objects(
    objects: Any,
    n_vertices: int,
    report: ValidationReport,
    *,
    templates: Any = None,
    extensions: Any = None,
    vertices: np.ndarray | None = None,
) -> set[tuple[str, int]]:
    """City objects, geometries, semantics, parents/children and template references.

    Parameters
    ----------
    objects : dict
        ``CityObjects``.
    n_vertices : int
        Length of the vertex list the boundaries index.
    templates : dict, optional
        ``geometry-templates`` (``templates`` list and ``vertices-templates``).
    extensions : dict, optional
        Declared extensions; a city object type ``"+Name"`` is accepted only when some are declared.
    vertices : (n, 3) array, optional
        When given, duplicate and unused vertices are reported as warnings.

    Returns
    -------
    set of (object id, geometry index)
        Geometries whose structure is too broken for geometric checks.
    """
    bad: set[tuple[str, int]] = set()
    if not isinstance(objects, dict):
        return bad
    has_ext = bool(extensions)
    tlist = templates.get("templates", []) if isinstance(templates, dict) else []
    tverts = templates.get("vertices-templates", []) if isinstance(templates, dict) else []
    n_tverts = len(tverts)
    by_depth: dict[int, list[tuple[str, int, Any]]] = defaultdict(list)
    used = np.zeros(n_vertices if vertices is not None else 0, dtype=bool)
    pending: list[tuple[str, int, Any, int]] = []
    for oid, obj in objects.items():
        if not isinstance(obj, dict):
            report.add(oid, None, 1002, "the city object is not a JSON object")
            continue
        t = obj.get("type")
        if not isinstance(t, str):
            report.add(oid, None, 1002, "the city object has no 'type' string")
        elif t.startswith("+"):
            if not has_ext:
                report.add(oid, None, 1003, f"type {t!r} is an extension type but no extension is declared in 'extensions'")
        elif t not in CITYOBJECT_TYPES_1ST and t not in CITYOBJECT_TYPES_2ND:
            report.add(oid, None, 1003, f"type {t!r} is not a CityJSON 2.0 city object type")
        elif t in CITYOBJECT_TYPES_2ND and not obj.get("parents"):
            report.add(oid, None, 1011, f"a {t} must have 'parents' (it is a 2nd-level city object)")
        for key, kind in (("attributes", dict), ("parents", list), ("children", list), ("geographicalExtent", list)):
            if key in obj and obj[key] is not None and not isinstance(obj[key], kind):
                report.add(oid, None, 1002, f"'{key}' must be {'an object' if kind is dict else 'an array'}")
        _check_links(oid, obj, objects, report)
        geoms = obj.get("geometry")
        if geoms is None:
            continue
        if not isinstance(geoms, list):
            report.add(oid, None, 1002, "'geometry' must be an array")
            continue
        for gi, g in enumerate(geoms):
            if not isinstance(g, dict):
                report.add(oid, gi, 1004, "the geometry is not a JSON object")
                bad.add((oid, gi))
                continue
            gt = g.get("type")
            if gt not in GEOMETRY_TYPES:
                report.add(oid, gi, 1004, f"geometry type {gt!r} is not a CityJSON geometry type")
                bad.add((oid, gi))
                continue
            if "boundaries" not in g:
                report.add(oid, gi, 1006, "the geometry has no 'boundaries'")
                bad.add((oid, gi))
                continue
            if gt == "GeometryInstance":
                _check_instance(oid, gi, g, len(tlist), n_vertices, report, bad, used)
                continue
            lod = g.get("lod")
            if not (isinstance(lod, str) and _LOD.match(lod)):
                report.add(oid, gi, 1005, f"'lod' is {lod!r}; it must be a string like \"2\" or \"2.2\"")
            by_depth[GEOMETRY_TYPES[gt]].append((oid, gi, g["boundaries"]))
            _check_semantics(oid, gi, g, report, pending)
    _check_semantic_values(pending, report)
    for depth, items in by_depth.items():
        _check_geometry_batch(items, depth, n_vertices, used, report, bad)
    for ti, tg in enumerate(tlist):
        if not isinstance(tg, dict) or tg.get("type") not in DEPTH_BY_TYPE or "boundaries" not in tg:
            report.add(None, None, 1010, f"geometry template #{ti} is not a valid geometry")
            continue
        _check_geometry_batch([(f"<template {ti}>", ti, tg["boundaries"])], DEPTH_BY_TYPE[tg["type"]],
                              n_tverts, np.zeros(0, bool), report, set(), what="template vertex")
    if vertices is not None:
        _vertex_warnings(np.asarray(vertices), used, report)
    return bad


def _check_instance(
    oid: str, gi: int, g: dict, n_templates: int, n_vertices: int, report: ValidationReport,
    bad: set[tuple[str, int]], used: np.ndarray,
) -> None:
    t = g.get("template")
    b = g.get("boundaries")
    m = g.get("transformationMatrix")
    if not (isinstance(t, int) and 0 <= t < n_templates):
        report.add(oid, gi, 1010, f"'template' {t!r} is not an index into {n_templates} geometry templates")
        bad.add((oid, gi))
    if not (isinstance(b, list) and len(b) == 1 and isinstance(b[0], int) and 0 <= b[0] < n_vertices):
        report.add(oid, gi, 1010, "a GeometryInstance's 'boundaries' must be one vertex index in range")
        bad.add((oid, gi))
    elif used.size:
        used[b[0]] = True
    if not (isinstance(m, list) and len(m) == 16 and all(isinstance(x, int | float) for x in m)):
        report.add(oid, gi, 1010, "'transformationMatrix' must be 16 numbers")
        bad.add((oid, gi))


def _check_links(oid: str, obj: dict, objects: dict, report: ValidationReport) -> None:
    for p in obj.get("parents") or () if isinstance(obj.get("parents"), list) else ():
        po = objects.get(p) if isinstance(p, str) else None
        if not isinstance(po, dict):
            report.add(oid, None, 1009, f"parent {p!r} does not exist")
        elif oid not in (po.get("children") or ()):
            report.add(oid, None, 1009, f"parent {p!r} does not list {oid!r} among its 'children'")
    for c in obj.get("children") or () if isinstance(obj.get("children"), list) else ():
        co = objects.get(c) if isinstance(c, str) else None
        if not isinstance(co, dict):
            report.add(oid, None, 1009, f"child {c!r} does not exist")
        elif obj.get("type") != "CityObjectGroup" and oid not in (co.get("parents") or ()):
            report.add(oid, None, 1009, f"child {c!r} does not list {oid!r} among its 'parents'")
