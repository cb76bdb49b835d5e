"""Benchmark of the hourly building energy model (energy.demand).

Runs N synthetic buildings (default 100,000; archetype-like constructions, random geometry)
through a full weather year, with shaded irradiance supplied block by block, each block's
per-building series made just before it runs, as a solar stage would hand them over: by
default the three weighted series the model reads (``(block, 3, 8760) float32``, written by
``energy.demand.engine.combine_solar`` from the unshaded series and per-building shading
factors), with ``--nine-series`` the nine per-surface series ``(block, 5, 8760)`` +
``(block, 4, 8760)``, with ``--shared-gains`` one series for all. It reports building-hours
per second, the split between the gains hand-over, model set-up (RC network + modal
reduction) and time stepping, and the peak memory. Beside it, a straightforward
per-building pure-Python implementation of the same modal equations runs on a sample, and
its speed is reported as a ratio (and its results checked against the kernel's).

Usage::

    .venv/bin/python benchmarks/energy.py [--n-buildings 100000] [--block-size 512] [--threads 2]
        [--shared-gains | --nine-series] [--free-running-twin]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

# one BLAS thread: the gains' small matrix products must not leave OpenBLAS threads spinning
# beside numba's two (on 2 cores that doubles the set-up and stepping times)
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# this file is called energy.py: keep its folder off the path so `import energy` is the package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
EPW = ROOT.parent / "shared" / "data" / "weather" / "725650TYCST.epw"


def synthetic_constructions(n: int, rng: np.random.Generator):
    from energy.demand.archetypes import layers_from_u_kappa
    from energy.demand.model import Constructions

    foot = rng.uniform(60.0, 600.0, n)
    storeys = rng.integers(1, 7, n)
    h = storeys * 3.0
    side = np.sqrt(foot)
    wall = np.column_stack([side * h] * 4) * rng.uniform(0.4, 1.0, (n, 4))
    party = side * h * 4 - wall.sum(axis=1)
    wwr = rng.uniform(0.1, 0.3, (n, 4))
    u_wall = rng.choice([1.48, 1.1, 0.76, 0.59, 0.34, 0.26], n)
    c = Constructions(
        area_wall_m2=wall * (1 - wwr), area_window_m2=wall * wwr, area_roof_m2=foot, area_floor_m2=foot,
        area_party_m2=party, volume_m3=foot * h,
        wall_layers=layers_from_u_kappa(u_wall, rng.uniform(80, 220, n), 0.17),
        roof_layers=layers_from_u_kappa(u_wall * 1.2, rng.uniform(60, 120, n), 0.14),
        floor_layers=layers_from_u_kappa(u_wall * 1.1, rng.uniform(90, 150, n), 0.2),
        party_layers=layers_from_u_kappa(np.full(n, 1.5), np.full(n, 150.0), 0.26)[:, 1:],
        u_window_w_m2k=rng.choice([4.9, 3.7, 2.2, 1.4], n), g_window=rng.uniform(0.5, 0.85, n),
        window_absorbed_share=np.full(n, 0.05), alpha_wall=np.full(n, 0.6), alpha_roof=np.full(n, 0.7),
        infiltration_ach=rng.uniform(0.3, 0.8, n), vent_m3_h=foot * h * 2.0,
        internal_gain_w=foot * storeys * 4.0, radiant_share=np.full(n, 0.5),
        floor_to_ground=np.ones(n, bool),
    )
    return c


def python_reference(mm, b, forcing, irr, irw, sched, sid, n_warmup):
    """The kernel's equations for one building, one hour and one mode at a time, in Python."""
    m = mm.lam.shape[0]
    lam = [float(x) for x in mm.lam[:, b]]
    gin = [[float(mm.gin[i, k, b]) for k in range(7)] for i in range(m)]
    gq = [float(x) for x in mm.gq[:, b]]
    ca = [float(x) for x in mm.cout[0, :, b]]
    fa = [float(mm.dfeed[0, k, b]) for k in range(7)]
    co = mm.coef[:, b].tolist()
    d = float(mm.dq[0, b])
    z = [0.0] * m
    heat = cool = 0.0
    nh = len(forcing.t_out_c)
    for step in range(n_warmup + nh):
        h = step - n_warmup if step >= n_warmup else nh - n_warmup + step
        to = float(forcing.t_out_c[h])
        ds = float(forcing.t_sky_c[h]) - to
        ir = irr[b, :, h].tolist()
        iw = irw[b, :, h].tolist()
        hod, dt_ = int(forcing.hour_of_day[h]), int(forcing.day_type[h])
        u = [to + co[0] * ir[1] + co[1] * ir[2] + co[2] * ir[3] + co[3] * ir[4] + co[4] * ds,
             to + co[5] * ir[0] + co[6] * ds, to + co[7] * ds, to, float(forcing.t_ground_c[h]),
             co[8] * iw[0] + co[9] * iw[1] + co[10] * iw[2] + co[11] * iw[3],
             co[12] * float(sched.gain_frac[sid, dt_, hod])]
        t0 = sum(fa[k] * u[k] for k in range(7))
        for i in range(m):
            z[i] = lam[i] * z[i] + sum(gin[i][k] * u[k] for k in range(7))
            t0 += ca[i] * z[i]
        th, tc = float(sched.t_heat_c[sid, dt_, hod]), float(sched.t_cool_c[sid, dt_, hod])
        ta = min(max(t0, th), tc)
        q = (ta - t0) / d
        for i in range(m):
            z[i] += gq[i] * q
        if step >= n_warmup:
            heat += max(q, 0.0)
            cool += max(-q, 0.0)
    return heat, cool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-buildings", type=int, default=100_000)
    ap.add_argument("--block-size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--python-sample", type=int, default=2)
    ap.add_argument("--shared-gains", action="store_true",
                    help="one unshaded irradiance series for all buildings (no solar solver) instead of "
                         "per-building shaded gains")
    ap.add_argument("--nine-series", action="store_true",
                    help="hand over the nine per-surface irradiance series per building instead of the "
                         "three weighted series the model reads (energy.demand.engine.combine_solar)")
    ap.add_argument("--free-running-twin", action="store_true",
                    help="also run the no-cooling twin for overheating hours (doubles the stepping)")
    args = ap.parse_args()

    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    from energy.demand.engine import Schedules, combine_solar, forcing_from_weather, run_thermal
    from energy.demand.irradiance import orientation_irradiance
    from energy.demand.model import build_modal_model
    from energy.weather import read_epw

    wx, meta = read_epw(EPW)
    oi = orientation_irradiance(wx, meta)
    forcing = forcing_from_weather(wx)
    rng = np.random.default_rng(1)
    sched = Schedules.constant("bench", 20.0, 26.0)
    n, bs = args.n_buildings, args.block_size
    nh = len(forcing.t_out_c)
    # warm up the JIT on a small block
    c_small = synthetic_constructions(64, rng)
    sf = rng.uniform(0.3, 1.0, (64, 5, 1)).astype(np.float32)
    run_thermal(c_small, forcing, sched, np.zeros(64, np.int64), oi.total_w_m2[None] * sf,
                oi.window_w_m2[None] * sf[:, 1:], np.arange(64))
    t_setup = t_kernel = t_gains = 0.0
    heat_sum = 0.0
    cpu = 0.0
    t_all = time.perf_counter()
    # the block buffers the gains are handed over in (reused from block to block, as a solar
    # solver filling a block at a time would)
    tot32 = oi.total_w_m2[None].astype(np.float32)
    win32 = oi.window_w_m2[None].astype(np.float32)
    irr_buf = np.empty((bs, 5, nh), np.float32)
    irw_buf = np.empty((bs, 4, nh), np.float32)
    irr_c = np.empty((bs, 3, nh), np.float32)
    for b0 in range(0, n, bs):  # blocks: constructions and shaded gains made per block
        nb_ = min(bs, n - b0)
        t0 = time.perf_counter()
        c = synthetic_constructions(nb_, rng)
        # this block's shaded gains, (block, 5, nh) as energy.solar.BuildingIrradiance has them
        sf = rng.uniform(0.3, 1.0, (nb_, 5, 1)).astype(np.float32)
        k = 1 if args.shared_gains else nb_  # shared: one series for the whole block
        if args.shared_gains or args.nine_series:
            irr = np.multiply(tot32, sf[:k], out=irr_buf[:k])
            irw = np.multiply(win32, sf[:k, 1:], out=irw_buf[:k])
        else:  # the three weighted series the model needs, made directly from the shaded
            # surfaces (combine_solar: the unshaded series times each building's shading
            # factors and weights, written per building in parallel)
            c.shading_factor = sf[:, :, 0].astype(float)
            irr = combine_solar(c, tot32, win32, np.zeros(nb_, np.int64), out=irr_c[:nb_])
            irw = None
        t_gains += time.perf_counter() - t0
        p0 = time.process_time()
        r = run_thermal(c, forcing, sched, np.zeros(nb_, np.int64), irr, irw,
                        np.zeros(nb_, np.int64) if args.shared_gains else np.arange(nb_),
                        block_size=bs, free_running_twin=args.free_running_twin)
        t_setup += r.seconds_setup
        t_kernel += r.seconds_kernel
        cpu += time.process_time() - p0
        heat_sum += r.heating_wh.sum()
    total = time.perf_counter() - t_all
    bh = n * nh
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"buildings: {n}, hours: {nh}, block size: {bs}, threads: {args.threads}, "
          f"free-running twin: {args.free_running_twin}, gains: {'shared' if args.shared_gains else 'per building'}")
    print(f"total {total:.2f} s = gains {t_gains:.2f} s + model set-up {t_setup:.2f} s + "
          f"time stepping {t_kernel:.2f} s")
    print(f"building-hours/s: {bh / total:.3g} overall, {bh / t_kernel:.3g} time stepping only")
    print(f"CPU time of set-up + stepping {cpu:.2f} s: {bh / (cpu / args.threads):.3g} building-hours/s "
          f"on {args.threads} dedicated cores (the machine may be shared; this discounts waiting)")
    print(f"peak RSS {peak_mb:.0f} MB (a buildings x hours float32 array would be {n * nh * 4 / 1e6:.0f} MB)")
    print(f"mean heating {heat_sum / n / 1e3:.0f} kWh per building")

    # pure-Python reference on a sample, same equations
    c = synthetic_constructions(args.python_sample, rng)
    sf = rng.uniform(0.3, 1.0, (args.python_sample, 5, 1)).astype(np.float32)
    irr = oi.total_w_m2[None].astype(np.float32) * sf
    irw = oi.window_w_m2[None].astype(np.float32) * sf[:, 1:]
    mm = build_modal_model(c, rho_air_kg_m3=forcing.rho_air_kg_m3, lam_min=0.02)
    t0 = time.perf_counter()
    ref = [python_reference(mm, b, forcing, irr, irw, sched, 0, 720) for b in range(args.python_sample)]
    t_py = time.perf_counter() - t0
    r = run_thermal(c, forcing, sched, np.zeros(args.python_sample, np.int64), irr, irw,
                    np.arange(args.python_sample), free_running_twin=False, dtype=np.float64)
    py_rate = args.python_sample * nh / t_py
    err = max(abs(h / 1e3 - rh / 1e3) / max(rh / 1e3, 1e-9) for (h, _), rh in zip(ref, r.heating_wh, strict=True))
    print(f"pure Python, {args.python_sample} buildings: {py_rate:.3g} building-hours/s; "
          f"kernel / Python speed ratio: {bh / total / py_rate:.0f}x overall, "
          f"{bh / t_kernel / py_rate:.0f}x time stepping; max heating difference {100 * err:.2g} %")


if __name__ == "__main__":
    main()
