"""Benchmark ``build_model``: time per building per core, points/s, peak memory.

Cases: the Delft AHN3 tiles with BGT footprints (../shared/data) and a large synthetic district.
Each case runs in its own process (one worker, so times are per core) and prints one row.

    .venv/bin/python benchmarks/build.py                 # both cases
    .venv/bin/python benchmarks/build.py --case delft
    .venv/bin/python benchmarks/build.py --case synth --size-m 600 --workdir /tmp/bench_synth
    .venv/bin/python benchmarks/build.py --case delft --spill       # force the spill path (lidar.spill)
    .venv/bin/python benchmarks/build.py --case synth --size-m 1200 --workdir /tmp/citymodel_bench_synth1200 --terrain
    .venv/bin/python benchmarks/build.py --case delft --no-hard-limit  # buildings in this process

Peak memory is the process's peak RSS (``ru_maxrss``), imports included (about 350 MB); the
reconstruction runs in worker processes (``lidar._timelimit``, hard time limit), whose largest
peak RSS (``VmHWM``) is reported apart as ``peak_rss_worker_mb``.

Goal (issue 4): median <= 57 ms and mean <= 100 ms per building per core for LoD1.2+1.3+2.2.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ARGS = argparse.Namespace(spill=False, block_m=None, no_hard_limit=False)


def _case_delft(args) -> dict:
    from lidar.build import build_model

    laz = sorted((DATA / "delft_ahn3_bgt" / "ahn3").glob("*.laz"))
    fp = DATA / "delft_ahn3_bgt" / "bgt" / "bgt_pand.sqlite"
    return _run(lambda st: build_model(laz, footprints=fp, footprint_id_field="identificatiebagpnd", crs="EPSG:7415",
                                       progress=False, terrain=args.terrain, stats=st,
                                       hard_time_limit=not args.no_hard_limit))


def _case_synth(args) -> dict:
    from lidar.build import build_model

    out = Path(args.workdir)
    if not (out / "points.laz").exists():  # in a child process, so that its memory is not counted
        code = (f"from citymodel.synth import generate; generate({str(out)!r}, seed=7, size_m={args.size_m}, "
                f"density_pts_m2={args.density}, overwrite=True)")
        subprocess.run([sys.executable, "-c", code], check=True)
    return _run(lambda st: build_model([out / "points.laz"], footprints=out / "footprints.gpkg", footprint_id_field="id",
                                       progress=False, terrain=args.terrain, stats=st,
                                       hard_time_limit=not args.no_hard_limit))


def _worker_peak_mb() -> float:
    """Largest peak RSS (VmHWM) of the live reconstruction workers (lidar._timelimit) [MB]."""
    from lidar.execution._timelimit import kept_pools

    peak = 0.0
    for r in kept_pools():
        for w in r.workers:
            try:
                for line in Path(f"/proc/{w.proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) / 1024)
            except OSError:
                pass
    return peak


def _run(fn) -> dict:
    import numpy as np

    import lidar.build as lb

    if ARGS.spill:  # every input through the streaming spill into blocks, whatever its size
        lb.SINGLE_READ_POINTS = 0
    if ARGS.block_m is not None:
        lb.BLOCK_M = ARGS.block_m

    # warm-up: numba kernels load from cache / compile once, outside the timing
    from lidar.roofplanes import detect_roof_planes

    rng = np.random.default_rng(0)
    detect_roof_planes(np.column_stack([rng.uniform(0, 10, (200, 2)), rng.normal(0, 0.01, 200)]))
    st: dict = {}
    t0 = time.perf_counter()
    model = fn(st)
    wall = time.perf_counter() - t0
    cpu_ms = 1000 * np.asarray(st["cpu_seconds_per_building"])
    wall_ms = 1000 * np.asarray(st["seconds_per_building"])
    return {
        "buildings": len(model.building_ids()),
        "statuses": st["statuses"],
        "median_cpu_ms_per_building": float(np.median(cpu_ms)),
        "mean_cpu_ms_per_building": float(np.mean(cpu_ms)),
        "p95_cpu_ms_per_building": float(np.percentile(cpu_ms, 95)),
        "median_wall_ms_per_building": float(np.median(wall_ms)),
        "mean_wall_ms_per_building": float(np.mean(wall_ms)),
        "points": int(st["n_points_in_files"]),
        "total_s": wall,
        "points_per_s": st["n_points_in_files"] / wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_worker_mb": _worker_peak_mb(),
        "spill": bool(st["spilled"]),
        "terrain": {k: v for k, v in st.get("terrain", {}).items() if k != "history"},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=["delft", "synth"], default=None)
    ap.add_argument("--size-m", type=float, default=600.0, help="side of the synthetic district [m]")
    ap.add_argument("--density", type=float, default=12.0, help="synthetic LiDAR density [pts/m2]")
    ap.add_argument("--workdir", default="/tmp/citymodel_bench_synth")
    ap.add_argument("--terrain", action="store_true", help="include the terrain TIN in the end-to-end time")
    ap.add_argument("--spill", action="store_true", help="force the spill path (lidar.spill) for any input size")
    ap.add_argument("--block-m", type=float, default=None, help="block side [m] (default lidar.build.BLOCK_M)")
    ap.add_argument("--no-hard-limit", action="store_true",
                    help="reconstruct in this process (cooperative time limit only), as before the hard limit")
    args = ap.parse_args()
    global ARGS
    ARGS = args
    if args.case is not None:
        res = _case_delft(args) if args.case == "delft" else _case_synth(args)
        print(json.dumps(res))
        return
    rows = []
    for case in ("delft", "synth"):
        cmd = [sys.executable, __file__, "--case", case, "--size-m", str(args.size_m), "--density", str(args.density),
               "--workdir", args.workdir] + (["--terrain"] if args.terrain else []) + (["--spill"] if args.spill else []) \
            + (["--block-m", str(args.block_m)] if args.block_m is not None else []) \
            + (["--no-hard-limit"] if args.no_hard_limit else [])
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{case}: failed\n{out.stderr[-2000:]}")
            continue
        rows.append((case, json.loads(out.stdout.strip().splitlines()[-1])))
    print(f"{'case':6} {'bldgs':>6} {'med ms':>7} {'mean ms':>8} {'p95 ms':>7} {'pts/s':>10} {'total s':>8} {'peak MB':>8}  statuses")
    for case, r in rows:
        print(f"{case:6} {r['buildings']:6d} {r['median_cpu_ms_per_building']:7.1f} {r['mean_cpu_ms_per_building']:8.1f} "
              f"{r['p95_cpu_ms_per_building']:7.1f} {r['points_per_s']:10.0f} {r['total_s']:8.1f} {r['peak_rss_mb']:8.0f}  "
              f"{r['statuses']}")
    print("(ms = CPU time per building in one process, LoD1.2 + LoD1.3 + LoD2.2; goal median <= 57, mean <= 100)")


if __name__ == "__main__":
    main()
