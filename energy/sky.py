"""Sky patches (Tregenza / Reinhart) and the Perez skies distributed over them.

Two diffuse sky models (``sky_model``):

``"perez1990"`` (the solver's default): the Perez (1990) irradiance model with pvlib's
coefficients (``allsitescomposite1990``), split into the three parts Perez defines and
distributed over *sky elements*:

* the isotropic background, radiance ``dhi (1 - F1) / pi`` [W/m2/sr] on every sky patch;
* the horizon band, a line source at elevation 0 of strength ``dhi F2 / 2`` [W/m2 per radian
  of azimuth] on ``n_horizon`` azimuth elements (a tilted plane receives ``dhi F2 sin(tilt)``
  from it, as in Perez's model);
* the circumsolar disc, added to the direct beam as a point source at the sun of normal
  irradiance ``dhi F1 / max(cos 85deg, cos zenith)`` and shaded with the sun.

Unobstructed, this reproduces ``pvlib.irradiance.get_total_irradiance(model="perez")`` up to
the patch discretisation (< 0.3% annually on isolated planes, Denver TMY3).

``"perez-allweather"``: the Perez, Seals & Michalsky (1993) all-weather radiance distribution
``l = [1 + a exp(b / cos zeta)] [1 + c exp(d gamma) + e cos^2 gamma]`` (coefficients from the
clearness bin, the brightness Delta and the sun zenith, :func:`allweather_coefficients`),
averaged over a few directions per patch and scaled per hour so that the patches give the DHI
on the horizontal (:func:`allweather_radiance`). Circumsolar and horizon brightening are part
of the patch radiances (shaded patch by patch); the beam is the DNI alone. Annual irradiation
on isolated planes differs from pvlib's Perez (1990) by -2.0% .. +0.7% (Denver TMY3).

A sensor's diffuse irradiance is a matrix product: ``E = C @ R`` with ``C (n_sensors,
n_elements)`` the visibility-and-cosine coefficients of the elements (daylight coefficients)
and ``R (n_elements, n_hours)`` the element strengths (:func:`element_strengths`). Hours with
diffuse light but the sun below the horizon get an isotropic sky (pvlib sets them to 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from energy.sun import direction_vectors
from energy.weather import require_pvlib

__all__ = [
    "SkyPatches",
    "sky_patches",
    "patch_rays",
    "horizon_rays",
    "PerezSky",
    "perez_sky",
    "element_strengths",
    "SKY_MODELS",
    "allweather_coefficients",
    "allweather_relative_radiance",
    "allweather_radiance",
]

#: Sky models of :func:`perez_sky` / :func:`element_strengths`.
SKY_MODELS = ("perez-allweather", "perez1990")

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
        0 when the sun is below the horizon. The DNI alone for ``"perez-allweather"``.
    dni_w_m2, dhi_w_m2, ghi_w_m2 : (h,) float64
        The weather's DNI and DHI, and ``ghi = dni cos(z) + dhi`` used for ground reflection.
    f1, f2 : (h,) float64
        Perez circumsolar and horizon brightening coefficients (0 for ``"perez-allweather"``,
        whose circumsolar and horizon brightening are part of the patch radiances).
    epsilon, delta : (h,) float64
        Perez sky clearness and sky brightness (NaN / 0 where there is no diffuse light).
    zenith_deg : (h,) float64
        Sun zenith [deg].
    model : str
        ``"perez1990"`` or ``"perez-allweather"``.
    """

    iso_radiance_w_m2_sr: np.ndarray
    horizon_w_m2_rad: np.ndarray
    beam_normal_w_m2: np.ndarray
    dni_w_m2: np.ndarray
    dhi_w_m2: np.ndarray
    ghi_w_m2: np.ndarray
    f1: np.ndarray
    f2: np.ndarray
    epsilon: np.ndarray
    delta: np.ndarray
    zenith_deg: np.ndarray
    model: str = "perez1990"


