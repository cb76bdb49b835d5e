"""``citymodel zones``: indicators per civic zone and equity of exposure."""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, is_quiet, order, overwrite_opt


def _parse_thresholds(items: tuple[str, ...]) -> dict[str, float]:
    from citymodel.errors import InputError

    out = {}
    for it in items:
        name, _, val = it.partition("=")
        try:
            out[name.strip()] = float(val)
        except ValueError:
            raise InputError(f"--threshold {it!r}: give NAME=VALUE, e.g. utci_c=32") from None
    return out


@order(80)
@click.command("zones")
@click.argument("model_path", metavar="IN.city.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--zones", "zones_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Zone polygons (GeoPackage, GeoJSON, ...), any CRS (reprojected).")
@click.option("--zones-layer", default=None, help="Layer of the zone file (default: the first).")
@click.option("--raster", "rasters", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Raster indicator (GeoTIFF) to summarise per zone (repeatable).")
@click.option("--threshold", "thresholds", multiple=True, metavar="NAME=VALUE",
              help="Report the share of a raster's cells over VALUE (repeatable), e.g. utci_c=32.")
@click.option("--attribute", "attributes", multiple=True,
              help="Building attribute to summarise (repeatable; default: every numeric one).")
@click.option("--sum", "sum_fields", multiple=True, metavar="FIELD",
              help="Sum this building attribute per zone although the toolkit does not know it as a "
                   "total (repeatable; unknown attributes otherwise get min/median/max).")
@click.option("--fragility", default=None,
              help="Zone attribute of fragility: also compare the most fragile zones with the rest.")
@click.option("--top-quantile", default=0.75, show_default=True, help="Most fragile = at or above this quantile.")
@click.option("--fragility-threshold", default=None, type=float,
              help="Most fragile = fragility at or above this value (instead of the quantile).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output GeoPackage.")
@click.option("--csv", "csv", default=None, type=click.Path(dir_okay=False), help="Also write the table as CSV.")
@click.option("--equity-csv", default=None, type=click.Path(dir_okay=False),
              help="Write the equity table as CSV (with --fragility).")
@crs_opt
@overwrite_opt
def command(model_path, zones_path, zones_layer, rasters, thresholds, attributes, sum_fields, fragility,
            top_quantile, fragility_threshold, out, csv, equity_csv, crs, overwrite) -> None:
    """Summarise building and raster indicators per zone; GeoPackage (+ CSV) out.

    Buildings count in the zone containing their footprint centroid; totals (areas, kWh) are
    summed, intensities and heights above ground averaged weighted by floor area (else
    footprint area); roof elevations become heights above ground; ids and categories are never
    summarised; attributes the toolkit does not know get min/median/max (or --sum FIELD).

    \b
    Examples:
      citymodel zones model.city.json --zones zones.gpkg --out zones_out.gpkg
      citymodel zones model.city.json --zones zones.gpkg --raster utci_c.tif \\
          --threshold utci_c=32 --fragility fragility_index --out z.gpkg --csv z.csv
    """
    from citymodel._fileutil import check_output
    from citymodel.civic import equity, read_zones, write_zones, zonal_stats
    from citymodel.io import read
    from citymodel.progress import console

    for p in (out, csv, equity_csv):
        if p:
            check_output(p, overwrite)
    model = read(model_path, crs=crs)
    zones = read_zones(zones_path, layer=zones_layer, to_epsg=model.epsg if model.epsg else None)
    frame = zonal_stats(model, zones, attributes=list(attributes) or None, rasters=list(rasters),
                        thresholds=_parse_thresholds(thresholds), sum_fields=list(sum_fields))
    write_zones(zones, frame, out, csv=csv, overwrite=overwrite)
    quiet = is_quiet()
    if not quiet:
        console.print(
            f"{len(zones)} zones, {int(frame['n_buildings'].sum())} buildings assigned "
            f"({frame.attrs.get('unassigned_buildings', 0)} outside every zone), "
            f"{len(frame.attrs['indicators'])} indicators: {out}" + (f", {csv}" if csv else "")
        )
    if fragility:
        eq = equity(frame, fragility, top_quantile=top_quantile, threshold=fragility_threshold)
        if equity_csv:
            from citymodel._fileutil import atomic_path

            with atomic_path(equity_csv, overwrite=overwrite) as tmp:
                eq.to_csv(tmp, index=False)
        if not quiet:
            console.print(f"Most fragile zones: {fragility} >= {eq.attrs['fragility_threshold']:.3g}")
            cols = ["indicator", "mean_fragile", "mean_rest", "gap", "ratio", "concentration_index"]
            if (eq["gains_most"] != "").any():
                cols.append("gains_most")
            console.print(eq[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"),
                          markup=False, soft_wrap=True)
