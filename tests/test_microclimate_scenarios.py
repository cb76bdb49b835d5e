"""Mitigation scenarios, exposure and the heat study (microclimate.scenarios, .exposure, .study)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from citymodel.civic.zones import Zones, write_zones
from citymodel.errors import InputError
from citymodel.synth import district_to_citymodel, make_district
from citymodel.vegetation import tree_table
from microclimate.canopy import Neighbourhoods, canopy_air_temperature
from microclimate.forcing import load_forcing
from microclimate.grid import HeatRasters, prepare_grid, run_grid
from microclimate.scenarios import (
    BUILTIN_SCENARIOS,
    add_trees,
    builtin_scenario,
    read_scenario_file,
    street_tree_positions,
)
from microclimate.study import run_heat_study
from microclimate.surfaces import SurfaceOverride, surface_temperatures
from tests.solids import model_with_boxes

#: Roof albedo 0.2 -> 0.7 at peak sun: 20-35 K cooler; about the same at night (issue 13).
COOL_ROOF_PEAK_K = (20.0, 35.0)
COOL_ROOF_NIGHT_K = 1.5
#: A large tree's shade at summer noon: Tmrt 15-30 K lower (issue 13; Lindberg & Grimmond
#: 2011 measured 20-30 K under Gothenburg's trees) ...
TREE_TMRT_K = (15.0, 30.0)
#: ... while the air temperature changes by less than this [K].
TREE_AIR_K = 1.0
X0, Y0 = 686000.0, 4929000.0
DAY = "2025-07-15:2025-07-15"


def test_builtin_cool_roofs_in_the_published_range():
    m = model_with_boxes((X0, Y0, 10.0, 10.0, 6.0))
    base = surface_temperatures(m, "clearsky", period=DAY, overrides=SurfaceOverride(
        "roof", albedo=0.2))
    sc = builtin_scenario("cool-roofs")
    cool = surface_temperatures(m, overrides=list(sc.surface_overrides), prepared=base.inputs)
    roof = base.surface_type == "RoofSurface"
    d = (base.t_surface_c[roof] - cool.t_surface_c[roof]).mean(axis=0)
    peak = int(np.argmax(base.q_sw_w_m2[roof].mean(axis=0)))
    assert COOL_ROOF_PEAK_K[0] <= d[peak] <= COOL_ROOF_PEAK_K[1], d[peak]
    night = np.isin(base.times.hour, [1, 2, 3, 4])
    assert np.abs(d[night]).max() < COOL_ROOF_NIGHT_K


def test_a_large_tree_shades_tmrt_but_not_the_air():
    n, cell = 41, 1.0
    tr = Affine(cell, 0, X0, 0, -cell, Y0 + n * cell)
    flat = np.zeros((n, n))
    yy, xx = np.mgrid[0:n, 0:n]
    crown = (xx - 20) ** 2 + (yy - 20) ** 2 <= 5.5 ** 2           # 11 m crown, 12 m tall
    lc = np.ones((n, n), dtype=np.int16)                            # paved
    open_ = HeatRasters(flat, flat, np.zeros((n, n)), lc, tr, "EPSG:32632")
    tree = HeatRasters(flat, flat, np.where(crown, 12.0, 0.0), lc, tr, "EPSG:32632")
    f = load_forcing(weather="clearsky", lat_deg=44.5, lon_deg=11.3, period=DAY)
    pts = np.array([[20, 20], [5, 5]])
    g_open = prepare_grid(open_, n_rays=128)
    a = run_grid(g_open, f.period_data, f.site, points_rc=pts)
    b = run_grid(prepare_grid(tree, n_rays=128), f.period_data, f.site, points_rc=pts)
    noon = int(np.flatnonzero(f.period_data.index.hour == 13)[0])
    d = a.points["tmrt_c"][0, noon] - b.points["tmrt_c"][0, noon]
    assert TREE_TMRT_K[0] <= d <= TREE_TMRT_K[1], d
    # far from the tree: the same sun (within a kelvin)
    assert abs(a.points["tmrt_c"][1, noon] - b.points["tmrt_c"][1, noon]) < 1.0
    # the air: one such tree per 400 m2 of street ground of a dense block
    raw, meta = f.raw
    wx = raw.loc[f.data.index[0]:f.data.index[-1]]
    kw = dict(zone_id=["z"], site_area_m2=1.0e4, building_fraction=0.4, height_m=15.0,
              wall_area_m2=1.2e4, veg_fraction=0.0, paved_albedo=0.1, veg_beta=0.5)
    c0 = canopy_air_temperature(Neighbourhoods(tree_fraction=0.0, **kw), wx, meta,
                                n_spin=f.spinup_steps)
    c1 = canopy_air_temperature(Neighbourhoods(tree_fraction=95.0 / 400.0, **kw), wx, meta,
                                n_spin=f.spinup_steps)
    dair = np.abs(c1.t_canopy_c - c0.t_canopy_c).max()
    assert 0.0 < dair < TREE_AIR_K, dair


def test_unknown_scenario_lists_the_valid_names():
    with pytest.raises(InputError) as e:
        builtin_scenario("white-roofs")
    assert all(n in str(e.value) for n in BUILTIN_SCENARIOS)


def _toml(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_scenario_file(tmp_path):
    p = _toml(tmp_path, """
