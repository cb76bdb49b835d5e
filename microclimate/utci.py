"""Universal Thermal Climate Index (UTCI) and its ten thermal-stress categories.

:func:`utci_c` evaluates the operational 6th-order polynomial approximation of UTCI
(Broede et al. 2012, Int J Biometeorol 56:481-494; the ``UTCI_approx`` function of the
reference program ``UTCI_a002.f90``), the same polynomial as pythermalcomfort's ``utci``.
The water-vapour pressure is the saturation pressure over water (Hardy 1998, ITS-90, as in
the reference program) times the relative humidity.

Validity (the reference program's input checks): air temperature -50..50 degC,
``tmrt_c - t_air_c`` -30..70 K, wind at 10 m 0.5..17 m/s, relative humidity 0..100 % and
vapour pressure 0..5 kPa. Here the wind is **clipped** to 0.5..17 m/s (calm and storm hours
of a weather year then still get a value, as in SOLWEIG/UMEP), and every other out-of-range
or NaN input gives **NaN** (like pythermalcomfort with ``limit_inputs=True``); nothing is
extrapolated and nothing warns.
"""

from __future__ import annotations

import numpy as np

from microclimate._utci_coefficients import UTCI_TERMS
from microclimate._utci_kernels import (
    coefficients_in_d_tmrt,
    utci_of_d_tmrt,
    utci_polynomial,
)

__all__ = [
    "WIND_RANGE_M_S",
    "T_AIR_RANGE_C",
    "TMRT_MINUS_T_AIR_RANGE_K",
    "HEAT_STRESS_LABELS",
    "HEAT_STRESS_UPPER_EDGES_C",
    "saturation_vapour_pressure_hpa",
    "utci_c",
    "utci_one_air_c",
    "heat_stress_category",
]

#: Wind speed at 10 m the polynomial is fitted for; inputs are clipped to it [m/s].
WIND_RANGE_M_S = (0.5, 17.0)
#: Air temperature range of the polynomial; outside it UTCI is NaN [degC].
T_AIR_RANGE_C = (-50.0, 50.0)
#: ``tmrt_c - t_air_c`` range of the polynomial; outside it UTCI is NaN [K].
TMRT_MINUS_T_AIR_RANGE_K = (-30.0, 70.0)
#: Vapour-pressure range of the polynomial; outside it UTCI is NaN [kPa].
_PA_RANGE_KPA = (0.0, 5.0)

#: The ten UTCI thermal-stress categories, from code 0 (coldest) to 9 (hottest).
HEAT_STRESS_LABELS = (
    "extreme cold stress",
    "very strong cold stress",
    "strong cold stress",
    "moderate cold stress",
    "slight cold stress",
    "no thermal stress",
    "moderate heat stress",
    "strong heat stress",
    "very strong heat stress",
    "extreme heat stress",
)
#: Upper edge of categories 0..8 [degC]; a category includes its upper edge (pythermalcomfort's
#: convention: UTCI 32.0 is "moderate heat stress", 32.05 "strong heat stress").
HEAT_STRESS_UPPER_EDGES_C = (-40.0, -27.0, -13.0, 0.0, 9.0, 26.0, 32.0, 38.0, 46.0)

# Hardy (1998) ITS-90 saturation vapour pressure over water: ln(es[Pa]) =
# sum g_i T^(i-2) + 2.7150305 ln T, T in K (the reference program's ``es`` function).
_HARDY_G = (
    -2836.5744,
    -6028.076559,
    19.54263612,
    -0.02737830188,
    0.000016261698,
    7.0229056e-10,
    -1.8680009e-13,
)


def saturation_vapour_pressure_hpa(t_air_c):
    """Saturation vapour pressure over liquid water, Hardy (1998) ITS-90 formula.

    Parameters
    ----------
    t_air_c : float or array_like
        Air temperature [degC].

    Returns
    -------
    float or ndarray
        Saturation vapour pressure [hPa], the shape of ``t_air_c``.

    Examples
    --------
    >>> round(float(saturation_vapour_pressure_hpa(20.0)), 3)
    23.393
    """
    t_k = np.asarray(t_air_c, dtype=np.float64) + 273.15
    log_es = 2.7150305 * np.log(t_k)
    for i, g in enumerate(_HARDY_G):
        log_es = log_es + g * t_k ** (i - 2)
    return np.exp(log_es) * 0.01


def _polynomial_numpy(t_air_c, wind_m_s, d_tmrt_k, pa_kpa):
    """The 211-term polynomial in plain numpy on broadcast float64 arrays (no range checks).

    The reference variant of the numba kernel ``utci_polynomial`` (tests run both).
    """
    max_p = int(UTCI_TERMS[:, 1:].max())
    powers = []
    for x in (t_air_c, wind_m_s, d_tmrt_k, pa_kpa):
        p = [np.ones_like(x)]
        for _ in range(max_p):
            p.append(p[-1] * x)
        powers.append(p)
    out = np.zeros_like(t_air_c)
    for coef, i, j, k, m in UTCI_TERMS:
        out += coef * (
            powers[0][int(i)] * powers[1][int(j)] * powers[2][int(k)] * powers[3][int(m)]
        )
    return out


def _polynomial(t_air_c, wind_m_s, d_tmrt_k, pa_kpa):
    """The polynomial through the numba kernel, on broadcast arrays of any shape."""
    flat = [
        np.ascontiguousarray(a, dtype=np.float64).ravel()
        for a in (t_air_c, wind_m_s, d_tmrt_k, pa_kpa)
    ]
    return utci_polynomial(*flat, UTCI_TERMS).reshape(np.shape(t_air_c))


