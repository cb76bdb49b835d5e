"""Benchmark: canopy heat island against UWG, and a heat study of the synthetic district.

Usage::

    .venv/bin/python benchmarks/heat_island.py [--uwg-days 14] [--size-m 400] [--grid-m 2]
        [--no-uwg] [--no-study] [--append-docs]     (--grid-m takes several sizes)

1. **UWG comparison.** A regular district (5 x 5 blocks of 20 x 20 x 15 m, streets 8.3 m:
   building density 0.5, height 15 m, vertical-to-horizontal ratio 1.5, H/W 1.8; grass 10 %
   and trees 10 % of the ground) under the Torino EPW (``../shared/data/weather/``) from
   1 July for ``--uwg-days`` days. UWG (``uwg`` on PyPI, ``from_param_args`` with the same
   density, height, ratio, vegetation, road albedo 0.1, traffic 20 W/m2, climate zone 4A) and
   our canopy model (:mod:`microclimate.canopy` fed with the roofs' and walls' sensible heat of
   :mod:`microclimate.surfaces` and the energy model's waste heat) report the hourly heat
   island ``T_canopy - T_rural``; printed: mean diurnal cycle, night-time (22-05 h) and
   afternoon (13-16 h) means, and the response of each model to roofs going from albedo 0.2
   to 0.7 and to the tree cover doubling.
2. **Heat study timing.** :func:`microclimate.study.run_heat_study` on the synthetic district
   (``--size-m``, seed 3), a 3-day heatwave (clear sky, hottest 3 days), baseline and the four
   built-in scenarios, end to end (goal < 5 min on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

# benchmarks/energy.py would shadow the ``energy`` package when run as a script
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROOT = Path(__file__).resolve().parents[1]
EPW = ROOT.parent / "shared" / "data" / "weather" / "ITA_PM_Torino.AF.160595_TMYx.epw"
#: The regular district (both models).
BLD_M, STREET_M, HEIGHT_M, N_BLOCKS = 20.0, 8.28, 15.0, 5
GRASS, TREES = 0.1, 0.1
TRAFFIC_W_M2_SITE = 20.0


def _district():
    from tests.solids import model_with_boxes

    x0, y0 = 395000.0, 4990000.0  # UTM 32N, Torino
    p = BLD_M + STREET_M
    specs = [(x0 + i * p, y0 + j * p, BLD_M, BLD_M, HEIGHT_M)
             for i in range(N_BLOCKS) for j in range(N_BLOCKS)]
    return model_with_boxes(*specs)


def run_uwg(days: int, albroof: float | None = None, treecover: float = TREES):
    """UWG's hourly canopy and rural air temperature [degC] from 1 July (DataFrame)."""
    import pandas as pd
    from uwg import UWG

    lam = BLD_M ** 2 / (BLD_M + STREET_M) ** 2
    vh = 4 * BLD_M * HEIGHT_M / (BLD_M + STREET_M) ** 2
    m = UWG.from_param_args(bldheight=HEIGHT_M, blddensity=round(lam, 3), vertohor=round(vh, 3),
                            grasscover=GRASS, treecover=treecover, zone="4A", month=7, day=1,
                            nday=days, epw_path=str(EPW), new_epw_dir="/tmp",
                            new_epw_name="uwg_torino.epw", albroad=0.1,
                            sensanth=TRAFFIC_W_M2_SITE)
    if albroof is not None:
        m.albroof = albroof
    with contextlib.redirect_stdout(io.StringIO()):
        m.generate()
        m.simulate()
    t_can = [u.canTemp - 273.15 for u in m.UCMData]
    t_rur = [w.temp - 273.15 for w in m.WeatherData]
    idx = pd.date_range("2012-07-01 01:00", periods=len(t_can), freq="h")
    return pd.DataFrame({"t_canopy_c": t_can, "t_rural_c": t_rur}, index=idx)


