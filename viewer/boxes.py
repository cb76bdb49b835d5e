"""Box buildings in memory: exact geometry for viewer tests, pixel checks and benchmarks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from citymodel.model import CityModel

__all__ = ["box_model", "box_grid"]

_SURFACES = [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}]


def box_model(
    xy_min: np.ndarray,
    xy_max: np.ndarray,
    height_m: np.ndarray,
    *,
    z0_m: float | np.ndarray = 0.0,
    attributes: Mapping[str, Sequence[float]] | None = None,
    epsg: int | None = 28992,
    ids: Sequence[str] | None = None,
) -> CityModel:
    """A model of axis-aligned box buildings (LoD1.2 closed Solids with semantics).

    Parameters
    ----------
    xy_min, xy_max : (n, 2) float64
        Footprint corners [m].
    height_m : (n,) float64
        Box heights [m].
    z0_m : float or (n,) float64
        Ground height [m].
    attributes : mapping name -> (n,) values, optional
        Building attributes.
    epsg : int or None
        CRS of the model.
    ids : sequence of str, optional
        Building ids (default ``b0``, ``b1``, ...).

    Returns
    -------
    CityModel
        Each building has one Solid with ground (down), roof (up) and four walls, outward normals.
    """
    lo = np.asarray(xy_min, dtype=np.float64).reshape(-1, 2)
    hi = np.asarray(xy_max, dtype=np.float64).reshape(-1, 2)
    h = np.broadcast_to(np.asarray(height_m, dtype=np.float64), (len(lo),))
    z0 = np.broadcast_to(np.asarray(z0_m, dtype=np.float64), (len(lo),))
    n = len(lo)
    corners = np.stack([
        np.column_stack([lo[:, 0], lo[:, 1]]), np.column_stack([hi[:, 0], lo[:, 1]]),
        np.column_stack([hi[:, 0], hi[:, 1]]), np.column_stack([lo[:, 0], hi[:, 1]]),
    ], axis=1)  # (n, 4, 2) counter-clockwise
    bottom = np.concatenate([corners, np.repeat(z0[:, None, None], 4, axis=1)], axis=2)
    top = np.concatenate([corners, np.repeat((z0 + h)[:, None, None], 4, axis=1)], axis=2)
    verts = np.concatenate([bottom, top], axis=1).reshape(-1, 3)  # 8 per box
    model = CityModel(vertices=verts, epsg=epsg)
    ids = list(ids) if ids is not None else [f"b{i}" for i in range(n)]
    attrs = {k: np.asarray(v) for k, v in (attributes or {}).items()}
    values = [[0, 1, 2, 2, 2, 2]]
    for i in range(n):
        b = 8 * i
        g, t = [b, b + 1, b + 2, b + 3], [b + 4, b + 5, b + 6, b + 7]
        shell = [
            [[g[0], g[3], g[2], g[1]]],  # ground, normal down
            [[t[0], t[1], t[2], t[3]]],  # roof, normal up
            *[[[g[k], g[(k + 1) % 4], t[(k + 1) % 4], t[k]]] for k in range(4)],
        ]
        a = {"height_m": float(h[i])}
        for k, v in attrs.items():
            a[k] = v[i].item()
        model.city_objects[ids[i]] = {
            "type": "Building",
            "attributes": a,
            "geometry": [{"type": "Solid", "lod": "1.2", "boundaries": [shell],
                          "semantics": {"surfaces": [dict(s) for s in _SURFACES], "values": values}}],
        }
    return model


def box_grid(
    n: int, *, spacing_m: float = 20.0, size_m: float = 12.0, seed: int = 0, epsg: int | None = 28992
) -> CityModel:
    """``n`` boxes on a square grid with random heights (6..30 m) and a few attributes.

    Attributes: ``height_m``, ``floor_area_m2`` (footprint x floors of 3 m),
    ``irradiation_kwh_m2`` (random 600..1100), ``heating_demand_kwh_m2`` (random 40..160).
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    k = np.arange(n)
    x0 = (k % side) * spacing_m
    y0 = (k // side) * spacing_m
    lo = np.column_stack([x0, y0]) + np.array([85000.0, 447000.0])
    hi = lo + size_m
    h = rng.uniform(6, 30, n)
    return box_model(lo, hi, h, epsg=epsg, attributes={
        "floor_area_m2": size_m * size_m * np.maximum(1, np.floor(h / 3.0)),
        "irradiation_kwh_m2": rng.uniform(600, 1100, n),
        "heating_demand_kwh_m2": rng.uniform(40, 160, n),
    })