def perez_sky(
    dni_w_m2: np.ndarray,
    dhi_w_m2: np.ndarray,
    zenith_deg: np.ndarray,
    dni_extra_w_m2: np.ndarray,
    *,
    model: str = "allsitescomposite1990",
    sky_model: str = "perez1990",
) -> PerezSky:
    """Perez clearness / brightness and the sky-element strengths, per hour.

    Parameters
    ----------
    dni_w_m2, dhi_w_m2 : (h,) float64
        Direct normal and diffuse horizontal irradiance [W/m2].
    zenith_deg : (h,) float64
        Apparent sun zenith at mid-hour [deg].
    dni_extra_w_m2 : (h,) float64
        Extraterrestrial normal irradiance [W/m2].
    model : str
        pvlib's Perez (1990) coefficient set.
    sky_model : {"perez-allweather", "perez1990"}
        ``"perez1990"``: isotropic + horizon band + circumsolar point source (F1, F2 as pvlib);
        ``"perez-allweather"``: F1 = F2 = 0 here, the beam is the DNI alone and the patch
        radiances come from :func:`allweather_radiance` in :func:`element_strengths`.
    """
    if sky_model not in SKY_MODELS:
        raise InputError(f"sky_model must be one of {SKY_MODELS}, got {sky_model!r}")

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
    if sky_model == "perez-allweather":
        f1 = np.zeros_like(f1)
        f2 = np.zeros_like(f2)
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
        epsilon=np.where(ok, eps, np.nan),
        delta=np.where(ok, delta, 0.0),
        zenith_deg=zen,
        model=sky_model,
    )


# Perez, R., R. Seals and J. Michalsky (1993), "All-weather model for sky luminance
# distribution - preliminary configuration and validation", Solar Energy 50(3):235-245, Table 1
# (and its erratum, Solar Energy 51(5):423), as tabulated in Radiance's gendaymtx.c
# (NREL/Radiance src/gen/gendaymtx.c, PerezCoeff). Rows: clearness bins 1..8 (epsilon bounds
# 1, 1.065, 1.23, 1.5, 1.95, 2.8, 4.5, 6.2); columns a1..a4, b1..b4, c1..c4, d1..d4, e1..e4.
_ALLWEATHER_COEFF = np.array(
    [
        [1.3525, -0.2576, -0.2690, -1.4366, -0.7670, 0.0007, 1.2734, -0.1233, 2.8000, 0.6004,
         1.2375, 1.0000, 1.8734, 0.6297, 0.9738, 0.2809, 0.0356, -0.1246, -0.5718, 0.9938],
        [-1.2219, -0.7730, 1.4148, 1.1016, -0.2054, 0.0367, -3.9128, 0.9156, 6.9750, 0.1774,
         6.4477, -0.1239, -1.5798, -0.5081, -1.7812, 0.1080, 0.2624, 0.0672, -0.2190, -0.4285],
        [-1.1000, -0.2515, 0.8952, 0.0156, 0.2782, -0.1812, -4.5000, 1.1766, 24.7219, -13.0812,
         -37.7000, 34.8438, -5.0000, 1.5218, 3.9229, -2.6204, -0.0156, 0.1597, 0.4199, -0.5562],
        [-0.5484, -0.6654, -0.2672, 0.7117, 0.7234, -0.6219, -5.6812, 2.6297, 33.3389, -18.3000,
         -62.2500, 52.0781, -3.5000, 0.0016, 1.1477, 0.1062, 0.4659, -0.3296, -0.0876, -0.0329],
        [-0.6000, -0.3566, -2.5000, 2.3250, 0.2937, 0.0496, -5.6812, 1.8415, 21.0000, -4.7656,
         -21.5906, 7.2492, -3.5000, -0.1554, 1.4062, 0.3988, 0.0032, 0.0766, -0.0656, -0.1294],
        [-1.0156, -0.3670, 1.0078, 1.4051, 0.2875, -0.5328, -3.8500, 3.3750, 14.0000, -0.9999,
         -7.1406, 7.5469, -3.4000, -0.1078, -1.0750, 1.5702, -0.0672, 0.4016, 0.3017, -0.4844],
        [-1.0000, 0.0211, 0.5025, -0.5119, -0.3000, 0.1922, 0.7023, -1.6317, 19.0000, -5.0000,
         1.2438, -1.9094, -4.0000, 0.0250, 0.3844, 0.2656, 1.0468, -0.3788, -2.4517, 1.4656],
        [-1.0500, 0.0289, 0.4260, 0.3590, -0.3250, 0.1156, 0.7781, 0.0025, 31.0625, -14.5000,
         -46.1148, 55.3750, -7.2312, 0.4050, 13.3500, 0.6234, 1.5000, -0.6426, 1.8564, 0.5636],
    ]
)  # fmt: skip
_EPS_EDGES = (1.065, 1.23, 1.5, 1.95, 2.8, 4.5, 6.2)
#: The sun altitude is capped at 87 deg for the coefficients (as gendaylit / gendaymtx).
_MIN_SUN_ZENITH_DEG = 3.0


