"""Accuracy of ``lidar.build.build_model`` on the synthetic district and on real AHN3 data.

``--case synth`` (default): for the full density, half the density and an unclassified file (with the orthophoto's NDVI),
prints the median absolute error of ``h_roof_70p_m``, the LoD2.2 roof RMSE against the true
planes (median and 90th percentile over buildings), the share of true roof planes of 10 m2 or
more recovered, the share of buildings built at every LoD, and whether every solid is valid.

``--case delft``: the 160 Delft BGT buildings (../shared/data): median, 90th percentile and mean
``rmse_lod22_m`` (RMS 3D distance of the roof points to the model), the number of buildings whose
LoD2.2 fits worse than their LoD1.2, the median |dh70| (70th percentile of the LoD2.2 roof height
under the roof points minus ``h_roof_70p_m`` of the points), the median |dV| (LoD2.2 volume
against footprint area times the mean roof point height above ground) and the objects the
validator rejects in the whole built model.

Usage::

    .venv/bin/python benchmarks/build_accuracy.py [--size-m 400] [--seed 7] [--workdir DIR]
    .venv/bin/python benchmarks/build_accuracy.py --case delft
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CASES = (
    ("full density", {"density_pts_m2": 12.0}, False),
    ("half density", {"density_pts_m2": 6.0}, False),
    ("unclassified + orthophoto", {"density_pts_m2": 12.0, "unclassified": True}, True),
)


def delft() -> None:
    """The real-data figures of ``--case delft`` (see the module docstring)."""
    from citymodel.validation import validate
    from lidar.build import build_model
    from lidar.footprints import read_footprints
    from lidar.reconstruct.building import reconstruct_building
    from lidar.reconstruct.extrude import signed_volume_m3

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lod22_breakdown import DATA, _roof_z, _tasks

    r22, r12, dh, dv, missing = [], [], [], [], 0
    for t in _tasks("delft"):
        res = reconstruct_building(t["geom"], t["roof"], t["gz"])
        a, sh = res.attributes, res.shells.get("2.2")
        if not sh:
            missing += 1
            continue
        r22.append(a["rmse_lod22_m"])
        r12.append(a["rmse_lod12_m"])
        dh.append(np.nanpercentile(_roof_z(sh, t["roof"][:, :2]), 70) - a["h_roof_70p_m"])
        v_ref = t["geom"].area * (np.mean(t["roof"][:, 2]) - a["h_ground_m"])
        dv.append(sum(signed_volume_m3(s.vertices, s.surfaces) for s in sh) / v_ref - 1.0)
    r22, r12, dh, dv = map(np.asarray, (r22, r12, dh, dv))
    d = DATA / "delft_ahn3_bgt"
    fps = read_footprints(d / "bgt" / "bgt_pand.sqlite", id_field="identificatiebagpnd", epsg=7415)
    model = build_model(sorted((d / "ahn3").glob("*.laz")), footprints=fps, crs="EPSG:7415", terrain=False,
                        progress=False)
    report = validate(model)
    invalid = {e.object_id for e in report.entries if e.severity == "error"}
    print(f"delft: {len(r22)} buildings with LoD2.2 ({missing} without) | rmse_lod22_m median {np.median(r22):.3f} m, "
          f"p90 {np.percentile(r22, 90):.3f} m, mean {np.mean(r22):.3f} m | LoD2.2 worse than LoD1.2: "
          f"{int(np.sum(r22 > r12))} | median |dh70| {np.median(np.abs(dh)):.3f} m | median |dV| "
          f"{100 * np.median(np.abs(dv)):.2f} % | objects with invalid solids: {len(invalid)}", flush=True)


def main() -> None:
    from citymodel import synth
    from citymodel.io.cityjson import read
    from citymodel.validation import validate
    from lidar.build import build_model
    from lidar.evaluate import compare_to_truth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=None, help="where the districts go (default: a temporary folder)")
    ap.add_argument("--case", choices=["synth", "delft"], default="synth")
    args = ap.parse_args()
    if args.case == "delft":
        delft()
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        for name, kw, use_ortho in CASES:
            o = synth.generate(work / name.replace(" ", "_").replace("+", "and"), seed=args.seed, size_m=args.size_m, **kw)
            t0 = time.perf_counter()
            model = build_model([o.laz], footprints=o.footprints, footprint_id_field="id", progress=False,
                                ortho=o.ortho if use_ortho else None, terrain=False)
            dt = time.perf_counter() - t0
            cmp = compare_to_truth(model, read(o.truth), o.truth_roofplanes_csv)
            b, p = cmp["buildings"], cmp["planes"]
            big = p[p.area_m2 >= cmp["min_plane_m2"]]
            print(f"{name}: {len(b)} buildings | median |h_roof_70p_m error| {np.nanmedian(b.h70_abs_err_m):.3f} m | "
                  f"LoD2.2 roof RMSE to the true planes median {np.nanmedian(b.roof_rmse_m):.3f} m, "
                  f"p90 {np.nanpercentile(b.roof_rmse_m, 90):.3f} m | planes >= {cmp['min_plane_m2']:g} m2 recovered "
                  f"{100 * big.recovered.mean():.1f} % | status ok {100 * (b.status == 'ok').mean():.1f} % | "
                  f"all solids valid: {validate(model).valid} | build {dt:.1f} s", flush=True)


if __name__ == "__main__":
    main()
