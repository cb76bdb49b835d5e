"""CityJSON (``.city.json``) and CityJSONSeq (``.city.jsonl``) readers and writers.

Readers accept CityJSON 1.0, 1.1 and 2.0 and upgrade to 2.0; vertices are de-quantised into
real coordinates ``(n, 3) float64``. Writers quantise with a ``transform`` whose scale keeps
every distinct vertex distinct (so solids stay valid), write to a temporary file and rename.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from citymodel._fileutil import atomic_path
from citymodel._gcutil import without_gc
from citymodel.crs import epsg_to_reference_system, parse_epsg
from citymodel.errors import CityJSONError
from citymodel.io._boundaries import flatten_indices, remap_boundaries, remap_many
from citymodel.io.upgrade import SUPPORTED_VERSIONS, upgrade_document
from citymodel.model import CITYJSON_VERSION, CityModel

__all__ = [
    "read_cityjson",
    "read_cityjsonseq",
    "write_cityjson",
    "write_cityjsonseq",
    "read",
    "write",
    "choose_scale",
    "model_from_document",
    "model_to_document",
    "merge_duplicate_rows",
]

_KNOWN_ROOT = {
    "type",
    "version",
    "transform",
    "metadata",
    "CityObjects",
    "vertices",
    "extensions",
    "geometry-templates",
}

PathLike = str | os.PathLike


# --------------------------------------------------------------------------- reading
def load_json(data: bytes, where: str) -> Any:
    """Parse JSON bytes; a CityJSONError naming ``where`` (file, line) when they are not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not data.strip():
            raise CityJSONError(f"{where}: the file is empty; expected a CityJSON document") from None
        pos = getattr(exc, "pos", None)
        tail = len(data) - (pos or 0) <= 2
        hint = (
            "the file looks truncated (it ends in the middle of the JSON); re-download or re-export it"
            if tail
            else "the file is not valid JSON; check that it is a CityJSON file"
        )
        raise CityJSONError(f"{where}: {hint} ({exc})") from None


def _version_of(doc: dict[str, Any], where: str) -> str:
    v = doc.get("version")
    if v is None:
        raise CityJSONError(f"{where}: member 'version' is missing; CityJSON requires it (e.g. \"2.0\")")
    v = str(v)
    major_minor = ".".join(v.split(".")[:2])
    if major_minor not in SUPPORTED_VERSIONS:
        raise CityJSONError(
            f"{where}: CityJSON version {v!r} is not supported; supported are {', '.join(SUPPORTED_VERSIONS)}"
        )
    return major_minor


def _dequantise(vertices: Any, transform: dict[str, Any] | None, where: str) -> np.ndarray:
    if not isinstance(vertices, list):
        raise CityJSONError(f"{where}: member 'vertices' must be an array of [x, y, z]")
    if not vertices:
        return np.zeros((0, 3), dtype=np.float64)
    try:
        v = np.array(vertices, dtype=np.float64)
    except (ValueError, TypeError):
        raise CityJSONError(
            f"{where}: 'vertices' must be an array of 3 numbers each; some entries are not"
        ) from None
    if v.ndim != 2 or v.shape[1] != 3:
        raise CityJSONError(f"{where}: 'vertices' must hold [x, y, z] triplets, got shape {v.shape}")
    if transform is not None:
        try:
            scale = np.asarray(transform["scale"], dtype=np.float64).reshape(3)
            translate = np.asarray(transform["translate"], dtype=np.float64).reshape(3)
        except (KeyError, ValueError, TypeError):
            raise CityJSONError(
                f"{where}: 'transform' must have 'scale' and 'translate', 3 numbers each"
            ) from None
        v *= scale
        v += translate
    return v


def _check_object(oid: str, obj: Any, n_vertices: int, where: str) -> None:
    if not isinstance(obj, dict):
        raise CityJSONError(f"{where}: city object {oid!r} is not a JSON object")
    if "type" not in obj:
        raise CityJSONError(f"{where}: city object {oid!r} has no 'type'")
    geoms = obj.get("geometry")
    if geoms is None:
        return
    if not isinstance(geoms, list):
        raise CityJSONError(f"{where}: city object {oid!r}: 'geometry' must be an array")
    for gi, g in enumerate(geoms):
        if not isinstance(g, dict) or "boundaries" not in g:
            raise CityJSONError(
                f"{where}: city object {oid!r}, geometry #{gi}: missing 'boundaries'"
            )
        try:
            idx = flatten_indices(g["boundaries"])
        except (ValueError, TypeError, orjson.JSONEncodeError):
            raise CityJSONError(
                f"{where}: city object {oid!r}, geometry #{gi}: boundaries must be nested arrays "
                "of integer vertex indices"
            ) from None
        if idx.size and (idx.max() >= n_vertices or idx.min() < 0):
            bad = int(idx.max() if idx.max() >= n_vertices else idx.min())
            raise CityJSONError(
                f"{where}: city object {oid!r}, geometry #{gi}: vertex index {bad} is out of range "
                f"(the file has {n_vertices} vertices); the file is corrupt or was cut"
            )


