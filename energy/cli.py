"""``citymodel solar`` (shaded irradiation on every roof and wall, rooftop PV potential) and
``citymodel energy`` (hourly heating/cooling demand of every building, ASHRAE 140 cases).

Registered in ``pyproject.toml`` under the ``citymodel.commands`` entry points.
"""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, executor_opts, is_quiet, json_opt, order, overwrite_opt


@order(60)
@click.command("solar")
@click.argument("model_path", metavar="IN.city.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--weather", required=True, metavar="W.epw|clearsky",
              help="EnergyPlus weather file (EPW/TMY), or 'clearsky' for a cloudless year at the model's site.")
@click.option("--year", default=None, type=int, help="Year of the weather stamps (clearsky: 2025).")
@click.option("--sensor-spacing-m", default=1.0, show_default=True, type=float,
              help="Distance between sensor points on roofs and walls [m].")
@click.option("--albedo", default="0.2", show_default=True,
              help="Ground albedo 0..1, 'weather' for the EPW's hourly albedo, or a GeoTIFF in the "
                   "model's CRS (albedo 0..1 per cell, or classes with --albedo-table): each sensor "
                   "gets the mean of the ground in front of it.")
@click.option("--albedo-table", default=None, type=click.Path(exists=True, dir_okay=False),
              metavar="CSV", help="class,albedo table for a land-cover class raster given as --albedo.")
@click.option("--sun-resolution-deg", default=1.0, show_default=True, type=float,
              help="Sun-position bins for direct-sun shading [deg]; 0 = one ray per hour.")
@click.option("--sun-sampling-step", default=4, show_default=True, type=click.IntRange(min=1),
              help="Cast every n-th sun bin along the analemmas, infer the others where the samples "
                   "agree (1 = a ray to every bin; see energy.solar.sunsampling).")
@click.option("--sky-subdivision", default=1, show_default=True, type=int,
              help="Sky patches: 1 = Tregenza 145, n = Reinhart MF:n (2 -> 577, 4 -> 2305).")
@click.option("--sky-model", default="perez1990", show_default=True,
              type=click.Choice(["perez1990", "perez-allweather"]),
              help="Diffuse sky: Perez 1990 (pvlib's, circumsolar as a point source) or the Perez 1993 "
                   "all-weather radiance distribution over the patches.")
@click.option("--no-trees", is_flag=True, default=False, help="Ignore tree crowns as occluders.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output CityJSON with irradiation_kwh_m2 on every roof/wall and pv_* on buildings.")
@click.option("--sensors", "sensors_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the sensor points with annual and monthly irradiation (Parquet).")
@click.option("--hourly", "hourly_path", default=None, type=click.Path(dir_okay=False),
              help="Also write hourly irradiance per surface (Parquet, long format; large).")
@click.option("--building-hourly", "building_hourly_path", default=None, type=click.Path(dir_okay=False),
              help="Also write hourly irradiance per building roof / N / E / S / W walls (Parquet).")
@click.option("--pv-gpkg", "pv_gpkg", default=None, type=click.Path(dir_okay=False),
              help="Also write roof surfaces with irradiation and PV values (GeoPackage).")
@click.option("--module-efficiency", default=0.20, show_default=True, type=float, help="PV module efficiency.")
@click.option("--performance-ratio", default=0.85, show_default=True, type=float, help="PV performance ratio.")
@click.option("--min-irradiation-kwh-m2", default=800.0, show_default=True, type=float,
              help="Roof areas below this annual irradiation get no PV [kWh/m2/a].")
@click.option("--max-site-distance-km", default=200.0, show_default=True, type=float,
              help="Refuse weather whose site is farther than this from the model (0 = no check). "
                   "A model without a CRS cannot be checked: that is logged and recorded.")
