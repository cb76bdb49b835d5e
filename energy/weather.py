"""Weather for the solar and energy solvers: EPW files and a clear-sky year for any site.

Every reader returns ``(DataFrame, dict)`` the way pvlib's ``iotools`` do. The DataFrame is
indexed by timezone-aware **hour-ending** time stamps (an EPW value integrates the hour that
ends at its stamp; the sun position for that hour is taken at mid-hour, see
:func:`mid_hour_times`) and has the glossary's column names:

========================  ======  ==========================================================
column                    unit    meaning
========================  ======  ==========================================================
``ghi_w_m2``              W/m2    global horizontal irradiance (hour mean)
``dni_w_m2``              W/m2    direct normal irradiance
``dhi_w_m2``              W/m2    diffuse horizontal irradiance
``t_air_c``               degC    dry-bulb air temperature
``t_dew_c``               degC    dew-point temperature
``rh_percent``            %       relative humidity
``pressure_pa``           Pa      atmospheric station pressure
``wind_speed_m_s``        m/s     wind speed
``wind_dir_deg``          deg     wind direction, clockwise from north (where it comes from)
``ir_horizontal_w_m2``    W/m2    downwelling long-wave irradiance on the horizontal
``albedo``                0..1    ground albedo (NaN where the file has none)
``total_sky_cover``       tenths  total sky cover (0..10)
========================  ======  ==========================================================

The metadata dict has ``latitude``, ``longitude`` [deg], ``altitude_m``, ``tz_offset_h``
(hours east of UTC), ``city`` and ``source`` (the file path or ``"clearsky"``), plus ``year``.
"""

from __future__ import annotations

import datetime as _dt
import io
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel._optional import require
from citymodel.crs import horizontal_epsg
from citymodel.errors import CRSError, WeatherError

logger = logging.getLogger(__name__)

__all__ = [
    "WEATHER_COLUMNS",
    "read_epw",
    "clearsky_weather",
    "site_of_model",
    "check_weather_site",
    "load_weather",
    "mid_hour_times",
    "require_pvlib",
]

#: Glossary names of the weather columns, in order.
WEATHER_COLUMNS = (
    "ghi_w_m2",
    "dni_w_m2",
    "dhi_w_m2",
    "t_air_c",
    "t_dew_c",
    "rh_percent",
    "pressure_pa",
    "wind_speed_m_s",
    "wind_dir_deg",
    "ir_horizontal_w_m2",
    "albedo",
    "total_sky_cover",
)

# pvlib read_epw column -> glossary name, and the EPW "missing" code of each.
_EPW_RENAME = {
    "ghi": ("ghi_w_m2", 9999),
    "dni": ("dni_w_m2", 9999),
    "dhi": ("dhi_w_m2", 9999),
    "temp_air": ("t_air_c", 99.9),
    "temp_dew": ("t_dew_c", 99.9),
    "relative_humidity": ("rh_percent", 999),
    "atmospheric_pressure": ("pressure_pa", 999999),
    "wind_speed": ("wind_speed_m_s", 999),
    "wind_direction": ("wind_dir_deg", 999),
    "ghi_infrared": ("ir_horizontal_w_m2", 9999),
    "albedo": ("albedo", 999),
    "total_sky_cover": ("total_sky_cover", 99),
}
_EPW_N_FIELDS = 35
_EPW_MIN_FIELDS = 23  # through total sky cover
_EPW_HEADER_LINES = 8
_STEFAN_BOLTZMANN = 5.670374419e-8  # W/m2/K4


def require_pvlib():
    """The ``pvlib`` module, or MissingDependencyError naming the extra to install."""
    pvlib = require("pvlib", extra="energy", feature="weather, sun and sky", hint="or pip install pvlib")
    require("pvlib.iotools", extra="energy", feature="weather, sun and sky", package="pvlib")
    return pvlib


