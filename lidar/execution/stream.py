"""A build's CityJSONSeq written as its tiles finish (``citymodel build --out X.city.jsonl``).

The header line comes first, with a transform fixed before any tile runs (scale 1 mm, translate
the points' lower corner rounded down to the metre): a building's feature line then depends only
on that building, so it is byte for byte the same whatever the tile size, the number of workers
or the order in which the tiles finish. Each tile's buildings are appended (and flushed) when it
finishes; :meth:`SeqWriter.finish` appends the rest of the model (terrain, vegetation, footprints
in no tile). The caller writes into a temporary file and renames it at the end
(:func:`citymodel._fileutil.atomic_path`): a killed build never leaves a half file under the
output's name, and its finished tiles are in the work folder for the resumed run.

Examples
--------
>>> with atomic_path("city.city.jsonl") as tmp, SeqWriter(tmp, 28992, extents) as seq:  # doctest: +SKIP
...     model = build_model(files, footprints=fp, on_tile=seq.tile)
...     seq.finish(model)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from citymodel.crs import epsg_to_reference_system
from citymodel.io._boundaries import flatten_indices, remap_boundaries
from citymodel.model import CITYJSON_VERSION, CityModel

__all__ = ["SeqWriter", "SCALE_M"]

#: Quantisation step of the streamed vertices [m].
SCALE_M = 0.001


class SeqWriter:
    """A CityJSONSeq file written feature by feature.

    Parameters
    ----------
    path : path
        The file to write (a temporary path: the caller renames it when the build is done).
    epsg : int or None
        The model's CRS.
    extents : sequence of (xmin, ymin, xmax, ymax)
        The points' extents [m]; their lower corner, rounded down, is the transform's translate.
    """

    def __init__(self, path: str | os.PathLike, epsg: int | None,
                 extents: Sequence[Sequence[float]]) -> None:
        ext = np.asarray(extents, dtype=np.float64).reshape(-1, 4)
        self.translate = np.array([math.floor(ext[:, 0].min()), math.floor(ext[:, 1].min()), 0.0])
        self.scale = np.full(3, SCALE_M)
        md: dict[str, Any] = {"title": "citymodel build"}
        if epsg is not None:
            md["referenceSystem"] = epsg_to_reference_system(epsg)
        header = {"type": "CityJSON", "version": CITYJSON_VERSION,
                  "transform": {"scale": self.scale.tolist(), "translate": self.translate.tolist()},
                  "metadata": md, "CityObjects": {}, "vertices": []}
        self.written: set[str] = set()
        self.n_features = 0
        self.fh = open(path, "wb")  # noqa: SIM115 - closed by close() / the context manager
        self.fh.write(orjson.dumps(header) + b"\n")

    def __enter__(self) -> SeqWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self.fh.closed:
            self.fh.close()

    def _quantise(self, v: np.ndarray) -> np.ndarray:
        return np.round((np.asarray(v, dtype=np.float64).reshape(-1, 3) - self.translate) / self.scale).astype(np.int64)

    def _feature(self, model: CityModel, fid: str, members: list[str]) -> bytes:
        objs = {m: model.city_objects[m] for m in members}
        used_parts = [flatten_indices(g["boundaries"]) for o in objs.values() for g in (o.get("geometry") or ())]
        used = np.unique(np.concatenate(used_parts)) if used_parts else np.zeros(0, np.int64)
        remap = np.full(model.n_vertices, -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        out = {}
        for m, o in objs.items():
            if o.get("geometry"):
                o = dict(o)
                o["geometry"] = [{**g, "boundaries": remap_boundaries(g["boundaries"], remap)} for g in o["geometry"]]
            out[m] = o
        feat = {"type": "CityJSONFeature", "id": fid, "CityObjects": out,
                "vertices": self._quantise(model.vertices[used])}
        return orjson.dumps(feat, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"

    def _write_model(self, model: CityModel, skip: set[str]) -> None:
        objs = model.city_objects
        for oid, obj in objs.items():
            if obj.get("parents") or oid in skip:
                continue
            members, stack = [oid], list(obj.get("children") or ())
            while stack:  # the object's descendants (BuildingParts)
                c = stack.pop(0)
                if c in objs and c not in members:
                    members.append(c)
                    stack.extend(objs[c].get("children") or ())
            self.fh.write(self._feature(model, oid, members))
            self.written.add(oid)
            self.n_features += 1

    def tile(self, report: Any, buildings: Sequence[CityModel]) -> None:
        """Append a finished tile's buildings (one model each, :func:`lidar.build.build_model`'s
        ``on_tile``) and flush."""
        for m in buildings:
            self._write_model(m, set())
        self.fh.flush()

    def finish(self, model: CityModel) -> None:
        """Append the objects of the whole ``model`` not written yet (terrain, vegetation, trees,
        footprints in no tile) and close the file."""
        self._write_model(model, self.written)
        self.close()
