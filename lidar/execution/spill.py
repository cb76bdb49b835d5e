"""One streaming pass over LAS/LAZ files that routes every point to per-block spill files.

Big inputs are read once, chunk by chunk (:func:`lidar.points.pointcloud.iter_chunks`); each point goes
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

from lidar.points.pointcloud import LasInfo, PointCloud, iter_chunks
from lidar.points.route import BoxRouter, check_bboxes, route_points

__all__ = ["RECORD", "spill_blocks", "spill_file", "part_path", "load_block", "remove", "route_points"]

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
        The files (:func:`lidar.points.las.scan_las`).
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
    bb = check_bboxes(bboxes_m)
    router = BoxRouter(bb)
    folder = Path(directory)
    paths = [folder / f"block_{k}.bin" for k in range(len(bb))]
    for p in paths:
        p.write_bytes(b"")
    _spill(infos, bb, router, paths, classes, chunk_size, advance)
    return paths


def _spill(infos, bb, router, paths, classes, chunk_size, advance) -> set[int]:
    """Append the points of ``infos`` to the files ``paths`` of the blocks holding them; the blocks
    that got points."""
    union = (bb[:, 0].min(), bb[:, 1].min(), bb[:, 2].max(), bb[:, 3].max())
    got: set[int] = set()
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
                got.add(b)
        if advance is not None:
            advance(n)
    return got


def part_path(directory: str | os.PathLike, k: int, f: int) -> Path:
    """The spill file of block ``k``'s points from input file number ``f`` (:func:`spill_file`)."""
    return Path(directory) / f"block_{k}.part{f}.bin"


def spill_file(
    info: LasInfo,
    f: int,
    bboxes_m: np.ndarray | Sequence[Sequence[float]],
    directory: str | os.PathLike,
    *,
    classes: Sequence[int] | None = None,
    chunk_size: int = 1_000_000,
) -> list[int]:
    """:func:`spill_blocks` of one input file (number ``f``), into one part file per block
    (:func:`part_path`, only for blocks that get points), so that several files are spilled at
    once by several processes. A block's parts, loaded in file order (:func:`load_block` with a
    list), hold exactly what :func:`spill_blocks` would have written for it.

    Returns
    -------
    list of int
        The blocks that got points from this file, in order.
    """
    bb = check_bboxes(bboxes_m)
    paths = [part_path(directory, k, f) for k in range(len(bb))]
    return sorted(_spill([info], bb, BoxRouter(bb), paths, classes, chunk_size, None))


def remove(path: str | os.PathLike | Sequence[str | os.PathLike]) -> None:
    """Delete a block's spill file (or its part files)."""
    for p in [path] if isinstance(path, (str, os.PathLike)) else path:
        Path(p).unlink()


def load_block(path: str | os.PathLike | Sequence[str | os.PathLike], epsg: int | None = None, sources: Sequence[str] = ()) -> PointCloud:
    """The points of one block's spill file as a :class:`~lidar.points.pointcloud.PointCloud`.

    Parameters
    ----------
    path : path or sequence of paths
        A file written by :func:`spill_blocks`, or a block's part files (:func:`spill_file`), in
        file order.
    epsg : int, optional
        CRS of the points.
    sources : sequence of str
        The LAS/LAZ files the points came from.
    """
    if isinstance(path, (str, os.PathLike)):
        rec = np.fromfile(path, dtype=RECORD)
    else:  # the block's part files, in file order (spill_file)
        parts = [np.fromfile(p, dtype=RECORD) for p in path]
        rec = np.concatenate(parts) if parts else np.zeros(0, RECORD)
        parts = []
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
