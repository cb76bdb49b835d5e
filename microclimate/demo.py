"""Demo stage ``heat``: street-level heat on the demo district for one clear-sky hot day.

Registered in ``pyproject.toml`` under the ``citymodel.demo_stages`` entry points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from citymodel.demo import DemoContext, DemoStage
from citymodel.errors import InputError
from citymodel.mapfig import decorate_map
from microclimate.run import run_heat
from microclimate.study import run_heat_study

__all__ = ["STAGE", "run_heat_stage", "tmrt_map_figure", "DEMO_GRID_M"]

#: Cell size of the demo's pedestrian grid [m] (coarse, to stay quick).
DEMO_GRID_M = 2.0

TMRT_LABEL = "Mean radiant temperature at the hottest hour [°C]"


def tmrt_map_figure(tmrt_c: np.ndarray, transform: Any, building_mask: np.ndarray, path: Any,
                    title: str = "", label: str = TMRT_LABEL, diverging: bool = False) -> None:
    """Map of a Tmrt raster [degC] with buildings in grey, a legend in words, north arrow and scale bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    ny, nx = tmrt_c.shape
    x0, y_top, cell = transform.c, transform.f, transform.a
    extent = (0.0, nx * cell, 0.0, ny * cell)  # local metres from the south-west corner
    fig, ax = plt.subplots(figsize=(8, 7), dpi=110)
    kw: dict[str, Any] = {"cmap": "inferno"}
    if diverging:  # a difference: blue cooler, red warmer, white unchanged
        m = float(np.nanmax(np.abs(tmrt_c))) if np.isfinite(tmrt_c).any() else 1.0
        kw = {"cmap": "RdBu_r", "vmin": -max(m, 1e-6), "vmax": max(m, 1e-6)}
    im = ax.imshow(np.ma.masked_invalid(tmrt_c), extent=extent, origin="upper", interpolation="nearest", **kw)
    ax.imshow(np.ma.masked_where(~building_mask, np.ones_like(tmrt_c)), cmap=ListedColormap(["0.75"]),
              extent=extent, origin="upper", interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label(label)
    ax.set_title(title or "Street-level heat")
    decorate_map(ax)  # north arrow (the grid is north-up) and scale bar, as every map of the toolkit
    ax.set_xlabel(f"x [m] from {x0:.0f}")
    ax.set_ylabel(f"y [m] from {y_top - ny * cell:.0f}")
    ax.text(0.01, -0.12, "grey: buildings", transform=ax.transAxes, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_heat_stage(ctx: DemoContext) -> None:
    """Run ``citymodel heat`` on ``ctx.model`` for the hottest clear-sky day; report.

    Leaves ``ctx.results["heat"]`` (:class:`microclimate.run.HeatRun`) and
    ``ctx.paths["heat"]`` (the output folder), ``ctx.paths["heat_model"]`` (the model with
    roof and wall temperatures).
    """
    model = ctx.model if ctx.model is not None else ctx.truth
    if model is None:
        raise InputError("heat stage: no city model in the demo context (run the synth stage first)")
    out = ctx.out_dir / "heat"
    run = run_heat(out_dir=out, model=model, weather="clearsky", period="hottest-1d", grid_m=DEMO_GRID_M,
                   overwrite=True, progress=not ctx.quiet, hottest_hour_map=True)
    ctx.results["heat"] = run
    ctx.paths["heat"] = out
    if "model" in run.paths:
        ctx.paths["heat_model"] = run.paths["model"]
        _copy_surface_maxima(run.paths["model"], model)
    for name in ("tmrt_max_c", "utci_max_c"):  # the view stage drapes these on the terrain
        if (out / f"{name}.tif").exists():
            ctx.paths[name] = out / f"{name}.tif"
    f = run.summary["figures"]
    fc = run.summary["forcing"]
    t = run.summary["timings"]
    fig = ctx.figures_dir / "heat_tmrt.png"
    hot = run.hottest_time
    tmrt_map_figure(run.tmrt_hottest_hour_c, run.rasters.transform, np.isnan(run.result.tmrt_max_c), fig,
                    title=f"Tmrt at 1.1 m, {hot:%Y-%m-%d}, hour ending {hot:%H:%M} (UTC{hot:%z})")
    ctx.report.heading("Street-level heat")
    surf = run.summary.get("surfaces") or {}
    surf_txt = ""
    if surf:
        surf_txt = (f" Roofs reach {surf['roof_t_surface_max_c']:.0f} °C and walls "
                    f"{surf['wall_t_surface_max_c']:.0f} °C at most (t_surface_max_c in heat.city.json).")
    ctx.report.text(
        f"`citymodel heat` on the district at a {DEMO_GRID_M:g} m grid ({f['n_open_cells']:,} open cells) for "
        f"the hottest day of a clear-sky year ({fc['period'][0]}, air up to {fc['t_air_max_c']:.1f} °C). "
        f"Maximum Tmrt {f['tmrt_max_c']:.1f} °C, maximum UTCI {f['utci_max_c']:.1f} °C; "
        f"{f['strong_heat_area_m2']:,.0f} m² of street space have at least one hour of strong heat stress "
        f"(UTCI > 32 °C), up to {f['strong_heat_hours_max']:.0f} h.{surf_txt} Preparation "
        f"{t['prepare_s']:.1f} s, {1000 * t['per_step_s']:.0f} ms per hourly step. Assumptions: "
        + "; ".join(run.summary["fallbacks"]) + "."
    )
    ctx.report.image(fig, "Mean radiant temperature at 1.1 m above ground at the hottest hour of the day; "
                          "buildings grey, north up.")
    _scenarios(ctx, model)
    ctx.summary.append(
        f"heat: Tmrt max {f['tmrt_max_c']:.1f} °C, UTCI max {f['utci_max_c']:.1f} °C, up to "
        f"{f['strong_heat_hours_max']:.0f} h of strong heat stress (UTCI > 32 °C) on {fc['period'][0]}"
    )


def _copy_surface_maxima(path: Any, model: Any) -> None:
    """Per-building roof and wall maxima of heat.city.json onto ``model``, for the view stage."""
    from citymodel.io import read

    heat = read(path)
    for bid in model.building_ids():
        src = (heat.city_objects.get(bid) or {}).get("attributes") or {}
        dst = model.city_objects[bid].setdefault("attributes", {})
        for key in ("t_roof_max_c", "t_wall_max_c"):
            if key in src:
                dst[key] = src[key]


#: Scenarios the demo compares (each reuses the baseline's geometry where it can).
DEMO_SCENARIOS = ("cool-roofs", "trees", "light-paving")


def _scenarios(ctx: DemoContext, model: Any) -> None:
    """Heat island and mitigation scenarios per civic zone; the best scenario's Tmrt change."""
    import rasterio

    zones = ctx.paths.get("zones")
    out = ctx.out_dir / "heat_study"
    res = run_heat_study(model, "clearsky", out_dir=out, period="hottest-1d", zones=zones,
                         fragility="fragility_index" if zones else None,
                         population_field="population" if zones else None,
                         scenarios=DEMO_SCENARIOS, grid_m=DEMO_GRID_M)
    ctx.results["heat_study"] = res
    ctx.paths["heat_study"] = out
    sc = res.scenarios
    by = sc.groupby("scenario")[["d_tmrt_mean_c", "d_strong_heat_hours", "d_t_canopy_max_c"]].mean()
    best = str(by["d_tmrt_mean_c"].idxmin())
    with rasterio.open(out / best / "delta_tmrt_max_c.tif") as src:
        delta = src.read(1, masked=True).filled(np.nan).astype(np.float64)
        transform = src.transform
    with rasterio.open(out / "tmrt_max_c.tif") as src:
        buildings = np.isnan(src.read(1, masked=True).filled(np.nan).astype(np.float64))
    fig = ctx.figures_dir / "heat_best_scenario.png"
    tmrt_map_figure(np.where(buildings, np.nan, delta), transform, buildings, fig,
                    title=f"Change of the highest Tmrt with '{best}'", diverging=True,
                    label="Change of the highest mean radiant temperature [K]")
    uhi_night = res.zones["uhi_night_k"]  # the study's own night window (22-05 h)
    ctx.report.heading("Heat island and mitigation scenarios")
    ctx.report.text(
        f"The canopy air temperature of each neighbourhood (an urban canopy energy balance driven by the "
        f"surfaces' own heat, in the family of the Urban Weather Generator) is {uhi_night.mean():.1f} K "
        f"warmer than the countryside at night on average. Three measures were tried on the same hot day: "
        f"{', '.join(DEMO_SCENARIOS)}. The one lowering street-level Tmrt most is '{best}'."
    )
    ctx.report.image(fig, f"Where '{best}' changes the highest mean radiant temperature of the day: blue "
                          "cooler, red warmer, white unchanged; buildings grey.", synthetic_weather=True)
    table = sc[["scenario", "zone_id", "d_tmrt_mean_c", "d_tmrt_max_c", "d_strong_heat_hours",
                "d_t_canopy_max_c", "m2_treated", "trees_planted"]].rename(columns={
        "d_tmrt_mean_c": "change of mean Tmrt [K]", "d_tmrt_max_c": "change of highest Tmrt [K]",
        "d_strong_heat_hours": "change of strong-heat hours [h]",
        "d_t_canopy_max_c": "change of highest canopy air temperature [K]",
        "m2_treated": "area treated [m²]", "trees_planted": "trees planted"})
    ctx.report.table(table, caption="Per scenario and zone: the change against today (negative: cooler, "
                                    "fewer hours of strong heat stress) and what it takes.", synthetic_weather=True)
    if len(res.equity):
        ctx.report.table(res.equity, caption="Who is exposed: person-hours of strong heat stress (UTCI > 32 °C) "
                                             "and their concentration index against fragility (above zero: the "
                                             "more fragile zones carry more of it), today and with each measure.")
    ctx.summary.append(
        f"heat study: night heat island {uhi_night.mean():.1f} K; best measure '{best}' "
        f"(mean Tmrt {by.loc[best, 'd_tmrt_mean_c']:+.2f} K, strong-heat hours "
        f"{by.loc[best, 'd_strong_heat_hours']:+.1f} h per zone)"
    )


STAGE = DemoStage("heat", 60, "street-level Tmrt, UTCI and heat stress on a clear-sky hot day", run_heat_stage)
