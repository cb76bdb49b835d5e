"""BuildingParts that overlap (val3dity 601): volume shared by two closed solids.

The shared volume is integrated over vertical lines: on a grid of sample points in the
overlap of the two bounding boxes, each line's intervals inside each solid come from its
crossings with the solids' polygons (even-odd parity, no triangulation needed), and the length
inside both is summed. Touching parts (a shared wall or floor) give zero; the grid cell is at
least 5 cm, fine enough for up to 4,096 lines.

Like val3dity's ``overlap_tol``, a penetration shallower than ``OVERLAP_DEPTH_TOL_M`` does not
count: a line counts only where it and four lines offset by that depth (x and y, both ways) all
overlap, and by its overlap length minus twice the depth (millimetre slivers along shared walls
are quantisation noise, not overlapping parts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from citymodel.tolerances import OVERLAP_DEPTH_TOL_M
from citymodel.validation._kernels import vertical_overlap_lengths

__all__ = ["SolidRings", "solid_rings", "overlap_volume_m3"]

#: Largest number of vertical sample lines per pair of solids.
MAX_SAMPLES = 4096
#: Finest sample spacing [m].
MIN_CELL_M = 0.05
# irrational offsets so that sample lines do not run exactly along edges or through vertices
_JITTER = np.array([0.3819660112501051, 0.6180339887498949])


@dataclass
class SolidRings:
    """One closed shell as flat rings (see ``_kernels.vertical_overlap_lengths``)."""

    xy: np.ndarray
    ring_start: np.ndarray
    ring_len: np.ndarray
    ring_poly: np.ndarray
    plane: np.ndarray
    box: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def args(self) -> tuple[np.ndarray, ...]:
        return self.xy, self.ring_start, self.ring_len, self.ring_poly, self.plane, self.box


def solid_rings(vertices: np.ndarray, shell: list[Any]) -> SolidRings:
    """Flat rings, polygon planes and xy boxes of one shell (a list of polygons of rings)."""
    rings = [(pi, r) for pi, poly in enumerate(shell) for r in poly if len(r) >= 3]
    idx = np.fromiter((i for _, r in rings for i in r), dtype=np.int64)
    lens = np.fromiter((len(r) for _, r in rings), dtype=np.int64, count=len(rings))
    rpoly = np.fromiter((p for p, _ in rings), dtype=np.int64, count=len(rings))
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    xyz = vertices[idx]
    n_poly = len(shell)
    # Newell normal and mean point of each polygon's exterior ring
    nxt = np.arange(idx.size) + 1
    nxt[starts + lens - 1] = starts
    origin = xyz.min(axis=0)
    rel = xyz - origin
    cr = np.cross(rel, rel[nxt])
    ring_of = np.repeat(np.arange(len(rings)), lens)
    ext = np.zeros(len(rings), dtype=bool)
    ext[np.unique(rpoly, return_index=True)[1]] = True
    w = ext[ring_of]
    normal = np.stack([np.bincount(rpoly[ring_of], weights=cr[:, i] * w, minlength=n_poly) for i in range(3)], axis=1)
    nn = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.where(nn > 0, normal / np.where(nn > 0, nn, 1.0), 0.0)
    cnt = np.maximum(np.bincount(rpoly[ring_of], weights=w.astype(float), minlength=n_poly), 1.0)
    centre = np.stack([np.bincount(rpoly[ring_of], weights=rel[:, i] * w, minlength=n_poly) for i in range(3)], axis=1)
    centre = centre / cnt[:, None] + origin
    plane = np.column_stack([normal, -np.einsum("ij,ij->i", normal, centre)])
    big = np.finfo(np.float64).max
    box = np.empty((n_poly, 4))
    box[:, :2] = big
    box[:, 2:] = -big
    pr = rpoly[ring_of]
    np.minimum.at(box[:, 0], pr, xyz[:, 0])
    np.minimum.at(box[:, 1], pr, xyz[:, 1])
    np.maximum.at(box[:, 2], pr, xyz[:, 0])
    np.maximum.at(box[:, 3], pr, xyz[:, 1])
    return SolidRings(np.ascontiguousarray(xyz[:, :2]), starts, lens, rpoly, plane, box, xyz.min(axis=0), xyz.max(axis=0))


def overlap_volume_m3(a: SolidRings, b: SolidRings, depth_tol_m: float = OVERLAP_DEPTH_TOL_M) -> float:
    """Volume [m3] inside both closed solids, not counting penetrations below ``depth_tol_m``.

    Returns 0 when the bounding boxes only touch. The result is a midpoint-rule integral over
    a grid of vertical lines; its error is of the order of the cell area times the boundary
    length of the overlap's footprint.
    """
    lo = np.maximum(a.lo, b.lo)
    hi = np.minimum(a.hi, b.hi)
    ext = hi - lo
    if a.xy.size == 0 or b.xy.size == 0 or np.any(ext <= 2 * depth_tol_m):
        return 0.0
    cell = max(MIN_CELL_M, float(np.sqrt(ext[0] * ext[1] / MAX_SAMPLES)))
    nx = max(1, int(np.ceil(ext[0] / cell)))
    ny = max(1, int(np.ceil(ext[1] / cell)))
    cx, cy = ext[0] / nx, ext[1] / ny
    gx = lo[0] + (np.arange(nx) + _JITTER[0]) * cx
    gy = lo[1] + (np.arange(ny) + _JITTER[1]) * cy
    pts = np.stack(np.meshgrid(gx, gy, indexing="ij"), axis=-1).reshape(-1, 2)
    centre = vertical_overlap_lengths(pts, *a.args(), *b.args())
    sel = np.flatnonzero(np.nan_to_num(centre) > 2 * depth_tol_m)
    if sel.size == 0:
        return 0.0
    d = depth_tol_m
    offsets = np.array([[d, 0.0], [-d, 0.0], [0.0, d], [0.0, -d]])
    shifted = np.ascontiguousarray((pts[sel][None, :, :] + offsets[:, None, :]).reshape(-1, 2))
    around = vertical_overlap_lengths(shifted, *a.args(), *b.args()).reshape(4, -1)
    lengths = np.vstack([centre[sel][None, :], around])
    eroded = np.clip(np.nanmin(lengths, axis=0) - 2.0 * d, 0.0, None)
    return float(eroded.sum() / pts.shape[0] * ext[0] * ext[1])
