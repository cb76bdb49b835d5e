"""Numba kernels of 1-D implicit conduction through layered slabs (private).

See :mod:`microclimate.conduction` (plain slabs) and :mod:`microclimate.surface_balance`
(slabs under a surface energy balance). Each surface is a column of ``m`` finite-volume cells
(node ``0`` at the outer surface); one backward-Euler step solves the tridiagonal system of a
column with the Thomas algorithm. Boundary faces are coupled to the first/last cell centre by
the half-cell conductance ``2 k / dx`` in series with a film coefficient ``h`` (``h = inf``:
the face temperature is imposed; ``h = 0``: adiabatic).
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Stefan-Boltzmann constant [W/m2K4].
SIGMA_W_M2K4 = 5.670374419e-8
#: Celsius to Kelvin offset [K].
T0_K = 273.15


@nb.njit(cache=True, inline="always")
def _series(h, g):  # pragma: no cover - numba
    """Conductance of a film ``h`` in series with a half cell ``g``; weight of a face flux."""
    if h == np.inf:
        return g, 0.0
    if h <= 0.0:
        return 0.0, 1.0
    return g * h / (g + h), g / (g + h)


@nb.njit(cache=True, inline="always")
def _assemble(t_old, cap, g_int, dt, u_in, t_in, a, b, d):  # pragma: no cover - numba
    """Rows of one column's backward-Euler system, inner boundary included, outer face not.

    Fills the sub-diagonal ``a``, the diagonal ``b`` and the right-hand side ``d`` (the
    super-diagonal of row ``i`` is ``-g_int[i]``).
    """
    m = t_old.shape[0]
    for i in range(m):
        ci = cap[i] / dt
        a[i] = 0.0
        b[i] = ci
        d[i] = ci * t_old[i]
        if i > 0:
            a[i] = -g_int[i - 1]
            b[i] += g_int[i - 1]
        if i < m - 1:
            b[i] += g_int[i]
    b[m - 1] += u_in
    d[m - 1] += u_in * t_in


@nb.njit(cache=True)
def _solve_column(t_old, cap, g_int, dt, q_out, u_out, t_out, u_in, t_in,
                  a, b, c, d, t_new):  # pragma: no cover - numba
    """One backward-Euler step of one column (Thomas algorithm), in place into ``t_new``.

    Cell ``i``: ``cap_i / dt (T'_i - T_i) = g_{i-1} (T'_{i-1} - T'_i) + g_i (T'_{i+1} - T'_i)``
    plus ``q_out + u_out (t_out - T'_0)`` on cell 0 and ``u_in (t_in - T'_{m-1})`` on the last.
    """
    m = t_old.shape[0]
    _assemble(t_old, cap, g_int, dt, u_in, t_in, a, b, d)
    for i in range(m - 1):
        c[i] = -g_int[i]
    c[m - 1] = 0.0
    b[0] += u_out
    d[0] += q_out + u_out * t_out
    # Thomas: forward sweep, back substitution (diagonally dominant: stable without pivoting)
    for i in range(1, m):
        w = a[i] / b[i - 1]
        b[i] -= w * c[i - 1]
        d[i] -= w * d[i - 1]
    t_new[m - 1] = d[m - 1] / b[m - 1]
    for i in range(m - 2, -1, -1):
        t_new[i] = (d[i] - c[i] * t_new[i + 1]) / b[i]


@nb.njit(cache=True, parallel=True)
def run_slabs(t_init, cap, g_int, g_out_face, g_in_face, dt, q_out, h_out, t_out,
              h_in, t_in, keep_nodes, t_surface, q_surface, q_inner, t_nodes,
              t_final):  # pragma: no cover - numba
    """Run columns through ``n_steps`` implicit steps with given boundary forcing.

    t_init (n, m) [degC]; cap (n, m) [J/m2K]; g_int (n, m-1) [W/m2K]; g_out_face,
    g_in_face (n,) [W/m2K]; dt [s]; q_out, h_out, t_out, h_in, t_in (n_steps, n) [W/m2,
    W/m2K, degC]. Outputs (n_steps, n): outer face temperature [degC], flux into the slab at
    the outer face and out of it at the inner face [W/m2]; t_nodes (n_steps, n, m) filled when
    ``keep_nodes``; t_final (n, m).
    """
    n, m = t_init.shape
    n_steps = q_out.shape[0]
    for s in nb.prange(n):
        a = np.empty(m)
        b = np.empty(m)
        c = np.empty(m)
        d = np.empty(m)
        t = t_init[s].copy()
        t_new = np.empty(m)
        go = g_out_face[s]
        gi = g_in_face[s]
        for k in range(n_steps):
            u_o, f_o = _series(h_out[k, s], go)
            u_i, _ = _series(h_in[k, s], gi)
            qo = f_o * q_out[k, s]
            _solve_column(t, cap[s], g_int[s], dt, qo, u_o, t_out[k, s], u_i, t_in[k, s],
                          a, b, c, d, t_new)
            q_in_slab = qo + u_o * (t_out[k, s] - t_new[0])
            q_surface[k, s] = q_in_slab
            q_inner[k, s] = u_i * (t_new[m - 1] - t_in[k, s])
            # outer face temperature from continuity: q = go (T_face - T_0)
            t_surface[k, s] = t_new[0] + q_in_slab / go
            for i in range(m):
                t[i] = t_new[i]
            if keep_nodes:
                for i in range(m):
                    t_nodes[k, s, i] = t[i]
        for i in range(m):
            t_final[s, i] = t[i]


@nb.njit(cache=True, inline="always")
def e_sat_pa(t_c):  # pragma: no cover - numba
    """Saturation vapour pressure over water, Magnus (Alduchov & Eskridge 1996) [Pa]."""
    return 610.94 * np.exp(17.625 * t_c / (t_c + 243.04))


@nb.njit(cache=True)
def _reduce_up(t_old, cap, g_int, dt, u_in, t_in, a, b, d):  # pragma: no cover - numba
    """Eliminate a column from the bottom up (reverse Thomas), without the outer-face flux.

    Afterwards row 0 reads ``b[0] T'_0 = d[0] + F`` with ``F`` the flux entering cell 0 through
    the outer face, and ``T'_i = (d[i] - a[i] T'_{i-1}) / b[i]`` gives the cells below.
    """
    m = t_old.shape[0]
    _assemble(t_old, cap, g_int, dt, u_in, t_in, a, b, d)
    for i in range(m - 2, -1, -1):
        w = -g_int[i] / b[i + 1]  # c[i] / b'[i+1]
        b[i] -= w * a[i + 1]
        d[i] -= w * d[i + 1]


def run_balance(*args):
    """:func:`run_balance_kernel` with every input array passed read-only.

    numba compiles one specialisation per combination of argument types, and an array's
    read-only flag is part of its type: the callers' inputs (some from ``np.broadcast_to``,
    read-only, some not) made five specialisations of this large kernel (about 2 s of
    compilation each). Read-only views of the inputs (no copy) make one.
    """
    n_inputs = run_balance_kernel.py_func.__code__.co_varnames.index("t_surface")  # outputs from there
    fixed = []
    for i, a in enumerate(args):
        if i < n_inputs and isinstance(a, np.ndarray) and a.flags.writeable:
            a = a.view()
            a.flags.writeable = False
        fixed.append(a)
    return run_balance_kernel(*fixed)


#: Newton stops when its last step is below this [K]; it converges quadratically on the smooth
#: face balance, so the temperature it returns is far closer than that (below 1e-9 K).
NEWTON_TOL_K = 1e-6


@nb.njit(cache=True, parallel=True)
def run_balance_kernel(t_init, cap, g_int, g_out_face, g_in_face, dt, substeps, max_iter, rows, n_spin,
                       k_abs, l_in, t_air, h_c, e_air, t_in, eps, beta, h_in, gamma_pa_k,
                       t_surface, q_sw, q_lw, q_conv, q_lat, q_cond, q_inner, t_start,
                       t_final):  # pragma: no cover - numba
    """Surface energy balance on top of implicit slab conduction.

    Each hour (forcing row ``rows[j]``; hours ``j < n_spin`` are spin-up, not recorded) is
    split into ``substeps`` backward-Euler steps of ``dt`` [s]. In each step the slab is
    eliminated from the bottom up, so that seen from its outer face it is one conductance ``G``
    to a temperature ``T*``; the face balance ``k_abs + l_in - eps sigma Ts^4 + h_c (T_air - Ts)
    - beta h_c / gamma (e_sat(Ts) - e_air) = G (Ts - T*)`` (monotone in Ts) is solved by Newton
    (at most ``max_iter`` iterations, until a step is below :data:`NEWTON_TOL_K`), then the
    cells are back-substituted.
    Forcing (n_hours, n): k_abs, l_in (absorbed long-wave ``eps (svf L_down + (1 - svf) sigma
    eps_surr T_surr^4)``) [W/m2], t_air [degC], h_c [W/m2K], e_air [Pa], t_in [degC]; per
    surface (n,): eps, beta, h_in [W/m2K]. Outputs (n_rec, n) are hour means; t_start /
    t_final (n, m) the cells at the start of the first recorded hour and at the end.
    """
    n, m = t_init.shape
    n_total = rows.shape[0]
    for s in nb.prange(n):
        a = np.empty(m)
        b = np.empty(m)
        d = np.empty(m)
        t = t_init[s].copy()
        go = g_out_face[s]
        u_i, _ = _series(h_in[s], g_in_face[s])
        e = eps[s]
        be = beta[s]
        ts = t[0]
        for j in range(n_total):
            r = rows[j]
            rec = j - n_spin
            if rec == 0:
                for i in range(m):
                    t_start[s, i] = t[i]
            ka = k_abs[r, s]
            li = l_in[r, s]
            ta = t_air[r, s]
            hc = h_c[r, s]
            ea = e_air[r, s]
            ti = t_in[r, s]
            hl = be * hc / gamma_pa_k
            acc_ts = 0.0
            acc_lw = 0.0
            acc_conv = 0.0
            acc_lat = 0.0
            acc_cond = 0.0
            acc_in = 0.0
            for _sub in range(substeps):
                _reduce_up(t, cap[s], g_int[s], dt, u_i, ti, a, b, d)
                g_slab = go * b[0] / (b[0] + go)
                t_star = d[0] / b[0]
                for _it in range(max_iter):
                    tk = ts + T0_K
                    es = e_sat_pa(ts)
                    f = (ka + li - e * SIGMA_W_M2K4 * tk ** 4 + hc * (ta - ts)
                         - hl * (es - ea) - g_slab * (ts - t_star))
                    df = (-4.0 * e * SIGMA_W_M2K4 * tk ** 3 - hc
                          - hl * es * 17.625 * 243.04 / (ts + 243.04) ** 2 - g_slab)
                    step = f / df
                    ts -= step
                    if abs(step) < NEWTON_TOL_K:
                        break
                t[0] = (d[0] + go * ts) / (b[0] + go)
                for i in range(1, m):
                    t[i] = (d[i] - a[i] * t[i - 1]) / b[i]
                acc_ts += ts
                acc_lw += li - e * SIGMA_W_M2K4 * (ts + T0_K) ** 4
                acc_conv += hc * (ta - ts)
                acc_lat += -hl * (e_sat_pa(ts) - ea)
                acc_cond += go * (ts - t[0])
                acc_in += u_i * (t[m - 1] - ti)
            if rec >= 0:
                t_surface[rec, s] = acc_ts / substeps
                q_sw[rec, s] = ka
                q_lw[rec, s] = acc_lw / substeps
                q_conv[rec, s] = acc_conv / substeps
                q_lat[rec, s] = acc_lat / substeps
                q_cond[rec, s] = acc_cond / substeps
                q_inner[rec, s] = acc_in / substeps
        for i in range(m):
            t_final[s, i] = t[i]


#: Cells per SIMD block of :func:`run_balance_blocks` (lanes of one vector loop).
BLOCK = 8


@nb.njit(cache=True)
def reduced_coefficients(cap, g_int, g_out_face, g_in_face, h_in, dt):  # pragma: no cover
    """Constant factors of the bottom-up elimination of :func:`_reduce_up` per slab.

    The backward-Euler matrix of a slab depends only on its layers, ``dt`` and the inner
    coupling, so the reverse Thomas sweep's multipliers and reduced diagonal are computed once.
    cap (k, m), g_int (k, m-1), g_out_face, g_in_face, h_in (k,). Returns ``ci (k, m)`` =
    cap / dt, ``w (k, m)`` multipliers (``d[i] -= w[i] d[i+1]``), ``inv_b (k, m)`` inverse
    reduced diagonal, ``a (k, m)`` sub-diagonal, ``u_in (k,)``, ``b0 (k,)`` reduced diagonal
    of cell 0.
    """
    k, m = cap.shape
    ci = np.empty((k, m))
    w = np.zeros((k, m))
    inv_b = np.empty((k, m))
    a_out = np.zeros((k, m))
    u_in = np.empty(k)
    b0 = np.empty(k)
    a = np.empty(m)
    b = np.empty(m)
    d = np.empty(m)
    t0 = np.zeros(m)
    for s in range(k):
        u, _ = _series(h_in[s], g_in_face[s])
        u_in[s] = u
        _assemble(t0, cap[s], g_int[s], dt, u, 0.0, a, b, d)
        for i in range(m - 2, -1, -1):
            wi = -g_int[s, i] / b[i + 1]
            w[s, i] = wi
            b[i] -= wi * a[i + 1]
        for i in range(m):
            ci[s, i] = cap[s, i] / dt
            inv_b[s, i] = 1.0 / b[i]
            a_out[s, i] = a[i]
        b0[s] = b[0]
    return ci, w, inv_b, a_out, u_in, b0


@nb.njit(cache=True, parallel=True)
def run_balance_blocks(t_init, cls, ci, w, inv_b, a_sub, u_in, b0, g_out_face, substeps,
                       max_iter, rows, n_spin, k_abs, l_in, t_air, h_c, e_air, t_in, eps,
                       beta, gamma_pa_k, t_surface, t_final):  # pragma: no cover - numba
    """The balance of :func:`run_balance` for slabs of a few kinds, ``BLOCK`` cells per vector.

    Same equations and Newton solve as :func:`run_balance`; the elimination factors come from
    :func:`reduced_coefficients` of the slab kind ``cls[s]`` of each cell, and the cells of a
    block advance together (inner loops over the block's lanes vectorise). Forcing that is
    the same for every cell is per hour: t_air, h_c, e_air, t_in (n_hours,); k_abs, l_in
    (n_hours, n) [W/m2]; eps, beta (n,). Outputs: t_surface (n_rec, n) hour-mean surface
    temperature [degC]; t_final (n, m).
    """
    n, m = t_init.shape
    n_total = rows.shape[0]
    nblk = (n + BLOCK - 1) // BLOCK
    for blk in nb.prange(nblk):
        s0 = blk * BLOCK
        nl = min(BLOCK, n - s0)
        t = np.empty((m, BLOCK))
        d = np.empty((m, BLOCK))
        cc = np.empty((m, BLOCK))
        ww = np.empty((m, BLOCK))
        ib = np.empty((m, BLOCK))
        aa = np.empty((m, BLOCK))
        go = np.empty(BLOCK)
        bb0 = np.empty(BLOCK)
        ui = np.empty(BLOCK)
        gs = np.empty(BLOCK)
        be = np.zeros(BLOCK)
        ts = np.empty(BLOCK)
        acc = np.empty(BLOCK)
        ka = np.zeros(BLOCK)
        li = np.zeros(BLOCK)
        rhs = np.zeros(BLOCK)
        es_sig = np.zeros(BLOCK)
        for lane in range(BLOCK):
            s = s0 + min(lane, nl - 1)  # idle lanes repeat the last cell
            c = cls[s]
            for i in range(m):
                t[i, lane] = t_init[s, i]
                cc[i, lane] = ci[c, i]
                ww[i, lane] = w[c, i]
                ib[i, lane] = inv_b[c, i]
                aa[i, lane] = a_sub[c, i]
            go[lane] = g_out_face[c]
            bb0[lane] = b0[c]
            ui[lane] = u_in[c]
            gs[lane] = go[lane] * bb0[lane] / (bb0[lane] + go[lane])
            es_sig[lane] = eps[s] * SIGMA_W_M2K4
            be[lane] = beta[s]
            ts[lane] = t[0, lane]
        wet = False  # a block without evaporating cells skips the vapour pressure
        for lane in range(BLOCK):
            if be[lane] > 0.0:
                wet = True
        for j in range(n_total):
            r = rows[j]
            rec = j - n_spin
            ta = t_air[r]
            hc = h_c[r]
            ea = e_air[r]
            ti = t_in[r]
            hl_unit = hc / gamma_pa_k
            for lane in range(BLOCK):
                s = s0 + min(lane, nl - 1)
                ka[lane] = k_abs[r, s]
                li[lane] = l_in[r, s]
                acc[lane] = 0.0
            for _sub in range(substeps):
                for lane in range(BLOCK):
                    d[m - 1, lane] = cc[m - 1, lane] * t[m - 1, lane] + ui[lane] * ti
                for i in range(m - 2, -1, -1):
                    for lane in range(BLOCK):
                        d[i, lane] = cc[i, lane] * t[i, lane] - ww[i, lane] * d[i + 1, lane]
                for lane in range(BLOCK):  # the face balance's terms that Ts does not change
                    rhs[lane] = ka[lane] + li[lane] + hc * ta + gs[lane] * d[0, lane] * ib[0, lane]
                for _it in range(max_iter):
                    big = 0.0
                    if wet:  # (the dry copy below vectorises: 8 % less kernel time)
                        for lane in range(BLOCK):
                            x = ts[lane]
                            tk = x + T0_K
                            hl = be[lane] * hl_unit
                            es = e_sat_pa(x) if hl > 0.0 else 0.0
                            es_rate = es * 17.625 * 243.04 / (x + 243.04) ** 2
                            f = (rhs[lane] - es_sig[lane] * tk ** 4 - (hc + gs[lane]) * x
                                 - hl * (es - ea))
                            df = -4.0 * es_sig[lane] * tk ** 3 - hc - gs[lane] - hl * es_rate
                            step = f / df
                            ts[lane] = x - step
                            big = max(big, abs(step))
                    else:
                        for lane in range(BLOCK):
                            x = ts[lane]
                            tk = x + T0_K
                            tk3 = tk * tk * tk
                            f = rhs[lane] - es_sig[lane] * tk3 * tk - (hc + gs[lane]) * x
                            df = -4.0 * es_sig[lane] * tk3 - hc - gs[lane]
                            step = f / df
                            ts[lane] = x - step
                            big = max(big, abs(step))
                    if big < NEWTON_TOL_K:
                        break
                for lane in range(BLOCK):
                    t[0, lane] = (d[0, lane] + go[lane] * ts[lane]) / (bb0[lane] + go[lane])
                    acc[lane] += ts[lane]
                for i in range(1, m):
                    for lane in range(BLOCK):
                        t[i, lane] = (d[i, lane] - aa[i, lane] * t[i - 1, lane]) * ib[i, lane]
            if rec >= 0:
                for lane in range(nl):
                    t_surface[rec, s0 + lane] = acc[lane] / substeps
        for lane in range(nl):
            for i in range(m):
                t_final[s0 + lane, i] = t[i, lane]
