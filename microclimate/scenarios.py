"""Heatwave mitigation scenarios: what changes in the physics, and how to read them from TOML.

A :class:`Scenario` changes properties, not labels:

- ``surface_overrides``: roof and wall albedo, emissivity, evaporation, added layers
  (:class:`microclimate.surfaces.SurfaceOverride`, run with the baseline's prepared inputs);
- ``paved_albedo``: the albedo of paved ground, in the canopy model's street ground and on the
  street-level grid (paved cells become :data:`LIGHT_PAVING`);
- ``trees``: trees planted (positions, height, crown): ``SolitaryVegetationObject`` objects
  added to a shallow copy of the model (the canopy model's tree cover) and crown discs added to
  the grid's canopy DSM (the grid's shade ray casting, transmissivity, ground under crowns).

Built in (issue 13): ``cool-roofs`` (roof albedo 0.7), ``green-roofs`` (flat roofs vegetated:
:func:`microclimate.surfaces.green_roofs`), ``trees`` (trees along the streets every
:data:`TREE_SPACING_M`, or at given positions), ``light-paving`` (paved albedo 0.4).

A scenario file (TOML) lists custom scenarios::

    [[scenario]]
    name = "white-walls"
    [[scenario.change]]
    objects = "wall"          # roof | wall | flat-roof | all | paved | trees
    property = "albedo"       # see VALID_PROPERTIES
    value = 0.6
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from citymodel.errors import InputError
from citymodel.model import CityModel
from microclimate.surfaces import SurfaceOverride, cool_roofs, green_roofs

__all__ = ["Scenario", "TreePlanting", "BUILTIN_SCENARIOS", "builtin_scenario",
           "read_scenario_file", "resolve_scenarios", "street_tree_positions", "add_trees",
           "LIGHT_PAVING", "VALID_PROPERTIES"]

log = logging.getLogger(__name__)

#: Built-in scenario names.
BUILTIN_SCENARIOS = ("cool-roofs", "green-roofs", "trees", "light-paving")
#: Spacing of street trees along the kerb [m] and their distance from the facades [m].
TREE_SPACING_M, TREE_SETBACK_M = 10.0, 4.0
#: A planted tree: height and crown diameter [m] (a young-mature plane tree).
TREE_HEIGHT_M, TREE_CROWN_M = 10.0, 7.0
#: Albedo of light paving (issue 13: 0.4; light concrete 0.35-0.45, Oke 1987 Table 1.1).
LIGHT_PAVING_ALBEDO = 0.4
#: Land-cover class of light paving (:data:`microclimate.layers.LAND_COVER`): concrete's layers
#: and emissivity, albedo 0.4.
LIGHT_PAVING = "light_paving"
#: objects -> properties a scenario file may set.
VALID_PROPERTIES = {
    "roof": ("albedo", "emissivity", "evap_beta", "green"),
    "flat-roof": ("albedo", "emissivity", "evap_beta", "green"),
    "wall": ("albedo", "emissivity", "evap_beta"),
    "all": ("albedo", "emissivity", "evap_beta"),
    "paved": ("albedo",),
    "trees": ("spacing_m", "positions", "height_m", "crown_diameter_m"),
}


@dataclass(frozen=True)
class TreePlanting:
    """Trees to plant: ``positions_xy`` (k, 2) [m], or along streets every ``spacing_m``."""

    spacing_m: float | None = TREE_SPACING_M
    positions_xy: Any = None
    height_m: float = TREE_HEIGHT_M
    crown_diameter_m: float = TREE_CROWN_M


@dataclass(frozen=True)
class Scenario:
    """A mitigation scenario (see the module docstring)."""

    name: str
    surface_overrides: tuple = ()
    paved_albedo: float | None = None
    trees: TreePlanting | None = None
    description: str = ""
    attrs: dict = field(default_factory=dict, compare=False)

    @property
    def changes_surfaces(self) -> bool:
        return bool(self.surface_overrides)

    @property
    def changes_grid(self) -> bool:
        """True when the street-level grid sees the change (paving, trees)."""
        return self.paved_albedo is not None or self.trees is not None


def builtin_scenario(name: str, *, tree_positions: Any = None,
                     tree_spacing_m: float = TREE_SPACING_M) -> Scenario:
    """One of :data:`BUILTIN_SCENARIOS` (``tree_positions``: (k, 2) array or a GeoPackage)."""
    if name == "cool-roofs":
        return Scenario(name, (cool_roofs(0.7),), description="every roof albedo 0.7")
    if name == "green-roofs":
        return Scenario(name, (green_roofs(),), description="flat roofs (tilt <= 10 deg) "
                        "vegetated: 10 cm substrate, grass albedo 0.23, beta 0.5")
    if name == "trees":
        if tree_positions is not None:
            xy = _positions(tree_positions)
            return Scenario(name, trees=TreePlanting(None, xy),
                            description=f"{len(xy)} trees at given positions")
        return Scenario(name, trees=TreePlanting(float(tree_spacing_m)),
                        description=f"street trees every {tree_spacing_m:g} m, "
                        f"{TREE_HEIGHT_M:g} m tall, crown {TREE_CROWN_M:g} m")
    if name == "light-paving":
        return Scenario(name, paved_albedo=LIGHT_PAVING_ALBEDO,
                        description=f"paved ground albedo {LIGHT_PAVING_ALBEDO}")
    raise InputError(f"--scenario {name!r} is not a built-in scenario; valid names: "
                     f"{', '.join(BUILTIN_SCENARIOS)} (or define it in a --scenario-file)")


def _positions(src: Any) -> np.ndarray:
    if isinstance(src, (str, os.PathLike)):
        import pyogrio

        if not Path(src).exists():
            raise InputError(f"{src}: tree positions file not found")
        _meta, _fids, wkb = pyogrio.raw.read(src)[:3]
        g = shapely.from_wkb(wkb)
        if not np.all(shapely.get_type_id(g) == 0):
            raise InputError(f"{src}: tree positions must be Point features")
        return np.column_stack([shapely.get_x(g), shapely.get_y(g)])
    xy = np.asarray(src, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or not np.all(np.isfinite(xy)):
        raise InputError(f"tree positions must be (k, 2) x, y [m], got shape {xy.shape}")
    return xy


def _line_of(text: str, key: str, occurrence: int) -> int:
    """1-based line of the ``occurrence``-th ``key =`` in ``text`` (0 when not found)."""
    k = -1
    for i, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            k += 1
            if k == occurrence:
                return i
    return 0


def read_scenario_file(path: str | os.PathLike) -> list[Scenario]:
    """Scenarios of a TOML file (see the module docstring).

    Raises
    ------
    InputError
        Unreadable TOML (its line and column), unknown objects or properties (the valid ones
        listed), values of the wrong type or range (the line and key).
    """
    src = str(path)
    if not Path(path).exists():
        raise InputError(f"--scenario-file {src}: file not found")
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"--scenario-file {src}: not valid TOML: {exc}") from None
    items = doc.get("scenario")
    if not isinstance(items, list) or not items:
        raise InputError(f"--scenario-file {src}: no [[scenario]] tables; each needs a name "
                         "and [[scenario.change]] tables with objects, property, value")
    seen: dict[str, int] = {}
    out = []
    n_change = 0

    def where(key: str, occ: int) -> str:
        line = _line_of(text, key, occ)
        return f"--scenario-file {src}, line {line}, key {key!r}" if line else \
            f"--scenario-file {src}, key {key!r}"

    for si, sc in enumerate(items):
        name = sc.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where('name', si)}: every [[scenario]] needs a name (a string)")
        if name in BUILTIN_SCENARIOS or name in seen:
            raise InputError(f"{where('name', si)}: scenario name {name!r} is already used")
        seen[name] = si
        overrides, paved, trees = [], None, None
        tree_kw: dict[str, Any] = {}
        for ch in sc.get("change", []):
            occ = n_change
            n_change += 1
            obj, prop, val = ch.get("objects"), ch.get("property"), ch.get("value")
            if obj not in VALID_PROPERTIES:
                raise InputError(f"{where('objects', occ)}: unknown objects {obj!r}; valid: "
                                 f"{', '.join(VALID_PROPERTIES)}")
            if prop not in VALID_PROPERTIES[obj]:
                raise InputError(f"{where('property', occ)}: unknown property {prop!r} of "
                                 f"{obj!r}; valid: {', '.join(VALID_PROPERTIES[obj])}")
            if prop == "positions":
                if not isinstance(val, (str, list)):
                    raise InputError(f"{where('value', occ)}: positions must be a GeoPackage "
                                     f"path or a list of [x, y], got {type(val).__name__}")
                tree_kw["positions_xy"] = _positions(val)
                tree_kw["spacing_m"] = None
                continue
            if prop == "green":
                if not isinstance(val, bool):
                    raise InputError(f"{where('value', occ)}: green must be true or false, "
                                     f"got {type(val).__name__}")
                if val:
                    g = green_roofs()
                    overrides.append(dataclasses.replace(g, where=obj))
                continue
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise InputError(f"{where('value', occ)}: {obj}.{prop} must be a number, got "
                                 f"{type(val).__name__} {val!r}")
            v = float(val)
            if prop in ("albedo", "emissivity", "evap_beta") and not 0.0 <= v <= 1.0:
                raise InputError(f"{where('value', occ)}: {prop} must lie in 0..1, got {v}")
            if prop in ("spacing_m", "height_m", "crown_diameter_m") and not v > 0:
                raise InputError(f"{where('value', occ)}: {prop} must be > 0, got {v}")
            if obj == "paved":
                paved = v
            elif obj == "trees":
                tree_kw[prop] = v
            else:
                overrides.append(SurfaceOverride(obj, **{prop: v}))
        if tree_kw:
            trees = TreePlanting(**tree_kw)
        if not (overrides or paved is not None or trees):
            log.warning("scenario %r of %s changes nothing (its deltas will be zero)", name, src)
        out.append(Scenario(name, tuple(overrides), paved, trees,
                            description=str(sc.get("description", f"from {src}"))))
    return out


def resolve_scenarios(names=(), scenario_file=None, *, tree_positions=None,
                      tree_spacing_m: float = TREE_SPACING_M) -> list[Scenario]:
    """Built-in scenarios by name, then those of ``scenario_file`` (names must be unique)."""
    out = [builtin_scenario(n, tree_positions=tree_positions, tree_spacing_m=tree_spacing_m)
           for n in names]
    if scenario_file is not None:
        out += read_scenario_file(scenario_file)
    names_seen = [s.name for s in out]
    dup = sorted({n for n in names_seen if names_seen.count(n) > 1})
    if dup:
        raise InputError(f"--scenario given twice: {', '.join(dup)}")
    return out


def street_tree_positions(footprints, *, spacing_m: float = TREE_SPACING_M,
                          setback_m: float = TREE_SETBACK_M, bounds=None,
                          existing_xy=None, min_gap_m: float | None = None) -> np.ndarray:
    """Positions along the streets: every ``spacing_m`` on the line ``setback_m`` off the facades.

    Parameters
    ----------
    footprints : sequence of shapely polygons
        Building footprints [m].
    spacing_m, setback_m : float
        Spacing along the kerb line and its distance from the nearest facade [m].
    bounds : (xmin, ymin, xmax, ymax), optional
        Keep points inside (default: the footprints' bounds).
    existing_xy : (k, 2), optional
        Existing trees; new ones closer than ``min_gap_m`` (default ``spacing_m / 2``) to them
        are dropped.

    Returns
    -------
    (k, 2) float64
    """
    if not spacing_m > 0:
        raise InputError(f"tree spacing must be > 0 m, got {spacing_m}")
    fp = shapely.union_all(np.asarray(footprints, dtype=object))
    if fp.is_empty:
        return np.zeros((0, 2))
    ring = shapely.buffer(fp, setback_m, join_style="mitre").boundary
    lines = list(getattr(ring, "geoms", [ring]))
    pts = []
    for ln in lines:
        n = int(ln.length // spacing_m)
        if n:
            d = (np.arange(n) + 0.5) * spacing_m
            p = shapely.line_interpolate_point(ln, d)
            pts.append(np.column_stack([shapely.get_x(p), shapely.get_y(p)]))
    if not pts:
        return np.zeros((0, 2))
    xy = np.concatenate(pts)
    b = shapely.bounds(fp) if bounds is None else np.asarray(bounds, dtype=float)
    keep = (xy[:, 0] >= b[0]) & (xy[:, 0] <= b[2]) & (xy[:, 1] >= b[1]) & (xy[:, 1] <= b[3])
    keep &= shapely.distance(fp, shapely.points(xy)) >= setback_m - 0.5
    xy = xy[keep]
    if existing_xy is not None and len(existing_xy) and len(xy):
        gap = spacing_m / 2 if min_gap_m is None else min_gap_m
        e = np.asarray(existing_xy, dtype=float)
        d2 = ((xy[:, None, :] - e[None, :, :]) ** 2).sum(-1).min(axis=1)
        xy = xy[d2 >= gap * gap]
    return xy


def add_trees(model: CityModel, xy: np.ndarray, *, height_m: float = TREE_HEIGHT_M,
              crown_diameter_m: float = TREE_CROWN_M, ground_z_m: Any = None,
              prefix: str = "planted") -> CityModel:
    """A shallow copy of ``model`` with one ``SolitaryVegetationObject`` per position.

    Each tree is a MultiPoint (LoD 1) at its base with ``height_m`` and ``crown_diameter_m``
    attributes (read by :func:`citymodel.vegetation.tree_table`); ``model`` is not changed.
    """
    xy = _positions(xy)
    z = np.zeros(len(xy)) if ground_z_m is None else np.broadcast_to(
        np.asarray(ground_z_m, dtype=float), (len(xy),))
    out = dataclasses.replace(model, city_objects=dict(model.city_objects))
    idx = out.add_vertices(np.column_stack([xy, z]))
    for k, vi in enumerate(idx):
        oid = f"{prefix}_tree_{k}"
        out.add_object(oid, {"type": "SolitaryVegetationObject",
                             "attributes": {"height_m": float(height_m),
                                            "crown_diameter_m": float(crown_diameter_m),
                                            "h_ground_m": float(z[k]), "scenario": prefix},
                             "geometry": [{"type": "MultiPoint", "lod": "1",
                                           "boundaries": [int(vi)]}]})
    return out