def mid_hour_times(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Mid-hour instants of hour-ending stamps (``index - 30 min``): where to put the sun.

    Parameters
    ----------
    index : DatetimeIndex
        Hour-ending time stamps (timezone-aware), as returned by :func:`read_epw`.

    Returns
    -------
    DatetimeIndex
        The same length, 30 minutes earlier.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise WeatherError(f"mid_hour_times needs a DatetimeIndex, got {type(index).__name__}")
    return index - pd.Timedelta(minutes=30)


def _check_epw_text(path: Path) -> list[str]:
    """Structural checks of an EPW file before pvlib reads it; raise WeatherError with the line."""
    try:
        with open(path, encoding="latin-1") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise WeatherError(f"{path}: cannot read weather file ({exc})") from exc
    if not lines or not lines[0].upper().startswith("LOCATION"):
        first = lines[0][:60] if lines else "<empty file>"
        raise WeatherError(
            f"{path}, line 1: not an EPW file (expected a header starting with 'LOCATION', "
            f"found {first!r}); give an EnergyPlus .epw file or 'clearsky'"
        )
    loc = lines[0].split(",")
    if len(loc) < 10:
        raise WeatherError(
            f"{path}, line 1: LOCATION header has {len(loc)} fields, expected 10 "
            "(LOCATION,city,state,country,source,WMO,latitude,longitude,tz,elevation)"
        )
    for k, name in ((6, "latitude"), (7, "longitude"), (8, "time zone"), (9, "elevation")):
        try:
            float(loc[k])
        except ValueError:
            raise WeatherError(
                f"{path}, line 1: LOCATION {name} {loc[k]!r} is not a number; fix the header"
            ) from None
    if len(lines) < _EPW_HEADER_LINES or not lines[_EPW_HEADER_LINES - 1].upper().startswith(
        "DATA PERIODS"
    ):
        raise WeatherError(
            f"{path}, line {_EPW_HEADER_LINES}: wrong EPW header, expected the 8th line to start "
            "with 'DATA PERIODS'"
        )
    data = [ln for ln in lines[_EPW_HEADER_LINES:]]
    while data and not data[-1].strip():
        data.pop()
    n = len(data)
    if n not in (8760, 8784):
        # locate the first gap in the (month, day, hour) sequence to name its line
        where = _first_gap_line(data)
        raise WeatherError(
            f"{path}: {n} hourly records, expected 8760 (or 8784 in a leap year); "
            f"{where}give a complete hourly year"
        )
    nf = np.fromiter((ln.count(",") + 1 for ln in data), dtype=np.int64, count=n)
    bad = np.flatnonzero((nf < _EPW_MIN_FIELDS) | (nf > _EPW_N_FIELDS))
    if bad.size:
        i = int(bad[0])
        raise WeatherError(
            f"{path}, line {i + 1 + _EPW_HEADER_LINES}: {nf[i]} fields, expected "
            f"{_EPW_N_FIELDS} (at least {_EPW_MIN_FIELDS})"
        )
    short = nf < _EPW_N_FIELDS
    if short.any():  # older files (BESTEST DRYCOLD) stop after 32 fields: pad with "missing"
        data = [
            ln + ",999" * int(_EPW_N_FIELDS - k) if s else ln
            for ln, k, s in zip(data, nf, short, strict=True)
        ]
    gap = _first_gap_line(data)
    if gap:
        raise WeatherError(f"{path}: hours are not consecutive; {gap}give a complete hourly year")
    return lines[:_EPW_HEADER_LINES] + data


def _first_gap_line(data: list[str]) -> str:
    """'line N: ...; ' for the first record breaking the hourly sequence, '' when none."""
    try:
        mdh = np.array(
            [[int(float(x)) for x in ln.split(",", 5)[1:4]] for ln in data], dtype=np.int64
        )
    except (ValueError, IndexError):
        for i, ln in enumerate(data):
            try:
                [int(float(x)) for x in ln.split(",", 5)[1:4]]
            except (ValueError, IndexError):
                return f"line {i + 1 + _EPW_HEADER_LINES}: cannot read month/day/hour; "
        return ""
    if len(mdh) == 0:
        return ""
    # hour-of-year with a fixed leap calendar: consecutive records differ by exactly one hour
    cum = np.array([0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335], dtype=np.int64)
    month = np.clip(mdh[:, 0], 1, 12)
    how = (cum[month - 1] + mdh[:, 1] - 1) * 24 + mdh[:, 2] - 1
    step = np.diff(how)
    ok = (step == 1) | ((step == 25) & (mdh[1:, 0] == 3) & (mdh[1:, 1] == 1))  # Feb 28 -> Mar 1
    bad = np.flatnonzero(~ok)
    bad_range = np.flatnonzero(
        (mdh[:, 2] < 1) | (mdh[:, 2] > 24) | (mdh[:, 0] < 1) | (mdh[:, 0] > 12)
    )
    if bad_range.size:
        i = int(bad_range[0])
        return f"line {i + 1 + _EPW_HEADER_LINES}: month/day/hour {tuple(mdh[i])} out of range; "
    if bad.size:
        i = int(bad[0]) + 1
        return (
            f"line {i + 1 + _EPW_HEADER_LINES}: record {tuple(mdh[i])} does not follow "
            f"{tuple(mdh[i - 1])} (missing hours); "
        )
    return ""


def _tz_from_offset(hours: float) -> _dt.timezone:
    return _dt.timezone(_dt.timedelta(hours=float(hours)))


def read_epw(
    path: str | os.PathLike, *, coerce_year: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read an EnergyPlus weather file (EPW; TMY3/TMYx/IWEC...) with glossary column names.

    Parameters
    ----------
    path : str or PathLike
        The ``.epw`` file.
    coerce_year : int, optional
        Put every record in this year. By default a file whose records all share one year
        keeps it, and a typical-year file (months from different years) is put in 2025
        (2024 when it has 8784 records), so the index is monotonic.

    Returns
    -------
    weather : DataFrame
        8760 (8784) rows indexed by timezone-aware hour-ENDING stamps in the file's standard
        time zone (the first record, hour 1 of Jan 1, is stamped 01:00); columns
        :data:`WEATHER_COLUMNS`. EPW "missing" codes become NaN.
    metadata : dict
        ``latitude``, ``longitude`` [deg], ``altitude_m`` [m], ``tz_offset_h`` [h east of
        UTC], ``city``, ``source`` (the path), ``year``, ``data_type``.

    Raises
    ------
    WeatherError
        When the file is not an EPW file, has a wrong header, or lacks hours (the message
        names the file and line).
    """
    p = Path(path)
    if not p.is_file():
        raise WeatherError(f"{p}: weather file not found; give an .epw path or 'clearsky'")
    lines = _check_epw_text(p)
    _pv_read_epw = require_pvlib().iotools.read_epw

    try:
        raw, meta = _pv_read_epw(io.StringIO("\n".join(lines) + "\n"))
    except Exception as exc:  # pvlib raises bare ValueErrors on malformed records
        raise WeatherError(f"{p}: pvlib cannot read this EPW file ({exc})") from exc
    n = len(raw)
    if coerce_year is None:
        years = np.unique(raw["year"].to_numpy())
        coerce_year = int(years[0]) if years.size == 1 else (2024 if n == 8784 else 2025)
    tz = _tz_from_offset(meta["TZ"])
    # EPW month/day/hour (1..24) -> hour-ending stamp: midnight of the day + hour hours
    stamps = pd.to_datetime(
        pd.DataFrame(
            {"year": coerce_year, "month": raw["month"].to_numpy(), "day": raw["day"].to_numpy()}
        )
    ) + pd.to_timedelta(raw["hour"].to_numpy(), unit="h")
    if n == 8760 and _is_leap(coerce_year) and not ((raw["month"] == 2) & (raw["day"] == 29)).any():
        pass  # a non-leap file in a leap year simply has no Feb 29 stamps
    index = pd.DatetimeIndex(stamps).tz_localize(tz)
    index.name = "time"
    out = pd.DataFrame(index=index)
    for src, (name, missing) in _EPW_RENAME.items():
        col = pd.to_numeric(raw[src], errors="coerce").to_numpy(dtype=np.float64)
        col = np.where(col >= missing, np.nan, col)
        out[name] = col
    out = out[list(WEATHER_COLUMNS)]
    if not out.index.is_monotonic_increasing:
        raise WeatherError(
            f"{p}: records are not in time order after placing them in {coerce_year}"
        )
    bad = np.isnan(out[["ghi_w_m2", "dni_w_m2", "dhi_w_m2"]].to_numpy()).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise WeatherError(
            f"{p}, line {i + 1 + _EPW_HEADER_LINES}: missing irradiance (9999) in "
            f"{int(bad.sum())} records; fill the gaps before using the file"
        )
    metadata = {
        "latitude": float(meta["latitude"]),
        "longitude": float(meta["longitude"]),
        "altitude_m": float(meta["altitude"]),
        "tz_offset_h": float(meta["TZ"]),
        "city": str(meta.get("city", "")),
        "source": str(p),
        "year": int(coerce_year),
        "data_type": str(meta.get("data_type", "")),
    }
    return out, metadata


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _tz_arg(tz: str | float | int | None, longitude: float) -> tuple[Any, float]:
    """(tzinfo, offset hours of standard time) from 'UTC', a zone name, an offset or None."""
    if tz is None:
        off = float(np.round(longitude / 15.0))
        return _tz_from_offset(off), off
    if isinstance(tz, (int, float, np.integer, np.floating)) and not isinstance(tz, bool):
        return _tz_from_offset(float(tz)), float(tz)
    if isinstance(tz, str):
        if tz.upper() == "UTC":
            return _dt.UTC, 0.0
        try:
            import zoneinfo

            zi = zoneinfo.ZoneInfo(tz)
        except Exception:
            raise WeatherError(
                f"time zone {tz!r} is unknown; give 'UTC', an IANA name (Europe/Rome) or an "
                "offset in hours (e.g. 1)"
            ) from None
        off = _dt.datetime(2025, 1, 15, tzinfo=zi).utcoffset()
        return zi, off.total_seconds() / 3600.0 if off is not None else 0.0
    raise WeatherError(
        f"time zone {tz!r} not understood; give 'UTC', an IANA name or an offset in hours"
    )


def clearsky_weather(
    latitude: float,
    longitude: float,
    *,
    year: int = 2025,
    tz: str | float | None = None,
    altitude_m: float | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A cloudless hourly year for any site (pvlib Ineichen-Perez with Linke turbidity).

    Irradiance is pvlib's Ineichen clear-sky model with the monthly Linke turbidity
    climatology that pvlib ships, evaluated at mid-hour of each hour-ending stamp. The air
    temperature is NOT observed data: a simple climate model with an annual mean falling with
    latitude (``min(27.5, 31 - 0.38 |lat|)`` degC at sea level), a seasonal cosine of amplitude
    ``0.25 |lat|`` K peaking on 20 July (20 January in the south), a clear-sky diurnal cosine
    peaking at 15:00 local solar time whose amplitude grows from 3.5 K in winter to 6.5 K in
    summer, and a 6.5 K/km lapse rate (at 44.5 N: about 25 degC mean and 31 degC maximum in
    July, 3 degC mean in January, within a few kelvin of Bologna's and Turin's climate
    normals). Dew point is ``t_air - 8`` K, pressure
    from the altitude (pvlib ``alt2pres``), wind 2 m/s from the west, albedo 0.2, sky cover 0,
    and the long-wave sky irradiance from the Berdahl-Martin clear-sky emissivity.

    Parameters
    ----------
    latitude, longitude : float
        Site [deg], WGS84.
    year : int
        Calendar year of the stamps (8760 or 8784 hours).
    tz : str, float or None
        ``"UTC"``, an IANA zone name (its standard-time offset is used, no daylight saving),
        an offset in hours east of UTC, or None for ``round(longitude / 15)`` hours (noon is
        near solar noon).
    altitude_m : float, optional
        Site altitude [m]; pvlib's lookup from its elevation map when None (0 if that fails).

    Returns
    -------
    weather, metadata
        As :func:`read_epw`; ``metadata["source"] == "clearsky"``.
    """
    pvlib = require_pvlib()
    lat = float(latitude)
    lon = float(longitude)
    if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
        raise WeatherError(f"site ({lat}, {lon}) is not a valid latitude/longitude in degrees")
    _, off = _tz_arg(tz, lon)
    fixed = _tz_from_offset(off)
    start = pd.Timestamp(year=year, month=1, day=1, hour=1, tz=fixed)
    end = pd.Timestamp(year=year + 1, month=1, day=1, hour=0, tz=fixed)
    index = pd.date_range(start, end, freq="h", name="time")
    if altitude_m is None:
        try:
            altitude_m = float(pvlib.location.lookup_altitude(lat, lon))
        except Exception:
            altitude_m = 0.0
    mid = mid_hour_times(index)
    loc = pvlib.location.Location(lat, lon, tz="UTC", altitude=altitude_m)
    solpos = loc.get_solarposition(mid)
    cs = loc.get_clearsky(mid, model="ineichen", solar_position=solpos)
    doy = mid.day_of_year.to_numpy(dtype=np.float64)
    # local solar time in hours
    solar_h = (mid.hour + mid.minute / 60.0).to_numpy(dtype=np.float64) + (lon / 15.0 - off)
    peak_doy = 201.0 if lat >= 0 else 20.0
    season = np.cos(2 * np.pi * (doy - peak_doy) / 365.0)  # +1 midsummer, -1 midwinter
    t_air = (
        min(27.5, 31.0 - 0.38 * abs(lat))
        + 0.25 * abs(lat) * season
        + (5.0 + 1.5 * season) * np.cos(2 * np.pi * (solar_h - 15.0) / 24.0)
        - 0.0065 * altitude_m
    )
    t_dew = t_air - 8.0
    rh = 100.0 * np.exp(17.625 * t_dew / (243.04 + t_dew) - 17.625 * t_air / (243.04 + t_air))
    eps = 0.711 + 0.0056 * t_dew + 7.3e-5 * t_dew**2
    ir = eps * _STEFAN_BOLTZMANN * (t_air + 273.15) ** 4
    out = pd.DataFrame(
        {
            "ghi_w_m2": cs["ghi"].to_numpy(dtype=np.float64),
            "dni_w_m2": cs["dni"].to_numpy(dtype=np.float64),
            "dhi_w_m2": cs["dhi"].to_numpy(dtype=np.float64),
            "t_air_c": t_air,
            "t_dew_c": t_dew,
            "rh_percent": rh,
            "pressure_pa": np.full(len(index), float(pvlib.atmosphere.alt2pres(altitude_m))),
            "wind_speed_m_s": np.full(len(index), 2.0),
            "wind_dir_deg": np.full(len(index), 270.0),
            "ir_horizontal_w_m2": ir,
            "albedo": np.full(len(index), 0.2),
            "total_sky_cover": np.zeros(len(index)),
        },
        index=index,
    )
    out = out.fillna(0.0)
    meta = {
        "latitude": lat,
        "longitude": lon,
        "altitude_m": float(altitude_m),
        "tz_offset_h": off,
        "city": "",
        "source": "clearsky",
        "year": int(year),
        "data_type": "clearsky (pvlib Ineichen, Linke turbidity climatology)",
    }
    return out, meta


def site_of_model(model: Any) -> tuple[float, float, float]:
    """Latitude, longitude [deg WGS84] and altitude [m] of a city model's extent centre.

    Parameters
    ----------
    model : CityModel
        With ``epsg`` set and at least one vertex.

    Returns
    -------
    (latitude, longitude, altitude_m)
        The centre of the horizontal extent, and the lowest vertex height as altitude.

    Raises
    ------
    CRSError
        When the model has no CRS or it cannot be transformed to WGS84.
    """
    src = getattr(model, "source", None) or "model"
    epsg = getattr(model, "epsg", None)
    if epsg is None:
        raise CRSError(
            f"{src}: the model has no CRS, so its site (latitude/longitude) cannot be located; "
            "set metadata.referenceSystem in the CityJSON file (e.g. "
            "https://www.opengis.net/def/crs/EPSG/0/7415), set model.epsg, or give an EPW "
            "weather file (CLI: --weather file.epw)"
        )
    ext = model.extent()
    if not np.all(np.isfinite(ext)):
        raise CRSError(f"{src}: the model has no vertices, so its site cannot be located")
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError as _ProjCRSError
    from pyproj.exceptions import ProjError


    try:
        h = horizontal_epsg(int(epsg))
        crs = CRS.from_epsg(h)
        tr = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
        lon, lat = tr.transform(0.5 * (ext[0] + ext[3]), 0.5 * (ext[1] + ext[4]))
    except (ProjError, _ProjCRSError) as exc:
        raise CRSError(
            f"{src}: cannot transform EPSG:{epsg} to WGS84 ({exc}); check the CRS"
        ) from exc
    if not (np.isfinite(lat) and np.isfinite(lon)) or abs(lat) > 90:
        raise CRSError(
            f"{src}: the extent does not map to a valid latitude/longitude in EPSG:{epsg}; "
            "check that the coordinates are in that CRS"
        )
    return float(lat), float(lon), float(ext[2])


def check_weather_site(weather_meta: dict, model: Any, max_distance_km: float | None,
                       option_name: str = "--max-site-distance-km") -> dict[str, Any]:
    """Compare the weather's site with the model's location (the same in solar, energy, heat).

    Parameters
    ----------
    weather_meta : dict
        Metadata of :func:`load_weather` (``latitude``, ``longitude``, ``source``, ``city``).
    model : CityModel
    max_distance_km : float or None
        Largest accepted distance [km]; None or 0 turns the check off (nothing checked).
    option_name : str
        The option named first in messages (CLI option, or ``max_site_distance_km=``).

    Returns
    -------
    dict
        ``checked``, ``distance_km``, ``max_distance_km``, ``note`` (for the result files). A
        model without a CRS is not checked: a warning is logged and ``note`` (else "") says so.
        Clear-sky weather is computed at the model's site: nothing to check.

    Raises
    ------
    WeatherError
        The weather's site is farther than ``max_distance_km`` from the model.
    """
    limit = float(max_distance_km) if max_distance_km else None
    rec: dict[str, Any] = {"checked": False, "distance_km": None, "max_distance_km": limit, "note": ""}
    src = getattr(model, "source", None) or "model"
    if weather_meta.get("source") == "clearsky" or limit is None:  # nothing to check, or check off
        return rec
    if getattr(model, "epsg", None) is None:
        rec["note"] = (f"the model {src} has no CRS, so the weather site "
                       f"({weather_meta.get('city', '')}, {weather_meta.get('latitude', float('nan')):.3f}, "
                       f"{weather_meta.get('longitude', float('nan')):.3f}) cannot be checked against it; "
                       "give --crs (or metadata.referenceSystem) to check it")
        logger.warning("%s", rec["note"])
        return rec
    lat, lon, _ = site_of_model(model)
    p1, p2 = math.radians(lat), math.radians(weather_meta["latitude"])
    dl = math.radians(weather_meta["longitude"] - lon)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    d = 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))
    rec.update(checked=True, distance_km=round(d, 1))
    if d > limit:
        sep = "" if option_name.endswith("=") else " "
        raise WeatherError(
            f"{option_name}{sep}{limit:g}: weather {weather_meta.get('source', '')!s} is for "
            f"{weather_meta.get('city', '')} at ({weather_meta['latitude']:.3f}, {weather_meta['longitude']:.3f}), "
            f"{d:.0f} km from the model {src} at ({lat:.3f}, {lon:.3f}); give the weather of the site, "
            f"or raise {option_name.rstrip('=')} (0 or None = no check) to use it anyway"
        )
    return rec


