"""PV potential: usable area rules, kWp and yield against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.model import CityModel
from energy.pv import pv_potential, setback_fraction, write_pv_attributes, write_roofs_gpkg
from energy.solar import irradiate
from energy.weather import read_epw
from tests.conftest import shared_path
from tests.solids import model_with_boxes


@pytest.fixture(scope="module")
def denver():
    return read_epw(shared_path("weather", "725650TYCST.epw"))


def _roof_planes_model() -> CityModel:
    """One building: a 30-deg south roof (10 x 8 m), a 30-deg north roof, a 1.5 m2 chimney top."""
    m = CityModel(epsg=32613)
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    ridge = 20.0
    v = np.array(
        [
            [0, 0, ridge - 8 * s],
            [10, 0, ridge - 8 * s],
            [10, 8 * c, ridge],
            [0, 8 * c, ridge],  # south slope
            [0, 8 * c, ridge],
            [10, 8 * c, ridge],
            [10, 16 * c, ridge - 8 * s],
            [0, 16 * c, ridge - 8 * s],  # north
            [20, 0, 5],
            [21.5, 0, 5],
            [21.5, 1, 5],
            [20, 1, 5],  # small flat polygon far away
        ],
        dtype=np.float64,
    ) + np.array([500000.0, 4400000.0, 0.0])
    m.add_vertices(v)
    m.add_object(
        "house",
        {
            "type": "Building",
            "geometry": [
                {
                    "type": "MultiSurface",
                    "lod": "2.2",
                    "boundaries": [[[0, 1, 2, 3]], [[4, 5, 6, 7]], [[8, 9, 10, 11]]],
                    "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [0, 0, 0]},
                }
            ],
        },
    )
    return m


def test_setback_fraction_of_a_rectangle():
    m = model_with_boxes((0, 0, 10.0, 6.0, 4.0))
    from citymodel.surfaces import surface_table

    t = surface_table(m)
    roof = np.flatnonzero(t.semantic_type == "RoofSurface")
    f = setback_fraction(t, roof, 0.5)
    assert f[0] == pytest.approx(9.0 * 5.0 / 60.0, rel=1e-6)


@pytest.mark.shared_data
def test_pv_rules_and_numbers(denver):
    m = _roof_planes_model()
    res = irradiate(m, denver, sensor_spacing_m=0.5, building_hourly=True)
    pv = pv_potential(
        res,
        setback_m=0.5,
        min_irradiation_kwh_m2=800.0,
        module_efficiency=0.2,
        performance_ratio=0.8,
    )
    t = res.table
    south, north, tiny = 0, 1, 2
    assert t.azimuth_deg[south] == pytest.approx(180.0) and t.tilt_deg[south] == pytest.approx(30.0)
    # north slope (30 deg > 15 deg) and the 1.5 m2 polygon (< 4 m2) carry no PV
    assert pv.surface_pv_area_m2[north] == 0 and pv.surface_pv_area_m2[tiny] == 0
    # south slope: (10 - 1) x (8 - 1) m after the 0.5 m setback, all above 800 kWh/m2
    assert pv.surface_pv_area_m2[south] == pytest.approx(63.0, rel=1e-3)
    assert pv.surface_pv_kwp[south] == pytest.approx(63.0 * 0.2, rel=1e-3)
    e = res.surface_annual_kwh_m2[south]
    assert pv.surface_pv_yield_kwh[south] == pytest.approx(63.0 * e * 0.2 * 0.8, rel=0.01)
    b = pv.buildings.set_index("building_id").loc["house"]
    assert b["pv_kwp"] == pytest.approx(12.6, rel=1e-3)
    # Denver, 30 deg south: specific yield = irradiation x PR (~1990 kWh/m2 x 0.8)
    assert b["specific_yield_kwh_kwp"] == pytest.approx(e * 0.8, rel=0.01)
    # the cell-temperature factor (Faiman, -0.4 %/K) costs a few percent in Denver
    pv_t = pv_potential(
        res, module_efficiency=0.2, performance_ratio=0.8, cell_temperature=True, weather=denver[0]
    )
    ratio = pv_t.buildings["pv_yield_kwh"].iloc[0] / pv.buildings["pv_yield_kwh"].iloc[0]
    assert 0.93 < ratio < 1.0
    write_pv_attributes(m, pv)
    assert m.city_objects["house"]["attributes"]["pv_kwp"] == pytest.approx(12.6, abs=0.05)


@pytest.mark.shared_data
def test_flat_roof_coverage_and_gpkg(denver, tmp_path):
    import pyogrio

    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    m.vertices[:] += np.array([500000.0, 4400000.0, 0.0])
    res = irradiate(m, denver, sensor_spacing_m=1.0, building_hourly=False)
    pv = pv_potential(res, setback_m=0.5, flat_roof_coverage=0.7)
    roof = int(np.flatnonzero(res.kind == 0)[0])
    assert pv.surface_pv_area_m2[roof] == pytest.approx(81.0 * 0.7, rel=1e-3)
    out = write_roofs_gpkg(res, pv, tmp_path / "roofs.gpkg", epsg=32613)
    info = pyogrio.read_info(out)
    assert info["features"] == 1 and info["crs"] == "EPSG:32613"
    meta, _, wkb, fields = pyogrio.raw.read(out)[:4]
    import shapely

    g = shapely.from_wkb(wkb[0])
    assert g.area == pytest.approx(100.0, rel=1e-4)
    names = list(meta["fields"])
    assert fields[names.index("pv_kwp")][0] == pytest.approx(81.0 * 0.7 * 0.2, rel=1e-3)
    from citymodel.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        write_roofs_gpkg(res, pv, out, epsg=32613)
