"""SOLWEIG-style input rasters (DSM, DEM, CDSM, land cover): read, check alignment, check classes.

UMEP users prepare a ground + buildings surface model (DSM), a ground model (DEM), optionally
a vegetation canopy height model (CDSM, heights above ground, 0 = no vegetation) and a land-cover
raster with UMEP classes (:data:`UMEP_CLASSES`). :func:`read_heat_rasters` reads them with
rasterio (GeoTIFF, ESRI ASCII grid, anything GDAL opens) and checks that they share shape,
transform and CRS, naming the file that differs and how to fix it.

Nodata: DSM/DEM cells with the file's nodata value (or non-finite) are an error listing their
count (fill them, e.g. ``gdal_fillnodata``); CDSM nodata becomes 0 (no vegetation) and
land-cover nodata becomes 1 (paved), both counted, logged and recorded in the metadata.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from citymodel.errors import CRSError, InputError
from citymodel.landcover import is_landcover_raster, to_umep
from microclimate.grid import HeatRasters
from microclimate.skyview import estimate_memory_bytes

__all__ = [
    "UMEP_CLASSES",
    "read_raster",
    "read_heat_rasters",
    "check_land_cover",
    "estimate_grid_bytes",
    "check_grid_memory",
]

log = logging.getLogger(__name__)

#: UMEP land-cover classes accepted: code -> meaning (SOLWEIG's land-cover scheme; the grid
#: engine maps them to ground layers in ``microclimate.ground.UMEP_LAND_COVER``).
UMEP_CLASSES = {0: "cobble stones", 1: "paved", 2: "building", 3: "evergreen trees (ground below)",
                4: "deciduous trees (ground below)", 5: "grass", 6: "bare soil", 7: "water"}



def _as_path(p: str | os.PathLike) -> Path:
    return Path(p)


def read_raster(path: str | os.PathLike, *, crs: str | None = None, role: str = "raster") -> tuple[np.ndarray, dict[str, Any]]:
    """Read band 1 of a raster as float64 with its georeferencing.

    Parameters
    ----------
    path : str or PathLike
        GeoTIFF, ESRI ASCII grid, ... (anything GDAL reads).
    crs : str, optional
        CRS to use when the file has none, or to override it (``--crs``), e.g. ``"EPSG:3007"``.
    role : str
        What the raster is (``--dsm``, ``--cdsm``, ...), used in messages.

    Returns
    -------
    data : (ny, nx) float64
        Values; nodata cells are NaN.
    meta : dict
        ``path``, ``transform`` (affine.Affine), ``crs`` (str, e.g. ``"EPSG:3007"``, or WKT),
        ``shape``, ``nodata`` (the file's value or None), ``n_nodata``, ``crs_from`` (``"file"``
        or ``"--crs"``).

    Raises
    ------
    InputError
        The file cannot be opened.
    CRSError
        The file has no CRS and ``crs`` is None, or the CRS is not north-up.
    """
    import rasterio
    from rasterio.crs import CRS as RioCRS
    from rasterio.errors import RasterioIOError

    p = _as_path(path)
    if not p.is_file():
        raise InputError(f"{role} {p}: file not found")
    try:
        with rasterio.open(p) as src:
            data = src.read(1).astype(np.float64)
            transform = src.transform
            file_crs = src.crs
            nodata = src.nodata
    except RasterioIOError as exc:
        raise InputError(f"{role} {p}: cannot read the raster ({exc})") from exc
    if crs is not None:
        try:
            use = RioCRS.from_user_input(crs)
        except Exception as exc:
            raise CRSError(f"--crs {crs!r}: not a CRS rasterio knows ({exc}); write e.g. EPSG:3007") from exc
        crs_from = "--crs"
    elif file_crs is None:
        raise CRSError(
            f"{role} {p}: the raster has no CRS; give it with --crs EPSG:XXXX (the CRS of all the "
            "input rasters), or add one with gdal_edit.py -a_srs EPSG:XXXX"
        )
    else:
        use, crs_from = file_crs, "file"
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise CRSError(
            f"{role} {p}: the raster is rotated or not north-up ({tuple(transform)[:6]}); "
            "warp it to a north-up grid with gdalwarp"
        )
    bad = ~np.isfinite(data)
    if nodata is not None and np.isfinite(nodata):
        bad |= data == nodata
        # float32 files often store -3.4028e38 while the header says -3.40282346638529e38
        if abs(nodata) > 1e37:
            bad |= np.abs(data) > 1e37
    data[bad] = np.nan
    epsg = use.to_epsg()
    crs_s = f"EPSG:{epsg}" if epsg else use.to_wkt()
    meta = {"path": str(p), "transform": transform, "crs": crs_s, "shape": data.shape,
            "nodata": nodata, "n_nodata": int(bad.sum()), "crs_from": crs_from}
    return data, meta


def _check_aligned(ref: dict[str, Any], other: dict[str, Any], ref_role: str, role: str) -> None:
    if other["shape"] != ref["shape"]:
        raise InputError(
            f"{role} {other['path']}: {other['shape'][0]} x {other['shape'][1]} cells, but {ref_role} "
            f"{ref['path']} has {ref['shape'][0]} x {ref['shape'][1]}; the rasters must share one grid: "
            f"resample it with gdalwarp -te <xmin ymin xmax ymax of {ref_role}> -tr <cell size> "
            "(or use a city model and --grid-m)"
        )
    if not other["transform"].almost_equals(ref["transform"], precision=1e-6):
        raise InputError(
            f"{role} {other['path']}: its grid (origin {other['transform'].c:.3f}, {other['transform'].f:.3f}, "
            f"cell {other['transform'].a:g} m) differs from {ref_role} {ref['path']} (origin "
            f"{ref['transform'].c:.3f}, {ref['transform'].f:.3f}, cell {ref['transform'].a:g} m); "
            "align it with gdalwarp -te/-tr to the same extent and cell size"
        )
    if other["crs"] != ref["crs"]:
        raise CRSError(
            f"{role} {other['path']}: CRS {other['crs']} differs from {ref_role} {ref['path']} "
            f"({ref['crs']}); reproject it with gdalwarp -t_srs {ref['crs']}"
        )


def check_land_cover(classes: np.ndarray, path: str = "land cover") -> np.ndarray:
    """Check UMEP land-cover codes; return them as int16.

    Parameters
    ----------
    classes : (ny, nx) float
        Codes, NaN where nodata.
    path : str
        Named in the message.

    Raises
    ------
    InputError
        Listing the unknown codes with their cell counts and the known classes.
    """
    finite = np.isfinite(classes)
    vals, counts = np.unique(classes[finite], return_counts=True)
    unknown = [(v, c) for v, c in zip(vals, counts, strict=True) if v not in UMEP_CLASSES]
    if unknown:
        listed = ", ".join(f"{v:g} ({c} cells)" for v, c in unknown[:10])
        known = ", ".join(f"{k} {v}" for k, v in UMEP_CLASSES.items())
        raise InputError(
            f"--landcover {path}: unknown UMEP land-cover code(s) {listed}; the classes are {known}; "
            "reclassify the raster (e.g. gdal_calc.py)"
        )
    return np.where(finite, classes, 1).astype(np.int16)


def read_heat_rasters(
    dsm: str | os.PathLike,
    dem: str | os.PathLike,
    cdsm: str | os.PathLike | None = None,
    landcover: str | os.PathLike | None = None,
    *,
    crs: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Read SOLWEIG-style rasters into a :class:`microclimate.grid.HeatRasters`.

    Parameters
    ----------
    dsm, dem : path
        Ground + buildings surface model and ground model [m] (``--dsm``, ``--dem``).
    cdsm : path, optional
        Vegetation canopy height above ground [m], 0 = none (``--cdsm``).
    landcover : path, optional
        UMEP land-cover classes (``--landcover``).
    crs : str, optional
        For rasters without a CRS (``--crs``), e.g. UMEP's ASCII grids.

    Returns
    -------
    rasters : HeatRasters
    meta : dict
        ``inputs`` (role -> path), ``crs``, ``cell_m``, ``shape``, ``fallbacks`` (list of str).

    Raises
    ------
    InputError, CRSError
        As described in the module docstring; every message names the file.
    """
    fallbacks: list[str] = []
    dsm_a, ref = read_raster(dsm, crs=crs, role="--dsm")
    dem_a, m = read_raster(dem, crs=crs, role="--dem")
    _check_aligned(ref, m, "--dsm", "--dem")
    for a, meta, role in ((dsm_a, ref, "--dsm"), (dem_a, m, "--dem")):
        if meta["n_nodata"]:
            r, c = np.argwhere(np.isnan(a))[0]
            raise InputError(
                f"{role} {meta['path']}: {meta['n_nodata']} nodata cells (first at row {r}, column {c}); "
                "fill them (gdal_fillnodata.py) or crop the rasters to where they have data"
            )
    if abs(ref["transform"].a) != abs(ref["transform"].e):
        raise InputError(
            f"--dsm {ref['path']}: cells are not square ({ref['transform'].a:g} x {-ref['transform'].e:g} m); "
            "resample with gdalwarp -tr"
        )
    cdsm_a = lc = None
    inputs = {"dsm": ref["path"], "dem": m["path"]}
    if cdsm is not None:
        cdsm_a, cm = read_raster(cdsm, crs=crs, role="--cdsm")
        _check_aligned(ref, cm, "--dsm", "--cdsm")
        if cm["n_nodata"]:
            msg = f"--cdsm {cm['path']}: {cm['n_nodata']} nodata cells taken as no vegetation (0 m)"
            log.warning(msg)
            fallbacks.append(msg)
        cdsm_a = np.nan_to_num(cdsm_a, nan=0.0)
        if np.any(cdsm_a < 0):
            raise InputError(f"--cdsm {cm['path']}: negative canopy heights; the CDSM holds heights above ground (0 = none)")
        inputs["cdsm"] = cm["path"]
    if landcover is not None:
        lca, lm = read_raster(landcover, crs=crs, role="--landcover")
        _check_aligned(ref, lm, "--dsm", "--landcover")
        if is_landcover_raster(landcover):  # ours (citymodel build --landcover-out): to UMEP codes
            valid = np.isfinite(lca)
            lca = np.where(valid, to_umep(np.where(valid, lca, 0)).astype(np.float64), np.nan)
            msg = (f"--landcover {lm['path']}: citymodel land-cover classes converted to UMEP classes "
                   "(shrubs as grass)")
            log.info(msg)
            fallbacks.append(msg)
        lc = check_land_cover(lca, lm["path"])
        if lm["n_nodata"]:
            msg = f"--landcover {lm['path']}: {lm['n_nodata']} nodata cells taken as paved (class 1)"
            log.warning(msg)
            fallbacks.append(msg)
        inputs["landcover"] = lm["path"]
    if any(mm.get("crs_from") == "--crs" for mm in (ref, m)) or crs is not None:
        fallbacks.append(f"CRS {ref['crs']} from --crs")
    rasters = HeatRasters(dsm_m=dsm_a, dem_m=dem_a, cdsm_m=cdsm_a, landcover=lc,
                          transform=ref["transform"], crs=ref["crs"], building_mask=None)
    meta = {"inputs": inputs, "crs": ref["crs"], "cell_m": float(ref["transform"].a),
            "shape": list(ref["shape"]), "fallbacks": fallbacks}
    return rasters, meta


