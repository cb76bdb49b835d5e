"""Accuracy of a built model against a ground truth (the synthetic district's truth files).

Figures (all from independent truth: the generator's exact roof planes and attributes):

- ``h70_abs_err_m``: per building, ``|h_roof_70p_m - truth h_roof_70p_m|`` [m];
- ``roof_rmse_m``: per building, RMSE of the LoD2.2 roof height minus the true roof plane's
  height, sampled on a 0.5 m grid inside every true roof plane outline [m];
- ``plane_recovered``: per true roof plane, whether one LoD2.2 roof face covers at least half of
  it with a normal within 10 degrees and a median height error under 0.3 m;
- ``footprint_iou``: per true footprint, the best intersection over union with any extracted
  footprint (a row of houses extracted as one polygon scores each house's share of the row).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from citymodel.model import CityModel

__all__ = ["roof_faces", "compare_to_truth", "footprint_iou", "RECOVERY_ANGLE_DEG"]

#: A true plane counts as recovered when a model face's normal is within this angle [deg].
RECOVERY_ANGLE_DEG = 10.0
#: ... covers at least this share of it ...
RECOVERY_SHARE = 0.5
#: ... with a median height difference under this [m].
RECOVERY_DZ_M = 0.3


def roof_faces(model: CityModel, lod: str = "2.2") -> tuple[list[shapely.Polygon], np.ndarray, list[str]]:
    """2D outlines, plane coefficients and building ids of every roof surface at ``lod``.

    Returns
    -------
    polygons : list of Polygon
        Roof surfaces projected on the xy plane.
    coef : (s, 3) float64
        ``z = a x + b y + c`` of each surface (absolute coordinates).
    building : list of str
        Owning Building id of each surface.
    """
    polys, coefs, owners = [], [], []
    v = model.vertices
    for oid, obj in model.city_objects.items():
        root = (obj.get("parents") or [oid])[0]
        for g in obj.get("geometry", []) or []:
            if g.get("lod") != lod or g.get("type") != "Solid":
                continue
            sem = g.get("semantics", {})
            types = [s.get("type") for s in sem.get("surfaces", [])]
            values = sem.get("values", [[]])[0]
            for si, surf in enumerate(g["boundaries"][0]):
                if values[si] is None or types[values[si]] != "RoofSurface":
                    continue
                rings = [v[np.asarray(r)] for r in surf]
                p = shapely.Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]])
                x = rings[0]
                c = x.mean(axis=0)
                _, _, vt = np.linalg.svd(x - c)
                n = vt[-1]
                if abs(n[2]) < 1e-6:
                    continue
                a, b = -n[0] / n[2], -n[1] / n[2]
                polys.append(p)
                coefs.append((a, b, c[2] - a * c[0] - b * c[1]))
                owners.append(root)
    return polys, np.asarray(coefs, dtype=np.float64).reshape(-1, 3), owners


def _grid_points(poly: shapely.Polygon, step_m: float) -> np.ndarray:
    x0, y0, x1, y1 = poly.bounds
    xs = np.arange(x0 + step_m / 2, x1, step_m)
    ys = np.arange(y0 + step_m / 2, y1, step_m)
    if len(xs) == 0 or len(ys) == 0:
        return np.asarray(poly.representative_point().coords)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    return xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]


def compare_to_truth(model: CityModel, truth: CityModel, roofplanes_csv, step_m: float = 0.5,
                     min_plane_m2: float = 10.0) -> dict[str, pd.DataFrame]:
    """Compare a built model with the synthetic truth.

    Parameters
    ----------
    model : CityModel
        Built model (Building ids = footprint ids = truth ids).
    truth : CityModel
        The generator's truth model (attributes ``h_roof_70p_m``).
    roofplanes_csv : path
        The generator's ``truth_roofplanes.csv`` (plane ``nx, ny, nz``, a point ``px_m, py_m, pz_m`` and ``outline_wkt``).
    step_m : float
        Sampling step inside true roof planes [m].
    min_plane_m2 : float
        Only true planes at least this large count for recovery [m2].

    Returns
    -------
    dict of DataFrame
        ``buildings`` (id, truth and built h_roof_70p_m, their absolute difference, roof RMSE,
        share of the true roof covered by model roofs, status, rmse_lod22_m) and ``planes`` (plane id, area,
        recovered).
    """
    planes = pd.read_csv(roofplanes_csv)
    polys, coef, owner = roof_faces(model, "2.2")
    tree = shapely.STRtree(polys) if polys else None
    normals = np.column_stack([-coef[:, 0], -coef[:, 1], np.ones(len(coef))]) if len(coef) else np.zeros((0, 3))
    normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    rows_p = []
    sq: dict[str, list[np.ndarray]] = {}
    for pl in planes.itertuples(index=False):
        outline = shapely.from_wkt(pl.outline_wkt)
        xy = _grid_points(outline, step_m)
        n_true = np.array([pl.nx, pl.ny, pl.nz])
        # from the plane's point and normal (the CSV's offset d is rounded too coarsely)
        z_true = pl.pz_m - (pl.nx * (xy[:, 0] - pl.px_m) + pl.ny * (xy[:, 1] - pl.py_m)) / pl.nz
        face = -np.ones(len(xy), dtype=np.int64)
        if tree is not None and len(xy):
            pi, fi = tree.query(shapely.points(xy), predicate="intersects")
            face[pi] = fi
        ok = face >= 0
        z_model = np.full(len(xy), np.nan)
        c = coef[face[ok]]
        z_model[ok] = c[:, 0] * xy[ok, 0] + c[:, 1] * xy[ok, 1] + c[:, 2]
        dz = z_model - z_true
        sq.setdefault(str(pl.id), []).append(dz)
        recovered = False
        if ok.any():
            vals, cnt = np.unique(face[ok], return_counts=True)
            best = vals[np.argmax(cnt)]
            share = cnt.max() / len(xy)
            ang = np.degrees(np.arccos(np.clip(abs(normals[best] @ n_true), -1, 1)))
            med = float(np.median(np.abs(dz[face == best])))
            recovered = share >= RECOVERY_SHARE and ang <= RECOVERY_ANGLE_DEG and med <= RECOVERY_DZ_M
        rows_p.append((pl.plane_id, str(pl.id), float(pl.area_m2), recovered))
    df_p = pd.DataFrame(rows_p, columns=["plane_id", "id", "area_m2", "recovered"])
    rows_b = []
    for bid in truth.building_ids():
        t = truth.city_objects[bid].get("attributes", {})
        m = model.city_objects.get(bid, {}).get("attributes", {})
        h_t, h_m = t.get("h_roof_70p_m"), m.get("h_roof_70p_m")
        err = abs(h_m - h_t) if h_m is not None and h_t is not None else np.nan
        d = np.concatenate(sq[bid]) if bid in sq else np.zeros(0)
        rmse = float(np.sqrt(np.nanmean(d**2))) if len(d) and np.isfinite(d).any() else np.nan
        cover = float(np.isfinite(d).mean()) if len(d) else np.nan
        rows_b.append((bid, h_t, h_m, err, rmse, cover, m.get("status"), m.get("rmse_lod22_m")))
    df_b = pd.DataFrame(rows_b, columns=["id", "h70_truth_m", "h70_built_m", "h70_abs_err_m", "roof_rmse_m",
                                         "roof_covered", "status", "rmse_lod22_m"])
    return {"buildings": df_b, "planes": df_p, "min_plane_m2": min_plane_m2}


def footprint_iou(truth: list[shapely.Polygon], extracted: list[shapely.Polygon]) -> np.ndarray:
    """Per true footprint, the largest IoU with any extracted footprint.

    Parameters
    ----------
    truth : list of Polygon
        True footprints (m true buildings).
    extracted : list of Polygon
        Footprints from :func:`lidar.footprints.extraction.extract_footprints`.

    Returns
    -------
    (m,) float64
        IoU in 0..1 (0 where no extracted footprint overlaps).
    """
    out = np.zeros(len(truth))
    if not len(truth) or not len(extracted):
        return out
    ext = np.asarray(extracted, dtype=object)
    ti, ei = shapely.STRtree(ext).query(np.asarray(truth, dtype=object), predicate="intersects")
    if ti.size:
        a, b = np.asarray(truth, dtype=object)[ti], ext[ei]
        union = shapely.area(shapely.union(a, b))
        iou = np.where(union > 0, shapely.area(shapely.intersection(a, b)) / np.maximum(union, 1e-12), 0.0)
        np.maximum.at(out, ti, iou)
    return out
