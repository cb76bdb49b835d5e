"""Greenness of an orthophoto on a land-cover grid: NDVI with a near-infrared band, else excess green.

Band roles come from ``--bands`` (e.g. ``R,G,B,NIR``; ``X`` skips a band), else from the file:
colour interpretation red/green/blue, and a band whose description names the near infrared
(``nir``, ``near infrared``, ``NIR``). A fourth band of a red-green-blue file with no colour
interpretation and no description is taken as near infrared, and that guess is recorded in the
notes. The bands are averaged onto the target grid (rasterio ``reproject``, average
resampling, from the orthophoto's own CRS), then

* NDVI ``= (nir - red) / (nir + red)`` (Rouse et al. 1974), or
* excess green ``ExG = 2g - r - b`` on chromatic coordinates ``r = R / (R + G + B)``, ...
  (Woebbecke et al. 1995), when there is no near infrared.

Green cells are those above :data:`GREEN_THRESHOLD` of the index used.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citymodel.errors import CRSError, InputError

__all__ = ["Greenness", "read_greenness", "parse_bands", "band_roles", "ndvi_bands", "GREEN_THRESHOLD", "NOT_GREEN_THRESHOLD"]

log = logging.getLogger(__name__)

#: Index value above which a cell is green (vegetation) [-].
GREEN_THRESHOLD = {"ndvi": 0.30, "exg": 0.10}
#: Index value below which a cell is surely not vegetation (walls, cars, roofs) [-].
NOT_GREEN_THRESHOLD = {"ndvi": 0.15, "exg": 0.04}
_ROLE_NAMES = {"R": "red", "RED": "red", "G": "green", "GREEN": "green", "B": "blue", "BLUE": "blue",
               "NIR": "nir", "N": "nir", "IR": "nir", "X": None, "-": None, "A": None, "ALPHA": None}


@dataclass
class Greenness:
    """Greenness on a grid.

    Attributes
    ----------
    values : (ny, nx) float64
        NDVI or ExG per cell; NaN where the orthophoto has no data.
    index : str
        ``"ndvi"`` or ``"exg"``.
    roles : dict
        Role (``red``, ``green``, ``blue``, ``nir``) -> 1-based band number.
    notes : list of str
        What was assumed (recorded in the build summary).
    """

    values: np.ndarray
    index: str
    roles: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def green(self) -> np.ndarray:
        """(ny, nx) bool: above :data:`GREEN_THRESHOLD`."""
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(self.values, nan=-np.inf) > GREEN_THRESHOLD[self.index]

    @property
    def not_green(self) -> np.ndarray:
        """(ny, nx) bool: below :data:`NOT_GREEN_THRESHOLD` (NaN cells: False)."""
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(self.values, nan=np.inf) < NOT_GREEN_THRESHOLD[self.index]


def parse_bands(spec: str | None) -> list[str | None] | None:
    """``"R,G,B,NIR"`` -> ``["red", "green", "blue", "nir"]`` (``X`` -> None: band not used)."""
    if spec is None:
        return None
    out = []
    for tok in str(spec).split(","):
        t = tok.strip().upper()
        if t not in _ROLE_NAMES:
            raise InputError(f"--bands {spec!r}: unknown band role {tok.strip()!r}; use R, G, B, NIR or X "
                             "(skip), one per band in file order, e.g. --bands R,G,B,NIR")
        out.append(_ROLE_NAMES[t])
    named = [r for r in out if r]
    if len(named) != len(set(named)):
        raise InputError(f"--bands {spec!r}: a role is given twice")
    return out


def band_roles(ds: Any, path: str, bands: list[str | None] | None = None) -> tuple[dict[str, int], list[str]]:
    """Role -> band number of an open rasterio dataset, and the notes on what was assumed.

    Raises
    ------
    InputError
        ``bands`` lists another number of bands than the file has, or neither red+NIR nor
        red+green+blue can be found.
    """
    from rasterio.enums import ColorInterp

    notes: list[str] = []
    if bands is not None:
        if len(bands) != ds.count:
            raise InputError(f"{path}: --bands lists {len(bands)} band(s) but the orthophoto has {ds.count}; "
                             "give one role per band (R, G, B, NIR or X)")
        roles = {r: i + 1 for i, r in enumerate(bands) if r}
    else:
        roles = {}
        interp = {ColorInterp.red: "red", ColorInterp.green: "green", ColorInterp.blue: "blue"}
        for i, ci in enumerate(ds.colorinterp, start=1):
            desc = (ds.descriptions[i - 1] or "").strip().lower()
            if desc in ("nir", "near infrared", "near-infrared", "nearinfrared", "infrared", "ir"):
                roles.setdefault("nir", i)
            elif desc in ("red", "green", "blue"):
                roles.setdefault(desc, i)
            elif ci in interp:
                roles.setdefault(interp[ci], i)
        if {"red", "green", "blue"} <= set(roles) and "nir" not in roles and ds.count == 4:
            ci4 = ds.colorinterp[3]
            if ci4 in (ColorInterp.undefined, ColorInterp.gray) and not ds.descriptions[3]:
                roles["nir"] = 4
                notes.append(f"{os.path.basename(path)}: band 4 has no colour interpretation; taken as near "
                             "infrared (say otherwise with --bands R,G,B,X)")
    if "red" in roles and "nir" in roles:
        return roles, notes
    if {"red", "green", "blue"} <= set(roles):
        return roles, notes
    raise InputError(
        f"{path}: has {ds.count} band(s) with roles {sorted(roles) or 'unknown'}; greenness needs red and "
        "near-infrared (NDVI) or red, green and blue (excess green); give the band roles with --bands R,G,B,NIR"
    )


def ndvi_bands(path: str | os.PathLike, bands: list[str | None] | str | None = None) -> tuple[int, int] | None:
    """1-based (red, near-infrared) band numbers of an orthophoto, or None without a NIR band."""
    roles_given = parse_bands(bands) if isinstance(bands, str) else bands
    with _open(path) as ds:
        roles, _ = band_roles(ds, str(path), roles_given)
    return (roles["red"], roles["nir"]) if "red" in roles and "nir" in roles else None


def _open(path: str | os.PathLike):
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        return rasterio.open(path)
    except (RasterioIOError, OSError) as exc:
        raise InputError(f"{path}: not a readable raster ({str(exc).strip()[:120]}); --ortho needs a GeoTIFF "
                         "orthophoto (or drop it, or add --ortho-optional)") from None


def read_greenness(
    path: str | os.PathLike,
    transform: Any,
    shape: tuple[int, int],
    epsg: int | None,
    *,
    bands: list[str | None] | str | None = None,
) -> Greenness:
    """Greenness of an orthophoto averaged onto a north-up grid.

    Parameters
    ----------
    path : path
        Orthophoto (any rasterio-readable raster, 3 or more bands, or 2 with ``bands``).
    transform : affine.Affine
        Target grid transform (land-cover grid).
    shape : (ny, nx)
        Target grid shape.
    epsg : int or None
        CRS of the target grid; the orthophoto may be in another CRS (it is reprojected).
    bands : str or list, optional
        Band roles in file order (``"R,G,B,NIR"``); from the file when None.

    Returns
    -------
    Greenness

    Raises
    ------
    InputError
        Not a raster, band roles missing or mismatched, no overlap with the grid.
    CRSError
        The orthophoto has no CRS, or the grid has none while the orthophoto has one.
    """
    from rasterio.enums import Resampling
    from rasterio.warp import reproject, transform_bounds
    from rasterio.windows import from_bounds

    roles_given = parse_bands(bands) if isinstance(bands, str) else bands
    ds = _open(path)
    with ds:
        roles, notes = band_roles(ds, str(path), roles_given)
        if ds.crs is None:
            raise CRSError(f"{path}: the orthophoto has no CRS; the points are in "
                           f"{'EPSG:' + str(epsg) if epsg else 'an unknown CRS'}. Assign it "
                           "(gdal_translate -a_srs EPSG:XXXX in.tif out.tif) or drop --ortho")
        if epsg is None:
            raise CRSError(f"{path}: the point cloud has no CRS, so the orthophoto cannot be placed; give --crs")
        ny, nx = shape
        gb = (transform.c, transform.f + ny * transform.e, transform.c + nx * transform.a, transform.f)
        try:
            sb = transform_bounds(f"EPSG:{int(epsg)}", ds.crs, *gb, densify_pts=5)
        except Exception as exc:
            raise CRSError(f"{path}: cannot transform from EPSG:{epsg} to the orthophoto's CRS ({exc})") from None
        rb = ds.bounds
        if sb[0] >= rb.right or sb[2] <= rb.left or sb[1] >= rb.top or sb[3] <= rb.bottom:
            raise InputError(
                f"{path}: the orthophoto ({rb.left:.1f}, {rb.bottom:.1f}) - ({rb.right:.1f}, {rb.top:.1f}) in "
                f"{ds.crs.to_string()} does not overlap the points ({sb[0]:.1f}, {sb[1]:.1f}) - ({sb[2]:.1f}, "
                f"{sb[3]:.1f}); check the file and its CRS"
            )
        win = from_bounds(max(sb[0], rb.left), max(sb[1], rb.bottom), min(sb[2], rb.right), min(sb[3], rb.top),
                          ds.transform).round_offsets().round_lengths()
        win = win.intersection(from_bounds(*rb, ds.transform).round_offsets().round_lengths())
        src_tr = ds.window_transform(win)
        index = "ndvi" if ("red" in roles and "nir" in roles) else "exg"
        need = ("red", "nir") if index == "ndvi" else ("red", "green", "blue")
        out = {}
        for role in need:
            a = ds.read(roles[role], window=win, masked=True).astype(np.float32)
            src = np.ma.filled(a, np.nan)
            dst = np.full(shape, np.nan, np.float32)
            reproject(src, dst, src_transform=src_tr, src_crs=ds.crs, src_nodata=np.nan,
                      dst_transform=transform, dst_crs=f"EPSG:{int(epsg)}", dst_nodata=np.nan,
                      resampling=Resampling.average)
            out[role] = dst.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if index == "ndvi":
            v = (out["nir"] - out["red"]) / (out["nir"] + out["red"])
        else:
            s = out["red"] + out["green"] + out["blue"]
            v = (2 * out["green"] - out["red"] - out["blue"]) / s
    v[~np.isfinite(v)] = np.nan
    if index == "exg":
        notes.append(f"{os.path.basename(str(path))}: no near-infrared band; greenness is excess green (ExG)")
    for n in notes:
        log.info(n)
    return Greenness(v, index, roles, notes)
