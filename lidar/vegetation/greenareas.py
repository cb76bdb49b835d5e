"""Green areas (``PlantCover``) from a land-cover grid: polygons per vegetated class, cleaned.

Each vegetated class (grass / low vegetation, shrubs, tree canopy) is polygonised separately
(8-connected regions of the class): regions smaller than ``min_area_m2`` are first merged into
their neighbours (``rasterio.features.sieve``, so slivers do not leave holes), polygons are
simplified (Douglas-Peucker, ``simplify_m``, topology kept), and polygons still smaller than
``min_area_m2`` are dropped. Per polygon: ``area_m2``, ``height_m`` (mean height above ground
of its cells), the mean greenness (``ndvi`` or ``exg``) when an orthophoto was used, and the
class. :func:`add_plant_covers` writes them as CityJSON ``PlantCover`` objects, a
``MultiSurface`` draped on the terrain model at the polygon's vertices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from citymodel.errors import InputError
from citymodel.geometry import triangulate_polygon
from citymodel.landcover import GRASS, GREEN_CODES, LANDCOVER_CLASSES, SHRUBS, TREE_CANOPY
from citymodel.model import CityModel
from lidar.dtm import sample_grid
from lidar.vegetation.landcover import LandCoverResult

__all__ = ["green_areas", "add_plant_covers", "green_polygons", "GREEN_AREA_COLUMNS"]

GREEN_AREA_COLUMNS = ["area_id", "plant_cover_class", "area_m2", "height_m", "greenness", "greenness_index", "geometry"]
_NAMES = {c.code: c.name for c in LANDCOVER_CLASSES}


def green_polygons(codes: np.ndarray, transform: Any, *, classes: tuple[int, ...] = GREEN_CODES,
                   min_area_m2: float = 4.0, simplify_m: float | None = None
                   ) -> list[tuple[int, np.ndarray, list[tuple[shapely.Geometry, int]]]]:
    """Cleaned polygons of the vegetated classes of a land-cover grid.

    Parameters
    ----------
    codes : (ny, nx) uint8
        Land-cover codes.
    transform : affine.Affine
    classes : tuple of int
        Classes to polygonise.
    min_area_m2 : float
        Smaller regions are merged into their neighbours, smaller polygons dropped [m2].
    simplify_m : float, optional
        Douglas-Peucker tolerance [m]; default half a cell.

    Returns
    -------
    list of (code, labels, polygons)
        Per class: its region labels ``(ny, nx)`` int32 (0 outside) and ``(polygon, label)`` pairs.
    """
    from rasterio.features import shapes, sieve
    from scipy import ndimage

    res = abs(transform.a)
    tol = 0.5 * res if simplify_m is None else float(simplify_m)
    min_cells = max(1, int(np.ceil(min_area_m2 / (res * res))))
    clean = sieve(np.ascontiguousarray(codes, dtype=np.uint8), size=min_cells, connectivity=8)
    out = []
    for code in classes:
        lab, nlab = ndimage.label(clean == code, structure=np.ones((3, 3)))
        if nlab == 0:
            continue
        lab = lab.astype(np.int32)
        polys = []
        for geom, val in shapes(lab, mask=lab > 0, transform=transform, connectivity=8):
            poly = shapely.simplify(shapely.geometry.shape(geom), tol, preserve_topology=True)
            if not poly.is_valid:
                poly = shapely.make_valid(poly)
            if poly.area >= min_area_m2:
                polys.append((poly, int(val)))
        out.append((int(code), lab, polys))
    return out


def green_areas(lc: LandCoverResult, *, min_area_m2: float = 4.0, simplify_m: float | None = None,
                id_prefix: str = "green_") -> pd.DataFrame:
    """Green-area table (one row per polygon) from a land-cover result.

    Returns
    -------
    DataFrame
        Columns :data:`GREEN_AREA_COLUMNS`: ``plant_cover_class`` (``grass_low_vegetation``,
        ``shrubs``, ``tree_canopy``), ``area_m2`` [m2], ``height_m`` mean height above ground
        [m], ``greenness`` mean NDVI or ExG (NaN without orthophoto), ``geometry`` (shapely).
    """
    if min_area_m2 < 0:
        raise InputError(f"green_areas: min_area_m2 must be >= 0, got {min_area_m2}")
    rows = []
    for code, lab, polys in green_polygons(lc.codes, lc.transform, min_area_m2=min_area_m2, simplify_m=simplify_m):
        flat = lab.ravel()
        n = int(flat.max()) + 1
        cnt = np.maximum(np.bincount(flat, minlength=n), 1)
        h = np.bincount(flat, weights=lc.height_m.ravel(), minlength=n) / cnt
        if lc.greenness is not None:
            g = lc.greenness.ravel()
            ok = np.isfinite(g)
            gm = np.bincount(flat[ok], weights=g[ok], minlength=n) / np.maximum(np.bincount(flat[ok], minlength=n), 1)
            gm[np.bincount(flat[ok], minlength=n) == 0] = np.nan
        else:
            gm = np.full(n, np.nan)
        for poly, v in polys:
            rows.append({"plant_cover_class": _NAMES[code], "area_m2": float(poly.area),
                         "height_m": float(h[v]), "greenness": float(gm[v]),
                         "greenness_index": lc.greenness_index or "", "geometry": poly})
    df = pd.DataFrame(rows, columns=GREEN_AREA_COLUMNS[1:])
    rank = {_NAMES[TREE_CANOPY]: 0, _NAMES[SHRUBS]: 1, _NAMES[GRASS]: 2}
    if len(df):
        df = df.sort_values("plant_cover_class", key=lambda s: s.map(rank), kind="stable").reset_index(drop=True)
    df.insert(0, "area_id", [f"{id_prefix}{i + 1:05d}" for i in range(len(df))])
    return df


def _rings(poly: shapely.Polygon) -> list[np.ndarray]:
    """Outer ring counter-clockwise, holes clockwise, without the closing vertex, (k, 2)."""
    p = shapely.geometry.polygon.orient(poly, 1.0)
    return [np.asarray(p.exterior.coords)[:-1, :2]] + [np.asarray(r.coords)[:-1, :2] for r in p.interiors]


def add_plant_covers(model: CityModel, areas: pd.DataFrame, dtm: tuple[np.ndarray, Any], *,
                     source: str = "lidar") -> int:
    """Append one ``PlantCover`` per green area (LoD1 MultiSurface of triangles on the terrain).

    Parameters
    ----------
    model : CityModel
        Extended in place.
    areas : DataFrame
        From :func:`green_areas` (or given polygons with the same columns).
    dtm : (grid, transform)
        Terrain model for the vertex heights [m].
    source : str
        The ``source`` attribute (``lidar``, ``lidar+ortho``, ``given``).

    Returns
    -------
    int
        Objects added.
    """
    grid, tr = dtm
    # first the triangles of every polygon, then one terrain sample for all their vertices
    parts: list[tuple[Any, list[tuple[np.ndarray, np.ndarray]]]] = []
    for row in areas.itertuples(index=False):  # a loop over polygons (hundreds), not cells
        if str(row.area_id) in model.city_objects:
            continue
        pieces = []
        for poly in shapely.get_parts(row.geometry):
            if not isinstance(poly, shapely.Polygon) or poly.is_empty or poly.area <= 0:
                continue
            rings = _rings(poly)
            xy = np.concatenate(rings)
            ends = np.cumsum([0] + [len(r) for r in rings])
            flat = np.column_stack([xy, np.zeros(len(xy))])
            tri = triangulate_polygon(flat, [range(ends[k], ends[k + 1]) for k in range(len(rings))],
                                      np.array([0.0, 0.0, 1.0]))
            if len(tri):
                pieces.append((xy, tri))
        if pieces:
            parts.append((row, pieces))
    if not parts:
        return 0
    all_xy = np.concatenate([xy for _, pieces in parts for xy, _ in pieces])
    # draped on the terrain: triangles, so that every surface is planar
    z = sample_grid(all_xy, np.asarray(grid, dtype=np.float64), tr)
    base = int(model.add_vertices(np.column_stack([all_xy, z]))[0])
    n = 0
    for row, pieces in parts:
        surfaces = []
        for xy, tri in pieces:
            surfaces.extend((tri + base).tolist())
            base += len(xy)
        attrs = {"plant_cover_class": row.plant_cover_class, "area_m2": round(float(row.area_m2), 2),
                 "height_m": round(float(row.height_m), 2), "source": source}
        if np.isfinite(row.greenness):
            attrs[str(row.greenness_index) or "greenness"] = round(float(row.greenness), 3)
        model.add_object(str(row.area_id), {"type": "PlantCover", "attributes": attrs, "geometry": [
            {"type": "MultiSurface", "lod": "1", "boundaries": [[t] for t in surfaces]}]})
        n += 1
    return n
