"""Land-cover classes: integer codes, radiative and hydrological properties, UMEP mapping, GeoTIFF I/O.

One table for every reader (the solar solver's ``--albedo``, the heat solver's raster route,
per-zone rain and green statistics). Codes follow UMEP's land-cover numbering where the classes
agree (1 paved, 2 building, 5 grass, 6 bare soil, 7 water); 3 is tree canopy (UMEP 3/4,
evergreen/deciduous, are both read as 3) and 4 shrubs (no UMEP class; written as grass).
0 is nodata.

=====  ======================  ======  ==========  ======  =======
code   name                    albedo  emissivity  runoff  pervious
=====  ======================  ======  ==========  ======  =======
1      impervious              0.15    0.95        0.85    no
2      building                0.18    0.95        0.90    no
3      tree_canopy             0.16    0.98        0.15    yes
4      shrubs                  0.18    0.98        0.15    yes
5      grass_low_vegetation    0.20    0.95        0.15    yes
6      bare_soil               0.25    0.94        0.30    yes
7      water                   0.08    0.98        1.00    no
=====  ======================  ======  ==========  ======  =======

Sources
-------
Albedo and emissivity: Oke, Mills, Christen & Voogt (2017) *Urban Climates*, Cambridge
University Press, Appendix A (radiative properties of natural and urban materials: asphalt
0.05-0.20 / 0.95, concrete 0.10-0.35 / 0.71-0.90, roofs 0.08-0.35 / 0.90, deciduous trees
0.15-0.20 / 0.97-0.98, grass 0.16-0.26 / 0.90-0.95, soils 0.05-0.40 / 0.90-0.98, water
0.03-0.10 / 0.92-0.97), middle values chosen to agree with UMEP/SOLWEIG's default land-cover
table (Lindberg et al. 2018, *Environ. Model. Softw.* 99:70, roofs 0.18/0.95, asphalt
0.18/0.95, grass 0.16/0.94, bare soil 0.25/0.94, water 0.05/0.98).

Runoff coefficients (rational method, ``Q = C i A``): ASCE & WEF (1992) *Design and
Construction of Urban Stormwater Management Systems*, ASCE Manual of Practice 77 / WEF MOP
FD-20, table of runoff coefficients: asphalt and concrete streets 0.70-0.95, roofs 0.75-0.95,
lawns on sandy to heavy soil, flat to average slope 0.05-0.22, unimproved areas 0.10-0.30;
water takes all rain (1.0). Tree canopy and shrubs are assumed to stand on pervious ground
(the LiDAR sees the canopy, not what is under it).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from citymodel._fileutil import atomic_path
from citymodel.errors import InputError

__all__ = [
    "LandCoverClass",
    "LANDCOVER_CLASSES",
    "NODATA",
    "SCHEME_TAG",
    "SCHEME_VERSION",
    "IMPERVIOUS",
    "BUILDING",
    "TREE_CANOPY",
    "SHRUBS",
    "GRASS",
    "BARE_SOIL",
    "WATER",
    "GREEN_CODES",
    "class_table",
    "albedo_table",
    "property_raster",
    "to_umep",
    "from_umep",
    "read_landcover",
    "write_landcover",
    "is_landcover_raster",
]

log = logging.getLogger(__name__)

NODATA, IMPERVIOUS, BUILDING, TREE_CANOPY, SHRUBS, GRASS, BARE_SOIL, WATER = range(8)
#: Codes of the vegetated classes (the green areas).
GREEN_CODES = (TREE_CANOPY, SHRUBS, GRASS)
#: Band tag written by :func:`write_landcover`; its presence marks our own land-cover rasters.
SCHEME_TAG = "citymodel_landcover"
SCHEME_VERSION = "1"


@dataclass(frozen=True)
class LandCoverClass:
    """One land-cover class.

    Attributes
    ----------
    code : int
        Raster value (1..7; 0 is nodata).
    name : str
        Glossary name (``grass_low_vegetation``, ...).
    albedo : float
        Broadband shortwave albedo (0..1).
    emissivity : float
        Longwave emissivity (0..1).
    runoff_coefficient : float
        Rational-method runoff coefficient ``C`` (0..1): share of intense rain that runs off.
    pervious : bool
        Water can infiltrate.
    umep : int
        UMEP land-cover code written for this class.
    colour : (int, int, int)
        RGB of the GeoTIFF colour table.
    ground : str or None
        The ground surface of the class for a surface-energy balance (a key of the heat
        solver's layer table: ``asphalt``, ``grass``, ``bare_soil``, ``water``; None for
        buildings). Under canopy and shrubs the ground is taken to be grass.
    """

    code: int
    name: str
    albedo: float
    emissivity: float
    runoff_coefficient: float
    pervious: bool
    umep: int
    colour: tuple[int, int, int]
    ground: str | None = None


LANDCOVER_CLASSES: tuple[LandCoverClass, ...] = (
    LandCoverClass(IMPERVIOUS, "impervious", 0.15, 0.95, 0.85, False, 1, (160, 160, 160), "asphalt"),
    LandCoverClass(BUILDING, "building", 0.18, 0.95, 0.90, False, 2, (200, 60, 50), None),
    LandCoverClass(TREE_CANOPY, "tree_canopy", 0.16, 0.98, 0.15, True, 4, (20, 110, 30), "grass"),
    LandCoverClass(SHRUBS, "shrubs", 0.18, 0.98, 0.15, True, 5, (90, 160, 60), "grass"),
    LandCoverClass(GRASS, "grass_low_vegetation", 0.20, 0.95, 0.15, True, 5, (170, 220, 110), "grass"),
    LandCoverClass(BARE_SOIL, "bare_soil", 0.25, 0.94, 0.30, True, 6, (190, 150, 100), "bare_soil"),
    LandCoverClass(WATER, "water", 0.08, 0.98, 1.00, False, 7, (60, 120, 220), "water"),
)
_BY_CODE = {c.code: c for c in LANDCOVER_CLASSES}
#: UMEP code -> ours (UMEP 3 evergreen and 4 deciduous trees are both tree canopy).
_FROM_UMEP = {1: IMPERVIOUS, 2: BUILDING, 3: TREE_CANOPY, 4: TREE_CANOPY, 5: GRASS, 6: BARE_SOIL, 7: WATER}


def class_table() -> Any:
    """The class table as a DataFrame (one row per class, columns of :class:`LandCoverClass`)."""
    import pandas as pd

    return pd.DataFrame([c.__dict__ for c in LANDCOVER_CLASSES])


def albedo_table() -> dict[int, float]:
    """``{code: albedo}`` for :func:`energy.solar.albedo.sensor_albedo`'s ``class_table``."""
    return {c.code: c.albedo for c in LANDCOVER_CLASSES}


