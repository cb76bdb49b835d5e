"""Numba kernels of the raster heat grid (private: called by :mod:`microclimate.skyview` and :mod:`microclimate.grid`)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, parallel=True)
def accumulate_views(code, tfar, origins, dirs, weights, band, sky_band, veg, wall,
                     wall_point, offset):  # pragma: no cover - numba
    """Per-point view fractions from the ray outcomes of one tile.

    code : (m, r) int8, 0 blocked (opaque), 1 free, 2 through tree crowns only
    tfar : (m, r) float32, hit distance of blocked rays [m]
    origins : (m, 3) float32; dirs : (r, 3) float32; weights : (5, r) float32
    band : (r,) int64 zenith band of each ray
    Outputs written at columns ``offset + i``: sky_band (5, b, n), veg (5, n), wall (5, n),
    wall_point (4, n, 3) (weighted mean hit point per side plane, NaN without hits).
    """
    m, r = code.shape
    for i in nb.prange(m):
        j = offset + i
        acc = np.zeros((4, 4))
        for k in range(r):
            c = code[i, k]
            bk = band[k]
            if c == 1:
                for p in range(5):
                    sky_band[p, bk, j] += weights[p, k]
            elif c == 2:
                for p in range(5):
                    veg[p, j] += weights[p, k]
            else:
                wall[0, j] += weights[0, k]
                t = tfar[i, k]
                for p in range(1, 5):
                    w = weights[p, k]
                    if w > 0.0:
                        wall[p, j] += w
                        acc[p - 1, 0] += w * (origins[i, 0] + dirs[k, 0] * t)
                        acc[p - 1, 1] += w * (origins[i, 1] + dirs[k, 1] * t)
                        acc[p - 1, 2] += w * (origins[i, 2] + dirs[k, 2] * t)
                        acc[p - 1, 3] += w
        for p in range(4):
            if acc[p, 3] > 0.0:
                for q in range(3):
                    wall_point[p, j, q] = acc[p, q] / acc[p, 3]
            else:
                for q in range(3):
                    wall_point[p, j, q] = np.nan


@nb.njit(cache=True, parallel=True)
def kernel_average_pair(full_a, full_b, kernel, cells, den, out_a, out_b):  # pragma: no cover
    """Weighted averages of two rasters around the given cells, edges replicated.

    full_a, full_b : (ny, nx) float32 rasters (0 off the ground); kernel : (k, k) float32,
    symmetric, odd size; cells : (n,) flat indices; den : (n,) float64 divisor. Writes
    ``out[i] = float32(sum kernel x full around cells[i]) / den[i]`` (scipy.ndimage.convolve
    with ``mode="nearest"`` at those cells, both rasters in one pass).
    """
    ny, nx = full_a.shape
    kk = kernel.shape[0]
    r = kk // 2
    for i in nb.prange(cells.shape[0]):
        row = cells[i] // nx
        col = cells[i] - row * nx
        sa = 0.0
        sb = 0.0
        for u in range(kk):
            rr = min(max(row + u - r, 0), ny - 1)
            for v in range(kk):
                cc = min(max(col + v - r, 0), nx - 1)
                w = kernel[u, v]
                sa += w * full_a[rr, cc]
                sb += w * full_b[rr, cc]
        out_a[i] = np.float32(sa) / den[i]
        out_b[i] = np.float32(sb) / den[i]


@nb.njit(cache=True, parallel=True)
def body_step(sky_band, band, l_hemi, veg, wall, wsum, svf, sun_b, wall_sun, wall_refl, kup,
              lup, scal, t_wall_lit, k_wall_lit, keep, fluxes, tmrt):  # pragma: no cover
    """Six-direction fluxes on the body and its Tmrt for one step, per cell.

    sky_band : (5, b, n) sky view per plane and zenith band; band : (b,) band factors of the
    step; l_hemi : hemispheric sky long-wave [W/m2]; veg, wall, svf : (5, n) view fractions
    (up, N, E, S, W); wsum : (n,) wall view of the four sides; sun_b : (n,) beam share of the
    body; wall_sun : (4, n) sunlit share of the wall seen per side; wall_refl, kup, lup : (n,).
    scal : (12,) ``l_veg, dni cos z, dhi, t_wall_shade_c, k_wall_diffuse, beam (f_cyl dni
    cos elev, 0 at night), f_up_down, f_side, absorption_k, absorption_l, sigma,
    wall emissivity``;
    t_wall_lit : (4,) sunlit temperature of the wall seen per side [degC]; k_wall_lit : (4,)
    beam reflected by a fully sunlit wall seen per side [W/m2]. Writes ``tmrt (n,)`` [degC]
    and, when ``keep``, ``fluxes (10, n)``: kdown, ldown, k_side N E S W, l_side N E S W.
    """
    n = tmrt.shape[0]
    nb_ = band.shape[0]
    l_veg, dni_cosz, dhi, t_shade, kw_diff, beam = scal[0], scal[1], scal[2], scal[3], \
        scal[4], scal[5]
    f_vert, f_side, a_k, a_l, sigma, e_w = scal[6], scal[7], scal[8], scal[9], scal[10], \
        scal[11]
    for j in nb.prange(n):
        l_sky = np.zeros(5)
        for p in range(5):
            acc = 0.0
            for b in range(nb_):
                acc += sky_band[p, b, j] * band[b]
            l_sky[p] = l_hemi * acc
        l_wall = np.empty(4)
        k_wall = np.empty(4)
        l_mean = 0.0
        for k in range(4):
            fs = wall_sun[k, j]
            tw = fs * t_wall_lit[k] + (1.0 - fs) * t_shade + 273.15
            l_wall[k] = e_w * sigma * tw**4 + (1.0 - e_w) * l_veg
            k_wall[k] = fs * k_wall_lit[k] + kw_diff
            l_mean += l_wall[k] * wall[k + 1, j]
        l_mean /= wsum[j]
        kdown = dni_cosz * sun_b[j] + dhi * svf[0, j] + wall[0, j] * wall_refl[j]
        ldown = l_sky[0] + veg[0, j] * l_veg + wall[0, j] * l_mean
        ks = 0.0
        ls = 0.0
        for k in range(4):
            k_side = dhi * svf[k + 1, j] + wall[k + 1, j] * k_wall[k] + 0.5 * kup[j]
            l_side = l_sky[k + 1] + veg[k + 1, j] * l_veg + wall[k + 1, j] * l_wall[k] \
                + 0.5 * lup[j]
            ks += k_side
            ls += l_side
            if keep:
                fluxes[2 + k, j] = k_side
                fluxes[6 + k, j] = l_side
        s = (a_k * ((kdown + kup[j]) * f_vert + ks * f_side)
             + a_l * ((ldown + lup[j]) * f_vert + ls * f_side) + a_k * beam * sun_b[j])
        tmrt[j] = (s / (a_l * sigma)) ** 0.25 - 273.15 if s >= 0.0 else np.nan
        if keep:
            fluxes[0, j] = kdown
            fluxes[1, j] = ldown


@nb.njit(cache=True, parallel=True)
def ground_forcing(sun_g, wall_sun, wall_w, wsum, dni_cosz, dhi, ghi, svf_sw, wall_view,
                   albedo, l_hemi, band, sky_band, sky, wall_albedo,
                   k_ground, k_abs, wall_refl, l_sky):  # pragma: no cover - numba
    """Shortwave and sky long-wave reaching the ground cells over a chunk of steps, one pass.

    sun_g : (t, n) float32 beam share of the ground point; wall_sun : (t, 4, n) float32 sunlit
    fraction of the wall seen per side; wall_w : (4, n) view weights of those walls, wsum (n,)
    their sum; dni_cosz, dhi, ghi, l_hemi : (t,) [W/m2] (beam on the horizontal, diffuse,
    global, hemispheric sky long-wave); svf_sw, wall_view, albedo, sky : (n,) shortwave sky
    view (crowns transmitting), wall view, albedo, sky view; band : (t, b) relative radiance per
    zenith band, sky_band : (b, n) the cell's sky view per band; wall_albedo : float.
    Outputs (t, n) float64: k_ground (shortwave reaching the ground), k_abs (absorbed:
    ``(1 - albedo) k_ground``), wall_refl (shortwave the walls seen reflect: their sunlit
    share reflects the global, the rest the diffuse) and l_sky (sky long-wave on the ground:
    the bands it sees, per unit of its sky view) [W/m2].
    """
    nt, n = sun_g.shape
    nbnd = band.shape[1]
    for t in range(nt):
        for c in nb.prange(n):
            f_lit = (wall_sun[t, 0, c] * wall_w[0, c] + wall_sun[t, 1, c] * wall_w[1, c]
                     + wall_sun[t, 2, c] * wall_w[2, c]
                     + wall_sun[t, 3, c] * wall_w[3, c]) / wsum[c]
            wr = wall_albedo * (ghi[t] * f_lit + dhi[t] * (1.0 - f_lit))
            kg = dni_cosz[t] * sun_g[t, c] + dhi[t] * svf_sw[c] + wall_view[c] * wr
            s = 0.0
            for q in range(nbnd):
                s += band[t, q] * sky_band[q, c]
            wall_refl[t, c] = wr
            k_ground[t, c] = kg
            k_abs[t, c] = (1.0 - albedo[c]) * kg
            l_sky[t, c] = l_hemi[t] * s / max(sky[c], 1e-6)


@nb.njit(cache=True, parallel=True)
def ground_emission_rasters(t_surface_c, emissivity, albedo, sky, l_sky, l_veg, k_ground,
                            sigma, cells, full_lw, full_sw):  # pragma: no cover - numba
    """Long-wave leaving and shortwave reflected by each ground cell, into rasters.

    t_surface_c, emissivity, albedo, sky, l_sky, k_ground : (n,) surface temperature [degC],
    emissivity, albedo, sky view, sky long-wave on it [W/m2] and shortwave reaching it
    [W/m2]; l_veg : long-wave of crowns and the rest at air temperature [W/m2]; cells : (n,)
    flat indices into the ``(ny, nx)`` float32 rasters ``full_lw`` (emitted plus reflected
    long-wave, ``eps sigma Ts^4 + (1 - eps) (sky l_sky + (1 - sky) l_veg)``) and ``full_sw``
    (``albedo k_ground``); other cells are left as they are.
    """
    nx = full_lw.shape[1]
    for i in nb.prange(cells.shape[0]):
        r = cells[i] // nx
        c = cells[i] - r * nx
        tk = t_surface_c[i] + 273.15
        l_in = sky[i] * l_sky[i] + (1.0 - sky[i]) * l_veg
        full_lw[r, c] = emissivity[i] * sigma * tk ** 4 + (1.0 - emissivity[i]) * l_in
        full_sw[r, c] = albedo[i] * k_ground[i]