def _check_objects(objects: dict[str, Any], n_vertices: int, where: str) -> None:
    """:func:`_check_object` for all objects, with one vectorised index check on the good path.

    Only when something is wrong are the objects walked one by one, for a message that names
    the object and the geometry.
    """
    bounds = []
    for oid, obj in objects.items():
        geoms = obj.get("geometry") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or "type" not in obj or (geoms is not None and not isinstance(geoms, list)):
            _check_object(oid, obj, n_vertices, where)  # raises
        for g in geoms or ():
            if not isinstance(g, dict) or "boundaries" not in g:
                _check_object(oid, obj, n_vertices, where)  # raises
            bounds.append(g["boundaries"])
    try:
        idx = flatten_indices(bounds)
        ok = idx.size == 0 or (int(idx.min()) >= 0 and int(idx.max()) < n_vertices)
    except (ValueError, TypeError, orjson.JSONEncodeError):
        ok = False
    if not ok:
        for oid, obj in objects.items():
            _check_object(oid, obj, n_vertices, where)  # raises with the object's name


def model_from_document(
    doc: Any, *, source: str = "<document>", crs: int | str | None = None, check: bool = True
) -> CityModel:
    """Build a :class:`CityModel` from a parsed CityJSON document (any supported version).

    Parameters
    ----------
    doc : dict
        The parsed JSON document.
    source : str
        File name used in error messages.
    crs : int or str, optional
        Overrides ``metadata.referenceSystem`` (``"EPSG:7415"``, 7415, an OGC URL).
    check : bool
        Check object structure and vertex index ranges (cheap; keep it on for files).
    """
    if not isinstance(doc, dict):
        raise CityJSONError(f"{source}: expected a JSON object with \"type\": \"CityJSON\"")
    t = doc.get("type")
    if t == "CityJSONFeature":
        raise CityJSONError(
            f"{source}: this is a CityJSONFeature, not a CityJSON document; "
            "read CityJSONSeq files (.city.jsonl) with read_cityjsonseq"
        )
    if t != "CityJSON":
        raise CityJSONError(f"{source}: 'type' is {t!r}; a CityJSON file must have \"type\": \"CityJSON\"")
    version = _version_of(doc, source)
    if "CityObjects" not in doc or not isinstance(doc["CityObjects"], dict):
        raise CityJSONError(f"{source}: member 'CityObjects' is missing or not an object")
    if "vertices" not in doc:
        raise CityJSONError(f"{source}: member 'vertices' is missing; CityJSON requires it")
    if version != CITYJSON_VERSION:
        upgrade_document(doc, version)
    vertices = _dequantise(doc["vertices"], doc.get("transform"), source)
    objects: dict[str, Any] = doc["CityObjects"]
    if check:
        _check_objects(objects, vertices.shape[0], source)
    metadata = dict(doc.get("metadata") or {})
    epsg = parse_epsg(crs, source=source) if crs is not None else None
    if epsg is None:
        epsg = parse_epsg(metadata.get("referenceSystem"), source=source)
    templates = doc.get("geometry-templates")
    if templates is not None:
        templates = dict(templates)
        tv = templates.get("vertices-templates", [])
        templates["vertices-templates"] = (
            np.asarray(tv, dtype=np.float64).reshape(-1, 3) if len(tv) else np.zeros((0, 3))
        )
    extra = {k: v for k, v in doc.items() if k not in _KNOWN_ROOT}
    return CityModel(
        vertices=vertices,
        city_objects=objects,
        metadata=metadata,
        epsg=epsg,
        templates=templates,
        extensions=dict(doc.get("extensions") or {}),
        extra=extra,
        source=source,
    )


def read_model_bytes(path: PathLike) -> tuple[bytes, str]:
    """The bytes of a model file and its name for messages; CityJSONError when unreadable."""
    p = Path(path)
    where = str(p)
    if not p.exists():
        raise CityJSONError(f"{where}: no such file")
    if p.is_dir():
        raise CityJSONError(f"{where}: is a folder, expected a CityJSON file")
    return p.read_bytes(), where