def property_raster(codes: np.ndarray, name: str, nodata: float = np.nan) -> np.ndarray:
    """A per-cell property (``albedo``, ``emissivity``, ``runoff_coefficient``, ``pervious``).

    Parameters
    ----------
    codes : (ny, nx) int
        Land-cover codes.
    name : str
        A field of :class:`LandCoverClass`.
    nodata : float
        Value for code 0 and unknown codes.

    Returns
    -------
    (ny, nx) float64
    """
    if name not in ("albedo", "emissivity", "runoff_coefficient", "pervious"):
        raise InputError(f"property_raster: unknown property {name!r}; use albedo, emissivity, "
                         "runoff_coefficient or pervious")
    lut = np.full(256, nodata, dtype=np.float64)
    for c in LANDCOVER_CLASSES:
        lut[c.code] = float(getattr(c, name))
    return lut[np.clip(np.asarray(codes, dtype=np.int64), 0, 255)]


def to_umep(codes: np.ndarray) -> np.ndarray:
    """Our codes to UMEP land-cover codes (shrubs become grass 5; nodata stays 0), same shape, uint8."""
    lut = np.zeros(256, np.uint8)
    for c in LANDCOVER_CLASSES:
        lut[c.code] = c.umep
    return lut[np.clip(np.asarray(codes, dtype=np.int64), 0, 255)]


def from_umep(codes: np.ndarray, source: str = "the UMEP land cover") -> np.ndarray:
    """UMEP land-cover codes (1 paved, 2 building, 3/4 trees, 5 grass, 6 bare soil, 7 water) to ours.

    Raises
    ------
    InputError
        A value outside 0..7 (``source`` names the file in the message).
    """
    a = np.asarray(codes)
    lut = np.zeros(256, np.uint8)
    for k, v in _FROM_UMEP.items():
        lut[k] = v
    vals = np.unique(a[np.isfinite(a)] if a.dtype.kind == "f" else a)
    bad = vals[(vals < 0) | (vals > 7) | (vals != np.round(vals))]
    if bad.size:
        raise InputError(f"{source}: values {bad[:5].tolist()} are not UMEP land-cover classes (1 paved, "
                         "2 building, 3 evergreen tree, 4 deciduous tree, 5 grass, 6 bare soil, 7 water)")
    return lut[np.nan_to_num(a, nan=0).astype(np.int64)]


