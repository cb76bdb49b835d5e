"""Points of interest of a heat run (``--points``): read a point layer, place it on the grid.

A GeoPackage or GeoJSON layer of points (read with pyogrio) becomes grid rows and columns.
Ids come from a ``point_id``, ``id``, ``name`` or ``fid`` column (the first present), else the
feature's position (``p1``, ``p2``, ...). A layer in another CRS is reprojected to the grid's.
A GeoJSON without a CRS is WGS84 by the standard; UMEP writes projected coordinates into such
files, so when its coordinates cannot be degrees they are taken in the grid's CRS (logged and
recorded). A point outside the grid, or on a building, is an error listing the point ids.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citymodel.errors import CRSError, InputError

__all__ = ["GridPoints", "read_points", "points_to_grid"]

log = logging.getLogger(__name__)

_ID_COLUMNS = ("point_id", "id", "name", "fid")


@dataclass
class GridPoints:
    """Points placed on the grid.

    Attributes
    ----------
    ids : list of str
        One id per point.
    xy : (n, 2) float64
        Coordinates in the grid's CRS [m].
    rc : (n, 2) int64
        Row and column of the cell holding each point.
    source : str
        The file.
    fallbacks : list of str
        Assumptions made (CRS taken from the grid, ...).
    """

    ids: list[str]
    xy: np.ndarray
    rc: np.ndarray
    source: str
    fallbacks: list[str] = field(default_factory=list)


def read_points(
    path: str | os.PathLike, *, layer: str | None = None
) -> tuple[list[str], np.ndarray, str | None, str | None]:
    """Ids, coordinates (n, 2), the layer's CRS and a ``crs`` attribute shared by all features.

    The last is how UMEP tags GeoJSON points written in a projected CRS without a CRS member.

    Raises
    ------
    InputError
        Missing file, unreadable layer, non-point geometry, duplicate ids.
    """
    import pyogrio
    import shapely

    p = Path(path)
    if not p.is_file():
        raise InputError(f"--points {p}: file not found")
    try:
        meta, _, wkb, fields = pyogrio.raw.read(p, layer=layer)
    except Exception as exc:  # pyogrio's DataSourceError and friends
        raise InputError(f"--points {p}: cannot read the layer ({exc})") from exc
    geoms = shapely.from_wkb(wkb)
    crs = meta.get("crs")
    cols = {str(n): np.asarray(f) for n, f in zip(meta["fields"], fields, strict=True)}
    if len(geoms) == 0:
        raise InputError(f"--points {p}: the layer has no features")
    types = shapely.get_type_id(geoms)
    if np.any(types != 0):
        i = int(np.flatnonzero(types != 0)[0])
        raise InputError(f"--points {p}: feature {i + 1} is a {shapely.get_type_id(geoms[i])} geometry, not a "
                         "Point; give a point layer")
    xy = shapely.get_coordinates(geoms)[:, :2].astype(np.float64)
    ids = None
    for name in _ID_COLUMNS:
        for c, v in cols.items():
            if c.lower() == name:
                ids = [str(x) for x in v]
                break
        if ids is not None:
            break
    if ids is None:
        ids = [f"p{i + 1}" for i in range(len(xy))]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"--points {p}: duplicate point ids {dup[:10]}; give each point a unique point_id")
    crs_attr = None
    for c, v in cols.items():
        if c.lower() == "crs" and len({str(x) for x in v}) == 1:
            crs_attr = str(v[0])
    return ids, xy, crs, crs_attr


def _same_crs(a: str, b: str) -> bool:
    from pyproj import CRS

    try:
        return CRS.from_user_input(a).equals(CRS.from_user_input(b), ignore_axis_order=True)
    except Exception:
        return a == b


def points_to_grid(
    path: str | os.PathLike,
    transform: Any,
    crs: str | None,
    shape: tuple[int, int],
    building_mask: np.ndarray | None = None,
    *,
    layer: str | None = None,
) -> GridPoints:
    """Read ``--points`` and find each point's cell on the grid.

    Parameters
    ----------
    path : path
        GeoPackage / GeoJSON point layer.
    transform : affine.Affine
        The grid's transform (north-up).
    crs : str or None
        The grid's CRS.
    shape : (ny, nx)
        The grid's shape.
    building_mask : (ny, nx) bool, optional
        Cells covered by buildings: a point there is an error.

    Raises
    ------
    InputError
        Points outside the grid or on buildings (listing their ids), and the read errors.
    CRSError
        When the layer's CRS cannot be transformed to the grid's.
    """
    ids, xy, pcrs, crs_attr = read_points(path, layer=layer)
    fallbacks: list[str] = []
    src = str(path)
    if pcrs is not None and crs is not None and not _same_crs(pcrs, crs):
        looks_projected = np.any(np.abs(xy[:, 0]) > 180) or np.any(np.abs(xy[:, 1]) > 90)
        geojson_degrees = _same_crs(pcrs, "EPSG:4326") and Path(src).suffix.lower() in (".geojson", ".json")
        if geojson_degrees and looks_projected:
            pcrs = crs_attr or crs
            where = "its features' 'crs' attribute" if crs_attr else "the grid's CRS"
            msg = (f"--points {src}: GeoJSON without a CRS member (WGS84 by the standard) holds coordinates "
                   f"that cannot be degrees; taken in {pcrs} ({where})")
            log.warning(msg)
            fallbacks.append(msg)
        if not _same_crs(pcrs, crs):
            from pyproj import CRS, Transformer

            try:
                tr = Transformer.from_crs(CRS.from_user_input(pcrs), CRS.from_user_input(crs), always_xy=True)
                x, y = tr.transform(xy[:, 0], xy[:, 1])
            except Exception as exc:
                raise CRSError(f"--points {src}: cannot transform from {pcrs} to the grid's {crs} ({exc})") from exc
            xy = np.column_stack([x, y])
            log.info("--points %s: reprojected from %s to %s", src, pcrs, crs)
    elif pcrs is None and crs is not None:
        msg = f"--points {src}: the layer has no CRS; its coordinates are taken in the grid's CRS {crs}"
        log.warning(msg)
        fallbacks.append(msg)
    inv = ~transform
    col_f, row_f = inv @ (xy[:, 0], xy[:, 1])
    col = np.floor(np.asarray(col_f)).astype(np.int64)
    row = np.floor(np.asarray(row_f)).astype(np.int64)
    ny, nx = shape
    outside = (row < 0) | (row >= ny) | (col < 0) | (col >= nx) | ~np.isfinite(xy).all(axis=1)
    if outside.any():
        bad = [ids[i] for i in np.flatnonzero(outside)]
        x0, y1 = transform @ (0, 0)
        x1, y0 = transform @ (nx, ny)
        raise InputError(
            f"--points {src}: point(s) {', '.join(bad[:20])}{' ...' if len(bad) > 20 else ''} lie outside "
            f"the grid (x {x0:.1f}..{x1:.1f}, y {y0:.1f}..{y1:.1f} in {crs}); remove them or enlarge the grid"
        )
    if building_mask is not None:
        on = building_mask[row, col]
        if on.any():
            bad = [ids[i] for i in np.flatnonzero(on)]
            raise InputError(
                f"--points {src}: point(s) {', '.join(bad[:20])} lie on buildings, where there is no "
                "street-level Tmrt; move them to open ground"
            )
    return GridPoints(ids, xy, np.column_stack([row, col]), src, fallbacks)
