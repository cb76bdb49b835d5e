"""Crown segmentation helpers on a canopy height model: tree tops by prominence, crown base.

Tree tops are local maxima of the smoothed canopy height model (CHM) that stand out from every
higher neighbour crown by at least ``min_prominence_m`` (topographic prominence, the h-maxima of
mathematical morphology). A fixed or height-scaled search window alone misses the top of a
small tree next to a tall one, whose flank inside the window is higher than the small tree's
top; prominence judges each top by the saddle between it and the higher crown instead.

The crown base is read from the crown's lower envelope: in each ring around the top beyond the
stem, the lowest point less the spacing of the ring's lowest points (pulses from above rarely
reach a crown's underside: in the synthetic district the lowest crown return lies a median 0.8 m
above the true base, measured with the simulator's per-point truth), fitted by the lower half of
an ellipse and taken at the stem. Returns of the trunk and of plants under the crown are left
out. The former estimate, a low percentile of all the crown's points, was 1.1 m too high.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lidar.vegetation._kernels import prominence

__all__ = ["tree_tops", "segment_crowns", "crown_base_from_envelope"]

#: Rings around a tree top used for the crown's lower envelope (on the radius / crown radius).
ENVELOPE_RINGS = 10
#: Inner rings left out of the envelope fit (trunk returns below the crown) [share of crown radius].
ENVELOPE_INNER = 0.3
#: Lowest points of a ring whose spacing gives the distance from the lowest one to the underside.
TAIL_POINTS = 3


def _local_maxima(sm: np.ndarray, mask: np.ndarray, radius_cells: np.ndarray) -> np.ndarray:
    """Cells not lower than any cell within their own disc radius ``radius_cells`` (same shape)."""
    is_top = np.zeros(sm.shape, dtype=bool)
    for r in np.unique(radius_cells[mask]):  # a few window sizes, not a loop over cells
        r = int(r)
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        fp = yy**2 + xx**2 <= r * r
        is_top |= (radius_cells == r) & (sm >= ndimage.maximum_filter(sm, footprint=fp, mode="constant", cval=0.0))
    return is_top & mask


def _watershed(sm: np.ndarray, markers: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Marker-controlled watershed of the inverted CHM inside ``mask`` (labels 1..n, 0 outside)."""
    top = max(float(sm.max()), 1e-6)
    inv = np.round(np.clip(top - sm, 0, None) * (60000.0 / top)).astype(np.uint16)
    m = markers.astype(np.int32).copy()
    m[~ndimage.binary_dilation(mask)] = -1
    seg = ndimage.watershed_ift(inv, m)
    seg[~mask | (seg < 0)] = 0
    return seg


def tree_tops(
    sm: np.ndarray, mask: np.ndarray, radius_cells: np.ndarray, min_prominence_m: float, *, small_radius_cells: int = 1
) -> np.ndarray:
    """Tree-top markers on a smoothed CHM: windowed local maxima, plus prominent smaller maxima.

    A top is a local maximum within its height-dependent window ``radius_cells``, or a local
    maximum within ``small_radius_cells`` that stands at least ``min_prominence_m`` above the
    highest saddle to any higher crown (the top of a small tree beside a tall one, whose flank
    reaches into the small tree's window).

    Parameters
    ----------
    sm : (ny, nx) float64
        Smoothed canopy height model [m above ground].
    mask : (ny, nx) bool
        Crown cells (tall enough to belong to a tree).
    radius_cells : (ny, nx) int
        Local-maximum search radius per cell [cells].
    min_prominence_m : float
        Prominence that makes a small-window maximum a top [m]: the highest saddle between it and
        any higher crown lies at least this far below it.
    small_radius_cells : int
        Search radius of the candidate maxima [cells].

    Returns
    -------
    (ny, nx) int32
        Top labels 1..n (connected top cells share a label), 0 elsewhere.
    """
    windowed = _local_maxima(sm, mask, radius_cells)
    small = np.minimum(radius_cells, small_radius_cells)
    cand, n = ndimage.label(_local_maxima(sm, mask, small) | windowed, structure=np.ones((3, 3)))
    if n == 0:
        return cand.astype(np.int32)
    prom = prominence(np.asarray(sm, dtype=np.float64), np.asarray(mask, dtype=bool))
    # a plateau top: its cells share a label; its prominence sits on one of them
    top_prom = np.zeros(n + 1)
    np.maximum.at(top_prom, cand.ravel(), prom.ravel())
    keep = top_prom >= min_prominence_m
    keep |= np.bincount(cand[windowed], minlength=n + 1) > 0
    keep[0] = False
    lab, _ = ndimage.label(keep[cand], structure=np.ones((3, 3)))
    return lab.astype(np.int32)


