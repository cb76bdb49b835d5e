"""Demo stages ``solar`` (irradiation on every roof and wall, PV potential of the district) and
``energy`` (hourly heating/cooling demand of the district and a retrofit scenario).

Registered in ``pyproject.toml`` under the ``citymodel.demo_stages`` entry points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from citymodel.demo import DemoContext, DemoStage
from citymodel.mapfig import decorate_map

__all__ = ["SOLAR_STAGE", "ENERGY_STAGE", "run_solar", "run_energy", "roof_map_figure"]

#: Sensor spacing of the demo [m] (coarser than the 1 m default, to stay quick).
DEMO_SPACING_M = 2.5


def roof_map_figure(result: Any, path: Any, title: str = "", epsg: int | None = None) -> None:
    """Top view of the roof polygons coloured by annual irradiation [kWh/m2/a], as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    t = result.table
    roof = np.flatnonzero(result.kind == 0)
    ts = t.triangle_surface
    sel = np.flatnonzero(np.isin(ts, roof))
    tri = t.vertices[t.triangles[sel]]  # (m, 3, 3)
    order = np.argsort(tri[:, :, 2].mean(axis=1))  # higher roofs drawn last
    tri = tri[order]
    val = result.surface_annual_kwh_m2[ts[sel][order]]
    fig, ax = plt.subplots(figsize=(8, 7), dpi=110)
    walls = np.flatnonzero(np.isin(ts, np.flatnonzero(result.kind == 1)))
    if walls.size:  # footprints as a light outline context
        wt = t.vertices[t.triangles[walls]][:, :, :2]
        ax.add_collection(PolyCollection(wt, facecolors="none", edgecolors="0.85", linewidths=0.2))
    pc = PolyCollection(tri[:, :, :2], array=val, cmap="inferno", edgecolors="face", linewidths=0.1)
    pc.set_clim(np.nanpercentile(val, 2), np.nanpercentile(val, 99.5))
    ax.add_collection(pc)
    ax.autoscale_view()
    ax.set_aspect("equal")
    decorate_map(ax, epsg=epsg)
    ax.set_title(title or "Annual roof irradiation")
    fig.colorbar(pc, ax=ax, label="Solar irradiation on the roof [kWh/m² per year]", shrink=0.8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_solar(ctx: DemoContext) -> None:
    """Irradiate ``ctx.model`` with a clear-sky year at its site; write ``solar.city.json``.

    Leaves ``ctx.results["solar"]`` (:class:`~energy.solar.SolarResult`, whose ``.buildings``
    is the hourly :class:`~energy.solar.BuildingIrradiance`), ``ctx.results["solar_buildings"]``
    (the same BuildingIrradiance), ``ctx.results["pv"]`` (:class:`~energy.pv.PVResult`) and
    ``ctx.results["weather"]`` (the ``(DataFrame, metadata)`` used); ``ctx.paths["solar"]``,
    ``ctx.paths["solar_roofs"]`` (GeoPackage).
    """
    from citymodel.errors import InputError
    from citymodel.io import write
    from citymodel.surfaces import split_semantic_surfaces
    from energy.pv import pv_potential, write_pv_attributes, write_roofs_gpkg
    from energy.solar import irradiate, write_solar_attributes
    from energy.weather import load_weather

    model = ctx.model if ctx.model is not None else ctx.truth
    if model is None:
        raise InputError(
            "solar stage: no city model in the demo context (run the synth stage first)"
        )
    model = model.copy()
    split_semantic_surfaces(model)
    weather = ctx.results.get("weather") or load_weather("clearsky", model)
    res = irradiate(model, weather, sensor_spacing_m=DEMO_SPACING_M, progress=not ctx.quiet)
    pv = pv_potential(res)
    write_solar_attributes(model, res)
    write_pv_attributes(model, pv)
    out = ctx.out_dir / "solar.city.json"
    write(model, out, overwrite=True)
    gpkg = ctx.out_dir / "solar_roofs.gpkg"
    write_roofs_gpkg(res, pv, gpkg, epsg=model.epsg, overwrite=True)
    ctx.paths["solar"] = out
    ctx.paths["solar_roofs"] = gpkg
    ctx.results["solar"] = res
    ctx.results["solar_buildings"] = res.buildings
    ctx.results["pv"] = pv
    ctx.results["weather"] = weather

    fig = ctx.figures_dir / "solar_roof_irradiation.png"
    meta = res.weather_meta
    roof_map_figure(
        res, fig, f"Annual roof irradiation, {meta['source']} weather ({meta['latitude']:.2f} N)",
        epsg=model.epsg,
    )
    t = res.table
    roof, wall = res.kind == 0, res.kind == 1
    ann = res.surface_annual_kwh_m2

    def wmean(mask: np.ndarray) -> float:
        return (
            float(np.nansum(ann[mask] * t.area_m2[mask]) / t.area_m2[mask].sum())
            if mask.any()
            else np.nan
        )

    st = res.stats
    b = pv.buildings.sort_values("pv_yield_kwh", ascending=False)
    ctx.report.heading("Solar irradiation and PV potential")
    ctx.report.text(
        f"Clear-sky year (pvlib Ineichen, Linke turbidity climatology) at {meta['latitude']:.3f} N, "
        f"{meta['longitude']:.3f} E; Perez sky on {st['n_sky_rays_per_sensor']} sky rays per sensor "
        f"(Tregenza 145 patches + horizon band), direct sun on {st['n_sun_bins']} sun-position bins "
        f"of 1 deg for {st['n_sun_hours']} sun-up hours; buildings, terrain and "
        f"{sum(1 for o in model.city_objects.values() if o.get('type') == 'SolitaryVegetationObject')} "
        f"tree crowns cast shadows. {st['n_sensors']:,} sensors every {DEMO_SPACING_M} m on "
        f"{st['n_surfaces']:,} roof and wall surfaces, {st['n_rays']:,} rays, {st['total_s']:.1f} s. "
        f"Mean irradiation: roofs {wmean(roof):.0f}, walls {wmean(wall):.0f} kWh/m2/a."
    )
    synthetic = meta.get("source") == "clearsky"
    ctx.report.image(fig, "Yearly solar energy on every roof polygon seen from above, shading by "
                          "buildings and trees included: brighter roofs receive more sun and suit "
                          "PV best; dark patches are shaded.", synthetic_weather=synthetic)
    groups = pd.DataFrame(
        {
            "group": list(res.buildings.groups),
            "area_m2": res.buildings.area_m2.sum(axis=0),
            "mean_irradiation_kwh_m2": (
                (
                    res.buildings.irradiance_w_m2.astype(np.float64).sum(axis=2)
                    / 1000.0
                    * res.buildings.area_m2
                ).sum(0)
                / np.maximum(res.buildings.area_m2.sum(0), 1e-9)
            ),
        }
    )
    ctx.report.table(
        groups, caption="Irradiation by surface group (roofs, walls by orientation), all buildings.",
        synthetic_weather=synthetic,
    )
    top = b.head(10)[
        [
            "building_id",
            "roof_area_m2",
            "pv_area_m2",
            "pv_kwp",
            "pv_yield_kwh",
            "specific_yield_kwh_kwp",
        ]
    ]
    total = pd.DataFrame(
        [
            {
                "building_id": f"all {len(b)} buildings",
                "roof_area_m2": b["roof_area_m2"].sum(),
                "pv_area_m2": b["pv_area_m2"].sum(),
                "pv_kwp": b["pv_kwp"].sum(),
                "pv_yield_kwh": b["pv_yield_kwh"].sum(),
                "specific_yield_kwh_kwp": b["pv_yield_kwh"].sum() / max(b["pv_kwp"].sum(), 1e-9),
            }
        ]
    )
    ctx.report.table(
        pd.concat([top, total], ignore_index=True),
        caption=(
            "Rooftop PV potential, the 10 largest producers and the district (module efficiency "
            f"{pv.params['module_efficiency']:.0%}, performance ratio {pv.params['performance_ratio']:.0%}, "
            f"roof areas over {pv.params['min_irradiation_kwh_m2']:.0f} kWh/m2/a, {pv.params['setback_m']} m "
            "edge setback)."
        ),
        synthetic_weather=synthetic,
    )
    ctx.summary.append(
        f"solar: {st['n_sensors']:,} sensors, roofs {wmean(roof):.0f} / walls {wmean(wall):.0f} kWh/m2/a; "
        f"PV {b['pv_kwp'].sum():,.0f} kWp, {b['pv_yield_kwh'].sum() / 1000:,.0f} MWh/a ({st['total_s']:.0f} s)"
    )


def _energy_figure(table: pd.DataFrame, scen: pd.DataFrame, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(13, 4.2))
    t = table.assign(period=table["archetype_id"].str.slice(7))
    g = t.groupby("period")[["heating_demand_kwh_m2", "cooling_demand_kwh_m2"]].median().sort_index()
    g.columns = ["Heating", "Cooling"]
    g.plot.bar(ax=ax[0], color=["#c0392b", "#2e86c1"])
    ax[0].legend(title="Demand", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax[0].set_ylabel("median demand [kWh/m² of floor per year]")
    ax[0].set_xlabel("construction period (archetype)")
    ax[0].set_title("Demand by construction period")
    s = scen[scen.scenario != "baseline"].groupby("scenario")[["delta_heating_kwh", "delta_cooling_kwh"]].sum() / 1e3
    s.columns = ["Heating", "Cooling"]
    s.plot.barh(ax=ax[1], color=["#c0392b", "#2e86c1"])
    ax[1].legend(title="Change in", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax[1].axvline(0.0, color="#333333", lw=0.8)
    ax[1].set_xlabel("change over the district [MWh per year] (below zero: saved)")
    ax[1].set_title("Retrofit scenarios")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_energy(ctx: DemoContext) -> None:
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
    _energy_figure(res.table, scen, fig)
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
    synthetic = meta.get("source") == "clearsky"
    ctx.report.image(fig, "Left: median heating and cooling demand per m2 of floor by construction "
                          "period (older buildings need more heat). Right: how much the district's "
                          "total demand changes under two retrofit scenarios (below zero: saved).",
                     synthetic_weather=synthetic)
    by = t.groupby("archetype_id").agg(
        buildings=("floor_area_m2", "size"), floor_area_m2=("floor_area_m2", "sum"),
        heating_kwh_m2=("heating_demand_kwh_m2", "median"), cooling_kwh_m2=("cooling_demand_kwh_m2", "median"),
        overheating_hours=("overheating_hours", "median"),
    ).reset_index()
    ctx.report.table(by, caption="Per archetype: medians of demand per m2 of floor and of free-running "
                                 "hours above 26 C operative.", synthetic_weather=synthetic)
    s = scen.groupby("scenario")[["heating_demand_kwh", "cooling_demand_kwh"]].sum().div(1e3).reset_index()
    s.columns = ["scenario", "heating_mwh", "cooling_mwh"]
    ctx.report.table(s, caption="District totals per scenario [MWh/a].", synthetic_weather=synthetic)
    heat = t.heating_demand_kwh.sum() / 1e3
    cool = t.cooling_demand_kwh.sum() / 1e3
    env_row = s[s.scenario.str.startswith("envelope")]
    saving = 100 * (1 - float(env_row.heating_mwh.iloc[0]) / heat) if heat > 0 and len(env_row) else np.nan
    ctx.summary.append(
        f"energy: {len(t)} buildings, heating {heat:.0f} MWh/a, cooling {cool:.0f} MWh/a; envelope retrofit "
        f"saves {saving:.0f} % of heating"
    )


SOLAR_STAGE = DemoStage("solar", 40, "shaded irradiation and PV potential on every roof and wall", run_solar)
ENERGY_STAGE = DemoStage("energy", 50, "hourly heating/cooling demand and a retrofit scenario", run_energy)
