"""``generate``: write every product of a synthetic district into one folder."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from citymodel._fileutil import atomic_path, check_output
from citymodel.io.cityjson import write_cityjson
from citymodel.model import CityModel
from citymodel.progress import progress_bar
from citymodel.synth.district import DEFAULT_CRS, DEFAULT_ORIGIN_LONLAT, make_district
from citymodel.synth.lidar import drop_gaps, simulate_lidar, write_laz
from citymodel.synth.mesh import scene_mesh
from citymodel.synth.ortho import render_ortho, write_ortho
from citymodel.synth.truth import (
    building_table,
    district_to_citymodel,
    roofplane_table,
    superstructure_table,
    tree_table,
)
from citymodel.synth.vectors import footprint_records, write_gpkg, zone_records

__all__ = ["SynthOutputs", "generate", "generate_with_progress", "OUTPUT_NAMES"]

#: File name of every product, by role.
OUTPUT_NAMES = {
    "truth": "truth.city.json",
    "truth_buildings_csv": "truth_buildings.csv",
    "truth_roofplanes_csv": "truth_roofplanes.csv",
    "truth_trees_csv": "truth_trees.csv",
    "truth_superstructures_csv": "truth_superstructures.csv",
    "laz": "points.laz",
    "footprints": "footprints.gpkg",
    "ortho": "ortho.tif",
    "zones": "zones.gpkg",
}

# independent random streams per product: options of one product never change another
_STREAM = {"layout": 0, "lidar": 1, "ortho": 2, "footprints": 3, "zones": 4, "gaps": 5}
#: Share of the area without points in the ``ahn3`` district (dropouts of a real survey).
GAP_FRACTION_AHN3 = 0.02


@dataclass
class SynthOutputs:
    """Paths of the generated files, the truth model and a few counts.

    Attributes
    ----------
    truth, truth_buildings_csv, truth_roofplanes_csv, truth_trees_csv, truth_superstructures_csv,
    laz, footprints, ortho, zones : Path
    truth_model : CityModel
    counts : dict[str, float]
        ``buildings``, ``building_parts``, ``roof_planes``, ``trees``, ``shrubs``,
        ``green_areas``, ``superstructures``, ``points``, ``density_pts_m2``, ``zones``.
    timings_s : dict[str, float]
        Seconds per step.
    """

    truth: Path
    truth_buildings_csv: Path
    truth_roofplanes_csv: Path
    truth_trees_csv: Path
    truth_superstructures_csv: Path
    laz: Path
    footprints: Path
    ortho: Path
    zones: Path
    truth_model: CityModel
    counts: dict[str, float] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)

    def paths(self) -> dict[str, Path]:
        """Every output file by role."""
        return {k: getattr(self, k) for k in OUTPUT_NAMES}


def _write_csv(frame, path: Path, overwrite: bool, float_format: str | None = "%.4f") -> None:
    with atomic_path(path, overwrite=overwrite) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format)


def generate(
    out_dir: str | os.PathLike,
    *,
    seed: int = 7,
    size_m: float = 400.0,
    density_pts_m2: float | None = None,
    crs: str | int = DEFAULT_CRS,
    origin_lonlat: tuple[float, float] = DEFAULT_ORIGIN_LONLAT,
    unclassified: bool = False,
    footprint_noise_m: float = 0.0,
    footprint_missing_fraction: float = 0.0,
    ortho_resolution_m: float = 0.25,
    noise_m: float | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    realism: str = "clean",
) -> SynthOutputs:
    """Generate a synthetic district and write its truth, LiDAR, footprints, orthophoto and zones.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created). Files: see :data:`OUTPUT_NAMES`.
    seed : int
        Same seed, same district and same files.
    size_m : float
        Side of the square district [m].
    density_pts_m2 : float, optional
        Mean LiDAR point density, all returns [1/m2]; default 12, or 10 with ``realism="ahn3"``
        (about 9 on roofs, as AHN3).
    crs : str or int
        Projected CRS (default EPSG:32632, WGS 84 / UTM 32N).
    origin_lonlat : (float, float)
        District centre (lon, lat) [deg]; default central Bologna.
    unclassified : bool
        LiDAR class 1 everywhere (to exercise ground filtering).
    footprint_noise_m : float
        Standard deviation of footprint vertex noise [m].
    footprint_missing_fraction : float
        Share of buildings missing from the footprints (0..1).
    ortho_resolution_m : float
        Orthophoto pixel size [m].
    noise_m : float, optional
        LiDAR range noise (standard deviation) [m]; default 0.05, or 0.03 with ``realism="ahn3"``
        (AHN3's vertical precision is 2-5 cm).
    overwrite : bool
        Replace existing outputs; otherwise :class:`~citymodel.errors.OutputExistsError`
        is raised before anything is computed.
    progress : callable, optional
        Called with a short step name before each step.
    realism : str
        ``clean``: exact roof planes and a few chimneys and flat dormers (the default, what the
        accuracy tests were tuned on). ``ahn3``: the same buildings plus gable dormers, HVAC
        boxes, stair houses, parapets and trees over roofs
        (:mod:`citymodel.synth.clutter`), and point gaps over 2 % of the area.

    Returns
    -------
    SynthOutputs
    """

    out = Path(out_dir)
    paths = {k: out / v for k, v in OUTPUT_NAMES.items()}
    for p in paths.values():
        check_output(p, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _s: None)

    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng([int(seed), _STREAM[name]])

    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t0
        t = time.perf_counter()
        timings[name] = t - t0
        t0 = t

    hard = realism == "ahn3"
    if density_pts_m2 is None:
        density_pts_m2 = 10.0 if hard else 12.0
    if noise_m is None:
        noise_m = 0.03 if hard else 0.05
    say("layout")
    district = make_district(seed, size_m, crs=crs, origin_lonlat=origin_lonlat, realism=realism)
    lap("layout")
    say("truth")
    model = district_to_citymodel(district)
    write_cityjson(model, paths["truth"], overwrite=overwrite)
    _write_csv(building_table(district), paths["truth_buildings_csv"], overwrite)
    planes = roofplane_table(district)
    # plane coefficients at full precision: d is large in projected coordinates
    _write_csv(planes, paths["truth_roofplanes_csv"], overwrite, float_format=None)
    _write_csv(tree_table(district), paths["truth_trees_csv"], overwrite)
    _write_csv(superstructure_table(district), paths["truth_superstructures_csv"], overwrite)
    lap("truth")
    say("mesh")
    mesh = scene_mesh(district)
    lap("mesh")
    say("lidar")
    cloud = simulate_lidar(district, mesh, density_pts_m2=density_pts_m2, noise_m=noise_m, rng=rng("lidar"),
                           unclassified=unclassified)
    if hard:
        cloud = drop_gaps(cloud, district, GAP_FRACTION_AHN3, rng("gaps"))
    write_laz(cloud, paths["laz"], district.epsg, overwrite=overwrite)
    lap("lidar")
    say("ortho")
    img, bounds = render_ortho(district, mesh, resolution_m=ortho_resolution_m, rng=rng("ortho"))
    write_ortho(img, bounds, district.epsg, paths["ortho"], overwrite=overwrite)
    lap("ortho")
    say("footprints and zones")
    geoms, fields = footprint_records(district, noise_m=footprint_noise_m,
                                      missing_fraction=footprint_missing_fraction, rng=rng("footprints"))
    write_gpkg(geoms, fields, district.epsg, paths["footprints"], layer="footprints", overwrite=overwrite)
    zg, zf = zone_records(district, rng("zones"))
    write_gpkg(zg, zf, district.epsg, paths["zones"], layer="zones", overwrite=overwrite)
    lap("vectors")
    counts = {
        "buildings": len(district.buildings),
        "building_parts": sum(len(b.parts) for b in district.buildings if len(b.parts) > 1),
        "roof_planes": len(planes),
        "trees": sum(t.kind != "shrub" for t in district.trees),
        "shrubs": sum(t.kind == "shrub" for t in district.trees),
        "green_areas": len(district.green_areas),
        "superstructures": len(district.superstructures),
        "points": len(cloud),
        "density_pts_m2": len(cloud) / district.size_m**2,
        "zones": len(zg),
        "footprints": len(geoms),
    }
    return SynthOutputs(truth_model=model, counts=counts, timings_s=timings, **paths)


#: The stages :func:`generate` reports through its ``progress`` callback, in order.
PROGRESS_STEPS = ("layout", "truth", "mesh", "lidar", "ortho", "footprints and zones")


def generate_with_progress(out_dir: str | os.PathLike, *, show: bool = True, **kwargs) -> SynthOutputs:
    """:func:`generate` with a rich progress bar over its stages (none when ``show`` is False)."""

    with progress_bar(enabled=show) as p:
        task = p.add_task("Synthetic district", total=len(PROGRESS_STEPS))
        seen: list[str] = []

        def step(name: str) -> None:
            if seen:
                p.advance(task)
            seen.append(name)
            p.update(task, description=f"Synthetic district: {name}")

        out = generate(out_dir, progress=step, **kwargs)
        p.advance(task)
    return out
