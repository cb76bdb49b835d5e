"""``citymodel energy``: hourly heating/cooling demand of every building, and ASHRAE 140 cases."""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, is_quiet, json_opt, overwrite_opt


@click.group("energy")
def command() -> None:
    """Hourly heating and cooling demand (thermal RC model, Italian archetypes).

    \b
    Examples:
      citymodel energy simulate city.city.json --weather site.epw --out energy.city.json
      citymodel energy bestest --case 900 --weather 725650TYCST.epw --json
    """


@command.command("simulate")
@click.argument("model_path", metavar="IN.city.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--weather", required=True, metavar="W.epw|clearsky",
              help="EnergyPlus weather file of the site, or 'clearsky' (cloudless year at the model's site).")
@click.option("--archetypes", default="IT", show_default=True, metavar="IT|FILE.csv",
              help="Archetype table: the shipped Italian one, a CSV with the same columns, or a CSV "
                   "of per-building overrides (with a building_id column).")
@click.option("--solar", "solar_path", default=None, type=click.Path(exists=True, dir_okay=False),
              metavar="SOLAR.city.json",
              help="Output of `citymodel solar` (irradiation_kwh_m2 on roofs/walls): shading per building and orientation.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output CityJSON with heating_demand_kwh, cooling_demand_kwh, ... on every building.")
@click.option("--hourly", "hourly_path", default=None, type=click.Path(dir_okay=False),
              help="Also write hourly heating/cooling [W] and temperatures per building (Parquet).")
@click.option("--gpkg", "gpkg_path", default=None, type=click.Path(dir_okay=False),
              help="Also write footprints with the results (GeoPackage).")
@click.option("--max-site-distance-km", default=200.0, show_default=True, type=float,
              help="Refuse weather whose site is farther than this from the model (0 = no check).")
@crs_opt
@overwrite_opt
def simulate_cmd(model_path, weather, archetypes, solar_path, out, hourly_path, gpkg_path,
                 max_site_distance_km, crs, overwrite) -> None:
    """Heating and cooling demand of every building of IN for one weather year.

    Every building of OUT gets heating_demand_kwh, cooling_demand_kwh (also per m2 of floor),
    peak_heating_kw, peak_cooling_kw, floor_area_m2, overheating_hours (free-running hours
    above 26 C operative) and energy_archetype_id.

    \b
    Examples:
      citymodel energy simulate city.city.json --weather clearsky --out energy.city.json
      citymodel energy simulate city.city.json --weather roma.epw --solar solar.city.json \\
          --out energy.city.json --hourly hourly.parquet --gpkg energy.gpkg
    """
    from citymodel._fileutil import check_output
    from citymodel.io import read, write
    from citymodel.progress import console
    from energy.demand.simulate import simulate

    for p in (out, hourly_path, gpkg_path):
        if p:
            check_output(p, overwrite)
    model = read(model_path, crs=crs)
    solar = read(solar_path, crs=crs) if solar_path else None
    res = simulate(model, weather, archetypes=archetypes, solar=solar, hourly=bool(hourly_path),
                   max_site_distance_km=max_site_distance_km or None, progress=not is_quiet())
    res.write_attributes(model)
    write(model, out, overwrite=overwrite)
    if hourly_path:
        res.to_parquet(hourly_path, overwrite=overwrite)
    if gpkg_path:
        res.to_gpkg(gpkg_path, model, overwrite=overwrite)
    t = res.table
    if not is_quiet():
        console.print(
            f"{len(t)} buildings ({len(res.skipped)} skipped): heating {t.heating_demand_kwh.sum() / 1e3:.1f} MWh, "
            f"cooling {t.cooling_demand_kwh.sum() / 1e3:.1f} MWh, "
            f"median {t.heating_demand_kwh_m2.median():.0f} / {t.cooling_demand_kwh_m2.median():.0f} kWh/m2; "
            f"wrote {out}"
        )


@command.command("bestest")
@click.option("--case", "case", required=True, metavar="CASE",
              help="ASHRAE 140 case: 600 610 620 630 640 650 600FF 650FF, 900 ... 950FF.")
@click.option("--weather", required=True, type=click.Path(exists=True, dir_okay=False), metavar="W.epw",
              help="The case's weather (725650TYCST.epw for ASHRAE 140-2020).")
@json_opt
def bestest_cmd(case, weather, as_json) -> None:
    """Run an ASHRAE Standard 140 case through the same engine as `energy simulate`.

    The test box is built as a city model (a Building with an LoD2 solid, windows and its
    constructions as attributes). Prints annual_heating_mwh, annual_cooling_mwh,
    peak_heating_kw, peak_cooling_kw, and ff_max_c, ff_min_c, ff_mean_c for free-float cases.

    \b
    Examples:
      citymodel energy bestest --case 600 --weather 725650TYCST.epw
      citymodel energy bestest --case 900FF --weather 725650TYCST.epw --json
    """
    import json

    from energy.demand.bestest import run_case

    r = run_case(case, weather)
    if as_json:
        click.echo(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}))
        return
    for k, v in r.items():
        click.echo(f"{k:20s} {v:.3f}" if isinstance(v, float) else f"{k:20s} {v}")