def _available_bytes() -> int:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 2**30


def estimate_grid_bytes(shape: tuple[int, int], n_steps: int = 72) -> int:
    """Bytes a heat run of ``n_steps`` steps on a grid of ``shape`` cells needs, at most.

    The engine's own estimate (:func:`microclimate.skyview.estimate_memory_bytes`: per-cell
    view fractions of two levels, per-step shadows and ground temperatures, one ray tile, the
    Embree scenes) for every cell (building cells included, an upper bound), plus the input
    rasters (4 x float64, class, mask: 35 bytes per cell).
    """
    n = int(shape[0]) * int(shape[1])
    return int(estimate_memory_bytes(n, int(n_steps)) + 35 * n)


def check_grid_memory(shape: tuple[int, int], cell_m: float, *, n_steps: int = 72,
                      available_bytes: int | None = None, what: str = "the grid") -> int:
    """Refuse, before any work, a grid whose run would not fit in memory.

    Parameters
    ----------
    shape : (ny, nx)
        Cells of the pedestrian grid.
    cell_m : float
        Cell size [m] (named in the advice).
    n_steps : int
        Time steps of the period.
    available_bytes : int, optional
        Memory to plan with; default the machine's free physical memory.
    what : str
        Named in the message (the input file).

    Returns
    -------
    int
        The estimate [bytes].

    Raises
    ------
    InputError
        When the estimate exceeds 70 % of the available memory: says how much, and which
        ``--grid-m`` or tile size fits.
    """
    need = estimate_grid_bytes(shape, n_steps)
    avail = _available_bytes() if available_bytes is None else int(available_bytes)
    limit = 0.7 * avail
    if need > limit:
        n = int(shape[0]) * int(shape[1])
        fit_cells = limit / (need / n)
        coarser = cell_m * float(np.ceil(np.sqrt(n / fit_cells) * 10) / 10)
        side_cells = int(np.sqrt(fit_cells))
        raise InputError(
            f"{what}: {shape[0]} x {shape[1]} = {n:,} cells x {n_steps} steps need about "
            f"{need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB are free; use a coarser grid "
            f"(--grid-m {coarser:g} or more), a shorter --period, or split the area into tiles of at "
            f"most {side_cells} x {side_cells} cells ({side_cells * cell_m:.0f} m at {cell_m:g} m, "
            "each with a buffer of the tallest building's height) and run each tile"
        )
    return need
