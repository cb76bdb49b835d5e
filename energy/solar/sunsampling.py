"""Adaptive direct-sun visibility: cast every ``step``-th sun bin, infer the rest where they agree.

The year's sun positions at one clock hour trace an analemma: a chain of neighbouring sun
bins (day after day the sun at 10:00 moves by less than half a degree). Along each chain
:func:`sun_sampling` keeps every ``step``-th bin (and the chain's ends) as a *sample*; a bin
between two samples depends on them. :func:`adaptive_sun_visibility` casts the samples for
every sensor, and a dependent bin takes its samples' common visibility code when they all
agree (all free, all blocked, or all through tree crowns); where they differ (a shadow edge
crosses the chain there) or a sample lies behind the sensor's surface, the bin's own ray is
cast. The approximation misses only an obstruction that begins and ends between two
samples, seen from the sensor less than about ``step`` sun bins tall along the analemma
(about ``step`` degrees with the default 1 degree bins); ``step = 1`` casts every bin and gives
exactly :func:`energy.solar.shading.sun_visibility`. The error against one exact ray per hour
is measured in ``tests/test_solar_sunsampling.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citymodel.errors import InputError
from energy.solar import _kernels
from energy.solar.scene import OccluderScene
from energy.solar.shading import SunBins, cast_pairs, sun_visibility

__all__ = ["SunSampling", "sun_sampling", "adaptive_sun_visibility"]

_COS_EPS = 1e-6  # as energy.solar.shading: rays towards the front of the surface only


@dataclass(frozen=True)
class SunSampling:
    """Which sun bins every sensor casts, and which it infers from which.

    Attributes
    ----------
    step : int
        Every ``step``-th bin along a chain is a sample (1 = all bins: no inference).
    samples : (q,) int64
        Bins cast for every sensor (in front of its surface).
    sample_col : (b,) int64
        Column of each bin among ``samples``; -1 for a dependent bin.
    dep_offsets : (b + 1,) int64
        Bin ``j`` depends on samples ``dep_bins[dep_offsets[j]:dep_offsets[j + 1]]``
        (empty for a sample).
    dep_bins : (k,) int64
        Sample bins, see ``dep_offsets``.
    n_chains : int
        Chains (times of day, split where consecutive bins are not neighbours).
    """

    step: int
    samples: np.ndarray
    sample_col: np.ndarray
    dep_offsets: np.ndarray
    dep_bins: np.ndarray
    n_chains: int

    @property
    def n_bins(self) -> int:
        return int(self.sample_col.shape[0])


def sun_sampling(
    bins: SunBins, time_of_day: np.ndarray, step: int, max_gap_deg: float | None = None
) -> SunSampling:
    """Sampling plan of the sun bins along the year's analemmas.

    Parameters
    ----------
    bins : SunBins
    time_of_day : (h,) int
        Time of day of every weather step (any label that is the same for the same clock time,
        e.g. minutes after midnight), in time order: each label's sun positions are one
        analemma.
    step : int
        Sample every ``step``-th bin of a chain (>= 1; 1 = every bin).
    max_gap_deg : float, optional
        Consecutive bins of a chain further apart than this start a new chain (a clock change,
        days without beam). Default ``2.5 x max(resolution, 0.5 deg)``.

    Returns
    -------
    SunSampling
    """
    step = int(step)
    if step < 1:
        raise InputError(f"sun sampling step must be >= 1, got {step}")
    b = len(bins)
    if max_gap_deg is None:
        max_gap_deg = 2.5 * max(bins.resolution_deg, 0.5)
    cos_gap = np.cos(np.radians(max_gap_deg))
    time_of_day = np.asarray(time_of_day)
    hb = bins.hour_bin
    is_sample = np.zeros(b, dtype=bool)
    deps: list[list[int]] = [[] for _ in range(b)]
    n_chains = 0
    for key in np.unique(time_of_day[hb >= 0]):
        seq = hb[(time_of_day == key) & (hb >= 0)]
        seq = seq[np.concatenate([[True], seq[1:] != seq[:-1]])]  # collapse repeats
        cosang = np.einsum("ij,ij->i", bins.directions[seq[:-1]], bins.directions[seq[1:]])
        cuts = np.flatnonzero(cosang < cos_gap) + 1
        for chain in np.split(seq, cuts):
            n_chains += 1
            last = chain.size - 1
            marks = np.unique(np.concatenate([np.arange(0, chain.size, step), [last]]))
            is_sample[chain[marks]] = True
            for a, z in zip(marks[:-1], marks[1:], strict=True):
                for i in range(a + 1, z):
                    deps[chain[i]].extend((int(chain[a]), int(chain[z])))
    samples = np.flatnonzero(is_sample).astype(np.int64)
    sample_col = np.full(b, -1, dtype=np.int64)
    sample_col[samples] = np.arange(samples.size)
    counts = np.array([0 if is_sample[j] else len(set(deps[j])) for j in range(b)], dtype=np.int64)
    dep_offsets = np.zeros(b + 1, dtype=np.int64)
    np.cumsum(counts, out=dep_offsets[1:])
    dep_bins = np.zeros(int(dep_offsets[-1]), dtype=np.int64)
    for j in range(b):
        if counts[j]:
            dep_bins[dep_offsets[j]:dep_offsets[j + 1]] = sorted(set(deps[j]))
    return SunSampling(step, samples, sample_col, dep_offsets, dep_bins, n_chains)


def adaptive_sun_visibility(
    scene: OccluderScene,
    points: np.ndarray,
    normals: np.ndarray,
    bins: SunBins,
    sampling: SunSampling | None,
) -> tuple[np.ndarray, int]:
    """Visibility code per sensor and sun bin ``(n, b) int8`` (0 blocked or behind, 1 free,
    2 through tree crowns only) from the samples and, where they disagree, the bins' own rays.

    Returns the codes and the number of bins inferred without a ray (over all sensors).
    Without ``sampling`` (or with ``step = 1``) this is :func:`sun_visibility`.
    """
    if sampling is None or sampling.step == 1 or len(bins) == 0 or points.shape[0] == 0:
        return sun_visibility(scene, points, normals, bins), 0
    if sampling.n_bins != len(bins):
        raise InputError(f"sun sampling of {sampling.n_bins} bins for {len(bins)} sun bins")
    n = points.shape[0]
    nrm = np.ascontiguousarray(normals, dtype=np.float64)
    dirs = np.ascontiguousarray(bins.directions, dtype=np.float64)
    vis_s = np.full((n, sampling.samples.size), -1, dtype=np.int8)  # -1: behind, no ray
    offsets, dj, _, code = cast_pairs(scene, points, nrm, dirs[sampling.samples])
    _kernels.scatter_visibility(offsets, dj, code, vis_s)
    vis = np.zeros((n, len(bins)), dtype=np.int8)
    need = np.zeros((n, len(bins)), dtype=np.uint8)
    counts = np.zeros(n, dtype=np.int64)
    inferred = np.zeros(n, dtype=np.int64)
    _kernels.infer_sun_visibility(nrm, dirs, _COS_EPS, sampling.sample_col, sampling.dep_offsets,
                                  sampling.dep_bins, vis_s, vis, need, counts, inferred)
    off2 = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=off2[1:])
    m = int(off2[-1])
    if m:
        o, d, dj2, _ = scene.workspace(m)
        local = np.ascontiguousarray(points - scene.origin, dtype=np.float64)
        _kernels.fill_needed_rays(local, dirs, need, off2, o, d, dj2)
        code2 = scene.codes_local(o, d)
        _kernels.scatter_visibility(off2, dj2, code2, vis)
    return vis, int(inferred.sum())
