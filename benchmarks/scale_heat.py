"""Benchmark: the heat grid of a 2 km x 2 km district at 1 m in tiles -- peak memory and time.

Usage::

    .venv/bin/python benchmarks/scale_heat.py [--size-m 2000] [--cell-m 1] [--hours 6]
        [--n-rays 64] [--scheduler processes] [--workers 2] [--write-docs]

Scene: a synthetic raster district made here with numpy (seed 7): blocks of buildings 6 to
30 m high along a street grid, a park and street trees (canopy 6 to 12 m), land cover
(paved, buildings, grass); a clear July day around noon (pvlib Ineichen at 44.5 N, 11.3 E,
air 30-34 degC). The grid engine (:func:`microclimate.grid.run_grid`) tiles the grid by
itself: tiles whose run fits 2 GiB, a halo of the tallest object's shadow at a 10 degree sun
capped at 100 m (:mod:`microclimate.tiling`), the tiles on ``--scheduler``. ``--n-rays`` is
low by default to keep the run short: the per-cell memory does not depend on it.

Prints the tiling, the wall time, the time per tile, and the peak resident memory of all
processes together (this one and the pool's workers, sampled every 0.1 s) against the
engine's estimate for the untiled grid.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

# benchmarks/energy.py would shadow the ``energy`` package when run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Heat grid at city scale, in tiles: `benchmarks/scale_heat.py`"
LAT, LON, TZ = 44.5, 11.3, 1.0


def synthetic_rasters(size_m: float, cell_m: float, seed: int = 7):
    """DSM, DEM, CDSM and land cover of a street-grid district (numpy only)."""
    rng = np.random.default_rng(seed)
    n = int(round(size_m / cell_m))
    yy, xx = np.mgrid[0:n, 0:n] * cell_m
    dem = 50.0 + 0.004 * xx + 0.002 * yy  # a gentle slope
    block, street = 60.0, 14.0
    bx, by = (xx % block), (yy % block)
    in_block = (bx > street) & (by > street)
    ix, iy = (xx // block).astype(int), (yy // block).astype(int)
    nb = int(ix.max()) + 1
    h_block = rng.uniform(6.0, 30.0, size=(nb + 1, nb + 1))
    courtyard = (np.abs(bx - (street + block) / 2) < 8) & (np.abs(by - (street + block) / 2) < 8)
    park = (ix % 7 == 3) & (iy % 7 == 3)
    building = in_block & ~courtyard & ~park
    dsm = dem + np.where(building, h_block[iy, ix], 0.0)
    cdsm = np.zeros((n, n))
    trees = (~building) & (((bx < 3) & (by % 12 < 6)) | (park & (rng.random((n, n)) < 0.02)))
    cdsm[trees] = rng.uniform(6.0, 12.0, size=int(trees.sum()))
    lc = np.where(building, 2, np.where(park | courtyard, 5, 1))
    return dsm, dem, cdsm, lc


def clear_day(hours: int):
    import pandas as pd
    import pvlib

    idx = pd.date_range("2024-07-15 10:00", periods=hours, freq="h")
    mid = idx - pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(LAT, LON, tz=f"Etc/GMT-{int(TZ)}")
    cs = loc.get_clearsky(mid.tz_localize(loc.tz), model="ineichen")
    h = np.asarray(mid.hour + mid.minute / 60.0)
    df = pd.DataFrame({"ghi_w_m2": cs["ghi"].to_numpy(), "dhi_w_m2": cs["dhi"].to_numpy(),
                       "dni_w_m2": cs["dni"].to_numpy(),
                       "t_air_c": 30.0 + 4.0 * np.sin((h - 9.0) / 24.0 * 2 * np.pi),
                       "rh_percent": 40.0, "wind_speed_m_s": 2.0, "ir_horizontal_w_m2": np.nan},
                      index=idx)
    df["time_mid"] = mid
    return df


class PeakRSS:
    """Peak resident memory of this process plus all its descendants, sampled every 0.1 s."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.total_mib = self.worker_mib = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            try:
                rss = [k.memory_info().rss for k in self._me.children(recursive=True)]
                mine = self._me.memory_info().rss
            except psutil.Error:
                continue
            self.total_mib = max(self.total_mib, (mine + sum(rss)) / 2**20)
            self.worker_mib = max([self.worker_mib, *(r / 2**20 for r in rss)])

    def stop(self) -> None:
        self._stop.set()
        self._t.join()