def run_ours(days: int, roof_albedo: float = 0.2, tree_fraction: float = TREES):
    """Our canopy model on the regular district, hourly (DataFrame) and timings."""
    import numpy as np
    import pandas as pd

    from microclimate.canopy import canopy_air_temperature
    from microclimate.neighbourhoods import grid_blocks, neighbourhoods, surface_heat_by_zone
    from microclimate.study import energy_waste_heat
    from microclimate.surfaces import SurfaceOverride, surface_temperatures

    model = _district()
    t0 = time.perf_counter()
    end = pd.Timestamp("2012-07-01") + pd.Timedelta(days=days - 1)
    st = surface_temperatures(model, str(EPW), period=f"2012-07-01:{end.date()}",
                              spinup_days=3, overrides=SurfaceOverride("roof",
                                                                       albedo=roof_albedo))
    p = BLD_M + STREET_M
    x0, y0 = model.vertices[:, 0].min(), model.vertices[:, 1].min()
    zones = grid_blocks([x0 - STREET_M / 2, y0 - STREET_M / 2, x0 - STREET_M / 2 + N_BLOCKS * p,
                         y0 - STREET_M / 2 + N_BLOCKS * p], N_BLOCKS * p)
    nb, bz = neighbourhoods(model, st, zones=zones)
    nb.veg_fraction[:] = GRASS / (1 - TREES)  # grass on the ground not under trees
    nb.tree_fraction[:] = tree_fraction
    inp = st.inputs
    waste, _, _ = energy_waste_heat(model, inp)
    qw, qr = surface_heat_by_zone(st, bz, len(nb))
    q_anthro = waste.sum(axis=0)[None, :]
    lam = nb.building_fraction[0]
    traffic = TRAFFIC_W_M2_SITE / ((1 - lam) * (1 - nb.veg_fraction[0]))
    r = canopy_air_temperature(nb, inp.weather.iloc[inp.sequence], inp.meta, n_spin=inp.n_spin,
                               q_walls_w=qw, q_roofs_w=qr, q_anthro_w=q_anthro,
                               traffic_w_m2=traffic)
    out = pd.DataFrame({"t_canopy_c": r.t_canopy_c[0], "t_rural_c": r.t_rural_c},
                       index=r.times.tz_localize(None) if r.times.tz else r.times)
    return out, time.perf_counter() - t0, nb, float(np.mean(r.q_roof_w_m2))


def _summary(df):
    uhi = df["t_canopy_c"] - df["t_rural_c"]
    h = (df.index - __import__("pandas").Timedelta(hours=1)).hour  # hour-ending -> start
    night = uhi[(h >= 22) | (h <= 4)].mean()
    aft = uhi[(h >= 13) & (h <= 15)].mean()
    return uhi, float(night), float(aft), uhi.groupby(h).mean()


def uwg_comparison(days: int) -> list[str]:
    lines = []
    t0 = time.perf_counter()
    u = run_uwg(days)
    t_uwg = time.perf_counter() - t0
    o, t_ours, nb, _ = run_ours(days)
    _, un, ua, ucyc = _summary(u)
    _, on, oa, ocyc = _summary(o)
    # sensitivity: roofs 0.2 -> 0.7, trees 10 % -> 20 %
    u_cool = _summary(run_uwg(days, albroof=0.7))
    u_cool02 = _summary(run_uwg(days, albroof=0.2))
    u_tree = _summary(run_uwg(days, treecover=2 * TREES))
    o_cool = _summary(run_ours(days, roof_albedo=0.7)[0])
    o_tree = _summary(run_ours(days, tree_fraction=2 * TREES)[0])

    def peak(df_a, df_b):
        """Largest hourly drop of the canopy air between two runs [K]."""
        return float((df_a["t_canopy_c"] - df_b["t_canopy_c"]).max())

    lines.append(f"Torino EPW (2012), 1 July + {days} days; district: density "
                 f"{nb.building_fraction[0]:.2f}, height {HEIGHT_M:g} m, H/W "
                 f"{nb.aspect_ratio[0]:.2f}, vertical/horizontal "
                 f"{nb.wall_area_m2[0] / nb.site_area_m2[0]:.2f}; UWG {t_uwg:.0f} s, ours "
                 f"{t_ours:.0f} s (incl. solar solve and energy model)")
    lines.append("")
    lines.append("| heat island [K] | UWG | ours |")
    lines.append("|---|---|---|")
    lines.append(f"| night mean (22-05 h) | {un:.2f} | {on:.2f} |")
    lines.append(f"| afternoon mean (13-16 h) | {ua:.2f} | {oa:.2f} |")
    lines.append(f"| night change, roofs albedo 0.2 -> 0.7 | {u_cool[1] - u_cool02[1]:+.3f} | "
                 f"{o_cool[1] - on:+.3f} |")
    lines.append(f"| afternoon change, roofs albedo 0.2 -> 0.7 | {u_cool[2] - u_cool02[2]:+.3f}"
                 f" | {o_cool[2] - oa:+.3f} |")
    lines.append(f"| largest hourly drop, roofs albedo 0.2 -> 0.7 | "
                 f"{peak(run_uwg(days, albroof=0.2), run_uwg(days, albroof=0.7)):.3f} | "
                 f"{peak(o, run_ours(days, roof_albedo=0.7)[0]):.3f} |")
    lines.append(f"| night change, tree cover 10 -> 20 % | {u_tree[1] - un:+.3f} | "
                 f"{o_tree[1] - on:+.3f} |")
    lines.append(f"| afternoon change, tree cover 10 -> 20 % | {u_tree[2] - ua:+.3f} | "
                 f"{o_tree[2] - oa:+.3f} |")
    lines.append("")
    lines.append("Mean diurnal cycle of the heat island [K] (hour of the day, start of the hour):")
    lines.append("")
    lines.append("| hour | " + " | ".join(str(k) for k in range(0, 24, 2)) + " |")
    lines.append("|---|" + "---|" * 12)
    lines.append("| UWG | " + " | ".join(f"{ucyc.get(k, float('nan')):.1f}"
                                          for k in range(0, 24, 2)) + " |")
    lines.append("| ours | " + " | ".join(f"{ocyc.get(k, float('nan')):.1f}"
                                           for k in range(0, 24, 2)) + " |")
    return lines


