"""The tree table against the synthetic district's exact trees."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.vegetation import tree_table


def test_tree_table_matches_the_generated_trees():
    from citymodel.synth import district_to_citymodel, make_district

    d = make_district(3, 120.0)
    t = tree_table(district_to_citymodel(d)).set_index("tree_id")
    assert len(t) == len(d.trees) > 5
    for tree in d.trees:
        row = t.loc[tree.tree_id]
        assert row["height_m"] == pytest.approx(tree.height_m, abs=1e-3)
        assert row["crown_diameter_m"] == pytest.approx(tree.crown_diameter_m, abs=1e-3)
        # the base sits at the trunk, on the ground (h_ground_m: the LoD1 prism is the crown only)
        np.testing.assert_allclose([row["x_m"], row["y_m"]], tree.xy, atol=0.01)
        assert row["z_m"] == pytest.approx(tree.z_ground_m, abs=0.01)
