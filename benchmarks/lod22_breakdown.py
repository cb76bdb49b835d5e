"""Where the LoD2.2 roof error on real AHN data comes from, building by building.

Each building of the Delft AHN3 tiles (160 BGT footprints) and of the Amsterdam AHN tiles (BAG
footprints) is reconstructed as the build does it (the same point selection and
:func:`lidar.reconstruct.building.reconstruct_building`). Every roof point farther than
``BAD_M`` from the LoD2.2 model is a *bad point*; each bad point gets one cause, decided from
the data by these rules, first match wins:

1. **overhanging tree**: not the last return of its pulse (``return_number <
   number_of_returns``), above the model and at least ``EDGE_M`` inside the footprint;
2. **wall point counted as roof**: within ``EDGE_M`` of the footprint outline and below the
   model's roof (a facade, gutter or balcony point inside the footprint);
3. **higher roof over the footprint edge**: within ``EDGE_M`` of the outline and above the
   model (the eaves of a neighbour or of the building itself reaching over the footprint);
4. **step edge (partition boundary)**: within ``STEP_M`` of an inner wall of the model (a
   height step between two roof faces), so the boundary between the faces is off;
5. **missed small plane**: the bad points around it (``CLUSTER_M``) form a cluster of at least
   ``MIN_CLUSTER`` points that is planar (RMS residual to its own plane under ``PLANAR_M``): a
   dormer, chimney, superstructure or low parapet no plane was made for;
6. **over-merged planes**: the point belongs to a detected plane
   (:func:`lidar.reconstruct.roofplanes.detect_roof_planes`) whose RMS residual exceeds
   ``MERGED_M`` (two roof parts fitted by one plane);
7. **isolated point** otherwise (noise, an antenna).

A building's cause is the one whose bad points carry the largest share of its squared
distances. The table gives, per cause, the number of buildings whose ``rmse_lod22_m`` exceeds
``BAD_BUILDING_M``, their median and 90th percentile ``rmse_lod22_m``, and the cause's share of
all squared distances. The ten worst buildings are rendered off screen (PyVista), points
coloured by their distance to the model, into ``docs/images/lod22_worst/``.

    VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow .venv/bin/python benchmarks/lod22_breakdown.py
    .venv/bin/python benchmarks/lod22_breakdown.py --no-render --case delft
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("CITYMODEL_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "docs" / "images" / "lod22_worst"

#: A point farther than this from the model is a bad point [m].
BAD_M = 0.2
#: A building with rmse_lod22_m above this counts in the table [m].
BAD_BUILDING_M = 0.2
#: Points this close to the footprint outline are edge points [m].
EDGE_M = 0.5
#: Points this close to an inner step wall are step-edge points [m].
STEP_M = 0.8
#: Bad points within this distance of each other form one cluster [m].
CLUSTER_M = 1.0
#: Smallest cluster that could have been a plane (points).
MIN_CLUSTER = 4
#: A cluster with an RMS residual to its own plane under this is planar [m].
PLANAR_M = 0.1
#: A detected plane with an RMS residual above this has merged two roof parts [m].
MERGED_M = 0.08

CAUSES = ("overhanging tree", "wall point counted as roof", "higher roof over the footprint edge",
          "step edge (partition boundary)", "missed small plane", "over-merged planes", "isolated point")


def _tasks(case: str) -> list[dict]:
    """Per building: id, footprint, roof points with their returns, ground heights."""
    from lidar.footprints import read_footprints
    from lidar.points.pointcloud import ASPRS_BUILDING, ASPRS_GROUND, read_points
    from lidar.points.select import GridIndex, select_footprint_points

    if case == "delft":
        laz = sorted((DATA / "delft_ahn3_bgt" / "ahn3").glob("*.laz"))
        fps = read_footprints(DATA / "delft_ahn3_bgt" / "bgt" / "bgt_pand.sqlite", id_field="identificatiebagpnd",
                              epsg=7415)
    else:
        laz = sorted((DATA / "amsterdam_ahn_tiles").glob("*.laz"))
        fps = read_footprints(DATA / "amsterdam_ahn_tiles" / "bag_buildings_demo.csv")
    pc = read_points(laz, crs="EPSG:7415")
    idx = GridIndex(pc.xyz[:, :2])
    ground = pc.classification == ASPRS_GROUND
    building = pc.classification == ASPRS_BUILDING
    out = []
    for f in fps:
        if not f.usable:
            continue
        ins, ring = select_footprint_points(idx, f.geometry, 3.0)  # as lidar.execution.run
        r = ins[building[ins]]
        if len(r) < 10:
            continue
        order = np.lexsort((pc.xyz[r, 2], pc.xyz[r, 1], pc.xyz[r, 0]))  # the order reconstruct_building uses
        r = r[order]
        out.append(dict(id=f.id, geom=f.geometry, roof=pc.xyz[r], multi=pc.return_number[r] < pc.number_of_returns[r],
                        gz=pc.xyz[np.concatenate([ins[ground[ins]], ring[ground[ring]]]), 2]))
    return out


def _roof_z(shells, xy: np.ndarray) -> np.ndarray:
    """Height [m] of the model's roof above each point ``(n, 2)`` (NaN where none)."""
    from lidar.reconstruct.extrude import ROOF

    polys, planes = [], []
    for sh in shells:
        for rings, sem in zip(sh.surfaces, sh.semantic, strict=True):
            if sem != ROOF:
                continue
            p = sh.vertices[rings[0]]
            q = np.roll(p, -1, axis=0)
            n = np.array([np.sum((p[:, 1] - q[:, 1]) * (p[:, 2] + q[:, 2])),
                          np.sum((p[:, 2] - q[:, 2]) * (p[:, 0] + q[:, 0])),
                          np.sum((p[:, 0] - q[:, 0]) * (p[:, 1] + q[:, 1]))])
            if abs(n[2]) < 1e-9:
                continue
            polys.append(shapely.Polygon(p[:, :2], [sh.vertices[h][:, :2] for h in rings[1:]]))
            planes.append((n, p.mean(axis=0)))
    out = np.full(len(xy), np.nan)
    if not polys:
        return out
    pi, fi = shapely.STRtree(polys).query(shapely.points(xy), predicate="intersects")
    for p, f in zip(pi, fi, strict=True):
        n, c = planes[f]
        out[p] = c[2] - (n[0] * (xy[p, 0] - c[0]) + n[1] * (xy[p, 1] - c[1])) / n[2]
    return out


