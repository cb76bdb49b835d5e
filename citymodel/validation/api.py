"""``validate(model)`` and ``validate_file(path)``: structure, then geometry, then BuildingParts."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from citymodel._gcutil import without_gc
from citymodel.errors import CityModelError
from citymodel.io._boundaries import DEPTH_BY_TYPE, flatten_indices
from citymodel.io.cityjson import is_seq_path, model_from_document, read_cityjsonseq
from citymodel.io.upgrade import upgrade_document
from citymodel.model import CityModel
from citymodel.progress import progress_bar
from citymodel.tolerances import OVERLAP_DEPTH_TOL_M, OVERLAP_TOL_M3, PLANARITY_TOL_M, SNAP_TOL_M
from citymodel.validation._ragged import ragged_rings, tokenize
from citymodel.validation.overlap import overlap_volume_m3, solid_rings
from citymodel.validation.polygons import check_polygons, weld
from citymodel.validation.report import ValidationReport
from citymodel.validation.shells import check_shells
from citymodel.validation.structure import check_objects, check_root

__all__ = ["validate", "validate_file"]

_SURFACE_TYPES = ("MultiSurface", "CompositeSurface", "Solid", "MultiSolid", "CompositeSolid")
#: Geometries per vectorised batch (bounds memory; one progress step each).
BATCH = 5000


@without_gc
def validate(model: CityModel, *, progress: bool = False) -> ValidationReport:
    """Validate a city model: CityJSON 2.0 structure and val3dity geometry checks.

    Parameters
    ----------
    model : CityModel
        The model (vertices in real coordinates [m]).
    progress : bool
        Show a progress bar (for large models).

    Returns
    -------
    ValidationReport
        ``.valid`` is True when no entry is an error.

    Examples
    --------
    >>> from citymodel.model import CityModel
    >>> validate(CityModel()).valid
    True
    """
    report = ValidationReport(source=model.source or "<model>")
    bad = check_objects(
        model.city_objects, model.n_vertices, report,
        templates=_templates_for_check(model.templates), extensions=model.extensions, vertices=model.vertices,
    )
    _check_geometry(model, report, bad, progress=progress)
    return report


def _templates_for_check(templates: dict[str, Any] | None) -> dict[str, Any] | None:
    if templates is None:
        return None
    t = dict(templates)
    t["vertices-templates"] = np.asarray(t.get("vertices-templates", np.zeros((0, 3)))).reshape(-1, 3)
    return t


@without_gc
def validate_file(path: str | os.PathLike, crs: int | str | None = None, *, progress: bool = False) -> ValidationReport:
    """Validate a ``.city.json`` or ``.city.jsonl`` file.

    The raw document is checked against the CityJSON 2.0 rules first (after upgrading 1.0/1.1
    on the fly, as the reader does), then the model built from it is checked geometrically.
    A file that cannot be read at all gives a report with one fatal 901 entry, not an exception.

    Parameters
    ----------
    path : path-like
        The file.
    crs : int or str, optional
        CRS override (only used to build the model).
    progress : bool
        Show a progress bar.
    """

    where = str(path)
    report = ValidationReport(source=where)
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        return _fatal(report, f"cannot read the file: {exc.strerror or exc}")
    if is_seq_path(p):
        return _validate_seq(p, data, report, crs, progress, read_cityjsonseq)
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        what = "the file is empty" if not data.strip() else f"not valid JSON ({exc}); the file may be truncated"
        return _fatal(report, what)
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        t = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        return _fatal(report, f"'type' is {t!r}; a CityJSON file must have \"type\": \"CityJSON\"")
    version = str(doc.get("version", ""))
    if version.startswith(("1.0", "1.1")):
        upgrade_document(doc, version[:3])
        if version.startswith("1.0") and "transform" not in doc:
            doc["transform"] = {"scale": [1.0, 1.0, 1.0], "translate": [0.0, 0.0, 0.0]}
    n_vertices = check_root(doc, report, integer_vertices=not version.startswith("1.0"))
    if n_vertices is None or not isinstance(doc.get("CityObjects"), dict):
        return report
    verts = np.asarray(doc["vertices"]).reshape(-1, 3) if n_vertices else np.zeros((0, 3))
    bad = check_objects(doc["CityObjects"], n_vertices, report, templates=doc.get("geometry-templates"),
                        extensions=doc.get("extensions"), vertices=verts)
    return _check_model(lambda: model_from_document(doc, source=where, crs=crs, check=False),
                        report, bad, progress)


def _validate_seq(p: Path, data: bytes, report: ValidationReport, crs: Any, progress: bool, reader: Any) -> ValidationReport:
    lines = [(no, ln) for no, ln in enumerate(data.split(b"\n"), start=1) if ln.strip()]
    if not lines:
        return _fatal(report, "the file is empty; expected a CityJSONSeq header line")
    bad: set[tuple[str, int]] = set()
    version = "2.0"
    for i, (no, ln) in enumerate(lines):
        try:
            item = orjson.loads(ln)
        except orjson.JSONDecodeError as exc:
            return _fatal(report, f"line {no} is not valid JSON ({exc}); the file may be truncated")
        if i == 0:
            if not isinstance(item, dict) or item.get("type") != "CityJSON":
                return _fatal(report, "line 1 must be a CityJSON header (\"type\": \"CityJSON\")")
            version = str(item.get("version", ""))
            if version.startswith("1.1"):
                upgrade_document(item, "1.1")
            check_root({**item, "vertices": item.get("vertices", [])}, report)
            header = item
            continue
        if not isinstance(item, dict) or item.get("type") != "CityJSONFeature":
            report.add(None, None, 1001, f"line {no}: expected a CityJSONFeature")
            continue
        if not isinstance(item.get("CityObjects"), dict) or not isinstance(item.get("vertices"), list):
            report.add(None, None, 1001, f"line {no}: feature {item.get('id')!r} lacks 'CityObjects' or 'vertices'")
            continue
        if version.startswith("1.1"):
            upgrade_document(item, "1.1")
        nv = len(item["vertices"])
        bad |= check_objects(item["CityObjects"], nv, report, templates=header.get("geometry-templates"),
                             extensions=header.get("extensions"))
    return _check_model(lambda: reader(p, crs=crs), report, bad, progress)


def _check_model(load: Any, report: ValidationReport, bad: set, progress: bool) -> ValidationReport:
    """Build the model (a reader error is fatal unless the structure checks already failed),
    then run the geometry checks on every geometry the structure checks left usable."""
    try:
        model = load()
    except CityModelError as exc:
        if report.valid:
            return _fatal(report, str(exc))
        return report
    report.n_objects = len(model)
    _check_geometry(model, report, bad, progress=progress)
    return report


def _fatal(report: ValidationReport, message: str) -> ValidationReport:
    report.add(None, None, 901, message)
    report.fatal = True
    return report


# --------------------------------------------------------------------------- geometry
def _check_geometry(model: CityModel, report: ValidationReport, skip: set[tuple[str, int]], *, progress: bool) -> None:
    report.n_objects = len(model)
    groups: dict[int, list[tuple[str, int, Any]]] = defaultdict(list)
    for oid, obj in model.city_objects.items():
        if not isinstance(obj, dict):
            continue
        for gi, g in enumerate(obj.get("geometry") or ()):
            if isinstance(g, dict) and g.get("type") in _SURFACE_TYPES and (oid, gi) not in skip:
                groups[DEPTH_BY_TYPE[g["type"]]].append((oid, gi, g["boundaries"]))
    n_total = sum(len(v) for v in groups.values())
    report.n_geometries = n_total
    canon = weld(model.vertices, SNAP_TOL_M)
    with_errors: set[tuple[str, int]] = set()
    with progress_bar(enabled=progress and n_total > BATCH) as bar:
        task = bar.add_task("Validating geometries", total=n_total)
        for depth, items in sorted(groups.items()):
            for s in range(0, len(items), BATCH):
                chunk = items[s:s + BATCH]
                _check_batch(model.vertices, canon, chunk, depth, report, with_errors)
                bar.advance(task, len(chunk))
    _check_building_parts(model, report, skip | with_errors)


_WHY_104 = {
    1: "visits the same point twice (not consecutively)",
    2: "has two edges that cross or touch in the polygon's plane",
    3: "collapses to a line (zero area)",
}


def _check_batch(vertices: np.ndarray, canon: np.ndarray, items: list[tuple[str, int, Any]], depth: int,
                 report: ValidationReport, with_errors: set[tuple[str, int]]) -> None:
    tok = tokenize([b for _, _, b in items])
    rag = ragged_rings(tok, depth)
    report.n_shells += rag.n_shells if depth >= 4 else 0
    report.n_polygons += rag.n_polygons
    has_poly = np.zeros(len(items), dtype=bool)
    has_poly[rag.shell_geometry[rag.polygon_shell]] = True
    for i in np.flatnonzero(~has_poly):
        oid, gi, _ = items[i]
        report.add(oid, gi, 902, "the geometry has no polygons")
        with_errors.add((oid, gi))
    if rag.n_polygons == 0:
        return
    pc = check_polygons(vertices, canon, rag, PLANARITY_TOL_M)
    solid = np.full(rag.n_shells, depth >= 4)
    sc = check_shells(vertices, canon, rag, pc.polygon_ok, solid, SNAP_TOL_M)

    def loc(poly: int) -> tuple[str, int, int | None, int]:
        sh = int(rag.polygon_shell[poly])
        oid, gi, _ = items[int(rag.shell_geometry[sh])]
        return oid, gi, (int(rag.shell_rank[sh]) if depth >= 4 else None), int(rag.polygon_rank[poly])

    ring_msgs = (
        (pc.e101, 101, lambda r: f"ring {int(rag.ring_rank[r])} has {int(rag.ring_len[r])} points (3 needed)"),
        (pc.e102, 102, lambda r: f"ring {int(rag.ring_rank[r])} has consecutive points at the same location "
                                 f"(within {SNAP_TOL_M} m)"),
        (pc.e104, 104, lambda r: f"ring {int(rag.ring_rank[r])} " + _WHY_104.get(int(pc.kind104[r]), "")),
    )
    for flags, code, msg in ring_msgs:
        for r in np.flatnonzero(flags):
            oid, gi, sh, po = loc(int(rag.ring_polygon[r]))
            report.add(oid, gi, code, msg(r), shell=sh, polygon=po)
            with_errors.add((oid, gi))
    for p in np.flatnonzero(np.bincount(rag.ring_polygon, minlength=rag.n_polygons) == 0):
        oid, gi, sh, po = loc(int(p))
        report.add(oid, gi, 101, "the polygon has no ring", shell=sh, polygon=po)
        with_errors.add((oid, gi))
    for p in np.flatnonzero(pc.e203):
        oid, gi, sh, po = loc(int(p))
        report.add(oid, gi, 203, f"a vertex is {pc.plane_dist_m[p]:.3f} m from the polygon's fitted plane "
                                 f"(tolerance {PLANARITY_TOL_M} m)", shell=sh, polygon=po)
        with_errors.add((oid, gi))
    if depth < 4:
        return

    def sloc(s: int) -> tuple[str, int, int]:
        oid, gi, _ = items[int(rag.shell_geometry[s])]
        return oid, gi, int(rag.shell_rank[s])

    n_poly = np.bincount(rag.polygon_shell, minlength=rag.n_shells)
    for s in np.flatnonzero(sc.e301):
        oid, gi, sh = sloc(s)
        report.add(oid, gi, 301, f"the shell has {int(n_poly[s])} polygons (4 needed)", shell=sh)
        with_errors.add((oid, gi))
    # val3dity's order: 304 stops the shell's checks, then 305, and only then 302
    many = sc.components > 1
    hole = np.where((sc.nonmanifold_edges > 0) | (sc.t_junctions > 0) | many, 0, sc.free_edges)
    for counts, code, what in ((hole, 302, "edges are used by only one polygon (the shell has holes)"),
                               (sc.nonmanifold_edges, 304, "edges are shared by more than two polygons"),
                               (sc.t_junctions, 304, "edges have another vertex of the shell inside them "
                                                     "(T-junction: the polygons' edges do not match)"),
                               (sc.nonmanifold_vertices, 303, "vertices have polygons that do not form one umbrella")):
        for s in np.flatnonzero(counts):
            oid, gi, sh = sloc(s)
            report.add(oid, gi, code, f"{int(counts[s])} {what}", shell=sh)
            with_errors.add((oid, gi))
    for s in np.flatnonzero(sc.components > 1):
        oid, gi, sh = sloc(s)
        report.add(oid, gi, 305, f"the polygons form {int(sc.components[s])} groups not connected by edges",
                   shell=sh)
        with_errors.add((oid, gi))
    wrong_per_shell = np.bincount(rag.polygon_shell[sc.wrong_polygon], minlength=rag.n_shells)
    for s in np.flatnonzero(wrong_per_shell):
        oid, gi, sh = sloc(s)
        with_errors.add((oid, gi))
        polys = np.flatnonzero(sc.wrong_polygon & (rag.polygon_shell == s))
        if wrong_per_shell[s] == n_poly[s]:
            report.add(oid, gi, 307, f"all {int(n_poly[s])} polygons face inward (signed volume "
                                     f"{sc.volume_m3[s]:.3g} m3); reverse every ring", shell=sh)
            continue
        for p in polys:
            report.add(oid, gi, 307, "the polygon is oriented against its neighbours (it faces inward)",
                       shell=sh, polygon=int(rag.polygon_rank[p]))


def _check_building_parts(model: CityModel, report: ValidationReport, skip: set[tuple[str, int]]) -> None:
    """601: Solids of a Building and its BuildingParts (same LoD) must not share volume."""
    objs = model.city_objects
    for bid, b in objs.items():
        if not isinstance(b, dict) or b.get("type") != "Building" or not b.get("children"):
            continue
        members = [bid] + [c for c in b.get("children") or () if isinstance(objs.get(c), dict)
                           and objs[c].get("type") == "BuildingPart"]
        by_lod: dict[str, list[tuple[str, int, Any]]] = defaultdict(list)
        for oid in members:
            for gi, g in enumerate(objs[oid].get("geometry") or ()):
                if g.get("type") == "Solid" and (oid, gi) not in skip and g.get("boundaries"):
                    by_lod[str(g.get("lod"))].append((oid, gi, g["boundaries"][0]))
        for lod, sols in by_lod.items():
            if len(sols) < 2:
                continue
            boxes = []
            for _, _, shell in sols:
                v = model.vertices[flatten_indices(shell)]
                boxes.append((v.min(axis=0), v.max(axis=0)))
            shells: dict[int, Any] = {}
            for i in range(len(sols)):
                for j in range(i + 1, len(sols)):
                    lo = np.maximum(boxes[i][0], boxes[j][0])
                    hi = np.minimum(boxes[i][1], boxes[j][1])
                    if np.prod(np.clip(hi - lo - 2 * OVERLAP_DEPTH_TOL_M, 0, None)) <= OVERLAP_TOL_M3:
                        continue
                    for k in (i, j):
                        if k not in shells:
                            shells[k] = solid_rings(model.vertices, sols[k][2])
                    vol = overlap_volume_m3(shells[i], shells[j])
                    if vol > OVERLAP_TOL_M3:
                        (oa, ga, _), (ob, gb, _) = sols[i], sols[j]
                        report.add(bid, None, 601, f"{oa!r} (geometry #{ga}) and {ob!r} (geometry #{gb}) "
                                                   f"share about {vol:.3g} m3 at LoD {lod}")
