"""Agreement statistics, and the columns of the Kronenhuset measurement file."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest

from citymodel.errors import InputError
from microclimate import validation as validation_module
from microclimate.tmrt import STEFAN_BOLTZMANN_W_M2K4
from microclimate.validation import bias, mae, r2, rmse
from tests.conftest import shared_path

MEASUREMENT_COLUMNS = [
    "hour", "Kdown", "Kup", "Kn", "Ke", "Ks", "Kw",
    "Ldown", "Lup", "Ln", "Le", "Ls", "Lw", "Sstr", "Tmrt", "Ta", "RH",
]  # fmt: skip


def test_statistics_by_hand():
    modelled = [21.0, 25.0, 30.0, 28.0]
    observed = [20.0, 26.0, 27.0, 28.0]
    # errors 1, -1, 3, 0
    assert rmse(modelled, observed) == pytest.approx(math.sqrt((1 + 1 + 9 + 0) / 4))
    assert bias(modelled, observed) == pytest.approx(3 / 4)
    assert mae(modelled, observed) == pytest.approx(5 / 4)
    mm, mo = sum(modelled) / 4, sum(observed) / 4
    cov = sum((a - mm) * (b - mo) for a, b in zip(modelled, observed, strict=True))
    var_m = sum((a - mm) ** 2 for a in modelled)
    var_o = sum((b - mo) ** 2 for b in observed)
    assert r2(modelled, observed) == pytest.approx(cov**2 / (var_m * var_o))


def test_nan_pairs_are_left_out():
    assert rmse([1.0, np.nan, 3.0], [1.0, 5.0, np.nan]) == 0.0
    assert bias(np.array([[1.0, 2.0]]), np.array([[0.0, np.nan]])) == 1.0


def test_bad_inputs_raise():
    with pytest.raises(InputError, match="differ in shape"):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="0 pairs"):
        bias([np.nan], [1.0])
    with pytest.raises(InputError, match="at least 2"):
        r2([1.0], [1.0])
    with pytest.raises(InputError, match="constant"):
        r2([1.0, 1.0], [1.0, 2.0])


@pytest.mark.shared_data
def test_kronenhuset_measurements_columns_and_tmrt_of_sstr():
    path = shared_path("heat_gothenburg", "kronenhuset", "measurements_kr.csv")
    m = pd.read_csv(path)
    assert list(m.columns) == MEASUREMENT_COLUMNS
    assert m["hour"].tolist() == list(range(7, 19))  # 7 October 2005, 07..18 h
    assert m.notna().all().all()
    # The file's Tmrt is the Tmrt of its Sstr (absorption_l 0.97) within 0.3 K; the two
    # sunny afternoon hours (15, 16) differ most (hour means of a non-linear function).
    tmrt_of_sstr = (m["Sstr"] / (0.97 * STEFAN_BOLTZMANN_W_M2K4)) ** 0.25 - 273.15
    assert np.abs(tmrt_of_sstr - m["Tmrt"]).max() < 0.3
    assert rmse(tmrt_of_sstr, m["Tmrt"]) < 0.15


def test_docstring_examples():
    failures, _ = doctest.testmod(validation_module)
    assert failures == 0
