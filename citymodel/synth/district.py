"""``make_district``: the procedural scene for a seed, placed at a lon/lat in a projected CRS."""

from __future__ import annotations

import numpy as np

from citymodel.crs import parse_epsg
from citymodel.errors import CRSError, InputError
from citymodel.synth.clutter import REALISM
from citymodel.synth.layout import layout_district
from citymodel.synth.scene import District

__all__ = ["make_district", "project_origin", "DEFAULT_ORIGIN_LONLAT", "DEFAULT_CRS"]

#: Central Bologna (lon, lat) [deg].
DEFAULT_ORIGIN_LONLAT = (11.343, 44.494)
DEFAULT_CRS = "EPSG:32632"


def project_origin(origin_lonlat: tuple[float, float], crs: str | int) -> tuple[int, np.ndarray]:
    """EPSG code and projected ``(x, y)`` [m] of a lon/lat origin [deg].

    Raises
    ------
    CRSError
        When the CRS is unknown or not projected in metres.
    """
    from pyproj import CRS, Transformer

    epsg = parse_epsg(crs, source="synth --crs")
    if epsg is None:
        raise CRSError("synth: a projected CRS is needed (e.g. EPSG:32632)")
    try:
        c = CRS.from_epsg(epsg)
    except Exception as exc:  # pyproj raises its own CRSError
        raise CRSError(f"synth: unknown CRS EPSG:{epsg} ({exc}); give a projected CRS such as EPSG:32632") from None
    if not c.is_projected:
        raise CRSError(f"synth: CRS EPSG:{epsg} is not projected; give a metric CRS such as EPSG:32632")
    lon, lat = map(float, origin_lonlat)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"synth: origin ({lon}, {lat}) is not a lon,lat in degrees")
    x, y = Transformer.from_crs(4326, c, always_xy=True).transform(lon, lat)
    if not (np.isfinite(x) and np.isfinite(y)):
        raise CRSError(f"synth: origin ({lon}, {lat}) lies outside the area of use of EPSG:{epsg}")
    return int(epsg), np.array([x, y], dtype=np.float64)


def make_district(
    seed: int = 7,
    size_m: float = 400.0,
    *,
    crs: str | int = DEFAULT_CRS,
    origin_lonlat: tuple[float, float] = DEFAULT_ORIGIN_LONLAT,
    realism: str = "clean",
) -> District:
    """The synthetic district for ``seed``: buildings, terrain, trees, green areas (in memory).

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same district.
    size_m : float
        Side of the square district [m] (at least 60).
    crs : str or int
        Projected CRS of every coordinate (default WGS 84 / UTM 32N).
    origin_lonlat : (float, float)
        District centre (lon, lat) [deg], default central Bologna.
    realism : str
        ``clean`` (exact planes only) or ``ahn3`` (plus gable dormers, HVAC boxes, stair houses,
        parapets and trees over roofs; the buildings and their roof planes are the same).

    Returns
    -------
    District
    """
    if realism not in REALISM:
        raise InputError(f"synth: realism={realism!r} is not one of {REALISM}")
    size_m = float(size_m)
    if not np.isfinite(size_m) or size_m < 60.0 or size_m > 5000.0:
        raise InputError(f"synth: size_m={size_m} is out of range; use 60 to 5000 m")
    epsg, origin = project_origin(origin_lonlat, crs)
    # round the origin to whole metres so that coordinates stay short and exact
    origin = np.round(origin)
    rng = np.random.default_rng(int(seed))
    return layout_district(rng, origin, size_m, epsg, int(seed), realism)
