"""City-model route of ``citymodel heat``: a CityJSON model -> SOLWEIG-style rasters on a grid.

On a north-up grid of ``grid_m`` cells covering the terrain (else the whole model), sampled at
cell centres:

- **DEM** [m]: the model's ``TINRelief`` triangles, linearly interpolated (or ``--dem DEM.tif``,
  bilinearly resampled onto the grid). Cells outside the TIN take the nearest TIN cell's value
  (counted, logged and recorded).
- **DSM** [m]: DEM, raised to the highest roof where a building's roof covers the cell centre
  (roofs: ``RoofSurface`` polygons of ``Building``/``BuildingPart``, or every upward-facing
  polygon but ``GroundSurface`` when the geometry has no semantics).
- **CDSM** [m above ground]: ``SolitaryVegetationObject`` crowns as discs of the crown radius
  around the tree's position at the tree's top height (base + ``height_m``), and ``PlantCover``
  polygons at their ``height_m`` / ``averageHeight`` attribute; 0 elsewhere and on roofs the
  canopy does not overtop.
- **land cover** (UMEP classes): 2 under buildings, 5 (grass) under ``PlantCover``, 7 under
  ``WaterBody``, and 1 (paved) everywhere else: the model has no land-cover layer yet, so
  the rest is paved; this is logged and recorded in the metadata's ``fallbacks``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from citymodel.crs import horizontal_epsg
from citymodel.errors import CRSError, InputError
from citymodel.model import CityModel
from citymodel.surfaces import surface_table
from citymodel.vegetation import tree_table
from microclimate._raster_kernels import triangles_max_z
from microclimate.grid import HeatRasters
from microclimate.rasters import read_raster

__all__ = ["model_grid", "model_to_rasters", "rasterise_triangles_max_z", "BUILDING_TYPES"]

log = logging.getLogger(__name__)

BUILDING_TYPES = ("Building", "BuildingPart")
_PLANT_HEIGHT_ATTRS = ("height_m", "averageHeight", "average_height_m", "height")


def _fallback(fallbacks: list[str], msg: str) -> None:
    log.warning(msg)
    fallbacks.append(msg)


def model_grid(extent_xy: tuple[float, float, float, float], grid_m: float) -> tuple[Any, tuple[int, int]]:
    """Transform and shape of a grid of ``grid_m`` cells aligned to multiples of ``grid_m``.

    Parameters
    ----------
    extent_xy : (xmin, ymin, xmax, ymax)
        Area to cover [m].
    grid_m : float
        Cell size [m], > 0.

    Returns
    -------
    transform : affine.Affine
        North-up.
    shape : (ny, nx)
    """
    from affine import Affine

    if not grid_m > 0:
        raise InputError(f"--grid-m {grid_m}: the cell size must be positive (e.g. 1.0)")
    xmin, ymin, xmax, ymax = (float(v) for v in extent_xy)
    x0 = np.floor(xmin / grid_m) * grid_m
    y_top = np.ceil(ymax / grid_m) * grid_m
    nx = max(1, int(np.ceil((xmax - x0) / grid_m - 1e-9)))
    ny = max(1, int(np.ceil((y_top - ymin) / grid_m - 1e-9)))
    return Affine(grid_m, 0.0, x0, 0.0, -grid_m, y_top), (ny, nx)


def rasterise_triangles_max_z(tri_xyz: np.ndarray, transform: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Highest triangle z at every cell centre.

    Parameters
    ----------
    tri_xyz : (m, 3, 3) float64
        Triangle corners [m].
    transform : affine.Affine
        North-up grid transform.
    shape : (ny, nx)

    Returns
    -------
    z_m : (ny, nx) float64
        NaN where no triangle covers the centre.
    hit : (ny, nx) int32
        Index of the triangle giving ``z_m`` (-1 = none).
    """
    out = np.full(shape, np.nan)
    hit = np.full(shape, -1, dtype=np.int32)
    tri = np.ascontiguousarray(tri_xyz, dtype=np.float64).reshape(-1, 3, 3)
    if tri.shape[0]:
        triangles_max_z(tri, float(transform.c), float(transform.f), float(transform.a), out, hit)
    return out, hit