def _step_lines(shells, footprint) -> shapely.Geometry:
    """The inner walls of the model (height steps between roof faces) as 2D lines."""
    from lidar.reconstruct.extrude import WALL

    segs = []
    outline = footprint.boundary
    for sh in shells:
        for rings, sem in zip(sh.surfaces, sh.semantic, strict=True):
            if sem != WALL:
                continue
            xy = np.unique(np.round(sh.vertices[rings[0]][:, :2], 4), axis=0)
            if len(xy) < 2:
                continue
            line = shapely.LineString(xy[[0, -1]])
            if shapely.distance(line.centroid, outline) > 0.05:
                segs.append(line)
    return shapely.union_all(segs) if segs else shapely.GeometryCollection()


def _planar_clusters(xyz: np.ndarray) -> np.ndarray:
    """Per point of ``xyz`` (bad points): True when its cluster could have been a plane."""
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    out = np.zeros(len(xyz), dtype=bool)
    if len(xyz) < MIN_CLUSTER:
        return out
    g = cKDTree(xyz[:, :2]).sparse_distance_matrix(cKDTree(xyz[:, :2]), CLUSTER_M)
    _, comp = connected_components(g, directed=False)
    for c in np.unique(comp):
        m = comp == c
        if m.sum() < MIN_CLUSTER:
            continue
        p = xyz[m] - xyz[m].mean(axis=0)
        a = np.column_stack([p[:, 0], p[:, 1], np.ones(len(p))])
        coef, *_ = np.linalg.lstsq(a, p[:, 2], rcond=None)
        out[m] = np.sqrt(np.mean((p[:, 2] - a @ coef) ** 2)) < PLANAR_M
    return out


def analyse(task: dict) -> dict:
    """Reconstruct one building and give each bad point its cause (see the module docstring)."""
    from lidar.reconstruct.building import reconstruct_building
    from lidar.reconstruct.distance import point_shell_distance_m
    from lidar.reconstruct.roofplanes import detect_roof_planes

    res = reconstruct_building(task["geom"], task["roof"], task["gz"])
    a = res.attributes
    shells = res.shells.get("2.2")
    pts = task["roof"]
    if not shells:
        return dict(id=task["id"], rmse=np.nan, rmse12=a.get("rmse_lod12_m"), cause=None, ss={}, shells=None,
                    d=None, pts=pts, status=a.get("status_reason"))
    d = point_shell_distance_m(pts, shells)
    dz = pts[:, 2] - _roof_z(shells, pts[:, :2])
    dz = np.where(np.isnan(dz), 0.0, dz)
    pp = shapely.points(pts[:, :2])
    db = shapely.distance(task["geom"].boundary, pp)
    steps = _step_lines(shells, task["geom"])
    ds = shapely.distance(steps, pp) if not steps.is_empty else np.full(len(pts), np.inf)
    bad = d > BAD_M
    cause = np.full(len(pts), -1)
    rules = [task["multi"] & (dz > 0) & (db >= EDGE_M), (db < EDGE_M) & (dz <= 0), (db < EDGE_M) & (dz > 0),
             ds < STEP_M]
    for k, rule in enumerate(rules):
        cause[bad & (cause < 0) & rule] = k
    left = np.flatnonzero(bad & (cause < 0))
    if len(left):
        planar = _planar_clusters(pts[left])
        cause[left[planar]] = 4
        planes = detect_roof_planes(pts)
        lab = planes.labels[left]
        merged = (lab >= 0) & (planes.rmse_m[np.maximum(lab, 0)] > MERGED_M) & ~planar
        cause[left[merged]] = 5
        cause[left[(cause[left] < 0)]] = 6
    ss = {CAUSES[k]: float(np.sum(d[cause == k] ** 2)) for k in range(len(CAUSES))}
    top = max(ss, key=ss.get) if bad.any() else None
    return dict(id=task["id"], rmse=a["rmse_lod22_m"], rmse12=a["rmse_lod12_m"], cause=top, ss=ss, total=float(np.sum(d**2)),
                shells=shells, d=d, pts=pts, status=a.get("status_reason"))


