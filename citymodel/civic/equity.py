"""Equity of exposure: do the most fragile zones carry more of an indicator than the rest?"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from citymodel.errors import InputError

__all__ = ["equity", "concentration_index"]

_NOT_INDICATORS = {"zone_id", "fid", "id", "population", "zone_area_m2", "area_m2", "n_buildings", "share_over_75"}


def concentration_index(
    values: np.ndarray, rank_by: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Concentration index of ``values`` across the ranking ``rank_by`` (Wagstaff et al. 1991).

    ``CI = 2 cov_w(y, R) / mean_w(y)`` with ``R`` the weighted fractional rank by ``rank_by``
    (ascending; tied units share their group's mid rank). It equals one minus twice the area
    under the concentration curve: 0 when the indicator is spread evenly, positive when it is
    concentrated in the units ranked highest (the most fragile), negative when in the lowest.
    Bounds: -1..1 for non-negative values.

    Parameters
    ----------
    values : (z,) float64
        Indicator per unit (zone). Units with NaN in ``values`` or ``rank_by`` are left out.
    rank_by : (z,) float64
        Ranking variable (fragility).
    weights : (z,) float64, optional
        Population weights (default: 1 per unit).

    Returns
    -------
    float
        NaN when fewer than two units remain or the weighted mean is 0.

    Examples
    --------
    >>> concentration_index([1.0, 2.0, 3.0, 4.0], [1, 2, 3, 4])
    0.25
    """
    y = np.asarray(values, dtype=np.float64)
    r = np.asarray(rank_by, dtype=np.float64)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(r) & np.isfinite(w) & (w > 0)
    y, r, w = y[ok], r[ok], w[ok]
    if y.size < 2:
        return float("nan")
    order = np.argsort(r, kind="stable")
    y, r, w = y[order], r[order], w[order]
    total = w.sum()
    # fractional rank of each tie group: (weight before the group + half the group's) / total
    _, first, inverse = np.unique(r, return_index=True, return_inverse=True)
    gw = np.bincount(inverse, weights=w)
    before = np.concatenate([[0.0], np.cumsum(gw)[:-1]])
    rank = ((before + gw / 2.0) / total)[inverse]
    mu = float((w * y).sum() / total)
    if mu == 0:
        return float("nan")
    rbar = float((w * rank).sum() / total)
    cov = float((w * (y - mu) * (rank - rbar)).sum() / total)
    return round(2.0 * cov / mu, 12)


def _wmean(v: np.ndarray, w: np.ndarray) -> float:
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    s = w[ok].sum()
    return float((w[ok] * v[ok]).sum() / s) if s > 0 else float("nan")


def equity(
    frame: pd.DataFrame,
    fragility: str = "fragility_index",
    indicators: Sequence[str] | None = None,
    *,
    top_quantile: float = 0.75,
    threshold: float | None = None,
    population: str | None = "population",
    higher_is_better: Iterable[str] = (),
) -> pd.DataFrame:
    """Compare the most fragile zones with the rest for each indicator.

    The most fragile zones are those with ``fragility >= threshold``, or by default those at or
    above the ``top_quantile`` of the fragility over all zones (top quartile). Means are
    population-weighted when the ``population`` column exists (zone means otherwise).

    Parameters
    ----------
    frame : DataFrame
        One row per zone (e.g. :func:`zonal_stats`'s result).
    fragility : str
        The fragility column (higher = more fragile).
    indicators : sequence of str, optional
        Indicator columns (default: ``frame.attrs["indicators"]``, else every numeric column
        other than the fragility, population and ids).
    top_quantile : float
        Quantile of fragility at or above which a zone counts as most fragile (0..1).
    threshold : float, optional
        A fixed fragility threshold instead of the quantile.
    population : str or None
        Population column used as weight when present.
    higher_is_better : iterable of str
        Scenario-difference indicators (``*_delta``) for which an increase is a gain (e.g. PV
        yield); for the others a decrease is a gain (less heat, less demand).

    Returns
    -------
    DataFrame
        One row per indicator: ``indicator``, ``mean_fragile``, ``mean_rest``, ``gap``
        (fragile - rest), ``ratio`` (fragile / rest), ``concentration_index`` (across
        fragility, see :func:`concentration_index`), ``n_fragile``, ``n_rest`` (zones),
        ``weighted_by``, and ``gains_most`` for ``*_delta`` indicators ("most fragile",
        "rest" or "equal"; empty otherwise). ``attrs["fragility_threshold"]`` holds the cut.

    Raises
    ------
    InputError
        A column does not exist (the message lists those that do), or the cut leaves no zone
        on one side.
    """
    cols = [str(c) for c in frame.columns]
    if fragility not in frame.columns:
        raise InputError(f"no fragility column {fragility!r}; the zone columns are: {', '.join(cols)}")
    f = pd.to_numeric(frame[fragility], errors="coerce").to_numpy(np.float64)
    if indicators is None:
        indicators = frame.attrs.get("indicators") or [
            c for c in frame.columns
            if c not in _NOT_INDICATORS and c != fragility and c != population
            and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]
    missing = [c for c in indicators if c not in frame.columns]
    if missing:
        raise InputError(
            f"no indicator column {', '.join(map(repr, missing))}; the zone columns are: {', '.join(cols)}"
        )
    if threshold is None:
        if not 0.0 < top_quantile < 1.0:
            raise InputError(f"top_quantile must be in (0, 1), got {top_quantile}")
        threshold = float(np.nanquantile(f, top_quantile))
    fragile = np.isfinite(f) & (f >= threshold)
    rest = np.isfinite(f) & (f < threshold)
    if not fragile.any() or not rest.any():
        raise InputError(
            f"fragility cut {threshold:g} on {fragility!r} leaves {int(fragile.sum())} fragile and "
            f"{int(rest.sum())} other zones; choose a threshold inside "
            f"[{np.nanmin(f):g}, {np.nanmax(f):g}]"
        )
    if population and population in frame.columns:
        w = pd.to_numeric(frame[population], errors="coerce").to_numpy(np.float64)
        weighted_by = population
    else:
        w = np.ones(len(frame))
        weighted_by = "zones"
    better_up = set(higher_is_better)
    rows = []
    for name in indicators:
        v = pd.to_numeric(frame[name], errors="coerce").to_numpy(np.float64)
        mf, mr = _wmean(v[fragile], w[fragile]), _wmean(v[rest], w[rest])
        gains = ""
        if name.endswith("_delta"):
            gf, gr = (mf, mr) if name in better_up else (-mf, -mr)
            gains = "most fragile" if gf > gr else ("rest" if gr > gf else "equal")
        rows.append({
            "indicator": name,
            "mean_fragile": mf,
            "mean_rest": mr,
            "gap": mf - mr,
            "ratio": mf / mr if mr != 0 else float("nan"),
            "concentration_index": concentration_index(v, f, w),
            "n_fragile": int((fragile & np.isfinite(v)).sum()),
            "n_rest": int((rest & np.isfinite(v)).sum()),
            "weighted_by": weighted_by,
            "gains_most": gains,
        })
    out = pd.DataFrame(rows, columns=["indicator", "mean_fragile", "mean_rest", "gap", "ratio",
                                      "concentration_index", "n_fragile", "n_rest", "weighted_by",
                                      "gains_most"])
    out.attrs["fragility_threshold"] = threshold
    return out
