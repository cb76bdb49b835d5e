"""``citymodel synth``: generate the synthetic district with its ground truth."""

from __future__ import annotations

import time

import click

from citymodel.cli._options import is_quiet, order, overwrite_opt


def _origin(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give the origin as lon,lat in degrees, e.g. 11.343,44.494") from None
    return lon, lat


@order(40)
@click.command("synth")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same district).")
@click.option("--size-m", default=400.0, show_default=True, help="Side of the square district [m].")
@click.option("--density-pts-m2", type=float, default=None,
              help="LiDAR point density, all returns [1/m2]  [default: 12, or 10 with --realism ahn3].")
@click.option("--crs", default="EPSG:32632", show_default=True, metavar="EPSG:XXXX", help="Projected CRS.")
@click.option("--origin", default="11.343,44.494", show_default=True, callback=_origin, metavar="LON,LAT",
              help="District centre in degrees (default: central Bologna).")
@click.option("--unclassified", is_flag=True, default=False, help="LiDAR class 1 everywhere.")
@click.option("--footprint-noise-m", default=0.0, show_default=True, help="Footprint vertex noise (std) [m].")
@click.option("--footprint-missing-fraction", default=0.0, show_default=True,
              help="Share of buildings missing from the footprints (0..1).")
@click.option("--noise-m", type=float, default=None,
              help="LiDAR range noise (std) [m]  [default: 0.05, or 0.03 with --realism ahn3].")
@click.option("--realism", type=click.Choice(["clean", "ahn3"]), default="clean", show_default=True,
              help="clean: exact roof planes; ahn3: plus gable dormers, HVAC boxes, stair houses, parapets, "
                   "trees over roofs and point gaps, like a real AHN3 survey.")
@click.option("--ortho-resolution-m", default=0.25, show_default=True, help="Orthophoto pixel size [m].")
@overwrite_opt
def command(out_dir: str, seed: int, size_m: float, density_pts_m2: float | None, crs: str,
            origin: tuple[float, float], unclassified: bool, footprint_noise_m: float,
            footprint_missing_fraction: float, noise_m: float | None, realism: str, ortho_resolution_m: float,
            overwrite: bool) -> None:
    """Generate a synthetic district: truth CityJSON + CSV, LiDAR LAZ, footprints, orthophoto, zones.

    \b
    Examples:
      citymodel synth --out district
      citymodel synth --out small --size-m 150 --density-pts-m2 6 --seed 3
      citymodel synth --out hard --size-m 150 --realism ahn3
      citymodel synth --out raw --unclassified --footprint-noise-m 0.3 --footprint-missing-fraction 0.1
    """
    from citymodel.progress import console
    from citymodel.synth import generate_with_progress

    quiet = is_quiet()
    t0 = time.perf_counter()
    out = generate_with_progress(
        out_dir, show=not quiet, seed=seed, size_m=size_m, density_pts_m2=density_pts_m2, crs=crs,
        origin_lonlat=origin, unclassified=unclassified, footprint_noise_m=footprint_noise_m,
        footprint_missing_fraction=footprint_missing_fraction, noise_m=noise_m,
        ortho_resolution_m=ortho_resolution_m, overwrite=overwrite, realism=realism,
    )
    c = out.counts
    if not quiet:
        console.print(
            f"{c['buildings']} buildings ({c['building_parts']} parts, {c['roof_planes']} roof planes, "
            f"{c['superstructures']} superstructures), {c['trees']} trees, {c['shrubs']} shrubs, "
            f"{c['green_areas']} green areas, {c['zones']} zones"
        )
        console.print(f"{c['points']:,} points ({c['density_pts_m2']:.1f} pts/m2) in {time.perf_counter() - t0:.1f} s")
    click.echo(str(out.truth.parent))