def allweather_coefficients(
    epsilon: np.ndarray, delta: np.ndarray, zenith_deg: np.ndarray
) -> np.ndarray:
    """Perez (1993) all-weather parameters ``a, b, c, d, e`` per hour, ``(5, h)`` float64.

    ``x = x1 + x2 Z + Delta (x3 + x4 Z)`` with ``Z`` the sun zenith [rad] (capped at >= 3 deg),
    except in the overcast bin 1 (epsilon < 1.065): ``c = exp((Delta (c1 + c2 Z))^c3) - c4`` and
    ``d = -exp(Delta (d1 + d2 Z)) + d3 + Delta d4``. Delta is raised to 0.2 for 1.065 < epsilon
    < 2.8 (Perez et al. 1993; Radiance gendaymtx.c ``CalcPerezParam``).
    """
    eps = np.nan_to_num(np.asarray(epsilon, dtype=np.float64), nan=1.0)
    dlt = np.nan_to_num(np.asarray(delta, dtype=np.float64)).clip(0)
    z = np.radians(np.maximum(np.asarray(zenith_deg, dtype=np.float64), _MIN_SUN_ZENITH_DEG))
    dlt = np.where((eps > 1.065) & (eps < 2.8), np.maximum(dlt, 0.2), dlt)
    ebin = np.digitize(eps, _EPS_EDGES)  # 0..7
    x = _ALLWEATHER_COEFF[ebin].reshape(-1, 5, 4).transpose(1, 2, 0)  # (5, 4, h)
    par = x[:, 0] + x[:, 1] * z + dlt * (x[:, 2] + x[:, 3] * z)
    b1 = ebin == 0
    if np.any(b1):
        with np.errstate(invalid="ignore", over="ignore"):
            c = np.exp(np.power(dlt * (x[2, 0] + x[2, 1] * z), x[2, 2])) - x[2, 3]
        d = -np.exp(dlt * (x[3, 0] + x[3, 1] * z)) + x[3, 2] + dlt * x[3, 3]
        par[2] = np.where(b1, np.nan_to_num(c), par[2])
        par[3] = np.where(b1, d, par[3])
    return par


def allweather_relative_radiance(
    params: np.ndarray, cos_zeta: np.ndarray, cos_gamma: np.ndarray
) -> np.ndarray:
    """Relative radiance ``[1 + a exp(b / cos zeta)] [1 + c exp(d gamma) + e cos^2 gamma]``.

    ``params (5, h)`` from :func:`allweather_coefficients`; ``cos_zeta`` the cosine of the sky
    element's zenith angle and ``cos_gamma`` of its angle to the sun, broadcastable to ``(..., h)``.
    Negative values are set to 0 (as gendaymtx).
    """
    a, b, c, d, e = params
    cz = np.maximum(cos_zeta, 1e-2)  # the horizon row: avoid exp(b / 0)
    cg = np.clip(cos_gamma, -1.0, 1.0)
    gamma = np.arccos(cg)
    val = (1.0 + a * np.exp(b / cz)) * (1.0 + c * np.exp(d * gamma) + e * cg * cg)
    return np.maximum(val, 0.0)


