"""The surface table against exact geometry."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel import CityModel, read, write
from citymodel.geometry import tilt_azimuth_deg, triangulate_polygon
from citymodel.surfaces import split_semantic_surfaces, surface_table, write_surface_attribute
from tests.solids import box, model_with_boxes


def test_box_areas_normals_angles():
    m = model_with_boxes((100.0, 200.0, 10.0, 6.0, 4.0))
    st = surface_table(m)
    assert len(st) == 6
    np.testing.assert_allclose(st.area_m2, [60, 60, 40, 24, 40, 24])
    np.testing.assert_allclose(st.tilt_deg, [180, 0, 90, 90, 90, 90], atol=1e-9)
    np.testing.assert_allclose(st.azimuth_deg, [180, 180, 180, 90, 0, 270], atol=1e-9)
    assert list(st.semantic_type) == ["GroundSurface", "RoofSurface"] + ["WallSurface"] * 4
    np.testing.assert_allclose(st.centroid[1], [105, 203, 4])
    # triangles cover each face exactly and agree with its normal
    tv = st.vertices[st.triangles]
    tn = 0.5 * np.cross(tv[:, 1] - tv[:, 0], tv[:, 2] - tv[:, 0])
    per_face = np.zeros((6, 3))
    np.add.at(per_face, st.triangle_surface, tn)
    np.testing.assert_allclose(per_face, st.normal * st.area_m2[:, None], atol=1e-9)


def test_polygon_with_hole_and_concave_polygon():
    # square 10x10 with a 2x3 hole, horizontal, facing up; and an L-shape (concave)
    v = np.array(
        [[0, 0, 5], [10, 0, 5], [10, 10, 5], [0, 10, 5],  # outer (ccw from above)
         [2, 2, 5], [2, 5, 5], [4, 5, 5], [4, 2, 5],  # hole (cw)
         [20, 0, 0], [26, 0, 0], [26, 2, 0], [22, 2, 0], [22, 8, 0], [20, 8, 0]],  # L, ccw
        dtype=float,
    )
    m = CityModel(vertices=v, epsg=32632)
    m.add_object("o", {"type": "GenericCityObject", "geometry": [
        {"type": "MultiSurface", "lod": "2", "boundaries": [[[0, 1, 2, 3], [4, 5, 6, 7]], [[8, 9, 10, 11, 12, 13]]]}
    ]})
    st = surface_table(m)
    np.testing.assert_allclose(st.area_m2, [100 - 6, 6 * 2 + 2 * 6])
    tv = st.vertices[st.triangles]
    ta = 0.5 * np.linalg.norm(np.cross(tv[:, 1] - tv[:, 0], tv[:, 2] - tv[:, 0]), axis=1)
    np.testing.assert_allclose(np.bincount(st.triangle_surface, weights=ta), st.area_m2)
    np.testing.assert_allclose(st.normal, [[0, 0, 1], [0, 0, 1]], atol=1e-12)
    # centroid of the L: (12*(23,1) + 12*(21,5)) / 24
    np.testing.assert_allclose(st.centroid[1], [22, 3, 0])


def test_tilt_azimuth_of_a_south_roof():
    n = np.array([[0.0, -np.sin(np.radians(30)), np.cos(np.radians(30))]])
    t, a = tilt_azimuth_deg(n)
    assert t[0] == pytest.approx(30)
    assert a[0] == pytest.approx(180)


def test_triangulate_degenerate_polygon_is_empty():
    v = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]], dtype=float)
    assert triangulate_polygon(v, [[0, 1, 2, 3]]).shape == (0, 3)  # collinear: no normal
    sq = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    t = triangulate_polygon(sq, [[0, 1, 2, 3]])
    assert t.shape == (2, 3)


def test_building_parts_map_to_root_and_lod_choice():
    v, b, sem = box(0, 0, 0, 4, 4, 3)
    m = CityModel(vertices=v, epsg=32632)
    m.add_object("B", {"type": "Building"})
    m.add_object("B-1", {"type": "BuildingPart", "geometry": [
        {"type": "Solid", "lod": "1.2", "boundaries": b},
        {"type": "Solid", "lod": "2.2", "boundaries": b, "semantics": sem},
    ]}, parent="B")
    st = surface_table(m)
    assert st.root_ids == ["B"] and st.object_ids == ["B-1"]
    assert set(st.lod) == {"2.2"} and len(st) == 6
    assert len(surface_table(m, lod="1.2")) == 6
    assert len(surface_table(m, lod="1.3")) == 0
    roofs = surface_table(m, semantic_types=["RoofSurface"])
    assert len(roofs) == 1 and roofs.area_m2[0] == pytest.approx(16)


def test_geometry_instance_uses_template_and_matrix():
    v = np.array([[100.0, 50.0, 2.0]])
    tv, tb, tsem = box(0, 0, 0, 1, 1, 1)
    m = CityModel(vertices=v, epsg=32632, templates={
        "templates": [{"type": "Solid", "lod": "2", "boundaries": tb, "semantics": tsem}],
        "vertices-templates": tv,
    })
    mat = np.diag([2.0, 2.0, 2.0, 1.0]).ravel().tolist()
    m.add_object("t", {"type": "SolitaryVegetationObject", "geometry": [
        {"type": "GeometryInstance", "template": 0, "boundaries": [0], "transformationMatrix": mat}
    ]})
    st = surface_table(m)
    assert len(st) == 6
    np.testing.assert_allclose(st.area_m2, [4, 4, 4, 4, 4, 4])
    np.testing.assert_allclose(st.centroid[1], [101, 51, 4])


def test_write_surface_attribute_round_trip(tmp_path):
    m = model_with_boxes((0, 0, 10, 6, 4), (20, 0, 5, 5, 8))
    st = surface_table(m)
    vals = np.arange(len(st), dtype=float)
    # shared WallSurface objects get the area-weighted mean of their polygons
    n = write_surface_attribute(m, st, "irradiation_kwh_m2", vals)
    assert n == 6  # 3 semantic surfaces per building
    walls0 = st.select((st.object_index == 0) & st.is_type("WallSurface"))
    expect = np.average(vals[2:6], weights=walls0.area_m2)
    got = m["b0"]["geometry"][0]["semantics"]["surfaces"][2]["irradiation_kwh_m2"]
    assert got == pytest.approx(expect, abs=1e-3)
    # after splitting, each polygon keeps its own value, and survives write/read
    split_semantic_surfaces(m)
    st2 = surface_table(m)
    write_surface_attribute(m, st2, "irradiation_kwh_m2", vals)
    p = write(m, tmp_path / "m.city.json")
    m2 = read(p)
    sem = m2["b1"]["geometry"][0]["semantics"]
    got = [sem["surfaces"][i]["irradiation_kwh_m2"] for i in sem["values"][0]]
    np.testing.assert_allclose(got, vals[6:12])


def test_select_keeps_triangles_aligned():
    m = model_with_boxes((0, 0, 10, 6, 4), (20, 0, 5, 5, 8))
    st = surface_table(m)
    sub = st.select(st.is_type("RoofSurface"))
    assert len(sub) == 2
    np.testing.assert_allclose(sub.area_m2, [60, 25])
    assert sub.n_triangles == 4
    z = sub.vertices[sub.triangles][:, :, 2]
    np.testing.assert_allclose(z[:2], 4)
    np.testing.assert_allclose(z[2:], 8)
