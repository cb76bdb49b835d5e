"""Sky patches (Tregenza / Reinhart) and the Perez anisotropic sky distributed over them.

The diffuse sky is the Perez (1990) model with pvlib's coefficients (``allsitescomposite1990``),
split into the three parts Perez defines and distributed over *sky elements*:

* the isotropic background, radiance ``dhi (1 - F1) / pi`` [W/m2/sr] on every sky patch;
* the horizon band, a line source at elevation 0 of strength ``dhi F2 / 2`` [W/m2 per radian
  of azimuth] on ``n_horizon`` azimuth elements (a tilted plane receives ``dhi F2 sin(tilt)``
  from it, as in Perez's model);
* the circumsolar disc, added to the direct beam as a point source at the sun of normal
  irradiance ``dhi F1 / max(cos 85deg, cos zenith)`` and shaded with the sun.

A sensor's diffuse irradiance is then a matrix product: ``E = C @ R`` with ``C (n_sensors,
n_elements)`` the visibility-and-cosine coefficients of the elements (daylight coefficients)
and ``R (n_elements, n_hours)`` the element strengths. Unobstructed, this reproduces
``pvlib.irradiance.get_total_irradiance(model="perez")`` exactly up to the patch
discretisation. Hours with diffuse light but the sun below the horizon get an isotropic sky
(pvlib sets them to 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from energy.sun import direction_vectors

__all__ = [
    "SkyPatches",
    "sky_patches",
    "patch_rays",
    "horizon_rays",
    "PerezSky",
    "perez_sky",
    "element_strengths",
]

_TREGENZA_ROW_COUNTS = (30, 30, 24, 24, 18, 12, 6)


@dataclass(frozen=True)
class SkyPatches:
    """A subdivision of the upper hemisphere into patches.

    Attributes
    ----------
    alt0_deg, alt1_deg, az0_deg, az1_deg : (p,) float64
        Patch bounds: altitude [deg] and azimuth [deg clockwise from north].
    directions : (p, 3) float64
        Unit vectors (east, north, up) to the patch centres.
    solid_angle_sr : (p,) float64
        Patch solid angles [sr]; they sum to 2 pi.
    """

    alt0_deg: np.ndarray
    alt1_deg: np.ndarray
    az0_deg: np.ndarray
    az1_deg: np.ndarray
    directions: np.ndarray
    solid_angle_sr: np.ndarray

    def __len__(self) -> int:
        return int(self.solid_angle_sr.shape[0])


def sky_patches(subdivision: int = 1) -> SkyPatches:
    """Tregenza's 145 patches (``subdivision=1``) or Reinhart's MF:n subdivision of them.

    Reinhart MF:n splits each of Tregenza's 7 rows into n rows with n times as many patches,
    row height ``90 / (7 n + 0.5)`` deg, and keeps one zenith cap: 145, 577, 1297, 2305 patches
    for n = 1, 2, 3, 4 (as Radiance's ``reinhart.cal``).
    """
    n = int(subdivision)
    if n < 1:
        raise InputError(
            f"sky subdivision must be >= 1 (1 = Tregenza 145 patches), got {subdivision}"
        )
    h = 90.0 / (7 * n + 0.5)
    alt0, alt1, az0, az1 = [], [], [], []
    for r in range(7 * n):
        m = _TREGENZA_ROW_COUNTS[r // n] * n
        edges = np.linspace(0.0, 360.0, m + 1)
        # patches centred on azimuth 0 like Tregenza's (first patch straddles north)
        edges = edges - 180.0 / m
        alt0.append(np.full(m, r * h))
        alt1.append(np.full(m, (r + 1) * h))
        az0.append(edges[:-1])
        az1.append(edges[1:])
    alt0.append(np.array([7 * n * h]))
    alt1.append(np.array([90.0]))
    az0.append(np.array([0.0]))
    az1.append(np.array([360.0]))
    a0, a1 = np.concatenate(alt0), np.concatenate(alt1)
    z0, z1 = np.concatenate(az0), np.concatenate(az1)
    omega = np.radians(z1 - z0) * (np.sin(np.radians(a1)) - np.sin(np.radians(a0)))
    # centre: mid of sin(alt) (equal solid angle) and mid azimuth; zenith cap -> straight up
    s_mid = 0.5 * (np.sin(np.radians(a0)) + np.sin(np.radians(a1)))
    alt_c = np.degrees(np.arcsin(s_mid))
    alt_c[-1] = 90.0
    dirs = direction_vectors(90.0 - alt_c, 0.5 * (z0 + z1))
    return SkyPatches(a0, a1, z0, z1, dirs, omega)


def patch_rays(
    patches: SkyPatches, rays_per_side: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified sub-directions of every patch: ``k x k`` cells of equal solid angle each.

    Returns
    -------
    directions : (p k^2, 3) float64
    patch : (p k^2,) int64
        The patch of each direction.
    solid_angle_sr : (p k^2,) float64
        The solid angle each direction stands for (sums to 2 pi).
    """
    k = int(rays_per_side)
    if k < 1:
        raise InputError(f"rays_per_side must be >= 1, got {rays_per_side}")
    p = len(patches)
    u = (np.arange(k) + 0.5) / k
    uu, vv = np.meshgrid(u, u, indexing="ij")
    uu, vv = uu.ravel(), vv.ravel()
    s0 = np.sin(np.radians(patches.alt0_deg))[:, None]
    s1 = np.sin(np.radians(patches.alt1_deg))[:, None]
    sin_alt = s0 + (s1 - s0) * uu[None, :]
    az = patches.az0_deg[:, None] + (patches.az1_deg - patches.az0_deg)[:, None] * vv[None, :]
    alt = np.degrees(np.arcsin(np.clip(sin_alt, -1, 1)))
    dirs = direction_vectors((90.0 - alt).ravel(), az.ravel())
    patch = np.repeat(np.arange(p), k * k)
    omega = np.repeat(patches.solid_angle_sr / (k * k), k * k)
    return dirs, patch, omega


def horizon_rays(
    n_horizon: int = 36, elevation_deg: float = 3.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizon-band elements: ray directions, cosine directions and azimuth widths.

    Returns
    -------
    ray_directions : (n, 3) float64
        Where visibility is tested: ``elevation_deg`` above the horizon (the band's height).
    cos_directions : (n, 3) float64
        Horizontal unit vectors used for the incidence cosine (the line source at elevation 0).
    width_rad : (n,) float64
        Azimuth width of each element [rad]; they sum to 2 pi.
    """
    n = int(n_horizon)
    az = (np.arange(n) + 0.5) * 360.0 / n
    ray = direction_vectors(np.full(n, 90.0 - elevation_deg), az)
    cosd = direction_vectors(np.full(n, 90.0), az)
    return ray, cosd, np.full(n, 2 * np.pi / n)


@dataclass(frozen=True)
class PerezSky:
    """Hourly Perez sky split into the parts distributed over sky elements.

    Attributes
    ----------
    iso_radiance_w_m2_sr : (h,) float64
        Isotropic background radiance ``dhi (1 - F1) / pi``.
    horizon_w_m2_rad : (h,) float64
        Horizon line-source strength ``dhi F2 / 2`` per radian of azimuth (may be negative).
    beam_normal_w_m2 : (h,) float64
        DNI plus the circumsolar part as normal irradiance ``dhi F1 / max(cos 85, cos z)``;
        0 when the sun is below the horizon.
    dni_w_m2, dhi_w_m2, ghi_w_m2 : (h,) float64
        The weather's DNI and DHI, and ``ghi = dni cos(z) + dhi`` used for ground reflection.
    f1, f2 : (h,) float64
        Perez circumsolar and horizon brightening coefficients.
    """

    iso_radiance_w_m2_sr: np.ndarray
    horizon_w_m2_rad: np.ndarray
    beam_normal_w_m2: np.ndarray
    dni_w_m2: np.ndarray
    dhi_w_m2: np.ndarray
    ghi_w_m2: np.ndarray
    f1: np.ndarray
    f2: np.ndarray


def perez_sky(
    dni_w_m2: np.ndarray,
    dhi_w_m2: np.ndarray,
    zenith_deg: np.ndarray,
    dni_extra_w_m2: np.ndarray,
    *,
    model: str = "allsitescomposite1990",
) -> PerezSky:
    """Perez (1990) brightness coefficients and the sky-element strengths, per hour.

    Parameters
    ----------
    dni_w_m2, dhi_w_m2 : (h,) float64
        Direct normal and diffuse horizontal irradiance [W/m2].
    zenith_deg : (h,) float64
        Apparent sun zenith at mid-hour [deg].
    dni_extra_w_m2 : (h,) float64
        Extraterrestrial normal irradiance [W/m2].
    model : str
        pvlib's Perez coefficient set.
    """
    from energy.weather import require_pvlib

    pvlib = require_pvlib()
    from pvlib.irradiance import _get_perez_coefficients

    dni = np.nan_to_num(np.asarray(dni_w_m2, dtype=np.float64)).clip(0)
    dhi = np.nan_to_num(np.asarray(dhi_w_m2, dtype=np.float64)).clip(0)
    zen = np.asarray(zenith_deg, dtype=np.float64)
    up = zen < 90.0
    am = np.asarray(
        pvlib.atmosphere.get_relative_airmass(np.where(up, zen, 89.0)), dtype=np.float64
    )
    z = np.radians(zen)
    kappa = 1.041
    with np.errstate(invalid="ignore", divide="ignore"):
        eps = ((dhi + dni) / dhi + kappa * z**3) / (1 + kappa * z**3)
    delta = dhi * am / np.asarray(dni_extra_w_m2, dtype=np.float64)
    ebin = np.digitize(eps, (0.0, 1.065, 1.23, 1.5, 1.95, 2.8, 4.5, 6.2)) - 1
    ok = up & (dhi > 0) & np.isfinite(eps) & (ebin >= 0)
    ebin = np.clip(ebin, 0, 7)
    f1c, f2c = _get_perez_coefficients(model)
    f1 = np.maximum(f1c[ebin, 0] + f1c[ebin, 1] * delta + f1c[ebin, 2] * z, 0.0)
    f2 = f2c[ebin, 0] + f2c[ebin, 1] * delta + f2c[ebin, 2] * z
    f1 = np.where(ok, f1, 0.0)
    f2 = np.where(ok, f2, 0.0)
    cosz = np.cos(z)
    b = np.maximum(cosz, np.cos(np.radians(85.0)))
    beam = np.where(up, dni + dhi * f1 / b, 0.0)
    ghi = np.where(up, dni * np.clip(cosz, 0, None), 0.0) + dhi
    return PerezSky(
        iso_radiance_w_m2_sr=dhi * (1.0 - f1) / np.pi,
        horizon_w_m2_rad=dhi * f2 / 2.0,
        beam_normal_w_m2=beam,
        dni_w_m2=np.where(up, dni, 0.0),
        dhi_w_m2=dhi,
        ghi_w_m2=ghi,
        f1=f1,
        f2=f2,
    )


def element_strengths(sky: PerezSky, n_patches: int, n_horizon: int) -> np.ndarray:
    """Sky-element strengths ``R (n_patches + n_horizon, h)`` float64 for ``E = C @ R``.

    Rows ``0..n_patches-1`` are patch radiances [W/m2/sr]; the last ``n_horizon`` rows the
    horizon line source [W/m2 per rad].
    """
    h = sky.iso_radiance_w_m2_sr.shape[0]
    r = np.empty((n_patches + n_horizon, h), dtype=np.float64)
    r[:n_patches] = sky.iso_radiance_w_m2_sr[None, :]
    r[n_patches:] = sky.horizon_w_m2_rad[None, :]
    return r
