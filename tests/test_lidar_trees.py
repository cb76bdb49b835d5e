"""Individual trees from LiDAR (lidar.trees) against the synthetic district's exact tree truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

synth = pytest.importorskip("citymodel.synth", reason="the synthetic district generator is not installed")

from citymodel.errors import InputError  # noqa: E402
from citymodel.model import CityModel  # noqa: E402
from citymodel.validation import validate  # noqa: E402
from citymodel.vegetation import tree_table  # noqa: E402
from lidar.pointcloud import PointCloud, read_points  # noqa: E402
from lidar.trees import TREE_COLUMNS, add_trees, detect_trees  # noqa: E402

SIZE_M = 150.0


def _district(tmp_path_factory, name, **kw):
    o = synth.generate(tmp_path_factory.mktemp(name), seed=7, size_m=SIZE_M, **kw)
    pc = read_points([o.laz])
    return detect_trees(pc), pd.read_csv(o.truth_trees_csv), pc


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    return _district(tmp_path_factory, "trees_cls")


@pytest.fixture(scope="module")
def unclassified(tmp_path_factory):
    return _district(tmp_path_factory, "trees_unc", unclassified=True)


def _scores(det: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Match truth trees with crowns >= 4 m to the nearest detected top within max(2 m, 0.4 d)."""
    big = truth[truth.crown_diameter_m >= 4.0].reset_index(drop=True)
    dist, j = cKDTree(det[["x_m", "y_m"]].to_numpy()).query(big[["x_m", "y_m"]].to_numpy())
    found = dist <= np.maximum(2.0, 0.4 * big.crown_diameter_m.to_numpy())
    m, b = det.iloc[j[found]], big[found]
    # a detection is false when no truth tree (of any size) has its trunk within the match radius
    dd, jj = cKDTree(truth[["x_m", "y_m"]].to_numpy()).query(det[["x_m", "y_m"]].to_numpy())
    false = dd > np.maximum(2.0, 0.4 * truth.crown_diameter_m.to_numpy()[jj])
    return {
        "n_big": len(big),
        "rate": found.mean(),
        "height_err_m": np.median(np.abs(m.height_m.to_numpy() - b.height_m.to_numpy())),
        "crown_rel_err": np.median(np.abs(m.crown_diameter_m.to_numpy() / b.crown_diameter_m.to_numpy() - 1)),
        "ground_err_m": np.median(np.abs(m.h_ground_m.to_numpy() - b.h_ground_m.to_numpy())),
        "false_share": false.mean(),
    }


@pytest.mark.parametrize("name", ["classified", "unclassified"])
def test_detection_accuracy(name, request):
    det, truth, _ = request.getfixturevalue(name)
    assert list(det.columns) == TREE_COLUMNS
    s = _scores(det, truth)
    assert s["n_big"] >= 30
    assert s["rate"] >= 0.80, s
    assert s["height_err_m"] <= 0.5, s
    assert s["crown_rel_err"] <= 0.30, s
    assert s["ground_err_m"] <= 0.2, s
    assert s["false_share"] <= 0.20, s
    # crowns start above the ground and below the top
    assert (det.crown_base_m >= 0).all() and (det.crown_base_m < det.height_m).all()
    assert det.tree_id.is_unique


def test_shrubs_below_min_height_ignored(classified):
    det, truth, _ = classified
    tall = truth[truth.height_m >= 2.5]
    assert len(det) <= 1.2 * len(tall)
    assert (det.height_m >= 2.5).all()


def test_add_trees_validates_and_reads_back(classified):
    det, _, pc = classified
    model = CityModel(epsg=pc.epsg)
    assert add_trees(model, det) == len(det)
    assert model.counts_by_type() == {"SolitaryVegetationObject": len(det)}
    report = validate(model)
    assert not [e for e in report.entries if e.severity == "error"], report.entries[:5]
    tab = tree_table(model).set_index("tree_id").loc[det.tree_id]
    np.testing.assert_allclose(tab.height_m, det.height_m, atol=1e-3)
    np.testing.assert_allclose(tab.crown_diameter_m, det.crown_diameter_m, atol=1e-3)
    np.testing.assert_allclose(tab.z_m, det.h_ground_m, atol=1e-3)
    np.testing.assert_allclose(tab[["x_m", "y_m"]].to_numpy(), det[["x_m", "y_m"]].to_numpy(), atol=1e-6)
    with pytest.raises(InputError, match="already exist"):
        add_trees(model, det)


def test_bad_input():
    pc = PointCloud.from_xyz(np.zeros((0, 3)))
    assert len(detect_trees(pc)) == 0
    with pytest.raises(InputError, match="resolution_m"):
        detect_trees(pc, resolution_m=0.0)
    with pytest.raises(InputError, match="lacks columns"):
        add_trees(CityModel(epsg=32632), pd.DataFrame({"x_m": [1.0]}))


def test_build_cli_adds_trees(tmp_path, cli_runner):
    """`citymodel build --trees` writes buildings and the detected trees, and the model validates."""
    from citymodel.io import read

    o = synth.generate(tmp_path / "d", seed=7, size_m=SIZE_M)
    out = tmp_path / "city.city.json"
    r = cli_runner("-q", "build", "--points", o.laz, "--footprints", o.footprints,
                   "--footprint-id-field", "id", "--lod", "1.2", "--trees", "--out", out)
    assert r.exit_code == 0, r.output
    m = read(out)
    types = m.counts_by_type()
    truth = pd.read_csv(o.truth_trees_csv)
    assert types["Building"] == len(pd.read_csv(o.truth_buildings_csv))
    # most trees taller than 2.5 m are found (the detector's own accuracy is tested above)
    assert 0.8 * (truth.height_m >= 2.5).sum() <= types["SolitaryVegetationObject"] <= 1.2 * len(truth)
    assert validate(m).valid
