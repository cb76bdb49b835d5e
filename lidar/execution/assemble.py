"""Assembling a build: the buildings' results, in footprint order, as one :class:`CityModel`.

Each footprint becomes a ``Building`` with its attributes and the run's (``status``,
``status_reason``, heights, ...); a building of several parts gets ``BuildingPart`` children.
Every LoD's first shell is written as a CityJSON ``Solid`` into one shared vertex list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from citymodel.model import CityModel
from lidar.footprints.given import Footprint
from lidar.reconstruct.building import BuildingResult
from lidar.reconstruct.extrude import Shell, solid_geometry

__all__ = ["assemble_model", "note_partly_outside"]


def _geometry(shells: list[Shell], lod: str, offset: int) -> tuple[dict[str, Any], int]:
    """One CityJSON Solid for the first shell; returns the geometry and the vertex count used."""
    return solid_geometry(shells[0], lod, offset), len(shells[0].vertices)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def note_partly_outside(results: dict[int, BuildingResult], partly: set[int]) -> None:
    """Add "footprint partly outside the point cloud" to the reason of those buildings."""
    for i in partly:
        r = results.get(i)
        if r is not None and r.attributes.get("status") != "skipped":
            r.attributes["status_reason"] = "; ".join(
                x for x in (r.attributes.get("status_reason"), "footprint partly outside the point cloud") if x)


def assemble_model(fps: list[Footprint], results: dict[int, BuildingResult], epsg: int | None,
                   lods: Sequence[str]) -> CityModel:
    """One ``Building`` per footprint (skipped ones without geometry), in footprint order.

    Parameters
    ----------
    fps : list of Footprint
        All footprints of the build.
    results : dict of int to BuildingResult
        Per footprint index, its reconstruction (absent: not reconstructed).
    epsg : int or None
        The model's CRS.
    lods : sequence of str
        LoDs to write, in order.
    """
    verts: list[np.ndarray] = []
    n = 0
    objects: dict[str, dict[str, Any]] = {}
    for i, fp in enumerate(fps):
        r = results.get(i)
        attrs = dict(fp.attributes)
        if r is None:
            attrs.update({"status": "skipped", "status_reason": fp.status_reason or "not reconstructed"})
        else:
            attrs.update(r.attributes)
            if fp.status == "repaired":
                attrs["status_reason"] = "; ".join(x for x in (fp.status_reason, attrs.get("status_reason")) if x)
        attrs = {k: _clean(v) for k, v in attrs.items()}
        obj: dict[str, Any] = {"type": "Building", "attributes": attrs, "geometry": []}
        objects[fp.id] = obj
        if r is None:
            continue
        n_parts = max((len(v) for v in r.shells.values()), default=0)
        if n_parts <= 1:
            for lod in lods:
                if r.shells.get(lod):
                    g, k = _geometry(r.shells[lod], lod, n)
                    verts.append(r.shells[lod][0].vertices)
                    n += k
                    obj["geometry"].append(g)
        else:
            obj["children"] = []
            for p in range(n_parts):
                pid = f"{fp.id}-part{p}"
                child = {"type": "BuildingPart", "attributes": {}, "geometry": [], "parents": [fp.id]}
                for lod in lods:
                    shells = r.shells.get(lod)
                    if shells and p < len(shells):
                        g, k = _geometry([shells[p]], lod, n)
                        verts.append(shells[p].vertices)
                        n += k
                        child["geometry"].append(g)
                obj["children"].append(pid)
                objects[pid] = child
    v = np.vstack(verts) if verts else np.zeros((0, 3))
    return CityModel(vertices=v, city_objects=objects, epsg=epsg, metadata={"title": "citymodel build"})
