"""Layers draped on the ground: rasters (Tmrt, surface temperature, land cover) and civic zones."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from citymodel.errors import CRSError, InputError

__all__ = ["ground_height", "raster_mesh", "zone_mesh", "zone_outline_mesh", "raster_name"]


def ground_height(terrain, default_z: float):
    """A function ``(x, y) -> z`` [local m] interpolating the terrain mesh (linear on its TIN).

    Parameters
    ----------
    terrain : pyvista.PolyData or None
        Terrain triangles in local coordinates; ``None`` gives a flat ground at ``default_z``.
    default_z : float
        Height outside the terrain's hull [local m].
    """
    if terrain is None or terrain.n_points < 3:
        return lambda x, y: np.full(np.shape(x), default_z, dtype=np.float64)
    from scipy.interpolate import LinearNDInterpolator
    from scipy.spatial import QhullError

    p = np.asarray(terrain.points)
    try:
        f = LinearNDInterpolator(p[:, :2], p[:, 2], fill_value=np.nan)
    except (QhullError, ValueError):
        return lambda x, y: np.full(np.shape(x), default_z, dtype=np.float64)

    def _z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        z = f(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return np.where(np.isfinite(z), z, default_z)

    return _z


def raster_name(path: str | os.PathLike) -> str:
    """Indicator name of a raster file: its name without ``.tif``/``.tiff``."""
    name = Path(path).name
    for suf in (".tiff", ".tif"):
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return Path(path).stem


def raster_mesh(
    path: str | os.PathLike,
    origin: np.ndarray,
    ground,
    *,
    epsg: int | None = None,
    name: str | None = None,
    z_offset_m: float = 0.3,
    max_cells: int = 1_000_000,
):
    """A raster's cells as quads draped on the ground, nodata cells left out.

    Parameters
    ----------
    path : path-like
        GeoTIFF (band 1), in the model's CRS.
    origin : (3,) float64
        Scene origin [m].
    ground : callable
        ``(x, y) -> z`` in local coordinates (:func:`ground_height`).
    epsg : int, optional
        The model's horizontal EPSG; a raster in another declared CRS is refused.
    name : str, optional
        Cell array name (default: the file name without suffix).
    z_offset_m : float
        Height above the ground [m] (avoids z-fighting).
    max_cells : int
        Larger rasters are read decimated to about this many cells.

    Returns
    -------
    pyvista.PolyData
        Quads with the cell array ``name`` (float32).
    """
    import pyvista as pv
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioIOError

    name = name or raster_name(path)
    try:
        ds = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputError(f"{path}: cannot read raster: {exc}") from None
    with ds:
        r_epsg = ds.crs.to_epsg() if ds.crs else None
        if epsg is not None and r_epsg is not None and r_epsg != epsg:
            raise CRSError(f"{path}: raster is in EPSG:{r_epsg} but the model in EPSG:{epsg}; "
                           f"reproject it (gdalwarp -t_srs EPSG:{epsg})")
        step = max(1, int(np.ceil(np.sqrt(ds.width * ds.height / max_cells))))
        h, w = int(np.ceil(ds.height / step)), int(np.ceil(ds.width / step))
        data = ds.read(1, masked=True, out_shape=(h, w), resampling=Resampling.nearest)
        data = data.astype(np.float64).filled(np.nan)
        t = ds.transform
        sx, sy = ds.width / w, ds.height / h
    cols, rows = np.meshgrid(np.arange(w + 1) * sx, np.arange(h + 1) * sy)
    cols, rows = cols.ravel(), rows.ravel()
    xs = t.c + t.a * cols + t.b * rows - origin[0]
    ys = t.f + t.d * cols + t.e * rows - origin[1]
    zs = ground(xs, ys) + z_offset_m
    pts = np.column_stack([xs, ys, zs])
    r, c = np.nonzero(np.isfinite(data))
    if r.size == 0:
        raise InputError(f"{path}: the raster has no valid cell")
    i00 = r * (w + 1) + c
    quads = np.column_stack([i00, i00 + 1, i00 + w + 2, i00 + w + 1])
    mesh = pv.PolyData.from_regular_faces(pts, quads)
    mesh = mesh.clean(point_merging=False)  # drop unused corner points
    mesh.cell_data[name] = data[r, c].astype(np.float32)
    return mesh


def _triangulate_polygon_2d(poly) -> tuple[np.ndarray, np.ndarray]:
    """Earcut triangulation of a shapely Polygon: points (k, 2) and triangles (m, 3)."""
    import mapbox_earcut as earcut

    rings = [np.asarray(poly.exterior.coords)[:-1, :2]]
    rings += [np.asarray(r.coords)[:-1, :2] for r in poly.interiors]
    pts = np.vstack(rings)
    ends = np.cumsum([len(r) for r in rings]).astype(np.uint32)
    tri = earcut.triangulate_float64(pts, ends).reshape(-1, 3)
    return pts, tri.astype(np.int64)


def _parts(geom):
    import shapely

    if geom is None or geom.is_empty:
        return []
    if shapely.get_type_id(geom) == 6:
        return list(geom.geoms)
    return [geom]


def zone_mesh(
    zones,
    origin: np.ndarray,
    ground,
    *,
    extrude_by: np.ndarray | None = None,
    max_height_m: float = 50.0,
    z_offset_m: float = 0.5,
):
    """Zone polygons as a PolyData, draped on the ground or extruded by a value.

    Parameters
    ----------
    zones : citymodel.civic.Zones
        In the model's CRS.
    origin : (3,) float64
    ground : callable
        ``(x, y) -> z`` local (:func:`ground_height`).
    extrude_by : (z,) float64, optional
        Extrude each zone to ``max_height_m * value / max(value)`` (NaN and <= 0: flat).
    max_height_m : float
        Height of the largest extrusion [m].
    z_offset_m : float
        Height of draped zones above the ground [m].

    Returns
    -------
    pyvista.PolyData
        Triangles with cell arrays ``zone_index`` (int32) and every numeric zone attribute
        (float32).
    """
    import pandas as pd
    import pyvista as pv

    meshes = []
    heights = None
    if extrude_by is not None:
        v = np.asarray(extrude_by, dtype=np.float64)
        vmax = np.nanmax(v) if np.isfinite(v).any() else 0.0
        heights = np.where(np.isfinite(v) & (v > 0) & (vmax > 0), max_height_m * v / (vmax or 1.0), 0.0)
    for zi, geom in enumerate(zones.geometry):
        for part in _parts(geom):
            pts2, tri = _triangulate_polygon_2d(part)
            if not len(tri):
                continue
            x = pts2[:, 0] - origin[0]
            y = pts2[:, 1] - origin[1]
            if heights is None or not heights[zi] > 0:
                # drape: split long edges so the zone follows the terrain between its corners
                # (linear splits keep the plan area exactly), then lift onto the ground
                flat = pv.PolyData.from_regular_faces(np.column_stack([x, y, np.zeros(len(x))]), tri)
                edge_m = float(np.clip(np.sqrt(max(part.area, 1.0)) / 100.0, 1.0, 10.0))
                flat = flat.subdivide_adaptive(max_edge_len=edge_m, max_tri_area=edge_m**2)
                x, y = np.asarray(flat.points[:, 0]), np.asarray(flat.points[:, 1])
                tri = np.asarray(flat.faces).reshape(-1, 4)[:, 1:]
            z = ground(x, y) + z_offset_m
            m = pv.PolyData.from_regular_faces(np.column_stack([x, y, z]), tri)
            if heights is not None and heights[zi] > 0:
                flat = pv.PolyData.from_regular_faces(
                    np.column_stack([x, y, np.full(len(x), np.nanmin(z))]), tri)
                m = flat.extrude((0.0, 0.0, float(heights[zi])), capping=True).triangulate()
            m.cell_data["zone_index"] = np.full(m.n_cells, zi, dtype=np.int32)
            meshes.append(m)
    if not meshes:
        raise InputError(f"{zones.source or 'zones'}: no zone polygon could be triangulated")
    mesh = pv.merge(meshes) if len(meshes) > 1 else meshes[0]
    zidx = np.asarray(mesh.cell_data["zone_index"])
    for c in zones.attributes.columns:
        s = zones.attributes[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            mesh.cell_data[str(c)] = s.to_numpy(np.float64, na_value=np.nan)[zidx].astype(np.float32)
    return mesh


def zone_outline_mesh(zones, origin: np.ndarray, ground, *, z_offset_m: float = 0.7):
    """Zone boundaries as lines slightly above the draped zones (``zone_index`` cell array)."""
    import pyvista as pv
    import shapely

    meshes = []
    for zi, geom in enumerate(zones.geometry):
        if geom is None or geom.is_empty:
            continue
        for ring in shapely.get_rings(shapely.get_parts(geom)).ravel():
            xy = np.asarray(ring.coords)[:, :2]
            x, y = xy[:, 0] - origin[0], xy[:, 1] - origin[1]
            line = pv.lines_from_points(np.column_stack([x, y, ground(x, y) + z_offset_m]))
            line.cell_data["zone_index"] = np.full(line.n_cells, zi, dtype=np.int32)
            meshes.append(line)
    if not meshes:
        return None
    return pv.merge(meshes) if len(meshes) > 1 else meshes[0]
