"""Benchmark: Tmrt + UTCI on a raster grid (``microclimate.grid``), against the ``solweig``
package (SOLWEIG's Rust port, PyPI) on the same rasters and hours.

Usage::

    .venv/bin/python benchmarks/heat.py [--size-m 500] [--cell-m 1.0] [--seed 7] [--hours 24]
        [--no-solweig] [--no-cold]

Scene: the synthetic district (``citymodel.synth``) rasterised by vertical Embree rays: DEM
(terrain), DSM (terrain + buildings), CDSM (tree crown tops above the terrain), land cover
(2 buildings, 5 green areas, 1 the rest). Forcing: a clear summer day at the district's site
(pvlib Ineichen clear sky, air 24-34 degC, RH 40 %, wind 2 m/s, no measured long-wave).

Prints: preparation time (scene, sky view factors of two levels), wall and CPU time per
hourly step of the whole run (shadows, ground and wall balances, fluxes, Tmrt, UTCI; spin-up included in the
total but not in the step count) for the first run in the process and for the same run again
(loaded kernels, mapped pages), peak resident memory; the first run in a subprocess with an
empty ``NUMBA_CACHE_DIR`` (cold: numba compiles) and a second with the filled cache (warm).
``solweig`` runs in the warm process after ours with ``SOLWEIG_NO_GPU=1`` and its met reader
with ``resample_hourly=False``; its preparation is ``SurfaceData.prepare`` (walls, sky view
factors), its steps ``solweig.calculate``. A markdown row closes the output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# benchmarks/energy.py would shadow the ``energy`` package when run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

TZ_OFFSET_H = 1.0


def district_rasters(size_m: float, cell_m: float, seed: int):
    """DEM, DSM, CDSM, land cover, transform, CRS, (lat, lon) of the synthetic district."""
    import shapely
    from affine import Affine
    from embreex import rtcore_scene as rtcs
    from embreex.mesh_construction import TriangleMesh
    from pyproj import Transformer

    from citymodel.synth import mesh as synth_mesh
    from citymodel.synth.district import make_district

    d = make_district(seed=seed, size_m=size_m)
    m = synth_mesh.scene_mesh(d)
    n = int(round(size_m / cell_m))
    half = 0.5 * size_m
    xs = -half + (np.arange(n) + 0.5) * cell_m
    ys = half - (np.arange(n) + 0.5) * cell_m
    xx, yy = np.meshgrid(xs, ys)
    top = m.triangles[..., 2].max() + 100.0
    o = np.column_stack([xx.ravel(), yy.ravel(), np.full(xx.size, top)]).astype(np.float32)
    down = np.tile(np.array([[0, 0, -1]], np.float32), (xx.size, 1))

    def first_hit(kinds):
        sel = np.isin(m.kind, kinds)
        sc = rtcs.EmbreeScene()
        TriangleMesh(sc, np.ascontiguousarray(m.triangles[sel], dtype=np.float32))
        r = sc.run(o, down, output=1)
        z = np.where(r["primID"] >= 0, top - r["tfar"], np.nan)
        return z.reshape(n, n).astype(np.float64)

    dem = first_hit([synth_mesh.TERRAIN])
    dem = np.where(np.isfinite(dem), dem, np.nanmin(dem))
    dsm = first_hit([synth_mesh.TERRAIN, synth_mesh.ROOF, synth_mesh.WALL, synth_mesh.SUPER])
    dsm = np.where(np.isfinite(dsm), dsm, dem)
    crown = first_hit([synth_mesh.CROWN, synth_mesh.SHRUB])
    cdsm = np.where(np.isfinite(crown) & (crown > dsm + 0.5), crown - dem, 0.0)
    lc = np.ones((n, n), dtype=np.int64)
    xw, yw = xx + m.origin[0], yy + m.origin[1]
    for g in d.green_areas:
        lc[shapely.contains_xy(g.polygon if hasattr(g, "polygon") else g.geometry, xw, yw)] = 5
    lc[dsm - dem > 2.0] = 2
    x0, y0 = m.origin[0] - half, m.origin[1] + half
    transform = Affine(cell_m, 0.0, x0, 0.0, -cell_m, y0)
    crs = f"EPSG:{d.epsg}"
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
        m.origin[0], m.origin[1])
    return dem, dsm, cdsm, lc, transform, crs, (float(lat), float(lon))


def clear_day(lat: float, lon: float, hours: int):
    """Hourly forcing (hour-ending stamps, local standard time) of a clear summer day."""
    import pandas as pd
    import pvlib

    idx = pd.date_range("2024-07-15 01:00", periods=hours, freq="h")
    mid = idx - pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(lat, lon, tz=f"Etc/GMT-{int(TZ_OFFSET_H)}")
    cs = loc.get_clearsky(mid.tz_localize(loc.tz), model="ineichen")
    h = np.asarray(mid.hour + mid.minute / 60.0)
    df = pd.DataFrame({
        "ghi_w_m2": cs["ghi"].to_numpy(), "dhi_w_m2": cs["dhi"].to_numpy(),
        "dni_w_m2": cs["dni"].to_numpy(),
        "t_air_c": 29.0 + 5.0 * np.sin((h - 9.0) / 24.0 * 2 * np.pi),
        "rh_percent": 40.0, "wind_speed_m_s": 2.0, "ir_horizontal_w_m2": np.nan,
    }, index=idx)
    df["time_mid"] = mid
    return df


def write_met(df, path: Path) -> None:
    """The forcing as a UMEP met file (hour-ending, local standard time)."""
    head = ("%iy id it imin Q* QH QE Qs Qf Wind RH Td press rain Kdn snow ldown fcld wuh xsmd "
            "lai_hr Kdiff Kdir Wd")
    rows = [head]
    for t, r in df.iterrows():
        v = [t.year, t.dayofyear, t.hour, t.minute] + [-999] * 5 + [
            r.wind_speed_m_s, r.rh_percent, r.t_air_c, 101.3, 0, r.ghi_w_m2, 0, -999, -999,
            -999, -999, -999, r.dhi_w_m2, r.dni_w_m2, -999]
        rows.append(" ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in v))
    path.write_text("\n".join(rows) + "\n")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_ours(args) -> dict:
    from microclimate.grid import HeatRasters, prepare_grid, run_grid

    t0 = time.perf_counter()
    dem, dsm, cdsm, lc, tr, crs, (lat, lon) = district_rasters(args.size_m, args.cell_m,
                                                               args.seed)
    t_raster = time.perf_counter() - t0
    forcing = clear_day(lat, lon, args.hours)
    rasters = HeatRasters(dsm, dem, cdsm, lc, tr, crs)
    t0 = time.perf_counter()
    geom = prepare_grid(rasters)
    t_prep = time.perf_counter() - t0
    site = dict(lat_deg=lat, lon_deg=lon, tz_offset_h=TZ_OFFSET_H)
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_grid(geom, forcing, site)
    t_run, c_run = time.perf_counter() - t0, time.process_time() - c0
    # the same run again in this process: the kernels are loaded, the pages mapped
    t0, c0 = time.perf_counter(), time.process_time()
    run_grid(geom, forcing, site)
    t_run2, c_run2 = time.perf_counter() - t0, time.process_time() - c0
    out = dict(cells=int(dsm.size), ground_cells=geom.n, rasterise_s=t_raster, prepare_s=t_prep,
               run_s=t_run, steps=len(forcing), step_s=t_run / len(forcing),
               step_cpu_s=c_run / len(forcing), step2_s=t_run2 / len(forcing),
               step2_cpu_s=c_run2 / len(forcing),
               peak_mib=peak_mib(), tmrt_max_c=float(np.nanmax(res.tmrt_max_c)),
               utci_max_c=float(np.nanmax(res.utci_max_c)), lat=lat, lon=lon)
    if args.solweig:
        out["solweig"] = run_solweig(dem, dsm, cdsm, lc, tr, crs, forcing, lat, lon)
    return out


def run_solweig(dem, dsm, cdsm, lc, transform, crs, forcing, lat, lon) -> dict:
    os.environ["SOLWEIG_NO_GPU"] = "1"
    import rasterio
    import solweig

    tmp = Path(tempfile.mkdtemp(prefix="heat_solweig_"))
    paths = {}
    for name, arr in (("dsm", dsm), ("dem", dem), ("cdsm", cdsm), ("lc", lc)):
        p = tmp / f"{name}.tif"
        with rasterio.open(p, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1],
                           count=1, dtype="float32", crs=crs, transform=transform) as dst:
            dst.write(arr.astype(np.float32), 1)
        paths[name] = p
    met = tmp / "met.txt"
    write_met(forcing, met)
    weather = solweig.Weather.from_umep_met(met, resample_hourly=False)
    t0 = time.perf_counter()
    surface = solweig.SurfaceData.prepare(dsm=paths["dsm"], working_dir=tmp / "work",
                                          cdsm=paths["cdsm"], dem=paths["dem"],
                                          land_cover=paths["lc"])
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = solweig.calculate(surface, weather,
                                solweig.Location(latitude=lat, longitude=lon,
                                                 utc_offset=TZ_OFFSET_H),
                                output_dir=tmp / "out")
    t_run = time.perf_counter() - t0
    tmrt = getattr(summary, "tmrt_max", None)
    return dict(prepare_s=t_prep, run_s=t_run, steps=len(weather), step_s=t_run / len(weather),
                tmrt_max_c=float(np.nanmax(tmrt)) if tmrt is not None else float("nan"),
                version=solweig.__version__)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-m", type=float, default=500.0)
    ap.add_argument("--cell-m", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--no-solweig", dest="solweig", action="store_false")
    ap.add_argument("--no-cold", dest="cold", action="store_false",
                    help="skip the cold-cache subprocess")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_ours(args)))
        return
    cache = tempfile.mkdtemp(prefix="heat_numba_")
    runs = {}
    for label in (["cold"] if args.cold else []) + ["warm"]:
        cmd = [sys.executable, __file__, "--child", "--size-m", str(args.size_m), "--cell-m",
               str(args.cell_m), "--seed", str(args.seed), "--hours", str(args.hours)]
        if label == "cold" or not args.solweig:
            cmd.append("--no-solweig")
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode:
            sys.stderr.write(p.stderr)
            raise SystemExit(f"{label} run failed")
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        runs[label] = json.loads(line[7:])
        r = runs[label]
        print(f"{label}: {r['cells']:,} cells ({r['ground_cells']:,} ground), rasterise "
              f"{r['rasterise_s']:.1f} s, prepare {r['prepare_s']:.1f} s, run {r['run_s']:.1f} s "
              f"= {1000 * r['step_s']:.0f} ms per step over {r['steps']} steps (CPU "
              f"{1000 * r['step_cpu_s']:.0f} ms per step, both cores); run again in the same "
              f"process {1000 * r['step2_s']:.0f} ms per step (CPU {1000 * r['step2_cpu_s']:.0f}"
              f" ms); peak {r['peak_mib']:.0f} MiB, max Tmrt {r['tmrt_max_c']:.1f} degC")
    w = runs["warm"]
    s = w.get("solweig")
    if s:
        print(f"solweig {s['version']}: prepare {s['prepare_s']:.1f} s, run {s['run_s']:.1f} s = "
              f"{1000 * s['step_s']:.0f} ms per step, max Tmrt {s['tmrt_max_c']:.1f} degC; "
              f"per-step ratio solweig / ours {s['step_s'] / w['step_s']:.1f}x (first run), "
              f"{s['step_s'] / w['step2_s']:.1f}x (run again)")
    load = os.getloadavg()[0]
    cold = runs.get("cold")
    print(f"| {args.size_m:.0f} m x {args.size_m:.0f} m at {args.cell_m:g} m "
          f"({w['cells']:,} cells) | {w['prepare_s']:.1f} s | {1000 * w['step_s']:.0f} ms | "
          f"{(1000 * cold['step_s']) if cold else float('nan'):.0f} ms | {w['peak_mib']:.0f} MiB | "
          + (f"{s['prepare_s']:.1f} s | {1000 * s['step_s']:.0f} ms | "
             f"{s['step_s'] / w['step_s']:.1f}x |" if s else "n/a | n/a | n/a |")
          + f" load {load:.1f} |")


if __name__ == "__main__":
    main()
