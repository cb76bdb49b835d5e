"""lidar.tin: greedy TIN simplification to a vertical error bound, TINRelief output."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.tri import LinearTriInterpolator, Triangulation

from citymodel.errors import InputError
from citymodel.io.cityjson import read_cityjson, write_cityjson
from citymodel.model import CityModel
from citymodel.validation.api import validate
from lidar.pointcloud import read_points
from lidar.tin import add_terrain, simplify_tin, tin_vertical_errors
from tests.conftest import shared_path

DELFT_BBOX = (84930.0, 447460.0, 85030.0, 447560.0)


@pytest.fixture(scope="session")
def delft_ground() -> np.ndarray:
    d = shared_path("delft_ahn3_bgt", "ahn3")
    pc = read_points([d / "ahn3_cropped_1.laz", d / "ahn3_cropped_2.laz"], crs="EPSG:7415", bbox=DELFT_BBOX)
    return pc.xyz[pc.classification == 2]


def _independent_errors(points, vertices, triangles):
    """|z - TIN| through matplotlib's linear interpolator (a separate implementation)."""
    tri = Triangulation(vertices[:, 0], vertices[:, 1], triangles)
    zi = LinearTriInterpolator(tri, vertices[:, 2])(points[:, 0], points[:, 1])
    return np.abs(points[:, 2] - np.ma.filled(zi, np.nan))


@pytest.mark.shared_data
@pytest.mark.parametrize("max_error_m", [0.2, 0.5])
def test_tin_error_bound_on_real_ground(delft_ground, max_error_m):
    v, t = simplify_tin(delft_ground, max_error_m=max_error_m)
    err = _independent_errors(delft_ground, v, t)
    assert not np.isnan(err).any()  # every ground point is covered by the TIN
    assert err.max() <= max_error_m + 1e-6
    np.testing.assert_allclose(tin_vertical_errors(delft_ground, v, t), err, atol=1e-6)
    # the simplification is real: measured 5315 of 283118 points at 0.2 m on the whole tiles
    assert len(v) < 0.05 * len(delft_ground)
    # counter-clockwise in plan: normals point up
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    nz = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    assert (nz > 0).all()


def test_tin_of_a_plane_is_two_triangles():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 40, (3000, 2))
    z = 2.0 + 0.3 * xy[:, 0] - 0.1 * xy[:, 1]
    v, t = simplify_tin(np.column_stack([xy, z]), max_error_m=0.01)
    assert len(v) == 4 and len(t) == 2
    # corners take the height of their nearest point: the plane is met within its slope x gap
    assert _independent_errors(np.column_stack([xy, z]), v, t).max() <= 0.01


def test_tin_step_needs_vertices_along_it():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 50, (20000, 2))
    z = np.where(xy[:, 0] > 25, 1.0, 0.0)  # a 1 m kerb
    p = np.column_stack([xy, z])
    v, t = simplify_tin(p, max_error_m=0.2)
    assert _independent_errors(p, v, t).max() <= 0.2 + 1e-9
    assert len(v) > 20  # vertices line up on both sides of the step


def test_tin_bad_input():
    with pytest.raises(InputError, match="at least 3"):
        simplify_tin(np.zeros((2, 3)))
    with pytest.raises(InputError, match="collinear"):
        simplify_tin(np.column_stack([np.arange(10.0), np.zeros(10), np.zeros(10)]))
    with pytest.raises(InputError, match="max_error_m"):
        simplify_tin(np.random.default_rng(0).random((10, 3)), max_error_m=0)


@pytest.mark.shared_data
def test_add_terrain_valid_cityjson(delft_ground, tmp_path):
    v, t = simplify_tin(delft_ground, max_error_m=0.5)
    model = CityModel(epsg=7415)
    model.add_vertices(np.array([[0.0, 0.0, 0.0]]))  # an unrelated vertex already there
    add_terrain(model, v, t)
    obj = model["terrain"]
    geom = obj["geometry"][0]
    assert obj["type"] == "TINRelief" and geom["type"] == "CompositeSurface" and geom["lod"] == "1"
    assert len(geom["boundaries"]) == len(t)
    first = np.asarray(geom["boundaries"][0][0])
    np.testing.assert_allclose(model.vertices[first], v[t[0]])
    report = validate(model)
    assert report.valid, report.entries[:5]
    path = write_cityjson(model, tmp_path / "terrain.city.json")
    back = read_cityjson(path)
    assert back["terrain"]["type"] == "TINRelief"
    assert len(back["terrain"]["geometry"][0]["boundaries"]) == len(t)
    with pytest.raises(InputError, match="already exists"):
        add_terrain(model, v, t)
    with pytest.raises(InputError, match="out of range"):
        add_terrain(model, v, t + len(v), object_id="t2")