@executor_opts
@crs_opt
@overwrite_opt
def solar_cmd(model_path, weather, year, sensor_spacing_m, albedo, albedo_table, sun_resolution_deg, sun_sampling_step, sky_subdivision, sky_model, no_trees, out, sensors_path,
            hourly_path, building_hourly_path, pv_gpkg, module_efficiency, performance_ratio,
            min_irradiation_kwh_m2, max_site_distance_km, scheduler, workers, crs, overwrite) -> None:
    """Annual irradiation on every roof and wall (Perez sky, Embree shading), and PV potential.

    Buildings, terrain and tree crowns cast shadows. Every roof and wall surface of OUT gets
    irradiation_kwh_m2 (kWh/m2 per year); every building gets pv_area_m2, pv_kwp and
    pv_yield_kwh.

    \b
    Examples:
      citymodel solar model.city.json --weather clearsky --out solar.city.json
      citymodel solar model.city.json --weather denver.epw --sensor-spacing-m 2 \\
          --out solar.city.json --sensors sensors.parquet --pv-gpkg roofs.gpkg
      citymodel solar model.city.json --weather denver.epw --sky-model perez-allweather \\
          --sky-subdivision 2 --out solar.city.json
      citymodel solar model.city.json --weather clearsky --albedo albedo.tif --out solar.city.json
      citymodel solar model.city.json --weather clearsky --albedo landcover.tif \
          --albedo-table classes.csv --out solar.city.json
      citymodel solar model.city.json --weather clearsky --scheduler tcp://scheduler:8786 \
          --out solar.city.json
    """
    from citymodel._fileutil import atomic_path, check_output
    from citymodel.errors import InputError
    from citymodel.io import read, write
    from citymodel.progress import console
    from citymodel.surfaces import split_semantic_surfaces
    from energy.pv import pv_potential, write_pv_attributes, write_roofs_gpkg
    from energy.solar import irradiate, write_sensors_parquet, write_solar_attributes
    from energy.weather import check_weather_site, load_weather

    for p in (out, sensors_path, hourly_path, building_hourly_path, pv_gpkg):
        if p:
            check_output(p, overwrite)
    from pathlib import Path

    try:
        alb: float | str = albedo if albedo == "weather" else float(albedo)
    except ValueError:
        if not Path(albedo).is_file():
            raise InputError(
                f"--albedo {albedo!r}: give a number in 0..1, 'weather' or an existing raster file"
            ) from None
        alb = albedo
    if albedo_table and not isinstance(alb, str):
        raise InputError("--albedo-table needs --albedo to be a land-cover raster file")
    quiet = is_quiet()
    model = read(model_path, crs=crs)
    split_semantic_surfaces(model)
    wx = load_weather(weather, model, year=year)
    site = model.extra["+weatherSite"] = check_weather_site(wx[1], model, max_site_distance_km)
    if site["note"] and not quiet:
        console.print(f"weather site not checked: {site['note']}")
    res = irradiate(
        model, wx, sensor_spacing_m=sensor_spacing_m, albedo=alb, albedo_table=albedo_table,
        sun_resolution_deg=sun_resolution_deg, sun_sampling_step=sun_sampling_step,
        sky_subdivision=sky_subdivision, sky_model=sky_model,
        include_trees=not no_trees, building_hourly=True, hourly_path=hourly_path, overwrite=overwrite,
        scheduler=scheduler, workers=workers, n_threads=1 if (scheduler or workers > 1) else 2,
        progress=not quiet,
    )
    st = res.stats
    model.extra["+solarMethod"] = {  # how the figures were made, with the file
        "sun_resolution_deg": float(sun_resolution_deg), "sky_model": str(sky_model),
        "sun_sampling_step": int(st["sun_sampling_step"]),
        "sun_sampling_note": ("every sun bin cast" if st["sun_sampling_step"] <= 1 else
                              f"direct sun cast to every {st['sun_sampling_step']}th sun bin along the analemmas, "
                              f"{st['n_sun_inferred']:,} sensor-bin pairs inferred from agreeing samples "
                              "(--sun-sampling-step 1 casts them all)"),
    }
    pv = pv_potential(res, module_efficiency=module_efficiency, performance_ratio=performance_ratio,
                      min_irradiation_kwh_m2=min_irradiation_kwh_m2)
    n_surf = write_solar_attributes(model, res)
    write_pv_attributes(model, pv)
    write(model, out, overwrite=overwrite)
    if sensors_path:
        write_sensors_parquet(res, sensors_path, overwrite=overwrite)
    if building_hourly_path:
        with atomic_path(building_hourly_path, overwrite=overwrite) as tmp:
            res.buildings.to_frame().to_parquet(tmp, index=False)
    if pv_gpkg:
        write_roofs_gpkg(res, pv, pv_gpkg, epsg=model.epsg, overwrite=overwrite)
    if not quiet:
        roof = res.kind == 0
        import numpy as np

        t = res.table
        mean_roof = np.nansum(res.surface_annual_kwh_m2[roof] * t.area_m2[roof]) / t.area_m2[roof].sum()
        st = res.stats
        console.print(
            f"{st['n_sensors']:,} sensors on {n_surf:,} surfaces, {st['n_rays']:,} rays in {st['total_s']:.1f} s; "
            f"roofs {mean_roof:.0f} kWh/m2/a on average; PV {pv.buildings['pv_kwp'].sum():,.0f} kWp, "
            f"{pv.buildings['pv_yield_kwh'].sum() / 1000:,.0f} MWh/a -> {out}"
        )
        if st["sun_sampling_step"] > 1:
            console.print(
                f"direct sun: rays to {st['n_sun_samples']:,} of {st['n_sun_bins']:,} sun bins (every "
                f"{st['sun_sampling_step']}th along the analemmas), {st['n_sun_inferred']:,} sensor-bin "
                "pairs inferred from agreeing samples (--sun-sampling-step 1 casts them all)"
            )


