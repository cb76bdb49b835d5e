"""Land cover, slope and rain exposure per zone: sealed and green shares, canopy cover, runoff.

For a planner ranking zones by exposure to intense rain (issue 14): per zone the share of each
land-cover class, the sealed share, the green share, the tree canopy cover, the mean terrain
slope and an area-weighted runoff coefficient, plus green area per resident when the zone layer
has a population field.

Method (also in ``frame.attrs["aggregation"]`` and the ``runoff_method`` column):

- a land-cover cell belongs to a zone when its centre lies inside it (rasterio's rasterize);
  cells without a class (code 0) are left out, and every share is of the zone's classified area;
- ``sealed_share``: classes that let no water in except open water (``impervious``,
  ``building``); ``green_share``: ``tree_canopy``, ``shrubs``, ``grass_low_vegetation``;
  ``canopy_cover_share``: ``tree_canopy`` (the crowns seen from above, over whatever is under
  them);
- ``runoff_coefficient``: the rational method's ``C`` of the zone, ``sum_k share_k C_k`` over the
  classes, ``C_k`` from :func:`citymodel.landcover.class_table` (ASCE/WEF 1992). It says which
  share of an intense rain runs off; it does not model slope, soil or storage;
- ``mean_slope_deg``: mean of the slope raster's cells in the zone (``citymodel build
  --slope-out``), with ``p90_slope_deg``;
- ``green_m2_per_resident``: green area over the zone's population field (NaN for no residents).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import shapely

from citymodel.civic.stats import raster_zonal_stats
from citymodel.civic.zones import Zones, reproject_zones
from citymodel.errors import CRSError, InputError
from citymodel.landcover import (
    BUILDING,
    GREEN_CODES,
    IMPERVIOUS,
    TREE_CANOPY,
    class_table,
    read_landcover,
)

__all__ = ["landcover_zonal_stats", "SEALED_CODES", "RUNOFF_METHOD"]

#: Land-cover codes counted as sealed ground.
SEALED_CODES = (IMPERVIOUS, BUILDING)
#: The runoff method, as written in the output.
RUNOFF_METHOD = ("rational-method runoff coefficient C, area-weighted over the land-cover classes in the zone "
                 "(class C from citymodel.landcover.class_table, ASCE/WEF 1992)")


def _fmt(b) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in b) + "]"


def landcover_zonal_stats(
    zones: Zones,
    landcover: str | os.PathLike,
    *,
    slope: str | os.PathLike | None = None,
    population_field: str | None = None,
) -> pd.DataFrame:
    """Land-cover shares, runoff coefficient, slope and green per resident of every zone.

    Parameters
    ----------
    zones : Zones
        Zone polygons with attributes (reprojected to the land cover's CRS when they differ).
    landcover : path-like
        Land-cover GeoTIFF (``citymodel build --landcover-out``, or UMEP classes), read with
        :func:`citymodel.landcover.read_landcover`; it must declare a CRS.
    slope : path-like, optional
        Slope GeoTIFF [deg] (``citymodel build --slope-out``).
    population_field : str, optional
        Zone field with the number of residents.

    Returns
    -------
    DataFrame
        ``(z, ...)`` in zone order: ``landcover_area_m2`` (classified area in the zone [m2]),
        ``landcover_coverage`` (that over the zone area, 0..1), ``share_<class>`` for every class
        (0..1 of the classified area), ``sealed_share``, ``green_share``, ``canopy_cover_share``,
        ``green_area_m2`` [m2], ``canopy_area_m2`` [m2], ``runoff_coefficient`` (0..1),
        ``runoff_method``; with ``slope``: ``mean_slope_deg``, ``p90_slope_deg`` [deg]; with
        ``population_field``: ``green_m2_per_resident`` [m2]. NaN where a zone has no classified
        cell. ``frame.attrs["aggregation"]`` states how each column was computed.

    Raises
    ------
    InputError
        The population field is missing (the message lists the fields) or not numeric; the land
        cover is unreadable or covers no zone.
    CRSError
        The land-cover raster has no CRS.
    """
    from rasterio.features import rasterize

    src = zones.source or "the zone layer"
    if population_field is not None:
        fields = list(zones.attributes.columns)
        if population_field not in fields:
            raise InputError(f"--population-field {population_field!r}: {src} has no such field; its fields are: "
                             f"{', '.join(map(str, fields)) or '(none)'}")
        pop = pd.to_numeric(zones.attributes[population_field], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(pop).all():
            raise InputError(f"--population-field {population_field!r}: the field of {src} holds no numbers")
    codes, meta = read_landcover(landcover)
    if meta["crs"] is None:
        raise CRSError(f"--landcover {landcover}: the raster has no CRS; write it with one (gdal_edit.py -a_srs "
                       "EPSG:XXXX) so it can be placed against the zones")
    geoms = zones.geometry
    if meta["epsg"] is not None and zones.epsg is not None and meta["epsg"] != zones.epsg:
        geoms = reproject_zones(zones, meta["epsg"]).geometry
    tf = meta["transform"]
    labels = rasterize(((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
                       out_shape=codes.shape, transform=tf, fill=0, dtype="int32")
    valid = (labels > 0) & (codes > 0)
    if not valid.any():
        ny, nx = codes.shape
        rb = (tf.c, tf.f + ny * tf.e, tf.c + nx * tf.a, tf.f)
        raise InputError(
            f"--landcover {landcover}: no zone of {src} covers a classified cell (raster bounds {_fmt(rb)} in "
            f"EPSG:{meta['epsg']}, zone bounds {_fmt(shapely.total_bounds(geoms))}); do they cover the same area "
            "and CRS?")
    z = len(zones)
    tab = class_table().set_index("code")
    cell_m2 = abs(tf.a * tf.e)
    counts = np.bincount((labels[valid] - 1) * 8 + codes[valid].astype(np.int64), minlength=z * 8).reshape(z, 8)
    n = counts.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / n[:, None]
    out: dict[str, np.ndarray | list] = {
        "landcover_area_m2": n * cell_m2,
        "landcover_coverage": n * cell_m2 / zones.area_m2,
    }
    for code, row in tab.iterrows():
        out[f"share_{row['name']}"] = share[:, int(code)]
    out["sealed_share"] = share[:, list(SEALED_CODES)].sum(axis=1)
    out["green_share"] = share[:, list(GREEN_CODES)].sum(axis=1)
    out["canopy_cover_share"] = share[:, TREE_CANOPY]
    out["green_area_m2"] = counts[:, list(GREEN_CODES)].sum(axis=1) * cell_m2
    out["canopy_area_m2"] = counts[:, TREE_CANOPY] * cell_m2
    c = np.zeros(8)
    c[tab.index.to_numpy(dtype=int)] = tab["runoff_coefficient"].to_numpy(dtype=np.float64)
    out["runoff_coefficient"] = share @ c
    out["runoff_method"] = [RUNOFF_METHOD] * z
    how = {
        "landcover_area_m2": "classified land-cover cells (centre in zone) x cell area",
        "landcover_coverage": "landcover_area_m2 / zone area",
        "sealed_share": "share of impervious + building cells",
        "green_share": "share of tree_canopy + shrubs + grass_low_vegetation cells",
        "canopy_cover_share": "share of tree_canopy cells",
        "green_area_m2": "green cells x cell area",
        "canopy_area_m2": "tree_canopy cells x cell area",
        "runoff_coefficient": RUNOFF_METHOD,
    }
    frame = pd.DataFrame(out)
    if slope is not None:
        s = raster_zonal_stats(zones, slope, name="slope_deg")
        frame["mean_slope_deg"] = s["slope_deg_mean"].to_numpy()
        frame["p90_slope_deg"] = s["slope_deg_p90"].to_numpy()
        how["mean_slope_deg"] = "mean of the slope raster's cells (centre in zone) [deg]"
        how["p90_slope_deg"] = "90th percentile of the slope raster's cells (centre in zone) [deg]"
    if population_field is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["green_m2_per_resident"] = np.where(pop > 0, frame["green_area_m2"].to_numpy() / pop, np.nan)
        how["green_m2_per_resident"] = f"green_area_m2 / zone field {population_field!r} (NaN for no residents)"
    frame.attrs["aggregation"] = how
    frame.attrs["indicators"] = [k for k in frame.columns if k != "runoff_method"]
    return frame
