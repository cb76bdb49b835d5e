"""Demo stage ``solar``: irradiation on every roof and wall and PV potential of the district."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["run", "roof_map_figure"]

#: Sensor spacing of the demo [m] (coarser than the 1 m default, to stay quick).
DEMO_SPACING_M = 2.5


def roof_map_figure(result: Any, path: Any, title: str = "") -> None:
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
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(title or "Annual roof irradiation")
    fig.colorbar(pc, ax=ax, label="irradiation [kWh/m2/a]", shrink=0.8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(ctx: Any) -> None:
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
        res, fig, f"Annual roof irradiation, {meta['source']} weather ({meta['latitude']:.2f} N)"
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
    ctx.report.image(fig, "Annual irradiation of every roof polygon (top view), shading included.")
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
        groups, caption="Irradiation by surface group (roofs, walls by orientation), all buildings."
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
    )
    ctx.summary.append(
        f"solar: {st['n_sensors']:,} sensors, roofs {wmean(roof):.0f} / walls {wmean(wall):.0f} kWh/m2/a; "
        f"PV {b['pv_kwp'].sum():,.0f} kWp, {b['pv_yield_kwh'].sum() / 1000:,.0f} MWh/a ({st['total_s']:.0f} s)"
    )
