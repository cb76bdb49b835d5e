"""UTCI polynomial against pythermalcomfort's ``utci``, stress categories, NaN handling."""

from __future__ import annotations

import doctest
import warnings

import numpy as np
import pytest

from microclimate import utci as utci_module
from microclimate.utci import (
    HEAT_STRESS_LABELS,
    heat_stress_category,
    saturation_vapour_pressure_hpa,
    utci_c,
    utci_one_air_c,
)

TOL_VS_PYTHERMALCOMFORT_K = 0.05


def _reference(t_air, tmrt, wind, rh):
    """pythermalcomfort 2.x ``utci``, unrounded, NaN outside its limits."""
    import pythermalcomfort.models as ptc  # in the test extra: a missing reference fails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(
            ptc.utci(tdb=t_air, tr=tmrt, v=wind, rh=rh, round_output=False).utci, dtype=float
        )


def _grid():
    t_air = np.array([-45.0, -30.0, -10.0, 0.0, 10.0, 20.0, 30.0, 40.0, 48.0])
    d_tmrt = np.array([-25.0, -5.0, 0.0, 15.0, 35.0, 60.0])
    wind = np.array([0.5, 1.0, 3.0, 8.0, 16.5])
    rh = np.array([5.0, 40.0, 80.0])
    t, d, w, r = (a.ravel() for a in np.meshgrid(t_air, d_tmrt, wind, rh, indexing="ij"))
    return t, t + d, w, r


def test_equals_pythermalcomfort_on_grid():
    t_air, tmrt, wind, rh = _grid()
    assert t_air.size == 810
    ours = utci_c(t_air, tmrt, wind, rh)
    ref = _reference(t_air, tmrt, wind, rh)
    # pythermalcomfort gives NaN where the vapour pressure exceeds 5 kPa (hot and humid)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert ok.sum() > 700
    np.testing.assert_allclose(ours[ok], ref[ok], atol=TOL_VS_PYTHERMALCOMFORT_K, rtol=0)


def test_random_points_equal_pythermalcomfort():
    rng = np.random.default_rng(12)
    n = 400
    t_air = rng.uniform(-50, 50, n)
    tmrt = t_air + rng.uniform(-30, 70, n)
    wind = rng.uniform(0.5, 17, n)
    rh = rng.uniform(0, 100, n)
    ours, ref = utci_c(t_air, tmrt, wind, rh), _reference(t_air, tmrt, wind, rh)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(ours[ok], ref[ok], atol=TOL_VS_PYTHERMALCOMFORT_K, rtol=0)


def test_published_example_and_scalar_type():
    # pythermalcomfort's docstring: utci(25, 25, 1.0, 50) = 24.6
    value = utci_c(25.0, 25.0, 1.0, 50.0)
    assert isinstance(value, float)
    assert round(value, 1) == 24.6


def test_broadcasting_shapes():
    out = utci_c(np.array([[20.0], [30.0]]), np.array([20.0, 40.0, 60.0]), 2.0, 50.0)
    assert out.shape == (2, 3)
    assert out[0, 1] == pytest.approx(utci_c(20.0, 40.0, 2.0, 50.0), abs=1e-12)


def test_wind_is_clipped_to_fitted_range():
    assert utci_c(30.0, 50.0, 0.0, 40.0) == pytest.approx(utci_c(30.0, 50.0, 0.5, 40.0), abs=1e-12)
    assert utci_c(10.0, 10.0, 25.0, 40.0) == pytest.approx(
        utci_c(10.0, 10.0, 17.0, 40.0), abs=1e-12
    )


@pytest.mark.parametrize(
    ("t_air", "tmrt", "wind", "rh"),
    [
        (55.0, 55.0, 1.0, 10.0),  # air too hot
        (-51.0, -51.0, 1.0, 10.0),  # air too cold
        (20.0, 95.0, 1.0, 50.0),  # tmrt - ta = 75 > 70
        (20.0, -15.0, 1.0, 50.0),  # tmrt - ta = -35 < -30
        (20.0, 20.0, 1.0, 120.0),  # rh > 100
        (45.0, 45.0, 1.0, 90.0),  # vapour pressure > 5 kPa
        (np.nan, 20.0, 1.0, 50.0),
        (20.0, np.nan, 1.0, 50.0),
        (20.0, 20.0, np.nan, 50.0),
        (20.0, 20.0, 1.0, np.nan),
    ],
)
def test_out_of_range_or_nan_gives_nan(t_air, tmrt, wind, rh):
    assert np.isnan(utci_c(t_air, tmrt, wind, rh))


