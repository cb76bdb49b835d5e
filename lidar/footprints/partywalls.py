"""Party walls: split a connected block of building points into houses (private helper of
:mod:`lidar.footprints.extraction`).

Rows of touching houses (terraces, courtyard blocks) come out of the connectivity segmentation
as one piece. A party wall shows as a **straight line across the piece, parallel to its main
walls**, along which the roof changes:

- its height steps (a DSM of the piece's highest points; the step across the line minus the
  larger of the slopes on either side, so a sloping roof, a ridge or a hip line gives none);
- a valley: the roof descends towards the line from one or both sides (rise on the right minus
  rise on the left, over 1 m each side, above ``valley_slope``), as where the hip or mansard ends
  of two houses meet; lines across one roof are ridges and hips, which are convex;
- its colour changes, when an RGBN orthophoto is given: the chromaticity (r, g) = (R, G) /
  (R + G + B) of the roof pixels, which does not change with shading, averaged over a band of
  ``band_m`` on each side of the line (vegetation pixels, NDVI above 0.2, and the outermost
  half metre of the roof are left out). The two bands' means over the whole line must differ by
  more than ``chroma_step`` and by five standard errors (so pixel noise never decides), and a
  cell of the line breaks where its own band difference points the same way by at least half.

In the piece's own frame (main direction = x axis) every line between two columns (and between
two rows) of the raster is cut into runs of cells that are roof on both sides; a run is a party
wall when it is ``min_cut_m`` to ``max_cut_m`` long, when at least half of its cells carry a
cue and at least ``min_share`` of those show a break. Of the runs within a band's width of each
other, the strongest is kept. The piece's cells are then labelled with the accepted lines as
barriers and pieces smaller than ``min_part_m2`` are merged back into their neighbour: a split
never leaves a sliver and never cuts a roof that is continuous in height and colour.
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy import ndimage

from citymodel.crs import transformer_to_raster
from citymodel.errors import InputError
from lidar.footprints.common import dominant_orientation, linked_components, neighbour_pairs, rotate
from lidar.terrain.dtm import highest_per_cell

__all__: list[str] = []


class _Ortho:
    """An RGBN orthophoto window held in memory, sampled at points of the cloud's CRS."""

    def __init__(self, rgbn: np.ndarray, transform, to_raster=None):
        self.rgbn = rgbn  # (4, rows, cols) float64, NaN on nodata
        self.inv = ~transform
        self.to_raster = to_raster  # pyproj Transformer cloud CRS -> raster CRS, or None

    def sample(self, xy: np.ndarray) -> np.ndarray:
        """``(n, 4)`` R, G, B, NIR at ``xy`` [m] (nearest pixel; NaN outside)."""
        out = np.full((xy.shape[0], 4), np.nan)
        if xy.shape[0] == 0:
            return out
        if self.to_raster is not None:
            xy = np.column_stack(self.to_raster.transform(xy[:, 0], xy[:, 1]))
        cols, rows = self.inv @ (xy[:, 0], xy[:, 1])
        rows = np.floor(rows).astype(np.int64)
        cols = np.floor(cols).astype(np.int64)
        _, nr, nc = self.rgbn.shape
        ok = (rows >= 0) & (rows < nr) & (cols >= 0) & (cols < nc)
        out[ok] = self.rgbn[:, rows[ok], cols[ok]].T
        return out


