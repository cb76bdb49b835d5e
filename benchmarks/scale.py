"""City-scale build benchmark (issue #18): a synthetic city of up to 100 million points, built tile by tile.

The city is generated tile by tile on the fly (:func:`generate_city`: a fast numpy generator, no
Python loop over points): buildings on a grid of 45 m lots (a rectangle of 10-20 m x 8-16 m per
lot, flat or gable roof, 5-20 m high), ground on a gentle slope, 12 pts/m2, classified (2 ground,
6 building), written as LAS files of 540 m x 540 m (3.5 M points each) with the footprints as an
(n, 4) box array. Then ``build_model`` runs on all files in a fresh process, once with 1 worker
and once with 2 (``--workers``), tile size from the point density (logged), and the benchmark
prints points/s end to end (spill, reconstruction, assembly), the peak memory of the whole process
tree (the build and its worker processes, sampled every 0.2 s with psutil; goal < 6 GB) and the
speed-up of 2 workers over 1 (goal >= 1.7 on 2 cores).

    .venv/bin/python benchmarks/scale.py --points 20e6            # generate, build with 1 and 2 workers
    .venv/bin/python benchmarks/scale.py --points 100e6 --keep /tmp/city100m
    .venv/bin/python benchmarks/scale.py --points 20e6 --write-doc   # also docs/benchmarks.md

The build part lives in functions (:func:`generate_city`, :func:`build_case`,
:func:`estimate_city`), so that other parts (the solar solver) can sit beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Side of each generated LAS file [m], a multiple of the lot.
FILE_M = 540.0
#: Side of a building lot [m].
LOT_M = 45.0
DENSITY_PTS_M2 = 12.0


# ----------------------------------------------------------------------------- the city
def _lots(i0: int, j0: int, n: int, seed: int) -> np.ndarray:
    """(n*n, 7) lots from lot (i0, j0): xc, yc, half width, half depth, height, gable (0/1), pitch.
    Each lot's building depends only on its index (and the seed), not on the file."""
    ii, jj = np.meshgrid(np.arange(i0, i0 + n), np.arange(j0, j0 + n), indexing="ij")
    key = (ii.ravel().astype(np.int64) * 1_000_003 + jj.ravel().astype(np.int64)) ^ seed
    u = _hash_uniform(key, 6)
    hw, hd = 5 + 5 * u[:, 0], 4 + 4 * u[:, 1]
    xc = (ii.ravel() + 0.5) * LOT_M + (u[:, 2] - 0.5) * (LOT_M - 2 * hw - 6)
    yc = (jj.ravel() + 0.5) * LOT_M + (u[:, 3] - 0.5) * (LOT_M - 2 * hd - 6)
    return np.column_stack([xc, yc, hw, hd, 5 + 15 * u[:, 4], (u[:, 5] > 0.5), 0.3 + 0.4 * u[:, 4]])


