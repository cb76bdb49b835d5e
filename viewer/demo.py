"""Demo stage ``view``: rendered views of the model, civic zones and equity of exposure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from citymodel.demo import DemoContext, DemoStage

#: Indicators the stage renders when present, in order of preference (at most three).
PREFERRED = (
    "heating_demand_kwh_m2", "irradiation_kwh_m2", "cooling_demand_kwh_m2", "t_roof_max_c",
    "t_surface_c", "tmrt_c", "utci_c", "roof_height_70p_above_ground_m", "height_m", "construction_year",
)


def _building_indicators(ctx: DemoContext, ids: list[str], table) -> dict[str, np.ndarray]:
    """Per-building values the earlier stages computed (rows as ``ids``), plus roof heights above
    ground (roof elevation minus ground elevation) where the model has both."""
    import pandas as pd

    out: dict[str, np.ndarray] = {}
    if {"h_roof_70p_m", "h_ground_m"} <= set(table.columns):
        out["roof_height_70p_above_ground_m"] = (table["h_roof_70p_m"] - table["h_ground_m"]).to_numpy(float)
    energy = ctx.results.get("energy")
    if energy is not None and isinstance(getattr(energy, "table", None), pd.DataFrame):
        t = energy.table  # indexed by building id
        for c in ("heating_demand_kwh_m2", "cooling_demand_kwh_m2", "overheating_hours"):
            if c in t.columns:
                out[c] = t[c].reindex(ids).to_numpy(float)
    pv = ctx.results.get("pv")
    if pv is not None and "building_id" in getattr(pv, "buildings", pd.DataFrame()).columns:
        t = pv.buildings.set_index("building_id")
        for c in ("pv_yield_kwh", "pv_kwp"):
            if c in t.columns:
                out[c] = t[c].reindex(ids).to_numpy(float)
    return {k: v for k, v in out.items() if np.isfinite(v).any()}
_RASTER_WORDS = ("tmrt", "utci", "t_surface", "t_air", "heat")


def _indicator_rasters(ctx: DemoContext) -> dict[str, Path]:
    out = {}
    for key, p in ctx.paths.items():
        p = Path(p)
        if p.suffix.lower() in (".tif", ".tiff") and any(w in key.lower() or w in p.name.lower()
                                                         for w in _RASTER_WORDS):
            out[key] = p
    return out


def run(ctx: DemoContext) -> None:
    """Render the model coloured by the indicators it has, zones by fragility; zonal stats and equity."""
    from citymodel.civic import building_table, equity, read_zones, write_zones, zonal_stats
    from viewer.render import render
    from viewer.scene import build_scene

    model = ctx.model
    ctx.report.heading("Views, civic zones and equity of exposure")
    if model is None:
        ctx.report.text("No city model was produced by earlier stages: nothing to view.")
        ctx.summary.append("view: no model")
        return
    rasters = _indicator_rasters(ctx)
    scene = build_scene(model, color=None)
    btable = building_table(model)
    indicators = _building_indicators(ctx, list(btable["building_id"]), btable)
    for name, v in indicators.items():
        scene.add_building_values(name, v)
    options = set(scene.color_options("buildings"))
    chosen = [n for n in PREFERRED if n in options][:3]
    figs = []
    for name in chosen or ["surface_type"]:
        scene.color_by(name)
        png = ctx.figures_dir / f"view_{name}.png"
        render(scene, png, camera="overview", window_size=(1200, 800), overwrite=True)
        ctx.report.image(png, f"Buildings seen from the south-west, coloured by "
                              f"{scene.layers['buildings'].label[:1].lower()}{scene.layers['buildings'].label[1:]}: "
                              "the colour bar gives the value of each colour; grey buildings have no value.")
        figs.append(png)
    zones_path = ctx.paths.get("zones")
    if not zones_path or not Path(zones_path).exists():
        ctx.report.text("No zone layer: civic statistics skipped.")
        ctx.summary.append(f"view: {len(figs)} figures, no zones")
        return
    zones = read_zones(zones_path, to_epsg=model.epsg) if model.epsg else read_zones(zones_path)
    frame = zonal_stats(model, zones, rasters=rasters, buildings=btable.assign(**indicators))
    out_dir = ctx.out_dir / "zones"
    gpkg, csv = out_dir / "zones_stats.gpkg", out_dir / "zones_stats.csv"
    write_zones(zones, frame, gpkg, csv=csv, overwrite=True)
    ctx.paths["zones_stats"] = gpkg
    ctx.paths["zones_stats_csv"] = csv
    ctx.results["zones"] = frame
    fr = "fragility_index" if "fragility_index" in frame.columns else None
    zscene = build_scene(model, color=None, zones=zones, zone_color=fr, zone_table=frame,
                         rasters=rasters)
    png = ctx.figures_dir / "view_zones_fragility.png"
    render(zscene, png, camera="top", window_size=(1100, 900), overwrite=True)
    ctx.report.image(png, "The civic zones seen from above, coloured by their fragility index (darker: "
                          "more fragile residents), with their names; buildings in grey.")
    figs.append(png)
    ctx.report.text(
        f"{len(zones)} zones; buildings are assigned by footprint centroid "
        f"({frame.attrs.get('unassigned_buildings', 0)} fall outside every zone); totals are summed "
        "and intensities averaged weighted by floor area (footprint area where absent). "
        f"Per-zone table: {csv.name}."
    )
    cols = [c for c in ("zone_id", "name", "population", "fragility_index", "n_buildings") if c in frame.columns]
    extra = [c for c in ("roof_height_70p_above_ground_m", "floor_area_m2", "pv_yield_kwh") if c in frame.columns]
    show = list(dict.fromkeys(cols + [c for c in chosen if c in frame.columns] + extra + [
        c for c in frame.attrs["indicators"] if c.endswith("_mean") or "_share_over_" in c][:4]))
    ctx.report.table(frame[show], caption=(
        "Indicators per zone (excerpt): totals (floor area, PV yield) are summed over the zone's "
        "buildings, per-m² demands and roof heights above ground are averaged weighted by floor "
        "area; identifiers and years are never averaged."))
    if fr is None:
        ctx.summary.append(f"view: {len(figs)} figures, {len(zones)} zones (no fragility index)")
        return
    inds = [c for c in frame.attrs["indicators"] if c in chosen or c.endswith("_mean") or "_share_over_" in c
            or c.endswith("_delta")] or frame.attrs["indicators"][:6]
    eq = equity(frame, fr, indicators=inds)
    ctx.results["equity"] = eq
    ctx.report.table(
        eq[["indicator", "mean_fragile", "mean_rest", "gap", "ratio", "concentration_index", "n_fragile",
            "n_rest", "weighted_by", "gains_most"]],
        caption=(f"Equity of exposure: zones with {fr} >= {eq.attrs['fragility_threshold']:.3g} (top "
                 "quartile) against the rest. Concentration index > 0: the indicator concentrates in "
                 "the more fragile zones."),
    )
    top = eq.iloc[int(np.nanargmax(np.abs(eq["concentration_index"].to_numpy(float))))] if len(eq) else None
    line = f"view: {len(figs)} figures, {len(zones)} zones"
    if top is not None:
        line += (f"; {top.indicator}: most fragile {top.mean_fragile:.3g} vs rest {top.mean_rest:.3g} "
                 f"(CI {top.concentration_index:+.3f})")
    ctx.summary.append(line)


STAGE = DemoStage("view", 70, "rendered views, civic zones and equity of exposure", run)
