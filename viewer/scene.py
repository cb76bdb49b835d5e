"""Scene description built from a CityModel and indicator arrays, without a window.

A :class:`Scene` holds one merged mesh per layer (buildings of one LoD, terrain, green areas,
water, roads, trees, rasters draped on the terrain, civic zones) and how to colour each. The
desktop app, the off-screen renderer and the tests all draw the same Scene.

Example
-------
>>> scene = build_scene(model, color="irradiation_kwh_m2", zones=zones)   # doctest: +SKIP
>>> scene.color_by("height_m")                                              # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from citymodel.civic import Zones, reproject_zones
from citymodel.crs import horizontal_epsg
from citymodel.errors import InputError
from citymodel.model import CityModel
from viewer.colors import SURFACE_TYPE_COLORS, clim_for, colormap_for, is_diverging, label_for
from viewer.meshes import (
    LAYER_TYPES,
    SURFACE_TYPES,
    building_attributes,
    surface_mesh,
    tree_mesh,
    tree_parameters,
)
from viewer.overlays import (
    ground_height,
    raster_mesh,
    raster_name,
    zone_mesh,
    zone_outline_mesh,
)

__all__ = ["Layer", "Scene", "build_scene", "set_building_lod", "LAYER_COLORS"]

#: Solid colours of layers that are not coloured by a value.
LAYER_COLORS: dict[str, str] = {
    "buildings": "#e8e4da", "terrain": "#c9bd9f", "green": "#7fb26a", "water": "#6fa8dc",
    "roads": "#9c9c9c", "other": "#b7b7b7", "trees": "#3d7d3a", "zones": "#f6b26b",
    "zone_outlines": "#333333",
}


@dataclass
class Layer:
    """One drawable layer: a mesh and how to colour it.

    Attributes
    ----------
    name : str
        Layer name shown in the layer panel ("buildings", "terrain", "tmrt_c", "zones", ...).
    kind : str
        "buildings", "surfaces", "trees", "raster", "zones" or "lines".
    mesh : pyvista.DataSet
        Local coordinates [m] (model coordinates minus ``Scene.origin``).
    scalars : str or None
        Cell array to colour by; None draws ``color``.
    cmap : str
        Matplotlib colour map name.
    clim : (float, float) or None
        Colour limits [unit of the scalars].
    color : str
        Solid colour when ``scalars`` is None.
    opacity : float
        0..1.
    visible : bool
    label : str
        Legend title with unit.
    pickable : bool
        Picking returns its object's attributes.
    rgb : bool
        ``scalars`` holds RGB colours (categorical layers).
    """

    name: str
    kind: str
    mesh: Any
    scalars: str | None = None
    cmap: str = "viridis"
    clim: tuple[float, float] | None = None
    color: str = "#dddddd"
    opacity: float = 1.0
    visible: bool = True
    label: str = ""
    pickable: bool = False
    rgb: bool = False
    categories: dict[str, str] | None = None

    @property
    def numeric_arrays(self) -> list[str]:
        """Names of the numeric cell arrays this layer can be coloured by."""
        out = []
        for k in self.mesh.cell_data.keys():
            a = self.mesh.cell_data[k]
            if a.ndim == 1 and np.issubdtype(a.dtype, np.number) and not k.endswith("_rgb"):
                out.append(k)
        return out


@dataclass
class Scene:
    """Every layer of a view, the building and zone tables for picking, hourly series.

    Attributes
    ----------
    layers : dict[str, Layer]
        In drawing order.
    origin : (3,) float64
        Subtracted from model coordinates [m].
    building_ids : list[str]
        Top-level building ids; the buildings mesh's ``object_index`` indexes it.
    building_table : DataFrame
        Numeric attributes and indicator values per building (rows as ``building_ids``).
    zone_table : DataFrame or None
        Zone attributes (rows as the zones mesh's ``zone_index``).
    series : dict[str, ndarray]
        Hourly per-building values ``(n_buildings, t)`` by name (time slider).
    time_index : dict[str, int]
        Current time step of each series.
    lod : str or None
        LoD of the building layer (None: highest per building).
    epsg : int or None
    """

    layers: dict[str, Layer]
    origin: np.ndarray
    building_ids: list[str] = field(default_factory=list)
    building_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    zone_table: pd.DataFrame | None = None
    series: dict[str, np.ndarray] = field(default_factory=dict)
    time_index: dict[str, int] = field(default_factory=dict)
    lod: str | None = None
    epsg: int | None = None
    ground: Any = None
    has_ground: bool = False

    def ground_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ground height [local m] at local ``x, y`` (terrain TIN, else the model's lowest z)."""
        if self.ground is None:
            return np.full(np.shape(x), float(self.bounds()[4]))
        return self.ground(x, y)

    # ------------------------------------------------------------------ queries
    def bounds(self) -> np.ndarray:
        """Bounds of the visible layers ``[xmin, xmax, ymin, ymax, zmin, zmax]`` (local m)."""
        bs = [np.asarray(layer.mesh.bounds) for layer in self.layers.values()
              if layer.visible and layer.mesh.n_points]
        if not bs:
            return np.array([-1.0, 1.0, -1.0, 1.0, 0.0, 1.0])
        b = np.vstack(bs)
        return np.array([b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max(), b[:, 4].min(),
                         b[:, 5].max()])

    def color_options(self, layer: str = "buildings") -> list[str]:
        """Names the layer can be coloured by (cell arrays, building attributes, series)."""
        lay = self._layer(layer)
        opts = list(lay.numeric_arrays)
        if layer == "buildings":
            opts += [c for c in self.building_table.columns if c not in opts]
            opts += [c for c in self.series if c not in opts]
            opts = [o for o in opts if o != "object_index"] + ["object_index"]
        return opts

    def _layer(self, name: str) -> Layer:
        if name not in self.layers:
            raise InputError(f"no layer {name!r} in the scene; layers: {', '.join(self.layers)}")
        return self.layers[name]

    # ------------------------------------------------------------------ colouring
    def color_by(
        self,
        name: str | None,
        layer: str = "buildings",
        *,
        diverging: bool | None = None,
        clim: tuple[float, float] | None = None,
        cmap: str | None = None,
        time_index: int | None = None,
    ) -> Layer:
        """Colour a layer by a numeric attribute (None: its solid colour).

        For the buildings layer, ``name`` may be a cell array (a semantic-surface attribute,
        ``surface_type``, ``object_index``), a building attribute or indicator (mapped to the
        building's cells), or an hourly series (``time_index`` picks the hour).

        Raises
        ------
        InputError
            When no such attribute exists; the message lists those that do.
        """
        lay = self._layer(layer)
        if name is None:
            lay.scalars, lay.rgb, lay.label, lay.categories = None, False, "", None
            return lay
        mesh = lay.mesh
        if name == "surface_type" and "surface_type" in mesh.cell_data:
            codes = np.asarray(mesh.cell_data["surface_type"])
            palette = np.array([_hex_rgb(SURFACE_TYPE_COLORS.get(t, "#dddddd")) for t in SURFACE_TYPES],
                               dtype=np.uint8)
            mesh.cell_data["surface_type_rgb"] = palette[codes]
            present = sorted({SURFACE_TYPES[c] for c in np.unique(codes)})
            lay.scalars, lay.rgb, lay.label = "surface_type_rgb", True, "surface type"
            lay.categories = {t or "unknown": SURFACE_TYPE_COLORS.get(t, "#dddddd") for t in present}
            return lay
        if layer == "buildings" and name in self.series:
            t = self.time_index.get(name, 0) if time_index is None else int(time_index)
            s = self.series[name]
            if not 0 <= t < s.shape[1]:
                raise InputError(f"time index {t} out of range for {name!r} with {s.shape[1]} steps")
            self.time_index[name] = t
            values = s[:, t]
            self._map_building_values(name, values)
            all_v = s
        elif name in mesh.cell_data:
            all_v = np.asarray(mesh.cell_data[name])
        elif layer == "buildings" and name in self.building_table.columns:
            self._map_building_values(name, self.building_table[name].to_numpy(np.float64))
            all_v = np.asarray(mesh.cell_data[name])
        else:
            raise InputError(
                f"no numeric attribute {name!r} on layer {layer!r}; available: "
                f"{', '.join(self.color_options(layer)) or '(none)'}"
            )
        div = is_diverging(name) if diverging is None else diverging
        lay.scalars, lay.rgb, lay.categories = name, False, None
        lay.cmap = cmap or colormap_for(name, div)
        lay.clim = clim if clim is not None else clim_for(all_v, div)
        lay.label = label_for(name)
        return lay

    def _map_building_values(self, name: str, values: np.ndarray) -> None:
        lay = self.layers["buildings"]
        v = np.asarray(values, dtype=np.float64)
        if v.shape != (len(self.building_ids),):
            raise InputError(f"values for {name!r} must have shape ({len(self.building_ids)},), got {v.shape}")
        idx = np.asarray(lay.mesh.cell_data["object_index"])
        lay.mesh.cell_data[name] = v[idx].astype(np.float32)

    def set_time(self, name: str, index: int) -> Layer:
        """Show hour ``index`` of the series ``name`` on the buildings."""
        return self.color_by(name, "buildings", time_index=index,
                             clim=self.layers["buildings"].clim if self.layers["buildings"].scalars == name else None)

    def add_building_values(self, name: str, values: np.ndarray) -> None:
        """Add an indicator per building ``(n_buildings,)`` or hourly ``(n_buildings, t)``."""
        v = np.asarray(values, dtype=np.float64)
        n = len(self.building_ids)
        if v.ndim == 1 and v.shape[0] == n:
            self.building_table[name] = v
        elif v.ndim == 2 and v.shape[0] == n:
            self.series[name] = v
        else:
            raise InputError(f"values for {name!r} must have shape ({n},) or ({n}, t), got {v.shape}")

    # ------------------------------------------------------------------ picking
    def building_info(self, key: int | str) -> dict[str, Any]:
        """Attributes of one building by index or id (what picking shows)."""
        if isinstance(key, str):
            try:
                i = self.building_ids.index(key)
            except ValueError:
                raise InputError(f"no building {key!r} in the scene") from None
        else:
            i = int(key)
            if not 0 <= i < len(self.building_ids):
                raise InputError(f"building index {i} out of range (0..{len(self.building_ids) - 1})")
        out: dict[str, Any] = {"building_id": self.building_ids[i]}
        if len(self.building_table):
            out.update({k: v for k, v in self.building_table.iloc[i].items() if pd.notna(v)})
        return out

    def zone_info(self, index: int) -> dict[str, Any]:
        """Attributes of one zone by index."""
        if self.zone_table is None or not 0 <= int(index) < len(self.zone_table):
            raise InputError(f"no zone {index} in the scene")
        return {k: v for k, v in self.zone_table.iloc[int(index)].items() if pd.notna(v)}

    def info_for_cell(self, layer: str, cell: int) -> dict[str, Any]:
        """Attributes of the object owning ``cell`` of ``layer`` (buildings, zones, trees)."""
        lay = self._layer(layer)
        cd = lay.mesh.cell_data
        if "object_index" in cd and lay.kind == "buildings":
            info = self.building_info(int(cd["object_index"][cell]))
            for k in lay.numeric_arrays:
                if k not in info and k not in ("object_index",):
                    v = cd[k][cell]
                    if np.isfinite(v):
                        info[k] = v.item()
            return info
        if "zone_index" in cd:
            return self.zone_info(int(cd["zone_index"][cell]))
        return {k: cd[k][cell].item() for k in lay.numeric_arrays}


def _hex_rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def build_scene(
    model: CityModel,
    *,
    lod: str | None = None,
    color: str | None = "surface_type",
    values: Mapping[str, np.ndarray] | None = None,
    zones=None,
    zone_color: str | None = "fragility_index",
    zone_table: pd.DataFrame | None = None,
    extrude_zones: bool = False,
    rasters: Sequence[str | os.PathLike] | Mapping[str, str | os.PathLike] = (),
    terrain: bool = True,
    trees: bool = True,
    diverging: bool | None = None,
) -> Scene:
    """Build every layer of a view from a model, indicator arrays, zones and rasters.

    Parameters
    ----------
    model : CityModel
    lod : str, optional
        LoD of the buildings ("1.2", "1.3", "2.2"); default: each building's highest.
    color : str or None
        What to colour buildings by (see :meth:`Scene.color_by`); "surface_type" gives roofs,
        walls and grounds their usual colours; None: one solid colour.
    values : mapping name -> array, optional
        Per-building indicators ``(n_buildings,)`` or hourly ``(n_buildings, t)``, rows in
        ``model.building_ids()`` order.
    zones : citymodel.civic.Zones, optional
        Civic zones; reprojected to the model's CRS.
    zone_color : str or None
        Zone attribute to colour by (ignored when absent; None: solid colour).
    zone_table : DataFrame, optional
        Extra per-zone columns (e.g. zonal statistics) joined to the zone attributes.
    extrude_zones : bool
        Extrude zones by ``zone_color`` instead of draping them.
    rasters : sequence of paths or mapping name -> path
        GeoTIFFs draped on the terrain.
    terrain, trees : bool
        Draw the terrain / green / water / road surfaces, and the trees.
    diverging : bool, optional
        Force (or forbid) a diverging colour map for ``color``.

    Returns
    -------
    Scene

    Raises
    ------
    InputError
        The model has nothing to draw, or ``color`` names no attribute (the message lists
        those that exist).
    """

    ext = model.extent()
    if not np.all(np.isfinite(ext)):
        raise InputError(f"{model.source or 'model'}: the model has no vertices to draw")
    origin = np.array([np.floor(ext[0]), np.floor(ext[1]), 0.0])
    epsg = None
    if model.epsg is not None:
        epsg = horizontal_epsg(model.epsg)
    layers: dict[str, Layer] = {}
    bids = model.building_ids()
    bmesh, roots = surface_mesh(model, LAYER_TYPES["buildings"], origin, lod=lod, root_ids=bids)
    btable = building_attributes(model, bids)
    if bmesh is not None:
        layers["buildings"] = Layer("buildings", "buildings", bmesh, color=LAYER_COLORS["buildings"],
                                    pickable=True)
    terrain_mesh = None
    if terrain:
        for lname in ("terrain", "green", "water", "roads", "other"):
            m, _ = surface_mesh(model, LAYER_TYPES[lname], origin)
            if m is not None:
                layers[lname] = Layer(lname, "surfaces", m, color=LAYER_COLORS[lname])
                if lname == "terrain":
                    terrain_mesh = m
    if trees:
        tp = tree_parameters(model)
        tm = tree_mesh(tp, origin)
        if tm is not None:
            tm.cell_data["part_rgb"] = np.where(
                (np.asarray(tm.cell_data["part"]) == 1)[:, None], np.array(_hex_rgb("#3d7d3a")),
                np.array(_hex_rgb("#6b4f2a"))).astype(np.uint8)
            layers["trees"] = Layer("trees", "trees", tm, scalars="part_rgb", rgb=True,
                                    color=LAYER_COLORS["trees"])
    if not layers:
        raise InputError(f"{model.source or 'model'}: nothing to draw (no surfaces found)")
    zmin = float(ext[2] - origin[2])
    ground = ground_height(terrain_mesh, zmin)
    items = rasters.items() if isinstance(rasters, Mapping) else [(None, p) for p in rasters]
    for rname, path in items:
        rname = rname or raster_name(path)
        rm = raster_mesh(path, origin, ground, epsg=epsg, name=rname)
        layers[rname] = Layer(rname, "raster", rm, color="#ffffff", opacity=0.95)
    ztable = None
    if zones is not None:
        if epsg is not None and zones.epsg is not None and zones.epsg != epsg:
            zones = reproject_zones(zones, epsg)
        ztable = zones.attributes.copy()
        if zone_table is not None:
            extra = zone_table.drop(columns=[c for c in zone_table.columns if c in ztable.columns])
            ztable = pd.concat([ztable, extra.reset_index(drop=True)], axis=1)

        zz = Zones(zones.geometry, ztable, zones.epsg, zones.source)
        zb = zz.bounds()
        if zb[0] > ext[3] or zb[2] < ext[0] or zb[1] > ext[4] or zb[3] < ext[1]:
            raise InputError(
                f"{zones.source or 'zones'}: the zones (bounds {zb.round(0).tolist()}) do not overlap "
                f"the model (bounds {ext[[0, 1, 3, 4]].round(0).tolist()}); check their CRS"
            )
        extrude = None
        if extrude_zones and zone_color and zone_color in ztable.columns:
            extrude = pd.to_numeric(ztable[zone_color], errors="coerce").to_numpy(np.float64)
        zm = zone_mesh(zz, origin, ground, extrude_by=extrude,
                       max_height_m=0.25 * float(max(ext[3] - ext[0], ext[4] - ext[1])))
        layers["zones"] = Layer("zones", "zones", zm, color=LAYER_COLORS["zones"], opacity=0.6,
                                pickable=True)
        zo = zone_outline_mesh(zz, origin, ground)
        if zo is not None:
            layers["zone_outlines"] = Layer("zone_outlines", "lines", zo, color=LAYER_COLORS["zone_outlines"])
    scene = Scene(layers=layers, origin=origin, building_ids=list(roots), building_table=btable,
                  zone_table=ztable, lod=lod, epsg=epsg, ground=ground,
                  has_ground=terrain_mesh is not None)
    for k, v in (values or {}).items():
        scene.add_building_values(k, v)
    for lay in scene.layers.values():
        if lay.kind == "raster":
            scene.color_by(lay.name, lay.name)
    if "zones" in scene.layers and zone_color and zone_color in scene.layers["zones"].mesh.cell_data:
        scene.color_by(zone_color, "zones")
    if "buildings" in scene.layers and color is not None:
        if color == "surface_type" and not (np.asarray(scene.layers["buildings"].mesh.cell_data["surface_type"]) > 0).any():
            color = None  # no semantics: solid colour
        if color is not None:
            scene.color_by(color, "buildings", diverging=diverging)
    elif color is not None and color != "surface_type" and "buildings" not in scene.layers:
        raise InputError(f"{model.source or 'model'}: no buildings to colour by {color!r}")
    return scene


def set_building_lod(scene: Scene, model: CityModel, lod: str | None) -> Layer:
    """Rebuild the buildings layer of ``scene`` at another LoD, keeping its colouring.

    Raises
    ------
    InputError
        When no building has geometry at ``lod`` (the message lists the LoDs present).
    """

    mesh, _ = surface_mesh(model, LAYER_TYPES["buildings"], scene.origin, lod=lod,
                           root_ids=scene.building_ids)
    if mesh is None:
        raise InputError(f"{model.source or 'model'}: no building geometry at LoD {lod}; LoDs present: "
                         f"{', '.join(sorted(model.counts_by_lod()))}")
    lay = scene.layers["buildings"]
    current = "surface_type" if lay.scalars == "surface_type_rgb" else lay.scalars
    lay.mesh = mesh
    scene.lod = lod
    if current == "surface_type" and not (np.asarray(mesh.cell_data["surface_type"]) > 0).any():
        current = None
    if current is not None and current not in scene.color_options("buildings"):
        current = None
    return scene.color_by(current, "buildings")
