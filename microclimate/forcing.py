"""Hourly forcing of ``citymodel heat``: one frame and the site, from a met file, an EPW or clear sky.

:func:`load_forcing` reads a UMEP/SUEWS met file (``--met``, :func:`microclimate.metfile.read_umep_met`)
or weather (``--weather W.epw|clearsky``, :func:`energy.weather.load_weather`), selects the
period (``--period``), keeps up to ``spinup_steps`` rows before it for the spin-up of the surface
temperatures, and checks that the columns the grid needs have no missing values there.

Both sources give the glossary's columns (``ghi_w_m2``, ``dhi_w_m2``, ``dni_w_m2``, ``t_air_c``,
``rh_percent``, ``wind_speed_m_s``, ``ir_horizontal_w_m2``), an index of **interval-ending**
time stamps in the file's local standard time and ``time_mid``, the interval midpoint where the
sun is computed (EPW: stamp - 30 min; met file: stamp - half its step).

A row belongs to the calendar day of its ``time_mid`` (an EPW's ``24:00`` row is the last hour
of its day): ``--period 2025-07-01:2025-07-03`` keeps the rows whose midpoints fall on 1, 2 or
3 July. ``hottest-3d`` is the three consecutive complete days with the highest mean of the
daily maximum air temperature (the first such run when several tie).
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel.errors import InputError, WeatherError
from energy.weather import clearsky_weather, load_weather, mid_hour_times
from microclimate.metfile import read_umep_met

__all__ = ["Forcing", "REQUIRED_COLUMNS", "load_forcing", "select_period", "hottest_days"]

log = logging.getLogger(__name__)

#: Columns the grid needs in every row of the period and the spin-up.
REQUIRED_COLUMNS = ("t_air_c", "rh_percent", "wind_speed_m_s", "ghi_w_m2", "dhi_w_m2", "dni_w_m2")
#: Column used when present in every row; when absent in all rows the engine's clear-sky formula
#: is used (recorded in the result's attrs); missing in some rows only is an error.
OPTIONAL_COLUMNS = ("ir_horizontal_w_m2",)


@dataclass
class Forcing:
    """The forcing frame of a heat run and where it comes from.

    Attributes
    ----------
    data : DataFrame
        Spin-up rows followed by the period's rows, indexed by the rows' own (interval-ending)
        time stamps, timezone-aware (fixed offset of the site's standard time); the
        :data:`REQUIRED_COLUMNS`, ``ir_horizontal_w_m2`` (all NaN when the file has none) and
        ``time_mid``.
    site : dict
        ``lat_deg``, ``lon_deg`` [deg WGS84] and ``tz_offset_h`` [h east of UTC].
    spinup_steps : int
        Number of rows of ``data`` before the period.
    period : tuple of str
        First and last day of the period (ISO dates).
    source : str
        The met/EPW path or ``"clearsky"``.
    fallbacks : list of str
        Defaults taken because the input did not say (each also logged at WARNING).
    weather_distance_km : float or None
        Distance between the weather file's site and the grid's centre [km] (EPW only).
    raw : tuple (DataFrame, dict) or None
        The whole weather as :func:`energy.weather.load_weather` returned it (EPW, clear sky),
        for solvers that select their own rows (the roof and wall temperatures); None for a
        met file.
    """

    data: pd.DataFrame
    site: dict[str, float]
    spinup_steps: int
    period: tuple[str, str]
    source: str
    fallbacks: list[str] = field(default_factory=list)
    raw: tuple[pd.DataFrame, dict[str, Any]] | None = None
    weather_distance_km: float | None = None

    @property
    def period_data(self) -> pd.DataFrame:
        """The rows of the period only (without the spin-up)."""
        return self.data.iloc[self.spinup_steps:]

    def summary(self) -> dict[str, Any]:
        """JSON-ready description for ``summary.json``."""
        p = self.period_data
        return {
            "source": self.source,
            "site": dict(self.site),
            "period": list(self.period),
            "first_time": p.index[0].isoformat(),
            "last_time": p.index[-1].isoformat(),
            "n_steps": len(p),
            "spinup_steps": self.spinup_steps,
            "t_air_max_c": float(p["t_air_c"].max()),
            "ghi_max_w_m2": float(p["ghi_w_m2"].max()),
            "ldown_in_file": bool(self.data["ir_horizontal_w_m2"].notna().all()),
            "fallbacks": list(self.fallbacks),
        }


#: Distance between an EPW's site and the grid beyond which the run records a warning [km].
FAR_WEATHER_KM = 100.0


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance [km] (haversine, Earth radius 6371 km)."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return float(2 * 6371.0 * np.arcsin(np.sqrt(a)))


def _fallback(fallbacks: list[str], msg: str) -> None:
    log.warning(msg)
    fallbacks.append(msg)


def _day_of(frame: pd.DataFrame) -> np.ndarray:
    mid = pd.DatetimeIndex(frame["time_mid"])
    return mid.tz_localize(None).normalize().to_numpy() if mid.tz is not None else mid.normalize().to_numpy()


def hottest_days(frame: pd.DataFrame, n_days: int = 3, source: str = "weather") -> list[pd.Timestamp]:
    """The ``n_days`` consecutive complete days with the highest mean daily maximum air temperature.

    Parameters
    ----------
    frame : DataFrame
        With ``t_air_c`` [degC] and ``time_mid``.
    n_days : int
        Length of the run of days.
    source : str
        Named in the error message.

    Returns
    -------
    list of Timestamp
        The days (midnight, naive local time), in order.

    Raises
    ------
    WeatherError
        When the data hold fewer than ``n_days`` consecutive complete days.
    """
    day = _day_of(frame)
    s = pd.Series(frame["t_air_c"].to_numpy(dtype=np.float64), index=day)
    g = s.groupby(level=0)
    counts = g.size()
    mids = pd.DatetimeIndex(frame["time_mid"])
    step_h = float(pd.Series(mids[1:] - mids[:-1]).median() / pd.Timedelta(hours=1)) if len(frame) > 1 else 1.0
    full = counts >= round(24.0 / step_h)
    dmax = g.max()[full & g.max().notna()]
    days = pd.DatetimeIndex(dmax.index)
    best, best_val = None, -np.inf
    for i in range(len(days) - n_days + 1):
        run = days[i:i + n_days]
        if (run[-1] - run[0]) != pd.Timedelta(days=n_days - 1):
            continue
        v = float(dmax.iloc[i:i + n_days].mean())
        if v > best_val:
            best, best_val = list(run), v
    if best is None:
        span = f"{days[0].date()} to {days[-1].date()}" if len(days) else "no complete day"
        raise WeatherError(
            f"{source}: --period hottest-{n_days}d needs {n_days} consecutive complete days, the file "
            f"has {len(days)} complete day(s) ({span}); give --period START:END instead"
        )
    return best


def select_period(frame: pd.DataFrame, period: str | None, source: str = "weather") -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of ``period`` (``"hottest-3d"``, ``"START:END"`` ISO dates, or None = all).

    Raises
    ------
    InputError
        When ``period`` cannot be parsed (naming ``--period``).
    WeatherError
        When the period lies (partly) outside the file, naming the file's range.
    """
    day = _day_of(frame)
    first, last = pd.Timestamp(day.min()), pd.Timestamp(day.max())
    if period is None or period.strip().lower() == "all":
        return first, last
    p = period.strip().lower()
    if p.startswith("hottest-") and p.endswith("d"):
        try:
            n = int(p[len("hottest-"):-1])
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(f"--period {period!r}: write hottest-3d (or hottest-Nd with N >= 1)")
        days = hottest_days(frame, n, source)
        return days[0], days[-1]
    start_s, sep, end_s = period.partition(":")
    try:
        start = pd.Timestamp(_dt.date.fromisoformat(start_s.strip()))
        end = pd.Timestamp(_dt.date.fromisoformat(end_s.strip())) if sep else start
    except ValueError:
        raise InputError(
            f"--period {period!r}: give hottest-3d or START:END as ISO dates, e.g. 2025-07-01:2025-07-03"
        ) from None
    if end < start:
        raise InputError(f"--period {period!r}: END is before START")
    if start < first or end > last:
        raise WeatherError(
            f"{source}: --period {start.date()}:{end.date()} is outside the file, which covers "
            f"{first.date()} to {last.date()}; choose dates inside that range"
        )
    return start, end


def _check_missing(frame: pd.DataFrame, source: str, line_of: np.ndarray | None) -> None:
    for name in REQUIRED_COLUMNS:
        bad = np.flatnonzero(frame[name].isna().to_numpy())
        if bad.size:
            i = int(bad[0])
            where = f"line {int(line_of[i])}, " if line_of is not None else ""
            raise WeatherError(
                f"{source}: column {name!r} is missing (-999/NaN) in {bad.size} row(s) of the period "
                f"and spin-up, first at {where}time {frame.index[i].isoformat()}; fill those values "
                "or choose another --period"
            )
    for name in OPTIONAL_COLUMNS:
        miss = frame[name].isna().to_numpy()
        if miss.any() and not miss.all():
            i = int(np.flatnonzero(miss)[0])
            where = f"line {int(line_of[i])}, " if line_of is not None else ""
            raise WeatherError(
                f"{source}: column {name!r} is missing (-999/NaN) in {int(miss.sum())} of {miss.size} "
                f"rows, first at {where}time {frame.index[i].isoformat()}; fill them, or set the whole "
                "column to -999 to use the clear-sky long-wave formula"
            )


def load_forcing(
    *,
    met: str | Path | None = None,
    weather: str | Path | None = None,
    lat_deg: float | None = None,
    lon_deg: float | None = None,
    utc_offset_h: float | None = None,
    model: Any = None,
    period: str | None = None,
    spinup_steps: int = 24,
) -> Forcing:
    """The hourly forcing frame and the site of a heat run.

    Parameters
    ----------
    met : path, optional
        A UMEP/SUEWS met file (``--met``). Exactly one of ``met`` and ``weather``.
    weather : path or "clearsky", optional
        An EPW file or ``"clearsky"`` (``--weather``).
    lat_deg, lon_deg : float, optional
        Site [deg WGS84] (the raster's centre on the raster route). Needed for ``met`` and for
        clear sky without a model; an EPW's own site is used when not given.
    utc_offset_h : float, optional
        Hours east of UTC of a met file's local standard time (``--utc-offset``). When None,
        ``round(lon_deg / 15)``, logged and recorded as a fallback. With clear sky: the zone of
        the stamps (same default). Ignored for EPW (the file says).
    model : CityModel, optional
        The city model: locates the site for ``"clearsky"`` when ``lat_deg`` is None.
    period : str, optional
        ``"hottest-3d"``, ``"START:END"`` (ISO dates, inclusive) or None: the whole met file,
        ``hottest-3d`` for a year of EPW or clear-sky weather (recorded as a fallback).
    spinup_steps : int
        Rows before the period kept for the spin-up (fewer when the file starts later; recorded).

    Returns
    -------
    Forcing

    Raises
    ------
    InputError
        Neither or both of ``met`` and ``weather``; a bad ``--period``.
    WeatherError
        Unreadable file, period outside the file, missing values where needed.
    """
    if (met is None) == (weather is None):
        raise InputError("give exactly one of --met MET.txt and --weather W.epw|clearsky")
    fallbacks: list[str] = []
    line_of = None
    raw = None
    km = None
    if met is not None:
        if lat_deg is None or lon_deg is None:
            raise InputError(f"{met}: a met file has no site; the raster's centre is needed (lat_deg, lon_deg)")
        tz = utc_offset_h
        if tz is None:
            tz = float(np.round(lon_deg / 15.0))
            _fallback(fallbacks, f"{met}: UTC offset not given (--utc-offset); assumed {tz:+g} h "
                                 f"= round(longitude {lon_deg:.3f} / 15)")
        df, meta = read_umep_met(met, tz_offset_h=tz)
        source = str(met)
        line_of = np.arange(len(df)) + 2  # header on line 1, one row per line
        if period is None:
            period_eff = None
        else:
            period_eff = period
    else:
        source = str(weather)
        if str(weather).strip().lower() == "clearsky":
            if lat_deg is not None and lon_deg is not None:
                df, meta = clearsky_weather(lat_deg, lon_deg, tz=utc_offset_h)
            else:
                df, meta = load_weather("clearsky", model, tz=utc_offset_h)
            if utc_offset_h is None:
                _fallback(fallbacks, f"clearsky: UTC offset not given (--utc-offset); stamps in "
                                     f"{meta['tz_offset_h']:+g} h = round(longitude / 15)")
            _fallback(fallbacks, "clearsky: cloudless sky and a modelled air temperature "
                                 "(energy.weather.clearsky_weather), not observed weather")
        else:
            df, meta = load_weather(weather)
            line_of = np.arange(len(df)) + 9  # 8 header lines
        raw = (df, meta)
        tz = float(meta["tz_offset_h"])
        if lat_deg is None or lon_deg is None:
            lat_deg, lon_deg = float(meta["latitude"]), float(meta["longitude"])
        elif meta.get("source") != "clearsky":
            km = _distance_km(lat_deg, lon_deg, float(meta["latitude"]), float(meta["longitude"]))
            if km > FAR_WEATHER_KM:
                _fallback(fallbacks, f"{source}: the weather's site ({meta['latitude']:.2f}, {meta['longitude']:.2f}) "
                                     f"is {km:.0f} km from the grid; its weather is used as if local, the sun "
                                     "is computed at the grid")
        df = df.assign(time_mid=mid_hour_times(df.index))
        period_eff = period
        if period is None:
            period_eff = "hottest-3d"
            _fallback(fallbacks, f"{source}: no --period given for a weather year; using hottest-3d")

    start, end = select_period(df, period_eff, source)
    day = _day_of(df)
    in_period = (day >= start.to_datetime64()) & (day <= end.to_datetime64())
    idx = np.flatnonzero(in_period)
    i0 = int(idx[0])
    n_spin = min(int(spinup_steps), i0)
    if n_spin < spinup_steps:  # a consumer that needs them says what it does instead
        log.info("%s: %d of %d spin-up rows before the period (%s)", source, n_spin, spinup_steps, start.date())
    sel = np.arange(i0 - n_spin, int(idx[-1]) + 1)
    frame = df.iloc[sel].copy()
    if "ir_horizontal_w_m2" not in frame:
        frame["ir_horizontal_w_m2"] = np.nan
    _check_missing(frame, source, None if line_of is None else line_of[sel])
    if frame["ir_horizontal_w_m2"].isna().all():
        _fallback(fallbacks, f"{source}: no long-wave sky irradiance (ldown) in the file; the engine "
                             "uses its clear-sky emissivity formula")
    cols = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "time_mid"]
    frame = frame[cols]
    # one time unit (ns) whatever the reader chose, so integer time arithmetic downstream agrees
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    frame["time_mid"] = pd.DatetimeIndex(frame["time_mid"]).as_unit("ns")
    site = {"lat_deg": float(lat_deg), "lon_deg": float(lon_deg), "tz_offset_h": float(tz)}
    log.info("forcing %s: %d rows (%d spin-up), %s to %s", source, len(frame), n_spin, start.date(), end.date())
    return Forcing(frame, site, n_spin, (str(start.date()), str(end.date())), source, fallbacks, raw, km)
