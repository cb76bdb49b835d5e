"""Demo stage ``energy``: hourly heating/cooling demand of the district and a retrofit scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd

from citymodel.demo import DemoContext

__all__ = ["run"]


def _figure(table: pd.DataFrame, scen: pd.DataFrame, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    t = table.assign(period=table["archetype_id"].str.slice(7))
    g = t.groupby("period")[["heating_demand_kwh_m2", "cooling_demand_kwh_m2"]].median().sort_index()
    g.plot.bar(ax=ax[0], color=["#c0392b", "#2e86c1"])
    ax[0].set_ylabel("median demand [kWh/m2 a]")
    ax[0].set_xlabel("construction period (archetype)")
    ax[0].set_title("Demand by construction period")
    s = scen[scen.scenario != "baseline"].groupby("scenario")[["delta_heating_kwh", "delta_cooling_kwh"]].sum() / 1e3
    s.plot.barh(ax=ax[1], color=["#c0392b", "#2e86c1"])
    ax[1].set_xlabel("change over the district [MWh/a]")
    ax[1].set_title("Retrofit scenarios")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(ctx: DemoContext) -> None:
    """Simulate ``ctx.model`` for its site, compare two retrofit scenarios, report.

    Uses ``ctx.results["weather"]`` (else a clear-sky year at the model's site) and the shaded
    hourly irradiance ``ctx.results["solar_buildings"]`` of the solar stage when present.
    Leaves ``ctx.results["energy"]`` (:class:`~energy.demand.simulate.EnergyResult`),
    ``ctx.results["energy_scenarios"]`` and ``ctx.paths["energy"]`` / ``["energy_gpkg"]``.
    """
    from citymodel.io import write
    from energy.demand.scenarios import Retrofit, run_scenarios
    from energy.demand.simulate import simulate
    from energy.weather import load_weather

    model = ctx.model if ctx.model is not None else ctx.truth
    if model is None:
        raise RuntimeError("the energy stage needs a city model (run the synth stage first)")
    weather = ctx.results.get("weather") or load_weather("clearsky", model)
    solar = ctx.results.get("solar_buildings")
    if solar is None and ctx.results.get("solar") is not None:
        solar = getattr(ctx.results["solar"], "buildings", None)
    res = simulate(model, weather, solar=solar, progress=not ctx.quiet)
    scen = run_scenarios(model, weather, [
        Retrofit("envelope: +10 cm walls, +12 cm roof, U 1.3 windows", wall_insulation_m=0.10,
                 roof_insulation_m=0.12, window_u_w_m2k=1.3, window_g=0.6),
        Retrofit("cool roofs (albedo 0.8)", roof_albedo=0.8),
    ], solar=solar)
    out_model = model.copy()
    res.write_attributes(out_model)
    path = ctx.out_dir / "energy.city.json"
    write(out_model, path, overwrite=True)
    gpkg = ctx.out_dir / "energy.gpkg"
    res.to_gpkg(gpkg, out_model, overwrite=True)
    fig = ctx.figures_dir / "energy_demand.png"
    _figure(res.table, scen, fig)
    ctx.paths["energy"] = path
    ctx.paths["energy_gpkg"] = gpkg
    ctx.results["energy"] = res
    ctx.results["energy_scenarios"] = scen

    t = res.table
    meta = res.weather_meta
    ctx.report.heading("Building energy demand")
    ctx.report.text(
        f"Hourly RC model (ISO 52016-1 family, verified against ASHRAE 140) for {len(t)} buildings "
        f"({len(res.skipped)} skipped), Italian TABULA-style archetypes from each building's use and "
        f"construction year, {meta.get('source', '')} weather at {meta['latitude']:.2f} N, "
        f"{'shaded irradiance from the solar stage' if solar is not None else 'unshaded irradiance'}."
    )
    ctx.report.image(fig, "Median heating and cooling demand per construction period, and the district-wide "
                          "change of two retrofit scenarios.")
    by = t.groupby("archetype_id").agg(
        buildings=("floor_area_m2", "size"), floor_area_m2=("floor_area_m2", "sum"),
        heating_kwh_m2=("heating_demand_kwh_m2", "median"), cooling_kwh_m2=("cooling_demand_kwh_m2", "median"),
        overheating_hours=("overheating_hours", "median"),
    ).reset_index()
    ctx.report.table(by, caption="Per archetype: medians of demand per m2 of floor and of free-running "
                                 "hours above 26 C operative.")
    s = scen.groupby("scenario")[["heating_demand_kwh", "cooling_demand_kwh"]].sum().div(1e3).reset_index()
    s.columns = ["scenario", "heating_mwh", "cooling_mwh"]
    ctx.report.table(s, caption="District totals per scenario [MWh/a].")
    heat = t.heating_demand_kwh.sum() / 1e3
    cool = t.cooling_demand_kwh.sum() / 1e3
    env_row = s[s.scenario.str.startswith("envelope")]
    saving = 100 * (1 - float(env_row.heating_mwh.iloc[0]) / heat) if heat > 0 and len(env_row) else np.nan
    ctx.summary.append(
        f"energy: {len(t)} buildings, heating {heat:.0f} MWh/a, cooling {cool:.0f} MWh/a; envelope retrofit "
        f"saves {saving:.0f} % of heating"
    )
