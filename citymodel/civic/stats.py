"""Zonal statistics: building indicators and raster indicators per zone."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from citymodel.attribute_registry import height_above_ground_name, kind_of
from citymodel.civic.zones import Zones, reproject_zones
from citymodel.errors import InputError
from citymodel.model import CityModel

__all__ = [
    "building_table",
    "zonal_stats",
    "raster_zonal_stats",
    "is_extensive",
    "DEFAULT_THRESHOLDS",
]

#: Share-over-threshold defaults for raster indicators, by a word in the raster's name.
#: UTCI 32 degC is where "strong heat stress" begins (Jendritzky et al. 2012, UTCI scale).
DEFAULT_THRESHOLDS: dict[str, float] = {"utci": 32.0}

def is_extensive(name: str) -> bool:
    """True when an indicator adds up over buildings (a total or a count), from its registered kind.

    The kinds are declared once in :mod:`citymodel.attribute_registry`; an attribute the
    toolkit does not write is never summed (it gets min/median/max unless the user asks for a
    sum with ``citymodel zones --sum FIELD``).

    Examples
    --------
    >>> is_extensive("floor_area_m2"), is_extensive("irradiation_kwh_m2"), is_extensive("pv_yield_kwh")
    (True, False, True)
    >>> is_extensive("point_density_pts_m2"), is_extensive("my_own_field_m2")
    (False, False)
    """
    return kind_of(name) in ("extensive", "count")


def _numeric_attributes(model: CityModel, ids: Sequence[str]) -> pd.DataFrame:
    rows = []
    for oid in ids:
        a = model.city_objects[oid].get("attributes") or {}
        rows.append({k: v for k, v in a.items() if isinstance(v, int | float) and not isinstance(v, bool)})
    return pd.DataFrame.from_records(rows, index=range(len(ids))).astype(np.float64)


def building_table(model: CityModel, *, lod: str | None = None) -> pd.DataFrame:
    """One row per top-level building: footprint centroid, footprint area, numeric attributes.

    The footprint is the horizontal projection of the building's ``GroundSurface`` polygons,
    or, for buildings without one, of its upward-facing polygons (roofs), over the building
    and its BuildingParts at ``lod`` (default: each object's highest LoD).

    Returns
    -------
    DataFrame
        ``building_id``, ``x_m``, ``y_m`` (footprint centroid, NaN without geometry),
        ``footprint_area_m2`` and every numeric attribute (float64, NaN where missing).
    """
    from citymodel.surfaces import surface_table

    ids = model.building_ids()
    n = len(ids)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    area = np.zeros(n)
    if n:
        st = surface_table(model, lod=lod, object_types=("Building", "BuildingPart"))
        if len(st):
            pos = {b: i for i, b in enumerate(ids)}
            root_to_b = np.asarray([pos.get(r, -1) for r in st.root_ids], dtype=np.int64)
            b = root_to_b[st.root_index]
            nz = st.normal[:, 2]
            ground = (st.semantic_type == "GroundSurface") & (b >= 0)
            up = (nz > 0.01) & (b >= 0)
            wg = np.where(ground, st.area_m2 * np.abs(nz), 0.0)
            wu = np.where(up, st.area_m2 * nz, 0.0)
            bb = np.where(b >= 0, b, 0)
            ag = np.bincount(bb, weights=wg, minlength=n)
            au = np.bincount(bb, weights=wu, minlength=n)
            use_ground = ag > 0
            w = np.where(use_ground[bb], wg, wu)
            a = np.where(use_ground, ag, au)
            sx = np.bincount(bb, weights=w * st.centroid[:, 0], minlength=n)
            sy = np.bincount(bb, weights=w * st.centroid[:, 1], minlength=n)
            ok = a > 0
            x[ok] = sx[ok] / a[ok]
            y[ok] = sy[ok] / a[ok]
            area = a
    out = pd.DataFrame({"building_id": ids, "x_m": x, "y_m": y, "footprint_area_m2": area})
    attrs = _numeric_attributes(model, ids)
    attrs = attrs.drop(columns=[c for c in attrs.columns if c in out.columns])
    return pd.concat([out, attrs], axis=1)


def _assign(zones: Zones, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Zone index of each point (the first zone that contains it), -1 outside all: ``(n,)``."""
    zone = np.full(len(x), -1, dtype=np.int64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any() or len(zones) == 0:
        return zone
    pts = shapely.points(x[ok], y[ok])
    tree = shapely.STRtree(zones.geometry)
    pi, zi = tree.query(pts, predicate="intersects")
    order = np.lexsort((zi, pi))  # the lowest zone index wins where zones overlap
    pi, zi = pi[order], zi[order]
    first = np.ones(len(pi), dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    sub = np.full(ok.sum(), -1, dtype=np.int64)
    sub[pi[first]] = zi[first]
    zone[ok] = sub
    return zone


def _fmt_bounds(b: Iterable[float]) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in b) + "]"


def _with_heights_above_ground(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``roof_height_*_above_ground_m`` = roof elevation - ``h_ground_m`` where both exist."""
    if "h_ground_m" not in table.columns:
        return table
    extra = {}
    for c in table.columns:
        h = height_above_ground_name(c)
        if h and h not in table.columns:
            extra[h] = table[c].to_numpy(float) - table["h_ground_m"].to_numpy(float)
    return table.assign(**extra) if extra else table


def _building_stats(
    zones: Zones, table: pd.DataFrame, attributes: Sequence[str] | None, source: str,
    zone_cols: set[str], sum_fields: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str], dict[str, str], np.ndarray, dict[str, str]]:
    z = len(zones)
    table = _with_heights_above_ground(table)
    zone = _assign(zones, table["x_m"].to_numpy(float), table["y_m"].to_numpy(float))
    inside = zone >= 0
    zi = zone[inside]
    fp = table["footprint_area_m2"].to_numpy(float)[inside]
    if "floor_area_m2" in table.columns:
        fa = table["floor_area_m2"].to_numpy(float)[inside]
        w = np.where(np.isfinite(fa) & (fa > 0), fa, fp)
        weight_name = "floor_area_m2"
    else:
        w = fp
        weight_name = "footprint_area_m2"
    numeric = [c for c in table.columns if c not in ("building_id", "x_m", "y_m")
               and pd.api.types.is_numeric_dtype(table[c])]
    for f in sum_fields:
        if f not in table.columns:
            raise InputError(
                f"{source}: --sum {f}: no building attribute {f!r}; numeric building attributes "
                f"are: {', '.join(numeric) or '(none)'}"
            )
    if attributes is None:
        names = numeric
    else:
        missing = [a for a in attributes if a not in table.columns]
        if missing:
            raise InputError(
                f"{source}: no building attribute {', '.join(map(repr, missing))}; numeric building "
                f"attributes are: {', '.join(numeric) or '(none)'}"
            )
        names = list(dict.fromkeys(["footprint_area_m2", *attributes]))
    cols: dict[str, np.ndarray] = {"n_buildings": np.bincount(zi, minlength=z).astype(np.int64)}
    how: dict[str, str] = {"n_buildings": "count"}
    skipped: dict[str, str] = {}
    out_names = []
    order = np.argsort(zi, kind="stable")
    starts = np.searchsorted(zi[order], np.arange(z + 1))
    for name in names:
        v = table[name].to_numpy(float)[inside]
        ok = np.isfinite(v)
        col = f"buildings_{name}" if name in zone_cols else name
        kind = "extensive" if name in sum_fields else kind_of(name)
        if kind in ("identifier", "category"):
            skipped[name] = f"not summarised: {kind} (never averaged or summed)"
            continue
        if kind == "elevation" and attributes is None:
            skipped[name] = ("not summarised: elevation above the datum (zone tables show heights "
                             "above ground instead)")
            continue
        if kind in ("extensive", "count"):
            s = np.bincount(zi[ok], weights=v[ok], minlength=z)
            has = np.bincount(zi[ok], minlength=z) > 0
            cols[col] = np.where(has, s, np.nan)
            how[col] = "sum"
            out_names.append(col)
        elif kind in ("intensive", "height"):
            ww = np.where(ok & np.isfinite(w) & (w > 0), w, 0.0)
            wsum = np.bincount(zi, weights=ww, minlength=z)
            vsum = np.bincount(zi, weights=ww * np.where(ok, v, 0.0), minlength=z)
            cols[col] = np.where(wsum > 0, vsum / np.where(wsum > 0, wsum, 1.0), np.nan)
            how[col] = f"mean weighted by {weight_name}"
            out_names.append(col)
        else:  # unknown user fields, and elevations asked for by name: a range, never a sum
            vs = v[order]
            stats = np.full((z, 3), np.nan)
            for i in range(z):
                x = vs[starts[i] : starts[i + 1]]
                x = x[np.isfinite(x)]
                if x.size:
                    stats[i] = (x.min(), np.median(x), x.max())
            for j, suffix in enumerate(("min", "median", "max")):
                c = f"{col}_{suffix}"
                cols[c] = stats[:, j]
                how[c] = f"{suffix} over buildings ({kind} attribute: not summed; --sum {name} to sum)"
                out_names.append(c)
    return pd.DataFrame(cols), out_names, how, zone, skipped


def _raster_name(path: str | os.PathLike, ds) -> str:
    desc = (ds.descriptions[0] if ds.descriptions else None) or ""
    if desc and desc.replace("_", "").isalnum():
        return desc
    name = Path(path).name
    for suf in (".tiff", ".tif", ".vrt", ".nc", ".asc"):
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return Path(path).stem


def raster_zonal_stats(
    zones: Zones,
    path: str | os.PathLike,
    *,
    name: str | None = None,
    threshold: float | None = None,
    band: int = 1,
) -> pd.DataFrame:
    """Mean, 10th/50th/90th percentiles and share of cells over ``threshold`` of one raster per zone.

    A cell belongs to a zone when its centre lies inside (rasterio's rasterize, the same
    rule as ``rasterio.features.geometry_mask``); nodata cells are left out. Zones are
    reprojected to the raster's CRS when both declare one.

    Parameters
    ----------
    zones : Zones
    path : path-like
        A GeoTIFF (any GDAL raster).
    name : str, optional
        Indicator name used as column prefix (default: the band description or file stem).
    threshold : float, optional
        Report ``{name}_share_over_{threshold}`` (fraction 0..1 of the zone's cells); default
        from :data:`DEFAULT_THRESHOLDS` when the name contains one of its words.

    Returns
    -------
    DataFrame
        ``(z, 4 or 5)``: ``{name}_mean``, ``{name}_p10``, ``{name}_p50``, ``{name}_p90``
        [raster units], ``{name}_share_over_{t}``; NaN for zones with no valid cell.

    Raises
    ------
    InputError
        The raster cannot be read, or no zone covers any of its valid cells.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.features import rasterize

    src = str(path)
    try:
        ds = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputError(f"{src}: cannot read raster: {exc}") from None
    with ds:
        if band < 1 or band > ds.count:
            raise InputError(f"{src}: no band {band}; the raster has {ds.count}")
        name = name or _raster_name(path, ds)
        data = ds.read(band, masked=True).astype(np.float64).filled(np.nan)
        r_epsg = ds.crs.to_epsg() if ds.crs else None
        geoms = zones.geometry
        if r_epsg is not None and zones.epsg is not None and r_epsg != zones.epsg:
            geoms = reproject_zones(zones, r_epsg).geometry
        labels = rasterize(
            ((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
            out_shape=data.shape, transform=ds.transform, fill=0, dtype="int32",
        )
        rb = ds.bounds
    if threshold is None:
        threshold = next((t for k, t in DEFAULT_THRESHOLDS.items() if k in name.lower()), None)
    valid = (labels > 0) & np.isfinite(data)
    z = len(zones)
    if not valid.any():
        raise InputError(
            f"{src}: no zone of {zones.source or 'the zone layer'} covers a valid cell of the raster "
            f"(raster bounds {_fmt_bounds(rb)}, zone bounds {_fmt_bounds(shapely.total_bounds(geoms))}); "
            "do they cover the same area and CRS?"
        )
    lab = labels[valid] - 1
    val = data[valid]
    order = np.argsort(lab, kind="stable")
    lab, val = lab[order], val[order]
    starts = np.searchsorted(lab, np.arange(z + 1))
    stats = np.full((z, 5), np.nan)
    for i in range(z):  # one percentile call per zone (zones are few; cells are vectorised)
        v = val[starts[i] : starts[i + 1]]
        if v.size:
            stats[i, 0] = v.mean()
            stats[i, 1:4] = np.percentile(v, [10, 50, 90])
            if threshold is not None:
                stats[i, 4] = np.mean(v > threshold)
    cols = {f"{name}_mean": stats[:, 0], f"{name}_p10": stats[:, 1], f"{name}_p50": stats[:, 2],
            f"{name}_p90": stats[:, 3]}
    if threshold is not None:
        cols[f"{name}_share_over_{threshold:g}"] = stats[:, 4]
    return pd.DataFrame(cols)


def zonal_stats(
    model: CityModel | None,
    zones: Zones,
    *,
    attributes: Sequence[str] | None = None,
    rasters: Sequence[str | os.PathLike] | Mapping[str, str | os.PathLike] = (),
    thresholds: Mapping[str, float] | None = None,
    buildings: pd.DataFrame | None = None,
    lod: str | None = None,
    sum_fields: Sequence[str] = (),
) -> pd.DataFrame:
    """Every building indicator and every raster indicator per zone, joined to the zone attributes.

    A building belongs to the zone that contains its footprint centroid. How an attribute
    combines comes from its kind in :mod:`citymodel.attribute_registry`: totals (areas,
    energies, counts) are summed; intensities (kWh/m2, densities, temperatures) and heights
    above ground are averaged weighted by the buildings' ``floor_area_m2`` where present, else
    by footprint area; roof elevations (``h_roof_*_m``, above the datum) become heights above
    ground (``roof_height_*_above_ground_m``); identifiers and categories are never summarised;
    attributes the toolkit does not know get ``_min``, ``_median`` and ``_max`` columns unless
    named in ``sum_fields``.

    Parameters
    ----------
    model : CityModel or None
        The city model (None: rasters only). Zones are reprojected to its CRS.
    zones : Zones
    attributes : sequence of str, optional
        Building attributes to summarise (default: every numeric one).
    rasters : sequence of paths, or mapping name -> path
        Raster indicators (GeoTIFF), see :func:`raster_zonal_stats`.
    thresholds : mapping name -> float, optional
        Share-over-threshold per raster name.
    buildings : DataFrame, optional
        A :func:`building_table` to use instead of deriving one (add indicator arrays as
        columns to it first).
    lod : str, optional
        LoD for the footprints (default: highest).
    sum_fields : sequence of str, optional
        Attributes to sum although the toolkit does not know them as totals
        (``citymodel zones --sum FIELD``).

    Returns
    -------
    DataFrame
        ``(z, ...)``: the zone attributes, ``zone_area_m2``, ``n_buildings``, one column per
        building indicator (same name; ``buildings_<name>`` if a zone field has that name),
        and the raster columns. ``frame.attrs["indicators"]`` lists the indicator columns,
        ``frame.attrs["aggregation"]`` how each was computed, ``frame.attrs["not_summarised"]``
        the attributes left out and why, ``frame.attrs["building_zone"]`` the zone index of
        every building (-1 outside all zones).

    Raises
    ------
    InputError
        An attribute does not exist (the message lists those that do), or the zones overlap
        neither the model's buildings nor any raster.
    """
    src = zones.source or "zones"
    if model is not None and model.epsg is not None and zones.epsg is not None:
        from citymodel.crs import horizontal_epsg

        if horizontal_epsg(model.epsg) != zones.epsg:
            zones = reproject_zones(zones, model.epsg)
    frame = zones.attributes.copy()
    frame["zone_area_m2"] = zones.area_m2
    indicators: list[str] = []
    how: dict[str, str] = {}
    extra_attrs: dict = {}
    if model is not None or buildings is not None:
        table = building_table(model, lod=lod) if buildings is None else buildings
        bstats, names, how, bzone, skipped = _building_stats(
            zones, table, attributes, model.source if model is not None and model.source else src,
            set(frame.columns), sum_fields,
        )
        n_in = int((bzone >= 0).sum())
        if len(table) and n_in == 0:
            ext = model.extent()[[0, 1, 3, 4]] if model is not None else np.asarray(
                [table.x_m.min(), table.y_m.min(), table.x_m.max(), table.y_m.max()])
            raise InputError(
                f"{src}: no building of the model lies in any zone: the zones do not overlap the "
                f"model (zones {_fmt_bounds(zones.bounds())} in EPSG:{zones.epsg}, model "
                f"{_fmt_bounds(ext)} in EPSG:{model.epsg if model is not None else '?'}); check "
                "the zone layer's CRS and extent"
            )
        frame = pd.concat([frame, bstats], axis=1)
        indicators += names
        extra_attrs = {"not_summarised": skipped, "building_zone": bzone,
                       "unassigned_buildings": int(len(table) - n_in)}
    items = rasters.items() if isinstance(rasters, Mapping) else [(None, p) for p in rasters]
    for rname, path in items:
        key = rname or _stem(path)
        thr = (thresholds or {}).get(key)
        rs = raster_zonal_stats(zones, path, name=key, threshold=thr)
        for c in rs.columns:
            how[c] = "raster cells in zone"
        frame = pd.concat([frame, rs], axis=1)
        indicators += list(rs.columns)
    frame.attrs.update(extra_attrs)  # set last: concatenation does not carry attrs along
    frame.attrs["indicators"] = indicators
    frame.attrs["aggregation"] = how
    return frame


def _stem(path: str | os.PathLike) -> str:
    name = Path(path).name
    for suf in (".tiff", ".tif"):
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return Path(path).stem
