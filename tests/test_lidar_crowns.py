"""Tree tops by prominence and crown base (lidar.vegetation.crowns) on analytic crowns and the
synthetic district (two seeds), one-to-one matched against the exact tree truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from citymodel.synth import generate
from lidar.pointcloud import PointCloud, read_points
from lidar.vegetation.crowns import crown_base_from_envelope
from lidar.vegetation.trees import detect_trees


def _ellipsoid_cloud(trees, size_m=24.0, density=12.0, seed=0):
    """Pulses from above on ellipsoid crowns over flat ground at z = 0 (classes 2 and 5).

    ``trees``: rows (x, y, top_m, base_m, radius_m). Each pulse hitting a crown gives its top
    surface point and two returns spread down the chord; every pulse also reaches the ground.
    """
    rng = np.random.default_rng(seed)
    n = int(size_m * size_m * density / 3)
    xy = rng.uniform(-size_m / 2, size_m / 2, (n, 2))
    pts, cls = [np.column_stack([xy, rng.normal(0, 0.03, n)])], [np.full(n, 2)]
    for x, y, top, base, r in trees:
        c, zc = 0.5 * (top - base), 0.5 * (top + base)
        q = 1 - ((xy[:, 0] - x) ** 2 + (xy[:, 1] - y) ** 2) / r**2
        inside = q > 0
        half = c * np.sqrt(q[inside])
        for f in (0.0, *rng.uniform(0.0, 1.0, 2)):  # surface, then two returns down the chord
            z = zc + half - f * 2 * half
            pts.append(np.column_stack([xy[inside], z]))
            cls.append(np.full(inside.sum(), 5))
    xyz = np.vstack(pts)
    return PointCloud.from_xyz(xyz, classification=np.concatenate(cls).astype(np.uint8))


def test_touching_crowns_split_in_two():
    """An 11.7 m tree whose top is 1.6 m from the edge of a 14.3 m crown: two trees, not one.

    (The pair T0002/T0040 of synthetic seed 7.) The tall crown's flank within the small tree's
    height-dependent window (2.4 m) is higher than the small tree's top, so a windowed maximum
    alone merges them; in the smoothed CHM the saddle lies 0.4 m below the small top.
    """
    trees = [(-3.0, 0.0, 14.3, 3.0, 4.3), (2.9, 0.0, 11.7, 3.3, 2.0)]
    det = detect_trees(_ellipsoid_cloud(trees))
    assert len(det) == 2, det
    det = det.sort_values("x_m")
    np.testing.assert_allclose(det.x_m, [-3.0, 2.9], atol=0.5)
    # the small crown's segment takes a strip of the tall crown's flank (scipy's watershed_ift
    # boundary), so its highest point is up to 0.4 m above its top
    np.testing.assert_allclose(det.height_m, [14.3, 11.7], atol=0.45)
    # with the prominence test switched off (impossible threshold) the small tree is lost
    assert len(detect_trees(_ellipsoid_cloud(trees), min_prominence_m=1e9)) == 1


def test_crown_base_envelope_analytic():
    """Points on an ellipsoid's underside (and a trunk) give back its base; a flat base too;
    sparse points spread evenly over a crown's depth: the bottom, not the lowest point."""
    rng = np.random.default_rng(1)
    rho = rng.uniform(0, 1, 4000)
    base, c = 3.0, 4.0
    z_ell = base + c - c * np.sqrt(1 - rho**2)  # lower half of an ellipsoid, bottom at 3 m
    z_flat = np.full(rho.size, 2.0)             # a cone's flat base at 2 m
    trunk_r, trunk_z = rng.uniform(0, 0.1, 50), rng.uniform(0, 3.0, 50)
    label = np.concatenate([np.ones(rho.size), np.full(rho.size, 2), np.ones(50)]).astype(int)
    r_rel = np.concatenate([rho, rho, trunk_r])
    h = np.concatenate([z_ell, z_flat, trunk_z])
    est, fitted = crown_base_from_envelope(label, r_rel, h, 2)
    assert fitted.all()
    np.testing.assert_allclose(est, [3.0, 2.0], atol=0.05)
    # a flat-bottomed crown from 2 m to 8 m, 15 points per ring spread evenly in height: the
    # lowest point of a ring lies one spacing (6 m / 16) above 2 m on average; corrected: 2 m
    rr = np.repeat((np.arange(10) + 0.5) / 10, 15)
    hh = 2.0 + 6.0 * np.tile(np.arange(1, 16) / 16, 10)
    est, fitted = crown_base_from_envelope(np.ones(rr.size, int), rr, hh, 1)
    assert fitted.all() and hh.min() == 2.375
    np.testing.assert_allclose(est, [2.0], atol=1e-9)


def _match(det: pd.DataFrame, truth: pd.DataFrame):
    """One-to-one matching within max(2 m, 0.4 crown diameter), least total distance."""
    tol = np.maximum(2.0, 0.4 * truth.crown_diameter_m.to_numpy())
    d = np.hypot(det.x_m.to_numpy()[:, None] - truth.x_m.to_numpy()[None, :],
                 det.y_m.to_numpy()[:, None] - truth.y_m.to_numpy()[None, :])
    cost = np.where(d <= tol[None, :], d, 1e6)
    r, c = linear_sum_assignment(cost)
    ok = cost[r, c] < 1e6
    return r[ok], c[ok]


@pytest.mark.parametrize("seed", [7, 11])
def test_synthetic_district_f1_and_crown_base(tmp_path, seed):
    o = generate(tmp_path / "d", seed=seed, size_m=150.0)
    truth = pd.read_csv(o.truth_trees_csv)
    det = detect_trees(read_points([o.laz]))
    r, c = _match(det, truth)
    big = ((truth.crown_diameter_m >= 4.0) & (truth.kind != "shrub")).to_numpy()
    recall = big[c].sum() / big.sum()
    precision = len(r) / len(det)  # a detection matched to any truth tree (small ones too)
    f1 = 2 * recall * precision / (recall + precision)
    assert big.sum() >= 60
    assert f1 >= 0.90, (recall, precision)  # measured: 0.983 (seed 7), 1.000 (seed 11)
    err = (det.crown_base_m.to_numpy()[r] - truth.crown_base_m.to_numpy()[c])[big[c]]
    # measured: median abs error 0.39 m (seed 7), 0.41 m (seed 11); unseen seeds 3 and 19: 0.48, 0.43;
    # the former low-percentile estimate: 1.1 m. The rest is a bias up (+0.37 m): the simulated
    # returns never reach the lowest 5 % of a crown's chord
    assert np.median(np.abs(err)) <= 0.5
