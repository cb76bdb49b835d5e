"""Unshaded irradiance per orientation and window irradiance weighted by the glazing's SHGC(theta).

Used when no shaded irradiance from the solar solver is given, and always for the angular
window factor: the solar solver gives shaded totals per orientation group, which are scaled
by the SHGC-weighting ratio computed here (beam by its incidence angle, diffuse by the
hemispherical mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from citymodel.errors import WeatherError
from energy.demand.glazing import DIFFUSE, glazing_modifier
from energy.weather import mid_hour_times

__all__ = ["OrientationIrradiance", "orientation_irradiance", "GROUPS", "WALL_AZIMUTHS_DEG"]

#: Irradiance groups: roof (horizontal) and the four wall orientations.
GROUPS = ("roof", "N", "E", "S", "W")
WALL_AZIMUTHS_DEG = (0.0, 90.0, 180.0, 270.0)


@dataclass
class OrientationIrradiance:
    """Plane-of-array irradiance on the horizontal and four vertical orientations.

    Attributes
    ----------
    total_w_m2 : (5, nh) float64
        Global irradiance on roof, N, E, S, W [W/m2].
    beam_w_m2, sky_diffuse_w_m2, ground_diffuse_w_m2 : (5, nh) float64
        Its parts [W/m2].
    aoi_deg : (5, nh) float64
        Angle of incidence of the beam [deg].
    window_w_m2 : (4, nh) float64
        N, E, S, W: beam x SHGC(aoi)/SHGC(0) + diffuse x SHGC_diffuse/SHGC(0) [W/m2].
    sun_azimuth_deg, sun_elevation_deg : (nh,) float64
        Sun position at mid-hour.
    circumsolar_w_m2, horizon_w_m2 : (5, nh) float64 or None
        The Perez circumsolar and horizon-band parts of ``sky_diffuse_w_m2`` [W/m2]: shading
        treats the circumsolar part like the beam and the horizon band by the horizon's
        obstruction (the rest is the isotropic dome).
    """

    total_w_m2: np.ndarray
    beam_w_m2: np.ndarray
    sky_diffuse_w_m2: np.ndarray
    ground_diffuse_w_m2: np.ndarray
    aoi_deg: np.ndarray
    window_w_m2: np.ndarray
    sun_azimuth_deg: np.ndarray
    sun_elevation_deg: np.ndarray
    circumsolar_w_m2: np.ndarray | None = None
    horizon_w_m2: np.ndarray | None = None

    def window_ratio(self) -> np.ndarray:
        """``window_w_m2 / total`` of the walls, (4, nh), 0 where there is no irradiance."""
        tot = self.total_w_m2[1:]
        return np.where(tot > 1e-6, self.window_w_m2 / np.where(tot > 1e-6, tot, 1.0), 0.0)


def orientation_irradiance(weather: pd.DataFrame, meta: dict) -> OrientationIrradiance:
    """Perez irradiance on the roof and on vertical N/E/S/W walls, sun at mid-hour.

    Parameters
    ----------
    weather : DataFrame
        From :func:`energy.weather.read_epw` (hour-ending stamps, glossary columns).
    meta : dict
        With ``latitude``, ``longitude``, ``altitude_m``.

    Returns
    -------
    OrientationIrradiance
    """
    import pvlib


    for col in ("ghi_w_m2", "dni_w_m2", "dhi_w_m2"):
        if col not in weather:
            raise WeatherError(f"weather lacks column {col!r}; read it with energy.weather.read_epw")
    times = mid_hour_times(weather.index)
    sp = pvlib.solarposition.get_solarposition(
        times, meta["latitude"], meta["longitude"], altitude=meta.get("altitude_m", 0.0)
    )
    zen = sp["apparent_zenith"].to_numpy()
    az = sp["azimuth"].to_numpy()
    dni = np.nan_to_num(weather["dni_w_m2"].to_numpy(float))
    ghi = np.nan_to_num(weather["ghi_w_m2"].to_numpy(float))
    dhi = np.nan_to_num(weather["dhi_w_m2"].to_numpy(float))
    dni = np.where(zen < 90.0, dni, 0.0)
    alb = weather["albedo"].to_numpy(float) if "albedo" in weather else np.full(len(weather), 0.2)
    alb = np.where(np.isfinite(alb) & (alb > 0) & (alb < 1), alb, 0.2)
    dni_extra = pvlib.irradiance.get_extra_radiation(times).to_numpy()
    am = pvlib.atmosphere.get_relative_airmass(zen)
    nh = len(weather)
    tot = np.zeros((5, nh))
    beam = np.zeros((5, nh))
    sky = np.zeros((5, nh))
    grd = np.zeros((5, nh))
    aoi = np.zeros((5, nh))
    circ = np.zeros((5, nh))
    hor = np.zeros((5, nh))
    planes = [(0.0, 180.0)] + [(90.0, a) for a in WALL_AZIMUTHS_DEG]
    for p, (tilt, azi) in enumerate(planes):  # five planes, vectorised over hours
        r = pvlib.irradiance.get_total_irradiance(
            tilt, azi, zen, az, dni, ghi, dhi, dni_extra=dni_extra, airmass=am,
            albedo=alb, model="perez",
        )
        beam[p] = np.nan_to_num(np.asarray(r["poa_direct"], float))
        sky[p] = np.nan_to_num(np.asarray(r["poa_sky_diffuse"], float))
        grd[p] = np.nan_to_num(np.asarray(r["poa_ground_diffuse"], float))
        tot[p] = beam[p] + sky[p] + grd[p]
        aoi[p] = np.asarray(pvlib.irradiance.aoi(tilt, azi, zen, az), float)
        parts = pvlib.irradiance.perez(tilt, azi, dhi, dni, dni_extra, zen, az, am, return_components=True)
        circ[p] = np.nan_to_num(np.asarray(parts["poa_circumsolar"], float))
        hor[p] = np.nan_to_num(np.asarray(parts["poa_horizon"], float))
    mod_diff = float(glazing_modifier(DIFFUSE)[0])
    win = beam[1:] * glazing_modifier(aoi[1:].ravel()).reshape(4, nh) + (sky[1:] + grd[1:]) * mod_diff
    return OrientationIrradiance(
        total_w_m2=tot,
        beam_w_m2=beam,
        sky_diffuse_w_m2=sky,
        ground_diffuse_w_m2=grd,
        aoi_deg=aoi,
        window_w_m2=win,
        sun_azimuth_deg=az,
        sun_elevation_deg=90.0 - zen,
        circumsolar_w_m2=circ,
        horizon_w_m2=hor,
    )
