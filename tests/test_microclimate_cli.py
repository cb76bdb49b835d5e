"""`citymodel heat` end to end: the city-model route, the raster route, bad input, the demo stage."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from citymodel.cli import main
from citymodel.io import read, write
from citymodel.synth import district_to_citymodel, make_district
from microclimate.cli import heat_cmd
from microclimate.model_rasters import model_to_rasters

ROOT = Path(__file__).resolve().parents[1]
MET_HEADER = ("%iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld wuh xsmd "
              "lai kdiff kdir wdir")


@pytest.fixture()
def cli(monkeypatch):
    """The `citymodel` group with `heat` added (the entry point may not be installed yet).

    The group's command table is restored afterwards, so that later tests see the installed
    plugins exactly as before (the table may already hold them, loaded once per process).
    """
    monkeypatch.setattr(main, "commands", dict(main.commands))
    main.add_command(heat_cmd, "heat")
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, ["-q", "heat", *map(str, args)])

    return run


def test_registered_as_plugin():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert py["project"]["entry-points"]["citymodel.commands"]["heat"] == "microclimate.cli:heat_cmd"
    assert py["project"]["entry-points"]["citymodel.demo_stages"]["heat"] == "microclimate.demo:STAGE"
    assert heat_cmd.order == 110


# -- city-model route ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def district_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("district")
    model = district_to_citymodel(make_district(seed=3, size_m=100.0))
    return write(model, d / "district.city.json")


def _open_cell(mask: np.ndarray) -> tuple[int, int]:
    """The open cell farthest from any building."""
    from scipy import ndimage

    dist = ndimage.distance_transform_edt(~mask)
    dist[[0, -1], :] = dist[:, [0, -1]] = 0
    return tuple(int(v) for v in np.unravel_index(np.argmax(dist), mask.shape))


def _write_gpkg(path, ids, xy, crs):
    import pyogrio.raw
    import shapely

    geoms = shapely.to_wkb(shapely.points(np.asarray(xy)))
    pyogrio.raw.write(path, geometry=geoms, field_data=[np.asarray(ids, dtype=object)], fields=["point_id"],
                      crs=crs, driver="GPKG", geometry_type="Point")


def test_model_route_on_synthetic_district(cli, district_file, tmp_path):
    model = read(district_file)
    r, _ = model_to_rasters(model, 2.0)
    row, col = _open_cell(r.building_mask)
    x, y = r.transform @ (col + 0.5, row + 0.5)
    pts = tmp_path / "p.gpkg"
    _write_gpkg(pts, ["open"], [[x, y]], r.crs)
    out = tmp_path / "out"
    res = cli(district_file, "--weather", "clearsky", "--period", "hottest-1d", "--grid-m", 2,
              "--points", pts, "--out", out)
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["heat.city.json", "points.csv", "strong_heat_hours.tif", "summary.json",
                     "t_surface_max_c.tif", "tmrt_max_c.tif", "utci_max_c.tif"]
    with rasterio.open(out / "tmrt_max_c.tif") as src:
        tmrt = src.read(1)
        assert src.crs.to_epsg() == 32632 and src.transform == r.transform
        assert "[degC]" in src.descriptions[0]
    with rasterio.open(out / "strong_heat_hours.tif") as src:
        hours = src.read(1)
    with rasterio.open(out / "utci_max_c.tif") as src:
        utci = src.read(1)
    # NaN exactly on the building cells of the rasterised model
    np.testing.assert_array_equal(np.isnan(tmrt), r.building_mask)
    # the maps agree with the hourly series at the point, re-counted independently
    df = pd.read_csv(out / "points.csv")
    assert len(df) == 24 and (df.point_id == "open").all()
    assert tmrt[row, col] == pytest.approx(df.tmrt_c.max(), abs=2e-3)
    assert utci[row, col] == pytest.approx(df.utci_c.max(), abs=2e-3)
    assert hours[row, col] == (df.utci_c > 32.0).sum()
    # hourly steps: whole hours, at most 24
    h = hours[np.isfinite(hours)]
    assert np.allclose(h, np.round(h)) and h.max() <= 24
    # times are the clear-sky rows' own hour-ending stamps, local standard time (UTC+1 at 11.3 E)
    s = json.loads((out / "summary.json").read_text())
    # the grid spun up on the clear-sky day before the period, not on a repeat of its first day
    assert s["spinup"]["grid_preceding_rows"] == 24 and s["spinup"]["grid_repeated_days"] == 0
    day = s["forcing"]["period"][0]
    expected = pd.date_range(f"{day} 01:00", periods=24, freq="h", tz="+01:00")
    assert df.time.tolist() == [t.isoformat() for t in expected]
    # an open, unshaded cell at noon in July: Tmrt well above air temperature
    assert df.tmrt_c.max() > df.utci_c.max() > 30.0
    assert any("paved" in f for f in s["fallbacks"])
    assert s["figures"]["n_open_cells"] == int((~r.building_mask).sum())
    # roofs and walls: t_surface_max_c on semantic surfaces and per-building maxima
    m = read(out / "heat.city.json")
    for bid in m.building_ids():
        a = m[bid]["attributes"]
        assert 20.0 < a["t_roof_max_c"] < 90.0 and 15.0 < a["t_wall_max_c"] < 80.0
    sem = [sv for oid in m.building_ids() for g in m[oid]["geometry"] if "semantics" in g
           for sv in g["semantics"]["surfaces"] if sv.get("type") == "RoofSurface"]
    assert sem and all("t_surface_max_c" in sv for sv in sem)
    # refuses to overwrite, and leaves the outputs as they were
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    res = cli(district_file, "--weather", "clearsky", "--grid-m", 2, "--no-surfaces", "--out", out)
    assert res.exit_code == 1 and "output exists" in res.output and "--overwrite" in res.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


# -- raster route (SOLWEIG's Kronenhuset rasters, cropped) --------------------------------------------

def _crop(src_path, dst_path, window, keep_crs=True):
    from rasterio.windows import Window

    with rasterio.open(src_path) as src:
        w = Window(*window)
        a = src.read(1, window=w)
        prof = dict(driver="GTiff", height=a.shape[0], width=a.shape[1], count=1, dtype=a.dtype,
                    transform=src.window_transform(w), crs=src.crs if keep_crs else None, nodata=src.nodata)
    with rasterio.open(dst_path, "w", **prof) as dst:
        dst.write(a, 1)
    return dst_path


@pytest.mark.shared_data
def test_raster_route_kronenhuset(cli, shared_data, tmp_path):
    kr = shared_data / "heat_gothenburg" / "kronenhuset"
    win = (117 - 30, 51 - 30, 60, 60)  # col_off, row_off, width, height around the measurement point
    dsm = _crop(kr / "DSM_KR.tif", tmp_path / "dsm.tif", win)
    dem = _crop(kr / "DEM_KR.tif", tmp_path / "dem.tif", win)
    cdsm = _crop(kr / "CDSM_KR.asc", tmp_path / "cdsm.tif", win, keep_crs=False)  # UMEP's ASCII has no CRS
    lc = _crop(kr / "landcover_KR.tif", tmp_path / "lc.tif", win)
    out = tmp_path / "out"
    args = ["--dsm", dsm, "--dem", dem, "--cdsm", cdsm, "--landcover", lc, "--met", kr / "MetFile_Prepared.txt",
            "--points", kr / "poi.geojson", "--out", out]
    res = cli(*args)
    assert res.exit_code == 1
    assert "cdsm.tif: the raster has no CRS; give it with --crs" in res.output
    assert not out.exists()
    res = cli(*args, "--crs", "EPSG:3007")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out / "points.csv")
    # no --utc-offset: round(11.96 / 15) = UTC+1 would be the guess, but the file's own radiation
    # ((GHI - DHI) / DNI = sin(elevation)) fits the sun in UTC (tests/test_microclimate_gothenburg.py)
    s = json.loads((out / "summary.json").read_text())
    assert s["forcing"]["site"]["tz_offset_h"] == 0.0
    assert "fits the sun at UTC+0, not at UTC+1 = round(longitude / 15): UTC+0 used" in s["fallbacks"][1]
    # the met file's own stamps (it + imin), read here independently
    met = np.loadtxt(kr / "MetFile_Prepared.txt", skiprows=1)
    stamps = [f"2005-10-07T{int(it):02d}:{int(mi):02d}:00+00:00" for it, mi in met[:, 2:4]]
    assert df.time.tolist() == stamps
    # no sun, no shortwave: Kdn = 0 rows give kdown = 0 at the point
    night = met[:, 14] == 0
    assert np.all(df.kdown_w_m2.to_numpy()[night] == 0.0)
    assert np.all(df.kdown_w_m2.to_numpy()[~night] > 0.0)
    with rasterio.open(out / "tmrt_max_c.tif") as src:
        tmrt = src.read(1)
        assert src.crs.to_epsg() == 3007 and tmrt.shape == (60, 60)
    assert tmrt[30, 30] == pytest.approx(df.tmrt_c.max(), abs=2e-3)  # the point is the window's centre
    assert s["route"] == "rasters" and s["points"]["rows_cols"] == [[30, 30]]
    assert any("--crs" in f for f in s["fallbacks"])
    # given explicitly, a clock the radiation contradicts is kept and the mismatch recorded
    res = cli(*args, "--crs", "EPSG:3007", "--utc-offset", 1, "--overwrite")
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["forcing"]["site"]["tz_offset_h"] == 1.0
    assert any("fits the sun +1 h later" in f and "--utc-offset 0" in f for f in s["fallbacks"])
    assert 56.0 < s["forcing"]["site"]["lat_deg"] < 58.5


# -- bad input: one line naming the file and what to do; nothing written ----------------------------

T = Affine(1.0, 0, 1000.0, 0, -1.0, 5000.0)


def _tif(path, a, transform=T, crs="EPSG:3007"):
    with rasterio.open(path, "w", driver="GTiff", height=a.shape[0], width=a.shape[1], count=1,
                       dtype="float32", transform=transform, crs=crs) as dst:
        dst.write(a.astype(np.float32), 1)
    return path


def _met(path, bad_line=None, year=2025, doy=180, days=2):
    rows = [MET_HEADER]
    for d in range(days):
        for h in range(1, 25):
            dd, hh = (doy + d, h) if h < 24 else (doy + d + 1, 0)
            ghi = max(0.0, 700 * np.sin((h - 6.5) / 12 * np.pi))
            rows.append(" ".join(f"{v:g}" for v in [year, dd, hh, 0, *[-999] * 5, 2, 50, 25, 101, 0, ghi, 0,
                                                     -999, 0.1, 0, 0, 3, 0.2 * ghi, 0.9 * ghi, 270]))
    if bad_line:
        f = rows[bad_line - 1].split()
        f[14] = "-999"  # kdown
        rows[bad_line - 1] = " ".join(f)
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture()
def small(tmp_path):
    dsm = np.zeros((20, 20))
    dsm[5:10, 5:10] = 8.0
    return dict(dsm=_tif(tmp_path / "dsm.tif", dsm), dem=_tif(tmp_path / "dem.tif", np.zeros((20, 20))),
                met=_met(tmp_path / "met.txt"), out=tmp_path / "out", tmp=tmp_path)


def _base(s, **over):
    a = {"--dsm": s["dsm"], "--dem": s["dem"], "--met": s["met"], "--utc-offset": 1, "--out": s["out"]}
    a.update(over)
    return [x for k, v in a.items() if v is not None for x in (k, v)]


@pytest.mark.parametrize("case, expect", [
    ("nocrs", r"Error: --dem .*dem_nocrs.tif: the raster has no CRS; give it with --crs EPSG:XXXX"),
    ("misaligned", r"Error: --dem .*dem_shift.tif: its grid \(origin 1002.000, 5000.000, cell 1 m\) differs from "
                   r"--dsm .*; align it with gdalwarp"),
    ("period", r"Error: .*met.txt: --period 2025-08-01:2025-08-02 is outside the file, which covers 2025-06-29 "
               r"to 2025-06-30"),
    ("missing", r"Error: .*met_bad.txt: column 'ghi_w_m2' is missing \(-999/NaN\) in 1 row\(s\).*first at line 12, "
                r"time 2025-06-29T11:00:00\+01:00"),
    ("outside", r"Error: --points .*p.geojson: point\(s\) far lie outside the grid"),
    ("on_roof", r"Error: --points .*p.geojson: point\(s\) roof lie on buildings"),
    ("memory", r"Error: .*dsm.tif: 20 x 20 = 400 cells x 48 steps need about .* GiB, .* free; use a coarser grid "
               r"\(--grid-m .* or more\), a shorter --period, or split the area into tiles"),
    ("model_met", r"Error: the city-model route takes --weather"),
])
def test_bad_input(cli, small, case, expect, monkeypatch):
    s = small
    args = _base(s)
    if case == "nocrs":
        args = _base(s, **{"--dem": _tif(s["tmp"] / "dem_nocrs.tif", np.zeros((20, 20)), crs=None)})
    elif case == "misaligned":
        args = _base(s, **{"--dem": _tif(s["tmp"] / "dem_shift.tif", np.zeros((20, 20)),
                                         transform=Affine(1, 0, 1002, 0, -1, 5000))})
    elif case == "period":
        args = _base(s, **{"--period": "2025-08-01:2025-08-02"})
    elif case == "missing":
        args = _base(s, **{"--met": _met(s["tmp"] / "met_bad.txt", bad_line=12)})
    elif case in ("outside", "on_roof"):
        xy = [990.0, 4990.0] if case == "outside" else [1007.5, 4992.5]
        (s["tmp"] / "p.geojson").write_text(json.dumps({"type": "FeatureCollection", "crs": {
            "type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3007"}}, "features": [
            {"type": "Feature", "properties": {"point_id": "ok"}, "geometry": {"type": "Point", "coordinates": [1015, 4985]}},
            {"type": "Feature", "properties": {"point_id": "far" if case == "outside" else "roof"},
             "geometry": {"type": "Point", "coordinates": xy}}]}))
        args = _base(s, **{"--points": s["tmp"] / "p.geojson"})
    elif case == "memory":
        import microclimate.rasters as mr

        monkeypatch.setattr(mr, "_available_bytes", lambda: 2**20)
    elif case == "model_met":
        d = write(district_to_citymodel(make_district(seed=3, size_m=60.0)), s["tmp"] / "m.city.json")
        args = [d, "--met", s["met"], "--out", s["out"]]
    res = cli(*args)
    assert res.exit_code == 1, res.output
    line = " ".join(res.output.split())
    import re

    assert re.search(expect, line), line
    assert not s["out"].exists() or not any(s["out"].iterdir())


@pytest.mark.shared_data
def test_far_weather_refused_before_work(cli, shared_data, tmp_path):
    """Torino's TMYx for a district in Bologna (about 300 km): refused before the grid runs."""
    d = write(district_to_citymodel(make_district(seed=3, size_m=60.0)), tmp_path / "m.city.json")
    epw = shared_data / "weather" / "ITA_PM_Torino.AF.160595_TMYx.epw"
    res = cli(d, "--weather", epw, "--out", tmp_path / "out")
    assert res.exit_code == 1
    line = " ".join(res.output.split())
    assert "TMYx.epw: the weather's site is 3" in line and "km from the model" in line
    assert "give the weather of the site, or --no-surfaces to compute the street grid only" in line
    assert not (tmp_path / "out").exists()


