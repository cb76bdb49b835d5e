"""Civic layers: reading zones (any CRS), zonal statistics by hand, equity worked example."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from citymodel.civic import (
    Zones,
    concentration_index,
    equity,
    read_zones,
    write_zones,
    zonal_stats,
)
from citymodel.errors import CRSError, InputError
from viewer.boxes import box_model

X0, Y0 = 85000.0, 447000.0  # RD New (EPSG:28992)


def _write_layer(path, geoms, fields: dict, crs="EPSG:28992"):
    import pyogrio

    names = list(fields)
    arrays = [np.asarray(v) for v in fields.values()]
    gtype = "Polygon" if all(g.geom_type == "Polygon" for g in geoms) else "Unknown"
    pyogrio.raw.write(str(path), shapely.to_wkb(np.asarray(geoms, dtype=object)), arrays, names,
                      driver="GPKG" if str(path).endswith(".gpkg") else "GeoJSON",
                      geometry_type=gtype, crs=crs)
    return path


@pytest.fixture(scope="module")
def district():
    """Four boxes; zone A holds boxes 0 and 1, zone B box 2 (its centroid), box 3 is outside.

    Box 2 straddles the A/B border but its footprint centroid lies in B.
    """
    lo = np.array([[0, 0], [20, 0], [45, 0], [200, 200]], dtype=float) + [X0, Y0]
    hi = np.array([[10, 10], [40, 10], [65, 10], [210, 210]], dtype=float) + [X0, Y0]
    return box_model(lo, hi, [10.0, 20.0, 30.0, 9.0], attributes={
        "floor_area_m2": [300.0, 1200.0, 1400.0, 100.0],
        "heating_demand_kwh_m2": [100.0, 50.0, 80.0, 10.0],
        "pv_yield_kwh": [1000.0, 3000.0, 5000.0, 7.0],
    })


@pytest.fixture(scope="module")
def zones_rd():
    geoms = [shapely.box(X0 - 5, Y0 - 5, X0 + 50, Y0 + 50), shapely.box(X0 + 50, Y0 - 5, X0 + 100, Y0 + 50)]
    return Zones(np.array(geoms, dtype=object),
                 pd.DataFrame({"zone_id": [1, 2], "name": ["A", "B"], "population": [500, 300]}), 28992)


# ---------------------------------------------------------------------------- read_zones
def test_read_zones_reprojects_from_wgs84(tmp_path, zones_rd):
    from pyproj import Transformer

    tr = Transformer.from_crs(28992, 4326, always_xy=True)
    geoms_ll = shapely.transform(zones_rd.geometry, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    path = _write_layer(tmp_path / "zones.gpkg", geoms_ll,
                        {"zone_id": np.array([1, 2]), "name": np.array(["A", "B"], dtype=object),
                         "fragility_index": np.array([0.2, 0.8])}, crs="EPSG:4326")
    z = read_zones(path, to_epsg=7415)  # compound RD + NAP -> its horizontal part
    assert z.epsg == 28992 and len(z) == 2
    assert z.attributes["name"].tolist() == ["A", "B"]
    assert z.attributes["fragility_index"].tolist() == [0.2, 0.8]
    np.testing.assert_allclose(shapely.bounds(z.geometry), shapely.bounds(zones_rd.geometry), atol=0.01)
    raw = read_zones(path)
    assert raw.epsg == 4326


def test_read_zones_bad_input(tmp_path):
    with pytest.raises(InputError, match="nope.gpkg: zone file not found"):
        read_zones(tmp_path / "nope.gpkg")
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(InputError, match="bad.gpkg: cannot read"):
        read_zones(bad)
    pts = _write_layer(tmp_path / "pts.gpkg", [shapely.Point(0, 0)], {"a": np.array([1])})
    with pytest.raises(InputError, match="not a polygon"):
        read_zones(pts)
    ok = _write_layer(tmp_path / "ok.gpkg", [shapely.box(0, 0, 1, 1)], {"a": np.array([1])})
    with pytest.raises(InputError, match="its layers are ok"):
        read_zones(ok, layer="missing")
    with pytest.warns(UserWarning, match="crs"):
        nocrs = _write_layer(tmp_path / "nocrs.gpkg", [shapely.box(0, 0, 1, 1)], {"a": np.array([1])}, crs=None)
    assert read_zones(nocrs).epsg is None
    with pytest.raises(CRSError, match="declares no CRS"):
        read_zones(nocrs, to_epsg=28992)


# ---------------------------------------------------------------------------- zonal stats
def test_zonal_stats_by_hand(district, zones_rd):
    f = zonal_stats(district, zones_rd)
    assert f["n_buildings"].tolist() == [2, 1]
    # footprint areas (sum): A = 100 + 200, B = 200
    np.testing.assert_allclose(f["footprint_area_m2"], [300.0, 200.0], rtol=1e-12)
    # totals are summed
    np.testing.assert_allclose(f["floor_area_m2"], [1500.0, 1400.0], rtol=1e-12)
    np.testing.assert_allclose(f["pv_yield_kwh"], [4000.0, 5000.0], rtol=1e-12)
    # intensities are floor-area weighted: (300*100 + 1200*50) / 1500 = 60
    np.testing.assert_allclose(f["heating_demand_kwh_m2"], [60.0, 80.0], rtol=1e-12)
    # heights: floor-area weighted too: (300*10 + 1200*20) / 1500 = 18
    np.testing.assert_allclose(f["height_m"], [18.0, 30.0], rtol=1e-12)
    assert f.attrs["unassigned_buildings"] == 1
    assert f.attrs["building_zone"].tolist() == [0, 0, 1, -1]
    assert f.attrs["aggregation"]["pv_yield_kwh"] == "sum"
    np.testing.assert_allclose(f["zone_area_m2"], [55 * 55, 50 * 55])
    assert f["name"].tolist() == ["A", "B"]


def test_zonal_stats_footprint_weighted_without_floor_area(zones_rd):
    lo = np.array([[0, 0], [20, 0]], dtype=float) + [X0, Y0]
    hi = np.array([[10, 10], [40, 10]], dtype=float) + [X0, Y0]
    m = box_model(lo, hi, [10.0, 20.0], attributes={"heating_demand_kwh_m2": [100.0, 40.0]})
    f = zonal_stats(m, zones_rd, attributes=["heating_demand_kwh_m2"])
    # footprints 100 and 200 m2: (100*100 + 200*40) / 300 = 60
    assert f["heating_demand_kwh_m2"].iloc[0] == pytest.approx(60.0, rel=1e-12)
    assert np.isnan(f["heating_demand_kwh_m2"].iloc[1])  # no building in B


def test_zonal_stats_reprojects_zones(district, zones_rd):
    from citymodel.civic import reproject_zones

    ll = reproject_zones(zones_rd, 4326)
    assert abs(ll.bounds()[0] - 4.0) < 2  # really in degrees
    a = zonal_stats(district, zones_rd)
    b = zonal_stats(district, ll)
    np.testing.assert_allclose(a["heating_demand_kwh_m2"], b["heating_demand_kwh_m2"], rtol=1e-9)


def test_zonal_stats_bad_input(district, zones_rd):
    with pytest.raises(InputError, match=r"no building attribute 'nope'.*heating_demand_kwh_m2"):
        zonal_stats(district, zones_rd, attributes=["nope"])
    far = Zones(np.array([shapely.box(0, 0, 10, 10)], dtype=object), pd.DataFrame({"zone_id": [1]}), 28992)
    with pytest.raises(InputError, match="do not overlap the model"):
        zonal_stats(district, far)


def test_raster_zonal_stats_by_hand(tmp_path, zones_rd):
    import rasterio
    from affine import Affine

    data = np.arange(10 * 20, dtype=np.float64).reshape(10, 20)  # 5 m cells over 100 x 50 m
    data[0, 0] = -1.0  # nodata
    tif = tmp_path / "utci_c.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=20, height=10, count=1, dtype="float64",
                       crs="EPSG:28992", transform=Affine(5.0, 0, X0, 0, -5.0, Y0 + 50), nodata=-1.0) as ds:
        ds.write(data, 1)
    f = zonal_stats(None, zones_rd, rasters=[tif], thresholds={"utci_c": 100.0})
    # zone A spans x in [-5, 50): cell centres 2.5 .. 47.5 -> columns 0..9; all 10 rows
    a = data[:, :10].ravel()[1:]  # minus the nodata cell
    b = data[:, 10:].ravel()
    for name, v in (("A", a), ("B", b)):
        i = 0 if name == "A" else 1
        assert f["utci_c_mean"].iloc[i] == pytest.approx(v.mean(), rel=1e-12)
        np.testing.assert_allclose(f[["utci_c_p10", "utci_c_p50", "utci_c_p90"]].iloc[i],
                                   np.percentile(v, [10, 50, 90]), rtol=1e-12)
        assert f["utci_c_share_over_100"].iloc[i] == pytest.approx((v > 100).mean(), rel=1e-12)
    # default threshold for UTCI: 32 degC (strong heat stress)
    g = zonal_stats(None, zones_rd, rasters=[tif])
    assert "utci_c_share_over_32" in g.columns
    away = Zones(np.array([shapely.box(0, 0, 10, 10)], dtype=object), pd.DataFrame({"zone_id": [1]}), 28992)
    with pytest.raises(InputError, match="no zone .* covers a valid cell"):
        zonal_stats(None, away, rasters=[tif])


# ---------------------------------------------------------------------------- equity
@pytest.fixture
def worked():
    return pd.DataFrame({
        "zone_id": [1, 2, 3, 4],
        "fragility_index": [0.1, 0.2, 0.3, 0.9],
        "population": [100, 100, 200, 100],
        "tmrt_c": [10.0, 20.0, 30.0, 50.0],
        "tmrt_c_delta": [-1.0, -1.0, -1.0, -3.0],
    })


def test_equity_worked_example(worked):
    eq = equity(worked, indicators=["tmrt_c", "tmrt_c_delta"]).set_index("indicator")
    # top quartile of fragility: numpy's linear quantile of (.1,.2,.3,.9) at .75 = .45 -> zone 4
    assert eq.attrs["fragility_threshold"] == pytest.approx(0.45)
    r = eq.loc["tmrt_c"]
    assert (r.n_fragile, r.n_rest, r.weighted_by) == (1, 3, "population")
    assert r.mean_fragile == pytest.approx(50.0)
    assert r.mean_rest == pytest.approx((100 * 10 + 100 * 20 + 200 * 30) / 400)  # 22.5
    assert r.gap == pytest.approx(27.5)
    assert r.ratio == pytest.approx(50 / 22.5)
    # concentration index = 1 - 2 x area under the concentration curve (trapezoids), with
    # zones sorted by fragility: cumulative population share p, cumulative exposure share L
    p = np.array([0, 100, 200, 400, 500]) / 500
    L = np.concatenate([[0], np.cumsum([1000, 2000, 6000, 5000])]) / 14000
    area = np.sum((p[1:] - p[:-1]) * (L[1:] + L[:-1]) / 2)
    assert r.concentration_index == pytest.approx(1 - 2 * area, abs=1e-12)  # 0.25714...
    assert r.concentration_index == pytest.approx(0.2571428571, abs=1e-9)
    d = eq.loc["tmrt_c_delta"]
    assert d.gains_most == "most fragile" and r.gains_most == ""


def test_equity_threshold_unweighted_and_errors(worked):
    eq = equity(worked, indicators=["tmrt_c"], threshold=0.25, population=None).iloc[0]
    assert (eq.n_fragile, eq.n_rest, eq.weighted_by) == (2, 2, "zones")
    assert eq.mean_fragile == pytest.approx(40.0) and eq.mean_rest == pytest.approx(15.0)
    assert concentration_index([5.0, 5.0, 5.0], [1, 2, 3]) == pytest.approx(0.0, abs=1e-12)
    assert concentration_index([0.0, 0.0, 1.0], [1, 2, 3]) == pytest.approx(2 / 3)
    # ties share a rank: equal fragility means no concentration
    assert concentration_index([1.0, 9.0], [0.5, 0.5]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="no fragility column 'fragility'.*fragility_index"):
        equity(worked, "fragility")
    with pytest.raises(InputError, match="no indicator column 'heat'"):
        equity(worked, indicators=["heat"])
    with pytest.raises(InputError, match="leaves 0 fragile"):
        equity(worked, threshold=5.0)


def test_zonal_stats_then_equity_defaults(district, zones_rd):
    z = Zones(zones_rd.geometry, zones_rd.attributes.assign(fragility_index=[0.9, 0.1]), 28992)
    f = zonal_stats(district, z)
    eq = equity(f, top_quantile=0.5)
    assert set(eq["indicator"]) == set(f.attrs["indicators"])
    row = eq.set_index("indicator").loc["heating_demand_kwh_m2"]
    assert row.mean_fragile == pytest.approx(60.0) and row.mean_rest == pytest.approx(80.0)


# ---------------------------------------------------------------------------- output + CLI
def test_write_zones_round_trip(tmp_path, district, zones_rd):
    f = zonal_stats(district, zones_rd)
    out, csv = tmp_path / "z.gpkg", tmp_path / "z.csv"
    write_zones(zones_rd, f, out, csv=csv)
    back = read_zones(out)
    assert back.epsg == 28992 and len(back) == 2
    np.testing.assert_allclose(back.attributes["heating_demand_kwh_m2"], [60.0, 80.0])
    assert back.attributes["name"].tolist() == ["A", "B"]
    assert pd.read_csv(csv)["pv_yield_kwh"].tolist() == [4000.0, 5000.0]
    with pytest.raises(FileExistsError):
        write_zones(zones_rd, f, out)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_cli_zones(tmp_path, district, zones_rd, cli_runner):
    from citymodel.io import write

    src = write(district, tmp_path / "d.city.json")
    zpath = tmp_path / "zones.gpkg"
    z = Zones(zones_rd.geometry, zones_rd.attributes.assign(fragility_index=[0.9, 0.1]), 28992)
    write_zones(z, None, zpath)
    out, csv, eqc = tmp_path / "out.gpkg", tmp_path / "out.csv", tmp_path / "eq.csv"
    res = cli_runner("zones", src, "--zones", zpath, "--fragility", "fragility_index", "--top-quantile",
                     "0.5", "--out", out, "--csv", csv, "--equity-csv", eqc, "--crs", "EPSG:28992")
    assert res.exit_code == 0, res.output
    assert pd.read_csv(csv)["n_buildings"].tolist() == [2, 1]
    e = pd.read_csv(eqc).set_index("indicator")
    assert e.loc["heating_demand_kwh_m2", "gap"] == pytest.approx(-20.0)
    res = cli_runner("zones", src, "--zones", zpath, "--attribute", "nope", "--out", tmp_path / "x.gpkg")
    assert res.exit_code == 1 and "heating_demand_kwh_m2" in res.output
