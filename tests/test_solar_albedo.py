"""Solar solver: per-sensor ground albedo from an albedo or land-cover raster."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import CRSError, InputError
from energy.solar import irradiate
from energy.solar.albedo import sensor_albedo
from energy.weather import clearsky_weather
from tests.solids import model_with_boxes

# box building 10 x 10 x 6 m at (0..10, 0..10) in EPSG:32632; raster -60..70 m, 1 m cells
_X0, _Y1, _N = -60.0, 70.0, 130


def _raster(path, values, *, epsg=32632, x0=_X0, y1=_Y1, nodata=None, dtype="float32"):
    import rasterio
    from rasterio.transform import from_origin

    values = np.asarray(values)
    with rasterio.open(
        path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
        dtype=dtype, crs=f"EPSG:{epsg}", transform=from_origin(x0, y1, 1.0, 1.0), nodata=nodata,
    ) as ds:
        ds.write(values.astype(dtype), 1)
    return str(path)


def _north_south(south: float, north: float) -> np.ndarray:
    """Cells with y < 5 m (south of the building's middle) take ``south``, the others ``north``."""
    yc = _Y1 - (np.arange(_N) + 0.5)  # cell-centre y per row
    return np.where(yc[:, None] < 5.0, south, north) * np.ones((1, _N))


@pytest.fixture(scope="module")
def setup():
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    w = clearsky_weather(45.0, 9.0)
    kw = dict(sensor_spacing_m=2.0, building_hourly=False)
    return m, w, kw, irradiate(m, w, albedo=0.6, **kw)


def _walls(res, azimuth):
    t = res.table
    return np.flatnonzero((res.kind == 1) & (np.abs(t.azimuth_deg - azimuth) < 1.0))


def test_uniform_raster_equals_scalar(setup, tmp_path):
    m, w, kw, ref = setup
    path = _raster(tmp_path / "a.tif", np.full((_N, _N), 0.6))
    res = irradiate(m, w, albedo=path, **kw)
    refl, refl0 = res.surface_components_kwh_m2[:, 2], ref.surface_components_kwh_m2[:, 2]
    ok = np.isfinite(refl0)
    assert ok.sum() >= 5 and np.all(refl0[_walls(ref, 180.0)] > 1.0)  # walls reflect something
    np.testing.assert_allclose(refl[ok], refl0[ok], rtol=1e-6)
    np.testing.assert_allclose(res.sensor_annual_kwh_m2, ref.sensor_annual_kwh_m2, rtol=1e-6)


def test_half_raster_wall_facing_bright_side_gets_more(setup, tmp_path):
    m, w, kw, ref = setup
    path = _raster(tmp_path / "h.tif", _north_south(0.5, 0.1))
    res = irradiate(m, w, albedo=path, **kw)
    refl = res.surface_components_kwh_m2[:, 2]
    refl06 = ref.surface_components_kwh_m2[:, 2]
    s, n = _walls(res, 180.0), _walls(res, 0.0)
    assert s.size and n.size
    # the south wall sees only the 0.5 ground, the north wall only the 0.1 ground
    np.testing.assert_allclose(refl[s], refl06[s] * 0.5 / 0.6, rtol=1e-6)
    np.testing.assert_allclose(refl[n], refl06[n] * 0.1 / 0.6, rtol=1e-6)
    assert refl[s].mean() > 4.9 * refl[n].mean()
    # the roof's disc straddles the boundary: between the two
    sens = res.sensors
    a = sensor_albedo(path, sens.points, sens.normals, np.zeros(len(sens)), 32632)
    roof = res.kind[sens.surface] == 0
    assert np.all(a[roof] > 0.1 + 1e-9) and np.all(a[roof] < 0.5 - 1e-9)
    assert np.allclose(a[sens.normals[:, 1] < -0.99], 0.5)
    assert np.allclose(a[sens.normals[:, 1] > 0.99], 0.1)
    # streamed in blocks of sensors: the same numbers
    a7 = sensor_albedo(path, sens.points, sens.normals, np.zeros(len(sens)), 32632, block_sensors=7)
    np.testing.assert_array_equal(a7, a)


def test_class_raster_with_table(tmp_path):
    classes = _north_south(1, 2).astype(np.int16)
    path = _raster(tmp_path / "c.tif", classes, dtype="int16", nodata=0)
    pts = np.array([[5.0, -0.1, 3.0], [5.0, 10.1, 3.0], [5.0, 5.0, 2.0]])
    nrm = np.array([[0, -1.0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    a = sensor_albedo(path, pts, nrm, np.zeros(3), 32632, class_table={1: 0.45, 2: 0.05})
    np.testing.assert_allclose(a[:2], [0.45, 0.05])
    # The roof sensor at (5, 5), 2 m up, samples a disc of radius max(5, 2 * 2) = 5 m centred
    # on (5, 5) at 3 equal-area rings x 8 azimuths (k + 0.5) * 45 deg: no sample lies on the
    # y = 5 class boundary, 12 fall north (class 2, 0.05) and 12 south (class 1, 0.45), so the
    # mean is exactly (0.45 + 0.05) / 2 = 0.25.
    assert a[2] == pytest.approx(0.25, abs=1e-6)
    # unknown classes and nodata take the default 0.2
    a = sensor_albedo(path, pts, nrm, np.zeros(3), 32632, class_table={7: 0.9})
    np.testing.assert_allclose(a, 0.2)


def test_nodata_takes_default(tmp_path):
    v = np.full((_N, _N), -9999.0)
    path = _raster(tmp_path / "n.tif", v, nodata=-9999.0)
    a = sensor_albedo(path, np.array([[5.0, -0.1, 3.0]]), np.array([[0, -1.0, 0]]), [0.0], 32632)
    np.testing.assert_allclose(a, 0.2)


def test_bad_rasters(tmp_path):
    pts = np.array([[5.0, -0.1, 3.0]])
    nrm = np.array([[0, -1.0, 0]])
    wrong = _raster(tmp_path / "crs.tif", np.full((_N, _N), 0.3), epsg=32633)
    with pytest.raises(CRSError, match=r"crs\.tif.*32633.*32632"):
        sensor_albedo(wrong, pts, nrm, [0.0], 32632)
    # the model's compound CRS: only the horizontal part must match
    ok = _raster(tmp_path / "ok.tif", np.full((_N, _N), 0.3), epsg=28992)
    np.testing.assert_allclose(
        sensor_albedo(ok, pts, nrm, [0.0], 7415), 0.3
    )
    far = _raster(tmp_path / "far.tif", np.full((10, 10), 0.3), x0=1000.0, y1=1000.0)
    with pytest.raises(InputError, match=r"far\.tif.*does not cover"):
        sensor_albedo(far, pts, nrm, [0.0], 32632)
    big = _raster(tmp_path / "big.tif", np.full((_N, _N), 1.5))
    with pytest.raises(InputError, match=r"big\.tif.*outside 0\.\.1"):
        sensor_albedo(big, pts, nrm, [0.0], 32632)
    m = model_with_boxes((0, 0, 10.0, 10.0, 6.0))
    with pytest.raises(InputError, match="cannot read the albedo raster"):
        irradiate(m, clearsky_weather(45.0, 9.0), albedo=str(tmp_path / "missing.tif"))


def test_cli_class_raster_and_table(tmp_path, cli_runner):
    import pandas as pd

    from citymodel.io import write

    src = tmp_path / "in.city.json"
    write(model_with_boxes((0, 0, 10.0, 10.0, 6.0)), src)
    lc = _raster(tmp_path / "lc.tif", np.full((_N, _N), 3), dtype="int16")
    table = tmp_path / "classes.csv"
    table.write_text("class,albedo\n3,0.6\n4,0.1\n")
    base = ["solar", src, "--weather", "clearsky", "--sensor-spacing-m", "2"]
    r = cli_runner(*base, "--albedo", "0.6", "--out", tmp_path / "a.city.json",
                   "--sensors", tmp_path / "a.parquet")
    assert r.exit_code == 0, r.output
    r = cli_runner(*base, "--albedo", lc, "--albedo-table", table, "--out", tmp_path / "b.city.json",
                   "--sensors", tmp_path / "b.parquet")
    assert r.exit_code == 0, r.output
    a = pd.read_parquet(tmp_path / "a.parquet")["irradiation_kwh_m2"].to_numpy()
    b = pd.read_parquet(tmp_path / "b.parquet")["irradiation_kwh_m2"].to_numpy()
    np.testing.assert_allclose(b, a, rtol=1e-6)
    r = cli_runner(*base, "--albedo", tmp_path / "nope.tif", "--out", tmp_path / "c.city.json")
    assert r.exit_code != 0 and "existing raster file" in r.output
