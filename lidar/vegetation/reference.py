"""Green-area polygons from a vector file: the Dutch BGT ``begroeidterreindeel`` layer or any polygon layer.

Used as a reference to evaluate the derived green areas, or as input instead of them
(``citymodel build --green-areas FILE``). The BGT physical appearance (``fysiekVoorkomen``,
in the OGR exports ``plus_fysiekvoorkomen`` / ``bgt_fysiekvoorkomen``) gives the class where it
is known: ``heesters`` -> shrubs, ``gras- en kruidachtigen`` -> grass; forest classes -> tree
canopy; everything else, and layers without such a field, grass / low vegetation (a ``class``
field naming one of our classes is used as is).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import shapely

from citymodel.errors import CRSError, InputError
from citymodel.landcover import LANDCOVER_CLASSES

__all__ = ["read_green_polygons", "BGT_CLASSES"]

#: BGT fysiekVoorkomen (begroeid terrein) -> our class name.
BGT_CLASSES = {
    "heesters": "shrubs",
    "gras- en kruidachtigen": "grass_low_vegetation",
    "grasland overig": "grass_low_vegetation",
    "grasland agrarisch": "grass_low_vegetation",
    "loofbos": "tree_canopy",
    "naaldbos": "tree_canopy",
    "gemengd bos": "tree_canopy",
    "struiken": "shrubs",
    "houtwal": "shrubs",
}
_LAYER_HINTS = ("begroeidterreindeel", "plantcover", "begroeid", "green", "groen", "vegetation")
_CLASS_FIELDS = ("plus_fysiekvoorkomen", "bgt_fysiekvoorkomen", "fysiekvoorkomen", "plant_cover_class", "class")
_OUR = {c.name for c in LANDCOVER_CLASSES}


def _pick_layer(path: str, layer: str | None) -> str:
    import pyogrio

    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError / OSError
        raise InputError(f"{path}: cannot read green areas ({str(exc)[:120]}); give a GeoPackage, GML, "
                         "GeoJSON, Shapefile or SpatiaLite file with polygons (--green-areas)") from None
    names = [str(n) for n, _ in layers]
    poly = [str(n) for n, t in layers if t is None or "polygon" in str(t).lower()]
    if layer is not None:
        if layer not in names:
            raise InputError(f"{path}: no layer {layer!r}; layers: {', '.join(names)}")
        return layer
    for hint in _LAYER_HINTS:
        for n in poly:
            if hint in n.lower():
                return n
    if len(poly) == 1:
        return poly[0]
    raise InputError(f"{path}: cannot tell which layer holds the green areas ({', '.join(names) or 'no layers'}); "
                     "name it (layer=...) or give a file with one polygon layer")


def read_green_polygons(path: str | os.PathLike, *, layer: str | None = None, epsg: int | None = None,
                        bounds: tuple[float, float, float, float] | None = None) -> tuple[pd.DataFrame, dict]:
    """Read green-area polygons.

    Parameters
    ----------
    path : path
        Vector file (GeoPackage, GML, SpatiaLite, GeoJSON, Shapefile).
    layer : str, optional
        Layer name; default the BGT ``begroeidterreindeel``/``plantcover`` layer, else the only
        polygon layer.
    epsg : int, optional
        The model's CRS; the layer is reprojected to it when its CRS differs.
    bounds : (xmin, ymin, xmax, ymax), optional
        Keep only polygons intersecting this box (clipped to it) [m].

    Returns
    -------
    areas : DataFrame
        ``area_id``, ``plant_cover_class``, ``area_m2``, ``source_class``, ``geometry`` (shapely
        polygons).
    meta : dict
        ``layer``, ``crs``, ``class_field``.

    Raises
    ------
    InputError
        Unreadable file, no polygon layer found, no polygons.
    CRSError
        The layer has no CRS while ``epsg`` is given, or it cannot be transformed.
    """
    import pyogrio

    src = str(path)
    name = _pick_layer(src, layer)
    try:
        meta, _fids, wkb, fields = pyogrio.raw.read(src, layer=name)
    except Exception as exc:
        raise InputError(f"{src}: cannot read layer {name!r} ({str(exc)[:120]})") from None
    geoms = shapely.from_wkb(wkb) if wkb is not None else []
    if len(geoms) == 0:
        raise InputError(f"{src}: layer {name!r} has no features")
    crs = meta.get("crs")
    if epsg is not None:
        if crs is None:
            raise CRSError(f"{src}: layer {name!r} has no CRS; the model is in EPSG:{epsg} (assign it with "
                           "ogr2ogr -a_srs)")
        from pyproj import CRS, Transformer

        from citymodel.crs import horizontal_epsg

        try:
            s = CRS.from_user_input(crs)
            s = s.sub_crs_list[0] if s.is_compound and s.sub_crs_list else s
            d = CRS.from_epsg(horizontal_epsg(int(epsg)))
        except Exception as exc:
            raise CRSError(f"{src}: cannot interpret the layer's CRS {crs!r} ({exc})") from None
        if not (s == d or s.equals(d, ignore_axis_order=True)):
            t = Transformer.from_crs(s, d, always_xy=True)
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    cols = {str(n).lower(): list(v) for n, v in zip(meta["fields"], fields, strict=False)}
    cfield = next((f for f in _CLASS_FIELDS if f in cols), None)
    raw = cols[cfield] if cfield else [None] * len(geoms)
    rows = []
    box = shapely.box(*bounds) if bounds is not None else None
    for g, c in zip(geoms, raw, strict=True):  # a loop over polygons, not points
        if g is None or g.is_empty or shapely.get_type_id(g) not in (3, 6):
            continue
        if box is not None:
            if not shapely.intersects(g, box):
                continue
            g = shapely.intersection(g, box)
            if g.is_empty:
                continue
        key = str(c).strip().lower() if c is not None else ""
        cls = key if key in _OUR else BGT_CLASSES.get(key, "grass_low_vegetation")
        rows.append({"plant_cover_class": cls, "area_m2": float(g.area), "source_class": "" if c is None else str(c),
                     "geometry": g})
    if not rows:
        raise InputError(f"{src}: layer {name!r} has no polygons" + (" inside the points' extent" if box else ""))
    df = pd.DataFrame(rows)
    df.insert(0, "area_id", [f"given_{i + 1:05d}" for i in range(len(df))])
    return df, {"layer": name, "crs": crs, "class_field": cfield}
