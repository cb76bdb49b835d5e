"""Angle-dependent glazing optics: a double pane of clear glass from its pane properties.

Each pane is a slab of refractive index ``n`` with Fresnel reflection at both faces
(s and p polarisation averaged) and Beer-Lambert absorption along the refracted path; its
absorption is fixed by the pane's normal-incidence solar transmittance. Two panes combine with
their inter-reflections. The inward-flowing part of the absorbed solar follows the thermal
resistances outside -> pane (``r_out``) and pane -> inside. The result gives the solar heat
gain coefficient ``SHGC(theta)`` and its transmitted and absorbed parts for any incidence angle,
and the hemispherical (diffuse) averages.
"""

from __future__ import annotations

import numpy as np

__all__ = ["double_glazing", "glazing_modifier", "DIFFUSE", "TAU_PANE_2020"]

#: Marker for "diffuse" in :func:`glazing_modifier` (hemispherical average).
DIFFUSE = -1.0
#: Solar transmittance of the ASHRAE 140-2020 pane (3.048 mm, reflectance 0.075, 12 mm gap;
#: lbl-srg/modelica-buildings#3005); with it EnergyPlus and this module give the Standard's
#: transmitted solar (Table B8-14, tests/test_ashrae140_all.py).
TAU_PANE_2020 = 0.834


def _pane(theta_rad: np.ndarray, n_index: float, tau0: float):
    ct = np.cos(theta_rad)
    st = np.sin(theta_rad)
    st_t = st / n_index
    ct_t = np.sqrt(1.0 - st_t**2)
    rs = ((ct - n_index * ct_t) / (ct + n_index * ct_t)) ** 2
    rp = ((ct_t - n_index * ct) / (ct_t + n_index * ct)) ** 2
    # absorption per unit path from the normal-incidence transmittance
    r0 = ((n_index - 1) / (n_index + 1)) ** 2
    # solve tau0 = (1-r0)^2 a / (1 - r0^2 a^2) for a
    qa = tau0 * r0**2
    qb = (1 - r0) ** 2
    a0 = (-qb + np.sqrt(qb**2 + 4 * qa * tau0)) / (2 * qa) if qa > 0 else tau0 / qb
    kd = -np.log(a0)
    a = np.exp(-kd / ct_t)
    tau = np.zeros_like(ct)
    rho = np.zeros_like(ct)
    for r in (rs, rp):
        den = 1.0 - r**2 * a**2
        tau += 0.5 * (1 - r) ** 2 * a / den
        rho += 0.5 * (r + (1 - r) ** 2 * r * a**2 / den)
    return tau, rho, 1.0 - tau - rho


def double_glazing(
    theta_deg: np.ndarray | float,
    *,
    tau_pane: float = TAU_PANE_2020,
    n_index: float = 1.526,
    u_w_m2k: float = 3.0,
    h_out_w_m2k: float = 20.0,
    h_in_w_m2k: float = 8.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transmittance, inward-flowing absorbed fraction and SHGC of a double clear glazing.

    Parameters
    ----------
    theta_deg : (k,) float64 or float
        Angle of incidence [deg]; 90 and beyond give zero.
    tau_pane : float
        Normal-incidence solar transmittance of one pane (ASHRAE 140-2020: 0.834; the
        2017 edition's pane, 0.86156, transmits more than every 2020 reference program).
    n_index : float
        Refractive index of the glass.
    u_w_m2k, h_out_w_m2k, h_in_w_m2k : float
        Glazing U-value and outside/inside film coefficients [W/m2K], which set the inward
        fractions of the absorbed solar.

    Returns
    -------
    tau, absorbed_in, shgc : (k,) float64
        Solar transmittance, absorbed solar flowing inward, and their sum.
    """
    th = np.radians(np.clip(np.atleast_1d(np.asarray(theta_deg, float)), 0.0, 89.9))
    tau1, rho1, alpha1 = _pane(th, n_index, tau_pane)
    den = 1.0 - rho1**2
    tau = tau1**2 / den
    a_out = alpha1 * (1.0 + tau1 * rho1 / den)
    a_in = alpha1 * tau1 / den
    r_tot = 1.0 / u_w_m2k
    r_o = 1.0 / h_out_w_m2k
    r_gap = max(r_tot - r_o - 1.0 / h_in_w_m2k, 0.0)
    n1 = r_o / r_tot
    n2 = (r_o + r_gap) / r_tot
    absorbed = n1 * a_out + n2 * a_in
    off = np.atleast_1d(np.asarray(theta_deg, float)) >= 90.0
    tau = np.where(off, 0.0, tau)
    absorbed = np.where(off, 0.0, absorbed)
    return tau, absorbed, tau + absorbed


def glazing_modifier(theta_deg: np.ndarray | float, **kw) -> np.ndarray:
    """SHGC(theta) / SHGC(0) of :func:`double_glazing`; ``DIFFUSE`` gives the hemispherical mean.

    Parameters
    ----------
    theta_deg : (k,) float64 or float
        Angle of incidence [deg], or :data:`DIFFUSE`.

    Returns
    -------
    (k,) float64
    """
    g0 = double_glazing(0.0, **kw)[2][0]
    th = np.atleast_1d(np.asarray(theta_deg, float))
    out = double_glazing(np.where(th < 0, 0.0, th), **kw)[2] / g0
    if np.any(th < 0):
        grid = np.linspace(0.0, 89.9, 400)
        w = np.sin(2 * np.radians(grid))
        diff = float(np.sum(double_glazing(grid, **kw)[2] * w) / np.sum(w)) / g0
        out = np.where(th < 0, diff, out)
    return out
