"""Numba kernels of the height-field sun rays (private: called by :mod:`microclimate.sunrays`).

Every point is traced on its own (``prange`` over points, nothing shared between them), so the
result does not depend on the number of threads.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True)
def _trace_column(u, v, zs, nz, du, dv, dz, occ, shift, z_max,
                  code):  # pragma: no cover - numba
    """Trace one sun ray from ``nz`` points on a vertical (same ``u, v``, heights ``zs``
    ascending) through the block height field; writes ``code[:nz]`` (0 opaque, 1 free,
    2 through crowns only).

    ``u, v`` are continuous column / row coordinates (cell ``(r, c)`` spans ``c..c+1``,
    ``r..r+1``), ``du, dv, dz`` the sun direction in cells and metres per unit length.
    A ray is opaque-blocked in a cell it enters (or starts in) below the cell's DSM top (a
    top or a wall of the block field), and crosses a crown where its height span inside the
    cell overlaps ``crown_bot..crown_top``; a point on a cell edge also belongs to the cells
    on its other side. ``occ (ny, nx, 4) float32`` holds per cell the DSM
    top, the crown top (``-inf`` without), the crown bottom (``+inf`` without) and the highest
    occluder of its ``2**shift`` x ``2**shift`` block: a ray that enters a cell above that
    maximum jumps to where it leaves the block (it rises, so it meets nothing there).
    """
    ny, nx = occ.shape[0], occ.shape[1]
    bs = 1 << shift
    for k in range(nz):
        code[k] = 1
    # part of the ray inside the raster footprint and below the highest occluder
    t0 = 0.0
    t1 = (z_max - zs[0]) / dz
    if t1 <= 0.0:
        return
    if du != 0.0:
        ta = (0.0 - u) / du
        tb = (nx - u) / du
        t0 = max(t0, min(ta, tb))
        t1 = min(t1, max(ta, tb))
    elif u < 0.0 or u >= nx:
        return
    if dv != 0.0:
        ta = (0.0 - v) / dv
        tb = (ny - v) / dv
        t0 = max(t0, min(ta, tb))
        t1 = min(t1, max(ta, tb))
    elif v < 0.0 or v >= ny:
        return
    if t0 >= t1:
        return
    col = min(max(int(math.floor(u + du * t0)), 0), nx - 1)
    row = min(max(int(math.floor(v + dv * t0)), 0), ny - 1)
    inf = np.inf
    if du > 0.0:
        step_c, t_next_c, dt_c = 1, (col + 1 - u) / du, 1.0 / du
    elif du < 0.0:
        step_c, t_next_c, dt_c = -1, (col - u) / du, -1.0 / du
    else:
        step_c, t_next_c, dt_c = 0, inf, inf
    if dv > 0.0:
        step_r, t_next_r, dt_r = 1, (row + 1 - v) / dv, 1.0 / dv
    elif dv < 0.0:
        step_r, t_next_r, dt_r = -1, (row - v) / dv, -1.0 / dv
    else:
        step_r, t_next_r, dt_r = 0, inf, inf
    lowest = 0  # lowest point not yet blocked by an opaque block
    if t0 == 0.0 and (u == math.floor(u) or v == math.floor(v)):
        # a point on a cell edge touches the cells on both sides: on the face of a block or a
        # crown there, it counts as inside (as a ray cast from a surface hits it at t = 0)
        c_lo = col - 1 if (u == math.floor(u) and col > 0) else col
        r_lo = row - 1 if (v == math.floor(v) and row > 0) else row
        for rr in range(r_lo, row + 1):
            for cc in range(c_lo, col + 1):
                if rr == row and cc == col:
                    continue
                for k in range(lowest, nz):
                    if zs[k] < occ[rr, cc, 0]:
                        code[k] = 0
                        lowest = k + 1
                    elif code[k] == 1 and occ[rr, cc, 2] < zs[k] < occ[rr, cc, 1]:
                        code[k] = 2
        if lowest >= nz:
            return
    t_in = t0
    while True:
        if zs[lowest] + dz * t_in >= occ[row, col, 3]:  # nothing in this block: leave it
            br = row >> shift
            bc = col >> shift
            if step_c > 0:
                tc = ((bc + 1) * bs - u) / du
            elif step_c < 0:
                tc = (bc * bs - u) / du
            else:
                tc = inf
            if step_r > 0:
                tr = ((br + 1) * bs - v) / dv
            elif step_r < 0:
                tr = (br * bs - v) / dv
            else:
                tr = inf
            if tc <= tr:
                if tc >= t1:
                    return
                col = (bc + 1) * bs if step_c > 0 else bc * bs - 1
                if col < 0 or col >= nx:
                    return
                t_next_c = tc + dt_c
                t_in = tc
                row = min(max(int(math.floor(v + dv * tc)), br * bs), br * bs + bs - 1)
                if step_r > 0:
                    t_next_r = (row + 1 - v) / dv
                elif step_r < 0:
                    t_next_r = (row - v) / dv
            else:
                if tr >= t1:
                    return
                row = (br + 1) * bs if step_r > 0 else br * bs - 1
                if row < 0 or row >= ny:
                    return
                t_next_r = tr + dt_r
                t_in = tr
                col = min(max(int(math.floor(u + du * tr)), bc * bs), bc * bs + bs - 1)
                if step_c > 0:
                    t_next_c = (col + 1 - u) / du
                elif step_c < 0:
                    t_next_c = (col - u) / du
            continue
        t_out = min(t_next_c, t_next_r)
        top = occ[row, col, 0]
        ct = occ[row, col, 1]
        rise = dz * t_in
        if zs[lowest] + rise < top:  # the heights ascend: blocked points are the lowest ones
            for k in range(lowest, nz):
                if zs[k] + rise >= top:
                    break
                code[k] = 0
                lowest = k + 1
            if lowest >= nz:
                return
        z_low = zs[lowest] + rise
        if z_low < ct:  # the ray may cross this cell's crown (ct is -inf without one)
            cb = occ[row, col, 2]
            rise_out = dz * min(t_out, t1)
            for k in range(lowest, nz):
                if code[k] == 1 and zs[k] + rise < ct and zs[k] + rise_out > cb:
                    code[k] = 2
        if z_low > z_max:
            return
        if t_out >= t1:
            return
        if t_next_c < t_next_r:
            col += step_c
            t_next_c += dt_c
            if col < 0 or col >= nx:
                return
        else:
            row += step_r
            t_next_r += dt_r
            if row < 0 or row >= ny:
                return
        t_in = t_out


@nb.njit(cache=True, parallel=True)
def sun_codes_columns(uv, zs, sun, occ, shift, z_max, code):  # pragma: no cover - numba
    """Codes of points on verticals: ``uv (m, 2)``, ``zs (m, k)`` ascending per row,
    ``sun (3,)`` (``du, dv, dz``), ``occ`` and ``shift`` as in :func:`_trace_column`,
    output ``code (m, k) int8``."""
    m, nz = zs.shape
    for i in nb.prange(m):
        _trace_column(uv[i, 0], uv[i, 1], zs[i], nz, sun[0], sun[1], sun[2], occ, shift,
                      z_max, code[i])


@nb.njit(cache=True, parallel=True)
def sun_share_columns(uv, zs, sun, occ, shift, z_max, lut, share):  # pragma: no cover - numba
    """Mean beam share ``lut[code]`` of the points of each vertical (as
    :func:`sun_codes_columns`), ``share (m,) float32``."""
    m, nz = zs.shape
    for i in nb.prange(m):
        code = np.empty(nz, np.int8)
        _trace_column(uv[i, 0], uv[i, 1], zs[i], nz, sun[0], sun[1], sun[2], occ, shift,
                      z_max, code)
        acc = np.float32(0.0)
        for k in range(nz):
            acc += lut[code[k]]
        share[i] = acc / np.float32(nz)
