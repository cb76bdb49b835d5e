"""``citymodel heat``: street-level mean radiant temperature, UTCI and surface temperatures.

Registered in ``pyproject.toml`` under the ``citymodel.commands`` entry points.
"""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, executor_opts, is_quiet, order, overwrite_opt


@order(110)
@click.command("heat")
@click.argument("model_path", required=False, metavar="[MODEL.city.json]",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--dsm", default=None, type=click.Path(exists=True, dir_okay=False), metavar="DSM.tif",
              help="Raster route: ground + buildings surface model [m] (SOLWEIG's DSM).")
@click.option("--dem", default=None, type=click.Path(exists=True, dir_okay=False), metavar="DEM.tif",
              help="Ground model [m]: required with --dsm; with a city model it replaces the model's terrain.")
@click.option("--cdsm", default=None, type=click.Path(exists=True, dir_okay=False), metavar="CDSM.tif",
              help="Raster route: vegetation canopy height above ground [m], 0 = none.")
@click.option("--landcover", default=None, type=click.Path(exists=True, dir_okay=False), metavar="LC.tif",
              help="Raster route: UMEP land-cover classes (1 paved, 2 building, 5 grass, 6 bare soil, 7 water).")
@click.option("--met", default=None, type=click.Path(exists=True, dir_okay=False), metavar="MET.txt",
              help="UMEP/SUEWS met forcing file (raster route).")
@click.option("--weather", default=None, metavar="W.epw|clearsky",
              help="EnergyPlus weather file, or 'clearsky' for a cloudless year at the site.")
@click.option("--utc-offset", "utc_offset_h", default=None, type=float, metavar="H",
              help="Hours east of UTC of the met file's local standard time (default: round(longitude/15), "
                   "recorded in summary.json).")
@click.option("--period", default=None, metavar="hottest-3d|START:END",
              help="Days to compute: the 3 hottest consecutive days, or ISO dates (inclusive). Default: the "
                   "whole met file; hottest-3d for a weather year.")
@click.option("--grid-m", default=1.0, show_default=True, type=float,
              help="City-model route: cell size of the pedestrian grid [m].")
@click.option("--points", "points_path", default=None, type=click.Path(exists=True, dir_okay=False),
              metavar="P.gpkg|P.geojson", help="Points for hourly values in DIR/points.csv.")
@click.option("--spinup-hours", default=24, show_default=True, type=int,
              help="Spin-up of ground and wall temperatures before the period [h].")
@click.option("--no-surfaces", is_flag=True, default=False,
              help="City-model route: skip the roof and wall temperatures (DIR/heat.city.json).")
@click.option("--zones", "zones_path", default=None, type=click.Path(exists=True, dir_okay=False), metavar="Z.gpkg",
              help="City-model route: neighbourhoods for the canopy air temperature, exposure and scenario "
                   "tables (default: 200 m grid blocks).")
@click.option("--fragility", default=None, metavar="FIELD",
              help="Zone field of fragility: concentration index of exposure before/after each scenario.")
