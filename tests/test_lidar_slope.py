"""Terrain slope (lidar.slope, Horn's method) against exact slopes: a plane, a cone, the synthetic terrain."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from citymodel.errors import InputError
from lidar.dtm import write_dtm_geotiff
from lidar.slope import slope_deg, slope_from_dtm


def _grid(n=41, cell=0.5):
    c = (np.arange(n) - n // 2) * cell
    x, y = np.meshgrid(c, -c)  # rows north to south: y decreases down the rows
    return x, y


def test_inclined_plane_exact_everywhere():
    x, y = _grid()
    z = 0.3 * x - 0.4 * y + 12.0  # |grad| = 0.5 everywhere
    s = slope_deg(z, 0.5)
    np.testing.assert_allclose(s, np.degrees(np.arctan(0.5)), atol=1e-9)  # borders included
    # anisotropic cells: a 1 m x 2 m grid of the same plane
    xx, yy = np.meshgrid(np.arange(20) * 1.0, -np.arange(15) * 2.0)
    np.testing.assert_allclose(slope_deg(0.3 * xx - 0.4 * yy, 1.0, 2.0), np.degrees(np.arctan(0.5)), atol=1e-9)
    np.testing.assert_allclose(slope_deg(np.zeros((5, 5)), 1.0), 0.0)


def test_cone():
    """z = 20 - 0.7 r: slope atan(0.7) = 34.99 deg off the apex (the 3x3 stencil sees the contours' curvature)."""
    x, y = _grid(81, 0.5)
    r = np.hypot(x, y)
    s = slope_deg(20.0 - 0.7 * r, 0.5)
    far = r >= 3.0
    np.testing.assert_allclose(s[far], np.degrees(np.arctan(0.7)), atol=0.3)
    assert np.median(np.abs(s[far] - np.degrees(np.arctan(0.7)))) < 0.05
    assert s[r == 0][0] < 1e-9  # the apex: symmetric neighbours, no gradient


def test_nodata_and_bad_input():
    z = np.zeros((6, 6))
    z[2, 2] = np.nan
    s = slope_deg(z, 1.0)
    assert np.isnan(s[1:4, 1:4]).all() and np.isfinite(s[5, 5])
    with pytest.raises(InputError, match="2 x 2"):
        slope_deg(np.zeros(5), 1.0)
    with pytest.raises(InputError, match="cell sizes"):
        slope_deg(np.zeros((3, 3)), 0.0)


def test_geotiff_round_trip(tmp_path):
    import rasterio

    x, y = _grid()
    dtm = tmp_path / "dtm.tif"
    tf = Affine(0.5, 0, 600000.0, 0, -0.5, 5000000.0)
    write_dtm_geotiff(0.3 * x - 0.4 * y, tf, 32632, dtm)
    out = tmp_path / "slope.tif"
    slope_from_dtm(dtm, out)
    with rasterio.open(out) as ds:
        assert ds.crs.to_epsg() == 32632 and ds.transform == tf
        assert ds.tags(1)["units"] == "deg"
        np.testing.assert_allclose(ds.read(1), np.degrees(np.arctan(0.5)), atol=1e-4)
    # averaged to 2 m cells (4 x 4 blocks; 41 cells: a ragged last block): same plane, same slope
    s2 = slope_from_dtm(dtm, tmp_path / "slope2.tif", resolution_m=2.0)
    assert s2.shape == (11, 11)
    np.testing.assert_allclose(s2[:-2, :-2], np.degrees(np.arctan(0.5)), atol=1e-6)  # ragged block off
    (tmp_path / "slope2.tif").unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dtm.tif", "slope.tif"]  # no temporary file left
    # no CRS: refused, nothing written
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32", transform=tf) as ds:
        ds.write(np.zeros((4, 4), np.float32), 1)
    with pytest.raises(InputError, match="has no CRS"):
        slope_from_dtm(bare, tmp_path / "s2.tif")
    assert not (tmp_path / "s2.tif").exists()
    with pytest.raises(InputError, match="not a readable DTM raster"):
        (tmp_path / "x.tif").write_text("not a raster")
        slope_from_dtm(tmp_path / "x.tif", tmp_path / "s3.tif")


def test_build_slope_out_matches_the_synthetic_terrain(tmp_path, cli_runner):
    """`citymodel build --slope-out`: the slope of the built DTM against the analytic terrain's."""
    import rasterio

    from citymodel.synth import generate, make_district

    o = generate(tmp_path / "d", seed=7, size_m=100.0)
    slope = tmp_path / "slope.tif"
    r = cli_runner("-q", "build", "--points", o.laz, "--footprints", o.footprints, "--footprint-id-field", "id",
                   "--lod", "1.2", "--no-trees", "--no-terrain", "--slope-out", slope, "--out", tmp_path / "c.city.json")
    assert r.exit_code == 0, r.output
    ter = make_district(7, 100.0).terrain
    with rasterio.open(slope) as ds:
        s = ds.read(1).astype(np.float64)
        rows, cols = np.mgrid[0:ds.height, 0:ds.width]
        xs, ys = rasterio.transform.xy(ds.transform, rows.ravel(), cols.ravel())
    xs, ys = np.asarray(xs), np.asarray(ys)
    h = 0.01  # analytic terrain: central differences at 1 cm are exact to ~1e-6
    gx = (ter.height(xs + h, ys) - ter.height(xs - h, ys)) / (2 * h)
    gy = (ter.height(xs, ys + h) - ter.height(xs, ys - h)) / (2 * h)
    truth = np.degrees(np.arctan(np.hypot(gx, gy))).reshape(s.shape)
    ok = np.isfinite(s)
    assert ok.mean() > 0.95
    err = np.abs(s[ok] - truth[ok])
    print(f"slope vs analytic terrain: median {np.median(err):.3f} deg, p90 {np.percentile(err, 90):.3f} deg")
    assert ds.res == (2.0, 2.0)
    assert np.median(err) < 0.3, np.median(err)  # degrees; the DTM is interpolated under buildings
