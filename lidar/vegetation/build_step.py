"""The vegetation step of ``citymodel build``: land cover, green areas (PlantCover), land-cover GeoTIFF.

:func:`check_ortho` runs before the buildings (a bad orthophoto fails at once, or with
``ortho_optional`` is dropped for the whole build, logged and recorded); :func:`add_vegetation`
runs on the assembled model with the run's points and footprints.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from citymodel.errors import InputError
from citymodel.landcover import GRASS, IMPERVIOUS, LANDCOVER_CLASSES, SHRUBS, write_landcover
from citymodel.model import CityModel
from lidar.vegetation.greenareas import add_plant_covers, green_areas
from lidar.vegetation.greenness import read_greenness
from lidar.vegetation.landcover import grid_for
from lidar.vegetation.reference import read_green_polygons
from lidar.vegetation.surroundings import RING_M, surroundings_shares
from lidar.vegetation.tiles import run_landcover

__all__ = ["VegetationOptions", "check_ortho", "add_vegetation"]

log = logging.getLogger(__name__)


@dataclass
class VegetationOptions:
    """Options of the vegetation step.

    Attributes
    ----------
    landcover_out : path, optional
        Write the land-cover GeoTIFF here.
    landcover_res_m : float
        Land-cover cell size [m].
    bands : str, optional
        Band roles of the orthophoto in file order (``"R,G,B,NIR"``).
    ortho_optional : bool
        Go on without an unusable orthophoto (logged and recorded) instead of failing.
    green_areas : path, optional
        Polygons (BGT ``begroeidterreindeel`` or any polygon layer) used instead of the derived
        grass and shrub areas.
    min_area_m2 : float
        Smallest green area kept [m2].
    plant_cover : bool or None
        Write PlantCover objects: always (True), never (False), or when the points have
        vegetation or an orthophoto is used (None).
    """

    landcover_out: str | os.PathLike | None = None
    landcover_res_m: float = 0.5
    bands: str | None = None
    ortho_optional: bool = False
    green_areas: str | os.PathLike | None = None
    min_area_m2: float = 4.0
    plant_cover: bool | None = None


def _box(bounds: Any) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) of one box or of the union of several ``(k, 4)`` [m]."""
    b = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def check_ortho(ortho: str | os.PathLike | None, options: VegetationOptions | None, epsg: int | None,
                bounds: Any) -> tuple[str | os.PathLike | None, list[str]]:
    """Check the orthophoto (readable, band roles, CRS, overlap with ``bounds``) before the build.

    Nothing is checked (the orthophoto is returned as is) when ``options`` is None: the build
    then runs without the vegetation step. ``bounds`` is one box or a list of boxes (the files'
    extents).

    Returns
    -------
    ortho : path or None
        The orthophoto, or None when it is unusable and ``options.ortho_optional``.
    notes : list of str
        The fallback taken, if any.

    Raises
    ------
    InputError, CRSError
        An unusable orthophoto without ``ortho_optional``.
    """
    if options is not None and ortho is None and options.bands is not None:
        raise InputError(f"--bands {options.bands}: band roles need an orthophoto; give --ortho or drop --bands")
    if ortho is None or options is None:
        return ortho, []
    bounds = _box(bounds)
    try:
        # a coarse grid: every check of the real read, at little cost
        (ny, nx), tr = grid_for(bounds, max((bounds[2] - bounds[0]) / 64, (bounds[3] - bounds[1]) / 64, 0.05))
        read_greenness(ortho, tr, (ny, nx), epsg, bands=options.bands)
    except InputError as exc:  # CRSError is an InputError
        if not options.ortho_optional:
            raise
        note = f"fallback: orthophoto not used ({exc})"
        log.warning(note)
        return None, [note]
    return ortho, []


def _given_areas(path, lc, epsg, bounds) -> tuple[Any, list[str]]:
    """Given polygons as the green areas, with attributes from the land-cover rasters. In the land
    cover, open ground inside them becomes grass and grass outside them impervious; the LiDAR's
    shrubs and canopy stay."""
    from rasterio.features import rasterize

    areas, meta = read_green_polygons(path, epsg=epsg, bounds=bounds)
    shape = lc.codes.shape
    # one raster of polygon numbers (1-based; where polygons overlap, the later one), then bincounts
    lab = rasterize([(g, i + 1) for i, g in enumerate(areas.geometry)], out_shape=shape, transform=lc.transform,
                    fill=0, dtype="int32")
    inside = lab > 0
    codes = lc.codes
    codes[(codes == GRASS) & ~inside] = IMPERVIOUS
    codes[(codes == IMPERVIOUS) & inside] = GRASS
    n = len(areas) + 1
    cnt = np.bincount(lab.ravel(), minlength=n)
    hs = np.bincount(lab.ravel(), weights=lc.height_m.ravel(), minlength=n) / np.maximum(cnt, 1)
    gs = np.full(n, np.nan)
    if lc.greenness is not None:
        g = lc.greenness.ravel()
        ok = np.isfinite(g)
        gc = np.bincount(lab.ravel()[ok], minlength=n)
        gs = np.where(gc > 0, np.bincount(lab.ravel()[ok], weights=g[ok], minlength=n) / np.maximum(gc, 1), np.nan)
    hs, gs = hs[1:], gs[1:]
    areas["height_m"] = hs
    areas["greenness"] = gs
    areas["greenness_index"] = lc.greenness_index or ""
    return areas, [f"green areas given: {len(areas)} polygons of {Path(path).name} (layer {meta['layer']})"]