def load_weather(
    spec: Any,
    model: Any = None,
    *,
    year: int | None = None,
    tz: str | float | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Weather from a spec: an EPW path, ``"clearsky"``, or an existing ``(df, meta)`` pair.

    Parameters
    ----------
    spec : str, PathLike or tuple
        Path to an ``.epw`` file, the word ``"clearsky"`` (site from ``model``), or the
        ``(DataFrame, dict)`` result of a reader (returned unchanged).
    model : CityModel, optional
        Needed for ``"clearsky"``: the site comes from its CRS and extent.
    year : int, optional
        EPW: put the records in this year; clearsky: the year (default 2025).
    tz : optional
        clearsky only, as in :func:`clearsky_weather`.

    Raises
    ------
    WeatherError
        Unreadable weather, or ``"clearsky"`` without a model.
    CRSError
        ``"clearsky"`` on a model with no CRS.
    """
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], pd.DataFrame):
        return spec
    if isinstance(spec, str) and spec.strip().lower() == "clearsky":
        if model is None:
            raise WeatherError("'clearsky' weather needs the city model to locate the site")
        lat, lon, alt = site_of_model(model)
        return clearsky_weather(
            lat, lon, year=2025 if year is None else year, tz=tz, altitude_m=alt
        )
    if isinstance(spec, (str, os.PathLike)):
        return read_epw(spec, coerce_year=year)
    raise WeatherError(f"weather {spec!r} not understood; give an .epw path or 'clearsky'")
