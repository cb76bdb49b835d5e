"""Inputs and outputs of `citymodel heat`: forcing and periods, rasters, points, writers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from citymodel.errors import CRSError, InputError, OutputExistsError, WeatherError
from microclimate.forcing import hottest_days, load_forcing
from microclimate.outputs import (
    POINT_COLUMNS,
    points_frame,
    write_points_csv,
    write_raster,
    write_summary,
)
from microclimate.points import points_to_grid
from microclimate.rasters import check_grid_memory, check_land_cover, read_raster

HEADER = ("%iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld wuh xsmd "
          "lai kdiff kdir wdir")

# daily maxima of six days: the hottest 3-day run is days 3-5 (means 25, 28.7, 30.0, 27.3)
DAILY_MAX_C = [20.0, 25.0, 30.0, 31.0, 29.0, 22.0]


def write_met(path, daily_max=DAILY_MAX_C, year=2025, doy0=180, bad=None, ldown=True):
    """An hourly met file: rows it=1..24 per day (interval-ending), air T peaking at 15 h."""
    lines = [HEADER]
    for d, tmax in enumerate(daily_max):
        for h in range(1, 25):
            doy, hh = (doy0 + d, h) if h < 24 else (doy0 + d + 1, 0)
            t = tmax - 8.0 + 8.0 * max(0.0, np.cos((h - 15) / 24 * 2 * np.pi))
            ghi = max(0.0, 800 * np.sin((h - 0.5 - 6) / 12 * np.pi))
            vals = [year, doy, hh, 0] + [-999] * 5 + [2.0, 50.0, t, 101.3, 0, ghi, 0,
                                                     350.0 if ldown else -999, 0.1, 0, 0, 3, ghi * 0.2,
                                                     ghi * 0.9, 270]
            lines.append(" ".join(f"{v:g}" for v in vals))
    if bad is not None:
        line_no, col = bad
        f = lines[line_no - 1].split()
        f[col] = "-999"
        lines[line_no - 1] = " ".join(f)
    path.write_text("\n".join(lines) + "\n")
    return path


# -- forcing -----------------------------------------------------------------------------------

def test_hottest_3d_is_days_3_to_5(tmp_path):
    met = write_met(tmp_path / "met.txt")
    f = load_forcing(met=met, lat_deg=45.0, lon_deg=11.3, utc_offset_h=1, period="hottest-3d", spinup_steps=24)
    assert f.period == ("2025-07-01", "2025-07-03")  # doy 182..184 of 2025 = days 3..5
    p = f.period_data
    assert len(p) == 72 and f.spinup_steps == 24
    # the rows of a day are its 01:00..24:00 stamps; the max of the period equals the days' maxima
    assert p["t_air_c"].max() == pytest.approx(31.0, abs=0.05)
    assert str(p.index[0]) == "2025-07-01 01:00:00+01:00"
    assert str(p.index[-1]) == "2025-07-04 00:00:00+01:00"
    assert p.index.unit == "ns" and pd.DatetimeIndex(p["time_mid"]).unit == "ns"
    days = hottest_days(p.assign(time_mid=p["time_mid"]), 1)
    assert str(days[0].date()) == "2025-07-02"


def test_period_start_end_inclusive_and_spinup_truncated(tmp_path):
    met = write_met(tmp_path / "met.txt")
    f = load_forcing(met=met, lat_deg=45.0, lon_deg=11.3, utc_offset_h=1, period="2025-06-29:2025-06-30")
    assert len(f.period_data) == 48
    assert f.spinup_steps == 0 and len(f.data) == 48
    assert f.site == {"lat_deg": 45.0, "lon_deg": 11.3, "tz_offset_h": 1.0}


def test_utc_offset_fallback_is_recorded(tmp_path, caplog):
    met = write_met(tmp_path / "met.txt")
    f = load_forcing(met=met, lat_deg=57.7, lon_deg=11.97)
    assert f.site["tz_offset_h"] == 1.0
    assert any("--utc-offset" in s and "+1 h" in s for s in f.fallbacks)
    assert "--utc-offset" in caplog.text
    assert f.data.index.tz is not None


def test_period_outside_file_names_the_range(tmp_path):
    met = write_met(tmp_path / "met.txt")
    with pytest.raises(WeatherError, match=r"met.txt.*2025-08-01:2025-08-03 is outside the file, which covers "
                                           r"2025-06-29 to 2025-07-04"):
        load_forcing(met=met, lat_deg=45, lon_deg=11, utc_offset_h=1, period="2025-08-01:2025-08-03")


def test_bad_period_syntax_names_option(tmp_path):
    met = write_met(tmp_path / "met.txt")
    with pytest.raises(InputError, match="--period 'July'"):
        load_forcing(met=met, lat_deg=45, lon_deg=11, utc_offset_h=1, period="July")


def test_hottest_3d_on_short_file(tmp_path):
    met = write_met(tmp_path / "met.txt", daily_max=[25.0, 26.0])
    with pytest.raises(WeatherError, match="hottest-3d needs 3 consecutive complete days"):
        load_forcing(met=met, lat_deg=45, lon_deg=11, utc_offset_h=1, period="hottest-3d")


def test_missing_value_names_column_and_line(tmp_path):
    # line 80 = header + 79th row: day 4 (doy 183 = 2025-07-02), it=7; column 11 = Tair
    met = write_met(tmp_path / "met.txt", bad=(80, 11))
    with pytest.raises(WeatherError, match=r"column 't_air_c' is missing .* first at line 80, time "
                                           r"2025-07-02T07:00:00\+01:00"):
        load_forcing(met=met, lat_deg=45, lon_deg=11, utc_offset_h=1, period="hottest-3d")
    # outside the period and the spin-up the gap does not matter
    f = load_forcing(met=met, lat_deg=45, lon_deg=11, utc_offset_h=1, period="2025-07-03:2025-07-04",
                     spinup_steps=2)
    assert len(f.period_data) == 48


def test_missing_ldown_everywhere_is_a_recorded_fallback(tmp_path):
    met = write_met(tmp_path / "met.txt", ldown=False)
    f = load_forcing(met=met, lat_deg=45, lon_deg=11, utc_offset_h=1)
    assert f.data["ir_horizontal_w_m2"].isna().all()
    assert any("clear-sky" in s for s in f.fallbacks)


def test_clearsky_defaults_to_hottest_3d():
    f = load_forcing(weather="clearsky", lat_deg=44.5, lon_deg=11.34)
    assert any("hottest-3d" in s for s in f.fallbacks)
    p = f.period_data
    assert len(p) == 72 and f.spinup_steps == 24
    # clearsky's seasonal cosine peaks on 20 July (doy 201): the hottest run straddles it
    d0 = pd.Timestamp(f.period[0])
    assert 198 <= d0.day_of_year <= 201
    # EPW-style stamps end the hour; time_mid is 30 min earlier
    assert (p.index - pd.DatetimeIndex(p["time_mid"]) == pd.Timedelta(minutes=30)).all()
    assert p.index.unit == "ns"  # hour arithmetic on .asi8 downstream assumes ns


def test_exactly_one_source():
    with pytest.raises(InputError, match="exactly one of --met"):
        load_forcing(lat_deg=1, lon_deg=1)


# -- rasters -----------------------------------------------------------------------------------

T1 = Affine(1.0, 0, 1000.0, 0, -1.0, 5000.0)


def write_tif(path, data, transform=T1, crs="EPSG:3007", nodata=None):
    prof = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
                transform=transform, crs=crs, nodata=nodata)
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data.astype(np.float32), 1)
    return path


def test_read_raster_nodata_and_crs(tmp_path):
    a = np.arange(12, dtype=float).reshape(3, 4)
    a[1, 2] = -9999
    data, meta = read_raster(write_tif(tmp_path / "a.tif", a, nodata=-9999), role="--dsm")
    assert np.isnan(data[1, 2]) and meta["n_nodata"] == 1 and data[2, 3] == 11.0
    assert meta["crs"] == "EPSG:3007"


def test_raster_without_crs_names_file_and_option(tmp_path):
    p = write_tif(tmp_path / "nocrs.tif", np.zeros((3, 3)), crs=None)
    with pytest.raises(CRSError, match=r"--cdsm .*nocrs.tif: the raster has no CRS; give it with --crs"):
        read_raster(p, role="--cdsm")
    data, meta = read_raster(p, crs="EPSG:3007", role="--cdsm")
    assert meta["crs"] == "EPSG:3007" and meta["crs_from"] == "--crs"


def test_misaligned_rasters_name_the_file(tmp_path):
    from microclimate.rasters import read_heat_rasters

    dsm = write_tif(tmp_path / "dsm.tif", np.ones((4, 5)))
    dem = write_tif(tmp_path / "dem.tif", np.zeros((4, 5)))
    shifted = write_tif(tmp_path / "cdsm.tif", np.zeros((4, 5)), transform=Affine(1, 0, 1000.5, 0, -1, 5000))
    small = write_tif(tmp_path / "lc.tif", np.ones((3, 5)))
    other = write_tif(tmp_path / "dem2.tif", np.zeros((4, 5)), crs="EPSG:3006")
    with pytest.raises(InputError, match=r"--cdsm .*cdsm.tif: its grid .* differs from --dsm .*gdalwarp"):
        read_heat_rasters(dsm, dem, cdsm=shifted)
    with pytest.raises(InputError, match=r"--landcover .*lc.tif: 3 x 5 cells, but --dsm .* has 4 x 5"):
        read_heat_rasters(dsm, dem, landcover=small)
    with pytest.raises(CRSError, match=r"--dem .*dem2.tif: CRS EPSG:3006 differs .*gdalwarp -t_srs EPSG:3007"):
        read_heat_rasters(dsm, other)
    r, meta = read_heat_rasters(dsm, dem)
    assert r.dsm_m.shape == (4, 5) and r.crs == "EPSG:3007" and meta["cell_m"] == 1.0


def test_land_cover_classes_are_the_engines():
    from microclimate.ground import UMEP_LAND_COVER
    from microclimate.rasters import UMEP_CLASSES

    assert set(UMEP_CLASSES) == set(UMEP_LAND_COVER) | {2}


def test_land_cover_unknown_codes_listed():
    lc = np.array([[1, 2, 8], [5, 9, 9], [np.nan, 7, 6]], dtype=float)
    with pytest.raises(InputError, match=r"unknown UMEP land-cover code\(s\) 8 \(1 cells\), 9 \(2 cells\)"):
        check_land_cover(lc, "lc.tif")
    ok = check_land_cover(np.array([[1, 2], [np.nan, 7]]), "lc.tif")
    assert ok.tolist() == [[1, 2], [1, 7]]


def test_memory_check_says_how_to_tile():
    from microclimate.skyview import estimate_memory_bytes

    # 2 km x 2 km at 1 m = 4 million cells, 72 steps; the engine's estimate + 35 B/cell of inputs
    n = 4_000_000
    need = estimate_memory_bytes(n, 72) + 35 * n
    assert need / 2**30 > 5  # several GiB: must be refused with 1 GiB free
    fit = 0.7 * 2**30 / (need / n)
    side = int(np.sqrt(fit))
    grid = np.ceil(np.sqrt(n / fit) * 10) / 10
    with pytest.raises(InputError, match=rf"model.city.json: 2000 x 2000 = 4,000,000 cells x 72 steps need about "
                                         rf"{need / 2**30:.1f} GiB.*--grid-m {grid:g} or more.*tiles of at most "
                                         rf"{side} x {side} cells"):
        check_grid_memory((2000, 2000), 1.0, n_steps=72, available_bytes=2**30, what="model.city.json")
    assert check_grid_memory((100, 100), 1.0, available_bytes=2**30) == estimate_memory_bytes(10_000, 72) + 350_000


# -- points ------------------------------------------------------------------------------------

def write_points(path, features, crs_member=True):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"point_id": pid}, "geometry": {"type": "Point", "coordinates": xy}}
        for pid, xy in features]}
    if crs_member:
        fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3007"}}
    path.write_text(json.dumps(fc))
    return path


def test_points_to_rows_and_cols(tmp_path):
    p = write_points(tmp_path / "p.geojson", [("a", [1000.5, 4999.5]), ("b", [1003.9, 4996.1])])
    gp = points_to_grid(p, T1, "EPSG:3007", (4, 5))
    assert gp.ids == ["a", "b"] and gp.rc.tolist() == [[0, 0], [3, 3]]


def test_points_reprojected_from_wgs84(tmp_path):
    # the cell centre (row 1, col 2) of a SWEREF99 12 00 grid, written in WGS84 degrees
    from pyproj import Transformer

    t = Affine(1.0, 0, 147720.0, 0, -1.0, 6398780.0)
    lon, lat = Transformer.from_crs("EPSG:3007", "EPSG:4326", always_xy=True).transform(147722.5, 6398778.5)
    p = tmp_path / "p.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": 7}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}]}))
    gp = points_to_grid(p, t, "EPSG:3007", (10, 10))
    assert gp.ids == ["7"] and gp.rc.tolist() == [[1, 2]]
    assert gp.xy[0] == pytest.approx([147722.5, 6398778.5], abs=1e-3)


def test_points_outside_or_on_buildings_are_listed(tmp_path):
    p = write_points(tmp_path / "p.geojson", [("in", [1000.5, 4999.5]), ("west", [990.0, 4999.0]),
                                             ("north", [1001.0, 5010.0])])
    with pytest.raises(InputError, match=r"point\(s\) west, north lie outside the grid \(x 1000.0..1005.0"):
        points_to_grid(p, T1, "EPSG:3007", (4, 5))
    p2 = write_points(tmp_path / "p2.geojson", [("in", [1000.5, 4999.5]), ("roof", [1002.5, 4997.5])])
    mask = np.zeros((4, 5), bool)
    mask[2, 2] = True
    with pytest.raises(InputError, match=r"point\(s\) roof lie on buildings"):
        points_to_grid(p2, T1, "EPSG:3007", (4, 5), mask)


@pytest.mark.shared_data
def test_umep_poi_without_crs_member(shared_data):
    """UMEP's poi.geojson: projected coordinates, no CRS member, a 'crs' property."""
    poi = shared_data / "heat_gothenburg" / "kronenhuset" / "poi.geojson"
    t = Affine(1.0, 0, 147720.0, 0, -1.0, 6398780.0)
    gp = points_to_grid(poi, t, "EPSG:3007", (223, 234))
    # 147837.67 - 147720 = 117.67 -> col 117; 6398780 - 6398728.30 = 51.70 -> row 51
    assert gp.rc.tolist() == [[51, 117]]
    assert gp.ids == ["Kronenhuset courtyard measurement station"]
    assert any("cannot be degrees" in s for s in gp.fallbacks)


