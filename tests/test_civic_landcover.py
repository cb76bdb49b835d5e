"""Land cover, slope and rain exposure per zone (citymodel.civic.landcover_stats) on hand-made
rasters whose shares and runoff coefficients are computed by hand, and `citymodel zones --landcover`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from citymodel.civic import Zones, landcover_zonal_stats
from citymodel.errors import CRSError, InputError
from citymodel.landcover import write_landcover

X0, Y0 = 600000.0, 5000000.0  # EPSG:32632
RES = 0.5


def _grid(width_m, height_m, res=RES):
    ny, nx = int(height_m / res), int(width_m / res)
    cx = X0 + (np.arange(nx) + 0.5) * res
    cy = Y0 + height_m - (np.arange(ny) + 0.5) * res
    return np.meshgrid(cx, cy), Affine(res, 0, X0, 0, -res, Y0 + height_m)


@pytest.fixture
def rasters(tmp_path):
    """A 40 m x 40 m land cover and a 1 m slope raster; zones A, B, C over them.

    Zone A (0..20, 0..20): x < 10 impervious (1/2), x >= 10: y >= 10 grass (1/4),
    5 <= y < 10 tree canopy (1/8), y < 5 building (1/8). Zone B (20..40, 0..20): water.
    Zone C (30..50, 20..40): bare soil, its east half off the raster.
    """
    (x, y), tf = _grid(40, 40)
    dx, dy = x - X0, y - Y0
    lc = np.full(x.shape, 6, np.uint8)  # bare soil
    a = (dx < 20) & (dy < 20)
    lc[a & (dx < 10)] = 1
    lc[a & (dx >= 10) & (dy >= 10)] = 5
    lc[a & (dx >= 10) & (dy >= 5) & (dy < 10)] = 3
    lc[a & (dx >= 10) & (dy < 5)] = 2
    lc[(dx >= 20) & (dy < 20)] = 7
    lc[(dx < 30) & (dy >= 20)] = 0  # no data
    path = tmp_path / "lc.tif"
    write_landcover(path, lc, tf, 32632)
    # slope: 5 deg west of x = 10, 15 deg east of it, 30 deg in zone B
    (sx, sy), stf = _grid(40, 40, 1.0)
    s = np.where(sx - X0 < 10, 5.0, 15.0)
    s[(sx - X0 >= 20) & (sy - Y0 < 20)] = 30.0
    import rasterio

    slope = tmp_path / "slope.tif"
    with rasterio.open(slope, "w", driver="GTiff", width=s.shape[1], height=s.shape[0], count=1, dtype="float32",
                       crs="EPSG:32632", transform=stf, nodata=np.nan) as ds:
        ds.write(s.astype(np.float32), 1)
    zones = Zones(np.array([shapely.box(X0, Y0, X0 + 20, Y0 + 20), shapely.box(X0 + 20, Y0, X0 + 40, Y0 + 20),
                            shapely.box(X0 + 30, Y0 + 20, X0 + 50, Y0 + 40)], dtype=object),
                  pd.DataFrame({"zone_id": ["A", "B", "C"], "population": [100, 0, 50]}), 32632, source="zones.gpkg")
    return zones, path, slope


def test_shares_and_runoff_by_hand(rasters):
    zones, lc, slope = rasters
    f = landcover_zonal_stats(zones, lc, slope=slope, population_field="population")
    A, B, C = (f.iloc[i] for i in range(3))
    assert A.share_impervious == 0.5 and A.share_grass_low_vegetation == 0.25
    assert A.share_tree_canopy == 0.125 and A.share_building == 0.125
    assert A.sealed_share == 0.625 and A.green_share == 0.375 and A.canopy_cover_share == 0.125
    # rational-method C (ASCE/WEF 1992 table in citymodel.landcover): paving 0.85, roofs 0.90,
    # lawn and canopy over pervious ground 0.15, open water 1.0, bare soil 0.30
    assert A.runoff_coefficient == pytest.approx(0.5 * 0.85 + 0.125 * 0.90 + 0.25 * 0.15 + 0.125 * 0.15, abs=1e-12)
    assert B.runoff_coefficient == pytest.approx(1.0) and B.sealed_share == 0 and B.green_share == 0
    assert C.runoff_coefficient == pytest.approx(0.30) and C.share_bare_soil == 1.0
    np.testing.assert_allclose(f.landcover_area_m2, [400, 400, 200])  # C: 10 m x 20 m on the raster
    np.testing.assert_allclose(f.landcover_coverage, [1, 1, 0.5])
    np.testing.assert_allclose(f.green_area_m2, [150, 0, 0])
    np.testing.assert_allclose(f.canopy_area_m2, [50, 0, 0])
    # slope: A half 5 deg, half 15 deg; B 30; C 15 (its part on the slope raster)
    np.testing.assert_allclose(f.mean_slope_deg, [10.0, 30.0, 15.0], atol=1e-6)
    # green per resident: 150 m2 / 100; no residents: NaN; 0 m2 / 50
    np.testing.assert_allclose(f.green_m2_per_resident, [1.5, np.nan, 0.0])
    assert "rational-method" in f.runoff_method[0]
    assert "area-weighted" in f.attrs["aggregation"]["runoff_coefficient"]
    # shares of all classes add to one
    np.testing.assert_allclose(f[[c for c in f.columns if c.startswith("share_")]].sum(axis=1), 1.0)


def test_bad_input(rasters, tmp_path):
    zones, lc, _ = rasters
    with pytest.raises(InputError, match=r"'residents'.*fields are: zone_id, population"):
        landcover_zonal_stats(zones, lc, population_field="residents")
    far = Zones(np.array([shapely.box(0, 0, 10, 10)], dtype=object), pd.DataFrame({"zone_id": [1]}), 32632)
    with pytest.raises(InputError, match="no zone of .* covers a classified cell"):
        landcover_zonal_stats(far, lc)
    import rasterio

    bare = tmp_path / "bare.tif"
    with rasterio.open(lc) as src:
        prof = src.profile
        data = src.read(1)
        tags = src.tags(1)
    prof.pop("crs", None)
    with rasterio.open(bare, "w", **prof) as ds:
        ds.write(data, 1)
        ds.update_tags(1, **tags)
    with pytest.raises(CRSError, match="has no CRS"):
        landcover_zonal_stats(zones, bare)


def test_cli_zones_landcover(tmp_path, cli_runner):
    """`citymodel zones --landcover --slope --population-field` on the synthetic district's zones."""
    import pyogrio

    from citymodel.civic import read_zones
    from citymodel.synth import generate

    o = generate(tmp_path / "d", seed=7, size_m=100.0)
    zones = read_zones(o.zones)
    b = zones.bounds()
    res = 1.0
    nx, ny = int(np.ceil((b[2] - b[0]) / res)) + 2, int(np.ceil((b[3] - b[1]) / res)) + 2
    tf = Affine(res, 0, np.floor(b[0]) - res, 0, -res, np.ceil(b[3]) + res)
    cols = np.arange(nx)
    lc = np.where((cols % 4 == 0)[None, :], 5, 1).repeat(ny, axis=0).astype(np.uint8)  # 1/4 grass, 3/4 paved
    write_landcover(tmp_path / "lc.tif", lc, tf, zones.epsg)
    out = tmp_path / "z.gpkg"
    r = cli_runner("-q", "zones", o.truth, "--zones", o.zones, "--landcover", tmp_path / "lc.tif",
                   "--population-field", "population", "--out", out, "--csv", tmp_path / "z.csv")
    assert r.exit_code == 0, r.output
    t = pd.read_csv(tmp_path / "z.csv")
    np.testing.assert_allclose(t.green_share, 0.25, atol=0.03)  # stripes 1 m wide: edge cells
    np.testing.assert_allclose(t.runoff_coefficient, 0.25 * 0.15 + 0.75 * 0.85, atol=0.03)
    pop = t.population.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_allclose(t.green_m2_per_resident, np.where(pop > 0, t.green_area_m2 / pop, np.nan))
    assert "runoff_coefficient" in pyogrio.read_info(out)["fields"]
    r = cli_runner("zones", o.truth, "--zones", o.zones, "--landcover", tmp_path / "lc.tif",
                   "--population-field", "inhabitants", "--out", tmp_path / "z2.gpkg")
    assert r.exit_code == 1 and "'inhabitants'" in r.output and "population" in r.output
    assert not (tmp_path / "z2.gpkg").exists()
