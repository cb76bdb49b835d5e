"""Numba kernels of the hourly thermal model (private; see :mod:`energy.demand.model`).

The building is a linear RC network brought to modal form in :mod:`energy.demand.model`:
``z_i(k) = lam_i z_i(k-1) + sum_j g_ij u_j(k) + gq_i phi_air(k)`` for the slow modes, and
``T_out(k) = sum_i c_oi z_i(k) + sum_j D_oj u_j(k) + dq_o phi_air(k)`` for the outputs (zone
air and operative temperature), with the fast modes folded into ``D``/``dq``. ``phi_air`` is
the heat delivered to the air node (ideal heating/cooling plus scheduled ventilation), solved
implicitly each hour so that the air temperature meets the setpoint exactly.

Layouts put the building index last (``(..., nb)``) so that the innermost loops run over
contiguous buildings and vectorise. Per chunk of ``CHUNK`` buildings the kernel first packs the
coefficients into a few contiguous arrays with the inputs shared by all buildings (outdoor air,
sky depression, ground) folded into one coefficient each, and the air-node heat of the previous
hour carried as an input (``lam * gq``) instead of a second pass over the modes; with few
distinct arrays LLVM vectorises the mode loop over the chunk's buildings. Each hour the
per-building solar forcing is read in place from the buildings' irradiance rows (flat offsets:
a building's three rows stay in L1 for the 16 hours of a cache line), and a chunk whose
buildings share one schedule reads its setpoints and gains fraction as scalars.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Number of exogenous inputs u_j (see model.INPUT_NAMES).
N_INPUTS = 7
#: Buildings per chunk: the unit of parallel work.
CHUNK = 128
#: Conditional (night) ventilation runs only while the zone air is above this [degC].
VENT_MIN_C = 24.0
#: Per-building coefficient rows of ``coef`` (see model.COEF_NAMES).
N_COEF = 16
#: Coefficient rows per slow mode in a chunk's coefficient array (see simulate_block).
N_ROWS = 11


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
    irr : (n_src, 5, nh) or (n_src, 3, nh) float32
        Per-building irradiance on roof, N, E, S, W opaque surfaces [W/m2] (building-major:
        a building's cache lines serve 16 consecutive hours); no rows when shared. With 3
        rows: the combined solar forcing already weighted by ``coef`` (wall and roof sol-air
        increments [K], window gains [W]; see model.solar_weights), ``irr_win`` unused.
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
    combined = irr.shape[1] == 3
    n_steps = n_warmup + nh
    ft = lam.dtype
    # hourly series of every schedule: gains fraction, heating, cooling setpoint, ventilation
    n_sched = sch_gain.shape[0]
    sch_h = np.empty((n_sched, 4, nh))
    for s in range(n_sched):
        for h in range(nh):
            hod = hour_of_day[h]
            dt_ = day_type[h]
            sch_h[s, 0, h] = sch_gain[s, dt_, hod]
            sch_h[s, 1, h] = sch_heat[s, dt_, hod]
            sch_h[s, 2, h] = sch_cool[s, dt_, hod]
            sch_h[s, 3, h] = sch_vent[s, dt_, hod]
    for it in nb.prange(n_chunks):
        # interleave the chunks (0, last, 1, last - 1, ...): the caller orders buildings by their
        # number of modes, and the threads get contiguous ranges of iterations
        ci = it // 2 if it % 2 == 0 else n_chunks - 1 - it // 2
        b0 = ci * chunk
        nc = min(nbld, b0 + chunk) - b0
        b1 = b0 + nc
        mc = 0  # slow modes of this chunk (padded modes have lam = 0 and zero gains)
        for j in range(b0, b1):
            for i in range(m - 1, -1, -1):
                if lam[i, j] > 0.0 or gq[i, j] != 0.0:
                    mc = max(mc, i + 1)
                    break
        # The chunk's data in few contiguous arrays (few distinct arrays let LLVM vectorise
        # the mode loop over the chunk's buildings): kk row 11 i + r for mode i, the shared
        # inputs folded (float64 sums): r = 0 lam, 1 wall solar, 2 roof solar, 3 window solar,
        # 4 internal, 5 t_out, 6 sky depression, 7 ground, 8 lam * gq (last hour's air-node
        # heat), 9/10 air/operative output. ff: this hour's wall, roof and window solar,
        # internal gains and last hour's air-node heat; tt: air and operative temperature.
        kk = np.empty((max(mc, 1) * N_ROWS, nc), dtype=ft)
        fd = np.empty((14, nc), dtype=ft)  # feed-through, air rows 0..6, operative 7..13
        for j in range(nc):
            b = b0 + j
            cws, crk, cwin = np.float64(coef[4, b]), np.float64(coef[6, b]), np.float64(coef[7, b])
            for i in range(mc):
                r = N_ROWS * i
                g0, g1, g2 = np.float64(gin[i, 0, b]), np.float64(gin[i, 1, b]), np.float64(gin[i, 2, b])
                kk[r, j] = lam[i, b]
                kk[r + 1, j] = gin[i, 0, b]
                kk[r + 2, j] = gin[i, 1, b]
                kk[r + 3, j] = gin[i, 5, b]
                kk[r + 4, j] = gin[i, 6, b]
                kk[r + 5, j] = g0 + g1 + g2 + np.float64(gin[i, 3, b])
                kk[r + 6, j] = g0 * cws + g1 * crk + g2 * cwin
                kk[r + 7, j] = gin[i, 4, b]
                kk[r + 8, j] = np.float64(lam[i, b]) * np.float64(gq[i, b])
                kk[r + 9, j] = cout[0, i, b]
                kk[r + 10, j] = cout[1, i, b]
            for r in range(2):
                f0, f1, f2 = np.float64(dfeed[r, 0, b]), np.float64(dfeed[r, 1, b]), np.float64(dfeed[r, 2, b])
                o = 7 * r
                fd[o, j] = dfeed[r, 0, b]
                fd[o + 1, j] = dfeed[r, 1, b]
                fd[o + 2, j] = dfeed[r, 5, b]
                fd[o + 3, j] = dfeed[r, 6, b]
                fd[o + 4, j] = f0 + f1 + f2 + np.float64(dfeed[r, 3, b])
                fd[o + 5, j] = f0 * cws + f1 * crk + f2 * cwin
                fd[o + 6, j] = dfeed[r, 4, b]
        z = np.zeros((n_twin, max(mc, 1), nc), dtype=ft)
        q_last = np.zeros((n_twin, nc), dtype=ft)
        ff = np.empty((5, nc), dtype=ft)
        tt = np.empty((2, nc), dtype=ft)
        qh_ = np.zeros(nc)
        ta_ = np.zeros(nc)
        top_ = np.zeros(nc)
        hv_ = np.zeros(nc)
        t_prev = np.full((n_twin, nc), 20.0)
        acc = np.zeros((12, nc))
        for j in range(nc):
            acc[5, j] = -1e9
            acc[6, j] = 1e9
            acc[8, j] = -1e9
            acc[9, j] = 1e9
        cw0, cw1, cw2, cw3 = coef[0, b0:b1], coef[1, b0:b1], coef[2, b0:b1], coef[3, b0:b1]
        crs, cint, cven = coef[5, b0:b1], coef[12, b0:b1], coef[13, b0:b1]
        cg0, cg1, cg2, cg3 = coef[8, b0:b1], coef[9, b0:b1], coef[10, b0:b1], coef[11, b0:b1]
        sid = sched_id[b0:b1]
        d_air = dq[0, b0:b1]
        d_op = dq[1, b0:b1]
        inv_d = 1.0 / dq[0, b0:b1].astype(np.float64)
        # per-building forcing of the hour: 0 wall solar, 1 roof solar, 2 window solar,
        # 3 internal gains, 4 last hour's air-node heat (per twin)
        fo = ff  # rows 0..3 filled once per hour, row 4 per twin
        th_ = np.empty(nc)
        tc_ = np.empty(nc)
        hv0 = np.zeros(nc)
        # a chunk whose buildings share one schedule reads it as scalars per hour
        s_first = sid[0]
        uni = True
        for j in range(nc):
            if sid[j] != s_first:
                uni = False
        # per-building irradiance rows, read in place through flat offsets (each building's
        # rows stay in L1 for the 16 hours of a cache line)
        n_rows = irr.shape[1]
        irr_f = irr.reshape(irr.size)
        win_f = irr_win.reshape(irr_win.size)
        off = np.zeros(nc, np.int64)
        offw = np.zeros(nc, np.int64)
        if not shared:
            for j in range(nc):
                off[j] = src[b0 + j] * n_rows * nh
                offw[j] = src[b0 + j] * 4 * nh
        for step in range(n_steps):
            record = step >= n_warmup
            h = step - n_warmup if record else nh - n_warmup + step
            to = t_out[h]
            dsky = t_sky[h] - to
            tg = t_ground[h]
            to_f, dsky_f, tg_f = ft.type(to), ft.type(dsky), ft.type(tg)
            if shared:
                i0, i1, i2, i3, i4 = irr_s[h, 0], irr_s[h, 1], irr_s[h, 2], irr_s[h, 3], irr_s[h, 4]
                w0, w1, w2, w3 = irr_s[h, 5], irr_s[h, 6], irr_s[h, 7], irr_s[h, 8]
                for j in range(nc):
                    fo[0, j] = cw0[j] * i1 + cw1[j] * i2 + cw2[j] * i3 + cw3[j] * i4
                    fo[1, j] = crs[j] * i0
                    fo[2, j] = cg0[j] * w0 + cg1[j] * w1 + cg2[j] * w2 + cg3[j] * w3
            elif combined:  # rows already weighted: wall, roof, window solar
                for j in range(nc):
                    o = off[j] + h
                    fo[0, j] = irr_f[o]
                    fo[1, j] = irr_f[o + nh]
                    fo[2, j] = irr_f[o + 2 * nh]
            else:
                for j in range(nc):
                    o = off[j] + h
                    ow = offw[j] + h
                    fo[0, j] = (cw0[j] * irr_f[o + nh] + cw1[j] * irr_f[o + 2 * nh] + cw2[j] * irr_f[o + 3 * nh]
                                + cw3[j] * irr_f[o + 4 * nh])
                    fo[1, j] = crs[j] * irr_f[o]
                    fo[2, j] = (cg0[j] * win_f[ow] + cg1[j] * win_f[ow + nh] + cg2[j] * win_f[ow + 2 * nh]
                                + cg3[j] * win_f[ow + 3 * nh])
            vent_h = False
            if uni:
                gf, th, tc, vf = sch_h[s_first, 0, h], sch_h[s_first, 1, h], sch_h[s_first, 2, h], sch_h[s_first, 3, h]
                for j in range(nc):
                    fo[3, j] = cint[j] * gf
                    th_[j] = th
                    tc_[j] = tc
                if vf > 0.0:
                    vent_h = True
                    for j in range(nc):
                        hv0[j] = cven[j] * vf
            else:
                for j in range(nc):
                    sj = sid[j]
                    fo[3, j] = cint[j] * sch_h[sj, 0, h]
                    th_[j] = sch_h[sj, 1, h]
                    tc_[j] = sch_h[sj, 2, h]
                    hv = cven[j] * sch_h[sj, 3, h]
                    hv0[j] = hv
                    vent_h |= hv > 0.0
            for tw in range(n_twin):
                ql = q_last[tw]
                zz = z[tw]
                for j in range(nc):
                    ff[4, j] = ql[j]
                for j in range(nc):
                    tt[0, j] = (fd[0, j] * ff[0, j] + fd[1, j] * ff[1, j] + fd[2, j] * ff[2, j]
                                + fd[3, j] * ff[3, j] + fd[4, j] * to_f + fd[5, j] * dsky_f + fd[6, j] * tg_f)
                    tt[1, j] = (fd[7, j] * ff[0, j] + fd[8, j] * ff[1, j] + fd[9, j] * ff[2, j]
                                + fd[10, j] * ff[3, j] + fd[11, j] * to_f + fd[12, j] * dsky_f
                                + fd[13, j] * tg_f)
                for i in range(mc):  # slow modes, vectorised over the chunk's buildings
                    r = N_ROWS * i
                    for j in range(nc):
                        zt = (kk[r, j] * zz[i, j] + kk[r + 1, j] * ff[0, j] + kk[r + 2, j] * ff[1, j]
                              + kk[r + 3, j] * ff[2, j] + kk[r + 4, j] * ff[3, j] + kk[r + 5, j] * to_f
                              + kk[r + 6, j] * dsky_f + kk[r + 7, j] * tg_f + kk[r + 8, j] * ff[4, j])
                        zz[i, j] = zt
                        tt[0, j] += kk[r + 9, j] * zt
                        tt[1, j] += kk[r + 10, j] * zt
                any_vent = False
                if vent_h:
                    for j in range(nc):
                        hv = hv0[j]
                        if hv > 0.0 and sch_vent_cond[sid[j]] == 1 and (
                                to >= t_prev[tw, j] or t_prev[tw, j] < VENT_MIN_C):
                            hv = 0.0
                        hv_[j] = hv
                        any_vent |= hv > 0.0
                for j in range(nc):  # ideal heating/cooling, branch-free (no ventilation)
                    t0 = tt[0, j]
                    tc = tc_[j] if tw == 0 else 999.0
                    ta = min(max(t0, th_[j]), tc)
                    qh_[j] = (ta - t0) * inv_d[j]
                    ta_[j] = ta
                if any_vent:  # ventilation is solved implicitly with the air node
                    for j in range(nc):
                        hv = hv_[j]
                        if hv > 0.0:
                            t0 = np.float64(tt[0, j])
                            tc = tc_[j] if tw == 0 else 999.0
                            dhv = np.float64(d_air[j]) * hv
                            tv = (t0 + dhv * to) / (1.0 + dhv)
                            ta = min(max(tv, th_[j]), tc)
                            qh_[j] = ((1.0 + dhv) * ta - t0 - dhv * to) * inv_d[j] if ta != tv else 0.0
                            ta_[j] = ta
                tp = t_prev[tw]
                if any_vent:
                    for j in range(nc):
                        q = qh_[j] + hv_[j] * (to - ta_[j])
                        ql[j] = q
                        tp[j] = ta_[j]
                        top_[j] = tt[1, j] + d_op[j] * q
                else:
                    for j in range(nc):
                        q = qh_[j]
                        ql[j] = q
                        tp[j] = ta_[j]
                        top_[j] = tt[1, j] + d_op[j] * q
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
        for r in range(12):
            for j in range(nc):
                out_sum[r, b0 + j] = acc[r, j]


@nb.njit(cache=True, parallel=True)
def combine_rows(w, src, irr, irr_win, out):
    """The three weighted solar series of each building, in parallel over the buildings.

    Parameters
    ----------
    w : (9, nb) float32
        Solar weights (model.solar_weights): roof, wall N, E, S, W, window N, E, S, W.
    src : (nb,) int64
        Row of ``irr`` / ``irr_win`` of each building.
    irr : (n_src, 5, nh) float32
        Opaque irradiance roof, N, E, S, W [W/m2].
    irr_win : (n_src, 4, nh) float32
        SHGC-weighted window irradiance N, E, S, W [W/m2].
    out : (nb, 3, nh) float32
        Written: wall sol-air increment [K], roof sol-air increment [K], window gain [W].
    """
    nbld = out.shape[0]
    nh = out.shape[2]
    for b in nb.prange(nbld):
        s = src[b]
        a0, a1, a2, a3, ar = w[1, b], w[2, b], w[3, b], w[4, b], w[0, b]
        e0, e1, e2, e3 = w[5, b], w[6, b], w[7, b], w[8, b]
        r0, r1, r2, r3, r4 = irr[s, 0], irr[s, 1], irr[s, 2], irr[s, 3], irr[s, 4]
        q0, q1, q2, q3 = irr_win[s, 0], irr_win[s, 1], irr_win[s, 2], irr_win[s, 3]
        o0, o1, o2 = out[b, 0], out[b, 1], out[b, 2]
        for h in range(nh):
            o0[h] = a0 * r1[h] + a1 * r2[h] + a2 * r3[h] + a3 * r4[h]
            o1[h] = ar * r0[h]
            o2[h] = e0 * q0[h] + e1 * q1[h] + e2 * q2[h] + e3 * q3[h]
