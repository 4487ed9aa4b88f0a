"""The paired shift: Hodges-Lehmann estimate with its exact interval, and a paired bootstrap interval.

The Hodges-Lehmann (1963) estimate of the shift is the median of the ``n(n+1)/2`` Walsh averages
``(d_i + d_j) / 2, i <= j`` of the differences (zeros included). Its exact interval inverts the signed-rank test
(Hollander, Wolfe and Chicken, *Nonparametric Statistical Methods*, 3rd ed., 2014, section 3.3): the number of
Walsh averages above a shift ``t`` is W+ of ``d - t``, so ``[W_(k), W_(M+1-k)]`` (order statistics of the Walsh
averages, ``M = n(n+1)/2``) covers the true shift with probability ``1 - 2 P(W+ <= k-1)`` exactly for continuous
data. The level is discrete: the largest ``k`` whose coverage is at least the nominal level is used and the
achieved coverage is returned. When even ``[W_(1), W_(M)]`` falls short (n = 5 at 95 %: its coverage is
``1 - 2/32 = 0.9375``) no finite distribution-free interval exists and the bounds are infinite (coverage 1);
``unattainable="widest"`` returns ``[W_(1), W_(M)]`` instead, with its achieved (lower) coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _sp

from ._null_distribution import wilcoxon_null_distribution
from ..params import check_alternative, check_choice, check_level, check_seed, paired_differences


def walsh_averages(d) -> np.ndarray:
    """All pairwise means ``(d_i + d_j) / 2`` with ``i <= j``, along the last axis.

    Parameters
    ----------
    d : array_like, shape (..., n)
        Differences; leading axes are batches (e.g. bootstrap resamples).

    Returns
    -------
    numpy.ndarray, shape (..., n(n+1)/2)
        The Walsh averages, unsorted.
    """
    d = np.asarray(d, dtype=float)
    i, j = np.triu_indices(d.shape[-1])
    return (d[..., i] + d[..., j]) / 2


def hodges_lehmann_estimate(d, axis: int = -1) -> np.ndarray | float:
    """Hodges-Lehmann shift estimate: the median of the Walsh averages (vectorised over the other axes).

    Parameters
    ----------
    d : array_like
        Differences along ``axis``.
    axis : int
        Axis holding the differences (scipy's ``bootstrap`` passes it).

    Returns
    -------
    float or numpy.ndarray
        The estimate (an array when ``d`` has other axes).
    """
    walsh = walsh_averages(np.moveaxis(np.asarray(d, dtype=float), axis, -1))
    est = np.median(walsh, axis=-1)
    return float(est) if np.ndim(est) == 0 else est


class _Interval:
    """Shared by the interval results (dataclasses with ``low`` and ``high`` fields)."""

    def confidence_interval(self) -> tuple[float, float]:
        """The interval as ``(low, high)``.

        Returns
        -------
        tuple of float
            ``(low, high)``.
        """
        return (self.low, self.high)


@dataclass(frozen=True)
class HodgesLehmannResult(_Interval):
    """Result of :func:`hodges_lehmann`.

    Attributes
    ----------
    estimate : float
        Median of the Walsh averages.
    low, high : float
        Interval bounds (``-inf``/``inf`` on the open side of a one-sided interval, or both infinite when the
        nominal level cannot be reached with this n).
    level : float
        Nominal level asked for.
    achieved_level : float
        Exact coverage of the interval for continuous data (>= ``level``; 1.0 for an infinite interval; below
        ``level`` only for the widest finite interval that ``unattainable="widest"`` returns).
    n : int
        Number of differences.
    alternative : str
        "two-sided", "greater" (interval ``[low, inf)``) or "less" (``(-inf, high]``).
    """

    estimate: float
    low: float
    high: float
    level: float
    achieved_level: float
    n: int
    alternative: str


def _order_index(dist, tail: float) -> int:
    """Largest k >= 0 with P(W+ <= k - 1) <= tail (k = 0: no finite bound reaches the level)."""
    cdf = np.cumsum(dist.pmf)
    return int(np.searchsorted(cdf, tail * (1 + 1e-12), side="right"))


def hodges_lehmann(a, b=None, *, level: float = 0.95, alternative: str = "two-sided",
                   unattainable: str = "infinite") -> HodgesLehmannResult:
    """Hodges-Lehmann estimate of the paired shift with its exact, distribution-free confidence interval.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements; ``b=None`` takes ``a`` as the differences. Zeros are kept.
    level : float
        Nominal level; the achieved coverage (discrete, >= ``level``) is returned.
    alternative : {"two-sided", "greater", "less"}
        Two-sided interval, or a one-sided lower ("greater") / upper ("less") bound.
    unattainable : {"infinite", "widest"}
        What to return when no finite interval reaches ``level`` at this n (n = 5 at 95 % two-sided):
        "infinite" (default) gives infinite bounds with coverage 1; "widest" gives the widest finite interval,
        ``[W_(1), W_(M)]`` (the smallest and largest Walsh averages), with its achieved coverage
        ``1 - 2 * 0.5**n`` (``1 - 0.5**n`` one-sided), which is then below ``level``.

    Returns
    -------
    HodgesLehmannResult
        ``estimate``, ``low``, ``high``, ``achieved_level``.

    Examples
    --------
    >>> five = [0.1, 0.2, 0.3, 0.4, 0.5]
    >>> hodges_lehmann(five).confidence_interval()
    (-inf, inf)
    >>> widest = hodges_lehmann(five, unattainable="widest")
    >>> widest.confidence_interval(), widest.achieved_level
    ((0.1, 0.5), 0.9375)
    """
    check_alternative(alternative)
    check_choice("unattainable", unattainable, ("infinite", "widest"))
    level = check_level(level)
    d = paired_differences(a, b)
    n = d.size
    if n == 0:
        raise ValueError("a must hold at least one paired difference; found none")
    walsh = np.sort(walsh_averages(d))
    m = walsh.size
    dist = wilcoxon_null_distribution(n)
    tail = (1 - level) / 2 if alternative == "two-sided" else 1 - level
    k = _order_index(dist, tail)
    if k == 0 and unattainable == "widest":
        k = 1
    tail_prob = float(dist.pmf[:k].sum())
    lo = walsh[k - 1] if k >= 1 else -np.inf
    hi = walsh[m - k] if k >= 1 else np.inf
    if alternative == "greater":
        hi, achieved = np.inf, 1 - tail_prob
    elif alternative == "less":
        lo, achieved = -np.inf, 1 - tail_prob
    else:
        achieved = 1 - 2 * tail_prob
    return HodgesLehmannResult(estimate=float(np.median(walsh)), low=float(lo), high=float(hi), level=level,
                               achieved_level=float(achieved), n=int(n), alternative=alternative)


_STATISTICS = {"hodges_lehmann": hodges_lehmann_estimate,
               "mean": lambda d, axis=-1: np.mean(d, axis=axis),
               "median": lambda d, axis=-1: np.median(d, axis=axis)}


@dataclass(frozen=True)
class BootstrapInterval(_Interval):
    """Result of :func:`bootstrap_interval`.

    Attributes
    ----------
    low, high : float
        Interval bounds.
    level : float
        Nominal level.
    statistic : str
        Which shift statistic was resampled.
    method : str
        scipy's bootstrap method ("percentile", "basic" or "BCa").
    n_resamples : int
        Number of bootstrap resamples.
    standard_error : float
        Bootstrap standard error of the statistic.
    """

    low: float
    high: float
    level: float
    statistic: str
    method: str
    n_resamples: int
    standard_error: float


def bootstrap_interval(a, b=None, *, statistic: str = "hodges_lehmann", level: float = 0.95,
                       n_resamples: int = 9999, method: str = "percentile",
                       random_state=0) -> BootstrapInterval:
    """Paired bootstrap interval of a shift statistic, by ``scipy.stats.bootstrap`` over the seeds.

    Pairs are resampled together (the differences ``a - b`` are the resampled units). With a handful of seeds the
    bootstrap is rough (n = 5 gives at most 126 distinct resamples); the exact interval of :func:`hodges_lehmann`
    is the primary one. The default method is "percentile": BCa's jackknife acceleration is unstable at n = 5.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements; ``b=None`` takes ``a`` as the differences.
    statistic : {"hodges_lehmann", "mean", "median"}
        The shift statistic.
    level : float
        Confidence level.
    n_resamples : int
        Bootstrap resamples.
    method : {"percentile", "basic", "BCa"}
        scipy's interval method.
    random_state : int or numpy.random.Generator
        Seed (required: the interval must be reproducible).

    Returns
    -------
    BootstrapInterval
        ``low``, ``high``, ``standard_error`` and the settings used.
    """
    if statistic not in _STATISTICS:
        raise ValueError(f"statistic must be one of {sorted(_STATISTICS)}; found {statistic!r}")
    if method not in ("percentile", "basic", "BCa"):
        raise ValueError(f"method must be 'percentile', 'basic' or 'BCa'; found {method!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer; found {n_resamples!r}")
    level = check_level(level)
    d = paired_differences(a, b)
    if d.size < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 paired differences; found {d.size}")
    res = _sp.bootstrap((d,), _STATISTICS[statistic], confidence_level=level, n_resamples=int(n_resamples),
                        method=method, vectorized=True, rng=check_seed(random_state))
    ci = res.confidence_interval
    return BootstrapInterval(low=float(ci.low), high=float(ci.high), level=level, statistic=statistic,
                             method=method, n_resamples=int(n_resamples), standard_error=float(res.standard_error))
