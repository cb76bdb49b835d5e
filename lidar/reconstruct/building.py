"""Reconstruct one building (all requested LoDs) from its footprint and points.

Pure function of its inputs (footprint, roof points, ground points): the result does not depend
on other buildings or on which files or tiles the points came from. Roof points are sorted
before use so that their order (file order) does not matter either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from citymodel.errors import CityModelError
from citymodel.model import CityModel
from citymodel.validation import name_of, validate
from lidar.attributes import height_attributes, rmse_m, roof_type
from lidar.reconstruct.distance import point_shell_distance_m
from lidar.reconstruct.extrude import ROOF, Shell, shell_is_closed, signed_volume_m3, solid_geometry
from lidar.reconstruct.lod12 import lod12_shell
from lidar.reconstruct.lod13 import lod13_shell
from lidar.reconstruct.lod22 import bad_faces, lod22_shell
from lidar.reconstruct.partition import make_grid
from lidar.reconstruct.roofplanes import detect_roof_planes

__all__ = ["BuildingResult", "reconstruct_building", "LODS", "MIN_ROOF_POINTS"]

LODS = ("1.2", "1.3", "2.2")
#: Fewer roof points than this: the building is skipped.
MIN_ROOF_POINTS = 10
#: Largest number of roof points used per footprint part (denser clouds are thinned evenly).
MAX_ROOF_POINTS = 60_000
#: Smallest building height above ground for a prism [m].
MIN_HEIGHT_M = 0.5
#: Why an LoD2.2 or LoD1.3 solid was dropped when no attempt closed it.
NOT_CLOSED = ("its solid could not be closed (every attempt, also without vertex snapping and on a coarser "
              "raster, left an edge that is not shared by exactly two faces)")
#: Smallest roof region of the LoD2.2 partition [m2] (smaller ones join a neighbour).
MIN_REGION_M2 = 0.5


class _Timeout(CityModelError):
    pass


@dataclass
class BuildingResult:
    """Reconstruction of one building.

    Attributes
    ----------
    attributes : dict
        Glossary attributes (``h_ground_m``, ..., ``status``, ``status_reason``).
    shells : dict[str, list[Shell]]
        Per LoD string, one shell per footprint part (only LoDs that succeeded).
    seconds, cpu_seconds : float
        Wall and CPU (this process) time spent [s].
    """

    attributes: dict[str, Any]
    shells: dict[str, list[Shell]] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def _parts(geom: Polygon | MultiPolygon) -> list[Polygon]:
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and p.area > 0]


def _valid(shell: Shell) -> bool:
    return shell_is_closed(shell.surfaces) and signed_volume_m3(shell.vertices, shell.surfaces) > 0


def _sorted_points(xyz: np.ndarray) -> np.ndarray:
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    return xyz[np.lexsort((xyz[:, 2], xyz[:, 1], xyz[:, 0]))]


def _validator_errors(shells: dict[str, list[Shell]]) -> dict[str, str]:
    """Per LoD, the validator's error codes on its solids (empty when all are valid)."""
    verts, objects, n = [], {}, 0
    for lod, lst in shells.items():
        for p, sh in enumerate(lst):
            objects[f"{lod}/{p}"] = {"type": "Building", "geometry": [solid_geometry(sh, lod, n)]}
            verts.append(sh.vertices)
            n += len(sh.vertices)
    if not objects:
        return {}
    # one building's few hundred rings: numba's threads would cost more CPU (spinning) than
    # they save; the build already runs buildings in parallel processes
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        report = validate(CityModel(vertices=np.vstack(verts), city_objects=objects))
    finally:
        numba.set_num_threads(threads)
    out: dict[str, set[int]] = {}
    for e in report.entries:
        if e.severity == "error" and e.object_id:
            out.setdefault(e.object_id.split("/")[0], set()).add(e.code)
    return {lod: "the solid fails validation (" + ", ".join(f"{c} {name_of(c)}" for c in sorted(codes)) + ")"
            for lod, codes in out.items()}


def _lod22_with_retries(poly, pts, planes, zg, cell_m, grid, deadline: float = float("inf")):
    """LoD2.2, retried without vertex snapping and then on a coarser raster when the first shell
    is not closed (e.g. four roof parts alternating in height around one vertex)."""
    attempts = ((cell_m, 1.0, grid, MIN_REGION_M2), (cell_m, 0.0, grid, MIN_REGION_M2), (cell_m, 1.0, grid, 8.0),
                (2 * cell_m, 0.0, None, 8.0))
    err: Exception | None = None
    for cm, snap, g, min_m2 in attempts:
        if time.perf_counter() > deadline:
            raise _Timeout("time limit reached while retrying LoD2.2")
        try:
            out = lod22_shell(poly, pts, planes, zg, cm, grid=g, snap_m=snap, min_region_m2=min_m2)
        except (CityModelError, shapely.errors.GEOSException) as exc:  # a GEOS topology error: next attempt
            err = exc
            continue
        if _valid(out[0]) and not bad_faces(out[1]):
            return out
        err = _Timeout(NOT_CLOSED)
    raise err if err is not None else _Timeout(NOT_CLOSED)


