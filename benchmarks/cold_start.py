"""First-run time of every command: a fresh process with an empty numba cache, then a warm one.

A new user's first command pays for numba's compilation; every other benchmark warms the JIT
outside its timing, so this one exists to show that cost. Each command runs on a small input
(a synthetic district of about 10 buildings) in a new process, first with an empty
``NUMBA_CACHE_DIR`` (cold), then again with the cache it left (warm).

Usage::

    .venv/bin/python benchmarks/cold_start.py [--size-m 70] [--only build,solar] [--markdown]

Prints one row per command: cold and warm wall time [s] and the difference (compilation and
cache loading). With ``--markdown`` also a table for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "citymodel.cli"]


def _run(args: list[str], cache: Path, cwd: Path) -> tuple[float, int, str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), VTK_DEFAULT_OPENGL_WINDOW=os.environ.get(
        "VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow"), PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode, (proc.stderr or proc.stdout)[-600:]


def _commands(d: Path) -> dict[str, list[str]]:
    dist = d / "district"
    return {
        "info": [*CLI, "info", str(dist / "truth.city.json")],
        "validate": [*CLI, "validate", str(dist / "truth.city.json")],
        "build": [*CLI, "-q", "build", "--points", str(dist / "points.laz"), "--footprints",
                  str(dist / "footprints.gpkg"), "--out", str(d / "model.city.json"), "--overwrite"],
        "solar": [*CLI, "-q", "solar", str(dist / "truth.city.json"), "--weather", "clearsky", "--out",
                  str(d / "solar.city.json"), "--overwrite"],
        "energy": [*CLI, "-q", "energy", "simulate", str(dist / "truth.city.json"), "--weather", "clearsky",
                   "--out", str(d / "energy.city.json"), "--overwrite"],
        "heat": [*CLI, "-q", "heat", str(dist / "truth.city.json"), "--weather", "clearsky", "--period",
                 "hottest-3d", "--grid-m", "2", "--out", str(d / "heat"), "--overwrite"],
        "render": [*CLI, "-q", "render", str(dist / "truth.city.json"), "--out", str(d / "shot.png"),
                   "--overwrite"],
        "demo energy stage": [*CLI, "-q", "demo", "--size-m", "100", "--stage", "synth", "--stage",
                              "energy", "--out", str(d / "demo")],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=70.0, help="side of the synthetic district [m]")
    ap.add_argument("--only", default="", help="comma-separated command names to run")
    ap.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cold_start_"))
    try:
        cache_synth = work / "cache_synth"
        t, rc, err = _run([*CLI, "-q", "synth", "--out", str(work / "district"), "--size-m",
                           str(args.size_m)], cache_synth, work)
        if rc != 0:
            print(f"synth failed: {err}", file=sys.stderr)
            return 1
        from citymodel.io import read

        n = len(read(work / "district" / "truth.city.json").building_ids())
        print(f"district: {args.size_m:g} m, {n} buildings ({t:.1f} s to generate)")
        cmds = _commands(work)
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        rows = []
        for name, cmd in cmds.items():
            if only and name not in only:
                continue
            cache = work / f"cache_{name.replace(' ', '_')}"
            if cache.exists():
                shutil.rmtree(cache)
            cache.mkdir()
            cold, rc, err = _run(cmd, cache, work)
            if rc != 0:
                print(f"{name:18s} FAILED (exit {rc}): {err.strip().splitlines()[-1] if err.strip() else ''}")
                continue
            warm, _, _ = _run(cmd, cache, work)
            rows.append((name, cold, warm))
            print(f"{name:18s} cold {cold:6.1f} s   warm {warm:6.1f} s   compile+cache {cold - warm:6.1f} s",
                  flush=True)
        if args.markdown:
            print(f"\n| command (district of {n} buildings) | cold [s] | warm [s] | difference [s] |")
            print("|---|---|---|---|")
            for name, cold, warm in rows:
                print(f"| {name} | {cold:.1f} | {warm:.1f} | {cold - warm:.1f} |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
