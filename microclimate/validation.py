"""Agreement statistics between modelled and observed series (Tmrt, UTCI, temperatures).

The statistics of SOLWEIG's validation papers (Lindberg et al. 2008, 2016): root mean square
error, mean bias (model minus observation) and the coefficient of determination ``r2`` of
the linear regression of model on observation (the squared Pearson correlation). Pairs where
either value is NaN are left out, the way a measurement gap is; the statistics use the
remaining pairs.
"""

from __future__ import annotations

import numpy as np

from citymodel.errors import InputError

__all__ = ["rmse", "bias", "mae", "r2"]


def _pairs(modelled, observed, min_pairs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(modelled, dtype=np.float64)
    o = np.asarray(observed, dtype=np.float64)
    if m.shape != o.shape:
        raise InputError(
            f"modelled and observed values differ in shape: {m.shape} vs {o.shape}; "
            "align the series (same times, same points) first"
        )
    keep = ~(np.isnan(m) | np.isnan(o))
    if keep.sum() < min_pairs:
        raise InputError(
            f"only {int(keep.sum())} pairs where both values are present; "
            f"at least {min_pairs} needed"
        )
    return m[keep], o[keep]


def rmse(modelled, observed) -> float:
    """Root mean square error ``sqrt(mean((m - o)^2))`` over the non-NaN pairs.

    Parameters
    ----------
    modelled, observed : array_like
        Values of the same shape, in the same unit (e.g. Tmrt [degC]).

    Returns
    -------
    float
        RMSE, in the unit of the inputs.

    Examples
    --------
    >>> rmse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.1547005383792515
    """
    m, o = _pairs(modelled, observed)
    return float(np.sqrt(np.mean((m - o) ** 2)))


def bias(modelled, observed) -> float:
    """Mean bias error ``mean(m - o)`` (positive: the model overestimates).

    Parameters and returns as in :func:`rmse`.

    Examples
    --------
    >>> bias([2.0, 4.0, float("nan")], [1.0, 2.0, 3.0])
    1.5
    """
    m, o = _pairs(modelled, observed)
    return float(np.mean(m - o))


def mae(modelled, observed) -> float:
    """Mean absolute error ``mean(|m - o|)``; parameters and returns as in :func:`rmse`."""
    m, o = _pairs(modelled, observed)
    return float(np.mean(np.abs(m - o)))


def r2(modelled, observed) -> float:
    """Coefficient of determination of the regression of model on observation.

    The squared Pearson correlation of the non-NaN pairs (as in SOLWEIG validations); it
    ignores a bias or a wrong slope, so report it with :func:`rmse` and :func:`bias`.

    Parameters
    ----------
    modelled, observed : array_like
        Values of the same shape (at least 2 non-NaN pairs, not all equal).

    Returns
    -------
    float
        r2 in 0..1 [-].

    Examples
    --------
    >>> r2([2.0, 4.0, 6.0], [1.0, 2.0, 3.0])
    1.0
    """
    m, o = _pairs(modelled, observed, min_pairs=2)
    if np.ptp(m) == 0.0 or np.ptp(o) == 0.0:
        raise InputError("r2 is undefined when the modelled or observed values are constant")
    return float(np.corrcoef(m, o)[0, 1] ** 2)