def _triangles(model: CityModel, types: tuple[str, ...]):
    try:
        t = surface_table(model, object_types=list(types))
    except Exception as exc:  # no such objects / no surface geometry
        log.debug("no %s surfaces: %s", types, exc)
        return None
    return t if len(t) and t.n_triangles else None


def _cell_centres(transform: Any, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    x = transform.c + (np.arange(nx) + 0.5) * transform.a
    y = transform.f + (np.arange(ny) + 0.5) * transform.e
    return x, y


def _dem_from_raster(path: str | os.PathLike, transform: Any, shape: tuple[int, int], crs: str,
                     fallbacks: list[str]) -> np.ndarray:
    import rasterio
    from rasterio.warp import Resampling, reproject

    try:
        src, meta = read_raster(path, crs=None, role="--dem")
    except CRSError:  # no CRS in the file (or not north-up: raised again below)
        src, meta = read_raster(path, crs=crs, role="--dem")
        _fallback(fallbacks, f"--dem {path}: the raster has no CRS; taken in the model's {crs}")
    dst = np.full(shape, np.nan)
    reproject(src, dst, src_transform=meta["transform"], src_crs=meta["crs"], src_nodata=np.nan,
              dst_transform=transform, dst_crs=rasterio.crs.CRS.from_user_input(crs), dst_nodata=np.nan,
              resampling=Resampling.bilinear)
    if np.isnan(dst).any():
        n = int(np.isnan(dst).sum())
        raise InputError(
            f"--dem {path}: {n} of {dst.size} grid cells are outside the raster or on its nodata; give a DEM "
            "that covers the whole model (plus one cell)"
        )
    return dst


def _fill_nearest(a: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    miss = np.isnan(a)
    _, (ri, ci) = ndimage.distance_transform_edt(miss, return_indices=True)
    return a[ri, ci]


def model_to_rasters(
    model: CityModel, grid_m: float = 1.0, *, dem: str | os.PathLike | None = None
) -> tuple[Any, dict[str, Any]]:
    """Rasterise a city model into :class:`microclimate.grid.HeatRasters`.

    Parameters
    ----------
    model : CityModel
        With a CRS (``epsg``), buildings and a ``TINRelief`` (or ``dem``).
    grid_m : float
        Cell size [m] (``--grid-m``).
    dem : path, optional
        Ground model raster (``--dem``) used instead of the model's terrain.

    Returns
    -------
    rasters : HeatRasters
        ``dsm_m``, ``dem_m``, ``cdsm_m`` (canopy height above ground, 0 none), ``landcover``
        (UMEP classes), ``building_mask``, ``transform``, ``crs``.
    meta : dict
        ``grid_m``, ``shape``, ``crs``, counts (``n_building_cells``, ``n_tree_cells``, ...),
        ``terrain`` (``"TINRelief"`` or the DEM path) and ``fallbacks``.

    Raises
    ------
    CRSError
        The model has no CRS.
    InputError
        No terrain and no ``dem``; no buildings and no terrain to place a grid on.
    """
    src = getattr(model, "source", None) or "model"
    if model.epsg is None:
        raise CRSError(f"{src}: the model has no CRS; give it with --crs EPSG:XXXX")
    crs = f"EPSG:{horizontal_epsg(int(model.epsg))}"
    fallbacks: list[str] = []
    tin = _triangles(model, ("TINRelief",))
    bld = _triangles(model, BUILDING_TYPES)
    if tin is not None and dem is None:
        v = tin.vertices[np.unique(tin.triangles)]
    elif bld is not None:
        v = bld.vertices[np.unique(bld.triangles)]
    else:
        v = model.vertices
    if v.shape[0] == 0:
        raise InputError(f"{src}: the model has no geometry to place a grid on")
    transform, shape = model_grid((v[:, 0].min(), v[:, 1].min(), v[:, 0].max(), v[:, 1].max()), grid_m)

    # ground
    if dem is not None:
        dem_m = _dem_from_raster(dem, transform, shape, crs, fallbacks)
        terrain = str(dem)
    elif tin is not None:
        dem_m, _ = rasterise_triangles_max_z(tin.vertices[tin.triangles], transform, shape)
        n_out = int(np.isnan(dem_m).sum())
        if n_out == dem_m.size:
            raise InputError(f"{src}: the TINRelief covers no cell centre of the {grid_m:g} m grid; give --dem DEM.tif")
        if n_out:
            _fallback(fallbacks, f"{src}: {n_out} grid cells outside the TINRelief take the nearest terrain "
                                 "cell's height")
            dem_m = _fill_nearest(dem_m)
        terrain = "TINRelief"
    else:
        raise InputError(f"{src}: the model has no TINRelief terrain; give the ground model with --dem DEM.tif")

    # buildings: roofs (or upward faces without semantics)
    roof_z = np.full(shape, np.nan)
    if bld is not None:
        st = bld.semantic_type
        is_roof = (st == "RoofSurface") | ((st == "") & (bld.normal[:, 2] > 0.05))
        tri = bld.triangles[np.isin(bld.triangle_surface, np.flatnonzero(is_roof))]
        roof_z, _ = rasterise_triangles_max_z(bld.vertices[tri], transform, shape)
    building = np.isfinite(roof_z) & (roof_z > dem_m + 0.05)
    dsm_m = np.where(building, roof_z, dem_m)

    # vegetation: tree crowns as discs, PlantCover polygons with a height
    cdsm_m = np.zeros(shape)
    xs, ys = _cell_centres(transform, shape)
    trees = tree_table(model)
    n_tree_cells = 0
    for t in trees.itertuples(index=False):
        r = 0.5 * float(t.crown_diameter_m)
        top = float(t.z_m) + float(t.height_m)
        if not (r > 0 and np.isfinite(top)):
            continue
        cols = np.flatnonzero(np.abs(xs - t.x_m) <= r)
        rows = np.flatnonzero(np.abs(ys - t.y_m) <= r)
        if not cols.size or not rows.size:
            continue
        rr, cc = np.meshgrid(rows, cols, indexing="ij")
        inside = (xs[cc] - t.x_m) ** 2 + (ys[rr] - t.y_m) ** 2 <= r * r
        rr, cc = rr[inside], cc[inside]
        h = np.where(top > dsm_m[rr, cc], top - dem_m[rr, cc], 0.0)
        cdsm_m[rr, cc] = np.maximum(cdsm_m[rr, cc], h)
        n_tree_cells += int(rr.size)

    landcover = np.ones(shape, dtype=np.int16)
    plant = _triangles(model, ("PlantCover",))
    n_grass = 0
    if plant is not None:
        _, hit = rasterise_triangles_max_z(plant.vertices[plant.triangles], transform, shape)
        cover = hit >= 0
        landcover[cover] = 5
        n_grass = int(cover.sum())
        obj = plant.object_index[plant.triangle_surface[np.maximum(hit, 0)]]
        heights = np.array([_plant_height(model, oid) for oid in plant.object_ids])
        h = np.where(cover, heights[obj], 0.0)
        cdsm_m = np.maximum(cdsm_m, np.where(building, 0.0, np.nan_to_num(h)))
    water = _triangles(model, ("WaterBody",))
    if water is not None:
        _, hit = rasterise_triangles_max_z(water.vertices[water.triangles], transform, shape)
        landcover[hit >= 0] = 7
    landcover[building] = 2
    _fallback(fallbacks, f"{src}: no land-cover layer in the model; cells without buildings, PlantCover or "
                         "WaterBody are treated as paved (UMEP class 1)")
    rasters = HeatRasters(dsm_m=dsm_m, dem_m=dem_m, cdsm_m=cdsm_m, landcover=landcover,
                          transform=transform, crs=crs, building_mask=building)
    meta = {
        "grid_m": float(grid_m), "shape": list(shape), "crs": crs, "terrain": terrain,
        "n_building_cells": int(building.sum()), "n_tree_cells": n_tree_cells,
        "n_trees": len(trees), "n_grass_cells": n_grass, "fallbacks": fallbacks,
    }
    return rasters, meta


def _plant_height(model: CityModel, oid: str) -> float:
    a = model.city_objects[oid].get("attributes") or {}
    for k in _PLANT_HEIGHT_ATTRS:
        v = a.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v):
            return float(v)
    return 0.0
