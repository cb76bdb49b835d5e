"""Fast helpers over CityJSON's nested boundary lists (vertex indices)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

__all__ = ["flatten_indices", "remap_boundaries", "remap_many", "boundary_depth", "DEPTH_BY_TYPE"]

# Nesting depth of ``boundaries`` (number of list levels above the vertex indices).
DEPTH_BY_TYPE = {
    "MultiPoint": 1,
    "MultiLineString": 2,
    "MultiSurface": 3,
    "CompositeSurface": 3,
    "Solid": 4,
    "MultiSolid": 5,
    "CompositeSolid": 5,
}

_STRIP = bytes.maketrans(b"[],", b"   ")
_ALLOWED = b"0123456789-[],"


def flatten_indices(boundaries: Any) -> np.ndarray:
    """Every vertex index of a nested boundary list, in order, as ``(k,) int64``.

    Uses orjson to serialise and numpy to parse, which is much faster than a Python walk.
    Non-integer leaves (``null`` in semantics, floats) raise ``ValueError``.
    """
    raw = orjson.dumps(boundaries)
    if raw.translate(None, _ALLOWED):  # null, floats, strings, objects, booleans
        raise ValueError("boundaries must hold only integer vertex indices")
    text = raw.translate(_STRIP)
    if not text.strip():
        return np.zeros(0, dtype=np.int64)
    # text-mode fromstring parses in C without one Python object per number (split + array
    # cost ~4x the time and ~40 bytes per index of peak memory); the character check above
    # guarantees it reads every number
    return np.fromstring(text, dtype=np.int64, sep=" ")


def remap_boundaries(boundaries: Any, mapping: np.ndarray | int) -> Any:
    """Copy of a nested boundary list with every index ``i`` replaced.

    ``mapping`` is an integer offset (``i + mapping``) or an array (``mapping[i]``).
    """
    if isinstance(mapping, int | np.integer):
        off = int(mapping)

        def leaf(ring: list[int]) -> list[int]:
            return [i + off for i in ring]
    else:
        table = np.asarray(mapping)

        def leaf(ring: list[int]) -> list[int]:
            return table[ring].tolist() if ring else []

    def walk(b: Any) -> Any:
        if not b:
            return []
        if isinstance(b[0], list):
            return [walk(x) for x in b]
        return leaf(b)

    return walk(boundaries)


_NUMBER = re.compile(rb"(\d+)")


def remap_many(boundaries: list[Any], table: np.ndarray) -> list[Any]:
    """Copies of many nested boundary lists with every index ``i`` replaced by ``table[i]``.

    One serialisation, one regex split and one parse for all of them (several times faster than
    :func:`remap_boundaries` per geometry on large models).
    """
    if not boundaries:
        return []
    raw = orjson.dumps(boundaries)
    if raw.translate(None, _ALLOWED):
        raise ValueError("boundaries must hold only integer vertex indices")
    parts = _NUMBER.split(raw)
    nums = np.asarray(parts[1::2]).astype(np.int64)
    parts[1::2] = np.asarray(table)[nums].astype("S20").tolist()
    return orjson.loads(b"".join(parts))


def boundary_depth(b: Any) -> int:
    """Number of list levels above the leaves (a ring of ints has depth 1)."""
    d = 0
    while isinstance(b, list):
        d += 1
        if not b:
            break
        b = b[0]
    return d