# -- demo stage ------------------------------------------------------------------------------------------

def test_demo_stage(tmp_path):
    from citymodel.demo import DemoContext
    from microclimate.demo import STAGE

    ctx = DemoContext(out_dir=tmp_path, quiet=True)
    ctx.model = district_to_citymodel(make_district(seed=3, size_m=80.0))
    STAGE.run(ctx)
    assert STAGE.order == 60 and STAGE.name == "heat"
    run = ctx.results["heat"]
    fig = tmp_path / "figures" / "heat_tmrt.png"
    assert fig.stat().st_size > 10_000
    hot = run.tmrt_hottest_hour_c
    assert hot.shape == run.result.tmrt_max_c.shape
    # at the hottest hour no cell exceeds its own maximum over the day
    assert np.nanmax(hot - run.result.tmrt_max_c) <= 1e-3
    assert ctx.summary[-1].startswith("heat: Tmrt max")
    md = ctx.report.to_markdown(tmp_path)
    assert "Street-level heat" in md and "heat_tmrt.png" in md


def test_heat_study_route(cli, district_file, tmp_path):
    """--scenario runs the study: canopy per block, a cool-roof scenario that cools roofs and
    leaves street-level Tmrt unchanged exactly (roofs are not seen from the street grid here)."""
    out = tmp_path / "study"
    res = cli(district_file, "--weather", "clearsky", "--grid-m", "4", "--scenario", "cool-roofs", "--out", out)
    assert res.exit_code == 0, res.output
    canopy = pd.read_csv(out / "canopy.csv")
    assert list(canopy.columns) == ["zone_id", "time", "t_canopy_c", "t_rural_c", "uhi_k"]
    np.testing.assert_allclose(canopy.uhi_k, canopy.t_canopy_c - canopy.t_rural_c, atol=1e-9)
    sc = pd.read_csv(out / "scenarios.csv")
    cool = sc[sc.scenario == "cool-roofs"]
    assert len(cool) and (cool.d_t_surface_max_c <= 0).all() and (cool.d_t_surface_max_c < -1).any()
    assert (cool.m2_treated > 0).any() and (cool.trees_planted == 0).all()
    assert (out / "cool-roofs" / "tmrt_max_c.tif").exists()
    again = cli(district_file, "--weather", "clearsky", "--scenario", "cool-roofs", "--out", out)
    assert again.exit_code != 0 and "--overwrite" in again.output
    bad = cli(district_file, "--weather", "clearsky", "--scenario", "paint-it-black", "--out", tmp_path / "b")
    assert bad.exit_code != 0 and "cool-roofs" in bad.output  # the valid names are listed


def test_our_landcover_raster_is_read_as_umep_classes(tmp_path):
    """A land-cover GeoTIFF of `citymodel build --landcover-out` (our codes) is converted to
    UMEP classes (tree canopy 3 -> 4, shrubs 4 -> 5) and the conversion is recorded."""
    from citymodel.landcover import write_landcover
    from microclimate.rasters import read_heat_rasters

    dem = np.zeros((6, 8))
    dsm = dem.copy()
    dsm[2:4, 2:4] = 10.0
    codes = np.full((6, 8), 1, np.uint8)
    codes[2:4, 2:4] = 2
    codes[0, :] = 3
    codes[5, :] = 4
    codes[:, 7] = 7
    lc = tmp_path / "lc.tif"
    write_landcover(lc, codes, T, 3007)
    rasters, info = read_heat_rasters(_tif(tmp_path / "dsm.tif", dsm), _tif(tmp_path / "dem.tif", dem), landcover=lc)
    got = np.asarray(rasters.landcover)
    assert got[0, 0] == 4 and got[5, 0] == 5 and got[1, 0] == 1 and got[2, 2] == 2 and got[1, 7] == 7
    assert any("converted to UMEP" in f for f in info["fallbacks"])
