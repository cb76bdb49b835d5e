"""Hourly surface energy balance of ground, roof and wall surfaces over conducting slabs.

Per surface and hour, with every flux positive towards the surface [W/m2]::

    q_sw + q_lw + q_conv + q_latent = q_cond

- ``q_sw = k_absorbed_w_m2``: absorbed shortwave, shading included (from the solar solver).
- ``q_lw = eps (svf L_down + (1 - svf) sigma eps_surr T_surr^4) - eps sigma Ts^4``: long-wave
  from the sky and from surroundings at ``t_surround_c``, minus emission (Kirchhoff: the
  absorptivity equals the emissivity).
- ``q_conv = h_c (T_air - Ts)`` with the McAdams (1954) wind correlation as quoted by Duffie &
  Beckman, *Solar Engineering of Thermal Processes* (4th ed., eq. 3.15.1):
  ``h_c = 5.7 + 3.8 v`` [W/m2K], ``v`` wind speed [m/s] (:func:`convective_coefficient_w_m2k`;
  Duffie & Beckman note that it probably includes some radiation, so it errs high).
- ``q_latent = -beta h_c / gamma (e_sat(Ts) - e_air)``: the bulk-transfer ("beta", moisture
  availability) form of evaporation, Deardorff (1978) / Oke (1987) ch. 4: the moisture
  transfer coefficient follows from ``h_c`` by the Lewis relation (``rho c_p / r_a = h_c``),
  ``gamma = c_p p / (0.622 L_v)`` the psychrometric constant, ``e_sat`` Magnus (Alduchov &
  Eskridge 1996), ``beta`` 0 (dry, sealed) to 1 (open water, saturated surface).
- ``q_cond``: heat into the slab (:mod:`microclimate.conduction`), whose inner face is coupled
  to ``t_inner_c`` through ``h_inner_w_m2k`` (``inf``: deep ground at a fixed temperature,
  ~7.7 W/m2K: indoor air, 0: adiabatic).

Each hour is split into ``substeps`` backward-Euler steps; in each, the slab is eliminated
from its inner face up (reverse Thomas sweep), which leaves the surface temperature as the one
unknown of a monotone scalar equation, solved by Newton (``sigma Ts^4`` and ``e_sat(Ts)``
linearised around the latest iterate) to 1e-10 K; the balance therefore closes to round-off
every step. Reported values are hour means. ``spinup_days`` repeat the first day's
forcing before the run so that the slab starts from its own periodic state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from microclimate import _conduction_kernels as _k
from microclimate.conduction import Nodes

__all__ = [
    "convective_coefficient_w_m2k",
    "psychrometric_constant_pa_k",
    "saturation_vapour_pressure_pa",
    "SurfaceBalanceResult",
    "surface_energy_balance",
    "surface_temperatures_by_kind",
    "SIGMA_W_M2K4",
]

SIGMA_W_M2K4 = _k.SIGMA_W_M2K4
#: Specific heat of air at constant pressure [J/kgK].
CP_AIR_J_KGK = 1005.0
#: Latent heat of vaporisation of water near 20 degC [J/kg].
LV_J_KG = 2.45e6


def convective_coefficient_w_m2k(wind_speed_m_s):
    """McAdams (1954) outside convective coefficient ``5.7 + 3.8 v`` [W/m2K].

    Parameters
    ----------
    wind_speed_m_s : float or array
        Wind speed near the surface [m/s] (negative values are clipped to 0).

    Returns
    -------
    float or array
        Convective heat transfer coefficient [W/m2K].

    Examples
    --------
    >>> float(convective_coefficient_w_m2k(2.0))
    13.3
    """
    return 5.7 + 3.8 * np.maximum(np.asarray(wind_speed_m_s, dtype=np.float64), 0.0)


def saturation_vapour_pressure_pa(t_c):
    """Saturation vapour pressure over water, Magnus form (Alduchov & Eskridge 1996) [Pa].

    Examples
    --------
    >>> round(float(saturation_vapour_pressure_pa(20.0)), 0)
    2333.0
    """
    t = np.asarray(t_c, dtype=np.float64)
    return 610.94 * np.exp(17.625 * t / (t + 243.04))


def psychrometric_constant_pa_k(pressure_pa=101325.0):
    """``gamma = c_p p / (0.622 L_v)`` [Pa/K] (about 67 Pa/K at sea level)."""
    return CP_AIR_J_KGK * np.asarray(pressure_pa, dtype=np.float64) / (0.622 * LV_J_KG)


@dataclass(frozen=True)
class SurfaceBalanceResult:
    """Hour means of :func:`surface_energy_balance`, all ``(n_steps, n)`` float64.

    Attributes
    ----------
    t_surface_c : surface temperature [degC].
    q_sw_w_m2, q_lw_w_m2, q_conv_w_m2, q_latent_w_m2 : fluxes towards the surface [W/m2].
    q_cond_w_m2 : heat into the slab through its outer face [W/m2].
    q_inner_w_m2 : heat leaving the slab through its inner face [W/m2].
    t_nodes_start_c, t_nodes_end_c : (n, m) cell temperatures at the start of the first
        reported hour (after spin-up) and at the end [degC].
    """

    t_surface_c: np.ndarray
    q_sw_w_m2: np.ndarray
    q_lw_w_m2: np.ndarray
    q_conv_w_m2: np.ndarray
    q_latent_w_m2: np.ndarray
    q_cond_w_m2: np.ndarray
    q_inner_w_m2: np.ndarray
    t_nodes_start_c: np.ndarray
    t_nodes_end_c: np.ndarray

    @property
    def residual_w_m2(self) -> np.ndarray:
        """(n_steps, n): ``q_sw + q_lw + q_conv + q_latent - q_cond`` (round-off)."""
        return (self.q_sw_w_m2 + self.q_lw_w_m2 + self.q_conv_w_m2 + self.q_latent_w_m2
                - self.q_cond_w_m2)


def _hourly(value, n_steps: int, n: int, name: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 1 and a.shape[0] == n_steps and n_steps != n:
        a = a[:, None]  # one series for every surface
    try:
        out = np.ascontiguousarray(np.broadcast_to(a, (n_steps, n)))
    except ValueError:
        raise InputError(f"{name} must be one value, (n_steps,) or (n_steps, n) = "
                         f"({n_steps}, {n}); got shape {a.shape}") from None
    if not np.all(np.isfinite(out)):
        raise InputError(f"{name} has NaN or infinite values; fill the gaps first")
    return out


def _per_surface(value, n: int, name: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    try:
        return np.ascontiguousarray(np.broadcast_to(a, (n,)))
    except ValueError:
        raise InputError(f"{name} must be one value or (n,) = ({n},); got {a.shape}") from None


def surface_energy_balance(
    nodes: Nodes,
    k_absorbed_w_m2,
    t_air_c,
    wind_speed_m_s,
    ldown_w_m2,
    *,
    emissivity=0.95,
    sky_view=1.0,
    t_surround_c=None,
    emissivity_surround: float = 0.95,
    evap_beta=0.0,
    rh_percent=50.0,
    pressure_pa: float = 101325.0,
    h_conv_w_m2k=None,
    t_inner_c=None,
    h_inner_w_m2k=np.inf,
    t_init_c=None,
    dt_s: float = 3600.0,
    substeps: int = 4,
    max_iter: int = 30,
    spinup_days: int = 3,
    steps_per_day: int = 24,
) -> SurfaceBalanceResult:
    """Hourly surface temperatures and energy-balance terms of ``n`` surfaces.

    Hourly inputs are one value, ``(n_steps,)`` (one series for all surfaces), ``(n_steps, 1)``
    or ``(n_steps, n)``; per-surface inputs one value or ``(n,)``. When ``n_steps == n`` a 1-D
    hourly array is ambiguous and read as per surface: pass ``(n_steps, 1)`` for a series.

    Parameters
    ----------
    nodes : Nodes
        Discretised slabs under the surfaces (:func:`microclimate.conduction.discretise`).
    k_absorbed_w_m2 : (n_steps, n) float64
        Absorbed shortwave, ``(1 - albedo) x`` shaded global irradiance on the surface [W/m2].
    t_air_c : (n_steps,) or (n_steps, n) float64
        Air temperature [degC].
    wind_speed_m_s : (n_steps,) or (n_steps, n) float64
        Wind speed at the surface [m/s], for :func:`convective_coefficient_w_m2k`.
    ldown_w_m2 : (n_steps,) or (n_steps, n) float64
        Downwelling long-wave from the sky on the horizontal [W/m2] (``ir_horizontal_w_m2``).
    emissivity : float or (n,)
        Long-wave emissivity of the surfaces (0..1).
    sky_view : float or (n,)
        Sky view factor ``svf`` (0..1); ``1 - svf`` sees the surroundings.
    t_surround_c : hourly, optional
        Temperature of the surroundings [degC]; default the air temperature.
    emissivity_surround : float
        Emissivity of the surroundings.
    evap_beta : float or (n,)
        Moisture availability ``beta`` (0 dry .. 1 wet).
    rh_percent : hourly
        Relative humidity of the air [%].
    pressure_pa : float
        Air pressure [Pa].
    h_conv_w_m2k : hourly, optional
        Convective coefficient [W/m2K]; default McAdams from ``wind_speed_m_s``.
    t_inner_c : hourly, optional
        Temperature behind the slab [degC]: deep ground or indoor air (per surface, as the
        energy model gives it); default the mean air temperature of the first day.
    h_inner_w_m2k : float or (n,)
        Inner coupling [W/m2K]: ``inf`` fixed temperature, e.g. 7.7 indoor film, 0 adiabatic.
    t_init_c : float or (n,) or (n, m), optional
        Cell temperatures before spin-up [degC]; default the first day's mean air temperature.
    dt_s : float
        Length of a forcing step [s] (3600: hourly).
    substeps : int
        Implicit steps per forcing step.
    max_iter : int
        Most Newton iterations per step (>= 1; typically 2-4 are used).
    spinup_days : int
        Days of the first day's forcing run before the reported period.
    steps_per_day : int
        Forcing steps per day (24 hourly).

    Returns
    -------
    SurfaceBalanceResult
        Hour means, ``(n_steps, n)``.
    """
    n, m = nodes.dx_m.shape
    k_abs = np.asarray(k_absorbed_w_m2, dtype=np.float64)
    if k_abs.ndim == 0 or k_abs.shape[0] == 0:
        raise InputError("k_absorbed_w_m2 must be (n_steps, n) or (n_steps,)")
    n_steps = k_abs.shape[0]
    if substeps < 1 or max_iter < 1 or spinup_days < 0 or not (dt_s > 0):
        raise InputError("substeps and max_iter must be >= 1, spinup_days >= 0, dt_s > 0")
    k_abs = _hourly(k_abs, n_steps, n, "k_absorbed_w_m2")
    t_air = _hourly(t_air_c, n_steps, n, "t_air_c")
    if h_conv_w_m2k is None:
        h_c = _hourly(convective_coefficient_w_m2k(wind_speed_m_s), n_steps, n, "wind_speed_m_s")
    else:
        h_c = _hourly(h_conv_w_m2k, n_steps, n, "h_conv_w_m2k")
    ldown = _hourly(ldown_w_m2, n_steps, n, "ldown_w_m2")
    t_sur = t_air if t_surround_c is None else _hourly(t_surround_c, n_steps, n, "t_surround_c")
    eps = _per_surface(emissivity, n, "emissivity")
    svf = _per_surface(sky_view, n, "sky_view")
    beta = _per_surface(evap_beta, n, "evap_beta")
    h_in = _per_surface(h_inner_w_m2k, n, "h_inner_w_m2k")
    if np.any((eps < 0) | (eps > 1) | (svf < 0) | (svf > 1) | (beta < 0) | (beta > 1)):
        raise InputError("emissivity, sky_view and evap_beta must lie in 0..1")
    if np.any(h_in < 0) or np.any(h_c < 0):
        raise InputError("h_inner_w_m2k and h_conv_w_m2k must be >= 0")
    l_in = eps * (svf * ldown + (1 - svf) * SIGMA_W_M2K4 * emissivity_surround
                  * (t_sur + _k.T0_K) ** 4)
    e_air = _hourly(rh_percent, n_steps, n, "rh_percent") / 100.0 * saturation_vapour_pressure_pa(
        t_air)
    day = min(steps_per_day, n_steps)
    mean_day_c = t_air[:day].mean(axis=0)
    t_in = (np.ascontiguousarray(np.broadcast_to(mean_day_c, (n_steps, n))) if t_inner_c is None
            else _hourly(t_inner_c, n_steps, n, "t_inner_c"))
    t0 = mean_day_c if t_init_c is None else np.asarray(t_init_c, dtype=np.float64)
    if t0.ndim == 1:
        t0 = t0[:, None]
    t0 = np.ascontiguousarray(np.broadcast_to(t0, (n, m)), dtype=np.float64)
    rows = np.concatenate([np.tile(np.arange(day), int(spinup_days)),
                           np.arange(n_steps)]).astype(np.int64)
    n_spin = day * int(spinup_days)
    out = [np.empty((n_steps, n)) for _ in range(7)]
    t_start = np.empty((n, m))
    t_end = np.empty((n, m))
    _k.run_balance(t0, nodes.cap_j_m2k, np.ascontiguousarray(nodes.g_internal_w_m2k),
                   nodes.g_outer_face_w_m2k, nodes.g_inner_face_w_m2k, dt_s / substeps,
                   int(substeps), int(max_iter), rows, n_spin, k_abs, l_in, t_air, h_c, e_air,
                   t_in, eps, beta, h_in, float(psychrometric_constant_pa_k(pressure_pa)),
                   *out, t_start, t_end)
    return SurfaceBalanceResult(*out, t_start, t_end)


def surface_temperatures_by_kind(
    nodes: Nodes,
    kind,
    k_absorbed_w_m2,
    t_air_c,
    wind_speed_m_s,
    ldown_w_m2,
    *,
    emissivity,
    sky_view,
    evap_beta,
    rh_percent,
    pressure_pa: float = 101325.0,
    t_inner_c,
    h_inner_w_m2k: float = np.inf,
    t_init_c=None,
    dt_s: float = 3600.0,
    substeps: int = 4,
    max_iter: int = 30,
    spinup_days: int = 3,
    steps_per_day: int = 24,
    spinup_substeps: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Hour-mean surface temperatures of many surfaces over a few kinds of slab.

    The same equations, Newton solve and spin-up as :func:`surface_energy_balance`, for the
    common case of a raster: ``n`` surfaces (ground cells) whose slabs are one of ``k`` kinds
    (land-cover classes) and whose air temperature, wind, humidity and deep temperature are
    one series for all. The implicit matrix of a kind is constant, so its elimination factors
    are computed once, and the surfaces advance eight at a time in vector loops. Only the
    surface temperatures are returned (no flux terms). Surroundings at air temperature
    (emissivity 0.95), as :func:`surface_energy_balance` by default.

    Parameters
    ----------
    nodes : Nodes
        ``k`` discretised slabs (:func:`microclimate.conduction.discretise`).
    kind : (n,) int
        Slab of each surface, ``0 .. k-1``.
    k_absorbed_w_m2, ldown_w_m2 : (n_steps, n) float64
        Absorbed shortwave and downwelling sky long-wave on the surface [W/m2].
    t_air_c, wind_speed_m_s, rh_percent : (n_steps,) float64
        Air temperature [degC], wind speed [m/s], relative humidity [%].
    emissivity, sky_view, evap_beta : (n,) float64
        As in :func:`surface_energy_balance`.
    t_inner_c : float or (n_steps,)
        Temperature behind the slabs [degC].
    h_inner_w_m2k : float
        Inner coupling [W/m2K] (``inf``: fixed temperature).
    t_init_c : float, (n,) or (n, m), optional
        Cell temperatures before spin-up [degC]; default the first day's mean air temperature.
    pressure_pa, dt_s, substeps, max_iter, spinup_days, steps_per_day
        As in :func:`surface_energy_balance`.
    spinup_substeps : int, optional
        Implicit steps per forcing step during the spin-up days (default ``substeps``): the
        spin-up only has to bring the slab's heat content to the day's periodic state, which
        the stable backward-Euler step reaches with fewer, longer steps.

    Returns
    -------
    t_surface_c : (n_steps, n) float64
        Hour-mean surface temperature [degC].
    t_nodes_end_c : (n, m) float64
        Cell temperatures at the end [degC].
    """
    k_kinds, m = nodes.dx_m.shape
    cls = np.ascontiguousarray(kind, dtype=np.int64)
    n = cls.shape[0]
    if n and (cls.min() < 0 or cls.max() >= k_kinds):
        raise InputError(f"kind must lie in 0..{k_kinds - 1} (one per slab of nodes)")
    k_abs = np.asarray(k_absorbed_w_m2, dtype=np.float64)
    if k_abs.ndim != 2 or k_abs.shape[1] != n or k_abs.shape[0] == 0:
        raise InputError(f"k_absorbed_w_m2 must be (n_steps, n) with n = {n}")
    n_steps = k_abs.shape[0]
    if substeps < 1 or max_iter < 1 or spinup_days < 0 or not (dt_s > 0):
        raise InputError("substeps and max_iter must be >= 1, spinup_days >= 0, dt_s > 0")
    k_abs = _hourly(k_abs, n_steps, n, "k_absorbed_w_m2")
    ldown = _hourly(ldown_w_m2, n_steps, n, "ldown_w_m2")

    def series(v, name):
        return _hourly(v, n_steps, 1, name)[:, 0].copy()

    t_air = series(t_air_c, "t_air_c")
    h_c = series(convective_coefficient_w_m2k(series(wind_speed_m_s, "wind_speed_m_s")),
                 "wind_speed_m_s")
    e_air = series(rh_percent, "rh_percent") / 100.0 * saturation_vapour_pressure_pa(t_air)
    eps = _per_surface(emissivity, n, "emissivity")
    svf = _per_surface(sky_view, n, "sky_view")
    beta = _per_surface(evap_beta, n, "evap_beta")
    if np.any((eps < 0) | (eps > 1) | (svf < 0) | (svf > 1) | (beta < 0) | (beta > 1)):
        raise InputError("emissivity, sky_view and evap_beta must lie in 0..1")
    l_in = eps * (svf * ldown + (1 - svf) * (SIGMA_W_M2K4 * 0.95
                                             * (t_air + _k.T0_K) ** 4)[:, None])
    day = min(steps_per_day, n_steps)
    mean_day_c = float(t_air[:day].mean())
    t_in = series(t_inner_c, "t_inner_c")
    t0 = mean_day_c if t_init_c is None else np.asarray(t_init_c, dtype=np.float64)
    t0 = np.asarray(t0, dtype=np.float64)
    if t0.ndim == 1:
        t0 = t0[:, None]
    t0 = np.ascontiguousarray(np.broadcast_to(t0, (n, m)), dtype=np.float64)
    spin_sub = int(substeps if spinup_substeps is None else spinup_substeps)
    if spin_sub < 1:
        raise InputError("spinup_substeps must be >= 1")
    h_in = np.full(k_kinds, float(h_inner_w_m2k))
    gamma = float(psychrometric_constant_pa_k(pressure_pa))
    t_surface = np.empty((n_steps, n))
    t_end = np.empty((n, m))
    spin_rows = np.tile(np.arange(day), int(spinup_days)).astype(np.int64)
    period = np.arange(n_steps, dtype=np.int64)
    # (sub-steps, rows, how many of them are spin-up): one pass, or the spin-up days apart
    # when they step differently
    if spin_sub == substeps:
        runs = [(spin_sub, np.concatenate([spin_rows, period]), spin_rows.size)]
    else:
        runs = [(spin_sub, spin_rows, spin_rows.size), (int(substeps), period, 0)]
    for sub, rows, n_skip in runs if n else []:
        coef = _k.reduced_coefficients(nodes.cap_j_m2k,
                                       np.ascontiguousarray(nodes.g_internal_w_m2k),
                                       nodes.g_outer_face_w_m2k, nodes.g_inner_face_w_m2k,
                                       h_in, dt_s / sub)
        out = t_surface if n_skip < rows.size else np.empty((0, n))
        _k.run_balance_blocks(t0, cls, *coef, nodes.g_outer_face_w_m2k, sub, int(max_iter),
                              rows, n_skip, k_abs, l_in, t_air, h_c, e_air, t_in, eps, beta,
                              gamma, out, t_end)
        t0 = t_end  # a block reads its cells' start and writes their end: in place is safe
    return t_surface, t_end
