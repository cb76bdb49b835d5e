"""What a CityJSON file holds: version, CRS, counts by type, LoD and geometry type, extent.

:func:`file_info` backs ``citymodel info``; it reads the file once (the version is the file's,
before the reader's upgrade to 2.0).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from citymodel.io.cityjson import (
    is_seq_path,
    load_json,
    model_from_document,
    read_cityjsonseq,
    read_model_bytes,
)
from citymodel.model import CityModel

__all__ = ["file_info", "model_info", "format_info"]


def _file_version(path: Path) -> str | None:
    """The ``version`` of a CityJSON file, or of a CityJSONSeq file's header line."""
    with open(path, "rb") as fh:
        first = fh.readline()
    try:
        head = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    return str(head.get("version")) if isinstance(head, dict) and "version" in head else None


def model_info(model: CityModel) -> dict[str, Any]:
    """Summary of a model: CRS, counts by type / LoD / geometry type, vertices, extent [m]."""
    geom_types: Counter[str] = Counter()
    for o in model.city_objects.values():
        for g in o.get("geometry") or ():
            geom_types[str(g.get("type"))] += 1
    ext = model.extent()
    return {
        "epsg": model.epsg,
        "crs": f"EPSG:{model.epsg}" if model.epsg is not None else None,
        "n_objects": len(model),
        "counts_by_type": dict(sorted(model.counts_by_type().items())),
        "counts_by_lod": dict(sorted(model.counts_by_lod().items())),
        "counts_by_geometry_type": dict(sorted(geom_types.items())),
        "n_vertices": model.n_vertices,
        "extent_m": None if model.n_vertices == 0 else [float(x) for x in ext],
        "has_templates": bool(model.templates and model.templates.get("templates")),
        "extensions": sorted(model.extensions),
        "extra_members": sorted(model.extra),
    }


def file_info(path: str | os.PathLike, crs: int | str | None = None) -> dict[str, Any]:
    """Summary of a ``.city.json`` / ``.city.jsonl`` file (see :func:`model_info`).

    Adds ``file``, ``format`` (CityJSON / CityJSONSeq), ``version`` (as written in the file)
    and ``crs_source`` (``metadata``, ``--crs`` or ``none``).

    Raises
    ------
    CityJSONError
        When the file cannot be read (the message names the file and what is wrong).
    """

    p = Path(path)
    if is_seq_path(p):
        read_model_bytes(p)  # existence / folder checks with the reader's messages
        version = _file_version(p)
        model = read_cityjsonseq(p, crs=crs)
        fmt = "CityJSONSeq"
    else:
        data, where = read_model_bytes(p)
        doc = load_json(data, where)
        version = str(doc.get("version")) if isinstance(doc, dict) and "version" in doc else None
        model = model_from_document(doc, source=where, crs=crs)
        fmt = "CityJSON"
    if crs is not None:
        crs_source = "--crs"
    elif model.epsg is not None:
        crs_source = "metadata"
    else:
        crs_source = "none"
    info = {"file": str(p), "format": fmt, "version": version, "crs_source": crs_source}
    info.update(model_info(model))
    return info


def format_info(info: dict[str, Any]) -> str:
    """Human-readable lines for :func:`file_info`'s dictionary."""
    def counts(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in d.items()) or "-"

    lines = [
        f"{info['file']}",
        f"  format      {info['format']} {info['version']}" + ("" if info["version"] in ("2.0", None) else " (read as 2.0)"),
        f"  CRS         {info['crs'] or 'none declared (give one with --crs EPSG:XXXX)'}"
        + (f" ({info['crs_source']})" if info["crs"] else ""),
        f"  objects     {info['n_objects']}: {counts(info['counts_by_type'])}",
        f"  LoD         {counts(info['counts_by_lod'])} (geometries)",
        f"  geometries  {counts(info['counts_by_geometry_type'])}",
        f"  vertices    {info['n_vertices']}",
    ]
    e = info["extent_m"]
    if e is not None:
        lines.append(f"  extent [m]  x {e[0]:.2f} .. {e[3]:.2f}, y {e[1]:.2f} .. {e[4]:.2f}, z {e[2]:.2f} .. {e[5]:.2f}")
    if info["extensions"]:
        lines.append(f"  extensions  {', '.join(info['extensions'])}")
    if info["extra_members"]:
        lines.append(f"  other       {', '.join(info['extra_members'])}")
    return "\n".join(lines)