def add_vegetation(
    model: CityModel,
    points: Any,
    *,
    options: VegetationOptions | None,
    footprints: list[shapely.Geometry] | None = None,
    footprint_ids: list[str] | None = None,
    ortho: str | os.PathLike | None = None,
    crs: object = None,
    bounds: tuple[float, float, float, float] | None = None,
    notes: list[str] | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict[str, Any] | None:
    """Land cover and green areas of a build, added to ``model`` (PlantCover) and written to disk.

    Parameters
    ----------
    model : CityModel
        The assembled model (extended in place).
    points : PointCloud or paths
        The run's points (files are read again, all classes; tile by tile when they are many,
        :func:`lidar.vegetation.tiles.run_landcover`).
    options : VegetationOptions or None
        None: nothing is done (returns None).
    footprints : list of shapely geometries, optional
        The run's footprints.
    footprint_ids : list of str, optional
        The building id of each footprint: each building then gets ``canopy_share_10m`` and
        ``green_share_10m``, the tree-canopy and green share of a 10 m ring around it
        (:func:`lidar.vegetation.surroundings.surroundings_shares`).
    ortho : path, optional
        Orthophoto checked by :func:`check_ortho`.
    crs : str or int, optional
        CRS for files without one.
    bounds : (xmin, ymin, xmax, ymax) or list of them, optional
        Extent of the land-cover grid (the union of the boxes) [m]; default the points' extent.
    notes : list of str, optional
        Earlier notes (an orthophoto fallback) to carry into the summary.
    overwrite : bool
        Replace an existing ``options.landcover_out``.
    progress : bool
        Progress bar while reading the points.

    Returns
    -------
    dict
        ``plant_covers`` (count), ``by_class`` (count per class), ``shares`` (cell share per
        land-cover class), ``landcover_out``, ``greenness_index`` (``ndvi``, ``exg`` or None),
        ``notes`` (inputs used and fallbacks taken).
    """
    if options is None:
        return None
    notes = list(notes or [])
    lc, has_veg = run_landcover(points, resolution_m=options.landcover_res_m, bounds=None if bounds is None else
                                _box(bounds), footprints=footprints, ortho=ortho, bands=options.bands, crs=crs,
                                progress=progress)
    notes.extend(lc.notes)
    if footprints and footprint_ids is not None:
        shares = surroundings_shares(lc.codes, lc.transform, footprints, ring_m=RING_M)
        for bid, (canopy_share, green_share) in zip(footprint_ids, shares, strict=True):
            obj = model.city_objects.get(bid)
            if obj is not None and np.isfinite(canopy_share):
                attrs = obj.setdefault("attributes", {})
                attrs["canopy_share_10m"] = round(float(canopy_share), 4)
                attrs["green_share_10m"] = round(float(green_share), 4)
    areas = None
    if options.green_areas is not None:
        areas, more = _given_areas(options.green_areas, lc, model.epsg, tuple(
            (lc.transform.c, lc.transform.f + lc.codes.shape[0] * lc.transform.e,
             lc.transform.c + lc.codes.shape[1] * lc.transform.a, lc.transform.f)))
        notes.extend(more)
        derived = green_areas(lc, min_area_m2=options.min_area_m2)
        areas = _concat(derived[~derived.plant_cover_class.isin([_name(GRASS), _name(SHRUBS)])], areas)
    want = options.plant_cover if options.plant_cover is not None else (has_veg or lc.greenness is not None
                                                                       or options.green_areas is not None)
    n_pc = 0
    by_class: dict[str, int] = {}
    if want:
        if areas is None:
            areas = green_areas(lc, min_area_m2=options.min_area_m2)
        source = "lidar+ortho" if lc.greenness is not None else "lidar"
        n_pc = add_plant_covers(model, areas, lc.dtm, source=source)
        by_class = {str(k): int(v) for k, v in areas.plant_cover_class.value_counts().items()}
    else:
        notes.append("no PlantCover: the points have no vegetation and no orthophoto was used")
    if options.landcover_out is not None:
        write_landcover(options.landcover_out, lc.codes, lc.transform, model.epsg, overwrite=overwrite,
                        tags={"inputs": "points" + (f", orthophoto ({lc.greenness_index})" if lc.greenness is not None
                                                     else "") + (", footprints" if footprints else ""),
                              "notes": " | ".join(notes)})
    vals, counts = np.unique(lc.codes, return_counts=True)
    shares = {_name(int(v)): round(float(c) / lc.codes.size, 4) for v, c in zip(vals, counts, strict=True) if v}
    return {"plant_covers": n_pc, "by_class": by_class, "shares": shares,
            "landcover_out": None if options.landcover_out is None else str(options.landcover_out),
            "greenness_index": lc.greenness_index, "notes": notes}


def _name(code: int) -> str:
    return next(c.name for c in LANDCOVER_CLASSES if c.code == code)


def _concat(a, b):
    import pandas as pd

    out = pd.concat([a, b], ignore_index=True)
    return out
