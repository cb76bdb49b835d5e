"""Coordinate reference systems: parse every real-world spelling into an EPSG code."""

from __future__ import annotations

import re

from citymodel.errors import CRSError

__all__ = ["parse_epsg", "epsg_to_reference_system", "horizontal_epsg", "transformer_to_raster"]

_PATTERNS = (
    re.compile(r"EPSG/\d+(?:\.\d+)*/(\d+)\s*$", re.I),  # OGC URL: .../def/crs/EPSG/0/7415
    re.compile(r"urn:ogc:def:crs:EPSG:[\d.]*:(\d+)\s*$", re.I),  # urn:ogc:def:crs:EPSG::7415
    re.compile(r"^\s*EPSG\s*:+\s*(\d+)\s*$", re.I),  # EPSG:7415, EPSG::7415
    re.compile(r"^\s*(\d+)\s*$"),  # 7415
)
_COMPOUND = re.compile(r"crs-compound\?", re.I)


def parse_epsg(value: object, *, source: str = "") -> int | None:
    """EPSG code from a CityJSON ``referenceSystem`` or a user's CRS argument.

    Accepts the OGC URL (``https://www.opengis.net/def/crs/EPSG/0/7415``, http or https),
    the old URN (``urn:ogc:def:crs:EPSG::7415``, with or without a version), ``EPSG:7415``,
    a bare code as str or int, and OGC compound URLs (``crs-compound?1=...&2=...``), for which
    the horizontal code is returned. ``None`` or an empty string give ``None``.

    Raises
    ------
    CRSError
        When the value is not empty and no EPSG code can be found in it.

    Examples
    --------
    >>> parse_epsg("https://www.opengis.net/def/crs/EPSG/0/7415")
    7415
    >>> parse_epsg("urn:ogc:def:crs:EPSG::28992")
    28992
    >>> parse_epsg("EPSG:32632")
    32632
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise CRSError(f"{source}: CRS {value!r} is not an EPSG code")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    if _COMPOUND.search(text):
        codes = re.findall(r"EPSG/\d+(?:\.\d+)*/(\d+)", text, re.I)
        if codes:
            return int(codes[0])
    for pat in _PATTERNS:
        m = pat.search(text)
        if m:
            return int(m.group(1))
    where = f"{source}: " if source else ""
    raise CRSError(
        f"{where}cannot read an EPSG code from CRS {text!r}; give it as EPSG:XXXX "
        "(CLI: --crs EPSG:XXXX)"
    )


def epsg_to_reference_system(epsg: int) -> str:
    """CityJSON 2.0 spelling of an EPSG code (``https://www.opengis.net/def/crs/EPSG/0/N``)."""
    return f"https://www.opengis.net/def/crs/EPSG/0/{int(epsg)}"


def horizontal_epsg(epsg: int) -> int:
    """The horizontal part of a compound CRS (7415 -> 28992); other codes are returned as is."""
    from pyproj import CRS

    crs = CRS.from_epsg(epsg)
    if crs.is_compound and crs.sub_crs_list:
        h = crs.sub_crs_list[0].to_epsg()
        if h is not None:
            return int(h)
    return int(epsg)


def transformer_to_raster(epsg: int | None, raster_crs, path: object):
    """A ``pyproj`` transformer (x, y order) from the points' CRS ``epsg`` to a raster's CRS, or
    ``None`` when no reprojection is needed (same horizontal CRS, or either CRS unknown).

    Raises
    ------
    CRSError
        The raster's CRS has no EPSG code (``path`` names the raster in the message).
    """
    if epsg is None or raster_crs is None:
        return None
    r_epsg = raster_crs.to_epsg()
    if r_epsg is None:
        raise CRSError(f"{path}: the raster's CRS has no EPSG code; reproject it to EPSG:{epsg}")
    if horizontal_epsg(int(epsg)) == horizontal_epsg(int(r_epsg)):
        return None
    from pyproj import Transformer

    return Transformer.from_crs(horizontal_epsg(int(epsg)), int(r_epsg), always_xy=True)