# -- writers -----------------------------------------------------------------------------------

class _Result:
    def __init__(self, n_p=2, n_t=3):
        self.times = pd.date_range("2025-07-01 01:00", periods=n_t, freq="h", tz="+01:00")
        self.points = {c: np.arange(n_p * n_t, dtype=float).reshape(n_p, n_t) + k
                       for k, c in enumerate(POINT_COLUMNS)}


def test_points_csv_columns_and_times(tmp_path):
    res = _Result()
    path = write_points_csv(res, ["a", "b"], tmp_path / "points.csv")
    df = pd.read_csv(path)
    assert list(df.columns) == ["point_id", "time", *POINT_COLUMNS]
    assert df["time"].tolist()[:3] == ["2025-07-01T01:00:00+01:00", "2025-07-01T02:00:00+01:00",
                                       "2025-07-01T03:00:00+01:00"]
    assert df["point_id"].tolist() == ["a"] * 3 + ["b"] * 3
    # point b, second step: value index 1 * 3 + 1 = 4, plus the column's offset (utci_c: 1)
    assert df.loc[4, "utci_c"] == 5.0
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_points_csv(res, ["a", "b"], path)
    with pytest.raises(ValueError, match="expected"):
        points_frame(res, ["a"])


def test_geotiff_writer(tmp_path):
    a = np.array([[1.5, np.nan], [3.0, 4.0]])
    p = write_raster(tmp_path / "tmrt_max_c.tif", a, T1, "EPSG:3007", "maximum Tmrt [degC]")
    with rasterio.open(p) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert src.crs.to_epsg() == 3007 and src.transform == T1
        assert src.descriptions[0] == "maximum Tmrt [degC]" and src.tags(1)["unit"] == "degC"
        b = src.read(1)
    assert b[0, 0] == 1.5 and np.isnan(b[0, 1])
    assert [f.name for f in tmp_path.iterdir()] == ["tmrt_max_c.tif"]  # no temporary left


