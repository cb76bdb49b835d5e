"""Numba kernels of the height-field sun rays (private: called by :mod:`microclimate.sunrays`).

Every point is traced on its own (``prange`` over points, nothing shared between them), so the
result does not depend on the number of threads.

A walk (:func:`_trace_column`) steps cell by cell while the ray is below the highest occluder
of its 8 x 8 block, jumps out of blocks it is above, and stops at the first of: all its points
blocked, the raster edge, or a height above its block's *clear height*
(:func:`clear_heights`, computed once per sun direction): the highest occluder it can still
reach, less the rise on the way there. A ray over open ground thus stops a few blocks after
the last roof that could shade it, not at the raster edge or at the city's highest roof. That
exit only drops steps that could not change a code, so the codes are those of the full walk
bit for bit (``tests/test_microclimate_sunrays.py``).

The walks index the ``(m, k)`` arrays by row rather than taking a row view per point (a view
costs reference-count updates that both threads make on one counter), and the walk is inlined
into the one loop over points (``inline="always"``, :func:`sun_codes_columns`; the wall
strips' shares average its codes): called, it passed its thirteen arguments (arrays as
structures of pointers, shapes and strides) per point, about a fifth of a day's walk time on
the 500 m benchmark district. Inlined into a ``prange`` loop it takes about 2 s more to
compile (once: ``cache=True``), which is why a single loop carries it.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True, inline="always")
def _trace_column(i, u, v, zs, nz, du, dv, dz, occ, shift, clear, z_max,
                  code):  # pragma: no cover - numba
    """Trace one sun ray from ``nz`` points on a vertical (same ``u, v``, heights ``zs``
    ascending, row ``i`` of ``zs (m, nz)``) through the block height field; writes
    ``code[i, :nz]`` (0 opaque, 1 free, 2 through crowns only).

    ``u, v`` are continuous column / row coordinates (cell ``(r, c)`` spans ``c..c+1``,
    ``r..r+1``), ``du, dv, dz`` the sun direction in cells and metres per unit length.
    A ray is opaque-blocked in a cell it enters (or starts in) below the cell's DSM top (a
    top or a wall of the block field), and crosses a crown where its height span inside the
    cell overlaps ``crown_bot..crown_top``; a point on a cell edge also belongs to the cells
    on its other side. ``occ (ny, nx, 4) float32`` holds per cell the DSM
    top, the crown top (``-inf`` without), the crown bottom (``+inf`` without) and the highest
    occluder of its ``2**shift`` x ``2**shift`` block: a ray that enters a cell above that
    maximum jumps to where it leaves the block (it rises, so it meets nothing there).
    ``clear (ny >> shift, nx >> shift)`` (rounded up) is, per block, a height above which a
    ray anywhere in the block meets nothing more on its way (:func:`clear_heights`): a ray
    that enters a cell above it stops there, its codes final.
    """
    ny, nx = occ.shape[0], occ.shape[1]
    bs = 1 << shift
    for k in range(nz):
        code[i, k] = 1
    # part of the ray inside the raster footprint and below the highest occluder
    t0 = 0.0
    t1 = (z_max - zs[i, 0]) / dz
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
                    if zs[i, k] < occ[rr, cc, 0]:
                        code[i, k] = 0
                        lowest = k + 1
                    elif code[i, k] == 1 and occ[rr, cc, 2] < zs[i, k] < occ[rr, cc, 1]:
                        code[i, k] = 2
        if lowest >= nz:
            return
    t_in = t0
    while True:
        z_in = zs[i, lowest] + dz * t_in
        if z_in >= occ[row, col, 3]:  # nothing in this block: leave it
            br = row >> shift
            bc = col >> shift
            if z_in >= clear[br, bc]:  # nor anywhere it can still reach: done
                return
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
                # the row it crosses the face in, kept in the block and the raster (at a
                # corner on the raster's edge rounding can put it one past)
                row = min(max(int(math.floor(v + dv * tc)), br * bs),
                          min(br * bs + bs, ny) - 1)
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
                col = min(max(int(math.floor(u + du * tr)), bc * bs),
                          min(bc * bs + bs, nx) - 1)
                if step_c > 0:
                    t_next_c = (col + 1 - u) / du
                elif step_c < 0:
                    t_next_c = (col - u) / du
            continue
        t_out = min(t_next_c, t_next_r)
        top = occ[row, col, 0]
        ct = occ[row, col, 1]
        rise = dz * t_in
        if zs[i, lowest] + rise < top:  # the heights ascend: blocked points are the lowest ones
            for k in range(lowest, nz):
                if zs[i, k] + rise >= top:
                    break
                code[i, k] = 0
                lowest = k + 1
            if lowest >= nz:
                return
        z_low = zs[i, lowest] + rise
        if z_low < ct:  # the ray may cross this cell's crown (ct is -inf without one)
            cb = occ[row, col, 2]
            rise_out = dz * min(t_out, t1)
            for k in range(lowest, nz):
                if code[i, k] == 1 and zs[i, k] + rise < ct and zs[i, k] + rise_out > cb:
                    code[i, k] = 2
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
def sun_codes_columns(uv, zs, sun, occ, shift, clear, z_max, code):  # pragma: no cover - numba
    """Codes of points on verticals: ``uv (m, 2)``, ``zs (m, k)`` ascending per row,
    ``sun (3,)`` (``du, dv, dz``), ``occ``, ``shift`` and ``clear`` as in
    :func:`_trace_column`, output ``code (m, k) int8``."""
    m, nz = zs.shape
    for i in nb.prange(m):
        _trace_column(i, uv[i, 0], uv[i, 1], zs, nz, sun[0], sun[1], sun[2], occ, shift,
                      clear, z_max, code)


@nb.njit(cache=True)
def mean_share(code, lut, share):  # pragma: no cover - numba
    """Mean beam share ``lut[code]`` along the rows of ``code (m, k) int8`` (summed in
    order in float32), ``share (m,) float32``."""
    m, nz = code.shape
    for i in range(m):
        acc = np.float32(0.0)
        for k in range(nz):
            acc += lut[code[i, k]]
        share[i] = acc / np.float32(nz)


@nb.njit(cache=True)
def clear_heights(block_max, bs, du, dv, dz, clear):  # pragma: no cover - numba
    """Per block, a height ``clear`` [m] above which a ray of direction ``du, dv, dz`` (cells,
    cells, metres per unit length, ``dz > 0``) anywhere in the block meets no occluder on its
    way on: the highest ``block_max`` of the blocks it can reach, less the least rise before
    it reaches them (it rises ``dz`` per unit length).

    ``block_max (nby, nbx)`` is the highest occluder of each ``bs`` square block [m]. Along
    the dominant axis (the larger of ``|du|, |dv|``) a ray from block ``b`` first enters the
    block ``k`` further on after at least ``(k - 1) bs`` cells, so it has risen by
    ``dz (k - 1) bs / |d_dominant|``; on the other axis it has moved by ``s`` times as much
    (``s = |d_minor| / |d_dominant| <= 1``), which bounds the blocks it can be in there
    (widened by 1e-6 cells either side for rounding). A margin of 1e-6 m covers the rounding of the walk's
    heights. Output ``clear (nby, nbx) float64``.

    The cost is a few blocks per block and per block-column ahead, until the rise exceeds the
    highest block: under 1 ms for a 63 x 63 block grid even at a 5 deg sun.
    """
    nby, nbx = block_max.shape
    top = -np.inf
    for i in range(nby):
        for j in range(nbx):
            top = max(top, block_max[i, j])
    along_c = abs(du) >= abs(dv)
    d_dom = abs(du) if along_c else abs(dv)
    d_min = abs(dv) if along_c else abs(du)
    step_dom = (1 if du > 0 else -1) if along_c else (1 if dv > 0 else -1)
    step_min = (1 if dv > 0 else (-1 if dv < 0 else 0)) if along_c else \
        (1 if du > 0 else (-1 if du < 0 else 0))
    n_dom = nbx if along_c else nby
    n_min = nby if along_c else nbx
    s = d_min / d_dom if d_dom > 0.0 else 0.0
    for br in range(nby):
        for bc in range(nbx):
            w = np.float64(block_max[br, bc])
            b_dom = bc if along_c else br
            b_min = br if along_c else bc
            if d_dom > 0.0:
                for k in range(n_dom):
                    i_dom = b_dom + step_dom * k
                    if i_dom < 0 or i_dom >= n_dom:
                        break
                    rise = dz * (max(k - 1, 0) * bs) / d_dom
                    if top - rise <= w:  # nothing further on can be higher
                        break
                    # cells across from the block's near side: s (k - 1) bs .. bs + s (k + 1) bs
                    j_lo = max(int(math.floor((s * (max(k - 1, 0) * bs) - 1e-6) / bs)), 0)
                    j_hi = int(math.floor((bs + s * ((k + 1) * bs) + 1e-6) / bs))
                    for j in range(j_lo, j_hi + 1):
                        i_min = b_min + step_min * j
                        if i_min < 0 or i_min >= n_min:
                            break
                        z = block_max[i_min, i_dom] if along_c else block_max[i_dom, i_min]
                        w = max(w, z - rise)
            clear[br, bc] = w + 1e-6
