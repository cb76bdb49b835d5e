"""Footprints and civic zones of a district as GeoPackages (pyogrio, no geopandas needed)."""

from __future__ import annotations

import os

import numpy as np
import shapely

from citymodel._fileutil import atomic_path
from citymodel.errors import InputError
from citymodel.synth.scene import District

__all__ = ["footprint_records", "zone_records", "write_gpkg", "ZONE_NAMES"]

ZONE_NAMES = ("San Vitale", "Santo Stefano", "Galvani", "Irnerio", "Malpighi", "Marconi", "Saragozza",
              "Castiglione")


def _jitter(poly: shapely.Polygon, noise_m: float, rng: np.random.Generator) -> shapely.Polygon:
    """Move every distinct vertex by Gaussian noise [m]; rings stay closed."""
    rings = []
    for r in [poly.exterior, *poly.interiors]:
        c = np.asarray(r.coords)[:-1]
        c = c + rng.normal(0.0, noise_m, c.shape)
        rings.append(np.vstack([c, c[:1]]))
    return shapely.Polygon(rings[0], rings[1:])


def footprint_records(
    district: District, *, noise_m: float = 0.0, missing_fraction: float = 0.0, rng: np.random.Generator
) -> tuple[list[shapely.Polygon], dict[str, np.ndarray]]:
    """Building footprints with ``id``, ``construction_year`` and ``use``.

    Parameters
    ----------
    noise_m : float
        Standard deviation of an independent Gaussian shift of every vertex [m] (0: exact).
    missing_fraction : float
        Share of buildings left out (0..1).
    rng : numpy.random.Generator

    Returns
    -------
    geometries : list of shapely.Polygon
    fields : dict of str to (k,) array
    """
    if not (np.isfinite(noise_m) and 0 <= noise_m <= 10):
        raise InputError(f"synth: footprint noise {noise_m} m is out of range; use 0 to 10 m")
    if not (np.isfinite(missing_fraction) and 0 <= missing_fraction < 1):
        raise InputError(f"synth: footprint missing fraction {missing_fraction} is out of range; use 0 to <1")
    nb = len(district.buildings)
    drop = np.zeros(nb, bool)
    k = int(round(missing_fraction * nb))
    if k:
        drop[rng.choice(nb, size=k, replace=False)] = True
    geoms, ids, years, uses = [], [], [], []
    for b, dropped in zip(district.buildings, drop, strict=True):
        if dropped:
            continue
        fp = shapely.orient_polygons(b.footprint) if hasattr(shapely, "orient_polygons") else b.footprint
        if noise_m > 0:
            fp = shapely.make_valid(_jitter(fp, noise_m, rng))
            if not isinstance(fp, shapely.Polygon):
                parts = [g for g in shapely.get_parts(fp) if isinstance(g, shapely.Polygon)]
                fp = max(parts, key=lambda g: g.area)
        geoms.append(fp)
        ids.append(b.building_id)
        years.append(b.construction_year)
        uses.append(b.use)
    return geoms, {
        "id": np.array(ids, dtype=object),
        "construction_year": np.array(years, dtype=np.int32),
        "use": np.array(uses, dtype=object),
    }


def zone_records(district: District, rng: np.random.Generator) -> tuple[list[shapely.Polygon], dict[str, np.ndarray]]:
    """4-8 Voronoi zones covering the district with civic attributes.

    ``population`` follows the residential floor area (35 m2 per resident); ``share_over_75``
    and ``fragility_index`` (0..1) grow with the share of pre-1950 buildings, plus noise.
    """
    xmin, ymin, xmax, ymax = district.bounds
    square = shapely.box(xmin, ymin, xmax, ymax)
    k = int(rng.integers(4, 9))
    pts = rng.uniform([xmin, ymin], [xmax, ymax], (k, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=square))
    zones = [shapely.intersection(c, square) for c in cells]
    zones = [z for z in zones if z.area > 1.0]
    zones.sort(key=lambda z: (-z.centroid.y, z.centroid.x))
    cx = np.array([b.footprint.centroid.x for b in district.buildings])
    cy = np.array([b.footprint.centroid.y for b in district.buildings])
    floor = np.array([b.footprint.area * max(p.storeys for p in b.parts) for b in district.buildings])
    res = np.array([b.use == "residential" for b in district.buildings])
    old = np.array([b.construction_year < 1950 for b in district.buildings])
    pop, s75, frag = [], [], []
    for z in zones:
        inz = shapely.contains_xy(z, cx, cy) if cx.size else np.zeros(0, bool)
        p = int(round(floor[inz & res].sum() / 35.0))
        f_old = float(old[inz].mean()) if inz.any() else 0.0
        s = float(np.clip(0.08 + 0.15 * f_old + rng.normal(0, 0.03), 0.02, 0.6))
        fr = float(np.clip(0.2 + 1.2 * (s - 0.08) + 0.25 * f_old + rng.normal(0, 0.06), 0.0, 1.0))
        pop.append(p)
        s75.append(round(s, 3))
        frag.append(round(fr, 3))
    n = len(zones)
    return zones, {
        "zone_id": np.array([f"Z{i + 1}" for i in range(n)], dtype=object),
        "name": np.array([ZONE_NAMES[i % len(ZONE_NAMES)] for i in range(n)], dtype=object),
        "population": np.array(pop, dtype=np.int64),
        "share_over_75": np.array(s75, dtype=np.float64),
        "fragility_index": np.array(frag, dtype=np.float64),
        "area_m2": np.array([z.area for z in zones], dtype=np.float64),
    }


def write_gpkg(
    geoms: list[shapely.Geometry], fields: dict[str, np.ndarray], epsg: int, path: str | os.PathLike,
    *, layer: str, overwrite: bool = False,
) -> None:
    """Write polygons and attribute columns as a one-layer GeoPackage, atomically."""
    from pyogrio.raw import write
    from pyproj import CRS

    wkb = np.array(shapely.to_wkb(np.array(geoms, dtype=object)), dtype=object)
    names = list(fields)
    with atomic_path(path, overwrite=overwrite) as tmp:
        write(str(tmp), wkb, [fields[k] for k in names], names, layer=layer, driver="GPKG",
              geometry_type="Polygon", crs=CRS.from_epsg(int(epsg)).to_wkt())