def allweather_radiance(
    sky: PerezSky,
    patches: SkyPatches,
    sun_dir: np.ndarray,
    *,
    points_per_side: int | None = None,
) -> np.ndarray:
    """Patch radiances of the Perez (1993) all-weather sky, ``(p, h)`` float64 [W/m2/sr].

    The relative radiance is averaged over ``points_per_side^2`` directions of equal solid
    angle in each patch, then scaled per hour so that the horizontal diffuse irradiance of the
    patches, ``sum_p L_p cos(zeta_p) Omega_p`` (patch centres), equals the DHI. Hours with
    diffuse light but the sun below the horizon (or no valid clearness) get an isotropic sky.

    Parameters
    ----------
    sky : PerezSky
        From :func:`perez_sky` (uses ``dhi_w_m2``, ``epsilon``, ``delta``, ``zenith_deg``).
    patches : SkyPatches
    sun_dir : (h, 3) float64
        Unit vectors (east, north, up) towards the sun.
    points_per_side : int, optional
        ``k``: the formula is averaged over ``k x k`` points per patch (1 = patch centre).
        Default 3 for Tregenza's patches, 2 for MF:2, 1 for finer skies (annual irradiation
        on isolated planes changes by < 0.2% from k = 3 to k = 5 on Tregenza's patches).
    """
    dhi = sky.dhi_w_m2
    h = dhi.shape[0]
    sun = np.asarray(sun_dir, dtype=np.float64)
    if sun.shape != (h, 3):
        raise InputError(f"sun_dir must have shape ({h}, 3), got {sun.shape}")
    if points_per_side is None:
        row0 = int(np.count_nonzero(patches.alt0_deg == 0.0))  # 30 n patches in the first row
        points_per_side = {30: 3, 60: 2}.get(row0, 1)
    k = int(points_per_side)
    dirs, _, _ = patch_rays(patches, k)
    p = len(patches)
    ok = np.isfinite(sky.epsilon) & (sky.zenith_deg < 90.0) & (dhi > 0)
    idx = np.flatnonzero(ok)
    par = allweather_coefficients(sky.epsilon[idx], sky.delta[idx], sky.zenith_deg[idx])
    rel = np.zeros((p, idx.size))
    d3 = dirs.reshape(p, k * k, 3)
    sun_ok = sun[idx].T  # (3, n)
    for j in range(k * k):  # k^2 sub-points, vectorised over patches and hours
        dj = d3[:, j, :]
        rel += allweather_relative_radiance(par, dj[:, 2:3], dj @ sun_ok)
    rel /= k * k
    w = patches.directions[:, 2] * patches.solid_angle_sr  # cos(zeta_p) Omega_p
    norm = w @ rel
    out = np.empty((p, h))
    out[:] = (dhi / (w.sum()))[None, :]  # isotropic default
    good = norm > 0
    out[:, idx[good]] = rel[:, good] * (dhi[idx[good]] / norm[good])[None, :]
    return out


def element_strengths(
    sky: PerezSky,
    n_patches: int,
    n_horizon: int,
    *,
    patches: SkyPatches | None = None,
    sun_dir: np.ndarray | None = None,
    points_per_side: int | None = None,
) -> np.ndarray:
    """Sky-element strengths ``R (n_patches + n_horizon, h)`` float64 for ``E = C @ R``.

    Rows ``0..n_patches-1`` are patch radiances [W/m2/sr]; the last ``n_horizon`` rows the
    horizon line source [W/m2 per rad] (0 for the all-weather sky). ``"perez-allweather"``
    skies need ``patches`` and ``sun_dir (h, 3)`` (see :func:`allweather_radiance`).
    """
    h = sky.iso_radiance_w_m2_sr.shape[0]
    r = np.empty((n_patches + n_horizon, h), dtype=np.float64)
    if sky.model == "perez-allweather":
        if patches is None or sun_dir is None or len(patches) != n_patches:
            raise InputError(
                "the perez-allweather sky needs the sky patches (n_patches of them) and the "
                "sun directions: element_strengths(sky, n, m, patches=..., sun_dir=...)"
            )
        r[:n_patches] = allweather_radiance(sky, patches, sun_dir, points_per_side=points_per_side)
        r[n_patches:] = 0.0
        return r
    r[:n_patches] = sky.iso_radiance_w_m2_sr[None, :]
    r[n_patches:] = sky.horizon_w_m2_rad[None, :]
    return r
