"""Six-direction Tmrt (Thorsson et al. 2007 / SOLWEIG) against hand arithmetic."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from citymodel.errors import InputError
from microclimate import tmrt as tmrt_module
from microclimate.tmrt import (
    STEFAN_BOLTZMANN_W_M2K4,
    direct_beam_on_body_w_m2,
    mean_radiant_flux_w_m2,
    projected_area_factor,
    tmrt_c,
    tmrt_with_beam_c,
)

TOL_K = 1e-9

# An open, unobstructed point at noon in summer (all values chosen, W/m2)
KDOWN, KUP = 600.0, 120.0  # global horizontal; ground albedo 0.2
K_SIDE = [80.0, 150.0, 260.0, 140.0]  # N, E, S, W (diffuse + reflected + beam on faces)
LDOWN, LUP = 350.0, 470.0
L_SIDE = [410.0, 405.0, 430.0, 408.0]


def test_open_point_by_hand():
    # Step 1: short-wave weighted sum, standing factors 0.06 (up, down) and 0.22 (sides)
    short = 0.06 * 600.0 + 0.06 * 120.0 + 0.22 * (80.0 + 150.0 + 260.0 + 140.0)
    assert short == pytest.approx(36.0 + 7.2 + 138.6)  # = 181.8
    # Step 2: long-wave weighted sum
    long_ = 0.06 * 350.0 + 0.06 * 470.0 + 0.22 * (410.0 + 405.0 + 430.0 + 408.0)
    assert long_ == pytest.approx(21.0 + 28.2 + 363.66)  # = 412.86
    # Step 3: absorbed flux Sstr = 0.70 * 181.8 + 0.97 * 412.86
    s_str = 0.70 * short + 0.97 * long_
    assert s_str == pytest.approx(127.26 + 400.4742)  # = 527.7342
    # Step 4: Tmrt = (Sstr / (0.97 sigma))^(1/4) - 273.15
    sigma = 5.670374419e-8
    expected = math.sqrt(math.sqrt(s_str / (0.97 * sigma))) - 273.15
    assert expected == pytest.approx(39.824, abs=1e-3)  # a sunny open square in summer
    assert mean_radiant_flux_w_m2(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE) == pytest.approx(s_str)
    assert tmrt_c(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE) == pytest.approx(expected, abs=TOL_K)


def test_sitting_factors_are_one_sixth():
    s_str = (0.70 * (600.0 + 120.0 + 630.0) + 0.97 * (350.0 + 470.0 + 1653.0)) / 6.0
    expected = (s_str / (0.97 * 5.670374419e-8)) ** 0.25 - 273.15
    got = tmrt_c(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE, posture="sitting")
    assert got == pytest.approx(expected, abs=TOL_K)


@pytest.mark.parametrize("t_c", [-20.0, 0.0, 20.0, 35.0])
@pytest.mark.parametrize("posture", ["standing", "sitting"])
def test_isotropic_black_body_enclosure_gives_its_temperature(t_c, posture):
    ell = STEFAN_BOLTZMANN_W_M2K4 * (t_c + 273.15) ** 4
    got = tmrt_c(0.0, 0.0, [0.0] * 4, ell, ell, [ell] * 4, posture=posture)
    assert got == pytest.approx(t_c, abs=TOL_K)


def test_shortwave_zero_depends_on_longwave_only():
    # Night: Tmrt from the long-wave fluxes alone, independent of absorption_k
    long_ = 0.06 * (LDOWN + LUP) + 0.22 * sum(L_SIDE)
    expected = (long_ / STEFAN_BOLTZMANN_W_M2K4) ** 0.25 - 273.15  # absorption_l cancels
    for absorption_k in (0.5, 0.7, 0.9):
        got = tmrt_c(0.0, 0.0, [0.0] * 4, LDOWN, LUP, L_SIDE, absorption_k=absorption_k)
        assert got == pytest.approx(expected, abs=TOL_K)


def test_arrays_broadcast_over_grid():
    kdown = np.array([[0.0, 600.0], [300.0, 800.0]])
    k_side = np.broadcast_to(np.array(K_SIDE)[:, None, None], (4, 2, 2))
    out = tmrt_c(kdown, KUP, k_side, LDOWN, LUP, np.array(L_SIDE)[:, None, None])
    assert out.shape == (2, 2)
    assert out[0, 1] == pytest.approx(tmrt_c(600.0, KUP, K_SIDE, LDOWN, LUP, L_SIDE))
    assert out[1, 1] > out[0, 1] > out[1, 0] > out[0, 0]


def test_fanger_projected_area_factor_values():
    assert projected_area_factor(0.0) == pytest.approx(0.308)
    # 90 deg: 0.308 cos(90 (0.998 - 8100 / 50000) deg) = 0.308 cos(75.24 deg)
    assert projected_area_factor(90.0) == pytest.approx(0.308 * math.cos(math.radians(75.24)))
    assert projected_area_factor(-5.0) == pytest.approx(0.308)


def test_direct_beam_term_by_hand():
    # SOLWEIG cylinder: Fcyl 0.28 x I x cos(elevation)
    assert direct_beam_on_body_w_m2(800.0, 40.0) == pytest.approx(
        0.28 * 800.0 * math.cos(math.radians(40.0))
    )
    assert direct_beam_on_body_w_m2(800.0, 40.0, posture="sitting") == pytest.approx(
        0.20 * 800.0 * math.cos(math.radians(40.0))
    )
    fp = 0.308 * math.cos(math.radians(40.0 * (0.998 - 1600.0 / 50000.0)))
    assert direct_beam_on_body_w_m2(800.0, 40.0, model="fanger") == pytest.approx(fp * 800.0)
    assert direct_beam_on_body_w_m2(800.0, 40.0, sunlit=0.0) == 0.0
    assert direct_beam_on_body_w_m2(800.0, -1.0) == 0.0


def test_tmrt_with_beam_adds_the_named_term():
    beam = 0.28 * 700.0 * math.cos(math.radians(30.0))
    s_str = mean_radiant_flux_w_m2(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE) + 0.70 * beam
    expected = (s_str / (0.97 * STEFAN_BOLTZMANN_W_M2K4)) ** 0.25 - 273.15
    got = tmrt_with_beam_c(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE, 700.0, 30.0)
    assert got == pytest.approx(expected, abs=TOL_K)
    shaded = tmrt_with_beam_c(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE, 700.0, 30.0, sunlit=0.0)
    assert shaded == pytest.approx(tmrt_c(KDOWN, KUP, K_SIDE, LDOWN, LUP, L_SIDE), abs=TOL_K)
    assert got - shaded > 5.0


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="shape \\(4, ...\\)"):
        tmrt_c(0.0, 0.0, [0.0] * 3, 300.0, 300.0, [300.0] * 4)
    with pytest.raises(InputError, match="posture"):
        tmrt_c(0.0, 0.0, [0.0] * 4, 300.0, 300.0, [300.0] * 4, posture="lying")
    with pytest.raises(InputError, match="model"):
        direct_beam_on_body_w_m2(800.0, 40.0, model="sphere")
    with pytest.raises(InputError, match="standing"):
        direct_beam_on_body_w_m2(800.0, 40.0, model="fanger", posture="sitting")


def test_docstring_examples():
    failures, _ = doctest.testmod(tmrt_module)
    assert failures == 0