def test_nan_only_where_invalid_in_array():
    out = utci_c([20.0, 20.0, np.nan], [30.0, 95.0, 30.0], 1.0, 50.0)
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])


def test_saturation_vapour_pressure_fixed_points():
    # physical fixed points on ITS-90: triple point of water 0.01 degC, 611.657 Pa; normal
    # boiling point 99.974 degC, 101325 Pa
    np.testing.assert_allclose(
        saturation_vapour_pressure_hpa([0.01, 99.974]), [6.11657, 1013.25], rtol=1e-4
    )


@pytest.mark.parametrize(
    ("value", "code", "label"),
    [
        (-40.0, 0, "extreme cold stress"),
        (-39.99, 1, "very strong cold stress"),
        (-27.0, 1, "very strong cold stress"),
        (-13.0, 2, "strong cold stress"),
        (0.0, 3, "moderate cold stress"),
        (9.0, 4, "slight cold stress"),
        (9.01, 5, "no thermal stress"),
        (26.0, 5, "no thermal stress"),
        (26.01, 6, "moderate heat stress"),
        (32.0, 6, "moderate heat stress"),
        (32.01, 7, "strong heat stress"),
        (38.0, 7, "strong heat stress"),
        (38.01, 8, "very strong heat stress"),
        (46.0, 8, "very strong heat stress"),
        (46.01, 9, "extreme heat stress"),
    ],
)
def test_category_boundaries(value, code, label):
    assert heat_stress_category(value) == (code, label)


def test_category_array_and_nan_and_agrees_with_pythermalcomfort():
    values = np.array([-60.0, -30.0, 5.0, 20.0, 30.0, 35.0, 40.0, 50.0, np.nan])
    codes, labels = heat_stress_category(values)
    assert codes.dtype == np.int8
    assert codes.tolist() == [0, 1, 4, 5, 6, 7, 8, 9, -1]
    assert labels[-1] == ""
    assert labels[5] == "strong heat stress"
    utci_ptc = pytest.importorskip("pythermalcomfort.models.utci")
    ref = utci_ptc.STRESS_CATEGORIES.map(values[:-1])
    assert list(labels[:-1]) == list(ref)
    assert len(HEAT_STRESS_LABELS) == 10


def test_docstring_examples():
    failures, _ = doctest.testmod(utci_module)
    assert failures == 0


@pytest.mark.parametrize("variant", ["_polynomial", "_polynomial_numpy"])
def test_kernel_variants_agree_with_pythermalcomfort(variant, monkeypatch):
    # the same body for the numba kernel (default) and the plain-numpy reference polynomial
    monkeypatch.setattr(utci_module, "_polynomial", getattr(utci_module, variant))
    t_air, tmrt, wind, rh = _grid()
    ours, ref = utci_c(t_air, tmrt, wind, rh), _reference(t_air, tmrt, wind, rh)
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(ours[ok], ref[ok], atol=TOL_VS_PYTHERMALCOMFORT_K, rtol=0)
    assert np.isnan(utci_c(np.nan, 20.0, 1.0, 50.0))
    assert utci_c(t_air.reshape(30, 27), 20.0, 1.0, 50.0).shape == (30, 27)


@pytest.mark.parametrize("t_air, wind, rh", [(30.0, 2.0, 40.0), (-20.0, 0.1, 90.0),
                                             (45.0, 16.0, 20.0), (55.0, 2.0, 40.0)])
def test_one_air_state_equals_utci_c(t_air, wind, rh):
    """The per-step form (a polynomial in Tmrt - Ta) gives utci_c's values and NaNs."""
    tmrt = np.linspace(t_air - 40.0, t_air + 80.0, 2001)
    ref = utci_c(t_air, tmrt, wind, rh)
    got = utci_one_air_c(t_air, tmrt, wind, rh)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_allclose(got[ok], ref[ok], rtol=0, atol=1e-9)
