"""Angular distribution of the long-wave sky (microclimate.ground.sky_band_factors)."""

from __future__ import annotations

import numpy as np
import pytest

from citymodel.errors import InputError
from microclimate.ground import sky_band_factors

SIGMA = 5.670374419e-8


def _fine_bands(n=400):
    edges = np.linspace(0.0, 1.0, n + 1)
    mu = 0.5 * (edges[1:] + edges[:-1])
    w = edges[1:] ** 2 - edges[:-1] ** 2  # cosine weighting of a horizontal plane, sums to 1
    return mu, w


@pytest.mark.parametrize("eps_h", [0.70, 0.80, 0.90])
def test_martin_berdahl_law_and_hemispheric_closure(eps_h):
    """The band emissivities are Martin & Berdahl's (1984) ``1 - (1 - eps) exp(0.308 (1.7 -
    sec z))``; their cosine-weighted mean is ``eps`` itself (the 1.7 makes it so), so the
    normalisation to the hemispheric flux changes them by < 0.3 %."""
    mu, w = _fine_bands()
    t_c = 15.0
    ldown = eps_h * SIGMA * (t_c + 273.15) ** 4
    g = sky_band_factors(np.array([ldown]), np.array([t_c]), mu, w)[0]
    assert g @ w == pytest.approx(1.0, abs=1e-12)
    published = 1.0 - (1.0 - eps_h) * np.exp(0.308 * (1.7 - 1.0 / mu))
    np.testing.assert_allclose(g * eps_h, np.clip(published, 0, 1), rtol=3e-3)


@pytest.mark.parametrize("eps_h", [0.70, 0.75, 0.80, 0.85])
def test_zenith_agrees_with_unsworth_monteith(eps_h):
    """Unsworth & Monteith (1975): ``eps(z) = a + 0.094 ln(u sec z)``; the hemispheric value
    is that at the diffusivity factor sec z = 1.66, so the zenith is ``eps - 0.094 ln 1.66``.
    The grey isothermal slab (the former law) is far darker there."""
    mu, w = _fine_bands()
    t_c = 15.0
    ldown = np.array([eps_h * SIGMA * (t_c + 273.15) ** 4])
    zen = sky_band_factors(ldown, np.array([t_c]), mu, w)[0, -1] * eps_h
    um = eps_h - 0.094 * np.log(1.66)
    assert abs(zen - um) < 0.025
    grey = sky_band_factors(ldown, np.array([t_c]), mu, w, model="grey-slab")[0, -1] * eps_h
    assert grey < um - 0.05


def test_unknown_model_is_refused():
    mu, w = _fine_bands(8)
    with pytest.raises(InputError, match="martin-berdahl"):
        sky_band_factors(np.array([300.0]), np.array([10.0]), mu, w, model="isotropic")