@order(70)
@click.group("energy")
def energy_group() -> None:
    """Hourly heating and cooling demand (thermal RC model, TABULA archetypes of IT, NL, DE).

    \b
    Examples:
      citymodel energy simulate city.city.json --weather site.epw --out energy.city.json
      citymodel energy bestest --case 900 --weather 725650TYCST.epw --json
    """


@energy_group.command("simulate")
@click.argument("model_path", metavar="IN.city.json", type=click.Path(exists=True, dir_okay=False))
@click.option("--weather", required=True, metavar="W.epw|clearsky",
              help="EnergyPlus weather file of the site, or 'clearsky' (cloudless year at the model's site).")
@click.option("--country", default="IT", show_default=True, type=click.Choice(["IT", "NL", "DE"], case_sensitive=False),
              help="Built-in archetypes: TABULA/EPISCOPE typology of Italy, the Netherlands or Germany "
                   "(by use, construction period and, NL/DE, size class SFH/TH/MFH/AB).")
@click.option("--archetypes", default=None, metavar="FILE.csv",
              help="Your archetype table (the columns of energy/demand/data/archetypes_it.csv: U-values, "
                   "window ratios, gains, setpoints by use and period), or a CSV of per-building "
                   "overrides (with a building_id column) on top of --country.")
@click.option("--year-field", default=None, metavar="NAME",
              help="Attribute with the construction year [default: the first of construction_year, "
                   "oorspronkelijk_bouwjaar, yearOfConstruction, start_date, ...].")
@click.option("--use-field", default=None, metavar="NAME",
              help="Attribute with the use [default: the first of use, gebruiksdoel, function, usage, building].")
@click.option("--storeys-field", default=None, metavar="NAME",
              help="Attribute with the storeys above ground [default: storeysAboveGround, b3_bouwlagen, "
                   "building:levels].")
@click.option("--min-floor-area-m2", default=20.0, show_default=True, type=float,
              help="Buildings with less floor area (footprint x storeys) are unconditioned (sheds) and "
                   "not simulated [m2].")
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
              help="Refuse weather whose site is farther than this from the model (0 = no check). "
                   "A model without a CRS cannot be checked: that is logged and recorded.")
