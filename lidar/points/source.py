"""The points of a build: LAS/LAZ files (their headers scanned once) or one cloud in memory.

Every consumer reads through a :class:`PointSource`: a box of points with :meth:`PointSource.read`
(files: :func:`lidar.points.pointcloud.read_points`; in memory: the cloud itself, one chunk),
or all points chunk by chunk with :meth:`PointSource.chunks` (files:
:func:`lidar.points.pointcloud.iter_chunks`; in memory: the cloud as one chunk).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citymodel.errors import PointCloudError
from lidar.points.pointcloud import LasInfo, PointCloud, iter_chunks, read_points, scan_las

__all__ = ["PointSource", "open_points", "as_paths"]


def as_paths(points: Any) -> list[Path]:
    """One path or an iterable of paths, as a list of :class:`~pathlib.Path`."""
    if isinstance(points, (str, os.PathLike)):
        return [Path(points)]
    return [Path(p) for p in points]


@dataclass
class PointSource:
    """Where a build's points come from.

    Attributes
    ----------
    cloud : PointCloud or None
        The points, when given in memory (then ``paths`` and ``infos`` are empty).
    paths : list of Path
        The LAS/LAZ files.
    infos : list of LasInfo
        Their scanned headers (one per file).
    crs : str, int or None
        CRS given for files without one.
    epsg : int or None
        The points' horizontal EPSG code.
    extents : list of (xmin, ymin, xmax, ymax)
        Per file (or of the cloud) [m].
    """

    cloud: PointCloud | None
    paths: list[Path]
    infos: list[LasInfo]
    crs: Any
    epsg: int | None
    extents: list[tuple[float, float, float, float]]

    @property
    def in_memory(self) -> bool:
        """True when the points were given as a :class:`PointCloud`."""
        return self.cloud is not None

    @property
    def n_points(self) -> int:
        """Points in the files (or the cloud)."""
        return len(self.cloud) if self.cloud is not None else sum(i.n_points for i in self.infos)

    @property
    def files(self) -> list[str]:
        """The files as given (empty in memory)."""
        return [str(p) for p in self.paths]

    @property
    def sources(self) -> list[str]:
        """The files as scanned (resolved paths; empty in memory)."""
        return [str(i.path) for i in self.infos]

    @property
    def description(self) -> str:
        """How messages name the points."""
        return "the point cloud" if self.in_memory else ", ".join(p.name for p in self.paths)

    def read(self, bbox: Sequence[float] | None = None, *, progress: bool = False, files: int | None = None) -> PointCloud:
        """The points inside ``bbox`` [m] (all when None) of the first ``files`` files (all when
        None); in memory, the cloud itself."""
        if self.cloud is not None:
            return self.cloud
        paths = self.paths if files is None else self.paths[:files]
        return read_points(paths, crs=self.crs, bbox=bbox, progress=progress)

    def chunks(self, *, chunk_size: int, infos: Sequence[LasInfo] | None = None) -> Iterator[tuple[LasInfo | None, tuple | None, int]]:
        """``(file, arrays, points decompressed)`` chunk by chunk (:func:`iter_chunks`); in
        memory, the cloud as one chunk with file None."""
        if self.cloud is not None:
            c = self.cloud
            yield None, (c.xyz, c.classification, c.return_number, c.number_of_returns, c.intensity), len(c)
            return
        yield from iter_chunks(self.infos if infos is None else infos, chunk_size=chunk_size)


def open_points(points: Any, crs: Any = None) -> PointSource:
    """A :class:`PointSource` of LAS/LAZ files (headers scanned here) or of a :class:`PointCloud`.

    Raises
    ------
    PointCloudError, CRSError
        Unreadable files, no CRS in the files and none given, or an empty cloud.
    """
    if isinstance(points, PointCloud):
        if not len(points):
            raise PointCloudError("the point cloud is empty")
        bounds = (*points.xyz[:, :2].min(axis=0), *points.xyz[:, :2].max(axis=0))
        return PointSource(points, [], [], crs, points.epsg, [bounds])
    paths = as_paths(points)
    infos = scan_las(paths, crs=crs)
    return PointSource(None, paths, infos, crs, infos[0].epsg, [inf.bounds for inf in infos])
