"""Accuracy on the synthetic district against the generator's exact truth (skipped without it)."""

from __future__ import annotations

import numpy as np
import pytest

synth = pytest.importorskip("citymodel.synth", reason="the synthetic district generator is not installed")

from citymodel.io.cityjson import read  # noqa: E402
from citymodel.validation import validate  # noqa: E402
from lidar.build import build_model  # noqa: E402
from lidar.evaluate import compare_to_truth  # noqa: E402

SIZE_M = 150.0


def _run(tmp_path_factory, name: str, use_ortho: bool = False, spill_block_m: float | None = None, **kw):
    import lidar.build as lb

    out = tmp_path_factory.mktemp(name)
    o = synth.generate(out, seed=7, size_m=SIZE_M, **kw)
    saved = lb.SINGLE_READ_POINTS, lb.BLOCK_M
    if spill_block_m is not None:  # the streaming spill into small blocks (lidar.spill)
        lb.SINGLE_READ_POINTS, lb.BLOCK_M = 0, spill_block_m
    stats: dict = {}
    try:
        model = build_model([o.laz], footprints=o.footprints, footprint_id_field="id", progress=False,
                            ortho=o.ortho if use_ortho else None, stats=stats)
    finally:
        lb.SINGLE_READ_POINTS, lb.BLOCK_M = saved
    assert stats["spilled"] == (spill_block_m is not None)
    truth = read(o.truth)
    return model, compare_to_truth(model, truth, o.truth_roofplanes_csv), truth


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return _run(tmp_path_factory, "synth12", density_pts_m2=12.0)


@pytest.fixture(scope="module")
def district_half(tmp_path_factory):
    return _run(tmp_path_factory, "synth6", density_pts_m2=6.0)


@pytest.fixture(scope="module")
def district_unclassified(tmp_path_factory):
    return _run(tmp_path_factory, "synth_unc", use_ortho=True, density_pts_m2=12.0, unclassified=True)


@pytest.fixture(scope="module")
def district_unclassified_spilled(tmp_path_factory):
    return _run(tmp_path_factory, "synth_unc_spill", use_ortho=True, spill_block_m=50.0, density_pts_m2=12.0,
                unclassified=True)


def _check(model, cmp, truth, h70_m=0.10, rmse_m=0.20, recovered=0.90):
    b, p = cmp["buildings"], cmp["planes"]
    assert len(b) == len(truth.building_ids()) >= 5
    assert set(b.id) <= set(model.city_objects)
    # median |h_roof_70p_m error| against the truth attribute
    assert np.nanmedian(b.h70_abs_err_m) <= h70_m
    # LoD2.2 roof height vs the true planes, sampled every 0.5 m inside them (median building)
    assert np.nanmedian(b.roof_rmse_m) <= rmse_m
    big = p[p.area_m2 >= cmp["min_plane_m2"]]
    assert len(big) >= 10
    assert big.recovered.mean() >= recovered
    # 100 % valid solids, one LoD2.2 solid per building (or per BuildingPart)
    report = validate(model)
    assert report.valid, report.summary()
    assert (b.status == "ok").mean() >= 0.9


def test_synthetic_accuracy(district):
    model, cmp, truth = district
    _check(model, cmp, truth)
    attrs = model.city_objects[cmp["buildings"].id[0]]["attributes"]
    for name in ("h_ground_m", "h_roof_min_m", "h_roof_50p_m", "h_roof_70p_m", "h_roof_max_m", "roof_type",
                 "rmse_lod12_m", "rmse_lod13_m", "rmse_lod22_m", "point_density_pts_m2", "status",
                 "status_reason", "construction_year", "use"):
        assert name in attrs
    # terrain TIN is there too
    assert model.ids_of_type("TINRelief")


def test_synthetic_half_density(district_half):
    _check(*district_half)


def test_synthetic_unclassified(district_unclassified):
    """Class 1 everywhere: ground filtering and building classification (with the ortho's NDVI)."""
    _check(*district_unclassified)


def test_synthetic_unclassified_spilled(district_unclassified_spilled):
    """The same, spilled into 50 m blocks: each block classified with 30 m of points around it."""
    _check(*district_unclassified_spilled)


def test_without_footprints(tmp_path):
    """Footprints extracted from the points (lidar.footprint_extraction) feed the same reconstruction."""
    o = synth.generate(tmp_path, seed=11, size_m=100.0, density_pts_m2=10.0)
    model = build_model([o.laz], progress=False, terrain=False)
    ids = model.building_ids()
    truth = read(o.truth)
    # adjoining buildings of one block may come out as one footprint: between half and all of them
    assert 0.5 * len(truth.building_ids()) <= len(ids) <= len(truth.building_ids()) + 2
    assert sum(model.city_objects[i]["attributes"]["status"] == "ok" for i in ids) >= 0.9 * len(ids)
    assert validate(model).valid
