"""``citymodel render`` (an off-screen PNG of a city model coloured by an attribute) and
``citymodel view`` (the desktop 3D viewer).

Registered in ``pyproject.toml`` under the ``citymodel.commands`` entry points.
"""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, is_quiet, order, overwrite_opt


@order(90)
@click.command("render")
@click.argument("model_path", metavar="IN.city.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--color", "color", default="surface_type", show_default=True,
              help="Building attribute (or semantic-surface attribute) to colour by.")
@click.option("--layer", "layer", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Civic zones (GeoPackage/GeoJSON), draped on the ground.")
@click.option("--zone-color", default="fragility_index", show_default=True,
              help="Zone attribute to colour the zones by.")
@click.option("--raster", "rasters", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="GeoTIFF draped on the terrain (repeatable).")
@click.option("--camera", default="overview", show_default=True,
              type=click.Choice(["overview", "top", "street", "north", "south", "east", "west"]))
@click.option("--lod", default=None, help="LoD of the buildings (1.2, 1.3, 2.2); default: highest.")
@click.option("--size", "size", default="1600x1000", show_default=True, help="Image size WIDTHxHEIGHT [px].")
@click.option("--diverging", is_flag=True, default=False,
              help="Diverging colour map centred on 0 (automatic for names ending in _delta).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output PNG.")
@crs_opt
@overwrite_opt
def render_cmd(model_path, color, layer, zone_color, rasters, camera, lod, size, diverging, out, crs,
            overwrite) -> None:
    """Render IN.city.json off-screen (EGL, no window) to a PNG with a legend.

    \b
    Examples:
      citymodel render model.city.json --color irradiation_kwh_m2 --out solar.png
      citymodel render model.city.json --layer zones.gpkg --camera top --out zones.png
      citymodel render model.city.json --raster tmrt_c.tif --color t_surface_c_delta --out d.png
    """
    from citymodel._fileutil import check_output
    from citymodel.errors import InputError
    from citymodel.io import read
    from citymodel.progress import console
    from viewer.render import render
    from viewer.scene import build_scene

    check_output(out, overwrite)
    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {size!r}: give WIDTHxHEIGHT, e.g. 1600x1000") from None
    model = read(model_path, crs=crs)
    zones = None
    if layer:
        from citymodel.civic import read_zones

        zones = read_zones(layer)
    scene = build_scene(model, lod=lod, color=color, zones=zones, zone_color=zone_color,
                        rasters=list(rasters), diverging=diverging or None)
    render(scene, out, camera=camera, window_size=(w, h), overwrite=overwrite)
    if not is_quiet():
        lay = scene.layers.get("buildings")
        what = lay.label if lay is not None and lay.scalars else "solid colour"
        console.print(f"Rendered {len(scene.building_ids)} buildings ({what}), camera {camera}: {out}",
                      markup=False)


@order(100)
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
def view_cmd(model_path, layer, rasters, color, lod, crs) -> None:
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
