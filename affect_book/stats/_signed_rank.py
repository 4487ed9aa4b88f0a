"""The exact Wilcoxon signed-rank test for paired samples (the null distribution of W+ is in ``_null_distribution``).

Rule for zeros and ties (stated once, used everywhere): differences equal to zero are **dropped** before ranking
(scipy's ``zero_method="wilcox"``) and counted in ``n_zeros``; the remaining ``|d|`` get average ranks (ties share
the mean of their ranks); the p-value is **exact** by enumerating all ``2**n`` sign patterns over the *observed*
ranks (the conditional permutation distribution), computed by dynamic programming over doubled ranks, which are
integers even with ties. Without ties this is the classical distribution of W+ and equals
``scipy.stats.wilcoxon(..., method="exact")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from ._null_distribution import _subset_sum_pmf
from ._shift import HodgesLehmannResult, hodges_lehmann
from ..params import check_alternative, paired_differences


def _tail_pvalue(pmf: np.ndarray, stat: int, alternative: str) -> float:
    """P-value of an integer statistic ``stat`` under ``pmf`` (index = value), scipy's two-sided convention."""
    less = float(pmf[: stat + 1].sum())
    greater = float(pmf[stat:].sum())
    if alternative == "less":
        return min(1.0, less)
    if alternative == "greater":
        return min(1.0, greater)
    return min(1.0, 2.0 * min(less, greater))


@dataclass(frozen=True)
class WilcoxonResult:
    """Result of :func:`wilcoxon_paired` (shaped like ``scipy.stats.wilcoxon``'s result).

    Attributes
    ----------
    statistic : float
        As scipy: ``min(W+, W-)`` for a two-sided test, ``W+`` for a one-sided one.
    pvalue : float
        Exact p-value (enumeration of the sign patterns over the observed ranks).
    w_plus, w_minus : float
        Sums of the ranks of the positive and of the negative differences (``W+ + W- = n(n+1)/2``).
    n : int
        Number of non-zero differences used (zeros dropped).
    n_zeros : int
        Number of zero differences dropped.
    has_ties : bool
        Whether some ``|d|`` were tied (average ranks used; the p-value is still exact, conditional on the ranks).
    differences : tuple of float
        All signed differences ``a - b`` in input order, zeros included, for display.
    alternative : str
        "two-sided", "greater" (``a`` tends to exceed ``b``) or "less".
    method : str
        Always "exact".
    """

    statistic: float
    pvalue: float
    w_plus: float
    w_minus: float
    n: int
    n_zeros: int
    has_ties: bool
    differences: tuple
    alternative: str
    method: str = "exact"

    def confidence_interval(self, level: float = 0.95) -> HodgesLehmannResult:
        """Exact distribution-free interval for the shift (Hodges-Lehmann), which inverts this test.

        Parameters
        ----------
        level : float
            Nominal confidence level.

        Returns
        -------
        HodgesLehmannResult
            Estimate, interval (one-sided for a one-sided test) and achieved coverage.
        """
        return hodges_lehmann(np.asarray(self.differences), level=level, alternative=self.alternative)


def wilcoxon_paired(a, b=None, *, alternative: str = "two-sided", method: str = "exact") -> WilcoxonResult:
    """Paired Wilcoxon signed-rank test, exact for every n (with zeros and ties handled as below).

    Zeros of ``d = a - b`` are dropped (scipy's ``zero_method="wilcox"``) and counted; ``|d|`` is ranked with
    average ranks for ties; the p-value enumerates all ``2**n`` sign patterns over the observed ranks (dynamic
    programming, so n = 1000 is as cheap as n = 5). Without ties and zeros the p-value equals
    ``scipy.stats.wilcoxon(a, b, method="exact", alternative=...)``. When every difference is zero, ``n = 0``,
    W+ = W- = 0 and the p-value is 1 (no evidence either way).

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Paired measurements (one per seed); ``b=None`` tests ``a`` itself as the differences.
    alternative : {"two-sided", "greater", "less"}
        "greater": ``a - b`` tends to be positive.
    method : {"exact"}
        Only the exact method is offered (see :func:`sign_flip_test` for a Monte Carlo test of the mean).

    Returns
    -------
    WilcoxonResult
        ``statistic`` (scipy's convention), ``pvalue``, ``w_plus``, ``w_minus``, counts and the signed differences.

    Examples
    --------
    The study's two p-values with 5 seeds: a two-sided test whose smaller rank sum is 5 (W+ = 10, W- = 5), and a
    one-sided test with all five differences in the tested direction.

    >>> wilcoxon_paired([1.0, -2.0, -3.0, 4.0, 5.0]).pvalue  # W+ = 1 + 4 + 5 = 10, min(W+, W-) = 5
    0.625
    >>> wilcoxon_paired([0.1, 0.2, 0.3, 0.4, 0.5], alternative="greater").pvalue  # W+ = 15
    0.03125
    """
    check_alternative(alternative)
    if method != "exact":
        raise ValueError(f"method must be 'exact'; found {method!r}")
    d = paired_differences(a, b)
    if d.size == 0:
        raise ValueError("a must hold at least one paired difference; found none")
    nonzero = d[d != 0]
    n = nonzero.size
    ranks = rankdata(np.abs(nonzero)) if n else np.zeros(0)
    doubled = np.rint(2 * ranks).astype(np.int64)
    w_plus2 = int(doubled[nonzero > 0].sum())
    pvalue = _tail_pvalue(_subset_sum_pmf(doubled), w_plus2, alternative)
    w_plus, w_minus = w_plus2 / 2, n * (n + 1) / 2 - w_plus2 / 2
    statistic = min(w_plus, w_minus) if alternative == "two-sided" else w_plus
    return WilcoxonResult(statistic=float(statistic), pvalue=pvalue, w_plus=float(w_plus), w_minus=float(w_minus),
                          n=int(n), n_zeros=int(d.size - n), has_ties=bool(np.unique(ranks).size < n),
                          differences=tuple(float(x) for x in d), alternative=alternative)
