"""Building footprints: read any OGR layer (or a CSV of polygons), reproject, repair, check.

A footprint becomes a :class:`Footprint`: its id (from ``id_field`` or the feature's position),
a shapely Polygon/MultiPolygon in the point cloud's horizontal CRS, every attribute the layer
had, and a ``status`` (``"ok"`` or ``"skipped"``) with a reason. Invalid footprints are
repaired with :func:`shapely.make_valid`; what cannot be repaired (zero area, empty, no
polygon left) is kept with ``status="skipped"`` so the model lists it with the reason.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from citymodel.crs import horizontal_epsg
from citymodel.errors import CityModelWarning, CRSError, FootprintError

__all__ = ["Footprint", "read_footprints", "footprints_from_polygons", "clean_footprint", "MIN_AREA_M2"]

#: Footprints smaller than this are skipped [m2].
MIN_AREA_M2 = 1.0

_OGR_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".sqlite", ".fgb", ".gml"}


@dataclass
class Footprint:
    """One building footprint.

    Attributes
    ----------
    id : str
        Building id (value of the id field, or ``"fp<N>"`` from the feature's position).
    geometry : Polygon or MultiPolygon
        Footprint in the point cloud's horizontal CRS [m]; ``None`` when skipped for emptiness.
    attributes : dict
        Every attribute of the source feature (JSON-compatible values).
    status : str
        ``"ok"``, ``"repaired"`` or ``"skipped"``.
    status_reason : str
        Why it was repaired or skipped ("" when ok).
    """

    id: str
    geometry: Polygon | MultiPolygon | None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    status_reason: str = ""

    @property
    def usable(self) -> bool:
        return self.status != "skipped" and self.geometry is not None


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def clean_footprint(geom: Any) -> tuple[Polygon | MultiPolygon | None, str, str]:
    """Repair one footprint geometry.

    Returns
    -------
    geometry, status, reason
        ``status`` is ``"ok"``, ``"repaired"`` or ``"skipped"``.
    """
    if geom is None or shapely.is_empty(geom):
        return None, "skipped", "footprint geometry is empty"
    status, reason = "ok", ""
    if geom.has_z:
        geom = shapely.force_2d(geom)
    if not geom.is_valid:
        why = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        status, reason = "repaired", f"invalid footprint ({why}) repaired with make_valid"
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    if isinstance(geom, shapely.GeometryCollection) or isinstance(geom, MultiPolygon):
        polys = []
        for g in shapely.get_parts(geom):
            if isinstance(g, Polygon):
                polys.append(g)
            elif isinstance(g, MultiPolygon):
                polys.extend(g.geoms)
    polys = [p for p in polys if p.area >= MIN_AREA_M2 * 0.1]
    if not polys:
        return None, "skipped", "footprint has zero area (no polygon left after repair)"
    out = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    out = shapely.normalize(out)
    if out.area < MIN_AREA_M2:
        return None, "skipped", f"footprint area {out.area:.3g} m2 is below {MIN_AREA_M2} m2"
    return out, status, reason


def footprints_from_polygons(
    geoms: list[Any],
    ids: list[str] | None = None,
    attributes: list[dict[str, Any]] | None = None,
) -> list[Footprint]:
    """Footprints from shapely polygons already in the point cloud's CRS (repaired as needed)."""
    out = []
    for i, g in enumerate(geoms):
        fid = str(ids[i]) if ids is not None else f"fp{i}"
        geom, status, reason = clean_footprint(g)
        out.append(Footprint(fid, geom, dict(attributes[i]) if attributes else {}, status, reason))
    return out


def _read_csv(path: Path) -> tuple[list[Any], dict[str, list[Any]], str | None]:
    import pandas as pd

    df = pd.read_csv(path)
    cols = [c for c in df.columns if c.lower() in ("polygon", "wkt", "geometry", "geom")]
    if not cols:
        raise FootprintError(
            f"{path}: a CSV footprint file needs a 'polygon' (JSON list of [x, y]) or 'wkt' column; "
            f"it has {', '.join(map(str, df.columns))}. Convert it to GeoPackage or GeoJSON instead."
        )
    col = cols[0]
    geoms = []
    for row, text in enumerate(df[col].astype(str)):
        t = text.strip()
        try:
            if t.startswith("["):
                xy = np.asarray(json.loads(t), dtype=np.float64)
                geoms.append(Polygon(xy[:, :2]) if len(xy) >= 3 else None)
            else:
                geoms.append(shapely.from_wkt(t))
        except (ValueError, shapely.errors.GEOSException):
            raise FootprintError(f"{path}: row {row + 2}: column {col!r} is neither WKT nor a JSON list of [x, y]") from None
    fields = {c: df[c].tolist() for c in df.columns if c != col}
    return geoms, fields, None


def _read_ogr(path: Path, layer: str | int | None) -> tuple[list[Any], dict[str, list[Any]], str | None]:
    import pyogrio

    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError / OSError
        raise FootprintError(f"{path}: cannot read footprints ({exc}); give a GeoPackage, GeoJSON, Shapefile or SpatiaLite file") from None
    geoms = list(shapely.from_wkb(wkb)) if wkb is not None else []
    fields = {str(n): list(d) for n, d in zip(meta["fields"], field_data, strict=False)}
    return geoms, fields, meta.get("crs")


def _transformer(src_crs: str | None, dst_epsg: int | None, path: Path):
    if src_crs is None or dst_epsg is None:
        return None
    from pyproj import CRS, Transformer


    try:
        src = CRS.from_user_input(src_crs)
        dst = CRS.from_epsg(horizontal_epsg(int(dst_epsg)))
    except Exception as exc:
        raise CRSError(f"{path}: cannot interpret the footprints' CRS {src_crs!r} ({exc})") from None
    h = src.sub_crs_list[0] if src.is_compound and src.sub_crs_list else src
    if h == dst or h.equals(dst, ignore_axis_order=True):
        return None
    return Transformer.from_crs(h, dst, always_xy=True)


def read_footprints(
    path: str | os.PathLike,
    *,
    id_field: str | None = None,
    epsg: int | None = None,
    layer: str | int | None = None,
) -> list[Footprint]:
    """Read building footprints and bring them into the point cloud's CRS.

    Parameters
    ----------
    path : path-like
        ``.gpkg``, ``.geojson``, ``.shp``, ``.sqlite`` (any OGR vector layer) or ``.csv`` with a
        ``polygon`` (JSON list of [x, y]) or ``wkt`` column (assumed in the points' CRS).
    id_field : str, optional
        Attribute whose value becomes the building id; default: ``fp<N>`` by position.
    epsg : int, optional
        EPSG code of the point cloud (compound codes allowed); footprints in another CRS are
        reprojected to its horizontal part. ``None`` keeps the layer's coordinates.
    layer : str or int, optional
        Layer name or index (default: the first layer).

    Returns
    -------
    list of Footprint
        One per feature, in file order; unusable ones have ``status="skipped"``.

    Raises
    ------
    FootprintError
        The file cannot be read, is empty, or ``id_field`` is not one of its fields.
    """
    p = Path(path)
    if not p.exists():
        raise FootprintError(f"{p}: footprint file not found")
    if p.suffix.lower() == ".csv":
        geoms, fields, crs = _read_csv(p)
    else:
        geoms, fields, crs = _read_ogr(p, layer)
    if not geoms:
        raise FootprintError(f"{p}: the footprint layer has no features")
    if id_field is not None and id_field not in fields:
        raise FootprintError(
            f"{p}: footprint id field {id_field!r} does not exist; the fields are: "
            f"{', '.join(fields) or '(none)'} (CLI: --footprint-id-field NAME)"
        )
    tr = _transformer(crs, epsg, p)
    if tr is not None and tr.source_crs is not None and tr.source_crs.is_geographic:
        b = shapely.total_bounds([g for g in geoms if g is not None])
        if np.all(np.isfinite(b)) and (np.abs(b[[0, 2]]).max() > 180 or np.abs(b[[1, 3]]).max() > 90):
            # GeoJSON without a "crs" member is reported as WGS 84; projected numbers mean it is not
            warnings.warn(
                f"{p}: the layer says {crs} but its coordinates ({b[0]:.0f}, {b[1]:.0f}) are not "
                "longitudes/latitudes; taking them to be in the point cloud's CRS",
                CityModelWarning,
                stacklevel=2,
            )
            tr = None
    out: list[Footprint] = []
    seen: dict[str, int] = {}
    names = list(fields)
    for i, g in enumerate(geoms):
        attrs = {n: _json_value(fields[n][i]) for n in names}
        if id_field is not None:
            v = attrs.get(id_field)
            fid = f"fp{i}" if v is None else str(v)
        else:
            fid = f"fp{i}"
        if fid in seen:  # BGT has several parts per BAG id: keep ids unique
            seen[fid] += 1
            fid = f"{fid}-{seen[fid]}"
        else:
            seen[fid] = 0
        if g is not None and tr is not None:
            g = shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
        geom, status, reason = clean_footprint(g)
        out.append(Footprint(fid, geom, attrs, status, reason))
    return out
