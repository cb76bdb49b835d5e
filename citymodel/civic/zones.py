"""Zone polygons with attributes: read (any OGR format, any CRS), reproject, write."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from citymodel._fileutil import atomic_path, check_output
from citymodel.crs import horizontal_epsg
from citymodel.errors import CRSError, InputError

__all__ = ["Zones", "read_zones", "reproject_zones", "write_zones"]

_POLYGONAL = {"Polygon", "MultiPolygon"}


@dataclass
class Zones:
    """Zone polygons and their attributes.

    Attributes
    ----------
    geometry : (z,) object
        shapely Polygons / MultiPolygons in the CRS ``epsg`` [m].
    attributes : DataFrame
        One row per zone (the layer's fields, renamed nowhere), index ``0..z-1``.
    epsg : int or None
        EPSG code of the horizontal CRS (None when the file has none).
    source : str or None
        The file the zones were read from (for messages).
    """

    geometry: np.ndarray
    attributes: pd.DataFrame
    epsg: int | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        self.geometry = np.asarray(self.geometry, dtype=object)
        if self.geometry.ndim != 1 or len(self.geometry) != len(self.attributes):
            raise InputError(
                f"{self.source or 'zones'}: {len(self.geometry)} geometries but "
                f"{len(self.attributes)} attribute rows"
            )
        self.attributes = self.attributes.reset_index(drop=True)

    def __len__(self) -> int:
        return int(self.geometry.shape[0])

    @property
    def ids(self) -> np.ndarray:
        """Zone ids: the ``zone_id`` field when present, else ``0..z-1``, ``(z,)``."""
        if "zone_id" in self.attributes.columns:
            return self.attributes["zone_id"].to_numpy()
        return np.arange(len(self))

    @property
    def area_m2(self) -> np.ndarray:
        """Zone areas [m2] ``(z,) float64`` (in the zones' CRS units)."""
        return shapely.area(self.geometry).astype(np.float64)

    def bounds(self) -> np.ndarray:
        """Total bounds ``[xmin, ymin, xmax, ymax]``."""
        return np.asarray(shapely.total_bounds(self.geometry), dtype=np.float64)


def _name(path: str | os.PathLike) -> str:
    return str(path)


def read_zones(
    path: str | os.PathLike, *, layer: str | int | None = None, to_epsg: int | None = None
) -> Zones:
    """Read a polygon layer (GeoPackage, GeoJSON, Shapefile, ...) with its attributes.

    Parameters
    ----------
    path : path-like
        The file.
    layer : str or int, optional
        Layer name or index (default: the first layer).
    to_epsg : int, optional
        Reproject to this EPSG code (a compound code such as 7415 means its horizontal part,
        28992). The file must then declare its CRS.

    Returns
    -------
    Zones

    Raises
    ------
    InputError
        The file is missing or unreadable, the layer does not exist, it is empty or holds
        non-polygonal geometries.
    CRSError
        The layer has no CRS (or an unknown one) and ``to_epsg`` asks for reprojection.
    """
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    src = _name(path)
    if not Path(path).exists():
        raise InputError(f"{src}: zone file not found")
    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(path, layer=layer)[:4]
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        try:
            layers = [str(x[0]) for x in pyogrio.list_layers(path)]
        except Exception:  # noqa: BLE001 - the file itself is unreadable
            layers = []
        hint = f"; its layers are {', '.join(layers)}" if layers else ""
        raise InputError(f"{src}: cannot read zone layer {layer!r}: {exc}{hint}") from None
    if wkb is None or len(wkb) == 0:
        raise InputError(f"{src}: zone layer {meta.get('layer_name', layer)!r} has no features")
    geoms = shapely.from_wkb(wkb)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, [3, 6])  # Polygon, MultiPolygon
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = "empty" if geoms[i] is None else shapely.get_type_id(geoms[i])
        raise InputError(
            f"{src}: feature {i} is not a polygon (geometry type id {kind}); a zone layer holds "
            "Polygon/MultiPolygon features only"
        )
    geoms = shapely.force_2d(geoms)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    attrs = pd.DataFrame({str(name): col for name, col in zip(meta["fields"], field_data, strict=True)})
    epsg = _epsg_of(meta.get("crs"), src)
    zones = Zones(geometry=geoms, attributes=attrs, epsg=epsg, source=src)
    if to_epsg is not None:
        zones = reproject_zones(zones, to_epsg)
    return zones


def _epsg_of(crs_text: str | None, src: str) -> int | None:
    if not crs_text:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    try:
        crs = CRS.from_user_input(crs_text)
    except PyprojCRSError as exc:
        raise CRSError(f"{src}: cannot read the layer's CRS {crs_text!r}: {exc}") from None
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        raise CRSError(
            f"{src}: the layer's CRS ({crs.name}) has no EPSG code; reproject the file to an EPSG "
            "CRS (e.g. ogr2ogr -t_srs EPSG:28992)"
        )
    return int(code)


def reproject_zones(zones: Zones, to_epsg: int) -> Zones:
    """Zones reprojected to ``to_epsg`` (its horizontal part when compound).

    Raises
    ------
    CRSError
        When the zones have no CRS or the target is unknown.
    """
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError as PyprojCRSError


    src = zones.source or "zones"
    try:
        target = horizontal_epsg(int(to_epsg))
        CRS.from_epsg(target)
    except (PyprojCRSError, ValueError, TypeError) as exc:
        raise CRSError(f"{src}: unknown target CRS EPSG:{to_epsg}: {exc}") from None
    if zones.epsg is None:
        raise CRSError(
            f"{src}: the zone layer declares no CRS, so it cannot be reprojected to EPSG:{target}; "
            "assign one first (e.g. ogr2ogr -a_srs EPSG:28992)"
        )
    if horizontal_epsg(zones.epsg) == target:
        return Zones(zones.geometry.copy(), zones.attributes.copy(), target, zones.source)
    tr = Transformer.from_crs(zones.epsg, target, always_xy=True)

    def _f(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    geoms = shapely.transform(zones.geometry, _f)
    if not np.all(np.isfinite(shapely.bounds(geoms))):
        raise CRSError(
            f"{src}: reprojecting from EPSG:{zones.epsg} to EPSG:{target} gave non-finite "
            "coordinates; is the layer's declared CRS right?"
        )
    return Zones(geoms, zones.attributes.copy(), target, zones.source)


def _field_arrays(frame: pd.DataFrame) -> tuple[list[np.ndarray], list[str]]:
    arrays, names = [], []
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_bool_dtype(s):
            a = s.to_numpy(dtype=np.int32)
        elif pd.api.types.is_integer_dtype(s) and not s.isna().any():
            a = s.to_numpy(dtype=np.int64)
        elif pd.api.types.is_numeric_dtype(s):
            a = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            a = np.asarray([None if pd.isna(v) else str(v) for v in s], dtype=object)
        arrays.append(a)
        names.append(str(c))
    return arrays, names


def write_zones(
    zones: Zones,
    frame: pd.DataFrame | None,
    path: str | os.PathLike,
    *,
    csv: str | os.PathLike | None = None,
    layer: str = "zones",
    overwrite: bool = False,
) -> Path:
    """Write zone polygons with a table (e.g. :func:`zonal_stats`'s) as GeoPackage (+ CSV).

    Parameters
    ----------
    zones : Zones
        The polygons (their CRS is written).
    frame : DataFrame, optional
        One row per zone, in zone order; default ``zones.attributes``.
    path : path-like
        Output ``.gpkg`` (another OGR format is picked from the suffix, e.g. ``.geojson``).
    csv : path-like, optional
        Also write the table (without geometry) as CSV.
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    Path
        The GeoPackage path. Both files are written atomically.
    """
    import pyogrio

    frame = zones.attributes if frame is None else frame
    if len(frame) != len(zones):
        raise InputError(f"{path}: table has {len(frame)} rows for {len(zones)} zones")
    check_output(path, overwrite)
    if csv is not None:
        check_output(csv, overwrite)
    arrays, names = _field_arrays(frame)
    geoms = shapely.force_2d(zones.geometry)
    multi = shapely.get_type_id(geoms) == 6
    gtype = "MultiPolygon" if multi.any() else "Polygon"
    if multi.any():
        geoms = np.asarray([g if m else shapely.MultiPolygon([g]) for g, m in zip(geoms, multi, strict=True)],
                           dtype=object)
    crs = f"EPSG:{zones.epsg}" if zones.epsg else None
    suffix = Path(path).suffix.lower()
    driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}.get(suffix)
    with atomic_path(path, overwrite=overwrite) as tmp:
        pyogrio.raw.write(
            str(tmp), shapely.to_wkb(geoms), arrays, names, layer=layer, driver=driver,
            geometry_type=gtype, crs=crs,
        )
    if csv is not None:
        with atomic_path(csv, overwrite=overwrite) as tmp:
            frame.to_csv(tmp, index=False)
    return Path(path)
