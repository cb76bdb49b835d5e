"""``citymodel view``: the desktop 3D viewer."""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt


@click.command("view")
@click.argument("model_path", metavar="IN.city.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--layer", "layer", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Civic zones (GeoPackage/GeoJSON).")
@click.option("--raster", "rasters", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="GeoTIFF draped on the terrain (repeatable), e.g. tmrt_c.tif.")
@click.option("--color", "color", default="surface_type", show_default=True,
              help="Building attribute to colour by at start.")
@click.option("--lod", default=None, help="LoD of the buildings (1.2, 1.3, 2.2); default: highest.")
@crs_opt
def command(model_path, layer, rasters, color, lod, crs) -> None:
    """Open IN.city.json in the desktop viewer (layer panel, colour by, picking, presets).

    Needs a display; on a headless machine use `citymodel render ... --out shot.png`.

    \b
    Examples:
      citymodel view model.city.json --color irradiation_kwh_m2
      citymodel view model.city.json --layer zones.gpkg --raster tmrt_c.tif
    """
    from viewer.app import check_display

    check_display()
    from citymodel.io import read
    from viewer.app import run_app
    from viewer.scene import build_scene

    model = read(model_path, crs=crs)
    zones = None
    if layer:
        from citymodel.civic import read_zones

        zones = read_zones(layer)
    scene = build_scene(model, lod=lod, color=color, zones=zones, rasters=list(rasters))
    run_app(scene, model=model, title=f"citymodel view: {model_path}")
