"""The city model in memory.

A :class:`CityModel` holds one shared vertex array ``(n, 3) float64`` in real coordinates and
the CityJSON city objects, whose geometry boundaries index into it (CityJSON's own layout:
nested lists of vertex indices). Quantisation (``transform``) never happens in memory: readers
de-quantise, writers quantise.

City objects are kept as the CityJSON dictionaries they are (``type``, ``attributes``,
``geometry``, ``parents``, ``children`` and any other member), so that a read/write round trip
loses nothing the file had. The same holds for unknown root members (``extra``), extensions and
geometry templates.
"""

from __future__ import annotations

import copy as _copy
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from citymodel.errors import InputError

__all__ = ["CityModel", "CITYJSON_VERSION", "BUILDING_TYPES", "SEMANTIC_ROOF", "SEMANTIC_WALL"]

CITYJSON_VERSION = "2.0"
BUILDING_TYPES = ("Building", "BuildingPart")
SEMANTIC_ROOF = "RoofSurface"
SEMANTIC_WALL = "WallSurface"


@dataclass
class CityModel:
    """A CityJSON 2.0 city model with one shared vertex array in real coordinates.

    Parameters
    ----------
    vertices : (n, 3) float64
        Real coordinates [m] in the model's CRS. Geometry boundaries index into it.
    city_objects : dict[str, dict]
        CityJSON city objects by id (``type``, ``attributes``, ``geometry``, ``parents``,
        ``children``, ...), as in the file.
    metadata : dict
        CityJSON ``metadata``; the CRS is kept separately in ``epsg``.
    epsg : int or None
        EPSG code of the (possibly compound) CRS, e.g. 7415 for RD New + NAP.
    templates : dict or None
        CityJSON ``geometry-templates``: ``{"templates": [...], "vertices-templates": (k, 3)}``.
    extensions : dict
        CityJSON ``extensions``.
    extra : dict
        Every other root member of the file (``appearance``, application members), kept as is.
    """

    vertices: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.float64))
    city_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    epsg: int | None = None
    templates: dict[str, Any] | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float64)
        if v.size == 0:
            v = v.reshape(0, 3)
        if v.ndim != 2 or v.shape[1] != 3:
            raise InputError(f"vertices must have shape (n, 3), got {v.shape}")
        self.vertices = v

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.city_objects)

    def __iter__(self) -> Iterator[str]:
        return iter(self.city_objects)

    def __getitem__(self, object_id: str) -> dict[str, Any]:
        try:
            return self.city_objects[object_id]
        except KeyError:
            raise InputError(f"{self.source or 'model'}: no city object with id {object_id!r}") from None

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    def ids_of_type(self, *types: str) -> list[str]:
        """Ids of the city objects whose ``type`` is one of ``types`` (all when none given)."""
        if not types:
            return list(self.city_objects)
        wanted = set(types)
        return [k for k, o in self.city_objects.items() if o.get("type") in wanted]

    def building_ids(self) -> list[str]:
        """Ids of top-level ``Building`` objects (BuildingParts are their children)."""
        return self.ids_of_type("Building")

    def counts_by_type(self) -> dict[str, int]:
        """Number of city objects per type."""
        return dict(Counter(o.get("type", "?") for o in self.city_objects.values()))

    def counts_by_lod(self) -> dict[str, int]:
        """Number of geometries per LoD string (``"2.2"``; template instances count too)."""
        c: Counter[str] = Counter()
        for o in self.city_objects.values():
            for g in o.get("geometry", ()) or ():
                lod = g.get("lod")
                if lod is None and g.get("type") == "GeometryInstance" and self.templates:
                    t = g.get("template")
                    tl = self.templates.get("templates", [])
                    if isinstance(t, int) and 0 <= t < len(tl):
                        lod = tl[t].get("lod")
                c[str(lod)] += 1
        return dict(c)

    def extent(self) -> np.ndarray:
        """Bounding box ``[xmin, ymin, zmin, xmax, ymax, zmax]`` of the vertices [m]."""
        if self.n_vertices == 0:
            return np.full(6, np.nan)
        return np.concatenate([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def geometries(self, object_id: str) -> list[dict[str, Any]]:
        """The geometry list of one object (empty list when it has none)."""
        return self[object_id].get("geometry", []) or []

    def attribute(self, name: str, ids: Iterable[str] | None = None, default: float = np.nan) -> np.ndarray:
        """One attribute over many objects as an array (``default`` where missing)."""
        ids = self.building_ids() if ids is None else list(ids)
        out = []
        for i in ids:
            v = self.city_objects[i].get("attributes", {}).get(name, default)
            out.append(default if v is None else v)
        return np.asarray(out)

    # ----------------------------------------------------------------- building
    def add_vertices(self, xyz: np.ndarray) -> np.ndarray:
        """Append vertices ``(k, 3)`` [m]; return their indices ``(k,)`` int64."""
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        start = self.n_vertices
        self.vertices = np.vstack([self.vertices, xyz]) if start else xyz.copy()
        return np.arange(start, start + len(xyz), dtype=np.int64)

    def add_object(self, object_id: str, obj: dict[str, Any], parent: str | None = None) -> None:
        """Add a city object; with ``parent``, link ``parents``/``children`` both ways."""
        if object_id in self.city_objects:
            raise InputError(f"city object id {object_id!r} already exists")
        obj = dict(obj)
        obj.setdefault("attributes", {})
        if parent is not None:
            obj["parents"] = [parent]
            self.city_objects[parent].setdefault("children", []).append(object_id)
        self.city_objects[object_id] = obj

    def copy(self) -> CityModel:
        """A deep copy (vertices copied too)."""
        return CityModel(
            vertices=self.vertices.copy(),
            city_objects=_copy.deepcopy(self.city_objects),
            metadata=_copy.deepcopy(self.metadata),
            epsg=self.epsg,
            templates=_copy.deepcopy(self.templates),
            extensions=_copy.deepcopy(self.extensions),
            extra=_copy.deepcopy(self.extra),
            source=self.source,
        )

    def __repr__(self) -> str:
        types = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts_by_type().items()))
        return f"CityModel({self.n_vertices} vertices, EPSG:{self.epsg}, {{{types}}})"
