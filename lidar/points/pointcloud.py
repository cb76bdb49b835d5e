"""Point cloud ingest: the in-memory :class:`PointCloud` and :func:`read_points`.

Any number of LAS/LAZ files are read chunk by chunk (:func:`lidar.points.las.iter_chunks`, the one
reading path: laspy ``chunk_iterator`` with the lazrs backend); only the points inside an optional ``bbox`` are kept, so memory is bounded by what is
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from citymodel._optional import require
from citymodel.errors import CRSError, PointCloudError
from citymodel.progress import progress_bar
from lidar.points.las import (
    LasInfo,
    bounds_overlap,
    check_bbox,
    iter_chunks,
    resolve_epsg,
    scan_las,
)

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
    box = check_bbox(bbox)
    wanted_classes = None if classes is None else np.asarray(sorted(set(int(c) for c in classes)), np.uint8)
    infos = scan_las(paths, crs=crs)
    wanted = [i for i in infos if box is None or bounds_overlap(i.bounds, box)]
    parts: list[tuple] = []
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
                for _info, arrs, n in iter_chunks([info], bbox=box, chunk_size=int(chunk_size), classes=classes):
                    if arrs is not None:
                        parts.append(arrs)
                    bar.advance(task, n)
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