def table(rows: list[dict]) -> str:
    """The breakdown as a Markdown table."""
    rmse = np.array([r["rmse"] for r in rows], dtype=float)
    tot = sum(r.get("total", 0.0) for r in rows) or 1.0
    lines = [f"| cause | buildings (rmse_lod22_m > {BAD_BUILDING_M:.2f} m) | median rmse_lod22_m [m] | "
             "p90 rmse_lod22_m [m] | share of all squared distances |", "|---|---|---|---|---|"]
    for c in CAUSES:
        sel = np.array([r["cause"] == c and r["rmse"] > BAD_BUILDING_M for r in rows])
        share = sum(r["ss"].get(c, 0.0) for r in rows) / tot
        med = f"{np.median(rmse[sel]):.3f}" if sel.any() else "-"
        p90 = f"{np.percentile(rmse[sel], 90):.3f}" if sel.any() else "-"
        lines.append(f"| {c} | {int(sel.sum())} | {med} | {p90} | {100 * share:.1f} % |")
    ok = np.isfinite(rmse)
    lines.append(f"| all {int(ok.sum())} buildings | {int(np.sum(rmse[ok] > BAD_BUILDING_M))} | {np.median(rmse[ok]):.3f} | "
                 f"{np.percentile(rmse[ok], 90):.3f} | 100 % |")
    return "\n".join(lines)


def render(row: dict, case: str, out: Path) -> Path:
    """One PNG: the LoD2.2 model (grey) and its roof points coloured by distance to it."""
    import pyvista as pv

    from lidar.reconstruct.distance import shell_triangles
    v, t = shell_triangles(row["shells"])
    o = v.min(axis=0)
    mesh = pv.PolyData(v - o, np.column_stack([np.full(len(t), 3), t]).ravel())
    cloud = pv.PolyData(row["pts"] - o)
    cloud["distance from roof point to the LoD2.2 model [m]"] = row["d"]
    p = pv.Plotter(off_screen=True, window_size=(900, 700))
    p.set_background("white")
    p.add_mesh(mesh, color="lightgrey", opacity=0.6)
    p.add_mesh(cloud, scalars="distance from roof point to the LoD2.2 model [m]", cmap="magma_r", clim=(0.0, 1.0),
               render_points_as_spheres=True, point_size=7,
               scalar_bar_args=dict(title="distance from roof point to the LoD2.2 model [m]", color="black",
                                    fmt="%.1f", n_labels=6, position_x=0.2, width=0.6))
    p.add_text(f"{case} building {row['id']}: rmse_lod22_m {row['rmse']:.2f} m (LoD1.2 {row['rmse12']:.2f} m)\n"
               f"main cause: {row['cause']}", font_size=10, color="black")
    p.camera_position = "iso"
    p.camera.azimuth = 30
    p.camera.elevation = 10
    out.parent.mkdir(parents=True, exist_ok=True)
    p.screenshot(str(out))
    p.close()
    return out


def main() -> None:
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # headless
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["delft", "amsterdam", "both"], default="both")
    ap.add_argument("--no-render", action="store_true", help="print the table only")
    ap.add_argument("--out", type=Path, default=OUT, help="folder of the renders of the ten worst buildings")
    args = ap.parse_args()
    cases = ("delft", "amsterdam") if args.case == "both" else (args.case,)
    for case in cases:
        rows = [analyse(t) for t in _tasks(case)]
        print(f"\n{case}: LoD2.2 error causes (bad point: farther than {BAD_M:g} m from the model)\n")
        print(table(rows))
        worst = sorted((r for r in rows if np.isfinite(r["rmse"])), key=lambda r: -r["rmse"])[:10]
        print(f"\n{case}: ten worst buildings")
        for r in worst:
            print(f"  {r['id']}: rmse_lod22_m {r['rmse']:.3f} m, rmse_lod12_m {r['rmse12']:.3f} m, cause: {r['cause']}; "
                  + ", ".join(f"{k} {100 * v / r['total']:.0f} %" for k, v in r["ss"].items() if v > 0.05 * r["total"])
                  + (f" [{r['status']}]" if r["status"] else ""))
            if not args.no_render:
                render(r, case, args.out / f"{case}_{r['id']}.png")
    if not args.no_render:
        print(f"\nrenders in {args.out}")


if __name__ == "__main__":
    main()
