"""Numba kernels of the solar solver (private; the public wrappers validate the arrays)."""

from __future__ import annotations

import numba as nb


@nb.njit(cache=True, parallel=True, fastmath=True)
def beam_monthly(normals, vis, sun_dir, beam, sun_bin, month, tau, out):  # pragma: no cover - numba
    """Accumulate shaded beam irradiation per sensor and month.

    normals (n, 3) f8; vis (n, b) i1 (0 blocked, 1 free, 2 through a tree crown);
    sun_dir (h, 3) f8; beam (h,) f8 [W/m2 normal]; sun_bin (h,) i8; month (h,) i8 (0..11);
    tau (h,) f8 crown transmissivity; out (n, 12) f8 [Wh/m2], added to.
    """
    n = normals.shape[0]
    h = sun_dir.shape[0]
    for s in nb.prange(n):
        nx, ny, nz = normals[s, 0], normals[s, 1], normals[s, 2]
        for k in range(h):
            c = nx * sun_dir[k, 0] + ny * sun_dir[k, 1] + nz * sun_dir[k, 2]
            if c <= 0.0:
                continue
            code = vis[s, sun_bin[k]]
            if code == 0:
                continue
            v = beam[k] * c
            if code == 2:
                v *= tau[k]
            out[s, month[k]] += v


@nb.njit(cache=True, parallel=True, fastmath=True)
def beam_group_hourly(
    normals, vis, sun_dir, beam, sun_bin, tau, group, weight, out
):  # pragma: no cover
    """Accumulate ``weight``-weighted shaded beam irradiance per group and hour.

    group (n,) i8 (-1 = skip); weight (n,) f8 [m2]; out (g, h) f8 [W], added to (one thread
    per hour, so no two threads write the same cell).
    """
    n = normals.shape[0]
    h = sun_dir.shape[0]
    for k in nb.prange(h):
        sx, sy, sz = sun_dir[k, 0], sun_dir[k, 1], sun_dir[k, 2]
        b = beam[k]
        t = tau[k]
        for s in range(n):
            g = group[s]
            if g < 0:
                continue
            c = normals[s, 0] * sx + normals[s, 1] * sy + normals[s, 2] * sz
            if c <= 0.0:
                continue
            code = vis[s, sun_bin[k]]
            if code == 0:
                continue
            v = b * c * weight[s]
            if code == 2:
                v *= t
            out[g, k] += v


@nb.njit(cache=True, parallel=True, fastmath=True)
def beam_hourly(normals, vis, sun_dir, beam, sun_bin, tau, out):  # pragma: no cover - numba
    """Shaded beam irradiance per sensor and hour into ``out (n, h)`` f4 [W/m2] (overwritten)."""
    n = normals.shape[0]
    h = sun_dir.shape[0]
    for s in nb.prange(n):
        for k in range(h):
            c = (
                normals[s, 0] * sun_dir[k, 0]
                + normals[s, 1] * sun_dir[k, 1]
                + normals[s, 2] * sun_dir[k, 2]
            )
            code = vis[s, sun_bin[k]]
            if c <= 0.0 or code == 0:
                out[s, k] = 0.0
                continue
            v = beam[k] * c
            if code == 2:
                v *= tau[k]
            out[s, k] = v


@nb.njit(cache=True)
def scatter_pairs(
    sensor, element, weight, code, n_sensors, n_elements, c_open, c_tree
):  # pragma: no cover
    """Add ray weights into the open / through-tree coefficient matrices (n, e) f4."""
    for i in range(sensor.shape[0]):
        if code[i] == 1:
            c_open[sensor[i], element[i]] += weight[i]
        elif code[i] == 2:
            c_tree[sensor[i], element[i]] += weight[i]