def read_ortho(path: str | os.PathLike, bounds: tuple[float, float, float, float], epsg: int | None,
               pad_m: float = 5.0) -> _Ortho | None:
    """The window of an RGB(N) orthophoto that covers ``bounds`` (xmin, ymin, xmax, ymax) [m] in
    ``epsg``; None when it does not overlap them."""
    import rasterio
    from rasterio.windows import Window

    try:
        src = rasterio.open(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot open the orthophoto ({exc}); give an RGBN GeoTIFF") from exc
    with src:
        if src.count < 3:
            raise InputError(f"{path}: has {src.count} band(s); party-wall colours need red, green and blue "
                             "(bands 1-3, near-infrared as band 4 when there is one); give an RGB(N) orthophoto")
        to_raster = transformer_to_raster(epsg, src.crs, path)
        x0, y0, x1, y1 = bounds
        cx = np.array([x0 - pad_m, x1 + pad_m, x1 + pad_m, x0 - pad_m])
        cy = np.array([y0 - pad_m, y0 - pad_m, y1 + pad_m, y1 + pad_m])
        if to_raster is not None:
            cx, cy = to_raster.transform(cx, cy)
        cols, rows = (~src.transform) @ (np.asarray(cx), np.asarray(cy))
        c0, c1 = max(int(np.floor(np.min(cols))), 0), min(int(np.ceil(np.max(cols))), src.width)
        r0, r1 = max(int(np.floor(np.min(rows))), 0), min(int(np.ceil(np.max(rows))), src.height)
        if c1 <= c0 or r1 <= r0:
            return None
        win = Window(c0, r0, c1 - c0, r1 - r0)
        data = src.read([1, 2, 3, 4][: min(src.count, 4)], window=win, masked=True).astype(np.float64)
        rgbn = np.ma.filled(data, np.nan)
        if rgbn.shape[0] == 3:  # RGB only: no NDVI test on roof pixels
            rgbn = np.concatenate([rgbn, np.full((1,) + rgbn.shape[1:], np.nan)])
        return _Ortho(rgbn, src.window_transform(win), to_raster)


def _colour_features(rgbn: np.ndarray, min_sum: float = 20.0, max_ndvi: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Chromaticity ``(n, 2)`` and its validity ``(n,)`` of ``(n, 4)`` RGBN samples."""
    s = rgbn[:, 0] + rgbn[:, 1] + rgbn[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        chroma = rgbn[:, :2] / s[:, None]
        ndvi = (rgbn[:, 3] - rgbn[:, 0]) / (rgbn[:, 3] + rgbn[:, 0])
    ok = np.isfinite(chroma).all(axis=1) & (s >= min_sum) & ~(ndvi > max_ndvi)
    return np.where(ok[:, None], chroma, 0.0), ok


def _runs(both: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along axis 1 of ``both`` (nb, ny): run id per cell (-1 outside), and per run
    its line index, first cell and length."""
    nb, ny = both.shape
    b = np.zeros((nb, ny + 1), bool)
    b[:, :ny] = both
    flat = b.ravel()
    start = flat & ~np.r_[False, flat[:-1]]
    rid = np.cumsum(start) - 1
    rid[~flat] = -1
    first = np.flatnonzero(start)
    length = np.bincount(rid[flat], minlength=first.size)
    rid = rid.reshape(nb, ny + 1)[:, :ny]
    return rid, first // (ny + 1), first % (ny + 1), length


def _line_cuts(mask, z, chroma, cvalid, u, k, cell_m, *, step_m, valley_slope, chroma_step, min_share, min_cut_m,
               max_cut_m):
    """Accepted party-wall lines between cells ``i`` and ``i + 1`` (axis 0): ``(nx - 1, ny)`` bool."""
    nx, ny = mask.shape
    cut = np.zeros((max(nx - 1, 0), ny), bool)
    if nx < 2 * u + 2:
        return cut
    both = mask[:-1] & mask[1:]
    # height: the step across the line minus the larger slope beside it (u cells = one DSM cell)
    broken = np.zeros(both.shape, bool)
    valid = np.zeros(both.shape, bool)
    strength = np.zeros(both.shape)
    i = np.arange(u, nx - 1 - u)
    d0 = z[i + 1] - z[i]
    dl = z[i] - z[i - u]
    dr = z[i + 1 + u] - z[i + 1]
    step = np.abs(d0) - np.maximum(np.abs(dl), np.abs(dr))
    vh = both[i] & mask[i - u] & mask[i + 1 + u]
    valid[i] = vh
    broken[i] = vh & (step > step_m)
    strength[i] = np.where(vh, np.clip(step / step_m, 0, 50), 0.0)
    # a valley: the roof descends towards the line from both sides (or from one side onto a
    # roof that does not rise from it), the concave kink where two houses' roofs meet; within
    # one roof, lines across it are ridges and hips (convex). Slopes over q cells (1 m).
    q = 2 * u
    i = np.arange(q, nx - 1 - q)
    if i.size:
        s_l = (z[i] - z[i - q]) / (q * cell_m)  # rise towards the line from the left [m/m]
        s_r = (z[i + 1 + q] - z[i + 1]) / (q * cell_m)  # rise away from the line on the right
        concave = s_r - s_l
        vv = both[i] & mask[i - q] & mask[i + 1 + q]
        valid[i] |= vv
        broken[i] |= vv & (concave > valley_slope)
        strength[i] += np.where(vv, np.clip(concave / valley_slope, 0, 50), 0.0)
    rid, line, j0, length = _runs(both)
    if line.size == 0:
        return cut
    sel = rid >= 0
    r = rid[sel]
    if chroma is not None:
        # per cell of the line: sums of the chromaticity (and its square) over the k cells on each side
        w = cvalid.astype(np.float64)
        zero = np.zeros((1, ny, 2))
        cs = np.concatenate([zero, np.cumsum(chroma * w[..., None], axis=0)])
        cq = np.concatenate([zero, np.cumsum(chroma**2 * w[..., None], axis=0)])
        cn = np.concatenate([np.zeros((1, ny)), np.cumsum(w, axis=0)])
        ib = np.arange(nx - 1)
        a_l, b_l = np.maximum(ib - k + 1, 0), ib + 1
        a_r, b_r = ib + 1, np.minimum(ib + 1 + k, nx)
        n_l, n_r = cn[b_l] - cn[a_l], cn[b_r] - cn[a_r]
        s_l, s_r = cs[b_l] - cs[a_l], cs[b_r] - cs[a_r]
        q_l, q_r = cq[b_l] - cq[a_l], cq[b_r] - cq[a_r]
        vc = both & (n_l >= max(2, k // 2)) & (n_r >= max(2, k // 2))
        # per run: the mean colours of the two bands and the standard error of their difference
        # (pixel noise averages out over the whole line, not over one cell's band)
        nr = line.size
        vcs = vc[sel]

        def run_sum(a):
            return np.bincount(r[vcs], weights=a[sel][vcs], minlength=nr)

        N_l, N_r = run_sum(n_l), run_sum(n_r)
        with np.errstate(invalid="ignore", divide="ignore"):
            M_l = np.column_stack([run_sum(s_l[..., c]) for c in (0, 1)]) / N_l[:, None]
            M_r = np.column_stack([run_sum(s_r[..., c]) for c in (0, 1)]) / N_r[:, None]
            V_l = np.column_stack([run_sum(q_l[..., c]) for c in (0, 1)]) / N_l[:, None] - M_l**2
            V_r = np.column_stack([run_sum(q_r[..., c]) for c in (0, 1)]) / N_r[:, None] - M_r**2
            diff = np.nan_to_num(M_r - M_l)
            D = np.hypot(diff[:, 0], diff[:, 1])
            se = np.sqrt(np.nan_to_num(np.maximum(V_l, 0).sum(axis=1) / N_l + np.maximum(V_r, 0).sum(axis=1) / N_r))
            run_ok = (D > chroma_step) & (D > 5.0 * se)
            # a cell breaks when its own band difference points the run's way by at least half of it
            m_l = s_l / n_l[..., None]
            m_r = s_r / n_r[..., None]
        unit = np.zeros((nr, 2))
        unit[D > 0] = diff[D > 0] / D[D > 0, None]
        rr = np.where(sel, rid, 0)
        proj = ((m_r - m_l) * unit[rr]).sum(axis=-1)
        broken |= sel & vc & run_ok[rr] & (proj > 0.5 * D[rr])
        valid |= vc
        strength += np.where(sel & vc & run_ok[rr], np.clip(D[rr] / chroma_step, 0, 50), 0.0)
    n_valid = np.bincount(r, weights=valid[sel], minlength=line.size)
    n_broken = np.bincount(r, weights=(broken & valid)[sel], minlength=line.size)
    s_sum = np.bincount(r, weights=strength[sel], minlength=line.size)
    length_m = length * cell_m
    ok = ((length_m >= min_cut_m) & (length_m <= max_cut_m) & (n_valid >= 0.5 * length)
          & (n_broken >= min_share * np.maximum(n_valid, 1)))
    cand = np.flatnonzero(ok)
    if cand.size == 0:
        return cut
    score = s_sum[cand] / length[cand]
    kept: list[int] = []
    for c in cand[np.argsort(-score, kind="stable")]:  # runs, not cells: a few per piece
        near = False
        for q in kept:
            if abs(int(line[q]) - int(line[c])) <= k + u and j0[q] < j0[c] + length[c] and j0[c] < j0[q] + length[q]:
                near = True
                break
        if not near:
            kept.append(int(c))
    for c in kept:
        cut[line[c], j0[c]: j0[c] + length[c]] = True
    return cut


def _label_with_cuts(mask: np.ndarray, cut_x: np.ndarray, cut_y: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of ``mask`` that do not cross the cut lines (0 = background)."""
    return linked_components(mask, ~cut_x, ~cut_y)


def split_piece(
    xyz: np.ndarray,
    ortho: _Ortho | None = None,
    *,
    cell_m: float = 0.5,
    min_part_m2: float = 20.0,
    step_m: float = 0.5,
    valley_slope: float = 0.6,
    chroma_step: float = 0.008,
    min_share: float = 0.7,
    min_cut_m: float = 4.0,
    max_cut_m: float = 20.0,
    band_m: float = 1.5,
) -> np.ndarray:
    """Sub-label ``(n,)`` int64 (0..k-1) of one connected piece's points ``(n, 3)`` [m]."""
    n = xyz.shape[0]
    zeros = np.zeros(n, np.int64)
    centre = xyz[:, :2].mean(axis=0)
    theta = dominant_orientation(xyz[:, :2] - centre, cell_m)
    loc = rotate(xyz[:, :2] - centre, -theta)
    u = 2 if ortho is not None else 1
    fine = cell_m / u
    lo = loc.min(axis=0) - 3 * cell_m
    ij = np.floor((loc - lo) / cell_m).astype(np.int64)
    shape = tuple(ij.max(axis=0) + 4)
    occ = np.zeros(shape, bool)
    occ[ij[:, 0], ij[:, 1]] = True
    mask = ndimage.binary_closing(occ, structure=np.ones((3, 3), bool)) | occ
    if mask.sum() * cell_m * cell_m < 2 * min_part_m2:
        return zeros
    dsm = highest_per_cell(ij[:, 0], ij[:, 1], xyz[:, 2], shape)
    empty = np.isnan(dsm)
    if empty.any():
        _, (ri, ci) = ndimage.distance_transform_edt(empty, return_indices=True)
        dsm = dsm[ri, ci]
    if u > 1:
        mask = np.repeat(np.repeat(mask, u, axis=0), u, axis=1)
        dsm = np.repeat(np.repeat(dsm, u, axis=0), u, axis=1)
    chroma = cvalid = None
    if ortho is not None:
        inner = ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), iterations=2)
        ci, cj = np.nonzero(inner)
        cxy = np.column_stack([lo[0] + (ci + 0.5) * fine, lo[1] + (cj + 0.5) * fine])
        wxy = rotate(cxy, theta) + centre
        feat, ok = _colour_features(ortho.sample(wxy))
        chroma = np.zeros(mask.shape + (2,))
        cvalid = np.zeros(mask.shape, bool)
        chroma[ci, cj] = feat
        cvalid[ci, cj] = ok
    k = max(2, int(round(band_m / fine)))
    kw = dict(step_m=step_m, valley_slope=valley_slope, chroma_step=chroma_step, min_share=min_share, min_cut_m=min_cut_m, max_cut_m=max_cut_m)
    cut_x = _line_cuts(mask, dsm, chroma, cvalid, u, k, fine, **kw)
    cut_y = _line_cuts(mask.T, dsm.T, None if chroma is None else chroma.transpose(1, 0, 2),
                       None if cvalid is None else cvalid.T, u, k, fine, **kw).T
    if not (cut_x.any() or cut_y.any()):
        return zeros
    lab, nlab = _label_with_cuts(mask, cut_x, cut_y)
    if nlab < 2:
        return zeros
    fij = np.floor((loc - lo) / fine).astype(np.int64)
    point_lab = lab[fij[:, 0], fij[:, 1]]
    # piece areas from their points (the raster's closing adds a rim to every piece)
    density = n / (occ.sum() * cell_m * cell_m)
    lab = _merge_small(lab, np.bincount(point_lab, minlength=nlab + 1) / density, min_part_m2)
    point_lab = lab[fij[:, 0], fij[:, 1]]
    _, sub = np.unique(point_lab, return_inverse=True)
    return sub.astype(np.int64)


def _merge_small(lab: np.ndarray, area_m2: np.ndarray, min_part_m2: float) -> np.ndarray:
    """Merge pieces smaller than ``min_part_m2`` (smallest first) into the neighbour they share
    the longest boundary with."""
    area = area_m2.astype(np.float64).copy()
    area[0] = np.inf
    for _ in range(area.size):  # pieces, not cells: a handful
        alive = np.unique(lab[lab > 0])
        small = alive[area[alive] < min_part_m2]
        if small.size == 0 or alive.size < 2:
            break
        c = small[np.argmin(area[small])]
        a, b = neighbour_pairs(lab)
        nb = np.concatenate([b[a == c], a[b == c]])
        nb = nb[(nb > 0) & (nb != c)]
        if nb.size == 0:
            area[c] = np.inf  # an island: leave it to the caller's size filter
            continue
        t = int(np.bincount(nb).argmax())
        lab = np.where(lab == c, t, lab)
        area[t] += area[c]
        area[c] = np.inf
    return lab


def split_party_walls(
    xyz: np.ndarray,
    labels: np.ndarray,
    ortho: _Ortho | None = None,
    *,
    cell_m: float = 0.5,
    min_part_m2: float = 20.0,
    **kwargs,
) -> np.ndarray:
    """Split every labelled piece at its party walls; returns new labels 0..k-1 (-1 kept)."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.full(labels.size, -1, np.int64)
    order = np.argsort(labels, kind="stable")
    sl = labels[order]
    bounds = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True])
    next_id = 0
    min_points = int(math.ceil(2 * min_part_m2))  # at least one point per m2 on two houses
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):  # pieces, not points
        if sl[s] < 0:
            continue
        idx = order[s:e]
        sub = np.zeros(idx.size, np.int64)
        if idx.size >= min_points:
            sub = split_piece(xyz[idx], ortho, cell_m=cell_m, min_part_m2=min_part_m2, **kwargs)
        out[idx] = next_id + sub
        next_id += int(sub.max()) + 1
    return out
