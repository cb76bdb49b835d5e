"""Where the sun is for a heat grid: the raster's site and the forcing's clock.

Split from :mod:`microclimate.grid`, which re-exports :func:`raster_site` and
:func:`radiation_time_offset_h`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from citymodel.errors import CRSError
from energy.sun import sun_positions
from microclimate.heightfield import cell_centres

__all__ = ["raster_site", "sun_at", "radiation_time_offset_h"]


def raster_site(transform, crs, shape) -> tuple[float, float]:
    """Latitude and longitude [deg] of the raster's centre."""
    if crs is None:
        raise CRSError("the rasters have no CRS: the sun position needs one; set it "
                       "(gdal_edit.py -a_srs EPSG:...) or pass the site")
    from pyproj import Transformer

    x, y = cell_centres(transform, shape)
    tr = Transformer.from_crs(str(crs), "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(0.5 * (x[0] + x[-1]), 0.5 * (y[0] + y[-1]))
    return float(lat), float(lon)


def sun_at(times: pd.DatetimeIndex, site: dict) -> pd.DataFrame:
    """Sun positions at ``times`` (naive times are local standard time, ``site['tz_offset_h']``)."""
    if times.tz is None:
        import datetime as _dt
        tz = float(site.get("tz_offset_h", 0.0))
        times = times.tz_localize(_dt.timezone(_dt.timedelta(hours=tz)))
    return sun_positions(times, float(site["lat_deg"]), float(site["lon_deg"]),
                         hour_ending=False)


def radiation_time_offset_h(forcing: pd.DataFrame, site: dict, max_h: float = 3.0) -> float:
    """Shift of the sun clock that best explains the forcing's own radiation components.

    On rows with ``dni_w_m2 > 100``, ``(ghi - dhi) / dni`` is the sine of the sun elevation
    the data were measured under; this returns the shift ``dt`` (multiples of 15 min within
    +-``max_h``) for which the sun at ``time_mid + dt`` matches it best (RMS). About 0 for a
    consistent file; a whole hour points at a wrong time zone or interval convention.
    NaN without such rows.
    """
    d = forcing[(forcing["dni_w_m2"] > 100) & forcing["ghi_w_m2"].notna()]
    if len(d) < 3:
        return float("nan")
    target = ((d["ghi_w_m2"] - d["dhi_w_m2"]) / d["dni_w_m2"]).to_numpy()
    shifts = np.arange(-max_h, max_h + 1e-9, 0.25)
    tm = pd.DatetimeIndex(d["time_mid"])
    # every shift in one call of the solar position algorithm (it dominates the time)
    times = pd.DatetimeIndex(np.concatenate([(tm + pd.Timedelta(hours=float(sh))).to_numpy()
                                             for sh in shifts]))
    el = sun_at(times, site)["elevation_deg"].to_numpy().reshape(shifts.size, len(tm))
    err = np.sqrt(np.mean((np.sin(np.radians(el)) - target[None, :]) ** 2, axis=1))
    return float(shifts[int(np.argmin(err))])
