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
#: Buildings per chunk: the unit of parallel work.
CHUNK = 64
#: Conditional (night) ventilation runs only while the zone air is above this [degC].
VENT_MIN_C = 24.0
#: Per-building coefficient rows of ``coef`` (see model.COEF_NAMES).
N_COEF = 16


@nb.njit(cache=True, fastmath=True, parallel=True)
def simulate_block(
    lam, gin, gq, cout, dfeed, dq, coef, sched_id, irr_s, src, irr, irr_win,
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
    sched_id : (nb,) int64
        Schedule row of each building.
    irr_s : (nh, 9) float32
        Irradiance shared by every building: roof, N, E, S, W opaque surfaces, then the
        SHGC(theta)/SHGC(0)-weighted irradiance on N, E, S, W windows [W/m2]; used when
        ``irr_c`` has no rows.
    src : (nb,) int64
        Row of ``irr`` / ``irr_win`` of each building (when they have rows).
    irr : (n_src, 5, nh) float32
        Per-building irradiance on roof, N, E, S, W opaque surfaces [W/m2] (building-major:
        a building's cache lines serve 16 consecutive hours); no rows when shared.
    irr_win : (n_src, 4, nh) float32
        Per-building SHGC-weighted window irradiance N, E, S, W [W/m2].
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
    chunk = CHUNK
    n_chunks = (nbld + chunk - 1) // chunk
    n_twin = 2 if with_ff else 1
    shared = irr.shape[0] == 0
    for ci in nb.prange(n_chunks):
        b0 = ci * chunk
        nc = min(nbld, b0 + chunk) - b0
        b1 = b0 + nc
        mc = 0  # slow modes of this chunk (padded modes have lam = 0 and zero gains)
        for j in range(b0, b1):
            for i in range(m - 1, -1, -1):
                if lam[i, j] > 0.0 or gq[i, j] != 0.0:
                    mc = max(mc, i + 1)
                    break
        z = np.zeros((n_twin, m, nc), dtype=lam.dtype)
        u = np.zeros((N_INPUTS, nc), dtype=lam.dtype)
        t0a = np.zeros(nc, dtype=lam.dtype)
        t0o = np.zeros(nc, dtype=lam.dtype)
        qv = np.zeros(nc, dtype=lam.dtype)
        th_ = np.zeros(nc)
        tc_ = np.zeros(nc)
        hv_ = np.zeros(nc)
        qh_ = np.zeros(nc)
        ta_ = np.zeros(nc)
        top_ = np.zeros(nc)
        t_prev = np.full((n_twin, nc), 20.0)
        acc = np.zeros((12, nc))
        for j in range(nc):
            acc[5, j] = -1e9
            acc[6, j] = 1e9
            acc[8, j] = -1e9
            acc[9, j] = 1e9
        cw0, cw1, cw2, cw3 = coef[0, b0:b1], coef[1, b0:b1], coef[2, b0:b1], coef[3, b0:b1]
        cws, crs, crk, cwin = coef[4, b0:b1], coef[5, b0:b1], coef[6, b0:b1], coef[7, b0:b1]
        cg0, cg1, cg2, cg3 = coef[8, b0:b1], coef[9, b0:b1], coef[10, b0:b1], coef[11, b0:b1]
        cint, cven = coef[12, b0:b1], coef[13, b0:b1]
        sid = sched_id[b0:b1]
        d_air = dq[0, b0:b1]
        d_op = dq[1, b0:b1]
        inv_d = 1.0 / dq[0, b0:b1].astype(np.float64)
        # warm-up: the last n_warmup hours of the year run first, from 0 degC everywhere
        for step in range(n_warmup + nh):
            h = step - n_warmup if step >= n_warmup else nh - n_warmup + step
            record = step >= n_warmup
            hod = hour_of_day[h]
            dt_ = day_type[h]
            to = t_out[h]
            dsky = t_sky[h] - to
            tg = t_ground[h]
            u0, u1, u2, u3, u4, u5, u6 = u[0], u[1], u[2], u[3], u[4], u[5], u[6]
            if shared:
                i_r, i_n, i_e, i_s, i_w = irr_s[h, 0], irr_s[h, 1], irr_s[h, 2], irr_s[h, 3], irr_s[h, 4]
                w_n, w_e, w_s, w_w = irr_s[h, 5], irr_s[h, 6], irr_s[h, 7], irr_s[h, 8]
                for j in range(nc):  # forcing, vectorised over the chunk
                    u0[j] = to + cw0[j] * i_n + cw1[j] * i_e + cw2[j] * i_s + cw3[j] * i_w + cws[j] * dsky
                    u1[j] = to + crs[j] * i_r + crk[j] * dsky
                    u2[j] = to + cwin[j] * dsky
                    u3[j] = to
                    u4[j] = tg
                    u5[j] = cg0[j] * w_n + cg1[j] * w_e + cg2[j] * w_s + cg3[j] * w_w
            else:
                for j in range(nc):
                    sb = src[b0 + j]
                    u0[j] = (to + cw0[j] * irr[sb, 1, h] + cw1[j] * irr[sb, 2, h]
                             + cw2[j] * irr[sb, 3, h] + cw3[j] * irr[sb, 4, h] + cws[j] * dsky)
                    u1[j] = to + crs[j] * irr[sb, 0, h] + crk[j] * dsky
                    u2[j] = to + cwin[j] * dsky
                    u3[j] = to
                    u4[j] = tg
                    u5[j] = (cg0[j] * irr_win[sb, 0, h] + cg1[j] * irr_win[sb, 1, h]
                             + cg2[j] * irr_win[sb, 2, h] + cg3[j] * irr_win[sb, 3, h])
            for j in range(nc):
                u6[j] = cint[j] * sch_gain[sid[j], dt_, hod]
            for tw in range(n_twin):
                for r in range(2):
                    tr = t0a if r == 0 else t0o
                    f0, f1, f2, f3 = dfeed[r, 0, b0:b1], dfeed[r, 1, b0:b1], dfeed[r, 2, b0:b1], dfeed[r, 3, b0:b1]
                    f4, f5, f6 = dfeed[r, 4, b0:b1], dfeed[r, 5, b0:b1], dfeed[r, 6, b0:b1]
                    for j in range(nc):
                        tr[j] = (f0[j] * u0[j] + f1[j] * u1[j] + f2[j] * u2[j] + f3[j] * u3[j]
                                 + f4[j] * u4[j] + f5[j] * u5[j] + f6[j] * u6[j])
                for i in range(mc):  # slow modes, vectorised over the chunk's buildings
                    zi = z[tw, i]
                    li = lam[i, b0:b1]
                    g0, g1, g2, g3 = gin[i, 0, b0:b1], gin[i, 1, b0:b1], gin[i, 2, b0:b1], gin[i, 3, b0:b1]
                    g4, g5, g6 = gin[i, 4, b0:b1], gin[i, 5, b0:b1], gin[i, 6, b0:b1]
                    ca, co = cout[0, i, b0:b1], cout[1, i, b0:b1]
                    for j in range(nc):
                        zt = (li[j] * zi[j] + g0[j] * u0[j] + g1[j] * u1[j] + g2[j] * u2[j]
                              + g3[j] * u3[j] + g4[j] * u4[j] + g5[j] * u5[j] + g6[j] * u6[j])
                        zi[j] = zt
                        t0a[j] += ca[j] * zt
                        t0o[j] += co[j] * zt
                any_vent = False
                for j in range(nc):  # setpoints and ventilation of this hour (gathers)
                    s = sid[j]
                    th_[j] = sch_heat[s, dt_, hod]
                    tc_[j] = sch_cool[s, dt_, hod] if tw == 0 else 999.0
                    hv = cven[j] * sch_vent[s, dt_, hod]
                    if hv > 0.0 and sch_vent_cond[s] == 1 and (to >= t_prev[tw, j] or t_prev[tw, j] < VENT_MIN_C):
                        hv = 0.0
                    hv_[j] = hv
                    any_vent |= hv > 0.0
                for j in range(nc):  # ideal heating/cooling, branch-free (no ventilation)
                    t0 = t0a[j]
                    ta = min(max(t0, th_[j]), tc_[j])
                    qh_[j] = (ta - t0) * inv_d[j]
                    ta_[j] = ta
                if any_vent:  # ventilation is solved implicitly with the air node
                    for j in range(nc):
                        hv = hv_[j]
                        if hv > 0.0:
                            t0 = np.float64(t0a[j])
                            dhv = np.float64(d_air[j]) * hv
                            tv = (t0 + dhv * to) / (1.0 + dhv)
                            ta = min(max(tv, th_[j]), tc_[j])
                            qh_[j] = ((1.0 + dhv) * ta - t0 - dhv * to) * inv_d[j] if ta != tv else 0.0
                            ta_[j] = ta
                for j in range(nc):
                    q = qh_[j] + hv_[j] * (to - ta_[j])
                    qv[j] = q
                    t_prev[tw, j] = ta_[j]
                    top_[j] = t0o[j] + d_op[j] * q
                if record:
                    if tw == 0:
                        for j in range(nc):  # annual sums and extremes, vectorised
                            qp = max(qh_[j], 0.0)
                            qn = max(-qh_[j], 0.0)
                            ta = ta_[j]
                            top = top_[j]
                            acc[0, j] += qp
                            acc[2, j] = max(acc[2, j], qp)
                            acc[1, j] += qn
                            acc[3, j] = max(acc[3, j], qn)
                            acc[5, j] = max(acc[5, j], ta)
                            acc[6, j] = min(acc[6, j], ta)
                            acc[7, j] += ta
                            acc[8, j] = max(acc[8, j], top)
                            acc[9, j] = min(acc[9, j], top)
                            acc[10, j] += top
                            acc[11, j] += 1.0
                        if hourly_on:
                            for j in range(nc):
                                hourly[0, b0 + j, h] = max(qh_[j], 0.0)
                                hourly[1, b0 + j, h] = max(-qh_[j], 0.0)
                                hourly[2, b0 + j, h] = ta_[j]
                                hourly[3, b0 + j, h] = top_[j]
                    if tw == n_twin - 1:
                        for j in range(nc):
                            acc[4, j] += 1.0 if top_[j] > t_overheat_c else 0.0
                for i in range(mc):
                    zi = z[tw, i]
                    gqi = gq[i, b0:b1]
                    for j in range(nc):
                        zi[j] += gqi[j] * qv[j]
        for r in range(12):
            for j in range(nc):
                out_sum[r, b0 + j] = acc[r, j]


@nb.njit(cache=True, parallel=True)
def batched_eigh(s):
    """Eigen-decomposition of a stack of symmetric matrices, in parallel over the stack.

    Parameters
    ----------
    s : (nb, n, n) float64
        Symmetric matrices.

    Returns
    -------
    w : (nb, n) float64
        Eigenvalues in ascending order.
    v : (nb, n, n) float64
        Eigenvectors in the columns.
    """
    nbld, n, _ = s.shape
    w = np.empty((nbld, n))
    v = np.empty((nbld, n, n))
    for b in nb.prange(nbld):
        wb, vb = np.linalg.eigh(s[b])
        w[b] = wb
        v[b] = vb
    return w, v