def study_timing(size_m: float, grid_m: float) -> list[str]:
    import resource
    import tempfile

    from citymodel.synth import district_to_citymodel, make_district
    from microclimate.scenarios import BUILTIN_SCENARIOS
    from microclimate.study import run_heat_study

    model = district_to_citymodel(make_district(seed=3, size_m=size_m))
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        res = run_heat_study(model, "clearsky", out_dir=d, period="hottest-3d",
                             scenarios=list(BUILTIN_SCENARIOS), grid_m=grid_m)
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = res.timings
    by = res.scenarios.groupby("scenario").mean(numeric_only=True)
    row = [f"| {size_m:g} m, {len(model.building_ids())} buildings, grid {grid_m:g} m | "
             f"{total:.0f} s | {t.get('surfaces_s', 0):.0f} s | {t.get('grid_prepare_s', 0):.0f} s"
             f" | " + " / ".join(f"{t.get(f'scenario_{n}_s', 0):.0f}" for n in BUILTIN_SCENARIOS)
             + f" s | {rss:.0f} MiB |"]
    changes = [f"Per-zone means (grid {grid_m:g} m) of the changes (scenario - baseline):", "",
               "| scenario | Tmrt mean [K] | strong-heat hours | ground max [K] | roofs/walls max "
               "[K] | canopy max [K] | night UHI [K] | overheating h | m2 treated | trees |",
               "|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in by.iterrows():
        changes.append(f"| {n} | {r.d_tmrt_mean_c:+.2f} | {r.d_strong_heat_hours:+.2f} | "
                     f"{r.d_t_ground_max_c:+.2f} | {r.d_t_surface_max_c:+.2f} | "
                     f"{r.d_t_canopy_max_c:+.3f} | {r.d_uhi_night_k:+.3f} | "
                     f"{r.d_overheating_hours:+.1f} | {r.m2_treated:.0f} | "
                     f"{r.trees_planted:.0f} |")
    return row[0], changes


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uwg-days", type=int, default=14)
    ap.add_argument("--size-m", type=float, default=400.0)
    ap.add_argument("--grid-m", type=float, nargs="+", default=[2.0])
    ap.add_argument("--no-uwg", action="store_true")
    ap.add_argument("--no-study", action="store_true")
    ap.add_argument("--append-docs", action="store_true",
                    help="append the tables to docs/benchmarks.md")
    a = ap.parse_args(argv)
    out = []
    if not a.no_uwg:
        out += uwg_comparison(a.uwg_days)
    if not a.no_study:
        out += ["", "Heat study, end to end (clear sky, hottest 3 days, baseline + 4 scenarios):",
                "", "| district | total | surfaces | grid geometry | cool / green / trees / paving"
                " | peak RSS |", "|---|---|---|---|---|---|"]
        changes = None
        for g in a.grid_m:
            row, c = study_timing(a.size_m, g)
            out.append(row)
            changes = changes or c
        out += [""] + changes
    text = "\n".join(out)
    print(text)
    if a.append_docs:
        with open(ROOT / "docs" / "benchmarks.md", "a", encoding="utf-8") as f:
            f.write("\n## Heat island and scenarios: `benchmarks/heat_island.py`\n\n" + text + "\n")


if __name__ == "__main__":
    main()
