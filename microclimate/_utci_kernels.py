"""Numba kernel of the UTCI polynomial (the public wrapper is :func:`microclimate.utci.utci_c`)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_CHUNK = 4096  # elements per parallel work item


@njit(cache=True, parallel=True)
def utci_polynomial(t_air_c, wind_m_s, d_tmrt_k, pa_kpa, terms):
    """The UTCI polynomial at every element; no range checks.

    Parameters
    ----------
    t_air_c, wind_m_s, d_tmrt_k, pa_kpa : (n,) float64
        Air temperature [degC], wind at 10 m [m/s], ``tmrt - t_air`` [K], vapour pressure [kPa].
    terms : (n_terms, 5) float64
        ``UTCI_TERMS``: coefficient and the four exponents (0..6) of each term.

    Returns
    -------
    (n,) float64
        UTCI [degC]; NaN where an input is NaN.
    """
    n = t_air_c.shape[0]
    n_terms = terms.shape[0]
    exps = terms[:, 1:].astype(np.int64)
    coef = terms[:, 0].copy()
    out = np.empty(n)
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        pw = np.empty((4, 7))  # powers 0..6 of the four variables, one buffer per chunk
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            pw[0, 1] = t_air_c[i]
            pw[1, 1] = wind_m_s[i]
            pw[2, 1] = d_tmrt_k[i]
            pw[3, 1] = pa_kpa[i]
            for v in range(4):
                pw[v, 0] = 1.0
                for p in range(2, 7):
                    pw[v, p] = pw[v, p - 1] * pw[v, 1]
            acc = 0.0
            for k in range(n_terms):
                acc += (
                    coef[k]
                    * pw[0, exps[k, 0]]
                    * pw[1, exps[k, 1]]
                    * pw[2, exps[k, 2]]
                    * pw[3, exps[k, 3]]
                )
            out[i] = acc
    return out


@njit(cache=True)
def coefficients_in_d_tmrt(t_air_c, wind_m_s, pa_kpa, terms):
    """The polynomial as one in ``d = tmrt - t_air`` for fixed air temperature [degC], wind
    [m/s] and vapour pressure [kPa]: ``(7,)`` float64, ``UTCI = sum_k c[k] d**k``."""
    c = np.zeros(7)
    for k in range(terms.shape[0]):
        c[int(terms[k, 3])] += (terms[k, 0] * t_air_c ** int(terms[k, 1])
                                * wind_m_s ** int(terms[k, 2]) * pa_kpa ** int(terms[k, 4]))
    return c


@njit(cache=True, parallel=True)
def utci_of_d_tmrt(d_tmrt_k, coef, d_min_k, d_max_k, out):
    """``out[i] = sum_k coef[k] d**k`` (Horner) where ``d_min_k <= d <= d_max_k``, else NaN."""
    n = d_tmrt_k.shape[0]
    for i in prange(n):
        d = d_tmrt_k[i]
        v = coef[6]
        for k in range(5, -1, -1):
            v = v * d + coef[k]
        out[i] = v if (d >= d_min_k and d <= d_max_k) else np.nan