def test_no_half_written_file_on_failure(tmp_path):
    class Boom(dict):
        def items(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_summary({"a": Boom()}, tmp_path / "summary.json")
    assert list(tmp_path.iterdir()) == []
    write_summary({"x": np.float32(1.5), "n": float("nan")}, tmp_path / "summary.json")
    assert json.loads((tmp_path / "summary.json").read_text()) == {"x": 1.5, "n": None}


# -- city model -> rasters -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def district():
    from citymodel.synth import district_to_citymodel, make_district

    d = make_district(seed=3, size_m=100.0)
    return d, district_to_citymodel(d)


def _roof_height(part, x, y):
    """Highest roof plane of ``part`` over (x, y), from the synthetic scene's exact faces; NaN outside."""
    import shapely

    z = np.full(np.shape(x), np.nan)
    for f in part.roof_faces:
        ring = f.rings[0]
        poly = shapely.Polygon(ring[:, :2])
        inside = shapely.contains_xy(poly, x, y)
        n = f.normal
        zf = ring[0, 2] - (n[0] * (x - ring[0, 0]) + n[1] * (y - ring[0, 1])) / n[2]
        z = np.where(inside & ~(zf <= z), zf, z)
    return z


def test_model_rasters_match_the_synthetic_district(district):
    import shapely

    from microclimate.model_rasters import model_to_rasters

    d, model = district
    r, meta = model_to_rasters(model, 1.0)
    ny, nx = r.dsm_m.shape
    t = r.transform
    assert t.a == 1.0 and t.c == np.floor(t.c) and r.crs == "EPSG:32632"
    xs = t.c + (np.arange(nx) + 0.5)
    ys = t.f - (np.arange(ny) + 0.5)
    X, Y = np.meshgrid(xs, ys)
    # DEM: the TIN (4 m spacing) against the analytic terrain, within 3 cm
    inside_tin = (np.abs(X - d.origin_xy[0]) < 48) & (np.abs(Y - d.origin_xy[1]) < 48)
    err = np.abs(r.dem_m - d.terrain.height(X, Y))[inside_tin]
    assert err.max() < 0.03
    # buildings: every cell centre farther than 1 cm from a footprint edge is classified exactly
    fp = shapely.union_all([p.footprint for _, p in d.all_parts()])
    inside = shapely.contains_xy(fp, X, Y)
    far = shapely.distance(fp.boundary, shapely.points(X, Y)) > 0.01
    assert np.array_equal(r.building_mask[far], inside[far])
    assert meta["n_building_cells"] == int(r.building_mask.sum()) > 300
    # DSM on buildings: the exact roof planes, within 1 mm
    roof = np.full(X.shape, np.nan)
    for _, p in d.all_parts():
        roof = np.fmax(roof, _roof_height(p, X, Y))
    sel = r.building_mask & far & np.isfinite(roof)
    assert sel.sum() > 300
    np.testing.assert_allclose(r.dsm_m[sel], roof[sel], atol=1e-3)
    np.testing.assert_array_equal(r.dsm_m[~r.building_mask], r.dem_m[~r.building_mask])
    assert (r.landcover[r.building_mask] == 2).all()
    # trees: the cell holding a crown's centre has the top height above that cell's ground
    for tr in d.trees:
        if tr.overhangs_roof or tr.crown_diameter_m < 2.0:
            continue
        row, col = int((t.f - tr.xy[1]) // 1.0), int((tr.xy[0] - t.c) // 1.0)
        top = tr.z_ground_m + tr.height_m
        # (the model stores h_ground_m and height_m rounded to 1 mm)
        assert r.cdsm_m[row, col] == pytest.approx(top - r.dem_m[row, col], abs=2e-3)
    # a cell centre beyond every tree's crown radius has no canopy
    far_from_trees = np.ones(X.shape, bool)
    for tr in d.trees:
        far_from_trees &= np.hypot(X - tr.xy[0], Y - tr.xy[1]) > tr.crown_diameter_m / 2 + 1e-6
    assert (r.cdsm_m[far_from_trees] == 0).all()
    # land cover: lawns (PlantCover) are grass, the rest paved, and that fallback is recorded
    lawn = shapely.union_all([g.polygon for g in d.green_areas])
    in_lawn = shapely.contains_xy(lawn, X, Y) & (shapely.distance(lawn.boundary, shapely.points(X, Y)) > 0.01)
    assert (r.landcover[in_lawn & ~r.building_mask] == 5).all()
    assert set(np.unique(r.landcover)) <= {1, 2, 5, 7}
    assert any("paved" in s for s in meta["fallbacks"])


def test_model_without_terrain_needs_dem(district):
    from microclimate.model_rasters import model_to_rasters

    _, model = district
    m = model.copy()
    for oid in m.ids_of_type("TINRelief"):
        del m.city_objects[oid]
    with pytest.raises(InputError, match="no TINRelief terrain; give the ground model with --dem DEM.tif"):
        model_to_rasters(m, 2.0)


@pytest.mark.shared_data
def test_epw_forcing_hottest_3d_and_far_site(shared_data):
    epw = shared_data / "weather" / "ITA_PM_Torino.AF.160595_TMYx.epw"
    raw = pd.read_csv(epw, skiprows=8, header=None)
    # independent: the 3-day run with the highest mean of daily maxima, from the EPW's own columns
    tmax = raw.groupby([1, 2])[6].max().to_numpy()  # (month, day) -> max dry bulb, in file order
    run = np.convolve(tmax, np.ones(3) / 3, mode="valid")
    k = int(np.argmax(run))
    f = load_forcing(weather=epw, lat_deg=45.07, lon_deg=7.69, period="hottest-3d")
    first = raw.groupby([1, 2]).size().index[k]
    assert (pd.Timestamp(f.period[0]).month, pd.Timestamp(f.period[0]).day) == first
    assert f.period_data["t_air_c"].max() == pytest.approx(max(tmax[k:k + 3]), abs=1e-9)
    assert f.site["tz_offset_h"] == 1.0 and len(f.period_data) == 72
    assert not any("km from the grid" in s for s in f.fallbacks)
    # the same file for a grid in Gothenburg: used, but recorded as far away
    g = load_forcing(weather=epw, lat_deg=57.7, lon_deg=11.97, period="hottest-3d")
    assert any("km from the grid" in s for s in g.fallbacks)
    assert g.site["lat_deg"] == 57.7


def test_outputs_all_or_nothing(tmp_path):
    """A failure while writing the set leaves no file of it (and no temporary)."""
    from microclimate.outputs import write_heat_outputs

    class R(_Result):
        tmrt_max_c = utci_max_c = np.zeros((2, 2))
        t_surface_max_c = np.zeros(4)  # wrong shape: the third map fails
        strong_heat_hours = np.zeros((2, 2))

    out = tmp_path / "out"
    with pytest.raises(ValueError, match="must be 2-D"):
        write_heat_outputs(out, R(), T1, "EPSG:3007", {"a": 1}, point_ids=["a", "b"])
    assert list(out.iterdir()) == []
    R.t_surface_max_c = np.zeros((2, 2))
    paths = write_heat_outputs(out, R(), T1, "EPSG:3007", {"a": 1}, point_ids=["a", "b"])
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths.values())
    assert json.loads((out / "summary.json").read_text())["outputs"]["points"] == str(out / "points.csv")


def test_model_with_dem_raster(district, tmp_path):
    """--dem replaces the TIN: a flat DEM 2 m below the terrain, without a CRS, bilinearly resampled."""
    from microclimate.model_rasters import model_to_rasters

    d, model = district
    x0, y0 = d.origin_xy - 60.0
    t = Affine(0.5, 0, x0, 0, -0.5, y0 + 120.0)
    dem = write_tif(tmp_path / "dem.tif", np.full((240, 240), 40.0), transform=t, crs=None)
    r, meta = model_to_rasters(model, 2.0, dem=dem)
    assert np.allclose(r.dem_m, 40.0) and meta["terrain"] == str(dem)
    assert any("no CRS; taken in the model's EPSG:32632" in f for f in meta["fallbacks"])
    # buildings stand on their own roofs: DSM above the (lower) DEM by more than the storeys
    assert (r.dsm_m[r.building_mask] > 45.0).all()
    small = write_tif(tmp_path / "small.tif", np.full((10, 10), 40.0), transform=t, crs="EPSG:32632")
    with pytest.raises(InputError, match=r"--dem .*small.tif: \d+ of \d+ grid cells are outside the raster"):
        model_to_rasters(model, 2.0, dem=small)
