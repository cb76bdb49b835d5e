"""LAS/LAZ files: their headers (:func:`scan_las`, CRS resolution) and their points chunk by chunk
(:func:`iter_chunks`), the one path by which points are read from files.

Real AHN files carry no CRS VLR: the caller passes ``crs`` (CLI ``--crs``). A truncated or
corrupt file fails with a message naming it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np

from citymodel.crs import horizontal_epsg, parse_epsg
from citymodel.errors import CRSError, PointCloudError

__all__ = ["LasInfo", "scan_las", "iter_chunks", "resolve_epsg", "check_bbox", "bounds_overlap"]

PathLike = str | os.PathLike


@dataclass(frozen=True)
class LasInfo:
    """What a LAS/LAZ header says (no points read).

    Attributes
    ----------
    path : str
    n_points : int
    bounds : (xmin, ymin, xmax, ymax) [m]
    z_range : (zmin, zmax) [m]
    epsg : int or None
        From the file's CRS VLR, else the ``crs`` the caller gave.
    file_epsg : int or None
        From the file's CRS VLR only (None for AHN files).
    version : str
        LAS version, e.g. "1.2".
    point_format : int
    compressed : bool
    """

    path: str
    n_points: int
    bounds: tuple[float, float, float, float]
    z_range: tuple[float, float]
    epsg: int | None
    file_epsg: int | None
    version: str
    point_format: int
    compressed: bool


def _as_paths(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    out = [Path(p) for p in paths]
    if not out:
        raise PointCloudError("no point cloud files given; pass one or more .las/.laz files")
    return out


def _file_epsg(header, path: Path) -> int | None:
    """EPSG code of the file's CRS VLR (None when there is none)."""
    try:
        crs = header.parse_crs()
    except Exception as exc:  # a malformed WKT/GeoTIFF VLR
        raise CRSError(
            f"{path}: the CRS record in the file cannot be read ({exc}); "
            "give the CRS explicitly with crs='EPSG:XXXX' (CLI: --crs EPSG:XXXX)"
        ) from exc
    if crs is None:
        return None
    code = crs.to_epsg()
    if code is None:
        code = crs.to_epsg(min_confidence=50)
    if code is None and crs.is_compound and crs.sub_crs_list:
        code = crs.sub_crs_list[0].to_epsg()
    if code is None:
        raise CRSError(
            f"{path}: the file's CRS ({crs.name}) has no EPSG code; "
            "give it explicitly with crs='EPSG:XXXX' (CLI: --crs EPSG:XXXX)"
        )
    return int(code)


def resolve_epsg(file_epsg: int | None, crs: object, path: PathLike) -> int:
    """The CRS to use for one file: its own, else ``crs``; conflicting horizontals raise.

    Raises
    ------
    CRSError
        No CRS in the file and none given (the message names ``--crs EPSG:XXXX``), or the
        file's CRS and ``crs`` disagree horizontally.
    """
    user = parse_epsg(crs, source=str(path)) if crs is not None else None
    if file_epsg is None:
        if user is None:
            raise CRSError(
                f"{path}: the file has no CRS (no GeoTIFF/WKT CRS record in the LAS header, as in "
                "AHN files); give it with crs='EPSG:XXXX' (CLI: --crs EPSG:XXXX, e.g. "
                "--crs EPSG:7415 for Dutch AHN, RD New + NAP)"
            )
        return user
    if user is not None and user != file_epsg:
        try:
            same = horizontal_epsg(user) == horizontal_epsg(file_epsg)
        except Exception:
            same = False
        if not same:
            raise CRSError(
                f"{path}: the file says EPSG:{file_epsg} but EPSG:{user} was given; "
                "drop --crs to use the file's CRS, or fix the file"
            )
        # same horizontal CRS: the user's (often compound, with heights) wins
        return user
    return file_epsg


