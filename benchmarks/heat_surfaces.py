"""Benchmark: hourly temperature of every roof and wall of the synthetic district in a heatwave.

Usage::

    .venv/bin/python benchmarks/heat_surfaces.py [--size-m 400] [--seed 7] [--days 7]
        [--spinup-days 2] [--sensor-spacing-m 2.0] [--scenarios]

Scene: the synthetic district (``citymodel.synth``: buildings, terrain, trees), clear-sky
weather at its site, the ``--days`` hottest consecutive days of that year (``hottest-Nd``) plus
``--spinup-days`` before them. Prints the wall time of each stage (solar solve with its
per-surface hourly series, energy model for the indoor air, surface balance), surfaces x hours
per second (balance alone and end to end), the peak resident memory, and a markdown row.
With ``--scenarios`` also times cool roofs and green roofs on the same prepared inputs.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

# benchmarks/energy.py would shadow the ``energy`` package when run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def run(size_m: float = 400.0, seed: int = 7, days: int = 7, spinup_days: int = 2,
        sensor_spacing_m: float = 2.0, scenarios: bool = False) -> dict:
    """Run the benchmark and return its figures."""
    from citymodel.synth import district_to_citymodel, make_district
    from microclimate.surfaces import cool_roofs, green_roofs, surface_temperatures

    t0 = time.perf_counter()
    model = district_to_citymodel(make_district(seed=seed, size_m=size_m))
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = surface_temperatures(model, "clearsky", period=f"hottest-{days}d",
                               spinup_days=spinup_days, sensor_spacing_m=sensor_spacing_m)
    t_total = time.perf_counter() - t0
    n, nt = res.t_surface_c.shape
    steps = res.inputs.sequence.size
    out = {
        "size_m": size_m,
        "buildings": len(model.building_ids()),
        "surfaces": n,
        "roofs": int((res.surface_type == "RoofSurface").sum()),
        "hours": nt,
        "spinup_hours": res.inputs.n_spin,
        "period": res.attrs["period"],
        "model_s": t_model,
        "total_s": t_total,
        "solar_s": res.attrs["solar_s"],
        "indoor_s": res.attrs["indoor_s"],
        "balance_s": res.attrs["balance_s"],
        "surface_hours_per_s_balance": n * steps / res.attrs["balance_s"],
        "surface_hours_per_s_total": n * steps / t_total,
        "t_roof_max_c": float(res.t_surface_c[res.surface_type == "RoofSurface"].max()),
        "t_wall_max_c": float(res.t_surface_c[(res.surface_type == "WallSurface")
                                              & ~res.enclosed].max()),
    }
    if scenarios:
        roof = res.surface_type == "RoofSurface"
        for name, ov in (("cool_roofs", cool_roofs(0.7)), ("green_roofs", green_roofs())):
            t0 = time.perf_counter()
            sc = surface_temperatures(model, prepared=res.inputs, overrides=ov)
            out[f"{name}_s"] = time.perf_counter() - t0
            out[f"{name}_roof_peak_drop_k"] = float(
                (res.t_surface_c[roof] - sc.t_surface_c[roof]).max())
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--spinup-days", type=int, default=2)
    ap.add_argument("--sensor-spacing-m", type=float, default=2.0)
    ap.add_argument("--scenarios", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.size_m, a.seed, a.days, a.spinup_days, a.sensor_spacing_m, a.scenarios)
    for k, v in r.items():
        print(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    print()
    print("| district | surfaces | hours (+ spin-up) | total | solar / indoor / balance | "
          "surface-hours/s (balance / total) | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {r['size_m']:.0f} m, {r['buildings']} buildings | {r['surfaces']:,} | "
          f"{r['hours']} (+{r['spinup_hours']}) | {r['total_s']:.1f} s | "
          f"{r['solar_s']:.1f} / {r['indoor_s']:.1f} / {r['balance_s']:.1f} s | "
          f"{r['surface_hours_per_s_balance'] / 1e6:.2f} M / "
          f"{r['surface_hours_per_s_total'] / 1e6:.2f} M | {r['peak_rss_mib']:.0f} MiB |")


if __name__ == "__main__":
    main()