def is_landcover_raster(path: str | os.PathLike) -> bool:
    """True when ``path`` is a GeoTIFF written by :func:`write_landcover` (its band tag)."""
    import rasterio

    try:
        with rasterio.open(path) as ds:
            return ds.tags(1).get(SCHEME_TAG) == SCHEME_VERSION
    except Exception:  # not a raster at all: the caller reports it when it reads the file
        return False


def write_landcover(
    path: str | os.PathLike, codes: np.ndarray, transform: Any, epsg: int | None, *, overwrite: bool = False,
    umep: bool = False, tags: dict[str, str] | None = None,
) -> None:
    """Write a land-cover raster (uint8, nodata 0) with a colour table and the class names.

    Parameters
    ----------
    path : path
        GeoTIFF to write (atomically).
    codes : (ny, nx) int
        Our class codes (:data:`LANDCOVER_CLASSES`).
    transform : affine.Affine
        North-up grid transform.
    epsg : int or None
        CRS of the grid.
    overwrite : bool
        Replace an existing file.
    umep : bool
        Write UMEP codes instead (for SOLWEIG); the band metadata then says so.
    tags : dict, optional
        More dataset tags (e.g. what the classification used).
    """
    import rasterio

    data = np.asarray(codes).astype(np.uint8)
    if data.ndim != 2:
        raise InputError(f"write_landcover: codes must be 2-D, got shape {data.shape}")
    if umep:
        data = to_umep(data)
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1, "dtype": "uint8",
               "nodata": 0, "transform": transform, "compress": "deflate", "tiled": data.shape[0] >= 256 and
               data.shape[1] >= 256, "crs": None if epsg is None else f"EPSG:{int(epsg)}"}
    if profile["tiled"]:
        profile.update(blockxsize=256, blockysize=256)
    names = ({1: "paved", 2: "building", 4: "deciduous_tree", 5: "grass", 6: "bare_soil", 7: "water"} if umep
             else {c.code: c.name for c in LANDCOVER_CLASSES})
    cmap = {0: (0, 0, 0, 0)}
    for c in LANDCOVER_CLASSES:
        cmap[c.umep if umep else c.code] = (*c.colour, 255)
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data, 1)
            dst.write_colormap(1, cmap)
            dst.set_band_description(1, "umep_landcover" if umep else "landcover")
            band_tags = {f"class_{k}": v for k, v in sorted(names.items())}
            if not umep:
                band_tags[SCHEME_TAG] = SCHEME_VERSION
            else:
                band_tags["scheme"] = "UMEP land cover"
            dst.update_tags(1, **band_tags)
            if tags:
                dst.update_tags(**{k: str(v) for k, v in tags.items()})


def read_landcover(path: str | os.PathLike, *, umep: bool | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a land-cover raster as our codes.

    Parameters
    ----------
    path : path
        Our GeoTIFF (:func:`write_landcover`) or a UMEP land-cover raster.
    umep : bool, optional
        Force the UMEP reading (True) or ours (False); by default ours when the band carries our
        tag, else UMEP (logged).

    Returns
    -------
    codes : (ny, nx) uint8
        Our class codes, 0 nodata.
    meta : dict
        ``transform``, ``crs`` (rasterio CRS or None), ``epsg`` (int or None), ``scheme``
        (``"citymodel"`` or ``"umep"``), ``tags`` (dataset tags).

    Raises
    ------
    InputError
        Not a raster, more than one band, values that are not classes.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        ds = rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputError(f"{path}: cannot read the land-cover raster ({exc}); give a GeoTIFF of classes") from None
    with ds:
        if ds.count != 1:
            raise InputError(f"{path}: a land-cover raster has one band of classes, this one has {ds.count}")
        ours = ds.tags(1).get(SCHEME_TAG) == SCHEME_VERSION
        if umep is None:
            umep = not ours
            if umep:
                log.info("%s: no citymodel land-cover tag; read as UMEP classes", path)
        arr = ds.read(1, masked=True)
        vals = np.ma.filled(arr.astype(np.float64), 0.0)
        meta = {"transform": ds.transform, "crs": ds.crs, "epsg": ds.crs.to_epsg() if ds.crs else None,
                "scheme": "umep" if umep else "citymodel", "tags": ds.tags()}
    if umep:
        return from_umep(vals, source=str(path)), meta
    bad = np.setdiff1d(np.unique(vals), [0, *_BY_CODE])
    if bad.size:
        raise InputError(f"{path}: values {bad[:5].tolist()} are not land-cover classes (1..7)")
    return vals.astype(np.uint8), meta

