"""UMEP / SUEWS meteorological forcing files (the met input of SOLWEIG).

A met file is whitespace-separated text: one header line, then one row per time step with 24
columns in a fixed order. Header spellings vary between UMEP versions (``Tair`` or ``Td``,
``kdown`` or ``Kdn``, ``%iy``), so columns are read **by position** and each header token is
checked against the known spellings of its position. ``-999`` marks a missing value.

:func:`read_umep_met` returns ``(DataFrame, metadata)`` like :func:`energy.weather.read_epw`,
with the glossary's names:

=====  ==========  ========================  ======  =========================================
pos    UMEP        column                    unit    meaning
=====  ==========  ========================  ======  =========================================
0-3    iy id it    (index)                   -       year, day of year, hour, minute
       imin
4      qn          ``q_net_w_m2``            W/m2    net all-wave radiation
5      qh          ``q_sensible_w_m2``       W/m2    sensible heat flux
6      qe          ``q_latent_w_m2``         W/m2    latent heat flux
7      qs          ``q_storage_w_m2``        W/m2    storage heat flux
8      qf          ``q_anthropogenic_w_m2``  W/m2    anthropogenic heat flux
9      U           ``wind_speed_m_s``        m/s     wind speed (at the met station's height)
10     RH          ``rh_percent``            %       relative humidity
11     Tair        ``t_air_c``               degC    air temperature
12     pres        ``pressure_pa``           Pa      station pressure (file: kPa)
13     rain        ``rain_mm``               mm      rain in the time step
14     kdown       ``ghi_w_m2``              W/m2    global horizontal irradiance
15     snow        ``snow_mm``               mm      snowfall
16     ldown       ``ir_horizontal_w_m2``    W/m2    downwelling long-wave irradiance
17     fcld        ``cloud_fraction``        0..1    cloud fraction
18     wuh         ``water_use_m3``          m3      external water use
19     xsmd        ``soil_moisture_m3_m3``   m3/m3   observed soil moisture
20     lai         ``lai_m2_m2``             m2/m2   leaf area index
21     kdiff       ``dhi_w_m2``              W/m2    diffuse horizontal irradiance
22     kdir        ``dni_w_m2``              W/m2    direct beam irradiance, normal to the sun
                                                     (SOLWEIG's ``radI``)
23     wdir        ``wind_dir_deg``          deg     wind direction, clockwise from north
=====  ==========  ========================  ======  =========================================

Time: ``id`` (day of year, 1 = 1 January), ``it`` hours and ``imin`` minutes are the **end**
of the averaging interval, in the file's local standard time (no daylight saving). The index
(``time``) holds those end stamps; the column ``time_mid`` holds the interval midpoint, half a
step earlier, where the sun position for the row belongs (the same convention as
:func:`energy.weather.mid_hour_times`).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

from citymodel.errors import WeatherError

__all__ = ["UMEP_MET_COLUMNS", "MISSING_VALUE", "read_umep_met", "require_complete"]

#: The value UMEP and SUEWS write for "missing".
MISSING_VALUE = -999.0

# Position -> (glossary name, accepted header spellings in lower case, factor to SI)
_COLUMNS = (
    ("year", ("iy", "%iy"), 1.0),
    ("day_of_year", ("id",), 1.0),
    ("hour", ("it",), 1.0),
    ("minute", ("imin",), 1.0),
    ("q_net_w_m2", ("qn", "q*"), 1.0),
    ("q_sensible_w_m2", ("qh",), 1.0),
    ("q_latent_w_m2", ("qe",), 1.0),
    ("q_storage_w_m2", ("qs",), 1.0),
    ("q_anthropogenic_w_m2", ("qf",), 1.0),
    ("wind_speed_m_s", ("u", "wind", "ws"), 1.0),
    ("rh_percent", ("rh",), 1.0),
    ("t_air_c", ("tair", "td", "ta"), 1.0),
    ("pressure_pa", ("pres", "press"), 1000.0),  # kPa in the file
    ("rain_mm", ("rain",), 1.0),
    ("ghi_w_m2", ("kdown", "kdn"), 1.0),
    ("snow_mm", ("snow",), 1.0),
    ("ir_horizontal_w_m2", ("ldown",), 1.0),
    ("cloud_fraction", ("fcld",), 1.0),
    ("water_use_m3", ("wuh",), 1.0),
    ("soil_moisture_m3_m3", ("xsmd",), 1.0),
    ("lai_m2_m2", ("lai", "lai_hr"), 1.0),
    ("dhi_w_m2", ("kdiff",), 1.0),
    ("dni_w_m2", ("kdir",), 1.0),
    ("wind_dir_deg", ("wdir", "wd"), 1.0),
)
_N_COLUMNS = len(_COLUMNS)

#: Glossary names of the data columns of :func:`read_umep_met`, in file order.
UMEP_MET_COLUMNS = tuple(name for name, _, _ in _COLUMNS[4:])


def _check_header(path: Path, header: list[str]) -> None:
    if len(header) != _N_COLUMNS:
        raise WeatherError(
            f"{path}: the header has {len(header)} columns, a UMEP met file has {_N_COLUMNS} "
            f"({' '.join(c[1][0] for c in _COLUMNS)}); is this a UMEP/SUEWS met file?"
        )
    for pos, (token, (name, spellings, _)) in enumerate(zip(header, _COLUMNS, strict=True)):
        if token.lower() not in spellings:
            raise WeatherError(
                f"{path}: column {pos + 1} of the header is {token!r}, expected {spellings[0]!r} "
                f"({name}); the required column {spellings[0]!r} is missing or out of order"
            )


def read_umep_met(path, tz_offset_h: float | None = None) -> tuple[pd.DataFrame, dict]:
    """Read a UMEP / SUEWS met forcing file.

    Parameters
    ----------
    path : str or Path
        The met file (text, 1 header line + rows of 24 numbers).
    tz_offset_h : float, optional
        Hours east of UTC of the file's local standard time (Gothenburg: 1). When given, the
        time stamps are timezone-aware (fixed offset); else they are naive local standard time.

    Returns
    -------
    data : DataFrame
        Indexed by ``time`` (end of each averaging interval), columns ``UMEP_MET_COLUMNS``
        (float64, NaN where the file has -999, SI units, see the module table) plus
        ``time_mid`` (the interval midpoint, half a step earlier).
    metadata : dict
        ``source`` (the path as str), ``n_rows``, ``step_min`` (time step [min], the most
        common difference; 60 for a one-row file), ``tz_offset_h``, ``years`` (sorted list)
        and ``header`` (the header tokens as written).

    Raises
    ------
    WeatherError
        (an ``InputError``) when the file is missing or empty, the header is not a UMEP met
        header (naming the column), a row has the wrong number of values or a non-number
        (naming the line), or the times are not increasing.
    """
    path = Path(path)
    if not path.is_file():
        raise WeatherError(f"{path}: met file not found; give the path of a UMEP/SUEWS met file")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    numbered = [(i + 1, ln.split()) for i, ln in enumerate(lines) if ln.strip()]
    if not numbered:
        raise WeatherError(f"{path}: the met file is empty")
    header = numbered[0][1]
    _check_header(path, header)
    rows = numbered[1:]
    if not rows:
        raise WeatherError(f"{path}: the met file has a header but no data rows")
    for line_no, fields in rows:
        if len(fields) != _N_COLUMNS:
            raise WeatherError(
                f"{path}, line {line_no}: {len(fields)} values, expected {_N_COLUMNS}"
            )
    try:
        values = np.array([fields for _, fields in rows], dtype=np.float64)
    except ValueError as exc:
        raise WeatherError(f"{path}: a value is not a number ({exc})") from None

    year, doy, hour, minute = (values[:, i] for i in range(4))
    if np.any(np.isnan(values[:, :4])) or np.any(values[:, :4] == MISSING_VALUE):
        raise WeatherError(f"{path}: a row lacks its iy/id/it/imin time")
    base = pd.to_datetime(year.astype(np.int64).astype(str), format="%Y")
    offset = pd.to_timedelta((doy - 1) * 1440 + hour * 60 + minute, unit="min")
    time = pd.DatetimeIndex(base + offset, name="time")
    if tz_offset_h is not None:
        time = time.tz_localize(_dt.timezone(_dt.timedelta(hours=tz_offset_h)))
    steps = np.asarray((time[1:] - time[:-1]) / pd.Timedelta(minutes=1), dtype=np.float64)
    if np.any(steps <= 0):
        bad = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise WeatherError(
            f"{path}, line {rows[bad][0]}: time {time[bad]} does not come after the row before"
        )
    step_min = float(pd.Series(steps).mode().iloc[0]) if steps.size else 60.0

    data = {}
    for pos, (name, _, factor) in enumerate(_COLUMNS[4:], start=4):
        col = values[:, pos].copy()
        col[col == MISSING_VALUE] = np.nan
        data[name] = col * factor
    df = pd.DataFrame(data, index=time)
    df["time_mid"] = time - pd.Timedelta(minutes=step_min / 2.0)
    meta = {
        "source": str(path),
        "n_rows": len(df),
        "step_min": step_min,
        "tz_offset_h": tz_offset_h,
        "years": sorted({int(y) for y in year}),
        "header": header,
    }
    return df, meta


def require_complete(df: pd.DataFrame, columns, path=None) -> None:
    """Raise when a needed column is absent or has missing (-999 / NaN) values.

    Parameters
    ----------
    df : DataFrame
        As returned by :func:`read_umep_met` (indexed by time).
    columns : iterable of str
        Glossary names the calculation needs, e.g. ``("t_air_c", "rh_percent", "ghi_w_m2")``.
    path : str or Path, optional
        The file the frame came from, named in the message.

    Raises
    ------
    WeatherError
        Naming the file, the column and the first (up to 5) times with missing values and
        their count.
    """
    where = f"{path}: " if path is not None else ""
    for name in columns:
        if name not in df.columns:
            raise WeatherError(f"{where}the required column {name!r} is absent")
        missing = df.index[df[name].isna().to_numpy()]
        if len(missing):
            shown = ", ".join(str(t) for t in missing[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise WeatherError(
                f"{where}column {name!r} is missing (-999/NaN) in {len(missing)} rows, at "
                f"{shown}{more}; fill those values or choose another period"
            )
