"""Point cloud ingest: LAS/LAZ headers, CRS resolution and chunked reading into numpy arrays.

Any number of LAS/LAZ files are read chunk by chunk (laspy ``chunk_iterator`` with the lazrs
backend); only the points inside an optional ``bbox`` are kept, so memory is bounded by what is
kept, not by the files. Real AHN files carry no CRS VLR: the caller passes ``crs`` (CLI ``--crs``).
PDAL is an optional engine (extra ``pdal``), used when importable (``engine="auto"``, the
default) and never required: without it, or when it cannot read a file, laspy reads.

Examples
--------
>>> infos = scan_las(["a.laz", "b.laz"], crs="EPSG:7415")  # doctest: +SKIP
>>> pc = read_points(["a.laz", "b.laz"], crs="EPSG:7415", bbox=(84900, 447500, 85000, 447600))  # doctest: +SKIP
>>> pc.xyz.shape  # doctest: +SKIP
(140213, 3)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from citymodel._optional import require
from citymodel.crs import horizontal_epsg, parse_epsg
from citymodel.errors import CRSError, PointCloudError

__all__ = [
    "PointCloud",
    "LasInfo",
    "scan_las",
    "read_points",
    "iter_chunks",
    "resolve_epsg",
    "ASPRS_UNCLASSIFIED",
    "ASPRS_GROUND",
    "ASPRS_LOW_VEGETATION",
    "ASPRS_MEDIUM_VEGETATION",
    "ASPRS_HIGH_VEGETATION",
    "ASPRS_BUILDING",
    "ASPRS_WATER",
]

#: ASPRS LAS classification codes used by the toolkit.
ASPRS_UNCLASSIFIED = 1
ASPRS_GROUND = 2
ASPRS_LOW_VEGETATION = 3
ASPRS_MEDIUM_VEGETATION = 4
ASPRS_HIGH_VEGETATION = 5
ASPRS_BUILDING = 6
ASPRS_WATER = 9

PathLike = str | os.PathLike


@dataclass
class PointCloud:
    """Points as flat numpy arrays (one row per point).

    Attributes
    ----------
    xyz : (n, 3) float64
        Real coordinates [m] in the CRS ``epsg``.
    classification : (n,) uint8
        ASPRS class codes (1 unclassified, 2 ground, 3-5 vegetation, 6 building, 9 water).
    return_number, number_of_returns : (n,) uint8
        Pulse return index (1-based) and number of returns of the pulse.
    intensity : (n,) uint16
        Return intensity (sensor units).
    epsg : int or None
        EPSG code of the CRS (may be compound, e.g. 7415 = RD New + NAP).
    sources : list of str
        The files the points came from.
    """

    xyz: np.ndarray
    classification: np.ndarray
    return_number: np.ndarray
    number_of_returns: np.ndarray
    intensity: np.ndarray
    epsg: int | None = None
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        xyz = np.asarray(self.xyz, dtype=np.float64)
        if xyz.size == 0:
            xyz = xyz.reshape(0, 3)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise PointCloudError(f"PointCloud.xyz must have shape (n, 3), got {xyz.shape}")
        n = xyz.shape[0]
        self.xyz = xyz
        for name, dtype in (
            ("classification", np.uint8),
            ("return_number", np.uint8),
            ("number_of_returns", np.uint8),
            ("intensity", np.uint16),
        ):
            a = np.asarray(getattr(self, name))
            if a.shape != (n,):
                raise PointCloudError(f"PointCloud.{name} must have shape ({n},), got {a.shape}")
            setattr(self, name, a.astype(dtype, copy=False))

    @classmethod
    def from_xyz(
        cls,
        xyz: np.ndarray,
        classification: np.ndarray | None = None,
        epsg: int | None = None,
        **kwargs: np.ndarray,
    ) -> PointCloud:
        """A point cloud from coordinates alone; missing fields get neutral values.

        ``classification`` defaults to 1 (unclassified), returns to 1 of 1, intensity to 0.
        """
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        n = xyz.shape[0]
        cls_ = np.ones(n, np.uint8) if classification is None else classification
        return cls(
            xyz=xyz,
            classification=cls_,
            return_number=kwargs.get("return_number", np.ones(n, np.uint8)),
            number_of_returns=kwargs.get("number_of_returns", np.ones(n, np.uint8)),
            intensity=kwargs.get("intensity", np.zeros(n, np.uint16)),
            epsg=epsg,
        )

    def __len__(self) -> int:
        return int(self.xyz.shape[0])

    def select(self, mask: np.ndarray) -> PointCloud:
        """The points where ``mask`` (bool (n,) or integer indices) is set, as a new cloud."""
        m = np.asarray(mask)
        if m.dtype == bool and m.shape != (len(self),):
            raise PointCloudError(f"select: mask has shape {m.shape}, expected ({len(self)},)")
        return PointCloud(
            xyz=self.xyz[m],
            classification=self.classification[m],
            return_number=self.return_number[m],
            number_of_returns=self.number_of_returns[m],
            intensity=self.intensity[m],
            epsg=self.epsg,
            sources=list(self.sources),
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """2D bounding box ``(xmin, ymin, xmax, ymax)`` [m]; NaNs when empty."""
        if len(self) == 0:
            return (np.nan, np.nan, np.nan, np.nan)
        lo = self.xyz[:, :2].min(axis=0)
        hi = self.xyz[:, :2].max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    @property
    def x(self) -> np.ndarray:
        return self.xyz[:, 0]

    @property
    def y(self) -> np.ndarray:
        return self.xyz[:, 1]

    @property
    def z(self) -> np.ndarray:
        return self.xyz[:, 2]

    def __repr__(self) -> str:
        return f"PointCloud({len(self)} points, EPSG:{self.epsg}, {len(self.sources)} file(s))"

    @classmethod
    def concatenate(cls, clouds: Sequence[PointCloud]) -> PointCloud:
        """Stack several clouds (same CRS) into one."""
        if not clouds:
            return cls.from_xyz(np.zeros((0, 3)))
        epsgs = {c.epsg for c in clouds}
        if len(epsgs) > 1:
            raise CRSError(f"cannot concatenate point clouds in different CRSs: {sorted(map(str, epsgs))}")
        srcs: list[str] = []
        for c in clouds:
            srcs.extend(s for s in c.sources if s not in srcs)
        return cls(
            xyz=np.concatenate([c.xyz for c in clouds]),
            classification=np.concatenate([c.classification for c in clouds]),
            return_number=np.concatenate([c.return_number for c in clouds]),
            number_of_returns=np.concatenate([c.number_of_returns for c in clouds]),
            intensity=np.concatenate([c.intensity for c in clouds]),
            epsg=clouds[0].epsg,
            sources=srcs,
        )


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
    import laspy

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


def _bbox_tuple(bbox) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    b = tuple(float(v) for v in bbox)
    if len(b) != 4 or not (b[0] <= b[2] and b[1] <= b[3]):
        raise PointCloudError(f"bbox must be (xmin, ymin, xmax, ymax) with min <= max, got {bbox!r}")
    return b  # type: ignore[return-value]


def _overlaps(bounds, bbox) -> bool:
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
    import laspy

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


def _read_laspy(info: LasInfo, bbox, chunk_size: int, advance, classes=None) -> list[tuple]:
    parts: list[tuple] = []
    for arrs, n in _iter_laspy(info, bbox, chunk_size, classes):
        if arrs is not None:
            parts.append(arrs)
        advance(n)
    return parts


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
    box = _bbox_tuple(bbox)
    wanted = None if classes is None else np.asarray(sorted(set(int(c) for c in classes)), np.uint8)
    for info in infos:
        if box is not None and not _overlaps(info.bounds, box):
            continue
        for arrs, n in _iter_laspy(info, box, int(chunk_size), wanted):
            yield info, arrs, n


def _pdal_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("pdal") is not None


def _read_pdal(info: LasInfo, bbox) -> list[tuple]:  # pragma: no cover - needs PDAL
    pdal = require("pdal", extra="pdal", feature="engine='pdal' (the PDAL Python bindings)",
                   hint="or conda install -c conda-forge python-pdal, or use engine='laspy'")
    stages: list[dict] = [{"type": "readers.las", "filename": info.path}]
    if bbox is not None:
        stages.append({"type": "filters.crop", "bounds": f"([{bbox[0]},{bbox[2]}],[{bbox[1]},{bbox[3]}])"})
    try:
        pipe = pdal.Pipeline(__import__("json").dumps({"pipeline": stages}))
        pipe.execute()
        arr = np.concatenate(pipe.arrays) if pipe.arrays else None
    except Exception as exc:
        raise PointCloudError(f"{info.path}: PDAL could not read the file ({exc})") from exc
    if arr is None or len(arr) == 0:
        return []
    xyz = np.column_stack([arr["X"], arr["Y"], arr["Z"]]).astype(np.float64)
    return [
        (
            xyz,
            arr["Classification"].astype(np.uint8),
            arr["ReturnNumber"].astype(np.uint8),
            arr["NumberOfReturns"].astype(np.uint8),
            arr["Intensity"].astype(np.uint16),
        )
    ]


def read_points(
    paths: PathLike | Iterable[PathLike],
    *,
    crs: object = None,
    bbox: Sequence[float] | None = None,
    chunk_size: int = 2_000_000,
    progress: bool = False,
    engine: str = "auto",
    classes: Sequence[int] | None = None,
) -> PointCloud:
    """Read the points of LAS/LAZ files, keeping those inside ``bbox``.

    Parameters
    ----------
    paths : path or iterable of paths
        LAS/LAZ files (any number; all must share one CRS).
    crs : str or int, optional
        CRS for files without a CRS record, e.g. ``"EPSG:7415"`` for AHN.
    bbox : (xmin, ymin, xmax, ymax), optional
        Keep only points inside (edges included) [m]; files outside it are not decompressed.
    chunk_size : int
        Points decompressed at a time; bounds the transient memory.
    progress : bool
        Show a progress bar over the points read.
    engine : {"auto", "laspy", "pdal"}
        ``"pdal"`` uses PDAL's readers.las + filters.crop (optional dependency, extra ``pdal``);
        ``"auto"`` uses PDAL when it is importable and falls back to laspy for a file PDAL
        cannot read (laspy then gives the precise error).
    classes : sequence of int, optional
        Keep only points with these ASPRS classes (e.g. ``(2, 6)``); all when None.

    Returns
    -------
    PointCloud
        With ``epsg`` resolved from the files or ``crs`` and ``sources`` the files read.

    Raises
    ------
    PointCloudError
        Missing, empty, truncated or corrupt files (the message names the file).
    CRSError
        No CRS in a file and none given, or files in different CRSs.
    """
    if engine not in ("auto", "laspy", "pdal"):
        raise PointCloudError(f"engine must be 'auto', 'laspy' or 'pdal', got {engine!r}")
    if engine == "auto":
        engine = "pdal" if _pdal_importable() else "laspy"
        fallback = True
    else:
        fallback = False
    if int(chunk_size) < 1:
        raise PointCloudError(f"chunk_size must be >= 1, got {chunk_size}")
    box = _bbox_tuple(bbox)
    wanted_classes = None if classes is None else np.asarray(sorted(set(int(c) for c in classes)), np.uint8)
    infos = scan_las(paths, crs=crs)
    wanted = [i for i in infos if box is None or _overlaps(i.bounds, box)]
    parts: list[tuple] = []

    from citymodel.progress import progress_bar

    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("Reading points", total=sum(i.n_points for i in wanted))
        for info in wanted:
            got = None
            if engine == "pdal":
                try:
                    got = _read_pdal(info, box)
                except PointCloudError:
                    if not fallback:
                        raise
            if got is not None:
                if wanted_classes is not None:
                    got = [tuple(a[np.isin(g[1], wanted_classes)] for a in g) for g in got]
                parts.extend(got)
                bar.advance(task, info.n_points)
            else:
                parts.extend(_read_laspy(info, box, int(chunk_size), lambda n: bar.advance(task, n), wanted_classes))
    if parts:
        cols = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    else:
        cols = [np.zeros((0, 3)), *(np.zeros(0, d) for d in (np.uint8, np.uint8, np.uint8, np.uint16))]
    return PointCloud(
        xyz=cols[0],
        classification=cols[1],
        return_number=cols[2],
        number_of_returns=cols[3],
        intensity=cols[4],
        epsg=infos[0].epsg,
        sources=[i.path for i in wanted],
    )
