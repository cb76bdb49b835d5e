"""``citymodel heat``: street-level mean radiant temperature, UTCI and surface temperatures.

Registered in ``pyproject.toml`` under the ``citymodel.commands`` entry points.
"""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, is_quiet, order, overwrite_opt


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
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Output folder: tmrt_max_c.tif, utci_max_c.tif, t_surface_max_c.tif, "
                   "strong_heat_hours.tif, summary.json (+ points.csv, heat.city.json).")
@crs_opt
@overwrite_opt
def heat_cmd(model_path, dsm, dem, cdsm, landcover, met, weather, utc_offset_h, period, grid_m,
             points_path, spinup_hours, no_surfaces, out_dir, crs, overwrite) -> None:
    """Mean radiant temperature and UTCI at 1.1 m on a pedestrian grid, hour by hour.

    On a city model (rasterised on a --grid-m grid, with roof and wall temperatures written
    back as t_surface_max_c), or on SOLWEIG-style rasters with a UMEP met file or an EPW.
    Writes the maxima over the period as GeoTIFFs, the hours of strong heat stress
    (UTCI > 32 C), hourly values at --points and a summary.json with every assumption made.

    \b
    Examples:
      citymodel heat city.city.json --weather clearsky --period hottest-3d --grid-m 2 --out heat/
      citymodel heat city.city.json --weather roma.epw --period 2025-07-14:2025-07-16 \\
          --points sites.gpkg --out heat/
      citymodel heat --dsm DSM.tif --dem DEM.tif --cdsm CDSM.asc --landcover LC.tif \\
          --met MetFile.txt --utc-offset 1 --crs EPSG:3007 --points poi.geojson --out heat/
    """
    from citymodel.progress import console
    from microclimate.run import run_heat

    if met is not None and weather is not None:
        raise click.UsageError("give one of --met and --weather, not both")
    if met is None and weather is None:
        raise click.UsageError("give the forcing: --weather W.epw|clearsky (or --met MET.txt with --dsm)")
    quiet = is_quiet()
    run = run_heat(out_dir=out_dir, model_path=model_path, dsm=dsm, dem=dem, cdsm=cdsm, landcover=landcover,
                   met=met, weather=weather, utc_offset_h=utc_offset_h, period=period, grid_m=grid_m,
                   points=points_path, crs=crs, spinup_steps=spinup_hours, surfaces=not no_surfaces,
                   overwrite=overwrite, progress=not quiet)
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