[[scenario]]
name = "white-walls"
[[scenario.change]]
objects = "wall"
property = "albedo"
value = 0.6
[[scenario.change]]
objects = "paved"
property = "albedo"
value = 0.3
""")
    (sc,) = read_scenario_file(p)
    assert sc.name == "white-walls" and sc.paved_albedo == 0.3
    assert sc.surface_overrides == (SurfaceOverride("wall", albedo=0.6),)


def test_scenario_file_errors(tmp_path):
    head = '[[scenario]]\nname = "x"\n[[scenario.change]]\n'
    with pytest.raises(InputError, match=r"line 6, key 'value'.*must be a number, got str"):
        read_scenario_file(_toml(tmp_path, head + 'objects = "roof"\nproperty = "albedo"\n'
                                 'value = "white"\n'))
    with pytest.raises(InputError, match=r"unknown property 'colour'.*valid: albedo, emissivity"):
        read_scenario_file(_toml(tmp_path, head + 'objects = "roof"\nproperty = "colour"\n'
                                 'value = 1\n'))
    with pytest.raises(InputError, match=r"line 4, key 'objects'.*valid: roof, flat-roof, wall"):
        read_scenario_file(_toml(tmp_path, head + 'objects = "roofs"\nproperty = "albedo"\n'
                                 'value = 1\n'))
    with pytest.raises(InputError, match=r"must lie in 0..1"):
        read_scenario_file(_toml(tmp_path, head + 'objects = "roof"\nproperty = "albedo"\n'
                                 'value = 7\n'))
    with pytest.raises(InputError, match=r"not valid TOML.*line 2"):
        read_scenario_file(_toml(tmp_path, '[[scenario]]\nname = \n'))


def test_trees_at_positions_from_a_geopackage(tmp_path):
    import pyogrio

    pts = shapely.points([[X0, Y0], [X0 + 10, Y0 + 5]])
    pyogrio.raw.write(str(tmp_path / "t.gpkg"), shapely.to_wkb(pts), [np.array([1, 2])],
                      ["id"], driver="GPKG", geometry_type="Point", crs="EPSG:32632")
    sc = builtin_scenario("trees", tree_positions=tmp_path / "t.gpkg")
    assert np.allclose(sc.trees.positions_xy, [[X0, Y0], [X0 + 10, Y0 + 5]])
    line = np.array([shapely.box(0, 0, 1, 1).boundary], dtype=object)
    pyogrio.raw.write(str(tmp_path / "l.gpkg"), shapely.to_wkb(line), [np.array([1])], ["id"],
                      driver="GPKG", geometry_type="LineString")
    with pytest.raises(InputError, match="Point features"):
        builtin_scenario("trees", tree_positions=tmp_path / "l.gpkg")


def test_street_trees_and_added_trees():
    fp = [shapely.box(0, 0, 20, 20), shapely.box(40, 0, 60, 20)]
    xy = street_tree_positions(fp, spacing_m=5.0, setback_m=4.0)
    assert len(xy) > 4
    d = shapely.distance(shapely.union_all(fp), shapely.points(xy))
    assert np.all(d >= 3.5)
    m = model_with_boxes((X0, Y0, 10.0, 10.0, 6.0))
    m2 = add_trees(m, [[X0 - 5, Y0 - 5]], height_m=9.0, crown_diameter_m=6.0)
    assert len(tree_table(m)) == 0
    t = tree_table(m2)
    assert len(t) == 1 and t["height_m"][0] == 9.0 and t["crown_diameter_m"][0] == 6.0


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    m = district_to_citymodel(make_district(seed=3, size_m=100.0))
    out = tmp_path_factory.mktemp("study")
    # two zones, written in WGS84 (another CRS than the model's: reprojected)
    from pyproj import Transformer

    t = Transformer.from_crs(m.epsg, 4326, always_xy=True)
    xy = m.vertices[:, :2]
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    xm = (x0 + x1) / 2
    polys = []
    for a, b in ((x0, xm), (xm, x1)):
        lon, lat = t.transform([a, b, b, a], [y0, y0, y1, y1])
        polys.append(shapely.Polygon(list(zip(lon, lat, strict=True))))
    attrs = pd.DataFrame({"zone_id": ["west", "east"], "pop": [100.0, 300.0],
                          "frag": [0.2, 0.9]})
    zpath = write_zones(Zones(np.array(polys, dtype=object), attrs, epsg=4326), None,
                        out / "zones.gpkg")
    noop = _toml(out, '[[scenario]]\nname = "nothing"\n')
    res = run_heat_study(m, "clearsky", out_dir=out / "run", period=DAY, zones=zpath,
                         fragility="frag", population_field="pop",
                         scenarios=list(BUILTIN_SCENARIOS), scenario_file=noop, grid_m=2.0)
    return m, out, zpath, res


def test_study_outputs(study):
    m, out, _, res = study
    run = out / "run"
    canopy = pd.read_csv(run / "canopy.csv")
    assert list(canopy.columns) == ["zone_id", "time", "t_canopy_c", "t_rural_c", "uhi_k"]
    assert set(canopy["zone_id"]) == {"west", "east"} and len(canopy) == 2 * 24
    for name in (*BUILTIN_SCENARIOS, "nothing"):
        assert (run / name / "canopy.csv").exists()
        assert (run / name / "delta_tmrt_max_c.tif").exists()
    sc = pd.read_csv(run / "scenarios.csv")
    assert set(sc["scenario"]) == {*BUILTIN_SCENARIOS, "nothing"}
    # a scenario that changes nothing: zero deltas exactly
    d = sc[sc["scenario"] == "nothing"].filter(like="d_").to_numpy()
    assert np.all(d == 0.0)
    import rasterio

    with rasterio.open(run / "nothing" / "delta_tmrt_max_c.tif") as src:
        a = src.read(1)
    assert np.all(a[np.isfinite(a)] == 0.0)
    by = sc.groupby("scenario").mean(numeric_only=True)
    # cool roofs cool roofs, not the street grid
    assert by.loc["cool-roofs", "d_t_surface_max_c"] < -2.0
    assert by.loc["cool-roofs", "d_tmrt_mean_c"] == 0.0
    # light paving: cooler ground, but more reflected sun on people (the honest sign)
    assert by.loc["light-paving", "d_t_ground_max_c"] < -2.0
    assert by.loc["light-paving", "d_tmrt_mean_c"] > 0.0
    # trees: lower Tmrt, air within a kelvin, trees counted as the cost
    assert by.loc["trees", "d_tmrt_mean_c"] < -0.5
    assert abs(by.loc["trees", "d_t_canopy_max_c"]) < TREE_AIR_K
    assert sc[sc["scenario"] == "trees"]["trees_planted"].sum() > 0
    assert sc[sc["scenario"] == "light-paving"]["m2_treated"].sum() > 100.0


def test_exposure_and_equity(study):
    _, out, _, res = study
    ex = pd.read_csv(out / "run" / "exposure.csv")
    base = ex[ex["run"] == "baseline"].set_index("zone_id")
    assert np.allclose(base["person_hours_strong_heat"],
                       base["population"] * base["strong_heat_hours"])
    eq = pd.read_csv(out / "run" / "equity.csv").set_index("run")
    assert set(eq.index) == {"baseline", *BUILTIN_SCENARIOS, "nothing"}
    assert eq.loc["nothing", "concentration_index"] == eq.loc["baseline", "concentration_index"]


def test_study_is_deterministic(study, tmp_path):
    m, out, zpath, _ = study
    res = run_heat_study(m, "clearsky", out_dir=tmp_path / "again", period=DAY, zones=zpath,
                         grid_m=2.0)
    a = pd.read_csv(out / "run" / "canopy.csv")
    b = pd.read_csv(tmp_path / "again" / "canopy.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert res.scenarios.empty


def test_study_bad_zones(study, tmp_path):
    m, _, zpath, _ = study
    with pytest.raises(InputError, match=r"--fragility 'deprivation'.*fields are zone_id, pop"):
        run_heat_study(m, "clearsky", out_dir=tmp_path, period=DAY, zones=zpath,
                       fragility="deprivation")
    far = write_zones(Zones(np.array([shapely.box(0, 0, 10, 10)], dtype=object),
                            pd.DataFrame({"zone_id": ["x"]}), epsg=m.epsg), None,
                      tmp_path / "far.gpkg")
    with pytest.raises(InputError, match="no building of the model lies in any zone"):
        run_heat_study(m, "clearsky", out_dir=tmp_path / "o", period=DAY, zones=far)


def test_zone_rasters_and_exposure_by_hand():
    from microclimate.exposure import exposure_concentration, zone_exposure, zone_index_raster

    tr = Affine(1.0, 0, 0.0, 0, -1.0, 10.0)                     # 10 x 10 cells of 1 m
    zones = Zones(np.array([shapely.box(0, 0, 5, 10), shapely.box(5, 0, 10, 10)], dtype=object),
                  pd.DataFrame({"zone_id": ["a", "b"], "pop": [50.0, 150.0],
                                "frag": [0.9, 0.1]}))
    zi = zone_index_raster(zones, tr, (10, 10))
    assert (zi[:, :5] == 0).all() and (zi[:, 5:] == 1).all()
    hours = np.where(np.arange(10)[None, :] < 5, 10.0, 0.0) * np.ones((10, 1))
    hours[0, 0] = np.nan                                         # a building cell
    ex = zone_exposure(hours, zi, zones, population="pop", fragility="frag")
    assert ex["person_hours_strong_heat"].tolist() == [500.0, 0.0]
    # all the exposure in the fragile zone, which holds a quarter of the people: CI = 0.75
    assert exposure_concentration(ex) == pytest.approx(0.75)
    with pytest.raises(InputError, match="fields are zone_id, pop, frag"):
        zone_exposure(hours, zi, zones, population="residents")


def test_scenario_names_and_options(tmp_path):
    from microclimate.scenarios import resolve_scenarios

    with pytest.raises(InputError, match="given twice: cool-roofs"):
        resolve_scenarios(["cool-roofs", "cool-roofs"])
    p = _toml(tmp_path, '[[scenario]]\nname = "cool-roofs"\n')
    with pytest.raises(InputError, match=r"line 2, key 'name'.*already used"):
        read_scenario_file(p)
    m = model_with_boxes((X0, Y0, 10.0, 10.0, 6.0))
    with pytest.raises(InputError, match="--fragility and --population-field need --zones"):
        run_heat_study(m, "clearsky", out_dir=tmp_path / "o", period=DAY, fragility="f")
