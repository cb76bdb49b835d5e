"""Benchmark: footprints extracted without footprints on the synthetic district, IoU per building.

Usage::

    .venv/bin/python benchmarks/footprints.py [--size-m 400] [--seed 7] [--workdir /tmp/citymodel_bench_fp]

Generates (or reuses, in ``--workdir``) the district at 12 and 6 pts/m2, classified and
unclassified, runs :func:`lidar.footprint_extraction.extract_footprints` with and without the
orthophoto (and once without the party-wall split) and prints, per case, the median IoU per true
building (:func:`lidar.evaluate.footprint_iou`) overall and for detached, terraced and courtyard
houses, the share at IoU >= 0.9, the number of footprints and the wall time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/citymodel_bench_fp"))
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    import pyogrio
    import shapely

    from citymodel.synth import generate
    from lidar.evaluate import footprint_iou
    from lidar.footprint_extraction import extract_footprints
    from lidar.pointcloud import read_points

    print("| input | split | all | detached | terraced | courtyard | IoU>=0.9 | footprints | time [s] |")
    print("|---|---|---|---|---|---|---|---|---|")
    for density in (12.0, 6.0):
        for unclassified in (False, True):
            name = f"d{args.size_m:g}_s{args.seed}_{density:g}{'_u' if unclassified else ''}"
            out_dir = args.workdir / name
            if (out_dir / "points.laz").exists():
                laz, ortho, fp_path, csv = (out_dir / n for n in ("points.laz", "ortho.tif", "footprints.gpkg",
                                                                  "truth_buildings.csv"))
            else:
                o = generate(out_dir, seed=args.seed, size_m=args.size_m, density_pts_m2=density,
                             unclassified=unclassified)
                laz, ortho, fp_path, csv = o.laz, o.ortho, o.footprints, o.truth_buildings_csv
            _, _, wkb, fields = pyogrio.raw.read(fp_path)
            truth = list(shapely.from_wkb(wkb))
            kind = pd.read_csv(csv).groupby("id").building_kind.first().reindex(fields[0]).to_numpy()
            pc = read_points([laz])
            cases = [("ortho", True, ortho), ("no ortho", True, None)]
            if density == 12.0 and not unclassified:
                cases.append(("no ortho", False, None))
            for label, split, o_path in cases:
                t = time.perf_counter()
                fps = extract_footprints(pc, ortho=o_path, party_walls=split)
                seconds = time.perf_counter() - t
                iou = footprint_iou(truth, fps)
                per = " | ".join(f"{np.median(iou[kind == k]):.3f}" for k in ("detached", "terraced", "courtyard"))
                what = f"{density:g} pts/m2, {'unclassified' if unclassified else 'classified'}, {label}"
                print(f"| {what} | {'yes' if split else 'no'} | {np.median(iou):.3f} | {per} | "
                      f"{np.mean(iou >= 0.9):.2f} | {len(fps)} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
