"""One streaming pass over LAS/LAZ files that routes every point to per-block spill files.

Big inputs are read once, chunk by chunk (:func:`lidar.pointcloud.iter_chunks`); each point goes
to every block whose bounding box (edges included) contains it, appended as raw records to that
block's file in a temporary folder. A block is then loaded alone (:func:`load_block`), so the
memory of the build is bounded by one block and one chunk, never by the files, and each file is
decompressed once whatever the number of blocks.

Examples
--------
>>> infos = scan_las(["a.laz", "b.laz"], crs="EPSG:7415")  # doctest: +SKIP
>>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
...     paths = spill_blocks(infos, [(84900, 447500, 85400, 448000)], tmp)
...     pc = load_block(paths[0], epsg=7415)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from citymodel.errors import InputError
from lidar.pointcloud import LasInfo, PointCloud, iter_chunks

__all__ = ["RECORD", "spill_blocks", "load_block", "route_points"]

#: One spilled point: coordinates [m] and the attributes the build uses (29 bytes).
RECORD = np.dtype(
    [
        ("x", "<f8"),
        ("y", "<f8"),
        ("z", "<f8"),
        ("classification", "u1"),
        ("return_number", "u1"),
        ("number_of_returns", "u1"),
        ("intensity", "<u2"),
    ]
)


class _Router:
    """Blocks' bounding boxes hashed on a regular grid of cells, so that a chunk's points are
    tested only against the boxes of the cells they fall in."""

    def __init__(self, bboxes_m: np.ndarray) -> None:
        self.bboxes = bboxes_m
        side = np.maximum(bboxes_m[:, 2] - bboxes_m[:, 0], bboxes_m[:, 3] - bboxes_m[:, 1])
        self.cell_m = float(max(np.median(side), 1.0))
        self.x0, self.y0 = float(bboxes_m[:, 0].min()), float(bboxes_m[:, 1].min())
        self.nx = int(np.floor((bboxes_m[:, 2].max() - self.x0) / self.cell_m)) + 1
        self.ny = int(np.floor((bboxes_m[:, 3].max() - self.y0) / self.cell_m)) + 1
        c0 = np.floor((bboxes_m[:, :2] - (self.x0, self.y0)) / self.cell_m).astype(np.int64)
        c1 = np.floor((bboxes_m[:, 2:] - (self.x0, self.y0)) / self.cell_m).astype(np.int64)
        self.cells: dict[int, list[int]] = {}
        for b in range(len(bboxes_m)):  # a loop over blocks and their cells, not over points
            for cy in range(c0[b, 1], c1[b, 1] + 1):
                for cx in range(c0[b, 0], c1[b, 0] + 1):
                    self.cells.setdefault(cy * self.nx + cx, []).append(b)

    def route(self, xy: np.ndarray) -> dict[int, np.ndarray]:
        cx = np.floor((xy[:, 0] - self.x0) / self.cell_m)
        cy = np.floor((xy[:, 1] - self.y0) / self.cell_m)
        ok = (cx >= 0) & (cx < self.nx) & (cy >= 0) & (cy < self.ny)
        pts = np.flatnonzero(ok)
        key = cy[pts].astype(np.int64) * self.nx + cx[pts].astype(np.int64)
        order = np.argsort(key, kind="stable")
        skey = key[order]
        uniq, start = np.unique(skey, return_index=True)
        end = np.append(start[1:], len(skey))
        parts: dict[int, list[np.ndarray]] = {}
        for u, s, e in zip(uniq.tolist(), start.tolist(), end.tolist(), strict=True):  # over cells
            blocks = self.cells.get(u)
            if not blocks:
                continue
            idx = pts[order[s:e]]
            x, y = xy[idx, 0], xy[idx, 1]
            for b in blocks:
                bb = self.bboxes[b]
                m = (x >= bb[0]) & (x <= bb[2]) & (y >= bb[1]) & (y <= bb[3])
                if m.any():
                    parts.setdefault(b, []).append(idx[m])
        # file order within each block, as a read with the block's bounding box would give
        return {b: np.sort(np.concatenate(p)) for b, p in parts.items()}


def route_points(xy_m: np.ndarray, bboxes_m: np.ndarray) -> dict[int, np.ndarray]:
    """Indices of the points inside each bounding box (edges included).

    Parameters
    ----------
    xy_m : (n, 2) float64
        Point coordinates [m].
    bboxes_m : (m, 4) float64
        ``(xmin, ymin, xmax, ymax)`` per block [m]; boxes may overlap.

    Returns
    -------
    dict of int to (k,) int64
        Block number to the sorted indices of its points; blocks without points are absent.
    """
    xy = np.asarray(xy_m, dtype=np.float64)
    bb = _check_bboxes(bboxes_m)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise InputError(f"route_points: xy_m must be (n, 2), got shape {xy.shape}")
    return _Router(bb).route(xy) if len(xy) else {}


def _check_bboxes(bboxes_m) -> np.ndarray:
    bb = np.asarray(bboxes_m, dtype=np.float64).reshape(-1, 4)
    if not len(bb) or not np.isfinite(bb).all() or (bb[:, 2] < bb[:, 0]).any() or (bb[:, 3] < bb[:, 1]).any():
        raise InputError(f"block bounding boxes must be finite (xmin, ymin, xmax, ymax) with min <= max, got {bb[:3]}...")
    return bb


def spill_blocks(
    infos: Sequence[LasInfo],
    bboxes_m: np.ndarray | Sequence[Sequence[float]],
    directory: str | os.PathLike,
    *,
    classes: Sequence[int] | None = None,
    chunk_size: int = 1_000_000,
    advance: Callable[[int], object] | None = None,
) -> list[Path]:
    """Read the files once and append each point to the spill file of every block containing it.

    Parameters
    ----------
    infos : sequence of LasInfo
        The files (:func:`lidar.pointcloud.scan_las`).
    bboxes_m : (m, 4) float64
        ``(xmin, ymin, xmax, ymax)`` of each block, buffer included [m].
    directory : path
        An existing (temporary) folder; one file ``block_<k>.bin`` per block is written there.
    classes : sequence of int, optional
        Keep only these ASPRS classes (e.g. ``(2, 6)`` for a classified file).
    chunk_size : int
        Points decompressed at a time.
    advance : callable, optional
        Called with the number of points decompressed after each chunk (progress).

    Returns
    -------
    list of Path
        The spill file of each block, in order (an empty file when no point fell in the block).
    """
    bb = _check_bboxes(bboxes_m)
    router = _Router(bb)
    folder = Path(directory)
    paths = [folder / f"block_{k}.bin" for k in range(len(bb))]
    for p in paths:
        p.write_bytes(b"")
    union = (bb[:, 0].min(), bb[:, 1].min(), bb[:, 2].max(), bb[:, 3].max())
    for _info, arrs, n in iter_chunks(infos, bbox=union, chunk_size=chunk_size, classes=classes):
        if arrs is not None:
            xyz, cls, rn, nr, inten = arrs
            for b, idx in router.route(xyz).items():
                rec = np.empty(len(idx), RECORD)
                rec["x"], rec["y"], rec["z"] = xyz[idx, 0], xyz[idx, 1], xyz[idx, 2]
                rec["classification"], rec["return_number"] = cls[idx], rn[idx]
                rec["number_of_returns"], rec["intensity"] = nr[idx], inten[idx]
                with open(paths[b], "ab") as f:
                    rec.tofile(f)
        if advance is not None:
            advance(n)
    return paths


def load_block(path: str | os.PathLike, epsg: int | None = None, sources: Sequence[str] = ()) -> PointCloud:
    """The points of one block's spill file as a :class:`~lidar.pointcloud.PointCloud`.

    Parameters
    ----------
    path : path
        A file written by :func:`spill_blocks`.
    epsg : int, optional
        CRS of the points.
    sources : sequence of str
        The LAS/LAZ files the points came from.
    """
    rec = np.fromfile(path, dtype=RECORD)
    xyz = np.empty((len(rec), 3), np.float64)
    xyz[:, 0], xyz[:, 1], xyz[:, 2] = rec["x"], rec["y"], rec["z"]
    return PointCloud(
        xyz=xyz,
        classification=rec["classification"].copy(),
        return_number=rec["return_number"].copy(),
        number_of_returns=rec["number_of_returns"].copy(),
        intensity=rec["intensity"].copy(),
        epsg=epsg,
        sources=list(sources),
    )
