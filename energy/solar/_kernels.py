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


@nb.njit(cache=True, parallel=True)
def count_front(normals, dirs, eps, counts):  # pragma: no cover - numba
    """Per sensor, the number of directions in front of its surface (``n . d > eps``)."""
    n = normals.shape[0]
    m = dirs.shape[0]
    for s in nb.prange(n):
        c = 0
        for j in range(m):
            if (
                normals[s, 0] * dirs[j, 0] + normals[s, 1] * dirs[j, 1] + normals[s, 2] * dirs[j, 2]
                > eps
            ):
                c += 1
        counts[s] = c


@nb.njit(cache=True, parallel=True)
def fill_rays(
    points, normals, dirs, cos_dirs, eps, offsets, origins_out, dirs_out, dj_out, cos_out
):  # pragma: no cover
    """Ray origins/directions (float32) for every (sensor, direction) pair in front of the surface.

    ``points`` are already relative to the scene origin. ``cos_dirs`` give the incidence cosine
    (for horizon elements a horizontal vector, else equal to ``dirs``); pairs are kept when both
    the ray and the cosine direction are in front.
    """
    n = normals.shape[0]
    m = dirs.shape[0]
    for s in nb.prange(n):
        k = offsets[s]
        nx, ny, nz = normals[s, 0], normals[s, 1], normals[s, 2]
        for j in range(m):
            if nx * dirs[j, 0] + ny * dirs[j, 1] + nz * dirs[j, 2] > eps:
                c = nx * cos_dirs[j, 0] + ny * cos_dirs[j, 1] + nz * cos_dirs[j, 2]
                origins_out[k, 0] = points[s, 0]
                origins_out[k, 1] = points[s, 1]
                origins_out[k, 2] = points[s, 2]
                dirs_out[k, 0] = dirs[j, 0]
                dirs_out[k, 1] = dirs[j, 1]
                dirs_out[k, 2] = dirs[j, 2]
                dj_out[k] = j
                cos_out[k] = c if c > 0.0 else 0.0
                k += 1


@nb.njit(cache=True, parallel=True)
def scatter_coefficients(
    offsets, dj, cos, code, element, weight, c_open, c_tree, ideal
):  # pragma: no cover
    """Daylight coefficients per sensor from its ray results (one thread per sensor).

    ``weight`` is the solid angle of a patch ray, or minus the azimuth width of a horizon ray
    (the sign tells them apart). ``ideal (n, 2)`` receives the unobstructed sums over patches
    (column 0) and the horizon band (column 1), used to normalise the coefficients.
    """
    n = offsets.shape[0] - 1
    for s in nb.prange(n):
        for k in range(offsets[s], offsets[s + 1]):
            j = dj[k]
            w = weight[j]
            hz = w < 0.0
            v = cos[k] * (-w if hz else w)
            e = element[j]
            if hz:
                ideal[s, 1] += v
            else:
                ideal[s, 0] += v
            if code[k] == 1:
                c_open[s, e] += v
            elif code[k] == 2:
                c_tree[s, e] += v


@nb.njit(cache=True, parallel=True)
def scatter_visibility(offsets, dj, code, vis):  # pragma: no cover - numba
    """Visibility codes of the pairs into ``vis (n, b) int8`` (0 where no ray was cast)."""
    n = offsets.shape[0] - 1
    for s in nb.prange(n):
        for k in range(offsets[s], offsets[s + 1]):
            vis[s, dj[k]] = code[k]


@nb.njit(cache=True, parallel=True)
def surface_visible_area(vis, weight, seg, out):  # pragma: no cover - numba
    """Visible sensor area per surface segment and sun bin.

    vis (n, b) i1; weight (n,) f8 [m2]; seg (k + 1,) i8: segment ``j`` is sensors
    ``seg[j]:seg[j+1]``; out (k, b, 2) f8: area seen free (code 1) and through crowns (code 2).
    """
    k = seg.shape[0] - 1
    nb_ = vis.shape[1]
    for j in nb.prange(k):
        for s in range(seg[j], seg[j + 1]):
            w = weight[s]
            for b in range(nb_):
                c = vis[s, b]
                if c == 1:
                    out[j, b, 0] += w
                elif c == 2:
                    out[j, b, 1] += w


