"""``citymodel solar``: shaded irradiation on every roof and wall, and rooftop PV potential."""

from __future__ import annotations

import click

from citymodel.cli._options import crs_opt, is_quiet, overwrite_opt


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
@crs_opt
@overwrite_opt
def command(model_path, weather, year, sensor_spacing_m, albedo, albedo_table, sun_resolution_deg, sky_subdivision, sky_model, no_trees, out, sensors_path,
            hourly_path, building_hourly_path, pv_gpkg, module_efficiency, performance_ratio,
            min_irradiation_kwh_m2, crs, overwrite) -> None:
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
    """
    from citymodel._fileutil import atomic_path, check_output
    from citymodel.errors import InputError
    from citymodel.io import read, write
    from citymodel.progress import console
    from citymodel.surfaces import split_semantic_surfaces
    from energy.pv import pv_potential, write_pv_attributes, write_roofs_gpkg
    from energy.solar import irradiate, write_sensors_parquet, write_solar_attributes
    from energy.weather import load_weather

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
    res = irradiate(
        model, wx, sensor_spacing_m=sensor_spacing_m, albedo=alb, albedo_table=albedo_table,
        sun_resolution_deg=sun_resolution_deg,
        sky_subdivision=sky_subdivision, sky_model=sky_model,
        include_trees=not no_trees, building_hourly=True, hourly_path=hourly_path, overwrite=overwrite,
        progress=not quiet,
    )
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
