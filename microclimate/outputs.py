"""Files written by ``citymodel heat``: GeoTIFF maps, ``points.csv`` and ``summary.json``.

Every file is written to a temporary file in the output folder and renamed when complete
(:func:`citymodel._fileutil.atomic_path`), so an interrupted run leaves no half-written file.

=========================  ====  ===========================================================
file                       unit  content
=========================  ====  ===========================================================
``tmrt_max_c.tif``         degC  maximum mean radiant temperature at 1.1 m over the period
``utci_max_c.tif``         degC  maximum UTCI over the period
``t_surface_max_c.tif``    degC  maximum ground surface temperature over the period
``strong_heat_hours.tif``  h     hours with UTCI above 32 degC (strong heat stress or worse)
``points.csv``             -     hourly values at ``--points`` (:data:`POINT_COLUMNS`)
``summary.json``           -     inputs, fallbacks, period and figures of the run
=========================  ====  ===========================================================

The GeoTIFFs are float32, NaN nodata (buildings), one band whose description names the
quantity and its unit, in the grid's CRS.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citymodel._fileutil import atomic_path, check_output

__all__ = ["RASTER_OUTPUTS", "POINT_COLUMNS", "write_raster", "write_heat_rasters", "points_frame",
           "write_points_csv", "write_summary", "output_paths", "check_outputs", "write_heat_outputs"]

#: Result attribute -> (file name, band description with unit).
RASTER_OUTPUTS = {
    "tmrt_max_c": ("tmrt_max_c.tif", "maximum mean radiant temperature at 1.1 m [degC]"),
    "utci_max_c": ("utci_max_c.tif", "maximum UTCI [degC]"),
    "t_surface_max_c": ("t_surface_max_c.tif", "maximum ground surface temperature [degC]"),
    "strong_heat_hours": ("strong_heat_hours.tif", "hours of strong heat stress or worse, UTCI > 32 degC [h]"),
}

#: Columns of ``points.csv`` after ``point_id`` and ``time`` (keys of ``HeatResult.points``).
POINT_COLUMNS = (
    "tmrt_c", "utci_c", "kdown_w_m2", "kup_w_m2", "ldown_w_m2", "lup_w_m2",
    "knorth_w_m2", "keast_w_m2", "ksouth_w_m2", "kwest_w_m2",
    "lnorth_w_m2", "least_w_m2", "lsouth_w_m2", "lwest_w_m2",
)


def output_paths(out_dir: str | os.PathLike, *, points: bool, extra: tuple[str, ...] = ()) -> list[Path]:
    """The files a run writes into ``out_dir``."""
    d = Path(out_dir)
    names = [f for f, _ in RASTER_OUTPUTS.values()] + ["summary.json", *extra]
    if points:
        names.append("points.csv")
    return [d / n for n in names]


def check_outputs(out_dir: str | os.PathLike, overwrite: bool, *, points: bool, extra: tuple[str, ...] = ()) -> None:
    """Refuse before any work when an output exists and ``overwrite`` is False (``--overwrite``)."""
    for p in output_paths(out_dir, points=points, extra=extra):
        check_output(p, overwrite)


def write_raster(path: str | os.PathLike, data: np.ndarray, transform: Any, crs: str | None,
                 description: str, *, overwrite: bool = False) -> Path:
    """Write one float32 GeoTIFF band (NaN nodata, deflate) atomically.

    Parameters
    ----------
    path : path
        The ``.tif`` to write.
    data : (ny, nx) array
        Values; NaN = nodata.
    transform : affine.Affine
    crs : str or None
    description : str
        Band description, with the unit in brackets.
    """
    import rasterio

    arr = np.asarray(data, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{path}: a map must be 2-D, got shape {arr.shape}")
    profile = dict(driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype="float32",
                   transform=transform, crs=crs, nodata=float("nan"), compress="deflate")
    with atomic_path(path, overwrite=overwrite) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr, 1)
            dst.set_band_description(1, description)
            dst.update_tags(1, unit=description.rsplit("[", 1)[-1].rstrip("]"))
    return Path(path)


def write_heat_rasters(result: Any, out_dir: str | os.PathLike, transform: Any, crs: str | None,
                       *, overwrite: bool = False) -> dict[str, Path]:
    """Write the four maps of a ``HeatResult``; return attribute -> path."""
    out = {}
    for attr, (name, desc) in RASTER_OUTPUTS.items():
        out[attr] = write_raster(Path(out_dir) / name, getattr(result, attr), transform, crs, desc,
                                 overwrite=overwrite)
    return out


def points_frame(result: Any, point_ids: list[str]) -> pd.DataFrame:
    """Long table: one row per point and time step, columns ``point_id, time`` + :data:`POINT_COLUMNS`.

    ``time`` is the forcing row's own time stamp (end of its interval), local time with its UTC
    offset as in the file, ISO 8601 (``2005-10-07T12:07:00+01:00``).
    """
    times = pd.DatetimeIndex(result.times)
    n_t, n_p = len(times), len(point_ids)
    frame = {
        "point_id": np.repeat(np.asarray(point_ids, dtype=object), n_t),
        "time": np.tile(np.asarray([t.isoformat() for t in times], dtype=object), n_p),
    }
    for c in POINT_COLUMNS:
        a = np.asarray(result.points[c], dtype=np.float64)
        if a.shape != (n_p, n_t):
            raise ValueError(f"points[{c!r}] has shape {a.shape}, expected ({n_p}, {n_t})")
        frame[c] = a.reshape(-1)
    return pd.DataFrame(frame)


def write_points_csv(result: Any, point_ids: list[str], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write :func:`points_frame` as CSV (3 decimals) atomically."""
    df = points_frame(result, point_ids)
    with atomic_path(path, overwrite=overwrite) as tmp:
        df.to_csv(tmp, index=False, float_format="%.3f")
    return Path(path)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def write_summary(summary: dict[str, Any], path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``summary.json`` (indented, NaN as null) atomically."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(_jsonable(summary), indent=2) + "\n", encoding="utf-8")
    return Path(path)


def write_heat_outputs(
    out_dir: str | os.PathLike,
    result: Any,
    transform: Any,
    crs: str | None,
    summary: dict[str, Any],
    *,
    point_ids: list[str] | None = None,
    model: Any = None,
    model_name: str = "heat.city.json",
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write every output of a run, all or nothing.

    Each file is first written to a temporary file beside it; only when all are written are
    they renamed, so a failure leaves no new file (and replaces no old one).

    Parameters
    ----------
    out_dir : path
        The ``--out`` folder (created).
    result : HeatResult
        Maps (:data:`RASTER_OUTPUTS`) and, with ``point_ids``, ``times`` and ``points``.
    transform, crs
        The grid's georeferencing.
    summary : dict
        Written as ``summary.json``.
    point_ids : list of str, optional
        Write ``points.csv`` for these points.
    model : CityModel, optional
        Written as ``model_name`` (the city-model route, with surface temperatures).

    Returns
    -------
    dict
        Role -> final path.
    """
    from citymodel.io import write as write_model

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with contextlib.ExitStack() as stack:
        for attr, (name, desc) in RASTER_OUTPUTS.items():
            tmp = stack.enter_context(atomic_path(d / name, overwrite=overwrite))
            write_raster(tmp, getattr(result, attr), transform, crs, desc, overwrite=True)
            written[attr] = d / name
        if point_ids:
            tmp = stack.enter_context(atomic_path(d / "points.csv", overwrite=overwrite))
            points_frame(result, point_ids).to_csv(tmp, index=False, float_format="%.3f")
            written["points"] = d / "points.csv"
        if model is not None:
            tmp = stack.enter_context(atomic_path(d / model_name, overwrite=overwrite))
            write_model(model, tmp, overwrite=True)
            written["model"] = d / model_name
        tmp = stack.enter_context(atomic_path(d / "summary.json", overwrite=overwrite))
        summary = {**summary, "outputs": {k: str(v) for k, v in written.items()}}
        tmp.write_text(json.dumps(_jsonable(summary), indent=2) + "\n", encoding="utf-8")
        written["summary"] = d / "summary.json"
    return written