def _flat_roof_type(shells: list[Shell]) -> str:
    """:func:`lidar.attributes.roof_type` of shells whose roofs are horizontal (LoD1.2, LoD1.3)."""
    h, a = [], []
    for sh in shells:
        for rings, sem in zip(sh.surfaces, sh.semantic, strict=True):
            if sem != ROOF:
                continue
            p = sh.vertices[rings[0]]
            h.append(float(p[:, 2].mean()))
            a.append(0.5 * abs(float(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))))
    return roof_type(np.zeros(len(h)), np.asarray(h), np.asarray(a))


def _not_worse_than_lod12(res: BuildingResult) -> str:
    """When the LoD2.2 model fits the roof points worse than the LoD1.2 prism (``rmse_lod22_m``
    above ``rmse_lod12_m``: too few points for planes, a partition that missed a height step),
    write the better of LoD1.3 and LoD1.2 as the LoD2.2 geometry instead, so that no building's
    LoD2.2 is worse than its LoD1.2. Returns the reason in words ("" when nothing changed)."""
    a = res.attributes
    r22, r12 = a.get("rmse_lod22_m"), a.get("rmse_lod12_m")
    if r22 is None or r12 is None or not r22 > r12:
        return ""
    r13 = a.get("rmse_lod13_m")
    lod, r = ("1.3", r13) if r13 is not None and r13 <= r12 and res.shells.get("1.3") else ("1.2", r12)
    res.shells["2.2"] = list(res.shells[lod])
    a["rmse_lod22_m"] = r
    a["roof_type"] = _flat_roof_type(res.shells[lod])
    return (f"the LoD2.2 roof planes fitted the roof points worse than the LoD1.2 prism (RMS distance "
            f"{r22:.3f} m against {r12:.3f} m): the LoD{lod} model was written as LoD2.2")