@click.option("--population-field", default=None, metavar="FIELD",
              help="Zone field with the residents: person-hours of strong heat stress.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="Mitigation scenario (repeatable): cool-roofs, green-roofs, trees, light-paving.")
@click.option("--scenario-file", default=None, type=click.Path(exists=True, dir_okay=False), metavar="S.toml",
              help="Custom scenarios (TOML: which objects, which property, which value).")
@click.option("--tree-positions", default=None, type=click.Path(exists=True, dir_okay=False), metavar="T.gpkg",
              help="Points where the trees scenario plants (default: along streets).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Output folder: tmrt_max_c.tif, utci_max_c.tif, t_surface_max_c.tif, "
                   "strong_heat_hours.tif, summary.json (+ points.csv, heat.city.json).")
@click.option("--tile-cells", default=None, type=click.IntRange(min=0), metavar="N",
              help="Grid tiles of N x N cells (+ a halo), 0 = one tile. Default: tiles only when the grid does "
                   "not fit in memory (2 GiB per tile at most).")
@click.option("--halo-m", default=None, type=click.FloatRange(min=0), metavar="M",
              help="Halo around each tile [m]. Default: the tallest object's shadow at a 10 deg sun, at most 100 m.")
@executor_opts
@crs_opt
@overwrite_opt
def heat_cmd(model_path, dsm, dem, cdsm, landcover, met, weather, utc_offset_h, period, grid_m,
             points_path, spinup_hours, no_surfaces, zones_path, fragility, population_field, scenarios,
             scenario_file, tree_positions, out_dir, tile_cells, halo_m, scheduler, workers, crs,
             overwrite) -> None:
    """Mean radiant temperature and UTCI at 1.1 m on a pedestrian grid, hour by hour.

    On a city model (rasterised on a --grid-m grid, with roof and wall temperatures written
    back as t_surface_max_c), or on SOLWEIG-style rasters with a UMEP met file or an EPW.
    Writes the maxima over the period as GeoTIFFs, the hours of strong heat stress
    (UTCI > 32 C), hourly values at --points and a summary.json with every assumption made.
    With --zones or --scenario (city model only): the heat study, i.e. canopy air temperature
    per neighbourhood (canopy.csv), each scenario under DIR/<scenario>/ with delta_*.tif maps,
    scenarios.csv, exposure.csv and equity.csv (who is exposed, before and after).

    \b
    Examples:
      citymodel heat city.city.json --weather clearsky --period hottest-3d --grid-m 2 --out heat/
      citymodel heat city.city.json --weather roma.epw --period 2025-07-14:2025-07-16 \\
          --points sites.gpkg --out heat/
      citymodel heat city.city.json --weather torino.epw --zones zones.gpkg --fragility fragility_index \\
          --population-field population --scenario cool-roofs --scenario trees --out study/
      citymodel heat --dsm DSM.tif --dem DEM.tif --cdsm CDSM.asc --landcover LC.tif \\
          --met MetFile.txt --utc-offset 1 --crs EPSG:3007 --points poi.geojson --out heat/
      citymodel heat --dsm DSM.tif --dem DEM.tif --met MetFile.txt --tile-cells 500 \
          --scheduler processes --workers 2 --out heat/
    """
    from citymodel.progress import console
    from microclimate.run import run_heat

    if met is not None and weather is not None:
        raise click.UsageError("give one of --met and --weather, not both")
    if met is None and weather is None:
        raise click.UsageError("give the forcing: --weather W.epw|clearsky (or --met MET.txt with --dsm)")
    quiet = is_quiet()
    if zones_path or scenarios or scenario_file or fragility or population_field or tree_positions:
        _study(model_path, dsm, weather, met, period, grid_m, zones_path, fragility, population_field,
               scenarios, scenario_file, tree_positions, spinup_hours, out_dir, crs, overwrite, quiet)
        return
    run = run_heat(out_dir=out_dir, model_path=model_path, dsm=dsm, dem=dem, cdsm=cdsm, landcover=landcover,
                   met=met, weather=weather, utc_offset_h=utc_offset_h, period=period, grid_m=grid_m,
                   points=points_path, crs=crs, spinup_steps=spinup_hours, surfaces=not no_surfaces,
                   overwrite=overwrite, progress=not quiet, tile_cells=tile_cells, halo_m=halo_m,
                   scheduler=scheduler, workers=workers)
    if not quiet:
        f = run.summary["figures"]
        fc = run.summary["forcing"]
        t = run.summary["timings"]
        console.print(
            f"{f['n_open_cells']:,} open cells, {fc['n_steps']} steps ({fc['period'][0]} to {fc['period'][1]}): "
            f"Tmrt max {f['tmrt_max_c']:.1f} C, UTCI max {f['utci_max_c']:.1f} C, up to "
            f"{f['strong_heat_hours_max']:.0f} h of strong heat stress; prepare {t['prepare_s']:.1f} s, "
            f"{1000 * t['per_step_s']:.0f} ms/step; {len(run.summary['fallbacks'])} assumption(s) in "
            f"summary.json -> {out_dir}"
        )


def _study(model_path, dsm, weather, met, period, grid_m, zones_path, fragility, population_field, scenarios,
           scenario_file, tree_positions, spinup_hours, out_dir, crs, overwrite, quiet) -> None:
    """The heat study (canopy air, scenarios, exposure) on a city model."""
    from pathlib import Path

    from citymodel.errors import OutputExistsError
    from citymodel.io import read
    from citymodel.progress import console
    from microclimate.study import run_heat_study

    if model_path is None or dsm is not None or met is not None:
        raise click.UsageError("--zones, --fragility, --population-field, --scenario and --scenario-file need a "
                               "city model (MODEL.city.json) and --weather W.epw|clearsky")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(f"{out}: the output folder is not empty; give --overwrite to replace its files")
    model = read(model_path, crs=crs)
    res = run_heat_study(model, weather, out_dir=out, period=period or "hottest-3d", zones=zones_path,
                         fragility=fragility, population_field=population_field, scenarios=tuple(scenarios),
                         scenario_file=scenario_file, tree_positions=tree_positions, grid_m=grid_m,
                         spinup_steps=spinup_hours)
    if not quiet:
        uhi = res.canopy.to_frame()["uhi_k"] if hasattr(res.canopy, "to_frame") else None
        line = f"heat study: {len(res.zones)} neighbourhoods"
        if uhi is not None and len(uhi):
            line += f", canopy heat island up to {float(uhi.max()):.1f} K"
        if len(res.scenarios):
            line += f", {res.scenarios['scenario'].nunique() if 'scenario' in res.scenarios else len(res.scenarios)} scenario(s)"
        console.print(f"{line} -> {out_dir} (canopy.csv, scenarios.csv, exposure.csv, equity.csv)")