@without_gc
def read_cityjson(path: PathLike, *, crs: int | str | None = None) -> CityModel:
    """Read a CityJSON 1.0/1.1/2.0 file (``.city.json``) into a 2.0 :class:`CityModel`.

    Parameters
    ----------
    path : path-like
        The file.
    crs : int or str, optional
        CRS to use instead of (or when missing) ``metadata.referenceSystem``.

    Raises
    ------
    CityJSONError
        Not JSON, truncated, wrong ``type``, missing members, bad vertices or an index out of
        range; the message names the file and the object.
    """
    data, where = read_model_bytes(path)
    if data.lstrip().startswith(b"{") and b"\n{" in data.strip() and _looks_like_seq(data):
        return read_cityjsonseq(path, crs=crs)
    return model_from_document(load_json(data, where), source=where, crs=crs)


def _looks_like_seq(data: bytes) -> bool:
    first = data.lstrip().split(b"\n", 1)[0]
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return isinstance(head, dict) and head.get("type") == "CityJSON" and head.get("CityObjects") == {}


def _iter_lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    for no, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            yield no, line


@without_gc
def read_cityjsonseq(path: PathLike, *, crs: int | str | None = None) -> CityModel:
    """Read a CityJSONSeq file (``.city.jsonl``, 1.1 or 2.0) into one :class:`CityModel`.

    The first line is the CityJSON header (``transform``, ``metadata``); every other line is
    a ``CityJSONFeature`` with its own vertices, which are appended to the shared array.
    """
    data, where = read_model_bytes(path)
    lines = _iter_lines(data)
    try:
        no, first = next(lines)
    except StopIteration:
        raise CityJSONError(f"{where}: the file is empty; expected a CityJSONSeq header line") from None
    header = load_json(first, f"{where}, line {no}")
    if not isinstance(header, dict) or header.get("type") != "CityJSON":
        raise CityJSONError(
            f"{where}, line {no}: the first line of a CityJSONSeq file must be a CityJSON header "
            "(\"type\": \"CityJSON\")"
        )
    version = _version_of(header, where)
    if version == "1.0":
        raise CityJSONError(f"{where}: CityJSONSeq exists from CityJSON 1.1 on; version 1.0 is not valid here")
    transform = header.get("transform")
    chunks: list[np.ndarray] = []
    n_total = 0
    objects: dict[str, Any] = {}
    header_model = model_from_document(
        {**header, "CityObjects": header.get("CityObjects") or {}, "vertices": header.get("vertices") or []},
        source=where,
        crs=crs,
    )
    if header_model.n_vertices:
        chunks.append(header_model.vertices)
        n_total = header_model.n_vertices
    objects.update(header_model.city_objects)
    for no, line in lines:
        lw = f"{where}, line {no}"
        feat = load_json(line, lw)
        if not isinstance(feat, dict) or feat.get("type") != "CityJSONFeature":
            raise CityJSONError(f"{lw}: expected a CityJSONFeature, got type {feat.get('type') if isinstance(feat, dict) else type(feat).__name__!r}")
        fid = feat.get("id", "?")
        if "CityObjects" not in feat or "vertices" not in feat:
            raise CityJSONError(f"{lw}: feature {fid!r} lacks 'CityObjects' or 'vertices'")
        if version != CITYJSON_VERSION:
            upgrade_document(feat, version)
        v = _dequantise(feat["vertices"], transform, f"{lw} (feature {fid!r})")
        if not isinstance(feat["CityObjects"], dict):
            raise CityJSONError(f"{lw}: feature {fid!r}: 'CityObjects' must be an object")
        _check_objects(feat["CityObjects"], v.shape[0], f"{lw} (feature {fid!r})")
        for oid, obj in feat["CityObjects"].items():
            if oid in objects:
                raise CityJSONError(f"{lw}: city object id {oid!r} appears twice in the file")
            if n_total:
                for g in obj.get("geometry", ()) or ():
                    g["boundaries"] = remap_boundaries(g["boundaries"], n_total)
            objects[oid] = obj
        chunks.append(v)
        n_total += v.shape[0]
    header_model.vertices = np.vstack(chunks) if chunks else np.zeros((0, 3))
    header_model.city_objects = objects
    return header_model


# --------------------------------------------------------------------------- writing
def _n_distinct_rows(a: np.ndarray) -> int:
    """Number of distinct rows of ``(n, 3)``: a lexsort, ~5x faster than ``np.unique(axis=0)``."""
    s = a[np.lexsort(a.T[::-1])]
    return 1 + int(np.any(s[1:] != s[:-1], axis=1).sum())


