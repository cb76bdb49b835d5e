"""Attribute semantics: zones sum totals only, average intensities, never average ids.

The expected values are computed by hand from the four boxes below (footprints 10x10, 20x10,
20x10, 10x10 m; zone A holds boxes 0 and 1, zone B box 2, box 3 lies outside).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from citymodel.attribute_registry import REGISTRY, attribute_info, kind_of, label
from citymodel.civic import Zones, zonal_stats
from citymodel.civic.stats import is_extensive
from citymodel.errors import InputError
from viewer.boxes import box_model

X0, Y0 = 85000.0, 447000.0


@pytest.fixture(scope="module")
def model():
    lo = np.array([[0, 0], [20, 0], [45, 0], [200, 200]], dtype=float) + [X0, Y0]
    hi = np.array([[10, 10], [40, 10], [65, 10], [210, 210]], dtype=float) + [X0, Y0]
    return box_model(lo, hi, [10.0, 20.0, 30.0, 9.0], attributes={
        "point_density_pts_m2": [10.0, 20.0, 16.0, 1.0],
        "identificatie": [1001.0, 1002.0, 1003.0, 1004.0],
        "h_ground_m": [-1.0, 2.0, 0.5, 0.0],
        "h_roof_70p_m": [9.0, 20.0, 30.5, 9.0],
        "my_own_score": [3.0, 5.0, 7.0, 100.0],
        "pv_yield_kwh": [1000.0, 3000.0, 5000.0, 7.0],
    })


@pytest.fixture(scope="module")
def zones():
    geoms = [shapely.box(X0 - 5, Y0 - 5, X0 + 50, Y0 + 50), shapely.box(X0 + 50, Y0 - 5, X0 + 100, Y0 + 50)]
    return Zones(np.array(geoms, dtype=object), pd.DataFrame({"zone_id": [1, 2]}), 28992)


def test_density_is_averaged_not_summed(model, zones):
    f = zonal_stats(model, zones)
    # footprint-weighted mean: (10*100 + 20*200) / 300 = 16.667 (a sum would give 30)
    np.testing.assert_allclose(f["point_density_pts_m2"], [5000.0 / 300.0, 16.0], rtol=1e-12)
    assert f.attrs["aggregation"]["point_density_pts_m2"].startswith("mean weighted")


def test_identifier_is_never_averaged(model, zones):
    f = zonal_stats(model, zones)
    assert not any(c.startswith("identificatie") for c in f.columns)
    assert "identifier" in f.attrs["not_summarised"]["identificatie"]


def test_elevation_becomes_height_above_ground(model, zones):
    f = zonal_stats(model, zones)
    assert "h_roof_70p_m" not in f.columns and "h_ground_m" not in f.columns
    # heights 10 and 18 m, weights 100 and 200 -> 46/3; zone B: 30 m
    np.testing.assert_allclose(f["roof_height_70p_above_ground_m"], [(10 * 100 + 18 * 200) / 300, 30.0],
                               rtol=1e-12)


def test_totals_are_summed_and_unknown_fields_get_a_range(model, zones):
    f = zonal_stats(model, zones)
    np.testing.assert_allclose(f["pv_yield_kwh"], [4000.0, 5000.0])
    assert "my_own_score" not in f.columns
    np.testing.assert_allclose(f["my_own_score_min"], [3.0, 7.0])
    np.testing.assert_allclose(f["my_own_score_median"], [4.0, 7.0])
    np.testing.assert_allclose(f["my_own_score_max"], [5.0, 7.0])
    g = zonal_stats(model, zones, sum_fields=["my_own_score"])
    np.testing.assert_allclose(g["my_own_score"], [8.0, 7.0])
    with pytest.raises(InputError, match="--sum nope"):
        zonal_stats(model, zones, sum_fields=["nope"])


def test_registry_labels_and_kinds():
    assert label("roof_height_70p_above_ground_m") == "Roof height above ground (70th percentile) [m]"
    assert label("some_field_m") == "Some field m"  # words, never snake_case
    assert kind_of("buildings_floor_area_m2") == "extensive"
    assert not is_extensive("point_density_pts_m2") and is_extensive("floor_area_m2")
    assert attribute_info("nope") is None
    for info in REGISTRY.values():
        assert info.label and "_" not in info.label, info.name
        if info.kind in ("height", "elevation"):
            assert info.unit == "m", info.name


def test_docstring_examples():
    import doctest

    import citymodel.attribute_registry as registry
    import citymodel.civic.stats as stats
    import viewer.colors as colors

    for mod in (registry, stats, colors):
        failures, attempted = doctest.testmod(mod)
        assert failures == 0 and attempted > 0, mod.__name__
