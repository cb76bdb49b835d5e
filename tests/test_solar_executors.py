"""The solar solver's sensor blocks on a local pool and on a Dask cluster give the local result."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.model import CityModel
from energy.solar import irradiate
from energy.weather import clearsky_weather
from tests.solids import model_with_boxes


def _district() -> CityModel:
    rng = np.random.default_rng(5)
    return model_with_boxes(*[(i * 16.0, j * 16.0, 10.0, 10.0, float(rng.uniform(5, 25)))
                              for i in range(3) for j in range(3)])


@pytest.fixture(scope="module")
def case():
    model = _district()
    weather = clearsky_weather(45.0, 9.0, year=2025, altitude_m=100.0)
    kw = dict(sensor_spacing_m=2.0, building_hourly=True, block_rays=150_000, n_threads=1)
    return model, weather, kw, irradiate(model, weather, **kw)


def _same(ref, got):
    assert got.stats["n_blocks"] == ref.stats["n_blocks"] > 3
    assert got.stats["n_rays"] == ref.stats["n_rays"]
    np.testing.assert_array_equal(got.sensor_monthly_kwh_m2, ref.sensor_monthly_kwh_m2)
    np.testing.assert_array_equal(got.sensor_sky_view, ref.sensor_sky_view)
    np.testing.assert_array_equal(got.surface_monthly_kwh_m2, ref.surface_monthly_kwh_m2)
    np.testing.assert_array_equal(got.buildings.irradiance_w_m2, ref.buildings.irradiance_w_m2)


def test_local_process_pool_gives_the_local_result(case, tmp_path):
    model, weather, kw, ref = case
    got = irradiate(model, weather, scheduler="processes", workers=2,
                    hourly_path=tmp_path / "h.parquet", **kw)
    assert got.stats["executor"] == "local processes pool of 2"
    _same(ref, got)
    import pandas as pd

    hourly = pd.read_parquet(tmp_path / "h.parquet")
    assert len(hourly) == ref.stats["n_surfaces"] * len(ref.times)


def test_dask_local_cluster_gives_the_local_result(case):
    import distributed

    model, weather, kw, ref = case
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        got = irradiate(model, weather, scheduler=client, **kw)
        assert got.stats["executor"].startswith("Dask cluster")
        _same(ref, got)
        got = irradiate(model, weather, scheduler=cluster.scheduler_address, **kw)
        _same(ref, got)


def test_cli_solar_on_a_thread_pool_writes_the_local_result(tmp_path, cli_runner):
    """`citymodel solar ... --scheduler threads --workers 2` writes what a run here writes."""
    from citymodel.io import write
    from energy.demand.boxes import box_rows_model

    src = tmp_path / "rows.city.json"
    write(box_rows_model(2, 2), src)
    opts = ("--weather", "clearsky", "--sensor-spacing-m", "2", "--sun-resolution-deg", "3")
    a = cli_runner("-q", "solar", src, *opts, "--out", tmp_path / "here.city.json")
    b = cli_runner("-q", "solar", src, *opts, "--scheduler", "threads", "--workers", "2",
                   "--out", tmp_path / "pool.city.json")
    assert a.exit_code == 0 and b.exit_code == 0, (a.output, b.output)
    assert (tmp_path / "here.city.json").read_text() == (tmp_path / "pool.city.json").read_text()
