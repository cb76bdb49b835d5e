"""Numba kernels of the hourly thermal model (private; see :mod:`energy.demand.model`).

The building is a linear RC network brought to modal form in :mod:`energy.demand.model`:
``z_i(k) = lam_i z_i(k-1) + sum_j g_ij u_j(k) + gq_i phi_air(k)`` for the slow modes, and
``T_out(k) = sum_i c_oi z_i(k) + sum_j D_oj u_j(k) + dq_o phi_air(k)`` for the outputs (zone
air and operative temperature), with the fast modes folded into ``D``/``dq``. ``phi_air`` is
the heat delivered to the air node (ideal heating/cooling plus scheduled ventilation), solved
implicitly each hour so that the air temperature meets the setpoint exactly.

Layouts put the building index last (``(..., nb)``) so that the innermost loops run over
contiguous buildings and vectorise.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Number of exogenous inputs u_j (see model.INPUT_NAMES).
N_INPUTS = 7
#: Conditional (night) ventilation runs only while the zone air is above this [degC].
VENT_MIN_C = 24.0
#: Per-building coefficient rows of ``coef`` (see model.COEF_NAMES).
N_COEF = 16


@nb.njit(cache=True, fastmath=True, inline="always")
def _forcing(coef, b, src_b, irr, irr_win, h, t_out, t_sky, t_ground, gain_frac, u):
    to = t_out[h]
    dsky = t_sky[h] - to
    i_roof = irr[src_b, 0, h]
    i_wall = (
        coef[0, b] * irr[src_b, 1, h]
        + coef[1, b] * irr[src_b, 2, h]
        + coef[2, b] * irr[src_b, 3, h]
        + coef[3, b] * irr[src_b, 4, h]
    )
    u[0] = to + i_wall + coef[4, b] * dsky
    u[1] = to + coef[5, b] * i_roof + coef[6, b] * dsky
    u[2] = to + coef[7, b] * dsky
    u[3] = to
    u[4] = t_ground[h]
    u[5] = (
        coef[8, b] * irr_win[src_b, 0, h]
        + coef[9, b] * irr_win[src_b, 1, h]
        + coef[10, b] * irr_win[src_b, 2, h]
        + coef[11, b] * irr_win[src_b, 3, h]
    )
    u[6] = coef[12, b] * gain_frac


@nb.njit(cache=True, fastmath=True, parallel=True)
def simulate_block(
    lam, gin, gq, cout, dfeed, dq, coef, sched_id, src, irr, irr_win,
    t_out, t_sky, t_ground, hour_of_day, day_type,
    sch_gain, sch_heat, sch_cool, sch_vent, sch_vent_cond,
    with_ff, t_overheat_c, n_warmup,
    out_sum, hourly_on, hourly,
):
    """Run one block of buildings through the year.

    Parameters
    ----------
    lam : (m, nb) float64
        Discrete modal decay factors per hour.
    gin : (m, N_INPUTS, nb) float64
        Modal input gains (zero-order hold over the hour).
    gq : (m, nb) float64
        Modal gains of the air-node heat input [K/W].
    cout : (2, m, nb) float64
        Output rows: 0 zone air, 1 operative temperature.
    dfeed : (2, N_INPUTS, nb) float64
        Feed-through of the inputs into the outputs (fast modes).
    dq : (2, nb) float64
        Feed-through of the air-node heat input into the outputs [K/W].
    coef : (N_COEF, nb) float64
        Per-building forcing coefficients (model.COEF_NAMES).
    sched_id, src : (nb,) int64
        Schedule row and irradiance source row of each building.
    irr : (n_src, 5, nh) float32
        Irradiance on roof, N, E, S, W opaque surfaces [W/m2].
    irr_win : (n_src, 4, nh) float32
        SHGC-weighted irradiance on N, E, S, W windows [W/m2] (angle-dependent glazing).
    t_out, t_sky, t_ground : (nh,) float64
        Outdoor air, sky and ground temperature [degC].
    hour_of_day, day_type : (nh,) int64
        Hour (0..23, hour starting) and 0 weekday / 1 weekend.
    sch_gain, sch_heat, sch_cool, sch_vent : (n_sched, 2, 24) float64
        Gains fraction, heating and cooling setpoints [degC] (-999/999 = off) and
        ventilation fraction of ``coef[13]`` per hour.
    sch_vent_cond : (n_sched,) int64
        1: ventilation only while the outdoor air is cooler than the zone air and the zone
        air is above ``VENT_MIN_C``.
    with_ff : bool
        Also run a twin without cooling for the overheating hours.
    t_overheat_c : float
        Operative temperature threshold of the overheating hours [degC].
    n_warmup : int
        Hours simulated before the accumulated year (the last hours of the year, repeated).
    out_sum : (12, nb) float64
        Results: heating Wh, cooling Wh, peak heating W, peak cooling W, overheating hours,
        air max, air min, air sum, op max, op min, op sum, hours.
    hourly_on : bool
    hourly : (4, nb, nh) float32
        Heating W, cooling W, air degC, operative degC per hour (when ``hourly_on``).
    """
    m = lam.shape[0]
    nbld = lam.shape[1]
    nh = t_out.shape[0]
    chunk = 32
    n_chunks = (nbld + chunk - 1) // chunk
    n_twin = 2 if with_ff else 1
    for ci in nb.prange(n_chunks):
        b0 = ci * chunk
        b1 = min(nbld, b0 + chunk)
        nc = b1 - b0
        z = np.zeros((n_twin, m, nc))
        u = np.zeros(N_INPUTS)
        uu = np.zeros((N_INPUTS, nc))
        t_prev = np.full((n_twin, nc), 20.0)
        acc = np.zeros((12, nc))
        acc[6, :] = 1e9
        acc[9, :] = 1e9
        acc[5, :] = -1e9
        acc[8, :] = -1e9
        # start from the steady state of the first hour's mean conditions: warm-up hours
        for step in range(n_warmup + nh):
            h = step - n_warmup if step >= n_warmup else nh - n_warmup + step
            record = step >= n_warmup
            hod = hour_of_day[h]
            dt_ = day_type[h]
            to = t_out[h]
            for j in range(nc):
                b = b0 + j
                s = sched_id[b]
                _forcing(coef, b, src[b], irr, irr_win, h, t_out, t_sky, t_ground,
                         sch_gain[s, dt_, hod], u)
                for k in range(N_INPUTS):
                    uu[k, j] = u[k]
            for tw in range(n_twin):
                t0a = np.zeros(nc)
                t0o = np.zeros(nc)
                for j in range(nc):
                    b = b0 + j
                    a = 0.0
                    o = 0.0
                    for k in range(N_INPUTS):
                        a += dfeed[0, k, b] * uu[k, j]
                        o += dfeed[1, k, b] * uu[k, j]
                    t0a[j] = a
                    t0o[j] = o
                for i in range(m):
                    for j in range(nc):
                        b = b0 + j
                        zt = lam[i, b] * z[tw, i, j]
                        for k in range(N_INPUTS):
                            zt += gin[i, k, b] * uu[k, j]
                        z[tw, i, j] = zt
                        t0a[j] += cout[0, i, b] * zt
                        t0o[j] += cout[1, i, b] * zt
                qv = np.zeros(nc)
                for j in range(nc):
                    b = b0 + j
                    s = sched_id[b]
                    d = dq[0, b]
                    hv = coef[13, b] * sch_vent[s, dt_, hod]
                    if sch_vent_cond[s] == 1 and (to >= t_prev[tw, j] or t_prev[tw, j] < VENT_MIN_C):
                        hv = 0.0
                    th = sch_heat[s, dt_, hod]
                    tc = sch_cool[s, dt_, hod] if tw == 0 else 999.0
                    tv = (t0a[j] + d * hv * to) / (1.0 + d * hv)
                    qh = 0.0
                    ta = tv
                    if tv < th:
                        qh = ((1.0 + d * hv) * th - t0a[j] - d * hv * to) / d
                        ta = th
                    elif tv > tc:
                        qh = ((1.0 + d * hv) * tc - t0a[j] - d * hv * to) / d
                        ta = tc
                    q = qh + hv * (to - ta)
                    qv[j] = q
                    t_prev[tw, j] = ta
                    top = t0o[j] + dq[1, b] * q
                    if not record:
                        continue
                    if tw == 0:
                        if qh > 0.0:
                            acc[0, j] += qh
                            if qh > acc[2, j]:
                                acc[2, j] = qh
                        else:
                            acc[1, j] -= qh
                            if -qh > acc[3, j]:
                                acc[3, j] = -qh
                        acc[5, j] = max(acc[5, j], ta)
                        acc[6, j] = min(acc[6, j], ta)
                        acc[7, j] += ta
                        acc[8, j] = max(acc[8, j], top)
                        acc[9, j] = min(acc[9, j], top)
                        acc[10, j] += top
                        acc[11, j] += 1.0
                        if hourly_on:
                            hourly[0, b, h] = max(qh, 0.0)
                            hourly[1, b, h] = max(-qh, 0.0)
                            hourly[2, b, h] = ta
                            hourly[3, b, h] = top
                    if tw == n_twin - 1 and top > t_overheat_c:
                        acc[4, j] += 1.0
                for i in range(m):
                    for j in range(nc):
                        z[tw, i, j] += gq[i, b0 + j] * qv[j]
        for r in range(12):
            for j in range(nc):
                out_sum[r, b0 + j] = acc[r, j]
