"""First-run time of every command: empty numba cache, after ``citymodel warmup``, and warm.

A new user's first command pays for numba's compilation; every other benchmark warms the JIT
outside its timing, so this one exists to show that cost, and what the install-time warm-up
(``citymodel warmup``, run by ``scripts/bootstrap.sh``) leaves of it. Each command runs on a
small input (a synthetic district of 10 buildings at the default 90 m) in a new process:

- **cold**: an empty ``NUMBA_CACHE_DIR``, no warm-up (every kernel compiles);
- **after warm-up**: a copy of a cache filled once by ``citymodel warmup`` (which runs the
  commands on a smaller, 70 m district); the cache entries this run adds are counted: any entry
  is a specialisation the warm-up missed;
- **warm**: the same command again on the cache its cold run left.

Usage::

    .venv/bin/python benchmarks/cold_start.py [--size-m 90] [--only build,solar] [--markdown] [--write-docs]

``--write-docs`` replaces this benchmark's section of ``docs/benchmarks.md`` (the others stay).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "citymodel.cli"]
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## First run with an empty numba cache: `benchmarks/cold_start.py`"


def _run(args: list[str], cache: Path, cwd: Path) -> tuple[float, int, str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), VTK_DEFAULT_OPENGL_WINDOW=os.environ.get(
        "VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow"), PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode, (proc.stderr or proc.stdout)[-600:]


def _entries(cache: Path) -> int:
    """Compiled specialisations in a numba cache folder (one ``.nbc`` file each)."""
    return sum(1 for _ in cache.rglob("*.nbc"))


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


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _write_docs(table: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    start = text.find(SECTION)
    end = len(text) if start < 0 else text.find("\n## ", start + len(SECTION))
    end = len(text) if end < 0 else end + 1
    intro = (
        f"{SECTION}\n\n"
        "`.venv/bin/python benchmarks/cold_start.py --markdown --write-docs`: each command in a fresh "
        "process. **cold**: empty `NUMBA_CACHE_DIR`, no warm-up; **after warm-up**: a copy of the "
        "cache `citymodel warmup` filled (run once, on a 70 m district; `scripts/bootstrap.sh` "
        "runs it at install), with the cache entries the run still had to add (0: the warm-up "
        "compiled exactly the command's specialisations); **warm**: again on the cold run's cache. "
        "Why the warm-up and not cheaper kernels: see the user guide's install page "
        "(docs/guide/install.md, \"First run and the numba cache\").\n\n"
    )
    body = intro + table + "\n"
    new = (text[:start] + body + text[end:]) if start >= 0 else text.rstrip("\n") + "\n\n" + body
    DOCS.write_text(new, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=90.0, help="side of the synthetic district [m]")
    ap.add_argument("--only", default="", help="comma-separated command names to run")
    ap.add_argument("--markdown", action="store_true", help="also print a markdown table")
    ap.add_argument("--write-docs", action="store_true", help="replace this section of docs/benchmarks.md")
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
        print(f"district: {args.size_m:g} m, {n} buildings ({t:.1f} s to generate); load {_load()}")
        warmed = work / "cache_warmup"
        warmed.mkdir()
        t_w, rc, err = _run([*CLI, "warmup"], warmed, work)
        print(f"citymodel warmup: {t_w:.1f} s, exit {rc}, {_entries(warmed)} cache entries; load {_load()}",
              flush=True)
        if rc != 0:
            print(err, file=sys.stderr)
        cmds = _commands(work)
        only = [s.strip() for s in args.only.split(",") if s.strip()]
        rows = []
        for name, cmd in cmds.items():
            if only and name not in only:
                continue
            cache = work / f"cache_{name.replace(' ', '_')}"
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()
            cold, rc, err = _run(cmd, cache, work)
            if rc != 0:
                print(f"{name:18s} FAILED (exit {rc}): {err.strip().splitlines()[-1] if err.strip() else ''}")
                continue
            after_cache = work / f"cache_after_{name.replace(' ', '_')}"
            shutil.copytree(warmed, after_cache)
            before = _entries(after_cache)
            after, _, _ = _run(cmd, after_cache, work)
            missed = _entries(after_cache) - before
            shutil.rmtree(after_cache, ignore_errors=True)
            warm, _, _ = _run(cmd, cache, work)
            rows.append((name, cold, after, missed, warm, _load()))
            print(f"{name:18s} cold {cold:6.1f} s   after warm-up {after:6.1f} s ({missed} new entries)   "
                  f"warm {warm:6.1f} s   load {rows[-1][-1]}", flush=True)
        if args.markdown or args.write_docs:
            day = datetime.date.today().isoformat()
            lines = [f"District of {n} buildings ({args.size_m:g} m; the demo stage: its own 100 m district), "
                     f"{day}; `citymodel warmup` took {t_w:.1f} s. Load average (1, 5, 15 min) after each row.",
                     "",
                     "| command | cold [s] | after warm-up [s] | entries the warm-up missed | warm [s] | load |",
                     "|---|---|---|---|---|---|"]
            lines += [f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]} | {r[4]:.1f} | {r[5]} |" for r in rows]
            table = "\n".join(lines)
            print("\n" + table)
            if args.write_docs:
                _write_docs(table)
                print(f"\nwrote {DOCS}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