def segment_crowns(sm: np.ndarray, tops: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Crown labels: marker-controlled watershed from ``tops`` on the inverted CHM, inside ``mask``.

    Parameters
    ----------
    sm : (ny, nx) float64
        Smoothed canopy height model [m].
    tops : (ny, nx) int
        Top labels 1..n from :func:`tree_tops`.
    mask : (ny, nx) bool
        Crown cells.

    Returns
    -------
    (ny, nx) int32
        Crown label of each cell (the label of its top), 0 outside crowns.
    """
    return _watershed(sm, tops, mask)


def _ring_underside(label: np.ndarray, r_rel: np.ndarray, h_m: np.ndarray, n: int, use: np.ndarray):
    """Per (crown, ring) with at least :data:`TAIL_POINTS` points: the underside height [m].

    The lowest of k points spread over a height range lies, on average, one spacing above the
    range's bottom; the spacing is read from the ring's lowest points (order statistics:
    ``h1 - (h_k - h1) / (k - 1)``), so it is the local one at the crown's underside, however the
    points thin out there. Returns the crown label, the radius of the lowest point [-] and the
    corrected height of each such ring.
    """
    k = TAIL_POINTS
    ring = np.floor(np.clip(r_rel, 0.0, 0.9999) * ENVELOPE_RINGS).astype(np.int64)
    key = (label * ENVELOPE_RINGS + ring)[use]
    h, r = h_m[use], r_rel[use]
    o = np.lexsort((h, key))
    key, h, r = key[o], h[o], r[o]
    if key.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, key.size])
    s0 = starts[counts >= k]
    z = h[s0] - (h[s0 + k - 1] - h[s0]) / (k - 1)
    return key[s0] // ENVELOPE_RINGS, r[s0], z


def _line_fits(lab: np.ndarray, x: np.ndarray, z: np.ndarray, n: int):
    """Least-squares ``z = a + b x`` per crown: a, b, residual sum of squares, count (each (n+1,))."""
    cnt = np.bincount(lab, minlength=n + 1).astype(np.float64)
    sx, sz = np.bincount(lab, x, n + 1), np.bincount(lab, z, n + 1)
    sxx, sxz, szz = np.bincount(lab, x * x, n + 1), np.bincount(lab, x * z, n + 1), np.bincount(lab, z * z, n + 1)
    den = cnt * sxx - sx * sx
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(np.abs(den) > 1e-9 * np.maximum(cnt, 1) ** 2, (cnt * sxz - sx * sz) / den, np.nan)
        a = (sz - b * sx) / cnt
    rss = szz - 2 * a * sz - 2 * b * sxz + a * a * cnt + 2 * a * b * sx + b * b * sxx
    return a, b, np.maximum(rss, 0.0), cnt


def crown_base_from_envelope(
    label: np.ndarray, r_rel: np.ndarray, h_m: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Crown base of each crown from the lower envelope of its points.

    In each of :data:`ENVELOPE_RINGS` rings around the top (radius over crown radius; the
    inner :data:`ENVELOPE_INNER` is left out: trunk and understorey returns near the stem are
    not crown) the lowest points trace the crown's underside: the lowest one lies about one
    point spacing above it, so the spacing of the ring's :data:`TAIL_POINTS` lowest points is
    taken off (:func:`_ring_underside`). A least-squares fit of ``h = z0 - c sqrt(1 - rho^2)``
    through these ring undersides (an ellipse's lower half for a broadleaf crown, ``c = 0``
    for a flat conifer base) gives the underside at the stem, ``z0 - c``, bounded by 0 and the
    lowest ring underside.

    Parameters
    ----------
    label : (k,) int
        Crown label of each vegetation point, 1..n (0: outside crowns, ignored).
    r_rel : (k,) float64
        Horizontal distance of each point to its crown's top over the crown radius [-].
    h_m : (k,) float64
        Height of each point above ground [m].
    n : int
        Number of crowns.

    Returns
    -------
    base_m : (n,) float64
        Crown base above ground [m].
    fitted : (n,) bool
        Whether the envelope fit was used (False: fewer than 3 rings with enough points or a
        degenerate fit; ``base_m`` is then the lowest ring underside, else the lowest crown point).
    """
    label = np.asarray(label, dtype=np.int64)
    r_rel = np.asarray(r_rel, dtype=np.float64)
    h_m = np.asarray(h_m, dtype=np.float64)
    lowest = np.full(n + 1, np.inf)
    np.minimum.at(lowest, label, h_m)
    use = (label > 0) & (r_rel < 1.0) & (r_rel >= ENVELOPE_INNER)
    lab, r_lo, z_lo = _ring_underside(label, r_rel, h_m, n, use)
    env_low = np.full(n + 1, np.inf)
    np.minimum.at(env_low, lab, z_lo)
    z0, slope, _, cnt = _line_fits(lab, np.sqrt(np.clip(1.0 - r_lo**2, 0.0, 1.0)), z_lo, n)
    at_stem = z0 + slope  # slope = -c
    fitted = (cnt >= 3) & np.isfinite(at_stem)
    low = np.where(np.isfinite(env_low), env_low, np.where(np.isfinite(lowest), lowest, 0.0))
    base = np.maximum(np.where(fitted, np.minimum(at_stem, low), low), 0.0)
    return base[1:], fitted[1:]