def reconstruct_building(
    footprint: Polygon | MultiPolygon,
    roof_xyz: np.ndarray,
    ground_z: np.ndarray,
    *,
    lods: tuple[str, ...] = LODS,
    time_limit_s: float = 5.0,
    cell_m: float = 0.4,
    check: bool = True,
) -> BuildingResult:
    """Reconstruct one building at the requested LoDs.

    Parameters
    ----------
    footprint : Polygon or MultiPolygon
        Footprint in the points' CRS [m]; each polygon becomes one solid.
    roof_xyz : (n, 3) float64
        Roof (building) points inside the footprint [m].
    ground_z : (g,) float64
        Heights of ground points in and around the footprint [m].
    lods : tuple of str
        Any of "1.2", "1.3", "2.2".
    time_limit_s : float
        Time budget [s]; when spent, the higher LoDs not yet built are dropped (fallback to the
        next lower LoD) and the reason is recorded.
    cell_m : float
        Raster cell size of the footprint partition [m].
    check : bool
        Run the project's validator (:func:`citymodel.validation.validate`) on every solid and
        drop, with the reason, an LoD that has an error (about 8 ms per building).

    Returns
    -------
    BuildingResult
        ``status`` is ``"ok"``, ``"fallback"`` (a requested LoD failed or ran out of time) or
        ``"skipped"`` (too few points).
    """
    t0 = time.perf_counter()
    c0 = time.process_time()
    deadline = t0 + time_limit_s
    roof_xyz = _sorted_points(roof_xyz)
    ground_z = np.sort(np.asarray(ground_z, dtype=np.float64).ravel())
    area = float(footprint.area)
    attrs: dict[str, Any] = height_attributes(roof_xyz[:, 2], ground_z, area)
    attrs.update(roof_type=None, rmse_lod12_m=None, rmse_lod13_m=None, rmse_lod22_m=None)
    res = BuildingResult(attrs)
    if len(roof_xyz) < MIN_ROOF_POINTS:
        attrs.update(status="skipped", status_reason=f"too few roof points ({len(roof_xyz)} < {MIN_ROOF_POINTS})")
        res.seconds = time.perf_counter() - t0
        res.cpu_seconds = time.process_time() - c0
        return res
    zg = attrs["h_ground_m"]
    notes = []
    if not np.isfinite(zg):
        zg = float(roof_xyz[:, 2].min()) - 3.0
        attrs["h_ground_m"] = zg
        notes.append("no ground points around the footprint: ground set 3 m below the lowest roof point")
    h70 = max(attrs["h_roof_70p_m"], zg + MIN_HEIGHT_M)
    parts = _parts(footprint)
    failed: dict[str, str] = {}
    faces_info: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lod in sorted(lods):
        res.shells[lod] = []
    for poly in parts:
        shapely.prepare(poly)
        inside = shapely.contains_xy(poly, roof_xyz[:, 0], roof_xyz[:, 1])
        pts = roof_xyz[inside] if len(parts) > 1 else roof_xyz
        if len(pts) > MAX_ROOF_POINTS:
            pts = pts[:: int(np.ceil(len(pts) / MAX_ROOF_POINTS))]
        grid = make_grid(poly, cell_m)
        for lod in sorted(lods):
            if lod in failed:
                continue
            try:
                if time.perf_counter() > deadline and lod != "1.2":
                    raise _Timeout(f"time limit of {time_limit_s:g} s reached")
                if len(pts) < MIN_ROOF_POINTS and len(parts) > 1 and lod != "1.2":
                    # a small part of a multi-polygon footprint without points: a flat prism
                    shell, _ = lod12_shell(poly, h70, zg)
                    note = f"a footprint part with {len(pts)} roof points is a flat prism at h_roof_70p_m"
                    if note not in notes:
                        notes.append(note)
                elif len(pts) < MIN_ROOF_POINTS and lod != "1.2":
                    raise _Timeout(f"too few roof points in a footprint part ({len(pts)})")
                elif lod == "1.2":
                    shell, _ = lod12_shell(poly, h70, zg)
                elif lod == "1.3":
                    shell, part, _ = lod13_shell(poly, pts, zg, cell_m, grid=grid)
                    if bad_faces(part) or not _valid(shell):  # once more on a coarser raster
                        shell, part, _ = lod13_shell(poly, pts, zg, 2 * cell_m)
                        if bad_faces(part):
                            raise _Timeout("a roof part has a spike or a self-intersection")
                else:
                    planes = detect_roof_planes(pts)
                    if time.perf_counter() > deadline:
                        raise _Timeout(f"time limit of {time_limit_s:g} s reached")
                    shell, part, coef = _lod22_with_retries(poly, pts, planes, zg, cell_m, grid, deadline)
                    o = planes.origin
                    polys = part.polygons()
                    cen = shapely.centroid(polys)
                    cx, cy = shapely.get_x(cen), shapely.get_y(cen)
                    hz = coef[:, 0] * (cx - o[0]) + coef[:, 1] * (cy - o[1]) + coef[:, 2] + o[2]
                    tilt = np.degrees(np.arctan(np.hypot(coef[:, 0], coef[:, 1])))
                    faces_info.append((tilt, hz, shapely.area(polys)))
                if not _valid(shell):
                    raise _Timeout(NOT_CLOSED)
                res.shells[lod].append(shell)
            except CityModelError as exc:
                failed[lod] = str(exc)
            except (ValueError, IndexError, shapely.errors.GEOSException) as exc:  # geometry corner cases
                failed[lod] = (f"the roof geometry could not be made: an unexpected error in a geometry step "
                               f"({type(exc).__name__}: {exc}), please report it with the building's id")
    for lod in failed:
        res.shells.pop(lod, None)
    if check:
        for lod, why in _validator_errors(res.shells).items():
            res.shells.pop(lod, None)
            failed[lod] = why
    fit_pts = roof_xyz[:: int(np.ceil(len(roof_xyz) / MAX_ROOF_POINTS))]
    for lod, key in (("1.2", "rmse_lod12_m"), ("1.3", "rmse_lod13_m"), ("2.2", "rmse_lod22_m")):
        if res.shells.get(lod):
            attrs[key] = rmse_m(point_shell_distance_m(fit_pts, res.shells[lod]), 0.0)
    if "2.2" in res.shells and faces_info:
        attrs["roof_type"] = roof_type(*(np.concatenate(x) for x in zip(*faces_info, strict=False)))
    replaced = _not_worse_than_lod12(res)
    if replaced:
        notes.insert(0, replaced)
    if failed:
        done = [lod for lod in LODS if lod in res.shells]
        lower = ("; built LoD" + ", LoD".join(done) + " instead") if done else "; no LoD could be built"
        notes.insert(0, "; ".join(f"LoD{lod} failed ({why})" for lod, why in sorted(failed.items())) + lower)
        attrs["status"] = "fallback" if done else "skipped"
    else:
        attrs["status"] = "fallback" if replaced else "ok"
    attrs["status_reason"] = "; ".join(notes)
    res.seconds = time.perf_counter() - t0
    res.cpu_seconds = time.process_time() - c0
    return res
