"""Accuracy of ``lidar.build.build_model`` on the synthetic district against its exact truth.

For the full density, half the density and an unclassified file (with the orthophoto's NDVI),
prints the median absolute error of ``h_roof_70p_m``, the LoD2.2 roof RMSE against the true
planes (median and 90th percentile over buildings), the share of true roof planes of 10 m2 or
more recovered, the share of buildings built at every LoD, and whether every solid is valid.

Usage::

    .venv/bin/python benchmarks/build_accuracy.py [--size-m 400] [--seed 7] [--workdir DIR]
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
    args = ap.parse_args()
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
