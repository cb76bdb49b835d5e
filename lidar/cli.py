"""``citymodel build``: LiDAR (+ footprints) to a CityJSON city model.

Registered in ``pyproject.toml`` under the ``citymodel.commands`` entry points.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from citymodel.cli._options import crs_opt, is_quiet, order, overwrite_opt


@order(50)
@click.command("build")
@click.option("--points", "points", multiple=True, required=True, type=click.Path(dir_okay=False),
              help="LAS/LAZ file (repeat the option, or list several files after it).")
@click.argument("more_points", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--footprints", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Footprints (.gpkg, .geojson, .shp, .sqlite, .csv); extracted from the points when omitted.")
@click.option("--footprint-id-field", default=None, metavar="NAME", help="Footprint attribute used as the building id.")
@crs_opt
@click.option("--lod", "lod", default="1.2,1.3,2.2", show_default=True, help="LoDs to build, comma separated.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Parallel processes (big inputs: each reads its own files and builds whole tiles).")
@click.option("--time-limit-s", default=5.0, show_default=True, type=float,
              help="Per-building time budget [s]; past it, lower LoDs are used. A building still running at "
                   "1.5x the budget (at least +1 s) has its worker process stopped and gets LoD1.2/1.3.")
@click.option("--dtm", "dtm_path", default=None, type=click.Path(dir_okay=False), help="Also write the DTM GeoTIFF here.")
@click.option("--slope-out", "slope_out", default=None, type=click.Path(dir_okay=False),
              help="Also write the terrain slope GeoTIFF [deg] here (Horn's method on the DTM averaged to 2 m cells).")
@click.option("--ortho", default=None, type=click.Path(exists=True, dir_okay=False),
              help="RGBN orthophoto GeoTIFF: its NDVI helps classify points of files without classes; "
                   "without --footprints, roof colours help split touching buildings.")
@click.option("--no-terrain", is_flag=True, default=False, help="Do not add the terrain TIN.")
@click.option("--terrain-error-m", default=0.2, show_default=True, type=click.FloatRange(min=0.001),
              help="Largest vertical distance of any ground point to the terrain TIN [m].")
@click.option("--workdir", default=None, type=click.Path(file_okay=False),
              help="Keep each block's result in this folder and reuse it on a re-run with the same inputs and "
                   "options: an interrupted build resumes.")
@click.option("--tile-size-m", default=None, type=click.FloatRange(min=10.0), metavar="M",
              help="Side of the square tiles [m]; each building is built by the tile holding its footprint's "
                   "centroid, from all its points, so the result does not depend on it. Default: one tile up to "
                   "2 M points, else chosen from the point density (about 4 M points per tile); printed.")
@click.option("--merge", "merge", default=None, type=click.Path(dir_okay=False), metavar="PATH",
              help="With --out X.city.jsonl (streamed as tiles finish): also merge it into one CityJSON file here.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address (tcp://HOST:8786): blocks run on the cluster instead of here; the "
                   "input files (and --workdir) must be reachable by the workers at the same paths.")
@click.option("--trees/--no-trees", default=True, show_default=True,
              help="Detect individual trees (SolitaryVegetationObject with height_m, crown_diameter_m, "
                   "crown_base_m) when the cloud has vegetation returns.")
# vegetation and land cover (lidar.vegetation.build_step)
@click.option("--landcover-out", default=None, type=click.Path(dir_okay=False),
              help="Also write the land-cover GeoTIFF here (classes of citymodel.landcover, colour table).")
@click.option("--landcover-res-m", default=0.5, show_default=True, type=click.FloatRange(0.05, 50),
              help="Land-cover cell size [m].")
@click.option("--bands", default=None, metavar="ROLES",
              help="Band roles of --ortho in file order, e.g. R,G,B,NIR (X skips a band); default from the file.")
@click.option("--ortho-optional", is_flag=True, default=False,
              help="Go on without an unusable --ortho (no overlap, bands, CRS, not a raster); logged and recorded.")
@click.option("--green-areas", "green_areas", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Green-area polygons (BGT begroeidterreindeel or any polygon layer) used instead of the "
                   "derived grass and shrub areas.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output .city.json or .city.jsonl.")
@overwrite_opt
def build_cmd(points, more_points, footprints, footprint_id_field, crs, lod, workers, time_limit_s, dtm_path,
            ortho, no_terrain, terrain_error_m, workdir, scheduler, trees, out, overwrite, slope_out=None,
            tile_size_m=None, merge=None, **veg) -> None:
    """Reconstruct buildings (LoD1.2, LoD1.3, LoD2.2) and terrain from LiDAR and footprints.

    \b
    Examples:
      citymodel build --points tile1.laz tile2.laz --footprints bgt_pand.sqlite \\
          --footprint-id-field identificatiebagpnd --crs EPSG:7415 --out delft.city.json
      citymodel build --points district.laz --footprints footprints.gpkg --footprint-id-field id \\
          --lod 2.2 --workers 4 --out district.city.jsonl --overwrite
      citymodel build --points district.laz --footprints footprints.gpkg --trees --out city.city.json
      citymodel build --points district.laz --footprints fp.gpkg --ortho ortho.tif --bands R,G,B,NIR \\
          --landcover-out landcover.tif --out city.city.json
      citymodel build --points big1.laz big2.laz --footprints fp.gpkg --workdir build_work \\
          --out city.city.jsonl          # run it again after an interruption: finished blocks are reused
      citymodel build --points /shared/tiles/*.laz --footprints /shared/fp.gpkg --workdir /shared/work \\
          --scheduler tcp://scheduler:8786 --tile-size-m 500 --out city.city.jsonl --merge city.city.json

    With --out X.city.jsonl the buildings are written tile by tile as the tiles finish (into a
    temporary file renamed at the end); with --workdir, each tile's line goes to
    WORKDIR/tiles.jsonl (tile, buildings, points, seconds, status, reason). A failed tile does not
    stop the others: its buildings are written as skipped with the reason, the failed tiles are
    listed at the end and the exit code is 1; run again with the same --workdir to retry them.
    """
    import contextlib

    from citymodel._fileutil import atomic_path, check_output
    from citymodel.io.cityjson import is_seq_path, read, write
    from citymodel.progress import console
    from lidar.build import build_model
    from lidar.execution.stream import SeqWriter
    from lidar.execution.tile_log import failed_summary
    from lidar.points.source import open_points
    from lidar.vegetation.build_step import VegetationOptions

    check_output(out, overwrite)  # fail before the work, not after
    if merge is not None and not is_seq_path(out):
        raise click.UsageError("--merge needs --out X.city.jsonl (the streamed output to merge)")
    for extra in (dtm_path, veg["landcover_out"], slope_out, merge):
        if extra is not None:
            check_output(extra, overwrite)
    vegetation = VegetationOptions(**veg)
    dtm_for, dtm_tmp = dtm_path, None
    if slope_out is not None and dtm_path is None:  # the slope needs the DTM grid: a temporary one
        dtm_tmp = tempfile.TemporaryDirectory(prefix="citymodel_dtm_")
        dtm_for = str(Path(dtm_tmp.name) / "dtm.tif")
    lods = tuple(x.strip() for x in lod.split(",") if x.strip())
    stats: dict = {}
    files = list(points) + list(more_points)
    stack = contextlib.ExitStack()
    seq = None
    if is_seq_path(out):  # streamed: each tile's buildings as it finishes, renamed at the end
        tmp = stack.enter_context(atomic_path(out, overwrite=overwrite))
        src = open_points(files, crs)
        seq = stack.enter_context(SeqWriter(tmp, src.epsg, src.extents))
    with stack:
        model = build_model(
            files, footprints=footprints, footprint_id_field=footprint_id_field,
            crs=crs, lods=lods, workers=workers, time_limit_s=time_limit_s, dtm_path=dtm_for,
            terrain=not no_terrain, terrain_error_m=terrain_error_m, progress=not is_quiet(), overwrite=overwrite,
            stats=stats, ortho=ortho, workdir=workdir, scheduler=scheduler, vegetation=vegetation,
            tile_size_m=tile_size_m, on_tile=None if seq is None else seq.tile,
        )
        _finish(model, stats, files, crs, trees, slope_out, dtm_for, dtm_tmp, overwrite, seq, out)
    path = Path(out)
    if merge is not None:
        write(read(path), merge, overwrite=overwrite)
    _report(console, model, stats, path, workdir, merge, failed_summary)


def _finish(model, stats, files, crs, trees, slope_out, dtm_for, dtm_tmp, overwrite, seq, out) -> None:
    """The slope, the trees, and the output (the rest of the streamed file, or the whole model)."""
    from citymodel.io.cityjson import write

    if slope_out is not None:
        from lidar.slope import SLOPE_RESOLUTION_M, slope_from_dtm

        if not Path(dtm_for).exists():
            raise click.ClickException(f"--slope-out {slope_out}: no DTM was made (fewer than 3 ground points)")
        slope_from_dtm(dtm_for, slope_out, resolution_m=SLOPE_RESOLUTION_M, overwrite=overwrite)
        if dtm_tmp is not None:
            dtm_tmp.cleanup()
    stats["n_trees"] = None
    if trees:
        from lidar.vegetation.trees import add_trees
        from lidar.vegetation.trees_tiled import detect_trees_in_files

        # ground, vegetation and unclassified points only (buildings are not needed for trees),
        # tile by tile for big inputs
        trees_df = detect_trees_in_files(files, crs=crs, classes=(1, 2, 3, 4, 5), progress=not is_quiet())
        stats["n_trees"] = add_trees(model, trees_df)
    if seq is not None:
        seq.finish(model)
    else:
        write(model, out, overwrite=overwrite)


def _report(console, model, stats, path, workdir, merge, failed_summary) -> None:
    """The summary lines of the build; exit code 1 when tiles failed."""
    n_trees = stats.get("n_trees")
    st = stats.get("statuses", {})
    sec = stats.get("seconds_per_building")
    timing = ""
    if sec is not None and len(sec):
        timing = f"; {1000 * float(sorted(sec)[len(sec) // 2]):.0f} ms median per building"
    console.print(
        f"Wrote {path}: {st.get('ok', 0)} buildings ok, {st.get('fallback', 0)} with a lower-LoD fallback, "
        f"{st.get('skipped', 0)} skipped ({stats.get('classes', '')}{timing})"
        + (f"; {n_trees} trees" if n_trees is not None else "")
        + (f"; {stats['blocks_reused']} block{'s' if stats['blocks_reused'] != 1 else ''} reused from {workdir}"
           if stats.get("blocks_reused") else "")
    )
    console.print(f"  tiles: {len(stats.get('tiles', []))}, {stats.get('tile_size_reason', '')}"
                  + (f"; merged into {merge}" if merge else "")
                  + (f"; log {Path(workdir) / 'tiles.jsonl'}" if workdir else ""))
    vs = stats.get("vegetation") or {}
    if vs:
        console.print(f"  green areas: {vs['plant_covers']} PlantCover {vs['by_class']}; land cover "
                      + ", ".join(f"{k} {100 * v:.0f} %" for k, v in vs["shares"].items())
                      + (f" -> {vs['landcover_out']}" if vs.get("landcover_out") else ""))
        for note in vs["notes"]:
            console.print(f"  {note}")
    if st.get("skipped") or st.get("fallback"):
        reasons: dict[str, int] = {}
        for o in model.city_objects.values():
            a = o.get("attributes", {})
            if a.get("status") in ("skipped", "fallback"):
                key = str(a.get("status_reason", "")).split(";")[0][:90]
                reasons[key] = reasons.get(key, 0) + 1
        for r, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:8]:
            console.print(f"  {n} x {r}")
    failed = stats.get("failed_tiles") or []
    if failed:
        from lidar.execution.run import TileReport

        lines = failed_summary([TileReport(**t) for t in failed])
        console.print(f"  {len(failed)} tile{'s' if len(failed) != 1 else ''} failed (their buildings are written "
                      f"as skipped; run again with the same --workdir to retry them):")
        for line in lines:
            console.print(f"    {line}")
        raise click.exceptions.Exit(1)
