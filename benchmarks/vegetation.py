"""Benchmark: land cover and green areas (the build's vegetation step), seconds per hectare.

Usage::

    .venv/bin/python benchmarks/vegetation.py [--size-m 400] [--seed 7] [--workdir /tmp/citymodel_bench_veg]

Generates (or reuses, in ``--workdir``) the synthetic district at 12 pts/m2 with a 0.25 m RGBN
orthophoto, then times :func:`lidar.vegetation.build_step.add_vegetation` (read the points,
DTM, land cover at 0.5 m, orthophoto NDVI, PlantCover polygons, land-cover GeoTIFF) with and
without the orthophoto, and prints a markdown row per case: seconds, seconds per hectare, the
extrapolation to 1 km2 (linear in area: every step is per point or per cell), cell accuracy
against the truth.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/citymodel_bench_veg"))
    ap.add_argument("--tiled", action="store_true", help="force the tiled path (500 m tiles, points spilled once)")
    ap.add_argument("--no-ortho-run", action="store_true", help="only the run with the orthophoto")
    args = ap.parse_args()

    import laspy
    import numpy as np

    from citymodel.landcover import read_landcover
    from citymodel.model import CityModel
    from citymodel.synth import generate, make_district
    from citymodel.synth.landcover_truth import truth_landcover
    from lidar.footprints import read_footprints
    from lidar.vegetation import tiles
    from lidar.vegetation.build_step import VegetationOptions, add_vegetation

    out_dir = args.workdir / f"d{args.size_m:g}_s{args.seed}"
    if not (out_dir / "points.laz").exists():
        generate(out_dir, seed=args.seed, size_m=args.size_m, density_pts_m2=12.0, ortho_resolution_m=0.25)
    dist = make_district(seed=args.seed, size_m=args.size_m)
    truth, _ = truth_landcover(dist, 0.5)
    fps = [f.geometry for f in read_footprints(out_dir / "footprints.gpkg")]
    ha = args.size_m**2 / 1e4
    if args.tiled:
        tiles.MAX_POINTS_AT_ONCE = 0
    # warm the imports and numba kernels on a first small call, not timed
    add_vegetation(CityModel(vertices=np.zeros((0, 3)), city_objects={}, epsg=dist.epsg), out_dir / "points.laz",
                   options=VegetationOptions(), bounds=(dist.bounds[0], dist.bounds[1], dist.bounds[0] + 50,
                                                        dist.bounds[1] + 50))
    print("| case | area | points | time [s] | s/ha | 1 km2 (extrapolated) [s] | cell accuracy | cores |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [("LiDAR + 0.25 m RGBN ortho", out_dir / "ortho.tif"), ("LiDAR only", None)][:1 if args.no_ortho_run else 2]
    for label, ortho in cases:
        lc_path = out_dir / f"landcover_{'ortho' if ortho else 'lidar'}.tif"
        model = CityModel(vertices=np.zeros((0, 3)), city_objects={}, epsg=dist.epsg)
        t = time.perf_counter()
        s = add_vegetation(model, out_dir / "points.laz", options=VegetationOptions(landcover_out=lc_path),
                           footprints=fps, ortho=ortho, bounds=dist.bounds, overwrite=True)
        dt = time.perf_counter() - t
        codes, _ = read_landcover(lc_path)
        acc = float((codes == truth).mean()) if codes.shape == truth.shape else float("nan")
        with laspy.open(out_dir / "points.laz") as f:
            n_pts = f.header.point_count
        label += ", tiled" if args.tiled else ""
        print(f"| {label}, {s['plant_covers']} PlantCover | {args.size_m:g} m x {args.size_m:g} m ({ha:g} ha) | "
              f"{n_pts / 1e6:.2f} M | {dt:.1f} | {dt / ha:.3f} | {dt / ha * 100:.0f} | {acc:.4f} | {os.cpu_count()} |")


if __name__ == "__main__":
    main()
