"""Benchmark: the point-cloud side on the Delft AHN3 tiles (read, ground, DTM, TIN, classes, footprints).

Usage::

    .venv/bin/python benchmarks/pointcloud.py [--data ../shared/data] [--repeat 3] [--laz extra.laz]

Prints, per step, the best wall time of ``--repeat`` runs (numba kernels compiled before timing)
and points per second, plus the peak resident memory of the process (``ru_maxrss``; includes the
interpreter and imports). ``--laz`` adds a classified LAZ (e.g. a synthetic district's
points.laz) to time footprint extraction on.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def _best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--laz", type=Path, default=None)
    args = ap.parse_args()

    import numpy as np

    from lidar.classify import classify_points
    from lidar.dtm import height_above_ground, make_dtm
    from lidar.footprint_extraction import extract_footprints
    from lidar.ground import classify_ground
    from lidar.pointcloud import PointCloud, read_points
    from lidar.tin import simplify_tin

    d = args.data / "delft_ahn3_bgt" / "ahn3"
    tiles = [d / "ahn3_cropped_1.laz", d / "ahn3_cropped_2.laz"]
    # warm-up: compile the numba kernels and load the LAZ backend
    small = read_points(tiles, crs="EPSG:7415", bbox=(84950, 447500, 84980, 447530))
    classify_ground(small, method="smrf")
    simplify_tin(small.xyz[small.classification == 2], 0.2)
    make_dtm(small.xyz[small.classification == 2], 0.5)

    rows = []
    t, pc = _best(lambda: read_points(tiles, crs="EPSG:7415"), args.repeat)
    n = len(pc)
    rows.append(("read_points (2 Delft tiles, LAZ)", t, n))
    t, _ = _best(lambda: read_points(tiles, crs="EPSG:7415", bbox=(84900, 447450, 85000, 447550)), args.repeat)
    rows.append(("read_points with a 100 m bbox", t, n))
    for method in ("smrf", "csf"):
        t, g = _best(lambda m=method: classify_ground(pc, method=m), args.repeat)
        agree = float((g == (pc.classification == 2)).mean())
        rows.append((f"classify_ground {method} (agreement with AHN class 2: {agree:.3f})", t, n))
    ground = pc.xyz[pc.classification == 2]
    t, (grid, tr) = _best(lambda: make_dtm(ground, 0.5, bounds=pc.bounds), args.repeat)
    rows.append((f"make_dtm 0.5 m ({grid.shape[0]} x {grid.shape[1]})", t, len(ground)))
    t, _ = _best(lambda: height_above_ground(pc.xyz, grid, tr), args.repeat)
    rows.append(("height_above_ground", t, n))
    t, (v, tri) = _best(lambda: simplify_tin(ground, 0.2), args.repeat)
    rows.append((f"simplify_tin 0.2 m ({len(v)} vertices, {len(tri)} triangles)", t, len(ground)))
    unclassified = PointCloud.from_xyz(pc.xyz, epsg=pc.epsg, return_number=pc.return_number,
                                       number_of_returns=pc.number_of_returns)
    t, codes = _best(lambda: classify_points(unclassified), 1)
    b, ref = codes == 6, pc.classification == 6
    rows.append((f"classify_points (building precision {(b & ref).sum() / b.sum():.3f}, "
                 f"recall {(b & ref).sum() / ref.sum():.3f})", t, n))
    t, fps = _best(lambda: extract_footprints(pc), 1)
    rows.append((f"extract_footprints ({len(fps)} footprints)", t, int((pc.classification == 6).sum())))
    if args.laz is not None:
        syn = read_points([args.laz])
        t, fps = _best(lambda: extract_footprints(syn), 1)
        rows.append((f"extract_footprints {args.laz.name} ({len(fps)} footprints)", t,
                     int((syn.classification == 6).sum())))

    print(f"{'step':<72} {'s':>8} {'points':>10} {'points/s':>12}")
    for name, t, npts in rows:
        print(f"{name:<72} {t:8.3f} {npts:10d} {npts / t:12.0f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB; numpy {np.__version__}")


if __name__ == "__main__":
    main()
