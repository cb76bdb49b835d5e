"""The heat grid in tiles with a halo: every cell in one tile, the tiled maps against an untiled
run within stated tolerances, and tiles on a Dask cluster equal to tiles run here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine

from microclimate.grid import HeatRasters, run_grid
from microclimate.skyview import estimate_memory_bytes
from microclimate.tiling import HALO_CAP_M, halo_m_for, plan_tiles
from tests.heat_forcing import summer_day

TR = Affine(1.0, 0.0, 1000.0, 0.0, -1.0, 5000.0)
SITE = dict(lat_deg=45.0, lon_deg=10.0, tz_offset_h=1.0)
MAPS = ("tmrt_max_c", "utci_max_c", "t_surface_max_c", "strong_heat_hours")
#: Tiled against untiled, default halo (tallest object's shadow at a 10 deg sun), 64 rays per
#: cell: the cells whose sky rays reach buildings beyond the halo differ (one ray = 1/64 of
#: the hemisphere). Tmrt max [K]: mean, 99th percentile, maximum of |tiled - untiled|.
#: Measured on 2026-12-05 (72 x 72 cells, 4 tiles of 36 + 26 halo cells): Tmrt 0.0025 / 0.067 /
#: 0.48 K, UTCI 0.0006 / 0.016 / 0.11 K, ground surface 0.0005 / 0.013 / 0.15 K.
TMRT_TOL_K = (0.05, 0.5, 2.0)
UTCI_TOL_K = (0.02, 0.15, 0.6)
T_SURFACE_TOL_K = (0.01, 0.15, 1.0)


def _forcing(n=24):
    return summer_day(n, t_mean_c=22.0, t_amplitude_k=7.0)


def _rasters(n: int, seed: int = 1, h_max: float = 6.0) -> HeatRasters:
    rng = np.random.default_rng(seed)
    dem = np.zeros((n, n))
    dsm = dem.copy()
    for _ in range(n * n // 640):
        r, c = rng.integers(0, n - 8, 2)
        h, w = rng.integers(4, 9, 2)
        dsm[r:r + h, c:c + w] = rng.uniform(3.0, h_max)
    cdsm = np.zeros((n, n))
    for _ in range(n * n // 850):
        r, c = rng.integers(2, n - 3, 2)
        cdsm[r - 2:r + 2, c - 2:c + 2] = np.where(dsm[r - 2:r + 2, c - 2:c + 2] > 0, 0.0, 5.0)
    lc = np.where(rng.random((n, n)) < 0.3, 5, 1)
    return HeatRasters(dsm, dem, cdsm, lc, TR, None)


def test_plan_covers_every_cell_once_and_bounds_tile_memory():
    plan = plan_tiles((2000, 2000), 1.0, halo_m=60.0, memory_bytes=2 << 30)
    count = np.zeros((2000, 2000), np.int8)
    for w in plan.windows:
        count[w.r0:w.r1, w.c0:w.c1] += 1
        assert w.hr0 == max(0, w.r0 - 60) and w.hc1 == min(2000, w.c1 + 60)
        assert estimate_memory_bytes(w.shape[0] * w.shape[1], 24, 512) <= 2 << 30
    assert np.all(count == 1) and plan.n_tiles > 1 and plan.halo_cells == 60
    assert plan_tiles((300, 200), 1.0, halo_m=60.0).n_tiles == 1  # fits: one tile, no halo


def test_default_halo_is_the_shadow_at_ten_degrees_capped():
    dem = np.zeros((5, 5))
    dsm = dem.copy()
    dsm[2, 2] = 12.0
    halo, why = halo_m_for(dsm, dem)
    assert halo == pytest.approx(12.0 / math.tan(math.radians(10.0)))
    dsm[2, 2] = 60.0
    halo, why = halo_m_for(dsm, dem)
    assert halo == HALO_CAP_M and "capped" in why


def _diff(a, b, key):
    x, y = getattr(a, key), getattr(b, key)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    d = np.abs(x - y)[np.isfinite(x)]
    return float(d.mean()), float(np.percentile(d, 99)), float(d.max())


def test_tiled_grid_matches_untiled_within_tolerance():
    r = _rasters(72, h_max=4.5)
    f = _forcing()
    pts = np.array([[36, 37], [3, 68], [60, 20]])
    pts = pts[~(r.dsm_m[pts[:, 0], pts[:, 1]] > 2)]
    one = run_grid(r, f, SITE, tile_cells=0, n_rays=64, points_rc=pts)
    tiled = run_grid(r, f, SITE, tile_cells=36, n_rays=64, points_rc=pts)
    halo_m, _ = halo_m_for(r.dsm_m, r.dem_m, r.cdsm_m)
    assert tiled.attrs["n_tiles"] == 4 and tiled.attrs["tile_halo_cells"] == math.ceil(halo_m) > 20
    for key, tol in (("tmrt_max_c", TMRT_TOL_K), ("utci_max_c", UTCI_TOL_K),
                     ("t_surface_max_c", T_SURFACE_TOL_K)):
        got = _diff(one, tiled, key)
        print(key, "mean / p99 / max |tiled - untiled|:", got)
        assert all(g <= t for g, t in zip(got, tol, strict=True)), (key, got, tol)
    ok = np.isfinite(one.strong_heat_hours)
    assert np.mean(one.strong_heat_hours[ok] == tiled.strong_heat_hours[ok]) > 0.98
    np.testing.assert_allclose(tiled.points["tmrt_c"], one.points["tmrt_c"], atol=TMRT_TOL_K[2])


def test_tiles_on_a_dask_cluster_equal_tiles_here():
    """A halo wider than the grid: every tile sees everything, so four tiles here, four tiles on
    a Dask cluster and one untiled run give the same numbers."""
    import distributed

    r = _rasters(48, seed=2)
    f = _forcing()
    kw = dict(tile_cells=24, halo_m=100.0, n_rays=32, points_rc=np.argwhere(r.dsm_m < 2)[::300])
    here = run_grid(r, f, SITE, **kw)
    one = run_grid(r, f, SITE, **{**kw, "tile_cells": 0})
    for key in MAPS:
        np.testing.assert_array_equal(getattr(here, key), getattr(one, key))
    np.testing.assert_array_equal(here.points["utci_c"], one.points["utci_c"])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        there = run_grid(r, f, SITE, scheduler=client, **kw)
    assert there.attrs["n_tiles"] == 4 and there.attrs["executor"].startswith("Dask")
    for key in MAPS:
        np.testing.assert_array_equal(getattr(there, key), getattr(here, key))
    for key, v in here.points.items():
        np.testing.assert_array_equal(there.points[key], v)


def test_cli_heat_in_tiles_on_a_thread_pool(tmp_path, monkeypatch):
    """`citymodel heat --dsm ... --tile-cells --halo-m --scheduler threads --workers 2`: the maps
    of a local thread pool equal those of the tiles run here; summary.json records the tiling."""
    import json

    import rasterio
    from click.testing import CliRunner

    from citymodel.cli import main
    from microclimate.cli import heat_cmd

    def tif(path, a):
        with rasterio.open(path, "w", driver="GTiff", height=a.shape[0], width=a.shape[1], count=1,
                           dtype="float32", transform=TR, crs="EPSG:3007") as dst:
            dst.write(a.astype(np.float32), 1)
        return str(path)

    r = _rasters(24, seed=3)
    f = _forcing()
    met = ["%iy id it imin qn qh qe qs qf U RH Tair pres rain kdown snow ldown fcld wuh xsmd lai kdiff kdir wdir"]
    for t, row in f.iterrows():
        met.append(" ".join(f"{v:g}" for v in [t.year, t.dayofyear, t.hour, 0, *[-999] * 5, 2, 50, row.t_air_c,
                                                101, 0, row.ghi_w_m2, 0, -999, 0.1, 0, 0, 3, row.dhi_w_m2,
                                                row.dni_w_m2, 270]))
    (tmp_path / "met.txt").write_text("\n".join(met) + "\n")
    base = ["-q", "heat", "--dsm", tif(tmp_path / "dsm.tif", r.dsm_m), "--dem", tif(tmp_path / "dem.tif", r.dem_m),
            "--met", str(tmp_path / "met.txt"), "--utc-offset", "1", "--tile-cells", "12", "--halo-m", "6"]
    monkeypatch.setattr(main, "commands", dict(main.commands))  # restored afterwards, plugins included
    main.add_command(heat_cmd, "heat")
    runner = CliRunner()
    here = runner.invoke(main, [*base, "--out", str(tmp_path / "here")])
    pool = runner.invoke(main, [*base, "--scheduler", "threads", "--workers", "2", "--out", str(tmp_path / "pool")])
    assert here.exit_code == 0 and pool.exit_code == 0, (here.output, pool.output)
    summary = json.loads((tmp_path / "pool" / "summary.json").read_text())
    assert summary["grid"]["tiles"]["n_tiles"] == 4 and summary["grid"]["tiles"]["tile_halo_cells"] == 6
    assert summary["engine"]["executor"] == "local threads pool of 2"
    for name in ("tmrt_max_c.tif", "utci_max_c.tif", "t_surface_max_c.tif"):
        with rasterio.open(tmp_path / "here" / name) as a, rasterio.open(tmp_path / "pool" / name) as b:
            np.testing.assert_array_equal(a.read(1), b.read(1))


def test_a_tile_of_roofs_only_is_skipped():
    dsm = np.zeros((30, 30))
    dsm[:15, :15] = 10.0
    r = HeatRasters(dsm, np.zeros((30, 30)), None, None, TR, None)
    res = run_grid(r, _forcing(), SITE, tile_cells=15, halo_m=3.0, n_rays=16)
    assert res.attrs["n_tiles"] == 4 and res.attrs["n_tiles_all_buildings"] == 1
    assert np.isnan(res.tmrt_max_c[:15, :15]).all() and np.isfinite(res.tmrt_max_c[dsm == 0]).all()