def _truncation_problem(path: Path, header, size: int) -> str | None:
    """A reason the file is too short for its header, or None (cheap checks only)."""
    offset = int(header.offset_to_point_data)
    if size < offset:
        return f"the file ({size} bytes) ends before its point data (offset {offset})"
    compressed = bool(header.are_points_compressed)
    n = int(header.point_count)
    if not compressed:
        need = offset + n * int(header.point_format.size)
        if size < need:
            return f"the file has {size} bytes but its header announces {n} points ({need} bytes)"
    else:
        # LAZ 1.x: the first 8 bytes of point data are the chunk table's offset
        if size < offset + 8:
            return "the file ends before its compressed point data"
        with open(path, "rb") as f:
            f.seek(offset)
            table = int.from_bytes(f.read(8), "little", signed=True)
        if table != -1 and table > size:
            return f"the LAZ chunk table lies at byte {table}, beyond the file's end ({size} bytes)"
    return None


def scan_las(paths: PathLike | Iterable[PathLike], crs: object = None) -> list[LasInfo]:
    """Read the headers of LAS/LAZ files and resolve one common CRS.

    Parameters
    ----------
    paths : path or iterable of paths
        LAS/LAZ files.
    crs : str or int, optional
        CRS for files without a CRS record (``"EPSG:7415"``, ``7415``, an OGC URL).

    Returns
    -------
    list of LasInfo
        One per file, in order, all with the same ``epsg``.

    Raises
    ------
    PointCloudError
        A file is missing, not LAS/LAZ, empty (no points) or truncated.
    CRSError
        A file has no CRS and ``crs`` is None; files have different CRSs.
    """

    infos: list[LasInfo] = []
    for p in _as_paths(paths):
        if not p.is_file():
            raise PointCloudError(f"{p}: point cloud file not found; check the path")
        size = p.stat().st_size
        if size == 0:
            raise PointCloudError(f"{p}: the file is empty (0 bytes); it is not a LAS/LAZ file")
        try:
            with laspy.open(p) as reader:
                h = reader.header
        except Exception as exc:
            raise PointCloudError(
                f"{p}: not a readable LAS/LAZ file ({type(exc).__name__}: {exc}); "
                "check that it is LAS/LAZ and not truncated"
            ) from exc
        n = int(h.point_count)
        if n == 0:
            raise PointCloudError(f"{p}: the file holds no points; remove it from the input")
        why = _truncation_problem(p, h, size)
        if why:
            raise PointCloudError(f"{p}: truncated or corrupt: {why}; download or copy it again")
        fe = _file_epsg(h, p)
        epsg = resolve_epsg(fe, crs, p)
        mins, maxs = np.asarray(h.mins, float), np.asarray(h.maxs, float)
        infos.append(
            LasInfo(
                path=str(p),
                n_points=n,
                bounds=(float(mins[0]), float(mins[1]), float(maxs[0]), float(maxs[1])),
                z_range=(float(mins[2]), float(maxs[2])),
                epsg=epsg,
                file_epsg=fe,
                version=f"{h.version.major}.{h.version.minor}",
                point_format=int(h.point_format.id),
                compressed=bool(h.are_points_compressed),
            )
        )
    codes = {i.epsg for i in infos}
    if len(codes) > 1:
        listing = ", ".join(f"{Path(i.path).name}: EPSG:{i.epsg}" for i in infos)
        raise CRSError(
            f"the point cloud files have different CRSs ({listing}); reproject them to one CRS "
            "first (e.g. pdal translate with filters.reprojection)"
        )
    return infos


def check_bbox(bbox) -> tuple[float, float, float, float] | None:
    """``bbox`` as ``(xmin, ymin, xmax, ymax)`` floats (None stays None); PointCloudError when malformed."""
    if bbox is None:
        return None
    b = tuple(float(v) for v in bbox)
    if len(b) != 4 or not (b[0] <= b[2] and b[1] <= b[3]):
        raise PointCloudError(f"bbox must be (xmin, ymin, xmax, ymax) with min <= max, got {bbox!r}")
    return b  # type: ignore[return-value]


def bounds_overlap(bounds, bbox) -> bool:
    """True when the boxes ``(xmin, ymin, xmax, ymax)`` overlap (edges included)."""
    return not (bounds[2] < bbox[0] or bounds[0] > bbox[2] or bounds[3] < bbox[1] or bounds[1] > bbox[3])


