"""The solar run builds the surface table once and shares it (buildings, occluders, trees)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

import citymodel.surfaces as surfaces_mod
import energy.solar.scene as scene_mod
from citymodel.io._boundaries import remap_boundaries
from citymodel.model import BUILDING_TYPES, CityModel
from citymodel.surfaces import select_object_types, surface_table
from energy.solar import irradiate
from energy.solar.scene import VEGETATION_TYPES, build_scene
from energy.weather import clearsky_weather
from tests.solids import box, model_with_boxes


def _mixed_model() -> CityModel:
    """Two buildings (one with a BuildingPart), a tree with a solid crown, a tree as a point."""
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0), (0, 14, 10.0, 10.0, 20.0))
    for oid, otype, spec in (
        ("crown", "SolitaryVegetationObject", (14.0, 0.0, 4.0, 4.0, 8.0)),
        ("part", "BuildingPart", (14.0, 14.0, 4.0, 4.0, 3.0)),
    ):
        v, b, sem = box(spec[0], spec[1], 0.0, *spec[2:])
        base = m.n_vertices
        m.add_vertices(v)
        obj = {
            "type": otype,
            "geometry": [{"type": "Solid", "lod": "2.2", "boundaries": remap_boundaries(b, base), "semantics": sem}],
        }
        if otype == "BuildingPart":
            obj["parents"] = ["b1"]
            m.city_objects["b1"].setdefault("children", []).append(oid)
        m.add_object(oid, obj)
    p = m.add_vertices(np.array([[30.0, 30.0, 0.0]]))
    m.add_object(
        "tree",
        {
            "type": "SolitaryVegetationObject",
            "attributes": {"height_m": 10.0, "crown_diameter_m": 5.0},
            "geometry": [{"type": "MultiPoint", "lod": "1", "boundaries": [int(p[0])]}],
        },
    )
    return m


def _assert_tables_equal(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "vertices":
            continue  # the shared table's (a superset with template instances), same coordinates
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
        else:
            assert x == y, f.name
    np.testing.assert_array_equal(a.vertices[a.triangles], b.vertices[b.triangles])


def test_select_object_types_is_the_filtered_surface_table():
    m = _mixed_model()
    full = surface_table(m)
    for types in (BUILDING_TYPES, VEGETATION_TYPES, ("Building",), ("BuildingPart",)):
        _assert_tables_equal(select_object_types(m, full, types), surface_table(m, object_types=list(types)))
    none = select_object_types(m, full, ("Nothing",))  # empty (surface_table's empty normals are (0, 1))
    assert len(none) == 0 and none.n_triangles == 0 and none.object_ids == none.root_ids == []


def test_scene_from_a_shared_table_is_the_scene_built_alone():
    m = _mixed_model()
    for trees in (True, False):
        alone = build_scene(m, include_trees=trees)
        shared = build_scene(m, include_trees=trees, table=surface_table(m))
        np.testing.assert_array_equal(alone.origin, shared.origin)
        np.testing.assert_array_equal(alone.opaque_triangles, shared.opaque_triangles)
        np.testing.assert_array_equal(alone.tree_triangles, shared.tree_triangles)


def test_irradiate_builds_the_surface_table_once(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs.get("object_types"))
        return surfaces_mod.surface_table(*args, **kwargs)

    irradiate_mod = sys.modules["energy.solar.irradiate"]  # the package attribute is the function
    for mod in (irradiate_mod, scene_mod):
        monkeypatch.setattr(mod, "surface_table", counting)
    m = _mixed_model()
    res = irradiate(m, clearsky_weather(45.0, 9.0), sensor_spacing_m=2.0, building_hourly=True)
    assert len(calls) == 1
    assert res.stats["n_tree_triangles"] > 0
    assert res.table.root_ids == ["b0", "b1"]
    assert res.buildings.building_ids == ["b0", "b1"]
