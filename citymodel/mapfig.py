"""Matplotlib maps a planner can put in a slide: plain coordinates, north arrow, scale bar.

Every map figure of the toolkit (demo report, heat maps) calls :func:`decorate_map` on its
axes so that coordinates print as metres (never ``+4.929e6``), grid north is marked and a
scale bar in round metres sits in the lower left corner.
"""

from __future__ import annotations

import numpy as np

__all__ = ["nice_length_m", "decorate_map"]


def nice_length_m(target_m: float) -> float:
    """The 1, 2 or 5 x 10^k length at or below ``target_m`` (for scale bars).

    >>> nice_length_m(137.0), nice_length_m(0.7), nice_length_m(2000.0)
    (100.0, 0.5, 2000.0)
    """
    if not np.isfinite(target_m) or target_m <= 0:
        return 1.0
    k = np.floor(np.log10(target_m))
    for m in (5.0, 2.0, 1.0):
        if m * 10**k <= target_m * (1 + 1e-9):
            return float(m * 10**k)
    return float(10**k)


def decorate_map(ax, *, epsg: int | None = None, scale_bar: bool = True, north_arrow: bool = True) -> dict:
    """Plain metre coordinates, axis labels, a north arrow and a scale bar on a map's axes.

    Call after the data are drawn (the scale bar's length is a round share of the x extent).
    The axes must have an equal aspect in metres (a projected CRS).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    epsg : int, optional
        The map's CRS, named in the axis labels.

    Returns
    -------
    dict
        ``scale_bar_m`` (the bar's length [m], None without it).
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(4))
    crs = f" (EPSG:{epsg})" if epsg else ""
    ax.set_xlabel(f"Easting [m]{crs}")
    ax.set_ylabel(f"Northing [m]{crs}")
    out: dict = {"scale_bar_m": None}
    if north_arrow:
        ax.annotate("N", xy=(0.06, 0.95), xytext=(0.06, 0.80), xycoords="axes fraction",
                    ha="center", va="center", fontsize=12, fontweight="bold",
                    arrowprops={"facecolor": "black", "width": 4, "headwidth": 11, "headlength": 10})
    if scale_bar:
        x0, x1 = ax.get_xlim()
        length = nice_length_m(0.2 * abs(x1 - x0))
        text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        bar = AnchoredSizeBar(ax.transData, length, text, "lower left", pad=0.5, sep=4,
                              frameon=True, size_vertical=max(abs(x1 - x0) / 250, 1e-9))
        bar.patch.set_alpha(0.8)
        ax.add_artist(bar)
        out["scale_bar_m"] = length
    return out