def _hash_uniform(key: np.ndarray, k: int) -> np.ndarray:
    """(n, k) uniforms in [0, 1) from integer keys (splitmix64), the same for a lot in every file."""
    out = np.empty((len(key), k))
    z = key.astype(np.uint64)
    with np.errstate(over="ignore"):
        for c in range(k):
            z = z + np.uint64(0x9E3779B97F4A7C15)
            x = z
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
            out[:, c] = (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return out


def _ground_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.004 * x + 2.0 * np.sin(y / 300.0)


def generate_city(folder: str | os.PathLike, n_points: float, seed: int = 1) -> tuple[list[Path], Path, dict]:
    """Write a synthetic city of about ``n_points`` points as LAS files of :data:`FILE_M` [m].

    Returns
    -------
    files : list of Path
        The LAS files.
    footprints : Path
        ``footprints.npy``: (n, 4) boxes (xmin, ymin, xmax, ymax) [m] in EPSG:32632.
    info : dict
        Points, files, buildings, area [km2], seconds.
    """
    import laspy

    t0 = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    per_file = DENSITY_PTS_M2 * FILE_M**2
    n_side = max(1, math.ceil(math.sqrt(n_points / per_file)))
    n_files = max(1, round(n_points / per_file))
    x0, y0 = 680_400.0, 4_920_480.0  # UTM 32N, a Bologna-like place; multiples of FILE_M and LOT_M
    nl = int(FILE_M // LOT_M)
    files, boxes, n_total = [], [], 0
    for f in range(n_files):
        fi, fj = f % n_side, f // n_side
        rng = np.random.default_rng([seed, fi, fj])
        n = int(per_file)
        lots = _lots(int((x0 + fi * FILE_M) // LOT_M), int((y0 + fj * FILE_M) // LOT_M), nl, seed)
        bx0, by0 = x0 + fi * FILE_M, y0 + fj * FILE_M
        x = bx0 + rng.uniform(0, FILE_M, n)
        y = by0 + rng.uniform(0, FILE_M, n)
        lot = (np.floor((x - bx0) / LOT_M).astype(np.int64).clip(0, nl - 1) * nl
               + np.floor((y - by0) / LOT_M).astype(np.int64).clip(0, nl - 1))
        L = lots[lot]
        dx, dy = np.abs(x - L[:, 0]), np.abs(y - L[:, 1])
        inside = (dx < L[:, 2]) & (dy < L[:, 3])
        g = _ground_z(x, y)
        roof = g + L[:, 4] + np.where(L[:, 5] > 0, L[:, 6] * (L[:, 3] - dy), 0.0)
        z = np.where(inside, roof, g) + rng.normal(0, 0.03, n)
        h = laspy.LasHeader(point_format=1, version="1.2")
        h.scales, h.offsets = np.array([0.01, 0.01, 0.01]), np.array([bx0, by0, 0.0])
        h.add_crs(_crs())
        las = laspy.LasData(h)
        las.x, las.y, las.z = x, y, z
        las.classification = np.where(inside, 6, 2).astype(np.uint8)
        las.return_number = np.ones(n, np.uint8)
        las.number_of_returns = np.ones(n, np.uint8)
        p = folder / f"tile_{fi}_{fj}.las"
        las.write(str(p))
        files.append(p)
        boxes.append(np.column_stack([lots[:, 0] - lots[:, 2], lots[:, 1] - lots[:, 3],
                                      lots[:, 0] + lots[:, 2], lots[:, 1] + lots[:, 3]]))
        n_total += n
    fp = folder / "footprints.npy"
    np.save(fp, np.vstack(boxes))
    info = {"points": n_total, "files": len(files), "buildings": int(sum(len(b) for b in boxes)),
            "area_km2": n_total / DENSITY_PTS_M2 / 1e6, "seconds": time.perf_counter() - t0}
    return files, fp, info


def _crs():
    import pyproj

    return pyproj.CRS.from_epsg(32632)


# ----------------------------------------------------------------------------- one build
def _child(folder: str, workers: int, terrain: bool) -> None:
    """In a fresh process: build every file of ``folder``; print the figures as JSON."""
    import shapely

    import lidar.build as lb

    files = sorted(Path(folder).glob("tile_*.las"))
    fps = [shapely.box(*b) for b in np.load(Path(folder) / "footprints.npy")]
    st: dict = {}
    t0 = time.perf_counter()
    model = lb.build_model(files, footprints=fps, workers=workers, terrain=terrain, progress=False, stats=st)
    wall = time.perf_counter() - t0
    import psutil

    me = psutil.Process()
    main_cpu = sum(me.cpu_times()[:2])
    per_child = []  # the worker processes (and the forkserver that starts them)
    for c in me.children(recursive=True):
        try:
            per_child.append(round(sum(c.cpu_times()[:2]), 2))
        except psutil.Error:
            pass
    workers_cpu = sum(per_child)
    print(json.dumps({"seconds": wall, "main_cpu_s": main_cpu, "workers_cpu_s": workers_cpu, "cpu_per_child_s": per_child, "points": st["n_points_in_files"], "buildings": len(model.building_ids()),
                      "statuses": st["statuses"], "tiles": len(st["tiles"]), "tile_size_m": st["tile_size_m"],
                      "tile_size_reason": st["tile_size_reason"],
                      "failed_tiles": len(st["failed_tiles"]), "phases": st["phase_seconds"],
                      # the tiles' summed wall time over (workers x the tiles phase): below 100 %, a
                      # worker waited (for the main process, or for the last tiles at the end)
                      "tiles_busy_pct": 100 * sum(t["seconds"] for t in st["tiles"])
                      / max(1e-9, workers * st["phase_seconds"]["tiles"]["wall_s"])}))


def _tree_rss_bytes(pid: int) -> int:
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def build_case(folder: str | os.PathLike, workers: int, terrain: bool = False) -> dict:
    """Build the city of ``folder`` in a fresh process with ``workers``; its figures plus
    ``peak_tree_mb`` (the largest summed RSS of the process and its children [MB]) and
    ``points_per_s`` (end to end, imports excluded)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, __file__, "--_child", str(folder), "--workers", str(workers)]
                            + (["--terrain"] if terrain else []), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_bytes(proc.pid))
            time.sleep(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    t.join()
    if proc.returncode != 0:
        raise RuntimeError(f"build with {workers} workers failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(workers=workers, peak_tree_mb=peak[0] / 2**20, points_per_s=res["points"] / res["seconds"])
    return res


# ----------------------------------------------------------------------------- a whole city
def estimate_city(points_per_cpu_s: float, area_km2: float = 140.0, density_pts_m2: float = 12.0,
                  nodes: tuple[int, ...] = (1, 4, 16, 64), cores_per_node: int = 2,
                  efficiency: float = 0.8) -> list[dict]:
    """Time to build a city of ``area_km2`` at ``density_pts_m2`` on clusters of small nodes.

    Method: the city's points / (measured points per CPU-second of the whole build, the main
    process and its workers together, x cores x ``efficiency``). CPU seconds rather than wall
    time, because the shared benchmark machine gives a run only part of its 2 cores; tiles are
    independent (no communication but the inputs and the outputs), so the cluster scales with
    its cores until the shared file system saturates. ``efficiency`` (0.8) allows for the serial
    part per node (a tile is read and split by one process), tile imbalance and the scheduler: a
    guess, not a measure.
    """
    n = area_km2 * 1e6 * density_pts_m2
    return [{"nodes": k, "cores": k * cores_per_node,
             "hours": n / (points_per_cpu_s * k * cores_per_node * efficiency) / 3600.0} for k in nodes]


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _write_doc(text: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    head = "## City-scale build: `benchmarks/scale.py` (build part)"
    s = doc.read_text(encoding="utf-8")
    if head in s:
        a = s.index(head)
        b = s.find("\n## ", a + len(head))
        s = s[:a] + text.rstrip() + "\n" + (s[b:] if b >= 0 else "")
    else:
        s = s.rstrip() + "\n\n" + text.rstrip() + "\n"
    doc.write_text(s, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=float, default=20e6, help="points of the synthetic city (default 20e6)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run (default 1 2)")
    ap.add_argument("--terrain", action="store_true", help="also the terrain TIN (off: buildings only)")
    ap.add_argument("--keep", default=None, help="generate into (or reuse) this folder instead of a temporary one")
    ap.add_argument("--write-doc", action="store_true", help="write the figures into docs/benchmarks.md")
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child is not None:
        _child(args._child, args.workers[0], args.terrain)
        return
    with tempfile.TemporaryDirectory(prefix="citymodel_scale_") as tmp:
        folder = Path(args.keep or tmp)
        if (folder / "footprints.npy").exists():
            files = sorted(folder.glob("tile_*.las"))
            gen = {"points": None, "files": len(files), "seconds": 0.0, "reused": True}
        else:
            files, _, gen = generate_city(folder, args.points)
        print(f"city: {json.dumps(gen)} (load {_load()})", flush=True)
        rows = []
        for w in args.workers:
            load = _load()
            r = build_case(folder, w, args.terrain)
            r["load_before"] = load
            rows.append(r)
            print(json.dumps(r), flush=True)
    by_w = {r["workers"]: r for r in rows}
    speedup = by_w[1]["seconds"] / by_w[2]["seconds"] if 1 in by_w and 2 in by_w else None
    per_cpu = max(r["points"] / (r["main_cpu_s"] + r["workers_cpu_s"]) for r in rows)
    est = estimate_city(per_cpu)
    lines = [f"{r['workers']} worker(s): {r['points'] / 1e6:.1f} M points, {r['buildings']} buildings "
             f"({r['statuses']}), {r['tiles']} tiles of {r['tile_size_m']} m, {r['seconds']:.0f} s, "
             f"{r['points_per_s'] / 1e6:.2f} M points/s, CPU {r['main_cpu_s']:.0f} s main + {r['workers_cpu_s']:.0f} s "
             f"workers ({' + '.join(f'{c:.0f}' for c in sorted(r['cpu_per_child_s'], reverse=True))} s per child process), "
             f"peak {r['peak_tree_mb']:.0f} MB (load before {r['load_before']})"
             for r in rows]
    for r in rows:  # where the time goes: wall per phase, and the CPU of the main process in it
        lines.append(f"{r['workers']} worker(s), phases (wall / CPU main process / CPU workers): " + ", ".join(
            f"{k} {v['wall_s']:.1f} / {v['main_cpu_s']:.1f} / {v['workers_cpu_s']:.1f} s" for k, v in r["phases"].items())
            + f"; workers busy {r['tiles_busy_pct']:.0f} % of the tiles phase")
    if speedup is not None:
        lines.append(f"speed-up of 2 workers over 1 (wall): {speedup:.2f} (goal >= 1.7)")
    for r in rows:  # what the CPU figures allow on 2 idle cores: the main process and the workers overlap
        main, wk = r["main_cpu_s"], r["workers_cpu_s"]
        lines.append(f"{r['workers']} worker(s): CPU {main + wk:.0f} s, of which main process {main:.0f} s "
                     f"({100 * main / (main + wk):.0f} %): {r['points'] / (main + wk) / 1e6:.2f} M points per CPU-second")
    lines.append(f"Bologna (140 km2 at 12 pts/m2 = 1.68 G points) at {per_cpu / 1e6:.2f} M points per CPU-second, "
                 "80 % efficiency: " + ", ".join(f"{e['nodes']} node(s) of 2 cores {60 * e['hours']:.0f} min" for e in est))
    print("\n".join(lines))
    if args.write_doc:
        _write_doc("## City-scale build: `benchmarks/scale.py` (build part)\n\n"
                   f"`.venv/bin/python benchmarks/scale.py --points {args.points:g}` (load after: {_load()})\n\n"
                   + "\n".join(f"- {x}" for x in lines) + "\n")


if __name__ == "__main__":
    main()