def utci_c(t_air_c, tmrt_c, wind_10m_m_s, rh_percent):
    """UTCI equivalent temperature by the Broede et al. (2012) 6th-order polynomial.

    All arguments broadcast against each other (numpy rules): one value or arrays.

    Parameters
    ----------
    t_air_c : float or array_like
        Air temperature [degC]; valid -50..50, NaN outside.
    tmrt_c : float or array_like
        Mean radiant temperature [degC]; ``tmrt_c - t_air_c`` valid -30..70 K, NaN outside.
    wind_10m_m_s : float or array_like
        Wind speed 10 m above ground [m/s]; clipped to 0.5..17 (``WIND_RANGE_M_S``).
    rh_percent : float or array_like
        Relative humidity [%]; valid 0..100 and vapour pressure 0..5 kPa, NaN outside.

    Returns
    -------
    float or ndarray
        UTCI [degC], float64 of the broadcast shape (a Python float for scalar inputs), NaN
        where an input is NaN or out of range. Not rounded.

    Examples
    --------
    >>> round(utci_c(25.0, 25.0, 1.0, 50.0), 1)
    24.6
    """
    t_air, tmrt, wind, rh = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (t_air_c, tmrt_c, wind_10m_m_s, rh_percent))
    )
    wind = np.clip(wind, *WIND_RANGE_M_S)  # NaN stays NaN
    d_tmrt = tmrt - t_air
    pa_kpa = saturation_vapour_pressure_hpa(t_air) * rh / 1000.0  # hPa x % / 1000 = kPa
    with np.errstate(invalid="ignore", over="ignore"):
        out = _polynomial(t_air, wind, d_tmrt, pa_kpa)
        valid = (
            (t_air >= T_AIR_RANGE_C[0])
            & (t_air <= T_AIR_RANGE_C[1])
            & (d_tmrt >= TMRT_MINUS_T_AIR_RANGE_K[0])
            & (d_tmrt <= TMRT_MINUS_T_AIR_RANGE_K[1])
            & (rh >= 0.0)
            & (rh <= 100.0)
            & (pa_kpa >= _PA_RANGE_KPA[0])
            & (pa_kpa <= _PA_RANGE_KPA[1])
            & ~np.isnan(wind)
        )
    out = np.where(valid, out, np.nan)
    return float(out) if out.ndim == 0 else out


def utci_one_air_c(t_air_c: float, tmrt_c, wind_10m_m_s: float, rh_percent: float) -> np.ndarray:
    """:func:`utci_c` of many mean radiant temperatures under one air state (a grid step).

    With air temperature, wind and humidity fixed, the polynomial is one of degree 6 in
    ``tmrt_c - t_air_c``: its seven coefficients are summed once, then each value costs six
    multiply-adds. Same ranges, clipping and NaN rules as :func:`utci_c`; the values agree
    with it to round-off (1e-9 K).

    Parameters
    ----------
    t_air_c, wind_10m_m_s, rh_percent : float
        Air temperature [degC], wind 10 m above ground [m/s], relative humidity [%].
    tmrt_c : (n,) array_like
        Mean radiant temperatures [degC].

    Returns
    -------
    (n,) float64
        UTCI [degC], NaN where out of range.
    """
    tmrt = np.ascontiguousarray(tmrt_c, dtype=np.float64).ravel()
    t_air = float(t_air_c)
    rh = float(rh_percent)
    wind = float(np.clip(wind_10m_m_s, *WIND_RANGE_M_S))
    pa_kpa = float(saturation_vapour_pressure_hpa(t_air)) * rh / 1000.0
    out = np.empty_like(tmrt)
    ok = (T_AIR_RANGE_C[0] <= t_air <= T_AIR_RANGE_C[1] and 0.0 <= rh <= 100.0
          and _PA_RANGE_KPA[0] <= pa_kpa <= _PA_RANGE_KPA[1] and not np.isnan(wind))
    if not ok:
        out[:] = np.nan
        return out
    coef = coefficients_in_d_tmrt(t_air, wind, pa_kpa, UTCI_TERMS)
    utci_of_d_tmrt(tmrt - t_air, coef, TMRT_MINUS_T_AIR_RANGE_K[0], TMRT_MINUS_T_AIR_RANGE_K[1],
                   out)
    return out


def heat_stress_category(utci_c):
    """The UTCI thermal-stress category of each value: integer code and label.

    Parameters
    ----------
    utci_c : float or array_like
        UTCI [degC].

    Returns
    -------
    codes : int or ndarray
        int8 code 0..9 indexing ``HEAT_STRESS_LABELS`` (0 extreme cold stress, 5 no thermal
        stress, 7 strong heat stress (32 < UTCI <= 38), 9 extreme heat stress); -1 where
        ``utci_c`` is NaN. The shape of ``utci_c`` (a Python int for a scalar).
    labels : str or ndarray
        The category names, object array of the same shape ("" where NaN).

    Examples
    --------
    >>> heat_stress_category(35.0)
    (7, 'strong heat stress')
    """
    u = np.asarray(utci_c, dtype=np.float64)
    codes = np.searchsorted(np.asarray(HEAT_STRESS_UPPER_EDGES_C), u, side="left").astype(np.int8)
    codes = np.where(np.isnan(u), np.int8(-1), codes).astype(np.int8)
    names = np.array((*HEAT_STRESS_LABELS, ""), dtype=object)
    labels = names[codes]  # code -1 picks the trailing ""
    if u.ndim == 0:
        return int(codes), str(labels)
    return codes, labels
