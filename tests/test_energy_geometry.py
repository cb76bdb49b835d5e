"""Building envelopes from semantic surfaces: exact areas, shared walls, volume, storeys."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.model import CityModel
from energy.demand.bestest import bestest_model
from energy.demand.boxes import add_box, box_rows_model
from energy.demand.geometry import building_envelope


def test_terraced_row_walls_by_orientation_and_shared_walls():
    m = box_rows_model(2, 3, width_m=8.0, depth_m=10.0, height_m=9.0)
    env = building_envelope(m)
    assert env.building_ids == [f"b{k}" for k in range(6)]
    # N and S facades 8 x 9 m; E/W facades 10 x 9 m only at the ends of each row
    np.testing.assert_allclose(env.wall_area_m2[:, 0], 72.0)
    np.testing.assert_allclose(env.wall_area_m2[:, 2], 72.0)
    np.testing.assert_allclose(env.wall_area_m2[:, 1], [0, 0, 90, 0, 0, 90])
    np.testing.assert_allclose(env.wall_area_m2[:, 3], [90, 0, 0, 90, 0, 0])
    np.testing.assert_allclose(env.party_wall_area_m2, [90, 180, 90, 90, 180, 90])
    np.testing.assert_allclose(env.roof_area_m2, 80.0)
    np.testing.assert_allclose(env.ground_area_m2, 80.0)
    np.testing.assert_allclose(env.volume_m3, 720.0)
    np.testing.assert_array_equal(env.storeys, 3)
    np.testing.assert_allclose(env.floor_area_m2, 240.0)
    assert env.problems == {}


def test_partial_overlap_of_shared_walls():
    m = CityModel(epsg=32633)
    add_box(m, "a", 0.0, 0.0, 8.0, 10.0, 6.0)
    add_box(m, "b", 8.0, 4.0, 8.0, 10.0, 6.0)  # shifted 4 m north: 6 m x 6 m shared
    env = building_envelope(m)
    np.testing.assert_allclose(env.party_wall_area_m2, [36.0, 36.0])
    np.testing.assert_allclose(env.wall_area_m2[0, 1], 60.0 - 36.0)
    np.testing.assert_allclose(env.wall_area_m2[1, 3], 60.0 - 36.0)


def test_gap_between_buildings_is_not_shared():
    m = CityModel(epsg=32633)
    add_box(m, "a", 0.0, 0.0, 8.0, 10.0, 6.0)
    add_box(m, "b", 8.5, 0.0, 8.0, 10.0, 6.0)  # a 0.5 m gap
    env = building_envelope(m)
    np.testing.assert_allclose(env.party_wall_area_m2, [0.0, 0.0])


@pytest.mark.parametrize("name", ["storeysAboveGround", "storeys_above_ground"])
def test_storeys_attribute_wins_over_height(name):
    m = CityModel()
    add_box(m, "a", 0.0, 0.0, 10.0, 10.0, 7.0, {name: 3})
    env = building_envelope(m, storey_height_m=3.0)
    assert env.storeys[0] == 3 and env.floor_area_m2[0] == pytest.approx(300.0)


def test_bestest_box_windows_and_volume():
    env = building_envelope(bestest_model("600"))
    np.testing.assert_allclose(env.wall_area_m2[0], [21.6, 16.2, 21.6, 16.2])
    np.testing.assert_allclose(env.window_area_m2[0], [0.0, 0.0, 12.0, 0.0])
    assert env.volume_m3[0] == pytest.approx(129.6)
    assert env.floor_area_m2[0] == pytest.approx(48.0)
    env2 = building_envelope(bestest_model("620"))
    np.testing.assert_allclose(env2.window_area_m2[0], [0.0, 6.0, 0.0, 6.0])


def test_building_without_walls_is_reported():
    m = CityModel()
    v = m.add_vertices([[0, 0, 3], [5, 0, 3], [5, 5, 3], [0, 5, 3]])
    m.add_object("flat", {"type": "Building", "geometry": [{
        "type": "MultiSurface", "lod": "2.2", "boundaries": [[list(map(int, v))]],
        "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [0]}}]})
    add_box(m, "ok", 10.0, 0.0, 5.0, 5.0, 3.0)
    env = building_envelope(m)
    assert "flat" in env.problems and "wall" in env.problems["flat"]
    assert "ok" not in env.problems