def choose_scale(vertices: np.ndarray, start: float = 0.001, finest: float = 1e-6) -> float:
    """Coarsest power-of-ten scale (from ``start`` down to ``finest``) that keeps vertices distinct.

    Quantising two distinct vertices onto the same integer triple would collapse an edge and
    break a solid; this picks a scale at which that does not happen.
    """
    v = np.asarray(vertices, dtype=np.float64)
    if len(v) < 2:
        return start
    base = v.min(axis=0)
    n_distinct = _n_distinct_rows(np.round(v - base, 9))
    scale = start
    while scale >= finest * 0.999:
        q = np.round((v - base) / scale).astype(np.int64)
        if _n_distinct_rows(q) == n_distinct:
            return scale
        scale /= 10.0
    return finest


def _transform_for(vertices: np.ndarray, scale: float | None) -> dict[str, list[float]]:
    if scale is None:
        scale = choose_scale(vertices)
    if len(vertices):
        translate = [math.floor(x) for x in vertices.min(axis=0)]
    else:
        translate = [0.0, 0.0, 0.0]
    return {"scale": [scale, scale, scale], "translate": [float(t) for t in translate]}


def _quantise(vertices: np.ndarray, transform: dict[str, list[float]]) -> np.ndarray:
    s = np.asarray(transform["scale"])
    t = np.asarray(transform["translate"])
    return np.round((vertices - t) / s).astype(np.int64)


