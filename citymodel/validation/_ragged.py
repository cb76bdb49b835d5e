"""Nested CityJSON boundary lists of many geometries as flat arrays, without a Python walk.

The boundaries of a batch of geometries are serialised once with orjson and the resulting bytes
are read with numpy: ``[`` and ``]`` give the nesting depth at every character, so every vertex
index knows the ring, polygon, shell and geometry it belongs to (the running count of lists
opened at that depth). This is shapely's "coordinates plus offsets" layout, built in a few
vectorised passes over the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

__all__ = ["Tokens", "tokenize", "Ragged", "ragged_rings"]

_OPEN, _CLOSE, _COMMA, _MINUS = ord("["), ord("]"), ord(","), ord("-")
_STRIP = bytes.maketrans(b"[],", b"   ")


@dataclass
class Tokens:
    """The serialised batch: per character depth, per number its position and value.

    Attributes
    ----------
    depth : (c,) int32
        Nesting depth after each character (a ``[`` at depth L has ``depth == L``).
    is_open : (c,) bool
        Character is ``[``.
    starts : (k,) int64
        Character positions of the numbers.
    values : (k,) int64
        The numbers (vertex indices).
    geometry : (k,) int64
        Index of the geometry (item of the batch) each number belongs to.
    bad_geometries : (b,) int64
        Items whose boundaries contain something else than integers and lists.
    """

    depth: np.ndarray
    is_open: np.ndarray
    starts: np.ndarray
    values: np.ndarray
    geometry: np.ndarray
    bad_geometries: np.ndarray

    def running_id(self, level: int) -> np.ndarray:
        """Per character: index of the latest list opened at ``level`` (-1 before the first)."""
        return np.cumsum(self.is_open & (self.depth == level)) - 1

    def openers(self, level: int) -> np.ndarray:
        """Character positions of the lists opened at ``level``."""
        return np.flatnonzero(self.is_open & (self.depth == level))


def tokenize(items: list[Any], raw: bytes | None = None) -> Tokens:
    """Tokenise a list of boundary arrays (one per geometry); see :class:`Tokens`.

    ``raw`` may give the serialised list directly (e.g. with ``null`` replaced by ``-1``).
    """
    if raw is None:
        raw = orjson.dumps(items)
    a = np.frombuffer(raw, dtype=np.uint8)
    is_open = a == _OPEN
    is_close = a == _CLOSE
    depth = (np.cumsum(is_open, dtype=np.int32) - np.cumsum(is_close, dtype=np.int32)).astype(np.int32)
    numch = ((a >= 48) & (a <= 57)) | (a == _MINUS)
    prev = np.empty_like(numch)
    prev[0] = False
    prev[1:] = numch[:-1]
    starts = np.flatnonzero(numch & ~prev)
    gid_char = np.cumsum(is_open & (depth == 2)) - 1
    bad = ~(numch | is_open | is_close | (a == _COMMA))
    bad_pos = np.flatnonzero(bad)
    bad_geoms = np.unique(gid_char[bad_pos]) if bad_pos.size else np.zeros(0, np.int64)
    if bad_pos.size:
        # keep the number positions usable: drop tokens from bad geometries entirely
        keep = ~np.isin(gid_char[starts], bad_geoms)
        starts = starts[keep]
        text = bytes(np.where(np.isin(gid_char, bad_geoms), 32, a).astype(np.uint8))
    else:
        text = raw
    stripped = text.translate(_STRIP)
    # only digits, '-' and blanks are left: C parsing, no Python object per number
    values = np.fromstring(stripped, dtype=np.int64, sep=" ") if starts.size else np.zeros(0, np.int64)
    return Tokens(depth, is_open, starts, values, gid_char[starts], bad_geoms)


@dataclass
class Ragged:
    """Rings of a batch of same-depth geometries as flat arrays.

    Attributes
    ----------
    vidx : (k,) int64
        Vertex indices of every ring, ring after ring.
    ring_start, ring_len : (r,) int64
        Offset into ``vidx`` and number of points of each ring.
    ring_polygon : (r,) int64
        Polygon of each ring.
    ring_rank : (r,) int64
        0 for the exterior ring, 1.. for holes.
    polygon_shell : (p,) int64
        Shell of each polygon (for surface geometries: the geometry itself).
    polygon_rank : (p,) int64
        Index of the polygon within its shell.
    shell_geometry : (s,) int64
        Geometry (batch item) of each shell.
    shell_rank : (s,) int64
        Shell index within the geometry: ``solid * 1000 + shell`` for MultiSolids.
    """

    vidx: np.ndarray
    ring_start: np.ndarray
    ring_len: np.ndarray
    ring_polygon: np.ndarray
    ring_rank: np.ndarray
    polygon_shell: np.ndarray
    polygon_rank: np.ndarray
    shell_geometry: np.ndarray
    shell_rank: np.ndarray

    @property
    def n_rings(self) -> int:
        return int(self.ring_start.shape[0])

    @property
    def n_polygons(self) -> int:
        return int(self.polygon_shell.shape[0])

    @property
    def n_shells(self) -> int:
        return int(self.shell_geometry.shape[0])


def _rank(parent: np.ndarray) -> np.ndarray:
    """Index of each child within its parent, for children sorted by parent."""
    if parent.size == 0:
        return parent.copy()
    first = np.searchsorted(parent, parent, side="left")
    return np.arange(parent.size) - first


def ragged_rings(tok: Tokens, depth: int) -> Ragged:
    """Flat rings of a batch whose boundaries all have nesting ``depth`` (Solid: 4).

    ``depth`` 3 (MultiSurface, CompositeSurface): a geometry is one "shell" of polygons.
    ``depth`` 4 (Solid): shells. ``depth`` 5 (MultiSolid, CompositeSolid): solids of shells.
    The caller has checked that every number sits at level ``depth + 1``.
    """
    ring_level, poly_level = depth + 1, depth
    ring_open = tok.openers(ring_level)
    ring_id_char = tok.running_id(ring_level)
    ring_of_num = ring_id_char[tok.starts]
    n_rings = ring_open.size
    ring_len = np.bincount(ring_of_num, minlength=n_rings).astype(np.int64) if n_rings else np.zeros(0, np.int64)
    ring_start = np.concatenate([[0], np.cumsum(ring_len)[:-1]]).astype(np.int64) if n_rings else ring_len
    ring_polygon = tok.running_id(poly_level)[ring_open]
    poly_open = tok.openers(poly_level)
    geom_char = tok.running_id(2)
    if depth == 3:
        polygon_shell = geom_char[poly_open]
        shell_geometry = np.unique(polygon_shell)
        # shells are geometries here; renumber so shell ids are dense
        shell_ids, polygon_shell = np.unique(polygon_shell, return_inverse=True)
        shell_geometry = shell_ids
        shell_rank = np.zeros(shell_ids.size, np.int64)
    else:
        shell_level = depth - 1
        polygon_shell = tok.running_id(shell_level)[poly_open]
        shell_open = tok.openers(shell_level)
        shell_geometry = geom_char[shell_open]
        if depth == 4:
            shell_rank = _rank(shell_geometry)
        else:
            solid_open = tok.openers(depth - 2)
            solid_of_shell = tok.running_id(depth - 2)[shell_open]
            solid_rank = _rank(geom_char[solid_open])
            shell_rank = solid_rank[solid_of_shell] * 1000 + _rank(solid_of_shell)
    return Ragged(
        vidx=tok.values,
        ring_start=ring_start,
        ring_len=ring_len,
        ring_polygon=ring_polygon.astype(np.int64),
        ring_rank=_rank(ring_polygon),
        polygon_shell=np.asarray(polygon_shell, dtype=np.int64),
        polygon_rank=_rank(np.asarray(polygon_shell)),
        shell_geometry=np.asarray(shell_geometry, dtype=np.int64),
        shell_rank=np.asarray(shell_rank, dtype=np.int64),
    )