@nb.njit(cache=True, parallel=True)
def surface_beam_hourly(
    normals, area_vis, sun_dir, beam, sun_bin, tau, group, out
):  # pragma: no cover
    """Beam power per group and hour from per-surface visible areas (one thread per hour).

    normals (k, 3) f8 of the surfaces; area_vis (k, b, 2) f8 [m2]; group (k,) i8 (-1 skip);
    out (g, h) f8 [W], added to.
    """
    k = normals.shape[0]
    h = sun_dir.shape[0]
    for t in nb.prange(h):
        b = sun_bin[t]
        for j in range(k):
            g = group[j]
            if g < 0:
                continue
            c = (
                normals[j, 0] * sun_dir[t, 0]
                + normals[j, 1] * sun_dir[t, 1]
                + normals[j, 2] * sun_dir[t, 2]
            )
            if c <= 0.0:
                continue
            a = area_vis[j, b, 0] + tau[t] * area_vis[j, b, 1]
            if a > 0.0:
                out[g, t] += beam[t] * c * a


@nb.njit(cache=True, parallel=True)
def infer_sun_visibility(
    normals, dirs, eps, sample_col, dep_offsets, dep_bins, vis_s, vis, need, counts, inferred
):  # pragma: no cover - numba
    """Sun-bin codes from the cast samples, and the bins whose own ray is needed.

    normals (n, 3) f8; dirs (b, 3) f8; sample_col (b,) i8 (-1 for a dependent bin);
    dep_offsets (b + 1,) i8 and dep_bins (k,) i8: the samples each dependent bin depends on;
    vis_s (n, q) i1: the samples' codes, -1 where no ray was cast (behind the surface).
    Writes vis (n, b) i1 (samples and agreeing dependent bins), need (n, b) u1 (1: cast this
    bin), counts (n,) i8 (bins to cast per sensor), inferred (n,) i8 (bins set without a ray).
    """
    n = normals.shape[0]
    b = dirs.shape[0]
    for s in nb.prange(n):
        nx, ny, nz = normals[s, 0], normals[s, 1], normals[s, 2]
        c = 0
        q = 0
        for j in range(b):
            col = sample_col[j]
            if col >= 0:
                v = vis_s[s, col]
                vis[s, j] = v if v > 0 else 0
                continue
            if nx * dirs[j, 0] + ny * dirs[j, 1] + nz * dirs[j, 2] <= eps:
                continue  # behind the surface: 0, no ray (as sun_visibility)
            v0 = -2
            ok = dep_offsets[j + 1] > dep_offsets[j]
            for k in range(dep_offsets[j], dep_offsets[j + 1]):
                v = vis_s[s, sample_col[dep_bins[k]]]
                if v < 0 or (v0 != -2 and v != v0):
                    ok = False
                    break
                v0 = v
            if ok:
                vis[s, j] = v0
                q += 1
            else:
                need[s, j] = 1
                c += 1
        counts[s] = c
        inferred[s] = q


@nb.njit(cache=True, parallel=True)
def fill_needed_rays(points, dirs, need, offsets, origins_out, dirs_out, dj_out):  # pragma: no cover
    """Float32 rays of the (sensor, bin) pairs flagged in ``need (n, b) u1``, sensor by sensor
    from ``offsets (n + 1,)``; ``points`` relative to the scene origin."""
    n = points.shape[0]
    b = dirs.shape[0]
    for s in nb.prange(n):
        k = offsets[s]
        for j in range(b):
            if need[s, j]:
                origins_out[k, 0] = points[s, 0]
                origins_out[k, 1] = points[s, 1]
                origins_out[k, 2] = points[s, 2]
                dirs_out[k, 0] = dirs[j, 0]
                dirs_out[k, 1] = dirs[j, 1]
                dirs_out[k, 2] = dirs[j, 2]
                dj_out[k] = j
                k += 1


@nb.njit(cache=True)
def compact_rays(o, d, keep, o_out, d_out, idx_out):  # pragma: no cover - numba
    """Copy the rays flagged in ``keep (n,) bool`` (origins, directions (n, 3) f4) to the front
    of ``o_out``/``d_out`` and their indices to ``idx_out (n,) i8``; returns how many."""
    k = 0
    for i in range(keep.shape[0]):
        if keep[i]:
            o_out[k, 0] = o[i, 0]
            o_out[k, 1] = o[i, 1]
            o_out[k, 2] = o[i, 2]
            d_out[k, 0] = d[i, 0]
            d_out[k, 1] = d[i, 1]
            d_out[k, 2] = d[i, 2]
            idx_out[k] = i
            k += 1
    return k