def merge_duplicate_rows(q: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Keep the first of each group of equal quantised vertices.

    Parameters
    ----------
    q : (n, 3) int64
        Quantised vertices.

    Returns
    -------
    kept : (k,) int64
        Indices of the rows kept, in their original order (k <= n).
    remap : (n,) int64 or None
        New index of every old row (``None`` when there was no duplicate: nothing to remap).
    """
    n = q.shape[0]
    if n < 2:
        return np.arange(n), None
    order = np.lexsort(q.T[::-1])
    sq = q[order]
    new = np.ones(n, dtype=bool)
    new[1:] = np.any(sq[1:] != sq[:-1], axis=1)
    if new.all():
        return np.arange(n), None
    group = np.cumsum(new) - 1
    # the stable lexsort puts the lowest original index first in each group
    first = order[new]
    owner = np.empty(n, dtype=np.int64)
    owner[order] = first[group]
    kept = np.flatnonzero(owner == np.arange(n))
    pos = np.full(n, -1, dtype=np.int64)
    pos[kept] = np.arange(kept.size)
    return kept, pos[owner]


@without_gc
def _objects_remapped(objects: dict[str, Any], remap: np.ndarray) -> dict[str, Any]:
    """Copy of the city objects with every geometry's vertex indices mapped through ``remap``."""
    out: dict[str, Any] = dict(objects)
    owners = [oid for oid, o in objects.items() if isinstance(o, dict) and o.get("geometry")]
    flat = [g["boundaries"] for oid in owners for g in objects[oid]["geometry"]]
    new = iter(remap_many(flat, remap))
    for oid in owners:
        o = dict(objects[oid])
        o["geometry"] = [{**g, "boundaries": next(new)} for g in o["geometry"]]
        out[oid] = o
    return out


def _metadata_for(model: CityModel) -> dict[str, Any]:
    md = dict(model.metadata)
    if model.epsg is not None:
        md["referenceSystem"] = epsg_to_reference_system(model.epsg)
    if model.n_vertices:
        md["geographicalExtent"] = [float(x) for x in model.extent()]
    return md


def _templates_out(model: CityModel) -> dict[str, Any] | None:
    if model.templates is None:
        return None
    t = dict(model.templates)
    t["vertices-templates"] = np.asarray(t.get("vertices-templates", np.zeros((0, 3)))).tolist()
    return t


def model_to_document(model: CityModel, *, scale: float | None = None) -> dict[str, Any]:
    """The CityJSON 2.0 document of a model (vertices quantised as int64)."""
    transform = _transform_for(model.vertices, scale)
    doc: dict[str, Any] = {
        "type": "CityJSON",
        "version": CITYJSON_VERSION,
        "transform": transform,
        "metadata": _metadata_for(model),
    }
    if model.extensions:
        doc["extensions"] = model.extensions
    q = _quantise(model.vertices, transform)
    # vertices that quantise to the same integers are the same point in the file: write it once
    # (validators flag duplicates, 1014); the geometry written is unchanged
    kept, remap = merge_duplicate_rows(q)
    doc["CityObjects"] = model.city_objects if remap is None else _objects_remapped(model.city_objects, remap)
    doc["vertices"] = q if remap is None else q[kept]
    t = _templates_out(model)
    if t is not None:
        doc["geometry-templates"] = t
    for k, v in model.extra.items():
        if k not in doc:
            doc[k] = v
    return doc


_OPTS = orjson.OPT_SERIALIZE_NUMPY


def write_cityjson(
    model: CityModel, path: PathLike, *, overwrite: bool = False, scale: float | None = None
) -> Path:
    """Write a model as CityJSON 2.0 (``.city.json``), atomically.

    Parameters
    ----------
    scale : float, optional
        Quantisation step [m]; default: 0.001 m, or finer where that would merge vertices.
    overwrite : bool
        Replace an existing file.
    """
    doc = model_to_document(model, scale=scale)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(orjson.dumps(doc, option=_OPTS))
    return Path(path)


def _features(model: CityModel) -> Iterator[tuple[str, list[str]]]:
    """Top-level objects (no parents) with all their descendants."""
    objs = model.city_objects
    for oid, obj in objs.items():
        if obj.get("parents"):
            continue
        members = [oid]
        stack = list(obj.get("children", ()) or ())
        seen = {oid}
        while stack:
            c = stack.pop(0)
            if c in seen or c not in objs:
                continue
            seen.add(c)
            members.append(c)
            stack.extend(objs[c].get("children", ()) or ())
        yield oid, members


@without_gc
def write_cityjsonseq(
    model: CityModel, path: PathLike, *, overwrite: bool = False, scale: float | None = None
) -> Path:
    """Write a model as CityJSONSeq 2.0 (``.city.jsonl``): a header line, then one feature per
    top-level object with its children and only the vertices they use."""
    transform = _transform_for(model.vertices, scale)
    header: dict[str, Any] = {
        "type": "CityJSON",
        "version": CITYJSON_VERSION,
        "transform": transform,
        "metadata": _metadata_for(model),
        "CityObjects": {},
        "vertices": [],
    }
    if model.extensions:
        header["extensions"] = model.extensions
    t = _templates_out(model)
    if t is not None:
        header["geometry-templates"] = t
    for k, v in model.extra.items():  # keep unknown root members (e.g. appearance) in the header
        header.setdefault(k, v)
    q = _quantise(model.vertices, transform)
    remap = np.full(model.n_vertices, -1, dtype=np.int64)
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "wb") as fh:
        fh.write(orjson.dumps(header) + b"\n")
        for fid, members in _features(model):
            objs = {m: model.city_objects[m] for m in members}
            used_parts = [
                flatten_indices(g["boundaries"])
                for o in objs.values()
                for g in (o.get("geometry") or ())
            ]
            used = np.unique(np.concatenate(used_parts)) if used_parts else np.zeros(0, np.int64)
            kept, dedup = merge_duplicate_rows(q[used])  # one vertex per point within the feature
            remap[used] = np.arange(len(used)) if dedup is None else dedup
            out_objs = {}
            for m, o in objs.items():
                if o.get("geometry"):
                    o = dict(o)
                    o["geometry"] = [
                        {**g, "boundaries": remap_boundaries(g["boundaries"], remap)} for g in o["geometry"]
                    ]
                out_objs[m] = o
            feat = {"type": "CityJSONFeature", "id": fid, "CityObjects": out_objs, "vertices": q[used[kept]]}
            fh.write(orjson.dumps(feat, option=_OPTS) + b"\n")
            remap[used] = -1
    return Path(path)


# --------------------------------------------------------------------------- dispatch
def is_seq_path(path: PathLike) -> bool:
    """True when the file name says CityJSONSeq (``.jsonl``, ``.city.jsonl``, ``.cjseq``)."""
    name = str(path).lower()
    return name.endswith((".jsonl", ".city.jsonl", ".cjseq"))


def read(path: PathLike, *, crs: int | str | None = None) -> CityModel:
    """Read ``.city.json`` or ``.city.jsonl`` (chosen by the file name)."""
    return read_cityjsonseq(path, crs=crs) if is_seq_path(path) else read_cityjson(path, crs=crs)


def write(
    model: CityModel, path: PathLike, *, overwrite: bool = False, scale: float | None = None
) -> Path:
    """Write ``.city.json`` or ``.city.jsonl`` (chosen by the file name), atomically."""
    if is_seq_path(path):
        return write_cityjsonseq(model, path, overwrite=overwrite, scale=scale)
    return write_cityjson(model, path, overwrite=overwrite, scale=scale)