@crs_opt
@overwrite_opt
def simulate_cmd(model_path, weather, country, archetypes, year_field, use_field, storeys_field,
                 min_floor_area_m2, solar_path, out, hourly_path, gpkg_path,
                 max_site_distance_km, crs, overwrite) -> None:
    """Heating and cooling demand of every building of IN for one weather year.

    Every building of OUT gets heating_demand_kwh, cooling_demand_kwh (also per m2 of floor),
    peak_heating_kw, peak_cooling_kw, floor_area_m2, overheating_hours (free-running hours
    above 26 C operative), and every building archetype, archetype_from (attribute / user
    table / default) and archetype_why. Sheds, garages and buildings under
    --min-floor-area-m2 are unconditioned and not simulated. A summary (buildings per
    archetype, fallbacks and why) ends the output and is stored in OUT as +energyArchetypes.

    \b
    Examples:
      citymodel energy simulate city.city.json --weather clearsky --out energy.city.json
      citymodel energy simulate city.city.json --weather roma.epw --solar solar.city.json \\
          --out energy.city.json --hourly hourly.parquet --gpkg energy.gpkg
      citymodel energy simulate delft.city.json --weather ams.epw --country NL \\
          --year-field oorspronkelijk_bouwjaar --out energy.city.json
    """
    from citymodel._fileutil import check_output
    from citymodel.io import read, write
    from citymodel.progress import console
    from energy.demand.archetypes import summary_lines
    from energy.demand.simulate import simulate
    from energy.weather import check_weather_site, load_weather

    for p in (out, hourly_path, gpkg_path):
        if p:
            check_output(p, overwrite)
    model = read(model_path, crs=crs)
    solar = read(solar_path, crs=crs) if solar_path else None
    wx = load_weather(weather, model)
    site = check_weather_site(wx[1], model, max_site_distance_km)
    res = simulate(model, wx, archetypes=archetypes or country.upper(), country=country.upper(),
                   year_field=year_field, use_field=use_field, storeys_field=storeys_field,
                   min_floor_area_m2=min_floor_area_m2, solar=solar, hourly=bool(hourly_path),
                   max_site_distance_km=None, progress=not is_quiet())
    res.summary["weather_site"] = site
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
        for line in summary_lines(res.summary):
            console.print(line)
        if site["note"]:
            console.print(f"weather site not checked: {site['note']}")


@energy_group.command("bestest")
@click.option("--case", "case", default=None, metavar="CASE",
              help="ASHRAE 140 case: 600 610 620 630 640 650 600FF 650FF, 900 ... 950FF.")
@click.option("--all", "run_all_cases", is_flag=True, default=False,
              help="Run every case and print each result against its ASHRAE 140-2020 reference range.")
@click.option("--weather", required=True, type=click.Path(exists=True, dir_okay=False), metavar="W.epw",
              help="The case's weather (725650TYCST.epw for ASHRAE 140-2020).")
@json_opt
def bestest_cmd(case, run_all_cases, weather, as_json) -> None:
    """Run an ASHRAE Standard 140 case through the same engine as `energy simulate`.

    The test box is built as a city model (a Building with an LoD2 solid, windows and its
    constructions as attributes). Prints annual_heating_mwh, annual_cooling_mwh,
    peak_heating_kw, peak_cooling_kw, and ff_max_c, ff_min_c, ff_mean_c for free-float cases.

    \b
    Examples:
      citymodel energy bestest --case 600 --weather 725650TYCST.epw
      citymodel energy bestest --case 900FF --weather 725650TYCST.epw --json
      citymodel energy bestest --all --weather 725650TYCST.epw
    """
    import json

    from citymodel.errors import InputError
    from energy.demand.bestest import run_all, run_case

    if run_all_cases == bool(case):
        raise InputError("energy bestest: give --case CASE or --all (one of them)")
    if run_all_cases:
        t = run_all(weather)
        if as_json:
            click.echo(t.to_json(orient="records"))
            return
        click.echo(f"{'case':6s} {'metric':20s} {'value':>9s} {'min':>9s} {'max':>9s}  in range")
        for r in t.itertuples():
            click.echo(f"{r.case:6s} {r.metric:20s} {r.value:9.3f} {r.min:9.3f} {r.max:9.3f}  "
                       f"{'yes' if r.inside else f'NO ({r.off:+.3f} {r.unit})'}")
        click.echo(f"{int(t.inside.sum())} of {len(t)} values inside the ASHRAE 140-2020 ranges")
        return
    r = run_case(case, weather)
    if as_json:
        click.echo(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}))
        return
    for k, v in r.items():
        click.echo(f"{k:20s} {v:.3f}" if isinstance(v, float) else f"{k:20s} {v}")
