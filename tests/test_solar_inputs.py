"""Solar solver: tree crowns, CLI end to end, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citymodel.errors import CRSError, InputError, WeatherError
from citymodel.model import CityModel
from energy.solar import irradiate
from energy.weather import clearsky_weather, read_epw
from tests.conftest import shared_path
from tests.solids import model_with_boxes


@pytest.fixture(scope="module")
def denver():
    return read_epw(shared_path("weather", "725650TYCST.epw"))


def _with_tree(m: CityModel, x: float, y: float, height: float, crown: float) -> CityModel:
    base = m.add_vertices(np.array([[x, y, 0.0]]))
    m.add_object(
        "tree",
        {
            "type": "SolitaryVegetationObject",
            "attributes": {"height_m": height, "crown_diameter_m": crown, "crown_base_m": 0.0},
            "geometry": [{"type": "MultiPoint", "lod": "1", "boundaries": [int(base[0])]}],
        },
    )
    return m


@pytest.mark.shared_data
def test_tree_crown_transmissivity_by_month(denver):
    """A low roof inside a huge crown gets tau x its unshaded irradiation, month by month."""
    m = _with_tree(model_with_boxes((-2.0, -2.0, 4.0, 4.0, 1.0)), 0.0, 0.0, 400.0, 400.0)
    kw = dict(
        sensor_spacing_m=1.0, building_hourly=False, tree_transmissivity=(0.2, 0.6), albedo=0.0
    )
    shaded = irradiate(m, denver, **kw)
    open_ = irradiate(m, denver, include_trees=False, **kw)
    roof = int(np.flatnonzero(shaded.kind == 0)[0])
    ratio = shaded.surface_monthly_kwh_m2[roof] / open_.surface_monthly_kwh_m2[roof]
    tau = np.where(np.isin(np.arange(1, 13), [5, 6, 7, 8, 9, 10]), 0.2, 0.6)
    np.testing.assert_allclose(ratio, tau, rtol=0.03)
    assert shaded.stats["n_tree_triangles"] > 0


def test_cli_solar_end_to_end(tmp_path, cli_runner):
    import pandas as pd

    from citymodel.io import write

    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0), (0, 14, 10.0, 10.0, 20.0))
    m.vertices[:] += np.array([686000.0, 4929000.0, 40.0])  # Bologna, UTM 32N
    src = tmp_path / "in.city.json"
    write(m, src)
    out = tmp_path / "out.city.json"
    r = cli_runner(
        "solar",
        src,
        "--weather",
        "clearsky",
        "--sensor-spacing-m",
        "2",
        "--out",
        out,
        "--sensors",
        tmp_path / "s.parquet",
        "--building-hourly",
        tmp_path / "b.parquet",
        "--pv-gpkg",
        tmp_path / "roofs.gpkg",
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    b0 = doc["CityObjects"]["b0"]
    sem = b0["geometry"][0]["semantics"]["surfaces"]
    roofs = [s["irradiation_kwh_m2"] for s in sem if s["type"] == "RoofSurface"]
    walls = [s["irradiation_kwh_m2"] for s in sem if s["type"] == "WallSurface"]
    # clear sky at 44.5 N: horizontal 1700..2000 kWh/m2a; four walls, each its own value
    assert 1700 < roofs[0] < 2000 and len(walls) == 4 and len(set(walls)) == 4
    # the north wall of b0 faces the 20 m tall b1: much darker than its south wall
    assert min(walls) < 0.5 * max(walls)
    assert b0["attributes"]["pv_kwp"] > 0 and b0["attributes"]["pv_yield_kwh"] > 0
    s = pd.read_parquet(tmp_path / "s.parquet")
    assert {"x_m", "irradiation_kwh_m2", "irradiation_m07_kwh_m2"} <= set(s.columns)
    bh = pd.read_parquet(tmp_path / "b.parquet")
    assert len(bh) == 2 * 5 * 8760
    # refuses to overwrite without --overwrite
    r = cli_runner("solar", src, "--weather", "clearsky", "--out", out)
    assert r.exit_code == 1


def test_bad_weather_file(tmp_path):
    p = tmp_path / "weather.epw"
    p.write_text("this is not a weather file\n")
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    with pytest.raises(WeatherError, match="not an EPW file"):
        irradiate(m, p)


def test_model_without_crs_for_clearsky():
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    m.epsg = None
    with pytest.raises(CRSError, match="no CRS"):
        irradiate(m, "clearsky")


@pytest.mark.shared_data
def test_model_without_roofs(denver):
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    g = m.city_objects["b0"]["geometry"][0]
    g["semantics"] = {"surfaces": [{"type": "WallSurface"}], "values": [[0, 0, 0, 0, 0, 0]]}
    with pytest.raises(InputError, match="no roof surfaces"):
        irradiate(m, denver)


@pytest.mark.shared_data
def test_zero_area_surfaces_are_skipped(denver):
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    # another building: one good roof polygon and a degenerate one (three collinear points)
    base = m.add_vertices(
        np.array(
            [
                [20.0, 0, 3],
                [24.0, 0, 3],
                [24.0, 4, 3],
                [20.0, 4, 3],
                [20.0, 0, 3],
                [21.0, 0, 3],
                [22.0, 0, 3],
            ]
        )
    )
    b = [int(i) for i in base]
    m.add_object(
        "deg",
        {
            "type": "Building",
            "geometry": [
                {
                    "type": "MultiSurface",
                    "lod": "2.2",
                    "boundaries": [[b[:4]], [b[4:]]],
                    "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [0, 0]},
                }
            ],
        },
    )
    res = irradiate(m, denver, sensor_spacing_m=2.0, building_hourly=False)
    t = res.table
    zero = np.flatnonzero(t.area_m2 == 0)
    assert zero.size == 1  # the degenerate polygon is a row of the table...
    assert res.kind[zero[0]] == -1 and np.isnan(
        res.surface_annual_kwh_m2[zero[0]]
    )  # ...but gets no value
    assert not np.isin(zero, res.sensors.surface).any()
    assert np.isfinite(res.surface_annual_kwh_m2[res.kind >= 0]).all()


def test_bad_parameters():
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    w = clearsky_weather(45.0, 9.0)
    with pytest.raises(InputError, match="spacing"):
        irradiate(m, w, sensor_spacing_m=0)
    with pytest.raises(InputError, match="albedo"):
        irradiate(m, w, albedo=1.5)


def test_hourly_parquet_streamed_in_blocks(tmp_path):
    """--hourly: per-surface hourly irradiance, written block by block, sums to the annual value."""
    import pandas as pd

    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0), (0, 14, 10.0, 10.0, 20.0))
    w = clearsky_weather(45.0, 9.0)
    out = tmp_path / "h.parquet"
    res = irradiate(
        m, w, sensor_spacing_m=1.0, building_hourly=False, hourly_path=out, block_rays=20_000
    )
    assert res.stats["n_blocks"] > 3
    h = pd.read_parquet(out)
    annual = h.groupby("surface")["irradiance_w_m2"].sum() / 1000.0
    rows = np.flatnonzero(res.kind >= 0)
    assert sorted(annual.index) == list(rows)  # every surface exactly once
    assert (h.groupby("surface").size() == 8760).all()
    np.testing.assert_allclose(
        annual.loc[rows].to_numpy(), res.surface_annual_kwh_m2[rows], rtol=1e-3
    )
