"""Sun positions for hourly weather (pvlib's SPA) and sun direction vectors.

Directions are unit vectors in a local east-north-up frame (x east, y north, z up), which is the
frame of a projected city model whose grid north is true north (the meridian convergence of
the projection, a fraction of a degree inside a district, is ignored).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import WeatherError
from energy.weather import mid_hour_times, require_pvlib

__all__ = ["sun_positions", "weather_sun_positions", "sun_vectors", "direction_vectors"]


def direction_vectors(zenith_deg: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
    """Unit vectors ``(n, 3)`` float64 (east, north, up) towards zenith/azimuth angles [deg].

    Azimuth is clockwise from north (pvlib), so 90 deg points east (+x).
    """
    z = np.radians(np.asarray(zenith_deg, dtype=np.float64))
    a = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    s = np.sin(z)
    return np.stack([s * np.sin(a), s * np.cos(a), np.cos(z)], axis=-1)


def sun_positions(
    index: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    altitude_m: float = 0.0,
    *,
    hour_ending: bool = True,
    pressure_pa: np.ndarray | None = None,
    t_air_c: np.ndarray | None = None,
) -> pd.DataFrame:
    """Sun zenith, elevation and azimuth for each weather record (pvlib SPA).

    Parameters
    ----------
    index : DatetimeIndex
        Timezone-aware stamps of the weather records.
    latitude, longitude : float
        Site [deg].
    altitude_m : float
        Site altitude [m].
    hour_ending : bool
        True (EPW convention): each stamp ends the hour it describes, so the sun is placed at
        mid-hour (``index - 30 min``). False: at the stamps themselves.
    pressure_pa, t_air_c : (n,) arrays, optional
        For SPA's refraction correction (defaults: pvlib's standard atmosphere, 12 degC).

    Returns
    -------
    DataFrame
        Indexed like ``index``; columns ``zenith_deg`` (apparent, refraction-corrected),
        ``elevation_deg``, ``azimuth_deg``, ``dni_extra_w_m2``.
    """

    pvlib = require_pvlib()

    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise WeatherError(
            "sun_positions needs a timezone-aware DatetimeIndex (weather from read_epw)"
        )
    times = mid_hour_times(index) if hour_ending else index
    kw: dict[str, Any] = {}
    if pressure_pa is not None:
        kw["pressure"] = np.nan_to_num(np.asarray(pressure_pa, dtype=np.float64), nan=101325.0)
    if t_air_c is not None:
        kw["temperature"] = np.nan_to_num(np.asarray(t_air_c, dtype=np.float64), nan=12.0)
    sp = pvlib.solarposition.get_solarposition(
        times, latitude, longitude, altitude=altitude_m, **kw
    )
    out = pd.DataFrame(
        {
            "zenith_deg": sp["apparent_zenith"].to_numpy(dtype=np.float64),
            "elevation_deg": sp["apparent_elevation"].to_numpy(dtype=np.float64),
            "azimuth_deg": sp["azimuth"].to_numpy(dtype=np.float64),
            "dni_extra_w_m2": pvlib.irradiance.get_extra_radiation(times).to_numpy(
                dtype=np.float64
            ),
        },
        index=index,
    )
    return out


def weather_sun_positions(weather: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """:func:`sun_positions` for a weather table and its metadata (from ``read_epw`` or
    ``clearsky_weather``): the site from ``meta``, SPA's refraction from the records'
    ``pressure_pa`` and ``t_air_c``, the sun at mid-hour of each hour-ending stamp."""
    return sun_positions(
        weather.index,
        meta["latitude"],
        meta["longitude"],
        meta.get("altitude_m", 0.0),
        pressure_pa=weather["pressure_pa"].to_numpy(),
        t_air_c=weather["t_air_c"].to_numpy(),
    )


def sun_vectors(positions: pd.DataFrame) -> np.ndarray:
    """Unit vectors ``(n, 3)`` (east, north, up) towards the sun of :func:`sun_positions`."""
    return direction_vectors(
        positions["zenith_deg"].to_numpy(), positions["azimuth_deg"].to_numpy()
    )