def write_section(text: str) -> None:
    """Replace (or append) this script's section of docs/benchmarks.md, keeping the others."""
    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text(encoding="utf-8")
    if SECTION in doc:
        head, rest = doc.split(SECTION, 1)
        nxt = rest.find("\n## ")
        doc = head + SECTION + "\n\n" + text.strip() + "\n" + (rest[nxt:] if nxt >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + SECTION + "\n\n" + text.strip() + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=2000.0)
    ap.add_argument("--cell-m", type=float, default=1.0)
    ap.add_argument("--hours", type=int, default=6)
    ap.add_argument("--n-rays", type=int, default=64)
    ap.add_argument("--scheduler", default="processes")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tile-cells", type=int, default=None, help="default: the engine's choice")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()

    from affine import Affine

    from microclimate.grid import HeatRasters, run_grid
    from microclimate.skyview import estimate_memory_bytes

    t0 = time.perf_counter()
    dsm, dem, cdsm, lc = synthetic_rasters(args.size_m, args.cell_m)
    tr = Affine(args.cell_m, 0.0, 680000.0, 0.0, -args.cell_m, 4930000.0)
    rasters = HeatRasters(dsm, dem, cdsm, lc, tr, "EPSG:32632")
    forcing = clear_day(args.hours)
    t_make = time.perf_counter() - t0
    site = dict(lat_deg=LAT, lon_deg=LON, tz_offset_h=TZ)
    sched = None if args.scheduler == "serial" else args.scheduler
    untiled = estimate_memory_bytes(dsm.size, min(24, args.hours), args.n_rays) / 2**30
    load0 = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    peak = PeakRSS()
    t0 = time.perf_counter()
    res = run_grid(rasters, forcing, site, n_rays=args.n_rays, scheduler=sched,
                   workers=args.workers if sched is not None else 1,
                   tile_cells=args.tile_cells)
    wall = time.perf_counter() - t0
    peak.stop()
    load1 = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    a = res.attrs
    n_open = int(np.isfinite(res.tmrt_max_c).sum())
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         cwd=ROOT).stdout.strip()
    lines = [
        f"`.venv/bin/python benchmarks/scale_heat.py --size-m {args.size_m:g} --hours {args.hours} "
        f"--n-rays {args.n_rays} --scheduler {args.scheduler} --workers {args.workers}` "
        f"({time.strftime('%Y-%m-%d')}, commit {rev}, load average {load0} before, {load1} after)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| grid | {dsm.shape[0]:,} x {dsm.shape[1]:,} cells at {args.cell_m:g} m ({n_open:,} open), "
        f"{args.hours} hourly steps, {args.n_rays} rays per cell |",
        f"| tiles | {a.get('n_tiles', 1)}: {a.get('tiling', 'one tile')} |",
        f"| executor | {a.get('executor', 'here')} |",
        f"| wall time | {wall:.0f} s (tiles: prepare {a.get('prepare_s', float('nan')):.0f} s + steps "
        f"{a.get('steps_s', float('nan')):.0f} s summed over tiles; {a.get('n_cells_computed', 0):,} "
        f"cells computed with the halos); rasters made in {t_make:.1f} s |",
        f"| peak RSS, all processes together | {peak.total_mib:,.0f} MiB (largest worker "
        f"{peak.worker_mib:,.0f} MiB); the engine's estimate for the untiled grid: {untiled:.1f} GiB |",
        f"| maxima | Tmrt {np.nanmax(res.tmrt_max_c):.1f} degC, UTCI {np.nanmax(res.utci_max_c):.1f} degC |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        write_section(text)


if __name__ == "__main__":
    main()
