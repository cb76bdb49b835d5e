"""Demo stage ``view``: rendered views of the model, civic zones and equity of exposure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from citymodel.demo import DemoContext, DemoStage

#: Indicators the stage renders when present, in order of preference (at most three).
PREFERRED = (
    "irradiation_kwh_m2", "heating_demand_kwh_m2", "cooling_demand_kwh_m2", "pv_yield_kwh_m2",
    "t_surface_c", "tmrt_c", "utci_c", "h_roof_70p_m", "height_m", "construction_year",
)
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
    from citymodel.civic import equity, read_zones, write_zones, zonal_stats
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
    options = set(scene.color_options("buildings"))
    chosen = [n for n in PREFERRED if n in options][:3]
    figs = []
    for name in chosen or ["surface_type"]:
        scene.color_by(name)
        png = ctx.figures_dir / f"view_{name}.png"
        render(scene, png, camera="overview", window_size=(1200, 800), overwrite=True)
        ctx.report.image(png, f"Buildings coloured by {scene.layers['buildings'].label} (overview camera).")
        figs.append(png)
    zones_path = ctx.paths.get("zones")
    if not zones_path or not Path(zones_path).exists():
        ctx.report.text("No zone layer: civic statistics skipped.")
        ctx.summary.append(f"view: {len(figs)} figures, no zones")
        return
    zones = read_zones(zones_path, to_epsg=model.epsg) if model.epsg else read_zones(zones_path)
    frame = zonal_stats(model, zones, rasters=rasters)
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
    ctx.report.image(png, "Civic zones coloured by fragility index, seen from above.")
    figs.append(png)
    ctx.report.text(
        f"{len(zones)} zones; buildings are assigned by footprint centroid "
        f"({frame.attrs.get('unassigned_buildings', 0)} fall outside every zone); totals are summed "
        "and intensities averaged weighted by floor area (footprint area where absent). "
        f"Per-zone table: {csv.name}."
    )
    cols = [c for c in ("zone_id", "name", "population", "fragility_index", "n_buildings") if c in frame.columns]
    show = cols + [c for c in chosen if c in frame.columns] + [
        c for c in frame.attrs["indicators"] if c.endswith("_mean") or "_share_over_" in c][:4]
    ctx.report.table(frame[show], caption="Indicators per zone (excerpt).")
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