def _chunk_arrays(chunk, header, bbox, classes=None):
    """Scaled xyz and attributes of one laspy chunk, cropped to bbox and the wanted classes."""
    sc = header.scales
    of = header.offsets
    x = np.asarray(chunk.X, dtype=np.float64) * sc[0] + of[0]
    y = np.asarray(chunk.Y, dtype=np.float64) * sc[1] + of[1]
    if bbox is not None or classes is not None:
        keep = np.ones(x.size, bool)
        if bbox is not None:
            keep &= (x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])
        if classes is not None:
            keep &= np.isin(np.asarray(chunk.classification, dtype=np.uint8), classes)
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            return None
        if idx.size == x.size:
            idx = slice(None)
        x, y = x[idx], y[idx]
    else:
        idx = slice(None)
    z = np.asarray(chunk.Z, dtype=np.float64)[idx] * sc[2] + of[2]
    xyz = np.empty((x.size, 3), np.float64)
    xyz[:, 0], xyz[:, 1], xyz[:, 2] = x, y, z
    return (
        xyz,
        np.asarray(chunk.classification, dtype=np.uint8)[idx],
        np.asarray(chunk.return_number, dtype=np.uint8)[idx],
        np.asarray(chunk.number_of_returns, dtype=np.uint8)[idx],
        np.asarray(chunk.intensity, dtype=np.uint16)[idx],
    )


def _iter_laspy(info: LasInfo, bbox, chunk_size: int, classes=None) -> Iterator[tuple[tuple | None, int]]:
    """Chunks of one file: ``(arrays or None, points decompressed)``; errors name the file."""

    n_read = 0
    try:
        with laspy.open(info.path) as reader:
            for chunk in reader.chunk_iterator(chunk_size):
                n = len(chunk)
                if n == 0:
                    break
                n_read += n
                arrs = _chunk_arrays(chunk, reader.header, bbox, classes)
                yield arrs, n
    except PointCloudError:
        raise
    except Exception as exc:
        raise PointCloudError(
            f"{info.path}: reading points failed after {n_read} of {info.n_points} points "
            f"({type(exc).__name__}: {exc}); the file is truncated or corrupt, copy it again"
        ) from exc
    if n_read < info.n_points:
        raise PointCloudError(
            f"{info.path}: only {n_read} of the {info.n_points} points announced in the header "
            "could be read; the file is truncated, copy it again"
        )


def iter_chunks(
    infos: Sequence[LasInfo],
    *,
    bbox: Sequence[float] | None = None,
    chunk_size: int = 2_000_000,
    classes: Sequence[int] | None = None,
) -> Iterator[tuple[LasInfo, tuple | None, int]]:
    """Stream the points of scanned files chunk by chunk (laspy), for one pass over big inputs.

    Parameters
    ----------
    infos : sequence of LasInfo
        From :func:`scan_las` (files outside ``bbox`` are skipped, not decompressed).
    bbox : (xmin, ymin, xmax, ymax), optional
        Keep only points inside (edges included) [m].
    chunk_size : int
        Points decompressed at a time; bounds the memory of one chunk.
    classes : sequence of int, optional
        Keep only points with these ASPRS classes; all when None.

    Yields
    ------
    info : LasInfo
        The file of the chunk.
    arrays : tuple or None
        ``(xyz (k, 3) float64 [m], classification (k,) uint8, return_number (k,) uint8,
        number_of_returns (k,) uint8, intensity (k,) uint16)`` of the kept points, None when no
        point of the chunk is kept.
    n : int
        Points decompressed (for progress).

    Raises
    ------
    PointCloudError
        A truncated or corrupt file (the message names it).
    """
    if int(chunk_size) < 1:
        raise PointCloudError(f"chunk_size must be >= 1, got {chunk_size}")
    box = check_bbox(bbox)
    wanted = None if classes is None else np.asarray(sorted(set(int(c) for c in classes)), np.uint8)
    for info in infos:
        if box is not None and not bounds_overlap(info.bounds, box):
            continue
        for arrs, n in _iter_laspy(info, box, int(chunk_size), wanted):
            yield info, arrs, n
